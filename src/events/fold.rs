//! Rebuilding a work order's state from its events.

use jiff::Timestamp;

use super::Event;
use crate::dispatch::{TransitionError, WorkOrderState};
use crate::sla::DeadlineKind;

/// Why a log does not fold into a valid state: it was not written by the
/// lifecycle's rules, so it is reported rather than papered over.
#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    #[error("the first event of a work order must be work_order_assigned, not {event_type}")]
    NotCreated { event_type: &'static str },

    #[error("work_order_assigned appears twice for one work order")]
    AlreadyCreated,

    #[error("event at {at} breaks the lifecycle: {source}")]
    Transition {
        at: Timestamp,
        #[source]
        source: TransitionError,
    },

    #[error("the {} deadline is recorded as breached twice", deadline.as_str())]
    DuplicateBreach { deadline: DeadlineKind },

    #[error("events are out of order: one at {at} follows one at {previous}")]
    OutOfOrder { previous: Timestamp, at: Timestamp },
}

/// The current state of work order `work_order_id` from the events of the
/// log, in the order they were appended; events about anything else are
/// skipped. `None` when the log never created it.
pub fn fold_work_order(
    work_order_id: i64,
    events: &[Event],
) -> Result<Option<WorkOrderState>, FoldError> {
    let mut state: Option<WorkOrderState> = None;
    let mut previous_at: Option<Timestamp> = None;

    for event in events
        .iter()
        .filter(|e| e.kind.work_order_id() == Some(work_order_id))
    {
        if let Some(previous) = previous_at.filter(|previous| event.at < *previous) {
            return Err(FoldError::OutOfOrder {
                previous,
                at: event.at,
            });
        }
        previous_at = Some(event.at);

        match state.as_mut() {
            Some(current) => current.apply(event)?,
            None => state = Some(WorkOrderState::created(event)?),
        }
    }
    Ok(state)
}
