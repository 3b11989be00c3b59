//! Hotspots: H3 cells whose recent count is significantly above their own history.
//!
//! The test is the exact conditional test for two Poisson rates. If a cell's
//! reports arrive at a steady rate, then given its `n` reports over the recent
//! window and its history together, the recent count follows Binomial(n, p₀), where
//! p₀ is the recent window's share of the time covered. The p-value is the exact
//! upper tail P(X ≥ recent). Unlike plugging the historical mean into a Poisson
//! test, this accounts for the uncertainty of a history built from few reports, and
//! a cell with no history at all is still tested sensibly.
//!
//! Why not Getis-Ord Gi*: Gi* asks whether a cell and its neighbours are high
//! compared with the whole map, a spatial question. A supervisor asks whether this
//! place is worse than usual, a temporal one; a busy downtown cell is always high
//! under Gi* but only a hotspot here when it is busier than it used to be.
//!
//! Many cells are tested at once, so the p-values are adjusted with
//! Benjamini–Hochberg and a cell is flagged when its q-value is at most the chosen
//! false discovery rate (5 % by default). Time is counted in days on which the
//! source has any record at all, so a gap in the data (Boston's history has no
//! 2012–2014) does not look like a quiet history.
//!
//! Known limits: counts are assumed Poisson; overdispersed cells (weekly rhythms,
//! one-off campaigns) may be flagged more often than the nominal rate. A city-wide
//! surge (a snowstorm) raises many cells at once: each is genuinely above its
//! history, and they are all reported.

mod detect;
mod stats;

pub use detect::{Hotspot, HotspotQuery, HotspotReport, find_hotspots};

/// What can go wrong while looking for hotspots.
#[derive(Debug, thiserror::Error)]
pub enum HotspotError {
    #[error("invalid hotspot query: {0}")]
    InvalidQuery(String),

    #[error(transparent)]
    Heatmap(#[from] crate::heatmap::HeatmapError),
}

/// Result alias for the hotspots module.
pub type Result<T, E = HotspotError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
