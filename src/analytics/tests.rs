use std::collections::HashSet;

use geo::Point;
use h3o::Resolution;
use jiff::Timestamp;

use super::dashboard_figures;
use super::snapshot::Snapshot;
use crate::heatmap::HeatFilter;
use crate::store::{ReportPoint, WorkOrderSummary};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn point(report_id: i64, incident_id: i64, lon: f64, status: &str) -> ReportPoint {
    ReportPoint {
        report_id,
        incident_id,
        position: Point::new(lon, 42.36),
        category: "pothole".into(),
        status: status.into(),
        jurisdiction_id: 1,
        received_at: at("2025-05-01T10:00:00Z") + jiff::SignedDuration::from_hours(report_id),
    }
}

fn count_with_status(snapshot: &Snapshot, status: &str) -> u64 {
    let filter = HeatFilter {
        statuses: Some(vec![status.into()]),
        ..HeatFilter::default()
    };
    snapshot
        .heat
        .aggregate(Resolution::Seven, &filter)
        .unwrap()
        .total
}

#[test]
fn reports_are_counted_once_and_incidents_cluster_once() {
    let mut snapshot = Snapshot::build(vec![
        point(1, 10, -71.06, "assigned"),
        point(2, 10, -71.06, "assigned"),
        point(3, 11, -71.02, "assigned"),
    ])
    .unwrap();
    assert_eq!(snapshot.heat.len(), 3);
    assert_eq!(snapshot.clusters.len(), 2);
    assert!(!snapshot.clusters_stale);

    assert!(!snapshot.insert(point(2, 10, -71.06, "assigned")).unwrap());
    assert!(snapshot.insert(point(4, 10, -71.06, "assigned")).unwrap());
    assert!(
        !snapshot.clusters_stale,
        "a merged report opens no incident"
    );
    assert!(snapshot.insert(point(5, 12, -71.0, "unassigned")).unwrap());
    assert!(snapshot.clusters_stale);
    assert_eq!(snapshot.heat.len(), 5);
    assert_eq!(snapshot.cluster_points().len(), 3);
    assert_eq!(
        snapshot.last_report_at,
        Some(point(5, 0, 0.0, "").received_at)
    );
}

#[test]
fn a_status_change_moves_every_report_of_the_incident() {
    let mut snapshot = Snapshot::build(vec![
        point(1, 10, -71.06, "assigned"),
        point(2, 10, -71.06, "assigned"),
        point(3, 11, -71.02, "assigned"),
    ])
    .unwrap();

    assert!(snapshot.set_status(10, "resolved").unwrap());
    assert!(!snapshot.set_status(10, "resolved").unwrap(), "no change");
    assert!(
        !snapshot.set_status(99, "resolved").unwrap(),
        "unknown incident"
    );
    assert_eq!(count_with_status(&snapshot, "resolved"), 2);
    assert_eq!(count_with_status(&snapshot, "assigned"), 1);
    assert_eq!(snapshot.status_of(10), Some("resolved"));
}

fn order(id: i64, contractor: Option<&str>, resolved: Option<&str>, due: &str) -> WorkOrderSummary {
    WorkOrderSummary {
        id,
        incident_id: id,
        jurisdiction_id: 1,
        category: "pothole".into(),
        contractor: contractor.map(str::to_owned),
        status: if resolved.is_some() {
            "resolved"
        } else {
            "assigned"
        }
        .into(),
        assigned_at: at("2025-05-01T00:00:00Z"),
        resolution_due_at: Some(at(due)),
        resolved_at: resolved.map(at),
    }
}

#[test]
fn the_contractor_table_puts_overdue_work_first() {
    let now = at("2025-05-10T00:00:00Z");
    let orders = vec![
        order(1, Some("acme"), None, "2025-05-20T00:00:00Z"),
        order(2, Some("acme"), None, "2025-05-21T00:00:00Z"),
        order(
            3,
            Some("acme"),
            Some("2025-05-02T00:00:00Z"),
            "2025-05-03T00:00:00Z",
        ),
        order(4, Some("bolt"), None, "2025-05-05T00:00:00Z"),
        order(5, None, None, "2025-05-06T00:00:00Z"),
        order(6, None, None, "2025-05-07T00:00:00Z"),
    ];
    let figures = dashboard_figures(&orders, at("2025-01-01T00:00:00Z"), now, now);

    let table: Vec<(&str, u64, u64)> = figures
        .contractors
        .iter()
        .map(|row| (row.contractor.as_str(), row.overdue, row.open))
        .collect();
    assert_eq!(
        table,
        vec![("(unassigned)", 2, 2), ("bolt", 1, 1), ("acme", 0, 2)]
    );
    assert_eq!(figures.contractors[2].met, 1);
    assert_eq!(figures.contractors[2].median_resolve_h, Some(24.0));
    assert_eq!(
        (
            figures.totals.work_orders,
            figures.totals.open,
            figures.totals.overdue,
            figures.totals.resolved
        ),
        (6, 5, 3, 1)
    );

    let ids: HashSet<&str> = figures
        .compliance
        .by_contractor
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(ids.len(), 3);
}
