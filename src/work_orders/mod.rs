//! Work orders as crews and supervisors handle them: a contractor's queue,
//! the lifecycle commands, the supervisors' overdue list and compliance
//! figures, and the breach scanner ([`scanner`]).
//!
//! The rules live elsewhere (the lifecycle in [`crate::dispatch`], deadlines
//! and figures in [`crate::sla`]); this module puts them together with the
//! store, the city's contracts and the live feed, so that each HTTP handler
//! calls one function here.

pub mod scanner;

use std::sync::Arc;

use bytes::Bytes;
use jiff::Timestamp;

use crate::clock::Clock;
use crate::dispatch::Command;
use crate::events::Actor;
use crate::events::live::{LiveEvent, LiveEventKind, LiveFeed};
use crate::pipeline::{IntakeError, Pipeline};
use crate::sla::{ComplianceReport, compliance};
use crate::store::{
    ChangeOutcome, StoreError, WorkOrderChange, WorkOrderDetail, WorkOrderQuery, WorkOrderView,
};

/// Why a work order request failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The after-photo was refused, or classifying it failed.
    #[error(transparent)]
    Photo(#[from] IntakeError),
    #[error("work order {0} not found")]
    NotFound(i64),
    #[error("work order {0} belongs to a jurisdiction you do not supervise")]
    OutsideJurisdiction(i64),
    #[error("the period is empty: `from` must be before `to`")]
    EmptyPeriod,
}

/// Result alias of this module.
pub type Result<T, E = WorkError> = std::result::Result<T, E>;

/// Who is acting, with what they may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A contractor: acts on its own work orders only.
    Contractor(String),
    /// A supervisor watching one jurisdiction (and those it contains).
    Supervisor { token_id: i64, jurisdiction_id: i64 },
}

impl Caller {
    /// The actor the event log records.
    pub fn actor(&self) -> Actor {
        match self {
            Self::Contractor(slug) => Actor::contractor(slug),
            Self::Supervisor { token_id, .. } => Actor::supervisor_token(*token_id),
        }
    }
}

/// The work order desk: cheap to build per request from the shared parts.
#[derive(Clone)]
pub struct WorkDesk {
    pipeline: Arc<Pipeline>,
    live: LiveFeed,
    clock: Arc<dyn Clock>,
}

impl WorkDesk {
    pub fn new(pipeline: Arc<Pipeline>, live: LiveFeed, clock: Arc<dyn Clock>) -> Self {
        Self {
            pipeline,
            live,
            clock,
        }
    }

    /// A contractor's open work orders, most urgent first.
    pub async fn queue(&self, contractor: &str, limit: usize) -> Result<Vec<WorkOrderView>> {
        let query = WorkOrderQuery {
            contractor: Some(contractor.to_string()),
            open_only: true,
            limit: Some(limit),
            ..WorkOrderQuery::default()
        };
        Ok(self.pipeline.store().work_orders(&query).await?)
    }

    /// The supervisors' overdue queue of a jurisdiction, most overdue first.
    pub async fn overdue(&self, jurisdiction_id: i64, limit: usize) -> Result<Vec<WorkOrderView>> {
        let query = WorkOrderQuery {
            within_jurisdiction: Some(jurisdiction_id),
            overdue_only: true,
            limit: Some(limit),
            ..WorkOrderQuery::default()
        };
        Ok(self.pipeline.store().work_orders(&query).await?)
    }

    /// One work order with its events, for a caller allowed to see it.
    pub async fn show(&self, id: i64, caller: &Caller) -> Result<WorkOrderDetail> {
        let detail = self.detail(id).await?;
        match caller {
            Caller::Supervisor {
                jurisdiction_id, ..
            } if !detail.scope.contains(jurisdiction_id) => Err(WorkError::OutsideJurisdiction(id)),
            Caller::Contractor(slug) if detail.view.state.contractor.as_ref() != Some(slug) => {
                Err(StoreError::Refused(crate::dispatch::TransitionError::NotYourWorkOrder).into())
            }
            _ => Ok(detail),
        }
    }

    /// Applies a lifecycle command by `caller`; see [`crate::dispatch::lifecycle`].
    pub async fn act(&self, id: i64, command: Command, caller: &Caller) -> Result<ChangeOutcome> {
        let detail = self.detail(id).await?;
        if let Caller::Supervisor {
            jurisdiction_id, ..
        } = caller
            && !detail.scope.contains(jurisdiction_id)
        {
            return Err(WorkError::OutsideJurisdiction(id));
        }

        let at = self.clock.now();
        let candidates =
            self.pipeline
                .city()
                .candidates_in(&detail.scope, &detail.view.category, at);
        let outcome = self
            .pipeline
            .store()
            .change_work_order(WorkOrderChange {
                work_order_id: id,
                command,
                actor: caller.actor(),
                at,
                candidates,
            })
            .await?;
        self.publish(&outcome, at);
        Ok(outcome)
    }

    /// Resolves with an after-photo. The lifecycle is checked before the
    /// photo is processed, so a refused step costs no decode.
    pub async fn resolve(&self, id: i64, photo: Bytes, caller: &Caller) -> Result<ChangeOutcome> {
        let detail = self.detail(id).await?;
        let trial = Command::Resolve {
            after_photo: "pending".into(),
            problem_still_visible: None,
        };
        detail
            .view
            .state
            .decide(trial, &caller.actor(), self.clock.now())
            .map_err(StoreError::Refused)?;

        let after = self.pipeline.after_photo(photo).await?;
        let command = Command::Resolve {
            after_photo: after.sha256,
            problem_still_visible: after.problem_still_visible,
        };
        self.act(id, command, caller).await
    }

    /// SLA compliance of the work orders created in `[from, to)` within a
    /// supervisor's jurisdiction, as they stand now.
    pub async fn figures(
        &self,
        jurisdiction_id: i64,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ComplianceReport> {
        if to <= from {
            return Err(WorkError::EmptyPeriod);
        }
        let query = WorkOrderQuery {
            within_jurisdiction: Some(jurisdiction_id),
            assigned_from: Some(from),
            assigned_before: Some(to),
            ..WorkOrderQuery::default()
        };
        let orders = self.pipeline.store().work_orders(&query).await?;
        let records = orders.iter().map(WorkOrderView::compliance_record);
        Ok(compliance(records, from, to, self.clock.now()))
    }

    async fn detail(&self, id: i64) -> Result<WorkOrderDetail> {
        self.pipeline
            .store()
            .work_order(id)
            .await?
            .ok_or(WorkError::NotFound(id))
    }

    fn publish(&self, outcome: &ChangeOutcome, at: Timestamp) {
        self.live.publish(LiveEvent {
            jurisdiction_ids: outcome.scope.clone(),
            at,
            kind: LiveEventKind::StatusChanged {
                incident_id: outcome.state.incident_id,
                work_order_id: Some(outcome.state.work_order_id),
                status: outcome.state.status.as_str().to_string(),
            },
        });
    }
}
