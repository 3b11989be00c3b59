//! Which deadlines have passed without the step they required.
//!
//! Open deadlines are kept ordered by due instant, so that a scan at "now"
//! touches only the deadlines that are due (plus one look at the next), not
//! every open work order: with a million open orders and a handful due, a scan
//! costs a handful of tree steps. The database does the same with an index on
//! the due instant of unbreached deadlines; this in-memory schedule is the
//! pure form of the rule, and what replay and the benches use.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Which of a work order's two deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// The contractor must accept by then.
    Response,
    /// The work order must be resolved by then.
    Resolution,
}

impl DeadlineKind {
    /// The slug used in events and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Response => "response",
            Self::Resolution => "resolution",
        }
    }
}

/// A deadline that has passed: the work order, which deadline, and when it fell due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueBreach {
    pub work_order_id: i64,
    pub kind: DeadlineKind,
    pub due_at: Timestamp,
}

/// Open deadlines ordered by due instant.
#[derive(Clone, Debug, Default)]
pub struct BreachSchedule {
    by_due: BTreeSet<(Timestamp, i64, DeadlineKind)>,
    due_of: HashMap<(i64, DeadlineKind), Timestamp>,
}

impl BreachSchedule {
    /// An empty schedule.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of deadlines still watched.
    pub fn len(&self) -> usize {
        self.by_due.len()
    }

    /// Whether nothing is watched.
    pub fn is_empty(&self) -> bool {
        self.by_due.is_empty()
    }

    /// Starts watching a deadline; a work order's deadline of the same kind
    /// given again replaces the earlier one.
    pub fn watch(&mut self, work_order_id: i64, kind: DeadlineKind, due_at: Timestamp) {
        if let Some(previous) = self.due_of.insert((work_order_id, kind), due_at) {
            self.by_due.remove(&(previous, work_order_id, kind));
        }
        self.by_due.insert((due_at, work_order_id, kind));
    }

    /// Stops watching a deadline because its step happened (accepted,
    /// resolved) or the order left the queue. Returns whether it was watched.
    pub fn settle(&mut self, work_order_id: i64, kind: DeadlineKind) -> bool {
        match self.due_of.remove(&(work_order_id, kind)) {
            Some(due_at) => self.by_due.remove(&(due_at, work_order_id, kind)),
            None => false,
        }
    }

    /// The earliest deadline still watched, to know how long nothing can breach.
    pub fn next_due_at(&self) -> Option<Timestamp> {
        self.by_due.first().map(|(due_at, _, _)| *due_at)
    }

    /// Removes and returns every deadline strictly before `now`, earliest
    /// first. Each is returned once: a second scan will not see it again.
    pub fn take_due(&mut self, now: Timestamp) -> Vec<DueBreach> {
        let mut due = Vec::new();
        while let Some(&(due_at, work_order_id, kind)) = self.by_due.first() {
            if due_at >= now {
                break;
            }
            self.by_due.pop_first();
            self.due_of.remove(&(work_order_id, kind));
            due.push(DueBreach {
                work_order_id,
                kind,
                due_at,
            });
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use jiff::SignedDuration;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn only_passed_deadlines_are_due_and_each_once() {
        let clock = ManualClock::new(at("2025-06-01T08:00:00Z"));
        let mut schedule = BreachSchedule::new();
        schedule.watch(1, DeadlineKind::Response, at("2025-06-01T09:00:00Z"));
        schedule.watch(2, DeadlineKind::Response, at("2025-06-01T10:00:00Z"));
        schedule.watch(1, DeadlineKind::Resolution, at("2025-06-02T09:00:00Z"));

        assert!(schedule.take_due(clock.now()).is_empty());

        clock.advance(SignedDuration::from_mins(90));
        let due = schedule.take_due(clock.now());
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].work_order_id, due[0].kind),
            (1, DeadlineKind::Response)
        );
        assert!(schedule.take_due(clock.now()).is_empty(), "raised twice");

        assert_eq!(schedule.next_due_at(), Some(at("2025-06-01T10:00:00Z")));
        assert_eq!(schedule.len(), 2);
    }

    #[test]
    fn a_deadline_exactly_now_is_not_yet_breached() {
        let mut schedule = BreachSchedule::new();
        schedule.watch(7, DeadlineKind::Resolution, at("2025-06-01T09:00:00Z"));
        assert!(schedule.take_due(at("2025-06-01T09:00:00Z")).is_empty());
        assert_eq!(schedule.take_due(at("2025-06-01T09:00:01Z")).len(), 1);
    }

    #[test]
    fn settled_and_replaced_deadlines_do_not_breach() {
        let mut schedule = BreachSchedule::new();
        schedule.watch(3, DeadlineKind::Response, at("2025-06-01T09:00:00Z"));
        schedule.watch(4, DeadlineKind::Response, at("2025-06-01T09:00:00Z"));
        assert!(schedule.settle(3, DeadlineKind::Response));
        assert!(!schedule.settle(3, DeadlineKind::Response));

        schedule.watch(4, DeadlineKind::Response, at("2025-06-03T09:00:00Z"));
        assert!(schedule.take_due(at("2025-06-02T00:00:00Z")).is_empty());
        assert_eq!(schedule.len(), 1);
    }
}
