//! The supervisors' analytics view: every report and incident held in memory,
//! indexed for heatmaps, clusters and hotspots, and kept current from the live
//! feed.
//!
//! [`AnalyticsView::start`] subscribes to the [`LiveFeed`](crate::events::live::LiveFeed)
//! first and only then reads the store's history, so nothing published while
//! the history loads is lost; events about reports already loaded are skipped.
//! A follower task then applies each new report and each status change. The
//! heatmap index takes inserts in place (a memmove of the rows after the new
//! one); the cluster index is rebuilt off the executor once per burst of new
//! incidents, because its levels cannot be updated incrementally. A follower
//! that falls behind the feed rebuilds everything from the store.
//!
//! Reports are what the heatmap and hotspots count; incidents (one point per
//! incident, at its first report's position) are what the clusters group.
//!
//! Known limit: the view is city-wide. Every supervisor sees the whole city's
//! aggregates, and narrows to a jurisdiction with the `jurisdiction` filter;
//! only the live stream is scoped to the supervisor's own jurisdiction.

mod figures;
mod follow;
mod snapshot;
mod view;

pub use figures::{ContractorLoad, DashboardFigures, WorkTotals, dashboard_figures, load_figures};
pub use view::{AnalyticsView, HeatmapQuery, MAX_HEATMAP_CELLS, Summary};

/// What can go wrong while loading or querying the analytics view.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error(transparent)]
    Heatmap(#[from] crate::heatmap::HeatmapError),

    #[error(transparent)]
    Clusters(#[from] crate::clusters::ClusterError),

    #[error(transparent)]
    Hotspots(#[from] crate::hotspots::HotspotError),

    #[error(transparent)]
    Store(#[from] crate::store::StoreError),

    #[error(
        "the heatmap would have {cells} hexagons, more than {max}: \
         narrow the box or choose a coarser resolution (or a lower zoom)"
    )]
    TooManyCells { cells: usize, max: usize },

    #[error("an analytics task stopped: {0}")]
    Task(String),
}

/// Result alias of the analytics view.
pub type Result<T, E = AnalyticsError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
