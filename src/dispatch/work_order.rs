//! A work order's current state, built only from its events.
//!
//! Changing a work order is two steps: [`WorkOrderState::decide`] checks a
//! command against the lifecycle and returns the event it produces (or why
//! not), and [`WorkOrderState::apply`] folds an event into the state. The
//! live path and the replay of the log share `apply`, so they cannot drift.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::lifecycle::{Action, TransitionError, WorkOrderStatus, transition};
use crate::events::{Actor, Event, EventKind, FoldError};
use crate::sla::DeadlineKind;

/// What an actor asks to do to a work order, with what the step needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Accept,
    Start,
    /// Needs the after-photo (its content hash) and records the classifier's
    /// view of it as a signal for the verifying supervisor.
    Resolve {
        after_photo: String,
        problem_still_visible: Option<bool>,
    },
    Close,
    Reopen {
        reason: String,
    },
    Reject {
        reason: String,
    },
    /// To a contractor, or to the supervisors' queue when `None`.
    Reassign {
        contractor: Option<String>,
    },
}

impl Command {
    /// The lifecycle action this command performs.
    pub fn action(&self) -> Action {
        match self {
            Self::Accept => Action::Accept,
            Self::Start => Action::Start,
            Self::Resolve { .. } => Action::Resolve,
            Self::Close => Action::Close,
            Self::Reopen { .. } => Action::Reopen,
            Self::Reject { .. } => Action::Reject,
            Self::Reassign { .. } => Action::Reassign,
        }
    }
}

/// Everything known about one work order, as its events tell it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrderState {
    pub work_order_id: i64,
    pub incident_id: i64,
    pub status: WorkOrderStatus,
    /// The contractor whose queue holds it; `None` in the supervisors' queue.
    pub contractor: Option<String>,
    pub response_due_at: Option<Timestamp>,
    pub resolution_due_at: Option<Timestamp>,
    pub assigned_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub after_photo: Option<String>,
    pub problem_still_visible: Option<bool>,
    pub last_reason: Option<String>,
    pub reopen_count: u32,
    pub response_breached_at: Option<Timestamp>,
    pub resolution_breached_at: Option<Timestamp>,
    pub escalation_count: u32,
}

impl WorkOrderState {
    /// The state a `work_order_assigned` event creates.
    pub fn created(event: &Event) -> Result<Self, FoldError> {
        let EventKind::WorkOrderAssigned {
            work_order_id,
            incident_id,
            contractor,
            response_due_at,
            resolution_due_at,
        } = &event.kind
        else {
            return Err(FoldError::NotCreated {
                event_type: event.kind.type_name(),
            });
        };
        let status = match contractor {
            Some(_) => WorkOrderStatus::Assigned,
            None => WorkOrderStatus::Unassigned,
        };

        Ok(Self {
            work_order_id: *work_order_id,
            incident_id: *incident_id,
            status,
            contractor: contractor.clone(),
            response_due_at: *response_due_at,
            resolution_due_at: *resolution_due_at,
            assigned_at: event.at,
            accepted_at: None,
            started_at: None,
            resolved_at: None,
            closed_at: None,
            after_photo: None,
            problem_still_visible: None,
            last_reason: None,
            reopen_count: 0,
            response_breached_at: None,
            resolution_breached_at: None,
            escalation_count: 0,
        })
    }

    /// The event that `command` by `actor` at `at` produces, or why it is refused.
    pub fn decide(
        &self,
        command: Command,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Event, TransitionError> {
        self.check_owner(actor)?;
        let action = command.action();
        transition(self.status, action, actor)?;

        let work_order_id = self.work_order_id;
        let kind = match command {
            Command::Accept => EventKind::WorkOrderAccepted { work_order_id },
            Command::Start => EventKind::WorkOrderStarted { work_order_id },
            Command::Resolve {
                after_photo,
                problem_still_visible,
            } => EventKind::WorkOrderResolved {
                work_order_id,
                after_photo: required(action, after_photo, "an after-photo")?,
                problem_still_visible,
            },
            Command::Close => EventKind::WorkOrderClosed { work_order_id },
            Command::Reopen { reason } => EventKind::WorkOrderReopened {
                work_order_id,
                reason: required(action, reason, "a reason")?,
            },
            Command::Reject { reason } => EventKind::WorkOrderRejected {
                work_order_id,
                reason: required(action, reason, "a reason")?,
            },
            Command::Reassign { contractor } => EventKind::WorkOrderReassigned {
                work_order_id,
                contractor,
            },
        };
        Ok(Event {
            at,
            actor: actor.clone(),
            kind,
        })
    }

    /// Folds one event of this work order into the state, checking it
    /// against the lifecycle exactly as [`Self::decide`] did.
    pub fn apply(&mut self, event: &Event) -> Result<(), FoldError> {
        let refused = |source| FoldError::Transition {
            at: event.at,
            source,
        };
        if let Some(action) = status_action(&event.kind) {
            self.check_owner(&event.actor).map_err(refused)?;
            self.status = transition(self.status, action, &event.actor).map_err(refused)?;
        }

        let at = Some(event.at);
        match &event.kind {
            EventKind::WorkOrderAccepted { .. } => self.accepted_at = at,
            EventKind::WorkOrderStarted { .. } => self.started_at = at,
            EventKind::WorkOrderResolved {
                after_photo,
                problem_still_visible,
                ..
            } => {
                self.resolved_at = at;
                self.after_photo = Some(after_photo.clone());
                self.problem_still_visible = *problem_still_visible;
            }
            EventKind::WorkOrderClosed { .. } => self.closed_at = at,
            EventKind::ClosedInSource { .. } => {
                self.status = WorkOrderStatus::Closed;
                self.resolved_at = at;
                self.closed_at = at;
            }
            EventKind::WorkOrderReopened { reason, .. } => {
                // Not fixed after all: the order counts as unresolved again.
                self.reopen_count += 1;
                self.resolved_at = None;
                self.closed_at = None;
                self.last_reason = Some(reason.clone());
            }
            EventKind::WorkOrderRejected { reason, .. } => self.last_reason = Some(reason.clone()),
            EventKind::WorkOrderReassigned { contractor, .. } => self.reassign(contractor.clone()),
            EventKind::DeadlineBreached { deadline, .. } => self.breach(*deadline, event.at)?,
            EventKind::Escalated { .. } => self.escalation_count += 1,
            EventKind::WorkOrderAssigned { .. } => return Err(FoldError::AlreadyCreated),
            _ => {}
        }
        Ok(())
    }

    /// Whether `kind`'s deadline still waits for its step (an open deadline
    /// that has not yet breached).
    pub fn awaits(&self, kind: DeadlineKind) -> bool {
        match kind {
            DeadlineKind::Response => {
                self.status.is_open()
                    && self.accepted_at.is_none()
                    && self.response_breached_at.is_none()
            }
            DeadlineKind::Resolution => {
                self.status.is_open() && self.resolution_breached_at.is_none()
            }
        }
    }

    /// The instant of the next step this order waits for: acceptance while
    /// nobody accepted it, else resolution while it is open. Breached
    /// deadlines still count, so the most overdue order comes first.
    pub fn next_due_at(&self) -> Option<Timestamp> {
        if !self.status.is_open() {
            return None;
        }
        match self.accepted_at {
            None => self.response_due_at.or(self.resolution_due_at),
            Some(_) => self.resolution_due_at,
        }
    }

    /// Whether a deadline breached and the order still awaits its resolution.
    pub fn is_overdue(&self) -> bool {
        self.status.is_open()
            && (self.response_breached_at.is_some() || self.resolution_breached_at.is_some())
    }

    fn reassign(&mut self, contractor: Option<String>) {
        self.status = match contractor {
            Some(_) => WorkOrderStatus::Assigned,
            None => WorkOrderStatus::Unassigned,
        };
        self.contractor = contractor;
        self.accepted_at = None;
        self.started_at = None;
    }

    fn breach(&mut self, kind: DeadlineKind, at: Timestamp) -> Result<(), FoldError> {
        let slot = match kind {
            DeadlineKind::Response => &mut self.response_breached_at,
            DeadlineKind::Resolution => &mut self.resolution_breached_at,
        };
        if slot.is_some() {
            return Err(FoldError::DuplicateBreach { deadline: kind });
        }
        *slot = Some(at);
        Ok(())
    }

    fn check_owner(&self, actor: &Actor) -> Result<(), TransitionError> {
        match actor {
            Actor::Contractor { contractor } if self.contractor.as_ref() != Some(contractor) => {
                Err(TransitionError::NotYourWorkOrder)
            }
            _ => Ok(()),
        }
    }
}

/// The lifecycle action an event records, for events that move the status.
fn status_action(kind: &EventKind) -> Option<Action> {
    Some(match kind {
        EventKind::WorkOrderAccepted { .. } => Action::Accept,
        EventKind::WorkOrderStarted { .. } => Action::Start,
        EventKind::WorkOrderResolved { .. } => Action::Resolve,
        EventKind::WorkOrderClosed { .. } => Action::Close,
        EventKind::WorkOrderReopened { .. } => Action::Reopen,
        EventKind::WorkOrderRejected { .. } => Action::Reject,
        EventKind::WorkOrderReassigned { .. } => Action::Reassign,
        _ => return None,
    })
}

fn required(action: Action, text: String, what: &'static str) -> Result<String, TransitionError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(TransitionError::Missing { action, what });
    }
    Ok(trimmed.to_string())
}
