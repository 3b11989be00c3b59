//! Incidents and dedup: whether a new report is one more sighting of an open
//! incident close by, or a new problem.
//!
//! A report merges into an open incident of its category when the haversine
//! distance between them is at most the category's `dedup_radius_m` and the
//! incident's last report is at most `dedup_window_s` older (or newer, for
//! records replayed out of order). Among several, the nearest wins, then the
//! lower id. Reports at a known placeholder position never merge: a city's
//! "location unknown" geocode would otherwise swallow every unrelated report.
//!
//! A second question guards the merge when photos exist on both sides: the
//! classifier's embedding of the new report's photo is compared (cosine
//! similarity) with those of the incident's photo reports, and when even the
//! most similar one is below `min_photo_similarity` the photo shows something
//! else and the report does not merge (see [`PhotoEvidence`]). Without a photo
//! on either side the position alone decides, as before.
//!
//! [`OpenIncidentIndex`] keeps the open incidents of each category in an
//! R-tree; the embedded store answers dedup from it. The PostGIS store asks
//! `ST_DWithin` instead and applies the same [`DedupRule`] to the rows. Both
//! load the embeddings of the spatial candidates from their reports and hand
//! them to [`choose_incident`].

mod index;
mod photos;
mod placeholder;

pub use index::{IncidentEntry, OpenIncidentIndex, search_envelope};
pub use photos::{DEFAULT_MIN_PHOTO_SIMILARITY, PhotoEvidence, embedding_from_bytes};
pub use placeholder::{PlaceholderDetector, PlaceholderHit};

use geo::{Distance, Haversine, Point};
use jiff::Timestamp;

use crate::sla::Priority;

/// The dedup settings of one report's category.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DedupRule {
    pub radius_m: f64,
    pub window_s: i64,
    /// Below this cosine similarity between the new photo and every photo of
    /// an incident, the report does not merge; `None` ignores photos.
    pub min_photo_similarity: Option<f32>,
}

impl DedupRule {
    /// Whether `entry` may absorb a report at `point` made at `at`, and how far
    /// away it is when it may.
    pub fn admits(&self, entry: &IncidentEntry, point: Point<f64>, at: Timestamp) -> Option<f64> {
        let at_ms = at.as_millisecond();
        let open = entry.opened_at_ms <= at_ms + self.window_ms()
            && entry.closed_at_ms.is_none_or(|closed| closed > at_ms);
        let recent = (at_ms - entry.last_report_at_ms).abs() <= self.window_ms();
        if !(open && recent) || entry.placeholder {
            return None;
        }
        let distance_m = haversine_m(entry.position, point);
        (distance_m <= self.radius_m).then_some(distance_m)
    }

    /// Whether the photos allow merging into incident `incident_id`: always,
    /// unless both sides have photos and none of the incident's is similar enough.
    pub fn photos_agree(&self, photos: &PhotoEvidence, incident_id: i64) -> bool {
        match (self.min_photo_similarity, photos.similarity(incident_id)) {
            (Some(min), Some(similarity)) => similarity >= min,
            _ => true,
        }
    }

    fn window_ms(&self) -> i64 {
        self.window_s.saturating_mul(1000)
    }
}

/// Haversine distance in metres; 0 for the same point, never NaN for finite input.
pub fn haversine_m(a: Point<f64>, b: Point<f64>) -> f64 {
    if a == b {
        return 0.0;
    }
    let distance_m = Haversine.distance(a, b);
    if distance_m.is_nan() { 0.0 } else { distance_m }
}

/// The best candidate by the dedup rule: nearest among those the position,
/// time and photos admit, then lowest id.
pub fn choose_incident<'a>(
    candidates: impl IntoIterator<Item = &'a IncidentEntry>,
    rule: &DedupRule,
    point: Point<f64>,
    at: Timestamp,
    photos: &PhotoEvidence,
) -> Option<&'a IncidentEntry> {
    candidates
        .into_iter()
        .filter_map(|entry| rule.admits(entry, point, at).map(|d| (d, entry)))
        .filter(|(_, entry)| rule.photos_agree(photos, entry.id))
        .min_by(|(da, a), (db, b)| da.total_cmp(db).then(a.id.cmp(&b.id)))
        .map(|(_, entry)| entry)
}

/// The priority an incident has once it holds `report_count` reports: one step
/// up from its default when the category's threshold is reached.
pub fn priority_for(
    default_priority: Priority,
    escalate_after_reports: Option<u32>,
    report_count: u32,
) -> Priority {
    match escalate_after_reports {
        Some(threshold) if report_count >= threshold => default_priority.raised(),
        _ => default_priority,
    }
}

#[cfg(test)]
mod tests;
