//! Bearer-token hashes in PostGIS's database, for every server process to check.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::Row;

use super::{PgStore, instant, ms};
use crate::auth::{AuthError, Grant, TokenHash, TokenRecord, TokenStore};

fn auth_error(err: impl std::fmt::Display) -> AuthError {
    AuthError::Store(err.to_string())
}

#[async_trait]
impl TokenStore for PgStore {
    async fn insert_token(
        &self,
        hash: &TokenHash,
        grant: &Grant,
        created_at: Timestamp,
    ) -> crate::auth::Result<i64> {
        let (contractor, jurisdiction_id) = match grant {
            Grant::Contractor { contractor_id } => (Some(contractor_id.clone()), None),
            Grant::Supervisor { jurisdiction_id } => (None, Some(*jurisdiction_id)),
        };
        sqlx::query_scalar(
            "INSERT INTO tokens (hash, role, contractor, jurisdiction_id, created_at) \
             VALUES ($1, $2, $3, $4, cityfix_at($5)) RETURNING id",
        )
        .bind(hash.as_hex())
        .bind(grant.role().as_str())
        .bind(contractor)
        .bind(jurisdiction_id)
        .bind(ms(created_at))
        .fetch_one(self.pool())
        .await
        .map_err(auth_error)
    }

    async fn find_active_token(
        &self,
        hash: &TokenHash,
    ) -> crate::auth::Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT id, role, contractor, jurisdiction_id, cityfix_ms(created_at) AS created_at_ms \
             FROM tokens WHERE hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash.as_hex())
        .fetch_optional(self.pool())
        .await
        .map_err(auth_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let role: String = row.get("role");
        let grant = match role.as_str() {
            "contractor" => Grant::Contractor {
                contractor_id: row
                    .get::<Option<String>, _>("contractor")
                    .unwrap_or_default(),
            },
            _ => Grant::Supervisor {
                jurisdiction_id: row
                    .get::<Option<i64>, _>("jurisdiction_id")
                    .unwrap_or_default(),
            },
        };
        Ok(Some(TokenRecord {
            id: row.get("id"),
            grant,
            created_at: instant(row.get("created_at_ms")).map_err(auth_error)?,
            revoked_at: None,
        }))
    }

    async fn revoke_token(&self, id: i64, revoked_at: Timestamp) -> crate::auth::Result<bool> {
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at = cityfix_at($1) WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(ms(revoked_at))
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(auth_error)?;
        Ok(done.rows_affected() == 1)
    }
}
