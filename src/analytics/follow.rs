//! The task that keeps the view current from the live feed.

use std::sync::Arc;

use geo::Point;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::snapshot::build_clusters;
use super::view::{blocking, load_snapshot};
use super::{AnalyticsView, Result};
use crate::events::live::{LiveEvent, LiveEventKind};
use crate::store::{ReportPoint, ReportView, SharedStore};

/// Status of a report whose incident has no work order yet (as the store says).
const RECEIVED: &str = "received";

/// Applies every event of the feed until it closes.
///
/// Events already queued are taken together, so a burst of new incidents costs
/// one cluster rebuild rather than one each. Missing events (the receiver
/// lagged) cannot be replayed, so the whole view is reloaded from the store.
pub(super) async fn follow(
    view: AnalyticsView,
    store: SharedStore,
    mut receiver: Receiver<LiveEvent>,
) {
    loop {
        let mut batch = match receiver.recv().await {
            Ok(event) => vec![event],
            Err(RecvError::Lagged(missed)) => {
                reload(&view, &store, missed).await;
                continue;
            }
            Err(RecvError::Closed) => return,
        };

        let mut missed = 0;
        loop {
            match receiver.try_recv() {
                Ok(event) => batch.push(event),
                Err(TryRecvError::Lagged(count)) => {
                    missed = count;
                    break;
                }
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        if missed > 0 {
            reload(&view, &store, missed).await;
            continue;
        }

        for event in batch {
            if let Err(err) = apply(&view, &store, event).await {
                tracing::warn!(error = %err, "live event not applied to the analytics view");
            }
        }
        if let Err(err) = rebuild_clusters_if_stale(&view).await {
            tracing::warn!(error = %err, "cluster index not rebuilt; the old one is served");
        }
    }
}

async fn apply(view: &AnalyticsView, store: &SharedStore, event: LiveEvent) -> Result<()> {
    match event.kind {
        LiveEventKind::ReportAccepted {
            report_id,
            incident_id,
            category,
            lon,
            lat,
        } => {
            if view.read().reports.contains(&report_id) {
                return Ok(());
            }

            // The stored report knows its status; the event's own fields stand in
            // when the store cannot be read, so that the report still counts.
            let point = match store.report(report_id).await {
                Ok(Some(report)) => stored_point(report),
                outcome => {
                    if let Err(err) = outcome {
                        tracing::warn!(report.id = report_id, error = %err, "report not read; using the live event");
                    }
                    ReportPoint {
                        report_id,
                        incident_id,
                        position: Point::new(lon, lat),
                        category,
                        status: view
                            .read()
                            .status_of(incident_id)
                            .unwrap_or(RECEIVED)
                            .to_owned(),
                        jurisdiction_id: event
                            .jurisdiction_ids
                            .first()
                            .copied()
                            .unwrap_or_default(),
                        received_at: event.at,
                    }
                }
            };
            view.write().insert(point)?;
        }
        LiveEventKind::StatusChanged {
            incident_id,
            status,
            ..
        } => {
            view.write().set_status(incident_id, &status)?;
        }
        // A breach changes no report's status; the figures read it from the store.
        LiveEventKind::DeadlineBreached { .. } => {}
    }
    Ok(())
}

fn stored_point(report: ReportView) -> ReportPoint {
    ReportPoint {
        report_id: report.id,
        incident_id: report.incident_id,
        position: Point::new(report.lon, report.lat),
        category: report.category,
        status: report.status,
        jurisdiction_id: report.jurisdiction.id,
        received_at: report.received_at,
    }
}

/// Rebuilds the cluster index when new incidents arrived since the last build.
/// The build runs on a copy of the points, without holding the view's lock.
async fn rebuild_clusters_if_stale(view: &AnalyticsView) -> Result<()> {
    let points = {
        let mut snapshot = view.write();
        if !snapshot.clusters_stale {
            return Ok(());
        }
        snapshot.clusters_stale = false;
        snapshot.cluster_points()
    };
    let index = blocking(move || build_clusters(&points)).await?;
    view.write().clusters = Arc::new(index);
    Ok(())
}

/// Replaces the view with the store's history; `missed` live events made it necessary.
pub(super) async fn reload(view: &AnalyticsView, store: &SharedStore, missed: u64) {
    if missed > 0 {
        tracing::warn!(
            missed,
            "analytics view fell behind the live feed; reloading it from the store"
        );
    }
    match load_snapshot(store).await {
        Ok(snapshot) => *view.write() = snapshot,
        Err(err) => {
            tracing::error!(error = %err, "analytics view not reloaded; it misses recent events")
        }
    }
}
