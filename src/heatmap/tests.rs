use geo::Point;
use h3o::{CellIndex, Resolution};
use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

const CATEGORIES: [&str; 3] = ["pothole", "graffiti", "garbage"];
const STATUSES: [&str; 2] = ["open", "closed"];

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Records scattered over Boston with varied attributes, reproducible.
fn boston_records(count: usize, seed: u64) -> Vec<HeatRecord> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = at("2025-01-01T00:00:00Z").as_second();
    (0..count)
        .map(|i| HeatRecord {
            id: i as i64,
            position: Point::new(
                rng.random_range(-71.19..-70.99),
                rng.random_range(42.23..42.40),
            ),
            category: CATEGORIES[rng.random_range(0..3)].to_owned(),
            status: STATUSES[rng.random_range(0..2)].to_owned(),
            jurisdiction_id: (i % 5 != 0).then_some((i % 3) as i64),
            created_at: Timestamp::from_second(start + rng.random_range(0..86_400 * 365)).unwrap(),
        })
        .collect()
}

fn record_at(id: i64, lon: f64, lat: f64) -> HeatRecord {
    HeatRecord {
        id,
        position: Point::new(lon, lat),
        category: "pothole".into(),
        status: "open".into(),
        jurisdiction_id: Some(1),
        created_at: at("2025-06-01T12:00:00Z"),
    }
}

/// Cell ids computed offline with h3-py 4.5.0 (`h3.latlng_to_cell(lat, lng, res)`),
/// copied here as literals so that h3o and the index are checked against the
/// reference implementation.
#[test]
fn cells_match_h3_reference_values() {
    let known = [
        // Boston City Hall, Boston's own placeholder position.
        (
            -71.0587,
            42.3594,
            [
                (8, "882a306603fffff"),
                (9, "892a3066027ffff"),
                (15, "8f2a3066026471a"),
            ],
        ),
        // Eiffel Tower.
        (
            2.2945,
            48.8584,
            [
                (8, "881fb46741fffff"),
                (9, "891fb46741bffff"),
                (15, "8f1fb46741a12d5"),
            ],
        ),
        // Sydney Opera House (southern and eastern hemispheres).
        (
            151.2153,
            -33.8568,
            [
                (0, "80bffffffffffff"),
                (5, "85be0e37fffffff"),
                (8, "88be0e35c1fffff"),
            ],
        ),
        // Null Island.
        (
            0.0,
            0.0,
            [
                (0, "8075fffffffffff"),
                (8, "88754e6499fffff"),
                (12, "8c754e649929dff"),
            ],
        ),
    ];

    for (place, (lon, lat, expected)) in known.into_iter().enumerate() {
        let index = HeatIndex::build([record_at(place as i64, lon, lat)]).unwrap();
        for (level, cell_id) in expected {
            let resolution = Resolution::try_from(level).unwrap();
            let expected_cell: CellIndex = cell_id.parse().unwrap();

            let direct = aggregate_positions(&[Point::new(lon, lat)], resolution).unwrap();
            assert_eq!(
                direct.cells[0].cell, expected_cell,
                "direct {lon},{lat} res {level}"
            );

            let indexed = index.aggregate(resolution, &HeatFilter::default()).unwrap();
            assert_eq!(
                indexed.cells,
                vec![CellCount {
                    cell: expected_cell,
                    count: 1
                }]
            );
        }
    }
}

/// Why the index keeps exact cells per resolution: h3-py puts Null Island in
/// `8c754e649929dff` at resolution 12, but the resolution-12 ancestor of its
/// resolution-15 cell is a neighbour, because H3 children do not nest exactly.
#[test]
fn parent_of_a_fine_cell_is_not_always_the_containing_cell() {
    let fine = h3o::LatLng::new(0.0, 0.0)
        .unwrap()
        .to_cell(Resolution::Fifteen);
    let parent = fine.parent(Resolution::Twelve).unwrap();
    assert_ne!(parent.to_string(), "8c754e649929dff");
}

#[test]
fn index_equals_direct_computation_at_every_resolution() {
    let records = boston_records(5_000, 7);
    let positions: Vec<Point<f64>> = records.iter().map(|record| record.position).collect();
    let index = HeatIndex::build(records).unwrap();

    for level in 0..=15u8 {
        let resolution = Resolution::try_from(level).unwrap();
        let indexed = index.aggregate(resolution, &HeatFilter::default()).unwrap();
        let direct = aggregate_positions(&positions, resolution).unwrap();

        assert_eq!(indexed, direct, "resolution {level}");
        assert_eq!(indexed.total, 5_000);
    }
}

#[test]
fn filters_count_exactly_the_matching_records() {
    let records = boston_records(20_000, 11);
    let index = HeatIndex::build(records.clone()).unwrap();
    let bbox = Bbox::new(-71.10, 42.30, -71.03, 42.36).unwrap();
    let (from, to) = (at("2025-03-01T00:00:00Z"), at("2025-07-01T00:00:00Z"));

    let filter = HeatFilter {
        bbox: Some(bbox),
        categories: Some(vec!["pothole".into(), "garbage".into()]),
        statuses: Some(vec!["open".into()]),
        jurisdiction_id: Some(1),
        from: Some(from),
        to: Some(to),
    };
    let expected: Vec<Point<f64>> = records
        .iter()
        .filter(|r| bbox.contains(r.position.x(), r.position.y()))
        .filter(|r| r.category != "graffiti" && r.status == "open")
        .filter(|r| r.jurisdiction_id == Some(1))
        .filter(|r| r.created_at >= from && r.created_at < to)
        .map(|r| r.position)
        .collect();
    assert!(expected.len() > 20, "the filter should keep a fair sample");

    let heatmap = index.aggregate(Resolution::Nine, &filter).unwrap();
    assert_eq!(
        heatmap,
        aggregate_positions(&expected, Resolution::Nine).unwrap()
    );
}

#[test]
fn unknown_filter_values_and_empty_boxes_give_empty_heatmaps() {
    let index = HeatIndex::build(boston_records(500, 3)).unwrap();

    let unknown = HeatFilter {
        categories: Some(vec!["volcano".into()]),
        ..HeatFilter::default()
    };
    assert!(
        index
            .aggregate(Resolution::Eight, &unknown)
            .unwrap()
            .cells
            .is_empty()
    );

    let far_away = HeatFilter {
        bbox: Some(Bbox::new(10.0, 10.0, 11.0, 11.0).unwrap()),
        ..HeatFilter::default()
    };
    let heatmap = index.aggregate(Resolution::Eight, &far_away).unwrap();
    assert_eq!(heatmap.total, 0);
    assert!(heatmap.to_feature_collection().features.is_empty());

    let empty = HeatIndex::build(Vec::new()).unwrap();
    assert!(empty.is_empty());
    assert_eq!(
        empty
            .aggregate(Resolution::Eight, &HeatFilter::default())
            .unwrap()
            .total,
        0
    );
}

#[test]
fn insert_and_status_changes_match_a_rebuild() {
    let records = boston_records(1_000, 5);
    let (first, rest) = records.split_at(600);
    let mut index = HeatIndex::build(first.to_vec()).unwrap();
    for record in rest {
        index.insert(record).unwrap();
    }
    assert!(index.set_status(10, "closed").unwrap());
    assert!(!index.set_status(99_999, "closed").unwrap());

    let mut expected = records.clone();
    expected[10].status = "closed".into();
    let rebuilt = HeatIndex::build(expected).unwrap();

    let closed = HeatFilter {
        statuses: Some(vec!["closed".into()]),
        ..HeatFilter::default()
    };
    for resolution in [Resolution::Seven, Resolution::Ten] {
        assert_eq!(
            index.aggregate(resolution, &closed).unwrap(),
            rebuilt.aggregate(resolution, &closed).unwrap()
        );
    }
}

#[test]
fn bad_input_is_rejected_with_the_reason() {
    let error = HeatIndex::build([record_at(42, -200.0, 10.0)]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid position for record 42: lon -200 lat 10 is not a WGS84 position"
            .replace("lon -200 lat", "lon -200, lat")
    );

    let mut index = HeatIndex::build([record_at(1, -71.0, 42.3)]).unwrap();
    assert!(index.insert(&record_at(2, f64::NAN, 42.3)).is_err());
    assert_eq!(
        index.len(),
        1,
        "a rejected record leaves the index as it was"
    );

    let backwards = HeatFilter {
        from: Some(at("2025-02-01T00:00:00Z")),
        to: Some(at("2025-01-01T00:00:00Z")),
        ..HeatFilter::default()
    };
    assert!(matches!(
        index.aggregate(Resolution::Eight, &backwards),
        Err(HeatmapError::InvalidPeriod { .. })
    ));
}

#[test]
fn feature_collection_has_one_closed_hexagon_per_cell() {
    let index = HeatIndex::build(vec![
        record_at(1, -71.0587, 42.3594),
        record_at(2, -71.0587, 42.3594),
        record_at(3, -71.1857, 42.2304),
    ])
    .unwrap();
    let heatmap = index
        .aggregate(Resolution::Eight, &HeatFilter::default())
        .unwrap();
    let collection = heatmap.to_feature_collection();
    assert_eq!(collection.features.len(), 2);

    let city_hall = collection
        .features
        .iter()
        .find(|feature| feature.properties.as_ref().unwrap()["cell"] == "882a306603fffff")
        .unwrap();
    assert_eq!(city_hall.properties.as_ref().unwrap()["count"], 2);

    let json = serde_json::to_value(city_hall.geometry.as_ref().unwrap()).unwrap();
    let ring = json["coordinates"][0].as_array().unwrap();
    assert_eq!(ring.len(), 7, "six vertices and the closing one");
    assert_eq!(ring[0], ring[6]);
    let first_lon = ring[0][0].as_f64().unwrap();
    assert!((-71.2..-70.9).contains(&first_lon), "lon comes first");

    let members = collection.foreign_members.unwrap();
    assert_eq!(members["total"], 3);
    assert_eq!(members["max_count"], 2);
}

#[test]
fn days_with_data_skip_gaps_in_the_source() {
    let mut early = record_at(1, -71.0, 42.3);
    early.created_at = at("2025-01-01T10:00:00Z");
    let mut same_day = record_at(2, -71.0, 42.3);
    same_day.created_at = at("2025-01-01T23:00:00Z");
    let mut later = record_at(3, -71.0, 42.3);
    later.created_at = at("2025-01-10T10:00:00Z");
    let index = HeatIndex::build(vec![early, same_day, later]).unwrap();

    assert_eq!(
        index.days_with_data(at("2025-01-01T00:00:00Z"), at("2025-02-01T00:00:00Z")),
        2
    );
    assert_eq!(
        index.days_with_data(at("2025-01-02T00:00:00Z"), at("2025-01-10T00:00:00Z")),
        0
    );
}
