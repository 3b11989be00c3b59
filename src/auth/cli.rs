//! `cityfix token …`: create and revoke bearer tokens.
//!
//! `main` parses [`TokenCommand`] as a subcommand and calls
//! [`run_token_command`] with the store it opened. The secret of a new token is
//! the only thing written to `out`, so a script can capture it; explanations
//! go to `notes` (stderr).

use std::io::Write;

use jiff::Timestamp;

use super::{AuthError, Grant, PlainToken, Result, Role, TokenHash, TokenStore};

/// The `token` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret once (only its hash is stored).
    Create {
        /// Which role the token acts as.
        #[arg(long, value_enum)]
        role: Role,
        /// Contractor id (slug from the set-up file) for a contractor token.
        #[arg(long, required_if_eq("role", "contractor"))]
        contractor: Option<String>,
        /// Jurisdiction id for a supervisor token.
        #[arg(long, required_if_eq("role", "supervisor"))]
        jurisdiction: Option<i64>,
    },
    /// Revoke a token, named by its id (printed when it was created) or by its secret.
    Revoke {
        /// Id of the token to revoke.
        #[arg(long, conflicts_with = "token", required_unless_present = "token")]
        id: Option<i64>,
        /// The secret of the token to revoke.
        #[arg(long)]
        token: Option<String>,
    },
}

impl TokenCommand {
    /// The grant a `create` asks for, refusing a binding of the wrong role.
    fn grant(role: Role, contractor: Option<&String>, jurisdiction: Option<i64>) -> Result<Grant> {
        let grant = match (role, contractor, jurisdiction) {
            (Role::Contractor, Some(contractor_id), None) => Grant::Contractor {
                contractor_id: contractor_id.clone(),
            },
            (Role::Supervisor, None, Some(jurisdiction_id)) => {
                Grant::Supervisor { jurisdiction_id }
            }
            (Role::Contractor, _, _) => {
                return Err(AuthError::InvalidGrant(
                    "a contractor token takes --contractor ID and no --jurisdiction".into(),
                ));
            }
            (Role::Supervisor, _, _) => {
                return Err(AuthError::InvalidGrant(
                    "a supervisor token takes --jurisdiction ID and no --contractor".into(),
                ));
            }
        };
        grant.validate()?;
        Ok(grant)
    }

    /// For `create`, the grant asked for, so `main` can check that the contractor
    /// or jurisdiction exists before a token is made for it.
    pub fn requested_grant(&self) -> Option<Result<Grant>> {
        match self {
            Self::Create {
                role,
                contractor,
                jurisdiction,
            } => Some(Self::grant(*role, contractor.as_ref(), *jurisdiction)),
            _ => None,
        }
    }
}

/// Runs one `token` subcommand against `tokens`.
pub async fn run_token_command(
    command: &TokenCommand,
    tokens: &dyn TokenStore,
    now: Timestamp,
    out: &mut dyn Write,
    notes: &mut dyn Write,
) -> Result<()> {
    match command {
        TokenCommand::Create {
            role,
            contractor,
            jurisdiction,
        } => {
            let grant = TokenCommand::grant(*role, contractor.as_ref(), *jurisdiction)?;
            let token = PlainToken::generate();
            let id = tokens.insert_token(&token.hash(), &grant, now).await?;

            write_line(out, token.expose())?;
            write_line(
                notes,
                &format!(
                    "created {} token {id} ({}); the secret above is shown only once",
                    role,
                    describe(&grant)
                ),
            )
        }
        TokenCommand::Revoke { id, token } => {
            let id = match (id, token) {
                (Some(id), _) => *id,
                (None, Some(secret)) => {
                    let record = tokens.find_active_token(&TokenHash::of(secret)).await?;
                    record.ok_or(AuthError::UnknownToken)?.id
                }
                (None, None) => {
                    return Err(AuthError::InvalidGrant("give --id or --token".into()));
                }
            };
            if !tokens.revoke_token(id, now).await? {
                return Err(AuthError::InvalidGrant(format!(
                    "no active token has id {id}"
                )));
            }
            write_line(notes, &format!("revoked token {id}"))
        }
    }
}

fn describe(grant: &Grant) -> String {
    match grant {
        Grant::Contractor { contractor_id } => format!("contractor {contractor_id}"),
        Grant::Supervisor { jurisdiction_id } => {
            format!("supervisor of jurisdiction {jurisdiction_id}")
        }
    }
}

fn write_line(sink: &mut dyn Write, line: &str) -> Result<()> {
    writeln!(sink, "{line}").map_err(|err| AuthError::Store(format!("cannot write output: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::MemoryTokenStore;

    fn now() -> Timestamp {
        "2026-01-05T09:00:00Z".parse().unwrap()
    }

    #[tokio::test]
    async fn create_prints_a_secret_that_authenticates_and_revoke_ends_it() {
        let store = MemoryTokenStore::default();
        let (mut out, mut notes) = (Vec::new(), Vec::new());
        let create = TokenCommand::Create {
            role: Role::Contractor,
            contractor: Some("acme-roads".into()),
            jurisdiction: None,
        };
        run_token_command(&create, &store, now(), &mut out, &mut notes)
            .await
            .unwrap();

        let secret = String::from_utf8(out).unwrap().trim().to_owned();
        let found = store
            .find_active_token(&TokenHash::of(&secret))
            .await
            .unwrap();
        assert_eq!(
            found.unwrap().grant,
            Grant::Contractor {
                contractor_id: "acme-roads".into()
            }
        );

        let revoke = TokenCommand::Revoke {
            id: None,
            token: Some(secret.clone()),
        };
        run_token_command(&revoke, &store, now(), &mut Vec::new(), &mut notes)
            .await
            .unwrap();
        assert!(
            store
                .find_active_token(&TokenHash::of(&secret))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_supervisor_token_needs_a_jurisdiction() {
        let store = MemoryTokenStore::default();
        let create = TokenCommand::Create {
            role: Role::Supervisor,
            contractor: Some("acme-roads".into()),
            jurisdiction: None,
        };
        let result =
            run_token_command(&create, &store, now(), &mut Vec::new(), &mut Vec::new()).await;
        assert!(matches!(result, Err(AuthError::InvalidGrant(_))));
        assert!(store.is_empty());
    }
}
