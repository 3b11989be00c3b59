use geo::Point;
use jiff::Timestamp;

use super::*;
use crate::setup::PlaceholderSpec;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn entry(id: i64, lon: f64, lat: f64, last: &str) -> IncidentEntry {
    IncidentEntry {
        id,
        category: "pothole".into(),
        position: Point::new(lon, lat),
        opened_at_ms: at(last).as_millisecond(),
        last_report_at_ms: at(last).as_millisecond(),
        closed_at_ms: None,
        placeholder: false,
        report_count: 1,
    }
}

const RULE: DedupRule = DedupRule {
    radius_m: 30.0,
    window_s: 7 * 86_400,
};

#[test]
fn the_same_coordinate_twice_matches_at_distance_zero() {
    let point = Point::new(-71.0587, 42.3594);
    assert_eq!(haversine_m(point, point), 0.0);
    let index =
        OpenIncidentIndex::from_entries([entry(1, -71.0587, 42.3594, "2025-01-01T00:00:00Z")]);
    let found = index.find("pothole", point, at("2025-01-02T00:00:00Z"), &RULE);
    assert_eq!(found.map(|e| e.id), Some(1));
}

#[test]
fn the_radius_is_haversine_metres() {
    // 0.0003° of latitude is about 33.4 m: outside a 30 m radius, inside 35 m.
    let index = OpenIncidentIndex::from_entries([entry(1, 10.0, 50.0, "2025-01-01T00:00:00Z")]);
    let point = Point::new(10.0, 50.0003);
    let now = at("2025-01-01T01:00:00Z");
    assert!(index.find("pothole", point, now, &RULE).is_none());
    let wider = DedupRule {
        radius_m: 35.0,
        ..RULE
    };
    assert!(index.find("pothole", point, now, &wider).is_some());
}

#[test]
fn the_nearest_open_incident_wins_then_the_lower_id() {
    let index = OpenIncidentIndex::from_entries([
        entry(3, 10.0, 50.0001, "2025-01-01T00:00:00Z"),
        entry(2, 10.0, 50.0002, "2025-01-01T00:00:00Z"),
        entry(1, 10.0, 50.0001, "2025-01-01T00:00:00Z"),
    ]);
    let found = index.find(
        "pothole",
        Point::new(10.0, 50.0),
        at("2025-01-01T01:00:00Z"),
        &RULE,
    );
    assert_eq!(found.map(|e| e.id), Some(1));
}

#[test]
fn old_closed_and_other_category_incidents_do_not_absorb() {
    let mut closed = entry(1, 10.0, 50.0, "2025-01-01T00:00:00Z");
    closed.closed_at_ms = Some(at("2025-01-01T12:00:00Z").as_millisecond());
    let mut graffiti = entry(2, 10.0, 50.0, "2025-01-01T00:00:00Z");
    graffiti.category = "graffiti".into();
    let old = entry(3, 10.0, 50.0, "2024-12-01T00:00:00Z");
    let index = OpenIncidentIndex::from_entries([closed, graffiti, old]);

    let point = Point::new(10.0, 50.0);
    assert!(
        index
            .find("pothole", point, at("2025-01-02T00:00:00Z"), &RULE)
            .is_none()
    );
    // Before it was closed, the first one was open and recent.
    let found = index.find("pothole", point, at("2025-01-01T06:00:00Z"), &RULE);
    assert_eq!(found.map(|e| e.id), Some(1));
}

#[test]
fn placeholders_never_absorb() {
    let mut placeholder = entry(1, 10.0, 50.0, "2025-01-01T00:00:00Z");
    placeholder.placeholder = true;
    let index = OpenIncidentIndex::from_entries([placeholder]);
    assert!(
        index
            .find(
                "pothole",
                Point::new(10.0, 50.0),
                at("2025-01-01T01:00:00Z"),
                &RULE
            )
            .is_none()
    );
}

#[test]
fn purge_drops_only_long_closed_incidents() {
    let mut closed = entry(1, 10.0, 50.0, "2025-01-01T00:00:00Z");
    closed.closed_at_ms = Some(at("2025-01-02T00:00:00Z").as_millisecond());
    let mut index =
        OpenIncidentIndex::from_entries([closed, entry(2, 10.0, 50.0, "2025-01-01T00:00:00Z")]);
    assert_eq!(index.purge_closed(at("2025-02-01T00:00:00Z")), 1);
    assert_eq!(index.len(), 1);
    assert!(index.get(2).is_some());
}

#[test]
fn priority_rises_one_step_at_the_threshold() {
    use crate::sla::Priority;
    assert_eq!(priority_for(Priority::Normal, Some(5), 4), Priority::Normal);
    assert_eq!(priority_for(Priority::Normal, Some(5), 5), Priority::High);
    assert_eq!(priority_for(Priority::Urgent, Some(1), 9), Priority::Urgent);
    assert_eq!(priority_for(Priority::Low, None, 1000), Priority::Low);
}

#[test]
fn a_known_placeholder_is_hit_within_its_radius() {
    let mut detector = PlaceholderDetector::new(vec![PlaceholderSpec {
        name: "City Hall".into(),
        lat: 42.3594,
        lon: -71.0587,
        radius_m: 5.0,
    }]);
    let hit = detector.observe(Point::new(-71.0587, 42.3594), "pothole");
    assert_eq!(
        hit,
        Some(PlaceholderHit::Known {
            name: "City Hall".into()
        })
    );
    assert_eq!(
        detector.observe(Point::new(-71.0600, 42.3594), "pothole"),
        None
    );
}

#[test]
fn an_exact_coordinate_with_many_categories_is_detected() {
    let mut detector = PlaceholderDetector::new(Vec::new());
    let point = Point::new(46.7, 24.7);
    let mut hits = 0;
    for n in 0..200 {
        let category = format!("c{}", n % 10);
        if detector.observe(point, &category).is_some() {
            hits += 1;
        }
    }
    assert!(hits > 100, "detected after enough reports: {hits}");
    assert_eq!(detector.detected(), vec![point]);

    // Many reports of one category at one spot are a real, busy incident.
    let mut detector = PlaceholderDetector::new(Vec::new());
    for _ in 0..200 {
        assert!(detector.observe(point, "pothole").is_none());
    }
}
