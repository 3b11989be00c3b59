//! The append-only event log: one record per thing that happened to a report,
//! incident or work order, with who did it and when.
//!
//! Events are facts and are never changed or deleted; a work order's current
//! state is what [`fold_work_order`] makes of its events, and the stored
//! state is only a cache of that fold. In JSON an event reads
//! `{"at": "…Z", "actor": {"role": "contractor", "contractor": "acme"},
//! "type": "work_order_accepted", "work_order_id": 7}`.

mod fold;
pub mod live;

pub use fold::{FoldError, fold_work_order};

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::sla::{DeadlineKind, Priority};

/// Who did something.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Actor {
    /// A member of the public sending a report.
    Citizen,
    /// A contractor, by its slug from the set-up file.
    Contractor { contractor: String },
    /// A supervisor, by the name on their token.
    Supervisor { supervisor: String },
    /// cityfix itself: dispatch rules, the breach scanner, replay.
    System,
}

impl Actor {
    /// The actor's role, which decides what it may do.
    pub fn role(&self) -> Role {
        match self {
            Self::Citizen => Role::Citizen,
            Self::Contractor { .. } => Role::Contractor,
            Self::Supervisor { .. } => Role::Supervisor,
            Self::System => Role::System,
        }
    }

    /// A contractor actor.
    pub fn contractor(slug: &str) -> Self {
        Self::Contractor {
            contractor: slug.to_string(),
        }
    }

    /// A supervisor actor.
    pub fn supervisor(name: &str) -> Self {
        Self::Supervisor {
            supervisor: name.to_string(),
        }
    }

    /// The supervisor behind an API token. Tokens carry no person's name, so every step
    /// a supervisor takes through the API is recorded under `token-<id>`.
    pub fn supervisor_token(token_id: i64) -> Self {
        Self::supervisor(&format!("token-{token_id}"))
    }
}

/// The roles actors play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Citizen,
    Contractor,
    Supervisor,
    System,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Citizen => "citizen",
            Self::Contractor => "contractor",
            Self::Supervisor => "supervisor",
            Self::System => "system",
        })
    }
}

/// One thing that happened, with its instant and actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: Timestamp,
    pub actor: Actor,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A report passed intake and was linked to an incident.
    ReportAccepted {
        report_id: i64,
        incident_id: i64,
    },
    /// A report opened a new incident.
    IncidentCreated {
        incident_id: i64,
        jurisdiction_id: i64,
        category: String,
        priority: Priority,
    },
    /// A report was merged into an open incident nearby.
    IncidentMerged {
        incident_id: i64,
        report_id: i64,
        report_count: u32,
    },
    /// A work order was created for an incident: to a contractor, or to the
    /// supervisors' queue when `contractor` is absent.
    WorkOrderAssigned {
        work_order_id: i64,
        incident_id: i64,
        contractor: Option<String>,
        response_due_at: Option<Timestamp>,
        resolution_due_at: Option<Timestamp>,
    },
    WorkOrderAccepted {
        work_order_id: i64,
    },
    WorkOrderStarted {
        work_order_id: i64,
    },
    /// The contractor resolved it, with the after-photo's content hash and
    /// the classifier's view of whether the problem is still visible.
    WorkOrderResolved {
        work_order_id: i64,
        after_photo: String,
        problem_still_visible: Option<bool>,
    },
    /// A supervisor verified and closed it.
    WorkOrderClosed {
        work_order_id: i64,
    },
    WorkOrderReopened {
        work_order_id: i64,
        reason: String,
    },
    WorkOrderRejected {
        work_order_id: i64,
        reason: String,
    },
    /// Handed to another contractor, or to the supervisors' queue when
    /// `contractor` is absent.
    WorkOrderReassigned {
        work_order_id: i64,
        contractor: Option<String>,
    },
    /// Replayed history: the source system closed the case at this instant.
    /// Its own steps are not known, so none of the lifecycle's are claimed.
    ClosedInSource {
        work_order_id: i64,
    },
    /// A deadline passed without its step.
    DeadlineBreached {
        work_order_id: i64,
        deadline: DeadlineKind,
        due_at: Timestamp,
    },
    /// A supervisor set a report's category (and so its incident's); `from` may
    /// equal `to` when the supervisor confirmed it.
    CategoryCorrected {
        report_id: i64,
        incident_id: i64,
        from: String,
        to: String,
    },
    /// A breach was escalated: put in the supervisors' overdue queue, and
    /// posted to the webhook when one is configured.
    Escalated {
        work_order_id: i64,
        deadline: DeadlineKind,
        webhook: bool,
    },
}

impl EventKind {
    /// The work order this event is about, if it is about one.
    pub fn work_order_id(&self) -> Option<i64> {
        match self {
            Self::ReportAccepted { .. }
            | Self::IncidentCreated { .. }
            | Self::IncidentMerged { .. }
            | Self::CategoryCorrected { .. } => None,
            Self::WorkOrderAssigned { work_order_id, .. }
            | Self::WorkOrderAccepted { work_order_id }
            | Self::WorkOrderStarted { work_order_id }
            | Self::WorkOrderResolved { work_order_id, .. }
            | Self::WorkOrderClosed { work_order_id }
            | Self::WorkOrderReopened { work_order_id, .. }
            | Self::WorkOrderRejected { work_order_id, .. }
            | Self::WorkOrderReassigned { work_order_id, .. }
            | Self::ClosedInSource { work_order_id }
            | Self::DeadlineBreached { work_order_id, .. }
            | Self::Escalated { work_order_id, .. } => Some(*work_order_id),
        }
    }

    /// The snake_case name stored in the event log's `type` column.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::ReportAccepted { .. } => "report_accepted",
            Self::IncidentCreated { .. } => "incident_created",
            Self::IncidentMerged { .. } => "incident_merged",
            Self::WorkOrderAssigned { .. } => "work_order_assigned",
            Self::WorkOrderAccepted { .. } => "work_order_accepted",
            Self::WorkOrderStarted { .. } => "work_order_started",
            Self::WorkOrderResolved { .. } => "work_order_resolved",
            Self::WorkOrderClosed { .. } => "work_order_closed",
            Self::WorkOrderReopened { .. } => "work_order_reopened",
            Self::WorkOrderRejected { .. } => "work_order_rejected",
            Self::WorkOrderReassigned { .. } => "work_order_reassigned",
            Self::ClosedInSource { .. } => "closed_in_source",
            Self::DeadlineBreached { .. } => "deadline_breached",
            Self::Escalated { .. } => "escalated",
            Self::CategoryCorrected { .. } => "category_corrected",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json_with_a_flat_shape() {
        let event = Event {
            at: "2025-03-10T14:00:00Z".parse().unwrap(),
            actor: Actor::contractor("acme-paving"),
            kind: EventKind::WorkOrderRejected {
                work_order_id: 7,
                reason: "outside our area".into(),
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "work_order_rejected");
        assert_eq!(json["actor"]["role"], "contractor");
        assert_eq!(json["actor"]["contractor"], "acme-paving");
        assert_eq!(json["work_order_id"], 7);

        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.kind.type_name(), "work_order_rejected");
        assert_eq!(back.kind.work_order_id(), Some(7));
    }
}
