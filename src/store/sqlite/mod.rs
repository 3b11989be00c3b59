//! The embedded store: one SQLite file under the data directory.
//!
//! One process owns intake: an exclusive lock on `cityfix.lock` beside the
//! file refuses a second server (or a replay while a server runs), because
//! dedup and dispatch decisions are taken from the in-memory
//! [`OpenIncidentIndex`] under one writer mutex. Administrative commands
//! (boundary imports, set-up, tokens) open the file shared, without the lock,
//! and may not record reports; SQLite's own locking orders their writes.
//! Reads go through the connection pool concurrently (WAL mode).

mod boundaries;
mod corrections;
mod intake;
mod reads;
mod work_orders;

use std::fs::File;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use tokio::sync::Mutex;

use super::{
    BoundaryImport, CategoryCorrection, ChangeOutcome, CorrectionOutcome, ImportOutcome,
    IncidentQuery, IncidentView, JurisdictionRecord, NoticeDelivery, PendingNotice, RecordOutcome,
    ReportPlan, ReportPoint, ReportView, Result, SetupOutcome, Store, StoreError, TrainingExample,
    TriageItem, WorkOrderChange, WorkOrderDetail, WorkOrderQuery, WorkOrderSummary, WorkOrderView,
};
use crate::auth::{AuthError, Grant, TokenHash, TokenRecord, TokenStore};
use crate::boundaries::ParsedBoundaries;
use crate::events::Event;
use crate::events::live::LiveFeed;
use crate::incidents::OpenIncidentIndex;
use crate::setup::CitySetup;
use crate::sla::{DeadlineKind, EscalationNotice};

/// The embedded SQLite store.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Mutex<OpenIncidentIndex>,
    /// Whether this process holds the intake lock and may record reports.
    records_reports: bool,
    // Held for the store's lifetime: the OS lock is released when it drops.
    _lock: Option<Arc<File>>,
}

impl SqliteStore {
    /// Opens (creating when needed) `data_dir/cityfix.sqlite`, applies the
    /// migrations and loads the open incidents. Fails when another process
    /// holds the data directory.
    pub async fn open(data_dir: &Path) -> Result<Self> {
        Self::open_with(data_dir, true).await
    }

    /// Opens the file for administrative commands, alongside a running server:
    /// no intake lock, and recording reports is refused.
    pub async fn open_shared(data_dir: &Path) -> Result<Self> {
        Self::open_with(data_dir, false).await
    }

    async fn open_with(data_dir: &Path, records_reports: bool) -> Result<Self> {
        let io = |source| StoreError::Io {
            path: data_dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let lock = records_reports
            .then(|| lock_data_dir(data_dir))
            .transpose()?;

        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("cityfix.sqlite"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Self::start(pool, lock.map(Arc::new), records_reports).await
    }

    /// A private in-memory store, for tests and benches.
    pub async fn open_in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        // One connection: every connection to `:memory:` is a database of its own.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Self::start(pool, None, true).await
    }

    async fn start(
        pool: SqlitePool,
        lock: Option<Arc<File>>,
        records_reports: bool,
    ) -> Result<Self> {
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let index = intake::load_open_incidents(&pool).await?;
        tracing::debug!(open_incidents = index.len(), "loaded the dedup index");
        Ok(Self {
            pool,
            writer: Mutex::new(index),
            records_reports,
            _lock: lock,
        })
    }

    /// The connection pool, for tests that look at the tables directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn lock_data_dir(data_dir: &Path) -> Result<File> {
    let path = data_dir.join("cityfix.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StoreError::Io {
            path: path.display().to_string(),
            source,
        })?;
    file.try_lock().map_err(|_| {
        StoreError::Locked(format!(
            "the data directory {} is in use by another cityfix process; the embedded \
             store serves one process (stop the other one, or use PostgreSQL for several)",
            data_dir.display()
        ))
    })?;
    Ok(file)
}

pub(crate) fn ms(at: Timestamp) -> i64 {
    at.as_millisecond()
}

pub(crate) fn instant(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(StoreError::corrupt)
}

pub(crate) fn opt_instant(ms: Option<i64>) -> Result<Option<Timestamp>> {
    ms.map(instant).transpose()
}

#[async_trait]
impl Store for SqliteStore {
    /// One server process holds the intake lock on the file, so its own feed reaches
    /// every listener: nothing to relay.
    async fn relay_live_feed(&self, _feed: &LiveFeed) -> Result<Option<String>> {
        Ok(None)
    }

    async fn describe(&self) -> Result<String> {
        let version: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&self.pool)
            .await?;
        Ok(format!("embedded SQLite {version}"))
    }

    async fn import_boundaries(
        &self,
        import: &BoundaryImport,
        parsed: &ParsedBoundaries,
        now: Timestamp,
    ) -> Result<ImportOutcome> {
        let _writer = self.writer.lock().await;
        boundaries::import(&self.pool, import, parsed, now).await
    }

    async fn jurisdictions(&self) -> Result<Vec<JurisdictionRecord>> {
        boundaries::current(&self.pool).await
    }

    async fn apply_setup(
        &self,
        setup: &CitySetup,
        text: &str,
        now: Timestamp,
    ) -> Result<SetupOutcome> {
        let _writer = self.writer.lock().await;
        boundaries::apply_setup(&self.pool, setup, text, now).await
    }

    async fn current_setup_text(&self) -> Result<Option<String>> {
        let body = sqlx::query_scalar("SELECT body FROM setup_documents ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(body)
    }

    async fn contract_ids(&self, setup: &CitySetup) -> Result<Vec<i64>> {
        boundaries::contract_ids(&self.pool, setup).await
    }

    async fn record_reports(&self, plans: Vec<ReportPlan>) -> Result<Vec<RecordOutcome>> {
        self.ensure_owner("reports are recorded")?;
        let mut index = self.writer.lock().await;
        let outcome = intake::record(&self.pool, &mut index, plans).await;
        if outcome.is_err() {
            // The transaction rolled back: the index may hold its incidents.
            *index = intake::load_open_incidents(&self.pool).await?;
        }
        outcome
    }

    async fn report_by_source(&self, source: &str, source_id: &str) -> Result<Option<ReportView>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM reports WHERE source = ? AND source_id = ?")
                .bind(source)
                .bind(source_id)
                .fetch_optional(&self.pool)
                .await?;
        match id {
            Some(id) => reads::report(&self.pool, id).await,
            None => Ok(None),
        }
    }

    async fn report(&self, id: i64) -> Result<Option<ReportView>> {
        reads::report(&self.pool, id).await
    }

    async fn report_photo(&self, id: i64) -> Result<Option<String>> {
        let photo: Option<Option<String>> =
            sqlx::query_scalar("SELECT photo_sha256 FROM reports WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(photo.flatten())
    }

    async fn incidents(&self, query: &IncidentQuery) -> Result<Vec<IncidentView>> {
        reads::incidents(&self.pool, query).await
    }

    async fn report_points(&self) -> Result<Vec<ReportPoint>> {
        reads::report_points(&self.pool).await
    }

    async fn events(&self, work_order_id: Option<i64>) -> Result<Vec<Event>> {
        reads::events(&self.pool, work_order_id).await
    }

    async fn work_order_summaries(
        &self,
        within_jurisdiction: Option<i64>,
    ) -> Result<Vec<WorkOrderSummary>> {
        reads::work_order_summaries(&self.pool, within_jurisdiction).await
    }

    async fn work_orders(&self, query: &WorkOrderQuery) -> Result<Vec<WorkOrderView>> {
        work_orders::list(&self.pool, query).await
    }

    async fn work_order(&self, id: i64) -> Result<Option<WorkOrderDetail>> {
        work_orders::detail(&self.pool, id).await
    }

    async fn change_work_order(&self, change: WorkOrderChange) -> Result<ChangeOutcome> {
        // Closing and reopening change the dedup index of the owning process.
        self.ensure_owner("work orders are changed")?;
        let mut index = self.writer.lock().await;
        work_orders::change(&self.pool, &mut index, change).await
    }

    async fn claim_breaches(
        &self,
        now: Timestamp,
        notice_lease: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<EscalationNotice>> {
        // Under the writer mutex: two scanners of one process take turns, and
        // the breach rows keep a restarted process from claiming again.
        self.ensure_owner("breaches are claimed")?;
        let _writer = self.writer.lock().await;
        work_orders::claim_breaches(&self.pool, now, notice_lease, limit).await
    }

    async fn claim_pending_notices(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<PendingNotice>> {
        self.ensure_owner("breach notices are claimed")?;
        let _writer = self.writer.lock().await;
        work_orders::claim_pending_notices(&self.pool, now, lease_until, limit).await
    }

    async fn record_notice_delivery(
        &self,
        work_order_id: i64,
        deadline: DeadlineKind,
        delivery: NoticeDelivery,
    ) -> Result<()> {
        work_orders::record_notice_delivery(&self.pool, work_order_id, deadline, delivery).await
    }

    async fn triage_reports(&self, jurisdiction_id: i64, limit: usize) -> Result<Vec<TriageItem>> {
        corrections::triage(&self.pool, jurisdiction_id, limit).await
    }

    async fn correct_category(&self, correction: &CategoryCorrection) -> Result<CorrectionOutcome> {
        // The owner's writer lock: the dedup index moves the incident to its new category.
        self.ensure_owner("categories are corrected")?;
        let mut index = self.writer.lock().await;
        corrections::correct(&self.pool, &mut index, correction).await
    }

    async fn training_examples(&self) -> Result<Vec<TrainingExample>> {
        corrections::training_examples(&self.pool).await
    }
}

impl SqliteStore {
    /// Refuses what only the process holding the data directory may do.
    fn ensure_owner(&self, what: &str) -> Result<()> {
        if self.records_reports {
            return Ok(());
        }
        Err(StoreError::Locked(format!(
            "this process opened the store for administration only; {what} by \
             `cityfix serve` or `cityfix replay`"
        )))
    }
}

fn auth_error(err: sqlx::Error) -> AuthError {
    AuthError::Store(err.to_string())
}

#[async_trait]
impl TokenStore for SqliteStore {
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
        let id = sqlx::query(
            "INSERT INTO tokens (hash, role, contractor, jurisdiction_id, created_at_ms) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(hash.as_hex())
        .bind(grant.role().as_str())
        .bind(contractor)
        .bind(jurisdiction_id)
        .bind(ms(created_at))
        .execute(&self.pool)
        .await
        .map_err(auth_error)?
        .last_insert_rowid();
        Ok(id)
    }

    async fn find_active_token(
        &self,
        hash: &TokenHash,
    ) -> crate::auth::Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT id, role, contractor, jurisdiction_id, created_at_ms FROM tokens \
             WHERE hash = ? AND revoked_at_ms IS NULL",
        )
        .bind(hash.as_hex())
        .fetch_optional(&self.pool)
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
        let created_at =
            instant(row.get("created_at_ms")).map_err(|e| AuthError::Store(e.to_string()))?;
        Ok(Some(TokenRecord {
            id: row.get("id"),
            grant,
            created_at,
            revoked_at: None,
        }))
    }

    async fn revoke_token(&self, id: i64, revoked_at: Timestamp) -> crate::auth::Result<bool> {
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL",
        )
        .bind(ms(revoked_at))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(auth_error)?;
        Ok(done.rows_affected() == 1)
    }
}
