//! Running the test over every cell of a heatmap.

use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject};
use h3o::{CellIndex, Resolution};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::stats::{benjamini_hochberg, ln_upper_tail};
use super::{HotspotError, Result};
use crate::heatmap::{HeatFilter, HeatIndex, Heatmap, cell_ring};

/// Which cells to test and how strictly.
#[derive(Debug, Clone, PartialEq)]
pub struct HotspotQuery {
    pub resolution: Resolution,
    /// Length of the recent window, ending at `now`.
    pub recent_days: u32,
    /// Length of the history window, ending where the recent one starts.
    pub history_days: u32,
    /// Largest q-value flagged: the tolerated share of false hotspots.
    pub false_discovery_rate: f64,
    /// Fewer recent reports than this are never a hotspot, however surprising.
    pub min_recent_count: u32,
    /// Narrows the records (box, category, status, jurisdiction); its `from` and
    /// `to` must be empty since the windows set the period.
    pub filter: HeatFilter,
    pub now: Timestamp,
}

impl HotspotQuery {
    /// Defaults: resolution 9 (about 0.1 km², a few blocks), the last 7 days against
    /// the 365 before, 5 % false discovery rate, at least 3 recent reports.
    pub fn new(now: Timestamp) -> Self {
        Self {
            resolution: Resolution::Nine,
            recent_days: 7,
            history_days: 365,
            false_discovery_rate: 0.05,
            min_recent_count: 3,
            filter: HeatFilter::default(),
            now,
        }
    }

    fn validate(&self) -> Result<()> {
        let invalid = |reason: &str| Err(HotspotError::InvalidQuery(reason.to_owned()));
        if self.recent_days == 0 || self.history_days == 0 {
            return invalid("recent_days and history_days must be at least 1");
        }
        if !(self.false_discovery_rate > 0.0 && self.false_discovery_rate < 1.0) {
            return invalid("false_discovery_rate must lie strictly between 0 and 1");
        }
        if self.filter.from.is_some() || self.filter.to.is_some() {
            return invalid("the period comes from now, recent_days and history_days");
        }
        Ok(())
    }
}

/// A cell flagged as a hotspot.
#[derive(Debug, Clone, PartialEq)]
pub struct Hotspot {
    pub cell: CellIndex,
    pub recent_count: u32,
    pub history_count: u32,
    /// The history's daily rate times the recent window's days.
    pub expected_count: f64,
    /// P(recent ≥ observed) if the cell kept its historical rate.
    pub p_value: f64,
    /// Benjamini–Hochberg adjusted p-value.
    pub q_value: f64,
    /// −log₁₀ of the p-value: how many orders of magnitude of surprise; hotspots
    /// are sorted by it, highest first.
    pub score: f64,
}

/// The hotspots found and what the test was run on.
#[derive(Debug, Clone, PartialEq)]
pub struct HotspotReport {
    pub hotspots: Vec<Hotspot>,
    /// Cells with at least one record in either window (the number of tests).
    pub cells_tested: usize,
    pub recent_from: Timestamp,
    pub history_from: Timestamp,
    pub until: Timestamp,
    pub recent_days_with_data: u32,
    pub history_days_with_data: u32,
}

/// Tests every cell with records in either window and returns those flagged.
pub fn find_hotspots(index: &HeatIndex, query: &HotspotQuery) -> Result<HotspotReport> {
    query.validate()?;
    let recent_from = days_before(query.now, query.recent_days)?;
    let history_from = days_before(recent_from, query.history_days)?;

    let window = |from, to| HeatFilter {
        from: Some(from),
        to: Some(to),
        ..query.filter.clone()
    };
    let recent = index.aggregate(query.resolution, &window(recent_from, query.now))?;
    let history = index.aggregate(query.resolution, &window(history_from, recent_from))?;

    let recent_days = index.days_with_data(recent_from, query.now);
    let history_days = index.days_with_data(history_from, recent_from);
    let mut report = HotspotReport {
        hotspots: Vec::new(),
        cells_tested: 0,
        recent_from,
        history_from,
        until: query.now,
        recent_days_with_data: recent_days,
        history_days_with_data: history_days,
    };
    if recent_days == 0 || history_days == 0 {
        // Nothing to compare: no data in one of the windows.
        return Ok(report);
    }

    let recent_share = f64::from(recent_days) / f64::from(recent_days + history_days);
    let tested = paired_counts(&recent, &history);
    let ln_p: Vec<f64> = tested
        .iter()
        .map(|&(_, recent, history)| {
            ln_upper_tail(u64::from(recent + history), u64::from(recent), recent_share)
        })
        .collect();
    let p_values: Vec<f64> = ln_p.iter().map(|ln| ln.exp()).collect();
    let q_values = benjamini_hochberg(&p_values);

    report.cells_tested = tested.len();
    for (at, &(cell, recent_count, history_count)) in tested.iter().enumerate() {
        let expected_count =
            f64::from(history_count) * f64::from(recent_days) / f64::from(history_days);
        let flagged = q_values[at] <= query.false_discovery_rate
            && recent_count >= query.min_recent_count
            && f64::from(recent_count) > expected_count;
        if flagged {
            report.hotspots.push(Hotspot {
                cell,
                recent_count,
                history_count,
                expected_count,
                p_value: p_values[at],
                q_value: q_values[at],
                score: -ln_p[at] / std::f64::consts::LN_10,
            });
        }
    }
    report.hotspots.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(report)
}

impl HotspotReport {
    /// One hexagon per hotspot with its counts, p-value, q-value and score; the
    /// collection carries the windows and the number of cells tested.
    pub fn to_feature_collection(&self) -> FeatureCollection {
        let features = self.hotspots.iter().map(hotspot_feature).collect();

        let mut foreign = JsonObject::new();
        foreign.insert("cells_tested".into(), json!(self.cells_tested));
        foreign.insert("recent_from".into(), json!(self.recent_from.to_string()));
        foreign.insert("history_from".into(), json!(self.history_from.to_string()));
        foreign.insert("until".into(), json!(self.until.to_string()));
        foreign.insert(
            "recent_days_with_data".into(),
            json!(self.recent_days_with_data),
        );
        foreign.insert(
            "history_days_with_data".into(),
            json!(self.history_days_with_data),
        );

        FeatureCollection {
            bbox: None,
            features,
            foreign_members: Some(foreign),
        }
    }
}

fn hotspot_feature(hotspot: &Hotspot) -> Feature {
    let geometry = Geometry::new(GeometryValue::new_polygon([cell_ring(hotspot.cell)]));

    let mut properties = JsonObject::new();
    properties.insert("cell".into(), json!(hotspot.cell.to_string()));
    properties.insert("recent_count".into(), json!(hotspot.recent_count));
    properties.insert("history_count".into(), json!(hotspot.history_count));
    properties.insert("expected_count".into(), json!(hotspot.expected_count));
    properties.insert("p_value".into(), json!(hotspot.p_value));
    properties.insert("q_value".into(), json!(hotspot.q_value));
    properties.insert("score".into(), json!(hotspot.score));

    Feature {
        bbox: None,
        geometry: Some(geometry),
        id: None,
        properties: Some(properties),
        foreign_members: None,
    }
}

/// Every cell present in either heatmap with its (recent, history) counts.
fn paired_counts(recent: &Heatmap, history: &Heatmap) -> Vec<(CellIndex, u32, u32)> {
    let mut pairs: Vec<(CellIndex, u32, u32)> = recent
        .cells
        .iter()
        .map(|entry| (entry.cell, entry.count, history.count_of(entry.cell)))
        .collect();
    for entry in &history.cells {
        if recent.count_of(entry.cell) == 0 {
            pairs.push((entry.cell, 0, entry.count));
        }
    }
    pairs
}

fn days_before(instant: Timestamp, days: u32) -> Result<Timestamp> {
    instant
        .checked_sub(SignedDuration::from_hours(24 * i64::from(days)))
        .map_err(|_| {
            HotspotError::InvalidQuery(format!("{days} days before {instant} is out of range"))
        })
}
