//! Clusters: incidents grouped for display on a web map at a zoom level.
//!
//! The method is hierarchical greedy clustering in Web Mercator, the one
//! supercluster made popular, so results look familiar to map users: at the
//! deepest zoom every point is its own node; going one zoom out, each node not yet
//! taken gathers every untaken node within `radius_px` screen pixels and they become
//! one cluster at their weighted centre. All zooms are built once, so a query only
//! reads the level of its zoom.
//!
//! Why hierarchical rather than a fresh grid per query: clusters stay put while the
//! user pans (a grid snaps them to cell corners and splits groups at cell edges), and
//! a cluster knows the zoom at which it breaks apart (`expansion_zoom`), which the map
//! uses when it is clicked. Neighbours are found with a sorted grid whose cell is the
//! search radius: three binary searches per node, no tree to balance.
//!
//! Counting is exact: a cluster wholly inside the box is returned as built; a cluster
//! cut by the box edge is opened down to its points, and the points inside are
//! clustered again at the same radius. So every point in the box is counted exactly
//! once, and the counts add up to the number of points in the box.

mod grid;
mod index;
mod output;
mod query;

pub use index::{Cluster, ClusterIndex, ClusterOptions, ClusterPoint};
pub use output::to_feature_collection;

/// What can go wrong while building or querying clusters.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid position for incident {id}: lon {lon}, lat {lat} is not a WGS84 position")]
    InvalidPosition { id: i64, lon: f64, lat: f64 },

    #[error("invalid zoom {0}: expected 0 to 24")]
    InvalidZoom(u8),

    #[error("invalid cluster options: {0}")]
    InvalidOptions(String),
}

/// Result alias for the clusters module.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
