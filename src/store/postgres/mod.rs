//! The production store: PostgreSQL with PostGIS, shared by any number of
//! `cityfix serve` processes.
//!
//! Nothing that decides dedup or dispatch is kept in memory here: every
//! decision is taken inside one transaction from what the database holds,
//! under the advisory locks of [`locks`] and the row locks of the contracts
//! involved, so that two processes deciding at the same instant see each
//! other's incidents and work orders. See `intake.rs` for why that is enough.

mod boundaries;
mod corrections;
mod intake;
mod live;
mod locks;
mod reads;
mod tokens;
mod work_orders;

use std::str::FromStr;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{
    BoundaryImport, CategoryCorrection, ChangeOutcome, CorrectionOutcome, ImportOutcome,
    IncidentQuery, IncidentView, JurisdictionRecord, NoticeDelivery, PendingNotice, RecordOutcome,
    ReportPlan, ReportPoint, ReportView, Result, SetupOutcome, Store, StoreError, TrainingExample,
    TriageItem, WorkOrderChange, WorkOrderDetail, WorkOrderQuery, WorkOrderSummary, WorkOrderView,
};
use crate::boundaries::ParsedBoundaries;
use crate::events::Event;
use crate::events::live::LiveFeed;
use crate::setup::CitySetup;
use crate::sla::{DeadlineKind, EscalationNotice};

/// Connections each process keeps; several processes share one server, whose
/// `max_connections` (100 by default) bounds the sum.
const MAX_CONNECTIONS: u32 = 16;

/// The PostgreSQL + PostGIS store.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to a `postgres://` URL, checks that PostGIS is there and
    /// applies the migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        Self::connect_with(options).await
    }

    /// Like [`PgStore::open`] with options built by the caller (tests use it
    /// to give each scenario a schema of its own).
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self> {
        let database = options.get_database().unwrap_or("(default)").to_string();
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        require_postgis(&pool, &database).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool, for tests and benches that query PostGIS directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Refuses a database without PostGIS, saying what to do about it.
async fn require_postgis(pool: &PgPool, database: &str) -> Result<()> {
    let installed: Option<String> =
        sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            .fetch_optional(pool)
            .await?;
    if installed.is_some() {
        return Ok(());
    }

    let available: Option<String> = sqlx::query_scalar(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'",
    )
    .fetch_optional(pool)
    .await?;
    let how = match available {
        Some(_) => format!(
            "run `CREATE EXTENSION postgis;` in database {database:?} as a role allowed to \
             create extensions, then start cityfix again"
        ),
        None => format!(
            "the server has no PostGIS at all: install it (on Debian, the \
             postgresql-15-postgis-3 package), then run `CREATE EXTENSION postgis;` in \
             database {database:?}"
        ),
    };
    Err(StoreError::Conflict(format!(
        "database {database:?} has no PostGIS extension; cityfix needs it: {how}"
    )))
}

#[async_trait]
impl Store for PgStore {
    async fn relay_live_feed(&self, feed: &LiveFeed) -> Result<Option<String>> {
        live::relay(&self.pool, feed).await
    }

    async fn describe(&self) -> Result<String> {
        let (server, postgis): (String, String) = sqlx::query_as(
            "SELECT current_setting('server_version'), \
             (SELECT extversion FROM pg_extension WHERE extname = 'postgis')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(format!("PostgreSQL {server} with PostGIS {postgis}"))
    }

    async fn import_boundaries(
        &self,
        import: &BoundaryImport,
        parsed: &ParsedBoundaries,
        now: Timestamp,
    ) -> Result<ImportOutcome> {
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
        intake::record(&self.pool, plans).await
    }

    async fn report_by_source(&self, source: &str, source_id: &str) -> Result<Option<ReportView>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM reports WHERE source = $1 AND source_id = $2")
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
            sqlx::query_scalar("SELECT photo_sha256 FROM reports WHERE id = $1")
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
        work_orders::change(&self.pool, change).await
    }

    async fn claim_breaches(
        &self,
        now: Timestamp,
        notice_lease: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<EscalationNotice>> {
        work_orders::claim_breaches(&self.pool, now, notice_lease, limit).await
    }

    async fn claim_pending_notices(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<PendingNotice>> {
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
        corrections::correct(&self.pool, correction).await
    }

    async fn training_examples(&self) -> Result<Vec<TrainingExample>> {
        corrections::training_examples(&self.pool).await
    }
}

/// Instants cross the wire as milliseconds since the epoch; the SQL
/// functions `cityfix_at` and `cityfix_ms` turn them into timestamptz and back.
pub(crate) fn ms(at: Timestamp) -> i64 {
    at.as_millisecond()
}

pub(crate) fn instant(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(StoreError::corrupt)
}

pub(crate) fn opt_instant(ms: Option<i64>) -> Result<Option<Timestamp>> {
    ms.map(instant).transpose()
}
