use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn candidate(contract_id: i64, contractor: &str, open: u32, capacity: u32) -> Candidate<'_> {
    Candidate {
        contract_id,
        contractor,
        open_work_orders: open,
        capacity,
    }
}

fn contract(id: i64, contractor: &str, categories: &[&str], capacity: u32) -> Contract {
    Contract {
        id,
        contractor: contractor.into(),
        jurisdiction_id: 10,
        categories: categories.iter().map(|c| c.to_string()).collect(),
        valid_from: at("2025-01-01T00:00:00Z"),
        valid_until: Some(at("2026-01-01T00:00:00Z")),
        capacity,
    }
}

#[test]
fn fewest_open_work_orders_wins() {
    let chosen = choose_contract([
        candidate(1, "acme", 5, 10),
        candidate(2, "bolt", 2, 10),
        candidate(3, "crew", 3, 10),
    ]);
    assert_eq!(chosen.map(|c| c.contract_id), Some(2));
}

#[test]
fn over_capacity_is_skipped_and_all_full_means_supervisors() {
    let chosen = choose_contract([candidate(1, "acme", 4, 4), candidate(2, "bolt", 9, 20)]);
    assert_eq!(chosen.map(|c| c.contract_id), Some(2));

    assert_eq!(
        choose_contract([candidate(1, "acme", 4, 4), candidate(2, "bolt", 30, 20)]),
        None
    );
    assert_eq!(choose_contract(Vec::new()), None);
}

#[test]
fn ties_are_broken_the_same_whatever_the_order() {
    let tied = [
        candidate(7, "crew", 3, 10),
        candidate(4, "bolt", 3, 10),
        candidate(9, "bolt", 3, 10),
        candidate(2, "acme", 3, 5),
    ];
    // Same open count: more spare capacity first (not acme), then the slug
    // (bolt before crew), then the lower contract id (4 before 9).
    let mut reversed = tied;
    reversed.reverse();
    for order in [tied, reversed] {
        assert_eq!(choose_contract(order).map(|c| c.contract_id), Some(4));
    }
}

#[test]
fn book_spreads_load_and_respects_validity_and_capacity() {
    let mut book = ContractBook::new(vec![
        contract(1, "acme", &["pothole"], 2),
        contract(2, "bolt", &["pothole", "graffiti"], 1),
    ]);
    let june = at("2025-06-01T12:00:00Z");
    let taken: Vec<Assignment> = (0..4)
        .map(|_| book.assign(10, "pothole", june, &[]))
        .collect();

    let to = |id: i64, slug: &str| Assignment::Contract {
        contract_id: id,
        contractor: slug.into(),
    };
    assert_eq!(
        taken[0],
        to(1, "acme"),
        "tie at zero open: acme has more spare capacity"
    );
    assert_eq!(taken[1], to(2, "bolt"));
    assert_eq!(taken[2], to(1, "acme"));
    let full = Assignment::Supervisors {
        reason: UnassignedReason::AtCapacity,
    };
    assert_eq!(taken[3], full);

    book.release(2);
    assert_eq!(book.open_work_orders(2), Some(0));
    assert_eq!(
        book.assign(10, "pothole", june, &["bolt"]),
        full,
        "bolt excluded, acme full"
    );
    assert_eq!(book.assign(10, "pothole", june, &[]), to(2, "bolt"));

    let none = Assignment::Supervisors {
        reason: UnassignedReason::NoContract,
    };
    assert_eq!(book.assign(10, "tree", june, &[]), none);
    assert_eq!(book.assign(11, "pothole", june, &[]), none);
    assert_eq!(
        book.assign(10, "graffiti", at("2026-02-01T00:00:00Z"), &[]),
        none,
        "expired"
    );
}
