use super::*;

const ACTIONS: [Action; 7] = [
    Action::Accept,
    Action::Start,
    Action::Resolve,
    Action::Close,
    Action::Reopen,
    Action::Reject,
    Action::Reassign,
];

fn actors() -> [Actor; 4] {
    [
        Actor::Citizen,
        Actor::contractor("acme"),
        Actor::supervisor("sam"),
        Actor::System,
    ]
}

/// Every allowed move, written out independently of `transition`'s match.
fn allowed(from: WorkOrderStatus, action: Action, role: Role) -> Option<WorkOrderStatus> {
    use Action as A;
    use Role as R;
    use WorkOrderStatus as S;
    let moves = [
        (S::Assigned, A::Accept, R::Contractor, S::Accepted),
        (S::Reopened, A::Accept, R::Contractor, S::Accepted),
        (S::Accepted, A::Start, R::Contractor, S::InProgress),
        (S::InProgress, A::Resolve, R::Contractor, S::Resolved),
        (S::Assigned, A::Reject, R::Contractor, S::Rejected),
        (S::Accepted, A::Reject, R::Contractor, S::Rejected),
        (S::Reopened, A::Reject, R::Contractor, S::Rejected),
        (S::Resolved, A::Close, R::Supervisor, S::Closed),
        (S::Resolved, A::Reopen, R::Supervisor, S::Reopened),
        (S::Closed, A::Reopen, R::Supervisor, S::Reopened),
        (S::Rejected, A::Reassign, R::System, S::Assigned),
        (S::Rejected, A::Reassign, R::Supervisor, S::Assigned),
        (S::Assigned, A::Reassign, R::Supervisor, S::Assigned),
        (S::Accepted, A::Reassign, R::Supervisor, S::Assigned),
        (S::InProgress, A::Reassign, R::Supervisor, S::Assigned),
        (S::Reopened, A::Reassign, R::Supervisor, S::Assigned),
        (S::Unassigned, A::Reassign, R::Supervisor, S::Assigned),
    ];
    moves
        .into_iter()
        .find(|(f, a, r, _)| (*f, *a, *r) == (from, action, role))
        .map(|(_, _, _, to)| to)
}

#[test]
fn every_move_is_checked_against_the_table() {
    let mut refused = 0;
    for from in WorkOrderStatus::ALL {
        for action in ACTIONS {
            for actor in actors() {
                let got = transition(from, action, &actor);
                match allowed(from, action, actor.role()) {
                    Some(to) => assert_eq!(got, Ok(to), "{from} {action} by {}", actor.role()),
                    None => {
                        assert!(
                            got.is_err(),
                            "{from} {action} by {} was allowed",
                            actor.role()
                        );
                        refused += 1;
                    }
                }
            }
        }
    }
    assert_eq!(refused, 8 * 7 * 4 - 17);
}

#[test]
fn a_closed_order_only_reopens() {
    for action in ACTIONS.into_iter().filter(|a| *a != Action::Reopen) {
        for actor in actors() {
            let error = transition(WorkOrderStatus::Closed, action, &actor).unwrap_err();
            assert_eq!(error, TransitionError::Closed { action });
        }
    }
    let contractor_reopen = transition(
        WorkOrderStatus::Closed,
        Action::Reopen,
        &Actor::contractor("acme"),
    );
    assert!(matches!(
        contractor_reopen,
        Err(TransitionError::WrongRole { .. })
    ));
}

#[test]
fn skipping_a_step_says_which() {
    let error = transition(
        WorkOrderStatus::Assigned,
        Action::Resolve,
        &Actor::contractor("acme"),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot resolve a work order that is assigned"
    );

    let error = transition(
        WorkOrderStatus::Resolved,
        Action::Close,
        &Actor::contractor("acme"),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "a contractor cannot close a work order; that is for a supervisor"
    );
}

#[test]
fn statuses_parse_back() {
    for status in WorkOrderStatus::ALL {
        assert_eq!(status.as_str().parse::<WorkOrderStatus>().unwrap(), status);
    }
    assert!("done".parse::<WorkOrderStatus>().is_err());
}
