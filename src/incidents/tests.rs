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
    min_photo_similarity: Some(0.5),
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

fn unit(angle: f32) -> Vec<f32> {
    vec![angle.cos(), angle.sin(), 0.0]
}

fn photos_of(report: Option<Vec<f32>>, incidents: &[(i64, Vec<f32>)]) -> PhotoEvidence {
    let mut photos = PhotoEvidence {
        report,
        ..PhotoEvidence::none()
    };
    for (id, embedding) in incidents {
        photos.add(*id, embedding.clone());
    }
    photos
}

#[test]
fn a_dissimilar_photo_does_not_merge_and_the_next_nearest_similar_one_wins() {
    let index = OpenIncidentIndex::from_entries([
        entry(1, 10.0, 50.0001, "2025-01-01T00:00:00Z"),
        entry(2, 10.0, 50.0002, "2025-01-01T00:00:00Z"),
    ]);
    let (point, now) = (Point::new(10.0, 50.0), at("2025-01-01T01:00:00Z"));
    // cos(80°) ≈ 0.17 against the nearest, cos(10°) ≈ 0.98 against the other.
    let photos = photos_of(
        Some(unit(0.0)),
        &[(1, unit(80f32.to_radians())), (2, unit(0.17))],
    );
    let found = index.find_with_photos("pothole", point, now, &RULE, &photos);
    assert_eq!(found.map(|e| e.id), Some(2));

    // Only the dissimilar incident nearby: a new incident.
    let photos = photos_of(Some(unit(0.0)), &[(1, unit(80f32.to_radians()))]);
    let only_one =
        OpenIncidentIndex::from_entries([entry(1, 10.0, 50.0001, "2025-01-01T00:00:00Z")]);
    assert!(
        only_one
            .find_with_photos("pothole", point, now, &RULE, &photos)
            .is_none()
    );
}

#[test]
fn any_similar_photo_of_the_incident_is_enough() {
    let photos = photos_of(
        Some(unit(0.0)),
        &[(1, unit(80f32.to_radians())), (1, unit(0.3))],
    );
    assert!((photos.similarity(1).unwrap() - 0.3f32.cos()).abs() < 1e-6);
    assert!(RULE.photos_agree(&photos, 1));
}

#[test]
fn without_photos_on_either_side_the_position_decides() {
    let index = OpenIncidentIndex::from_entries([entry(1, 10.0, 50.0001, "2025-01-01T00:00:00Z")]);
    let (point, now) = (Point::new(10.0, 50.0), at("2025-01-01T01:00:00Z"));
    // The new report has no photo.
    let no_photo = photos_of(None, &[(1, unit(1.5))]);
    assert_eq!(
        index
            .find_with_photos("pothole", point, now, &RULE, &no_photo)
            .map(|e| e.id),
        Some(1)
    );
    // The incident's reports have none.
    let no_incident_photo = photos_of(Some(unit(0.0)), &[]);
    assert_eq!(no_incident_photo.similarity(1), None);
    assert!(RULE.photos_agree(&no_incident_photo, 1));
    // A rule that ignores photos merges even a dissimilar one.
    let blind = DedupRule {
        min_photo_similarity: None,
        ..RULE
    };
    let dissimilar = photos_of(Some(unit(0.0)), &[(1, unit(1.5))]);
    assert!(!RULE.photos_agree(&dissimilar, 1));
    assert!(blind.photos_agree(&dissimilar, 1));
}

#[test]
fn a_corrected_incident_moves_to_its_new_category() {
    let mut index = OpenIncidentIndex::from_entries([entry(1, 10.0, 50.0, "2025-01-01T00:00:00Z")]);
    let (point, now) = (Point::new(10.0, 50.0), at("2025-01-01T01:00:00Z"));
    index.set_category(1, "graffiti");
    assert!(index.find("pothole", point, now, &RULE).is_none());
    assert_eq!(
        index.find("graffiti", point, now, &RULE).map(|e| e.id),
        Some(1)
    );
    assert_eq!(index.get(1).map(|e| e.category.as_str()), Some("graffiti"));
}

#[test]
fn stored_embeddings_read_back_little_endian() {
    let bytes: Vec<u8> = [1.5f32, -0.25]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(embedding_from_bytes(&bytes), Some(vec![1.5, -0.25]));
    assert_eq!(embedding_from_bytes(&bytes[..5]), None);
}
