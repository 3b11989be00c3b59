use geo::Point;
use h3o::{CellIndex, LatLng, Resolution};
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::heatmap::{HeatFilter, HeatIndex, HeatRecord};

const NOW: &str = "2025-06-01T00:00:00Z";

/// Fifty distinct resolution-9 cells in a column across Boston.
fn cells() -> Vec<CellIndex> {
    (0..50)
        .map(|i| {
            let latlng = LatLng::new(42.25 + 0.004 * f64::from(i), -71.08).unwrap();
            latlng.to_cell(Resolution::Nine)
        })
        .collect()
}

fn record(id: usize, cell: CellIndex, created_at: Timestamp) -> HeatRecord {
    let centre = LatLng::from(cell);
    HeatRecord {
        id: id as i64,
        position: Point::new(centre.lng(), centre.lat()),
        category: "pothole".into(),
        status: "open".into(),
        jurisdiction_id: Some(1),
        created_at,
    }
}

/// Every cell gets about 0.5 reports a day (Binomial(10, 0.05) per day) over the
/// `days_with_data` days before now.
fn steady_history(seed: u64, days_with_data: i64) -> Vec<HeatRecord> {
    let now: Timestamp = NOW.parse().unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut records = Vec::new();
    for day in 1..=days_with_data {
        let noon = now - SignedDuration::from_hours(24 * day - 12);
        for &cell in &cells() {
            let count = (0..10).filter(|_| rng.random_bool(0.05)).count();
            for _ in 0..count {
                records.push(record(records.len(), cell, noon));
            }
        }
    }
    records
}

fn query() -> HotspotQuery {
    HotspotQuery::new(NOW.parse().unwrap())
}

#[test]
fn a_steady_city_has_no_hotspots() {
    for seed in 1..=5 {
        let index = HeatIndex::build(steady_history(seed, 372)).unwrap();
        let report = find_hotspots(&index, &query()).unwrap();

        assert_eq!(report.cells_tested, 50, "seed {seed}");
        assert_eq!(
            (report.recent_days_with_data, report.history_days_with_data),
            (7, 365)
        );
        assert!(
            report.hotspots.is_empty(),
            "seed {seed}: {:?}",
            report.hotspots
        );
    }
}

#[test]
fn a_planted_hotspot_is_found_and_alone() {
    let mut records = steady_history(3, 372);
    let planted = cells()[17];
    let now: Timestamp = NOW.parse().unwrap();
    for extra in 0..12 {
        let at = now - SignedDuration::from_hours(6 + 12 * extra);
        records.push(record(records.len(), planted, at));
    }

    let index = HeatIndex::build(records).unwrap();
    let report = find_hotspots(&index, &query()).unwrap();

    assert_eq!(report.hotspots.len(), 1, "{:?}", report.hotspots);
    let hotspot = &report.hotspots[0];
    assert_eq!(hotspot.cell, planted);
    assert!(hotspot.recent_count >= 12);
    assert!(hotspot.expected_count > 2.0 && hotspot.expected_count < 5.0);
    assert!(hotspot.q_value <= 0.05 && hotspot.p_value <= hotspot.q_value);
    assert!((hotspot.score + hotspot.p_value.log10()).abs() < 1e-9);
}

#[test]
fn a_gap_in_the_source_is_not_a_quiet_history() {
    // Data only on the last 107 days: 258 of the 365 history days are a gap. Were
    // they counted as quiet days, every cell would look four times busier now.
    let index = HeatIndex::build(steady_history(4, 107)).unwrap();
    let report = find_hotspots(&index, &query()).unwrap();

    assert_eq!(report.history_days_with_data, 100);
    assert!(report.hotspots.is_empty(), "{:?}", report.hotspots);
}

#[test]
fn filters_narrow_the_test_and_empty_data_reports_nothing() {
    let index = HeatIndex::build(steady_history(5, 372)).unwrap();
    let graffiti_only = HotspotQuery {
        filter: HeatFilter {
            categories: Some(vec!["graffiti".into()]),
            ..HeatFilter::default()
        },
        ..query()
    };
    let report = find_hotspots(&index, &graffiti_only).unwrap();
    assert_eq!(report.cells_tested, 0);
    assert!(report.hotspots.is_empty());

    let empty = HeatIndex::build(Vec::new()).unwrap();
    let report = find_hotspots(&empty, &query()).unwrap();
    assert_eq!((report.cells_tested, report.history_days_with_data), (0, 0));
}

#[test]
fn bad_queries_are_rejected_with_the_reason() {
    let index = HeatIndex::build(Vec::new()).unwrap();
    let cases = [
        (
            HotspotQuery {
                recent_days: 0,
                ..query()
            },
            "at least 1",
        ),
        (
            HotspotQuery {
                false_discovery_rate: 1.5,
                ..query()
            },
            "between 0 and 1",
        ),
        (
            HotspotQuery {
                filter: HeatFilter {
                    from: Some(NOW.parse().unwrap()),
                    ..HeatFilter::default()
                },
                ..query()
            },
            "period comes from now",
        ),
    ];
    for (bad, reason) in cases {
        let error = find_hotspots(&index, &bad).unwrap_err().to_string();
        assert!(error.contains(reason), "{error}");
    }
}

#[test]
fn feature_collection_carries_the_scores() {
    let mut records = steady_history(6, 372);
    let now: Timestamp = NOW.parse().unwrap();
    for extra in 0..15 {
        records.push(record(
            records.len(),
            cells()[3],
            now - SignedDuration::from_hours(1 + extra),
        ));
    }
    let index = HeatIndex::build(records).unwrap();
    let collection = find_hotspots(&index, &query())
        .unwrap()
        .to_feature_collection();

    assert_eq!(collection.features.len(), 1);
    let properties = collection.features[0].properties.as_ref().unwrap();
    assert_eq!(properties["cell"], cells()[3].to_string());
    assert!(properties["score"].as_f64().unwrap() > 3.0);
    assert_eq!(collection.foreign_members.unwrap()["cells_tested"], 50);
}
