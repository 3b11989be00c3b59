//! Storage behind one trait: the embedded SQLite file by default
//! ([`SqliteStore`]), PostgreSQL + PostGIS in production.
//!
//! The pipeline decides everything that does not depend on stored state
//! (routing, classification, deadlines, the contract candidates) and hands the
//! store one [`ReportPlan`] per report. The store does the rest atomically:
//! the idempotency check, dedup against open incidents, the new incident, the
//! dispatch choice among the candidates by their open work orders, the work
//! order and the events. Each backend does dedup its own way and says why it
//! is correct with several writers.

mod postgres;
mod sqlite;
mod types;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use types::*;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::auth::TokenStore;
use crate::boundaries::ParsedBoundaries;
use crate::dispatch::TransitionError;
use crate::events::Event;
use crate::events::live::LiveFeed;
use crate::setup::CitySetup;
use crate::sla::{DeadlineKind, EscalationNotice};

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Locked(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    /// The lifecycle refused a work order command.
    #[error("{0}")]
    Refused(#[from] TransitionError),
    /// A request names something that cannot be used (a contractor without
    /// a contract for the order, say).
    #[error("{0}")]
    Invalid(String),
    #[error("I/O error at {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

/// Result alias of the store layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything cityfix keeps. Implementations are shared behind an `Arc`.
#[async_trait]
pub trait Store: TokenStore + Send + Sync {
    /// `sqlite` or `postgres`, with the server version, for the startup log.
    async fn describe(&self) -> Result<String>;

    /// Shares this process's live feed with the other processes on the same
    /// store, both ways; returns what carries it (`None`: nothing to share, or
    /// shared already).
    async fn relay_live_feed(&self, feed: &LiveFeed) -> Result<Option<String>>;

    /// Stores a boundary file as a new version of its level's jurisdictions;
    /// an unchanged file (same content hash as the level's last import)
    /// changes nothing.
    async fn import_boundaries(
        &self,
        import: &BoundaryImport,
        parsed: &ParsedBoundaries,
        now: Timestamp,
    ) -> Result<ImportOutcome>;

    /// Every jurisdiction with its current boundary, for routing and the API.
    async fn jurisdictions(&self) -> Result<Vec<JurisdictionRecord>>;

    /// Applies a validated set-up; the same file again changes nothing.
    async fn apply_setup(
        &self,
        setup: &CitySetup,
        text: &str,
        now: Timestamp,
    ) -> Result<SetupOutcome>;

    /// The text of the last set-up applied, if any.
    async fn current_setup_text(&self) -> Result<Option<String>>;

    /// Store ids of the set-up's contracts, in the order of `setup.contracts`.
    async fn contract_ids(&self, setup: &CitySetup) -> Result<Vec<i64>>;

    /// Records reports in order, each atomically; see the module docs.
    async fn record_reports(&self, plans: Vec<ReportPlan>) -> Result<Vec<RecordOutcome>>;

    /// The report a source already sent under this id, if any.
    async fn report_by_source(&self, source: &str, source_id: &str) -> Result<Option<ReportView>>;

    /// One report as its citizen follows it.
    async fn report(&self, id: i64) -> Result<Option<ReportView>>;

    /// The photo hash of a report, if it has one.
    async fn report_photo(&self, id: i64) -> Result<Option<String>>;

    /// Incidents matching a query, newest first, at most `query.limit`.
    async fn incidents(&self, query: &IncidentQuery) -> Result<Vec<IncidentView>>;

    /// Points of reports (or incidents) for the heatmap and cluster views.
    async fn report_points(&self) -> Result<Vec<ReportPoint>>;

    /// The event log, oldest first, optionally of one work order.
    async fn events(&self, work_order_id: Option<i64>) -> Result<Vec<Event>>;

    /// Work orders and their outcomes for the replay summary and the figures:
    /// all of them, or those answering to `within_jurisdiction` (its own and
    /// those of the jurisdictions inside it).
    async fn work_order_summaries(
        &self,
        within_jurisdiction: Option<i64>,
    ) -> Result<Vec<WorkOrderSummary>>;

    /// Work orders matching a query, most urgent first (see [`WorkOrderQuery`]).
    async fn work_orders(&self, query: &WorkOrderQuery) -> Result<Vec<WorkOrderView>>;

    /// One work order with its scope and events.
    async fn work_order(&self, id: i64) -> Result<Option<WorkOrderDetail>>;

    /// Applies a command atomically: `WorkOrderState::decide` on the stored
    /// state (refusals are [`StoreError::Refused`]), the event appended, the
    /// cached state and queue columns updated; a rejection is followed by the
    /// dispatch rule's reassignment among `change.candidates` without the
    /// rejecting contractor. Closing closes the incident (dedup stops merging
    /// into it), reopening reopens it.
    async fn change_work_order(&self, change: WorkOrderChange) -> Result<ChangeOutcome>;

    /// Claims every deadline due before `now` whose step has not happened,
    /// at most `limit`, and records each breach: `deadline_breached` and
    /// `escalated` events, the overdue queue. Each (work order, deadline) is
    /// claimed once, whatever the number of callers or restarts (a unique
    /// breach row written in the same transaction). Deadlines before the
    /// instant the order was stored are history and never claimed.
    /// `notice_lease` says that the caller will POST the notices it gets back
    /// to the webhook: each notice is due for delivery from that instant on, in
    /// case the caller stops before it says how the POST went.
    async fn claim_breaches(
        &self,
        now: Timestamp,
        notice_lease: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<EscalationNotice>>;

    /// Takes the breach notices due for delivery at `now` (a POST that failed,
    /// or whose sender stopped before saying how it went), oldest first, at most
    /// `limit`, and leases each until `lease_until` so that no other caller takes
    /// it meanwhile.
    async fn claim_pending_notices(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<PendingNotice>>;

    /// Records how a delivery of the notice of (`work_order_id`, `deadline`) went.
    async fn record_notice_delivery(
        &self,
        work_order_id: i64,
        deadline: DeadlineKind,
        delivery: NoticeDelivery,
    ) -> Result<()>;
    /// Reports marked for triage that no supervisor has corrected or confirmed
    /// yet, in (or inside) the jurisdiction, oldest first, at most `limit`.
    async fn triage_reports(&self, jurisdiction_id: i64, limit: usize) -> Result<Vec<TriageItem>>;

    /// Records a supervisor's category for a report, atomically: the correction
    /// row, the report's and its incident's (and work order's) new category, and
    /// a `category_corrected` event. The incident follows the correction: its
    /// reports were judged to be one problem, and the supervisor has now said
    /// which. Its work order keeps its contractor; reassigning is a separate step.
    async fn correct_category(&self, correction: &CategoryCorrection) -> Result<CorrectionOutcome>;

    /// The labelled examples: every corrected report with a photo, by report id.
    async fn training_examples(&self) -> Result<Vec<TrainingExample>>;
}

/// A store shared by the server's tasks.
pub type SharedStore = Arc<dyn Store>;
