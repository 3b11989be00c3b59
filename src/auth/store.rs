//! Where token hashes live: a trait, with an in-memory implementation for tests.

use std::sync::Mutex;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;

use super::{Grant, Result, TokenHash};

/// One stored token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub id: i64,
    pub grant: Grant,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl TokenRecord {
    /// Whether the token still opens doors.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// Storage for token hashes and their grants.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a new token hash and returns its id.
    async fn insert_token(
        &self,
        hash: &TokenHash,
        grant: &Grant,
        created_at: Timestamp,
    ) -> Result<i64>;

    /// The active (not revoked) token with this hash, if any.
    async fn find_active_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>>;

    /// Revokes a token by id; false when no active token had that id.
    async fn revoke_token(&self, id: i64, revoked_at: Timestamp) -> Result<bool>;
}

/// A token store held in memory; used by tests and by throwaway servers.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Vec<(TokenHash, TokenRecord)>>,
}

impl MemoryTokenStore {
    /// Whether no token was ever stored.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(TokenHash, TokenRecord)>> {
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn insert_token(
        &self,
        hash: &TokenHash,
        grant: &Grant,
        created_at: Timestamp,
    ) -> Result<i64> {
        let mut tokens = self.lock();
        let id = i64::try_from(tokens.len()).unwrap_or(i64::MAX - 1) + 1;
        let record = TokenRecord {
            id,
            grant: grant.clone(),
            created_at,
            revoked_at: None,
        };
        tokens.push((hash.clone(), record));
        Ok(id)
    }

    async fn find_active_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>> {
        let tokens = self.lock();
        let found = tokens
            .iter()
            .find(|(stored, record)| stored == hash && record.is_active())
            .map(|(_, record)| record.clone());
        Ok(found)
    }

    async fn revoke_token(&self, id: i64, revoked_at: Timestamp) -> Result<bool> {
        let mut tokens = self.lock();
        let Some((_, record)) = tokens
            .iter_mut()
            .find(|(_, record)| record.id == id && record.is_active())
        else {
            return Ok(false);
        };
        record.revoked_at = Some(revoked_at);
        Ok(true)
    }
}
