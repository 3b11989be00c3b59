//! Who may call the contractor and supervisor endpoints.
//!
//! Contractors and supervisors authenticate with bearer tokens. A token is a
//! random secret shown once when it is created; only its SHA-256 hash is kept,
//! so a copy of the database does not hand out working credentials. Each token
//! carries a [`Grant`]: a contractor token is bound to one contractor, a
//! supervisor token to one jurisdiction. The dashboard page sends the same
//! token in an HttpOnly cookie instead of the `Authorization` header.

mod cli;
mod extract;
mod store;
mod token;

use std::fmt;

use serde::Serialize;

pub use cli::{TokenCommand, run_token_command};
pub use extract::{Authenticator, Contractor, Principal, SESSION_COOKIE, Supervisor};
pub use store::{MemoryTokenStore, TokenRecord, TokenStore};
pub use token::{PlainToken, TokenHash};

/// Result alias for the auth layer.
pub type Result<T> = std::result::Result<T, AuthError>;

/// Why a caller was not let in, or why a token operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials were sent")]
    MissingCredentials,
    #[error("malformed credentials: {0}")]
    MalformedCredentials(String),
    #[error("unknown or revoked token")]
    UnknownToken,
    #[error("this needs a {needed} token")]
    WrongRole { needed: Role },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("invalid grant: {0}")]
    InvalidGrant(String),
    #[error("token store failed: {0}")]
    Store(String),
}

/// The roles that hold tokens. Citizens need none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Contractor,
    Supervisor,
}

impl Role {
    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contractor => "contractor",
            Self::Supervisor => "supervisor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a token allows: a role and the one thing it is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Grant {
    /// Acts for one contractor (a slug from the set-up file).
    Contractor { contractor_id: String },
    /// Watches one jurisdiction.
    Supervisor { jurisdiction_id: i64 },
}

impl Grant {
    /// The role this grant belongs to.
    pub fn role(&self) -> Role {
        match self {
            Self::Contractor { .. } => Role::Contractor,
            Self::Supervisor { .. } => Role::Supervisor,
        }
    }

    /// Checks the binding is usable: a contractor slug must be non-empty.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Contractor { contractor_id } if contractor_id.trim().is_empty() => Err(
                AuthError::InvalidGrant("a contractor token needs a contractor id".to_owned()),
            ),
            _ => Ok(()),
        }
    }
}
