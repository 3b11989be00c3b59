//! What goes into and comes out of a store.

use geo::{MultiPolygon, Point};
use jiff::Timestamp;
use serde::Serialize;

use crate::dispatch::{Command, Contract, UnassignedReason, WorkOrderState};
use crate::events::{Actor, Event, EventKind};
use crate::incidents::DedupRule;
use crate::reports::PositionSource;
use crate::routing::Routing;
use crate::sla::{ComplianceRecord, DeadlineKind, Deadlines, EscalationNotice, Priority};

/// How a boundary file is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundaryImport {
    /// The user's name for the level (`municipality`, `police_district`).
    pub level: String,
    /// Position of a new level in the ordering (higher = more specific); a new
    /// level without one goes after every existing level.
    pub level_rank: Option<u32>,
    /// IANA time zone of these jurisdictions' working calendar.
    pub time_zone: String,
    /// File name, for the import log.
    pub source_name: String,
}

/// What an import changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// The import's id; `None` when the file was unchanged.
    pub import_id: Option<i64>,
    pub level: String,
    pub level_rank: u32,
    pub unchanged: bool,
    pub added: usize,
    pub changed: usize,
    pub kept: usize,
    pub retired: usize,
}

/// A jurisdiction with its current boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct JurisdictionRecord {
    pub id: i64,
    pub level: String,
    pub level_rank: u32,
    pub external_id: String,
    pub name: String,
    pub time_zone: String,
    pub boundary_version_id: i64,
    pub area_m2: f64,
    pub geometry: MultiPolygon<f64>,
}

/// What applying a set-up changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupOutcome {
    pub unchanged: bool,
    pub categories: usize,
    pub contractors: usize,
    pub contracts: usize,
}

/// The model's view of a report's photo, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredClassification {
    pub label: String,
    pub confidence: f32,
    pub embedding: Vec<f32>,
    /// The model that made `embedding` (see `Classification::model_sha256`).
    pub model_sha256: String,
}

/// Everything the pipeline decided about one report; the store does the rest.
#[derive(Debug, Clone)]
pub struct ReportPlan {
    pub source: String,
    pub source_id: Option<String>,
    /// Hash of the submission's content: a retry under the same key with other
    /// content is refused rather than answered with the first report.
    pub fingerprint: Option<String>,
    pub received_at: Timestamp,
    pub position: Point<f64>,
    pub accuracy_m: Option<f64>,
    pub position_source: PositionSource,
    pub citizen_category: Option<String>,
    pub source_category: Option<String>,
    /// The category the incident is filed under.
    pub category: String,
    pub description: Option<String>,
    pub photo_sha256: Option<String>,
    pub classification: Option<StoredClassification>,
    pub triage_reason: Option<String>,
    pub routing: Routing,
    pub placeholder: bool,
    pub dedup: DedupRule,
    pub default_priority: Priority,
    pub escalate_after_reports: Option<u32>,
    /// Contracts covering (jurisdiction, category) at `received_at`.
    pub candidates: Vec<Contract>,
    /// Deadlines of a new work order at the default priority, when a policy
    /// and the calendar give them.
    pub deadlines: Option<Deadlines>,
    /// Replayed history: when the source system closed the case.
    pub source_closed_at: Option<Timestamp>,
    pub actor: Actor,
}

/// A work order as an intake answer names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkOrderRef {
    pub id: i64,
    pub contractor: Option<String>,
    pub unassigned_reason: Option<UnassignedReason>,
    pub response_due_at: Option<Timestamp>,
    pub resolution_due_at: Option<Timestamp>,
}

/// What the store did with one plan.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordOutcome {
    /// Stored now.
    Recorded {
        report_id: i64,
        incident_id: i64,
        /// Merged into an existing incident (no new work order).
        merged: bool,
        report_count: u32,
        priority: Priority,
        /// The new work order of a new incident.
        work_order: Option<WorkOrderRef>,
    },
    /// The source already sent this id: the first report stands.
    AlreadyRecorded { report_id: i64, same_content: bool },
}

/// Filters of the incident list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentQuery {
    /// West, south, east, north.
    pub bbox: Option<[f64; 4]>,
    pub category: Option<String>,
    /// A work order status, or `open` for every not-yet-closed one.
    pub status: Option<String>,
    pub jurisdiction_id: Option<i64>,
    /// Only incidents with a lower id: the next page after one that ended there.
    pub before_id: Option<i64>,
    pub limit: usize,
}

/// One incident as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentView {
    pub id: i64,
    pub category: String,
    pub jurisdiction_id: i64,
    pub lon: f64,
    pub lat: f64,
    pub priority: Priority,
    pub report_count: u32,
    pub opened_at: Timestamp,
    pub last_report_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub placeholder: bool,
    pub status: String,
    pub work_order_id: Option<i64>,
    pub contractor: Option<String>,
    pub resolution_due_at: Option<Timestamp>,
}

/// A jurisdiction as a report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JurisdictionName {
    pub id: i64,
    pub name: String,
    pub level: String,
}

/// One report as its citizen follows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportView {
    pub id: i64,
    pub received_at: Timestamp,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub position_source: String,
    pub category: String,
    pub citizen_category: Option<String>,
    pub description: Option<String>,
    pub has_photo: bool,
    pub model_label: Option<String>,
    pub model_confidence: Option<f32>,
    pub triage: bool,
    pub triage_reason: Option<String>,
    pub jurisdiction: JurisdictionName,
    pub containing_jurisdictions: Vec<i64>,
    pub overlap: bool,
    pub near_boundary: bool,
    pub placeholder: bool,
    pub incident_id: i64,
    pub incident_report_count: u32,
    pub priority: Priority,
    /// The work order's status as the citizen sees it.
    pub status: String,
}

/// A report position for maps and aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPoint {
    pub report_id: i64,
    pub incident_id: i64,
    pub position: Point<f64>,
    pub category: String,
    pub status: String,
    pub jurisdiction_id: i64,
    pub received_at: Timestamp,
}

/// A work order's outcome figures.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkOrderSummary {
    pub id: i64,
    pub incident_id: i64,
    pub jurisdiction_id: i64,
    pub category: String,
    pub contractor: Option<String>,
    pub status: String,
    pub assigned_at: Timestamp,
    pub resolution_due_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
}

impl WorkOrderSummary {
    /// The record the SLA compliance figures count.
    pub fn compliance_record(&self) -> ComplianceRecord {
        ComplianceRecord {
            jurisdiction_id: Some(self.jurisdiction_id),
            category: self.category.clone(),
            contractor: self.contractor.clone(),
            created_at: self.assigned_at,
            resolved_at: self.resolved_at,
            resolution_due_at: self.resolution_due_at,
        }
    }
}

/// Which work orders a list holds. The list is ordered by urgency: the
/// earliest deadline of the next step first (the most overdue at the top),
/// orders without one last, then by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkOrderQuery {
    /// Only this contractor's queue.
    pub contractor: Option<String>,
    /// Only orders of this jurisdiction or of jurisdictions it contains.
    pub within_jurisdiction: Option<i64>,
    /// Only orders with a breached deadline that still await resolution.
    pub overdue_only: bool,
    /// Leave out resolved and closed orders.
    pub open_only: bool,
    /// Only orders created at or after this instant.
    pub assigned_from: Option<Timestamp>,
    /// Only orders created before this instant.
    pub assigned_before: Option<Timestamp>,
    /// At most this many; `None` for all.
    pub limit: Option<usize>,
}

/// One work order as queues and supervisors see it: the folded state of its
/// events and what it is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkOrderView {
    pub jurisdiction_id: i64,
    pub category: String,
    pub priority: Priority,
    pub lon: f64,
    pub lat: f64,
    /// The deadline of the step it waits for; see [`WorkOrderQuery`].
    pub next_due_at: Option<Timestamp>,
    pub overdue: bool,
    #[serde(flatten)]
    pub state: WorkOrderState,
}

impl WorkOrderView {
    /// The record the SLA compliance figures count.
    pub fn compliance_record(&self) -> ComplianceRecord {
        ComplianceRecord {
            jurisdiction_id: Some(self.jurisdiction_id),
            category: self.category.clone(),
            contractor: self.state.contractor.clone(),
            created_at: self.state.assigned_at,
            resolved_at: self.state.resolved_at,
            resolution_due_at: self.state.resolution_due_at,
        }
    }
}

/// One work order with the jurisdictions it answers to and its event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkOrderDetail {
    #[serde(flatten)]
    pub view: WorkOrderView,
    /// Its own jurisdiction first, then those containing it.
    pub scope: Vec<i64>,
    pub events: Vec<Event>,
}

/// A command on a work order, as the store applies it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkOrderChange {
    pub work_order_id: i64,
    /// `Reassign { contractor: None }` asks the dispatch rule for another
    /// contractor than the current one (the supervisors' queue when none can
    /// take it); a named contractor must hold one of `candidates`.
    pub command: Command,
    pub actor: Actor,
    pub at: Timestamp,
    /// Contracts covering the order's jurisdiction and category at `at`, for
    /// the reassignment a rejection or a reassign causes.
    pub candidates: Vec<Contract>,
}

/// A breach's webhook notice due again, with the attempts made so far (this one
/// included).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingNotice {
    pub notice: EscalationNotice,
    pub attempts: u32,
}

/// How one webhook delivery of a breach's notice went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeDelivery {
    /// Accepted by the receiver: never sent again.
    Delivered { at: Timestamp },
    /// Not accepted: due again at `retry_at`, or never again when `None`.
    Failed { retry_at: Option<Timestamp> },
}

impl DeadlineKind {
    /// The kind a stored `deadline` column names.
    pub(crate) fn from_stored(text: &str) -> Self {
        match text {
            "response" => DeadlineKind::Response,
            _ => DeadlineKind::Resolution,
        }
    }
}

/// What a change did.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeOutcome {
    /// The state after every event the change appended.
    pub state: WorkOrderState,
    /// The events appended, in order (a rejection is followed by its reassignment).
    pub events: Vec<Event>,
    /// The jurisdictions the order answers to, own first.
    pub scope: Vec<i64>,
}

/// A supervisor's verdict on a report's category: a labelled example for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryCorrection {
    pub report_id: i64,
    /// The category the supervisor says the report shows (may equal the current one:
    /// a confirmation, which also takes the report out of triage).
    pub category: String,
    pub supervisor_token_id: i64,
    /// The jurisdiction the supervisor watches; the report must lie in it.
    pub supervisor_jurisdiction_id: i64,
    pub at: Timestamp,
}

impl CategoryCorrection {
    /// The event both stores append once the correction is written.
    pub fn event(&self, incident_id: i64, old_category: &str) -> Event {
        Event {
            at: self.at,
            actor: Actor::supervisor_token(self.supervisor_token_id),
            kind: EventKind::CategoryCorrected {
                report_id: self.report_id,
                incident_id,
                from: old_category.to_owned(),
                to: self.category.clone(),
            },
        }
    }

    /// The stored correction, under its row id.
    pub fn record(&self, id: i64, incident_id: i64, old_category: String) -> CorrectionRecord {
        CorrectionRecord {
            id,
            report_id: self.report_id,
            incident_id,
            old_category,
            new_category: self.category.clone(),
            supervisor_token_id: self.supervisor_token_id,
            corrected_at: self.at,
        }
    }
}

/// A stored correction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrectionRecord {
    pub id: i64,
    pub report_id: i64,
    pub incident_id: i64,
    pub old_category: String,
    pub new_category: String,
    pub supervisor_token_id: i64,
    pub corrected_at: Timestamp,
}

/// What the store made of a correction.
#[derive(Debug, Clone, PartialEq)]
pub enum CorrectionOutcome {
    Corrected(CorrectionRecord),
    ReportNotFound,
    /// The report lies outside the supervisor's jurisdiction.
    OtherJurisdiction,
    /// No category of the set-up has that slug.
    UnknownCategory,
}

/// A report waiting for a supervisor's look.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageItem {
    pub report_id: i64,
    pub incident_id: i64,
    pub jurisdiction_id: i64,
    pub received_at: Timestamp,
    pub category: String,
    pub citizen_category: Option<String>,
    pub model_label: Option<String>,
    pub model_confidence: Option<f32>,
    pub triage_reason: String,
    pub has_photo: bool,
}

/// A corrected report with a photo: the category a supervisor gave it, as of the
/// latest correction.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingExample {
    pub report_id: i64,
    pub photo_sha256: String,
    pub category: String,
    pub corrected_at: Timestamp,
}

impl From<&JurisdictionRecord> for crate::setup::JurisdictionRef {
    fn from(record: &JurisdictionRecord) -> Self {
        Self {
            id: record.id,
            level: record.level.clone(),
            external_id: record.external_id.clone(),
        }
    }
}
