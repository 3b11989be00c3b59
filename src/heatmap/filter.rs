//! Which records a heatmap counts.

use jiff::Timestamp;

use super::{Bbox, HeatmapError, Result};

/// The records a heatmap counts: all of them unless narrowed. Every present field
/// narrows further (they combine with AND; the values inside one list with OR).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeatFilter {
    /// Only records whose position lies in this box.
    pub bbox: Option<Bbox>,
    /// Only these categories (slugs, or whatever strings the records carry).
    pub categories: Option<Vec<String>>,
    /// Only these statuses.
    pub statuses: Option<Vec<String>>,
    /// Only records routed to this jurisdiction.
    pub jurisdiction_id: Option<i64>,
    /// Only records created at or after this instant.
    pub from: Option<Timestamp>,
    /// Only records created strictly before this instant.
    pub to: Option<Timestamp>,
}

impl HeatFilter {
    /// Rejects a period that contains no instant at all.
    pub fn validate(&self) -> Result<()> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            return Err(HeatmapError::InvalidPeriod { from, to });
        }
        Ok(())
    }
}

/// A filter translated into the index's integer codes, checked once per record.
#[derive(Debug)]
pub(super) struct CompiledFilter {
    pub bbox: Option<Bbox>,
    /// Indexed by category code; `None` lets every category through.
    pub categories: Option<Vec<bool>>,
    pub statuses: Option<Vec<bool>>,
    pub jurisdiction_id: Option<i64>,
    pub from_s: i64,
    pub to_s: i64,
}

impl CompiledFilter {
    /// Whether the record described by these columns passes.
    #[inline]
    pub fn accepts(
        &self,
        lon: f64,
        lat: f64,
        created_s: i64,
        category: u16,
        status: u16,
        jurisdiction_id: i64,
    ) -> bool {
        if created_s < self.from_s || created_s >= self.to_s {
            return false;
        }
        if let Some(bbox) = &self.bbox
            && !bbox.contains(lon, lat)
        {
            return false;
        }
        if let Some(allowed) = &self.categories
            && !allowed[usize::from(category)]
        {
            return false;
        }
        if let Some(allowed) = &self.statuses
            && !allowed[usize::from(status)]
        {
            return false;
        }
        self.jurisdiction_id
            .is_none_or(|wanted| wanted == jurisdiction_id)
    }
}

/// Turns a list of accepted names into a lookup table over the interned codes.
/// Names the index never saw simply match nothing.
pub(super) fn code_table(wanted: Option<&Vec<String>>, known: &[String]) -> Option<Vec<bool>> {
    wanted.map(|names| {
        known
            .iter()
            .map(|value| names.iter().any(|name| name == value))
            .collect()
    })
}
