//! The live path (decide, then apply) and the replay of its log agree.

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::events::{Actor, Event, EventKind, FoldError, fold_work_order};
use crate::sla::DeadlineKind;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn assigned(work_order_id: i64, contractor: Option<&str>, when: Timestamp) -> Event {
    Event {
        at: when,
        actor: Actor::System,
        kind: EventKind::WorkOrderAssigned {
            work_order_id,
            incident_id: 100 + work_order_id,
            contractor: contractor.map(str::to_string),
            response_due_at: Some(at("2025-06-02T09:00:00Z")),
            resolution_due_at: Some(at("2025-06-05T09:00:00Z")),
        },
    }
}

/// Runs commands through the live path, keeping the log it writes.
struct Live {
    state: WorkOrderState,
    log: Vec<Event>,
    clock: ManualClock,
}

impl Live {
    fn new(contractor: Option<&str>) -> Self {
        let clock = ManualClock::new(at("2025-06-01T08:00:00Z"));
        let first = assigned(1, contractor, clock.now());
        Self {
            state: WorkOrderState::created(&first).unwrap(),
            log: vec![first],
            clock,
        }
    }

    fn run(&mut self, command: Command, actor: &Actor) -> Result<(), TransitionError> {
        self.clock.advance(SignedDuration::from_mins(30));
        let event = self.state.decide(command, actor, self.clock.now())?;
        self.state.apply(&event).unwrap();
        self.log.push(event);
        Ok(())
    }

    fn record(&mut self, kind: EventKind) {
        let event = Event {
            at: self.clock.now(),
            actor: Actor::System,
            kind,
        };
        self.state.apply(&event).unwrap();
        self.log.push(event);
    }
}

#[test]
fn replaying_the_log_gives_the_same_state() {
    let acme = Actor::contractor("acme");
    let bolt = Actor::contractor("bolt");
    let sam = Actor::supervisor("sam");
    let mut live = Live::new(Some("acme"));

    let reason = |text: &str| text.to_string();
    live.run(
        Command::Reject {
            reason: reason("no crew this week"),
        },
        &acme,
    )
    .unwrap();
    live.run(
        Command::Reassign {
            contractor: Some("bolt".into()),
        },
        &Actor::System,
    )
    .unwrap();
    live.run(Command::Accept, &bolt).unwrap();
    live.record(EventKind::DeadlineBreached {
        work_order_id: 1,
        deadline: DeadlineKind::Resolution,
        due_at: at("2025-06-05T09:00:00Z"),
    });
    live.record(EventKind::Escalated {
        work_order_id: 1,
        deadline: DeadlineKind::Resolution,
        webhook: true,
    });
    live.run(Command::Start, &bolt).unwrap();
    let photo = Command::Resolve {
        after_photo: "ab12".into(),
        problem_still_visible: Some(true),
    };
    live.run(photo, &bolt).unwrap();
    live.run(
        Command::Reopen {
            reason: reason("still there"),
        },
        &sam,
    )
    .unwrap();
    live.run(Command::Start, &bolt).unwrap_err();
    live.run(Command::Accept, &bolt).unwrap();
    live.run(Command::Start, &bolt).unwrap();
    let photo = Command::Resolve {
        after_photo: "cd34".into(),
        problem_still_visible: Some(false),
    };
    live.run(photo, &bolt).unwrap();
    live.run(Command::Close, &sam).unwrap();

    let mut with_noise = live.log.clone();
    with_noise.insert(2, assigned(2, Some("crew"), at("2025-06-01T08:45:00Z")));
    let replayed = fold_work_order(1, &with_noise).unwrap().unwrap();
    assert_eq!(replayed, live.state);

    assert_eq!(replayed.status, WorkOrderStatus::Closed);
    assert_eq!(replayed.contractor.as_deref(), Some("bolt"));
    assert_eq!(replayed.reopen_count, 1);
    assert_eq!(replayed.after_photo.as_deref(), Some("cd34"));
    assert_eq!(replayed.problem_still_visible, Some(false));
    assert_eq!(replayed.escalation_count, 1);
    assert!(replayed.resolution_breached_at.is_some());
    assert!(!replayed.awaits(DeadlineKind::Resolution));
}

#[test]
fn another_contractors_token_is_refused() {
    let mut live = Live::new(Some("acme"));
    let error = live
        .run(Command::Accept, &Actor::contractor("bolt"))
        .unwrap_err();
    assert_eq!(error, TransitionError::NotYourWorkOrder);
    assert_eq!(live.state.status, WorkOrderStatus::Assigned);
}

#[test]
fn reject_and_reopen_need_a_reason_and_resolve_a_photo() {
    let acme = Actor::contractor("acme");
    let mut live = Live::new(Some("acme"));
    let error = live
        .run(
            Command::Reject {
                reason: "  ".into(),
            },
            &acme,
        )
        .unwrap_err();
    assert!(matches!(
        error,
        TransitionError::Missing {
            action: Action::Reject,
            ..
        }
    ));

    live.run(Command::Accept, &acme).unwrap();
    live.run(Command::Start, &acme).unwrap();
    let no_photo = Command::Resolve {
        after_photo: String::new(),
        problem_still_visible: None,
    };
    assert!(matches!(
        live.run(no_photo, &acme),
        Err(TransitionError::Missing { .. })
    ));
}

#[test]
fn a_rejected_order_with_no_other_contract_waits_for_the_supervisors() {
    let acme = Actor::contractor("acme");
    let mut live = Live::new(Some("acme"));
    live.run(
        Command::Reject {
            reason: "not ours".into(),
        },
        &acme,
    )
    .unwrap();
    assert_eq!(live.state.status, WorkOrderStatus::Rejected);

    live.run(Command::Reassign { contractor: None }, &Actor::System)
        .unwrap();
    assert_eq!(live.state.status, WorkOrderStatus::Unassigned);
    assert_eq!(live.state.contractor, None);
    assert!(
        live.run(Command::Accept, &acme).is_err(),
        "no longer acme's"
    );

    let sam = Actor::supervisor("sam");
    live.run(
        Command::Reassign {
            contractor: Some("crew".into()),
        },
        &sam,
    )
    .unwrap();
    assert_eq!(live.state.status, WorkOrderStatus::Assigned);
    assert_eq!(fold_work_order(1, &live.log).unwrap().unwrap(), live.state);
}

#[test]
fn a_broken_log_is_reported_not_folded() {
    let when = at("2025-06-01T08:00:00Z");
    let accept = Event {
        at: when,
        actor: Actor::contractor("acme"),
        kind: EventKind::WorkOrderAccepted { work_order_id: 1 },
    };
    let breach = Event {
        at: when,
        actor: Actor::System,
        kind: EventKind::DeadlineBreached {
            work_order_id: 1,
            deadline: DeadlineKind::Response,
            due_at: when,
        },
    };

    let no_creation = fold_work_order(1, std::slice::from_ref(&accept));
    assert!(matches!(no_creation, Err(FoldError::NotCreated { .. })));

    let skipped = [
        assigned(1, Some("acme"), when),
        Event {
            kind: EventKind::WorkOrderClosed { work_order_id: 1 },
            actor: Actor::supervisor("sam"),
            at: when,
        },
    ];
    assert!(matches!(
        fold_work_order(1, &skipped),
        Err(FoldError::Transition { .. })
    ));

    let twice = [assigned(1, Some("acme"), when), breach.clone(), breach];
    assert!(matches!(
        fold_work_order(1, &twice),
        Err(FoldError::DuplicateBreach { .. })
    ));

    let backwards = [
        assigned(1, Some("acme"), when),
        Event {
            at: at("2025-05-01T00:00:00Z"),
            ..accept
        },
    ];
    assert!(matches!(
        fold_work_order(1, &backwards),
        Err(FoldError::OutOfOrder { .. })
    ));

    assert_eq!(fold_work_order(9, &twice[..1]).unwrap(), None);
}

#[test]
fn the_next_deadline_follows_the_step_awaited_and_overdue_lasts_until_resolved() {
    let acme = Actor::contractor("acme");
    let mut live = Live::new(Some("acme"));
    assert_eq!(live.state.next_due_at(), Some(at("2025-06-02T09:00:00Z")));

    live.record(EventKind::DeadlineBreached {
        work_order_id: 1,
        deadline: DeadlineKind::Response,
        due_at: at("2025-06-02T09:00:00Z"),
    });
    assert!(live.state.is_overdue());
    assert!(!live.state.awaits(DeadlineKind::Response));

    live.run(Command::Accept, &acme).unwrap();
    live.run(Command::Start, &acme).unwrap();
    assert_eq!(live.state.next_due_at(), Some(at("2025-06-05T09:00:00Z")));
    live.run(
        Command::Resolve {
            after_photo: "ab".repeat(32),
            problem_still_visible: Some(true),
        },
        &acme,
    )
    .unwrap();
    assert_eq!(live.state.next_due_at(), None);
    assert!(
        !live.state.is_overdue(),
        "resolved is off the overdue queue"
    );
    assert!(!live.state.awaits(DeadlineKind::Resolution));

    let supervisor = Actor::supervisor("token-1");
    let reason = "still there".to_string();
    live.run(Command::Reopen { reason }, &supervisor).unwrap();
    assert_eq!(
        live.state.resolved_at, None,
        "a reopened order is unresolved"
    );
    assert!(live.state.awaits(DeadlineKind::Resolution));
    assert!(live.state.is_overdue());
}
