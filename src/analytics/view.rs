//! The shared view and its queries.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use geojson::FeatureCollection;
use h3o::Resolution;
use jiff::Timestamp;
use serde::Serialize;

use super::snapshot::Snapshot;
use super::{AnalyticsError, Result, follow};
use crate::clusters::to_feature_collection;
use crate::events::live::LiveFeed;
use crate::heatmap::{Bbox, HeatFilter};
use crate::hotspots::{HotspotQuery, find_hotspots};
use crate::store::SharedStore;

/// Most hexagons one heatmap answer may hold: about 6 MB of GeoJSON, which a
/// browser still draws smoothly. A larger one is refused with a hint.
pub const MAX_HEATMAP_CELLS: usize = 20_000;

/// A heatmap request: the resolution and the records to count.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapQuery {
    pub resolution: Resolution,
    pub filter: HeatFilter,
}

/// What the view holds, for the dashboard's filter lists and period picker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub reports: usize,
    pub incidents: usize,
    /// Sorted by name.
    pub categories: Vec<String>,
    /// Sorted by name.
    pub statuses: Vec<String>,
    pub first_report_at: Option<Timestamp>,
    pub last_report_at: Option<Timestamp>,
}

/// The in-memory analytics view, shared by the server's handlers; cheap to clone.
#[derive(Debug, Clone)]
pub struct AnalyticsView {
    inner: Arc<RwLock<Snapshot>>,
}

impl AnalyticsView {
    /// Subscribes to `feed`, loads the store's history, and starts the task that
    /// keeps the view current; the task ends when the feed closes.
    pub async fn start(store: SharedStore, feed: &LiveFeed) -> Result<Self> {
        let receiver = feed.subscribe();
        let view = Self::load(&store).await?;
        tokio::spawn(follow::follow(view.clone(), store, receiver));
        Ok(view)
    }

    /// Like [`AnalyticsView::start`] without waiting: the view is empty until the
    /// history has loaded in the background. Must be called inside a Tokio runtime.
    pub fn spawn(store: SharedStore, feed: &LiveFeed) -> Result<Self> {
        let receiver = feed.subscribe();
        let view = Self {
            inner: Arc::new(RwLock::new(Snapshot::empty()?)),
        };
        let follower = view.clone();
        tokio::spawn(async move {
            follow::reload(&follower, &store, 0).await;
            follow::follow(follower, store, receiver).await;
        });
        Ok(view)
    }

    /// The view of the store's history as it is now, not kept current.
    pub async fn load(store: &SharedStore) -> Result<Self> {
        let snapshot = load_snapshot(store).await?;
        Ok(Self {
            inner: Arc::new(RwLock::new(snapshot)),
        })
    }

    /// Report counts per H3 hexagon as GeoJSON; see [`crate::heatmap::Heatmap`].
    pub async fn heatmap(&self, query: HeatmapQuery) -> Result<FeatureCollection> {
        let view = self.clone();
        blocking(move || {
            let heatmap = view
                .read()
                .heat
                .aggregate(query.resolution, &query.filter)?;
            if heatmap.cells.len() > MAX_HEATMAP_CELLS {
                return Err(AnalyticsError::TooManyCells {
                    cells: heatmap.cells.len(),
                    max: MAX_HEATMAP_CELLS,
                });
            }
            Ok(heatmap.to_feature_collection())
        })
        .await
    }

    /// Incident clusters in `bbox` at web-map `zoom` as GeoJSON points; their
    /// counts add up to the number of incidents in the box.
    pub async fn clusters(&self, bbox: Bbox, zoom: u8) -> Result<FeatureCollection> {
        let clusters = self.read().clusters.clone();
        blocking(move || {
            let found = clusters.clusters(&bbox, zoom)?;
            Ok(to_feature_collection(&found, zoom))
        })
        .await
    }

    /// Hexagons whose recent report count is significantly above their history.
    pub async fn hotspots(&self, query: HotspotQuery) -> Result<FeatureCollection> {
        let view = self.clone();
        blocking(move || {
            let report = find_hotspots(&view.read().heat, &query)?;
            Ok(report.to_feature_collection())
        })
        .await
    }

    /// How much the view holds and which values the filters can take.
    pub fn summary(&self) -> Summary {
        let snapshot = self.read();
        let sorted = |names: &[String]| {
            let mut names = names.to_vec();
            names.sort();
            names
        };
        Summary {
            reports: snapshot.heat.len(),
            incidents: snapshot.incidents.len(),
            categories: sorted(snapshot.heat.categories()),
            statuses: sorted(snapshot.heat.statuses()),
            first_report_at: snapshot.first_report_at,
            last_report_at: snapshot.last_report_at,
        }
    }

    pub(super) fn read(&self) -> RwLockReadGuard<'_, Snapshot> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, Snapshot> {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reads every report point and indexes them off the executor.
pub(super) async fn load_snapshot(store: &SharedStore) -> Result<Snapshot> {
    let started = std::time::Instant::now();
    let points = store.report_points().await?;
    let snapshot = blocking(move || Snapshot::build(points)).await?;
    tracing::info!(
        reports = snapshot.heat.len(),
        incidents = snapshot.incidents.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "analytics view built"
    );
    Ok(snapshot)
}

/// Runs CPU-bound work on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| AnalyticsError::Task(err.to_string()))?
}
