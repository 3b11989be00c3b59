//! The work order lifecycle as a state machine.
//!
//! | from | action | by | to |
//! |---|---|---|---|
//! | assigned, reopened | accept | contractor | accepted |
//! | accepted | start | contractor | in_progress |
//! | in_progress | resolve (after-photo) | contractor | resolved |
//! | assigned, accepted, reopened | reject (reason) | contractor | rejected |
//! | resolved | close (verified) | supervisor | closed |
//! | resolved, closed | reopen | supervisor | reopened |
//! | rejected | reassign | system or supervisor | assigned, or unassigned |
//! | assigned, accepted, in_progress, reopened, unassigned | reassign | supervisor | assigned |
//!
//! Contractors accept, start, resolve and reject; supervisors close (after
//! verifying), reopen and reassign; the system reassigns a rejected order by
//! rule. Nothing skips a step, and nothing moves a closed order except a
//! supervisor's reopen. `unassigned` is the supervisors' queue: an order no
//! contract could take waits there until a supervisor assigns it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::events::{Actor, Role};

/// Where a work order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderStatus {
    /// In a contractor's queue, waiting to be accepted.
    Assigned,
    /// The contractor took it on.
    Accepted,
    /// The crew is working on it.
    InProgress,
    /// The contractor says it is fixed (with an after-photo); a supervisor verifies.
    Resolved,
    /// A supervisor verified the fix.
    Closed,
    /// A supervisor found it not fixed; back with the contractor.
    Reopened,
    /// The contractor declined it; it is about to be reassigned.
    Rejected,
    /// In the supervisors' queue: no contract could take it.
    Unassigned,
}

impl WorkOrderStatus {
    /// Every status.
    pub const ALL: [WorkOrderStatus; 8] = [
        Self::Assigned,
        Self::Accepted,
        Self::InProgress,
        Self::Resolved,
        Self::Closed,
        Self::Reopened,
        Self::Rejected,
        Self::Unassigned,
    ];

    /// The slug used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::Accepted => "accepted",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::Reopened => "reopened",
            Self::Rejected => "rejected",
            Self::Unassigned => "unassigned",
        }
    }

    /// Whether the order still awaits its resolution (counts as open work).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Resolved | Self::Closed)
    }
}

impl fmt::Display for WorkOrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for WorkOrderStatus {
    type Err = TransitionError;

    fn from_str(text: &str) -> Result<Self, TransitionError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| TransitionError::UnknownStatus(text.to_string()))
    }
}

/// What someone does to a work order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Accept,
    Start,
    Resolve,
    Close,
    Reopen,
    Reject,
    Reassign,
}

impl Action {
    /// The slug used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Start => "start",
            Self::Resolve => "resolve",
            Self::Close => "close",
            Self::Reopen => "reopen",
            Self::Reject => "reject",
            Self::Reassign => "reassign",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a move was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a closed work order can only be reopened by a supervisor, not {action}")]
    Closed { action: Action },

    #[error("cannot {action} a work order that is {from}")]
    NotAllowed {
        from: WorkOrderStatus,
        action: Action,
    },

    #[error("a {role} cannot {action} a work order; that is for a {allowed}")]
    WrongRole {
        action: Action,
        role: Role,
        allowed: Role,
    },

    #[error("this work order belongs to another contractor")]
    NotYourWorkOrder,

    #[error("{action} needs {what}")]
    Missing { action: Action, what: &'static str },

    #[error("unknown work order status {0:?}")]
    UnknownStatus(String),
}

/// The status after `action` by `actor` on an order that is `current`, or why not.
///
/// Only roles are checked here; that a contractor acts on its own orders is
/// checked by [`super::WorkOrderState::decide`], which knows the assignee.
pub fn transition(
    current: WorkOrderStatus,
    action: Action,
    actor: &Actor,
) -> Result<WorkOrderStatus, TransitionError> {
    use Action as A;
    use WorkOrderStatus as S;

    if current == S::Closed && action != A::Reopen {
        return Err(TransitionError::Closed { action });
    }
    let (next, allowed) = match (current, action) {
        (S::Assigned | S::Reopened, A::Accept) => (S::Accepted, Role::Contractor),
        (S::Accepted, A::Start) => (S::InProgress, Role::Contractor),
        (S::InProgress, A::Resolve) => (S::Resolved, Role::Contractor),
        (S::Assigned | S::Accepted | S::Reopened, A::Reject) => (S::Rejected, Role::Contractor),
        (S::Resolved, A::Close) => (S::Closed, Role::Supervisor),
        (S::Resolved | S::Closed, A::Reopen) => (S::Reopened, Role::Supervisor),
        (S::Rejected, A::Reassign) => return reassign_after_reject(actor),
        (S::Assigned | S::Accepted | S::InProgress | S::Reopened | S::Unassigned, A::Reassign) => {
            (S::Assigned, Role::Supervisor)
        }
        (from, action) => return Err(TransitionError::NotAllowed { from, action }),
    };

    let role = actor.role();
    if role != allowed {
        return Err(TransitionError::WrongRole {
            action,
            role,
            allowed,
        });
    }
    Ok(next)
}

/// A rejected order is reassigned by the system's rule or by a supervisor.
/// The status it lands in (assigned, or unassigned for the supervisors'
/// queue) depends on whether a contractor was found, which the caller
/// knows; here it is `assigned`, and [`super::WorkOrderState`] corrects it.
fn reassign_after_reject(actor: &Actor) -> Result<WorkOrderStatus, TransitionError> {
    match actor.role() {
        Role::System | Role::Supervisor => Ok(WorkOrderStatus::Assigned),
        role => Err(TransitionError::WrongRole {
            action: Action::Reassign,
            role,
            allowed: Role::Supervisor,
        }),
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
