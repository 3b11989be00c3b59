//! The whole of Boston's shared service-request history through the pipeline,
//! checked against the figures of `../shared/data/cities/boston/PROVENANCE.md`.
//!
//! PROVENANCE counts all 179,396 rows; the shared file holds a 90 % sample, so
//! the test compares shares, not counts. Slow in debug builds: run it with
//! `cargo test --release --test replay_boston`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashSet;
use std::path::PathBuf;

use cityfix::replay::{ReplaySummary, read_category_map, read_records, replay};
use cityfix::store::{IncidentQuery, SharedStore, SqliteStore};
use support::city::{apply_setup, fixture, import, pipeline};

fn boston_dir() -> Option<PathBuf> {
    let dir = support::real_data::shared_dir()?.join("data/cities/boston");
    dir.join("reports_normalized.csv.gz")
        .is_file()
        .then_some(dir)
}

/// Police-district points outside every polygon, first ids as PROVENANCE lists them.
const KNOWN_OUTSIDE: [&str; 5] = [
    "101000297163",
    "101000297164",
    "101000297165",
    "101000314151",
    "101000326948",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boston_history_replays_with_provenance_shares() {
    let Some(boston) = boston_dir() else {
        eprintln!("skipped: ../shared/data/cities/boston is absent (set CITYFIX_SHARED_DIR)");
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let store: SharedStore = std::sync::Arc::new(SqliteStore::open(data.path()).await.unwrap());
    let boundaries = boston.join("boundaries/boston_police_districts.geojson");
    import(
        &store,
        &boundaries,
        "police_district",
        "DISTRICT",
        "DISTRICT",
    )
    .await;
    apply_setup(&store, &fixture("boston/setup.toml")).await;
    let pipeline = pipeline(
        store.clone(),
        &data.path().join("photos"),
        Default::default(),
    )
    .await;

    let records = read_records(&boston.join("reports_normalized.csv.gz"))
        .unwrap()
        .records;
    let shared_ids: HashSet<String> = records.iter().map(|r| r.id.clone()).collect();
    let map = read_category_map(&fixture("boston/categories.csv")).unwrap();
    let summary = replay(&pipeline, "replay:boston", records, &map, false)
        .await
        .unwrap();

    totals_add_up(&summary);
    let records = summary.records as f64;
    assert_eq!(summary.records, 161_456);

    // 99.978 % of all rows fall inside a police district (39 of 179,396 outside).
    let outside = summary
        .rejected
        .get("outside_jurisdictions")
        .copied()
        .unwrap_or(0) as f64;
    let outside_share = outside / records;
    assert!(
        (outside_share - 39.0 / 179_396.0).abs() < 0.0001,
        "outside share {outside_share}"
    );
    assert_eq!(
        summary.rejected_total() as f64,
        outside,
        "nothing else is rejected"
    );

    // 21,845 of 179,396 rows (12.18 %) sit on the City Hall default geocode; each
    // is its own incident, flagged, so there is no giant incident at City Hall.
    let at_city_hall = store
        .incidents(&IncidentQuery {
            bbox: Some([-71.0588, 42.3593, -71.0586, 42.3595]),
            limit: 100_000,
            ..IncidentQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.lon == -71.0587 && i.lat == 42.3594)
        .collect::<Vec<_>>();
    let city_hall_share = at_city_hall.len() as f64 / records;
    assert!(
        (city_hall_share - 21_845.0 / 179_396.0).abs() < 0.005,
        "City Hall share {city_hall_share}"
    );
    assert!(
        at_city_hall
            .iter()
            .all(|i| i.placeholder && i.report_count == 1)
    );
    assert!(summary.placeholder_reports >= at_city_hall.len() as u64);
    eprintln!(
        "placeholder reports {} (City Hall {}), merged {}, incidents {}",
        summary.placeholder_reports,
        at_city_hall.len(),
        summary.reports_merged,
        summary.incidents_created
    );

    // The known outside points of the shared sample are among the rejected.
    let known_in_sample = KNOWN_OUTSIDE
        .iter()
        .filter(|id| shared_ids.contains(**id))
        .count();
    assert!(known_in_sample > 0);
    for id in KNOWN_OUTSIDE.iter().filter(|id| shared_ids.contains(**id)) {
        assert!(
            store
                .report_by_source("replay:boston", id)
                .await
                .unwrap()
                .is_none(),
            "{id}"
        );
    }

    // Dedup happened, but far from every report collapsed.
    let merged_share = summary.reports_merged as f64 / summary.accepted as f64;
    assert!(
        (0.02..0.5).contains(&merged_share),
        "merged share {merged_share}"
    );

    // A second replay of the same file adds nothing.
    let again_records = read_records(&boston.join("reports_normalized.csv.gz"))
        .unwrap()
        .records;
    let again = replay(&pipeline, "replay:boston", again_records, &map, false)
        .await
        .unwrap();
    assert_eq!(again.accepted, 0);
    assert_eq!(again.already_recorded, summary.accepted);
}

fn totals_add_up(summary: &ReplaySummary) {
    assert_eq!(
        summary.accepted + summary.already_recorded + summary.rejected_total(),
        summary.records
    );
    assert_eq!(
        summary.incidents_created + summary.reports_merged,
        summary.accepted
    );
    assert_eq!(
        summary.reports_by_jurisdiction.values().sum::<u64>(),
        summary.accepted
    );
    assert_eq!(
        summary.work_orders_by_contractor.values().sum::<u64>(),
        summary.incidents_created
    );
    let sla = &summary.sla;
    assert_eq!(
        sla.met + sla.breached + sla.still_open + sla.no_deadline,
        summary.incidents_created
    );
}
