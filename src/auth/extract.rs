//! Axum extractors that turn a request's credentials into a role.
//!
//! A handler that takes [`Supervisor`] or [`Contractor`] only runs for a caller
//! holding an active token of that role: no or bad credentials answer 401, a
//! token of the other role answers 403. The token is read from the
//! `Authorization: Bearer …` header, else from the dashboard's session cookie.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;

use super::{AuthError, Grant, Result, Role, TokenHash, TokenStore};
use crate::http::error::ApiError;

/// Name of the HttpOnly cookie in which the dashboard keeps the token.
pub const SESSION_COOKIE: &str = "cityfix_session";

/// Checks presented tokens against the token store; part of the app state.
#[derive(Clone)]
pub struct Authenticator {
    tokens: Arc<dyn TokenStore>,
}

/// An authenticated caller: which token, and what it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i64,
    pub grant: Grant,
}

impl Authenticator {
    /// Authenticates against `tokens`.
    pub fn new(tokens: Arc<dyn TokenStore>) -> Self {
        Self { tokens }
    }

    /// The token store behind this authenticator.
    pub fn tokens(&self) -> &Arc<dyn TokenStore> {
        &self.tokens
    }

    /// Resolves a token secret to the principal it belongs to.
    pub async fn principal_for(&self, secret: &str) -> Result<Principal> {
        let record = self
            .tokens
            .find_active_token(&TokenHash::of(secret))
            .await?
            .ok_or(AuthError::UnknownToken)?;
        Ok(Principal {
            token_id: record.id,
            grant: record.grant,
        })
    }

    /// Authenticates the request whose head is `parts`.
    pub async fn authenticate(&self, parts: &Parts) -> Result<Principal> {
        let secret = presented_secret(parts)?;
        let principal = self.principal_for(&secret).await?;
        tracing::debug!(token.id = principal.token_id, role = %principal.grant.role(), "authenticated");
        Ok(principal)
    }
}

/// The token secret sent with a request: bearer header first, then cookie.
fn presented_secret(parts: &Parts) -> Result<String> {
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| AuthError::MalformedCredentials("Authorization is not ASCII".into()))?;
        let (scheme, secret) = value.split_once(' ').ok_or_else(|| {
            AuthError::MalformedCredentials("expected `Authorization: Bearer <token>`".into())
        })?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::MalformedCredentials(
                "the Authorization scheme must be Bearer".into(),
            ));
        }
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(AuthError::MalformedCredentials(
                "the bearer token is empty".into(),
            ));
        }
        return Ok(secret.to_owned());
    }

    session_cookie(parts).ok_or(AuthError::MissingCredentials)
}

fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A caller holding a supervisor token, bound to one jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervisor {
    pub token_id: i64,
    pub jurisdiction_id: i64,
}

/// A caller holding a contractor token, bound to one contractor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contractor {
    pub token_id: i64,
    pub contractor_id: String,
}

impl Contractor {
    /// Refuses (403) unless the thing at hand belongs to this contractor.
    pub fn ensure_owns(&self, owner_contractor_id: &str) -> Result<()> {
        if self.contractor_id == owner_contractor_id {
            Ok(())
        } else {
            Err(AuthError::Forbidden(
                "this work order belongs to another contractor".to_owned(),
            ))
        }
    }
}

impl Supervisor {
    /// Refuses (403) unless `jurisdiction_ids` (an owner and the areas containing
    /// it) include the jurisdiction this supervisor watches.
    pub fn ensure_covers(&self, jurisdiction_ids: &[i64]) -> Result<()> {
        if jurisdiction_ids.contains(&self.jurisdiction_id) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(
                "this belongs to a jurisdiction you do not supervise".to_owned(),
            ))
        }
    }
}

impl<S> FromRequestParts<S> for Supervisor
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> std::result::Result<Self, ApiError> {
        let principal = Authenticator::from_ref(state).authenticate(parts).await?;
        match principal.grant {
            Grant::Supervisor { jurisdiction_id } => Ok(Self {
                token_id: principal.token_id,
                jurisdiction_id,
            }),
            Grant::Contractor { .. } => Err(AuthError::WrongRole {
                needed: Role::Supervisor,
            }
            .into()),
        }
    }
}

impl<S> FromRequestParts<S> for Contractor
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> std::result::Result<Self, ApiError> {
        let principal = Authenticator::from_ref(state).authenticate(parts).await?;
        match principal.grant {
            Grant::Contractor { contractor_id } => Ok(Self {
                token_id: principal.token_id,
                contractor_id,
            }),
            Grant::Supervisor { .. } => Err(AuthError::WrongRole {
                needed: Role::Contractor,
            }
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts_with(header: (&str, &str)) -> Parts {
        let (parts, ()) = Request::builder()
            .header(header.0, header.1)
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn bearer_header_is_read() {
        let parts = parts_with(("authorization", "Bearer cfx_abc"));
        assert_eq!(presented_secret(&parts).unwrap(), "cfx_abc");
    }

    #[test]
    fn other_schemes_are_refused() {
        let parts = parts_with(("authorization", "Basic dXNlcjpwYXNz"));
        assert!(matches!(
            presented_secret(&parts),
            Err(AuthError::MalformedCredentials(_))
        ));
    }

    #[test]
    fn session_cookie_is_read_among_others() {
        let parts = parts_with(("cookie", "theme=dark; cityfix_session=cfx_xyz; lang=en"));
        assert_eq!(presented_secret(&parts).unwrap(), "cfx_xyz");
    }

    #[test]
    fn nothing_sent_is_missing_credentials() {
        let parts = parts_with(("accept", "application/json"));
        assert!(matches!(
            presented_secret(&parts),
            Err(AuthError::MissingCredentials)
        ));
    }
}
