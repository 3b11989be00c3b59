//! Replay of the project's own sample records: every rejection reason counted,
//! placeholders kept apart, totals adding up, and a second replay adding nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cityfix::replay::{read_category_map, read_records, replay};
use support::city::{fixture, pipeline, sample_store};

#[tokio::test]
async fn the_sample_city_replays_with_exact_counts() {
    let store = sample_store().await;
    let photos = tempfile::tempdir().unwrap();
    let pipeline = pipeline(store, photos.path(), Default::default()).await;
    let records = read_records(&fixture("sample/reports.csv"))
        .unwrap()
        .records;
    let noise = records
        .iter()
        .filter(|r| r.category == "Noise complaint")
        .count() as u64;
    let map = read_category_map(&fixture("sample/categories.csv")).unwrap();

    let summary = replay(&pipeline, "replay:sample", records.clone(), &map, false)
        .await
        .unwrap();
    assert_eq!(summary.records, 244);
    let rejected: Vec<(&str, u64)> = summary
        .rejected
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        rejected,
        [
            ("invalid_position", 1),
            ("missing_position", 1),
            ("outside_jurisdictions", 2)
        ]
    );
    assert_eq!(summary.accepted, 240);
    assert_eq!(summary.placeholder_reports, 12);
    assert_eq!(summary.unmapped_records, noise);
    assert!(summary.reports_merged > 0, "the repeated spots merge");
    assert_eq!(
        summary.incidents_created + summary.reports_merged,
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
    assert_eq!(
        sla.no_deadline, 0,
        "the sample calendar covers every record"
    );

    let again = replay(&pipeline, "replay:sample", records, &map, false)
        .await
        .unwrap();
    assert_eq!(again.accepted, 0);
    assert_eq!(again.already_recorded, 240);
}
