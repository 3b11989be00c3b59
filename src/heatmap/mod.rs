//! Heatmaps: counts of reports (or incidents) per H3 cell over a period.
//!
//! The index keeps every record once, sorted by its resolution-15 H3 cell, and
//! computes each resolution's exact cells the first time that resolution is asked
//! for. A heatmap is then one linear scan that applies the filters (category,
//! status, jurisdiction, period, bounding box) and counts runs of equal cells: no
//! hashing and no H3 maths per query. See `index.rs` for why cells are not simply
//! rolled up with `parent()`.
//!
//! Positions are WGS84 longitude, latitude. A record counts in the heatmap when its
//! own position lies inside the requested bounding box, so the cell counts always add
//! up to the number of matching records in the box; a hexagon cut by the box edge
//! counts only its records inside the box.

mod bbox;
mod filter;
mod index;
mod output;
mod zoom;

pub use bbox::Bbox;
pub use filter::HeatFilter;
pub use index::{HeatIndex, HeatRecord, aggregate_positions};
pub(crate) use output::cell_ring;
pub use output::{CellCount, Heatmap};
pub use zoom::{MAX_ZOOM_TABLE, resolution_for_zoom};

/// What can go wrong while indexing records or answering a heatmap query.
#[derive(Debug, thiserror::Error)]
pub enum HeatmapError {
    #[error("invalid bbox: {0}")]
    InvalidBbox(String),

    #[error("invalid position for record {id}: lon {lon}, lat {lat} is not a WGS84 position")]
    InvalidPosition { id: i64, lon: f64, lat: f64 },

    #[error("invalid H3 resolution {0}: expected 0 to 15")]
    InvalidResolution(u8),

    #[error("invalid zoom {0}: expected 0 to 24")]
    InvalidZoom(u8),

    #[error("invalid period: `from` ({from}) is not before `to` ({to})")]
    InvalidPeriod {
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    },

    #[error("too many distinct {what} values (more than {max}) to index")]
    TooManyValues { what: &'static str, max: usize },
}

/// Result alias for the heatmap module.
pub type Result<T, E = HeatmapError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
