//! `/api/v1/session`: the dashboard's cookie login.
//!
//! The page sends a supervisor token once; the answer sets it as an HttpOnly,
//! SameSite=Strict cookie, which the [`Supervisor`] extractor accepts like a
//! bearer header. Script on the page can then never read the token.
//! Shortcoming: the cookie is not marked `Secure`, because the server speaks
//! plain HTTP on localhost; put a TLS proxy in front for any other use.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header::SET_COOKIE};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use crate::auth::{AuthError, Authenticator, Grant, Role, SESSION_COOKIE, Supervisor};

/// Session lifetime in the browser, in seconds (12 hours: one working day).
const SESSION_MAX_AGE_S: u32 = 12 * 3600;

/// Body of `POST /api/v1/session`.
#[derive(Debug, Deserialize)]
pub struct SessionRequest {
    pub token: String,
}

/// Who the session belongs to.
#[derive(Debug, Serialize)]
pub struct SessionView {
    pub role: Role,
    pub jurisdiction_id: i64,
}

/// Checks a supervisor token and keeps it in the session cookie.
pub async fn open(
    State(auth): State<Authenticator>,
    ApiJson(request): ApiJson<SessionRequest>,
) -> ApiResult<Response> {
    let principal = auth.principal_for(request.token.trim()).await?;
    let Grant::Supervisor { jurisdiction_id } = principal.grant else {
        return Err(AuthError::WrongRole {
            needed: Role::Supervisor,
        }
        .into());
    };

    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_MAX_AGE_S}",
        request.token.trim()
    );
    let cookie = HeaderValue::from_str(&cookie)
        .map_err(|_| ApiError::bad_request("invalid_token", "the token has invalid characters"))?;
    let view = SessionView {
        role: Role::Supervisor,
        jurisdiction_id,
    };
    Ok((StatusCode::OK, [(SET_COOKIE, cookie)], Json(view)).into_response())
}

/// Tells who the current session (cookie or bearer) belongs to.
pub async fn show(supervisor: Supervisor) -> Json<SessionView> {
    Json(SessionView {
        role: Role::Supervisor,
        jurisdiction_id: supervisor.jurisdiction_id,
    })
}

/// Ends the browser session by expiring the cookie.
pub async fn close() -> impl IntoResponse {
    let expired = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}
