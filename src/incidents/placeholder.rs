//! Placeholder locations: positions a city's systems use for "unknown".
//!
//! Two sources: the set-up file names the known ones (Boston's City Hall
//! geocode), and the detector learns others from the data itself: a single
//! exact coordinate that keeps receiving reports of many different categories
//! is a geocoder's default, not a street corner with every problem at once.

use std::collections::{HashMap, HashSet};

use geo::Point;

use super::haversine_m;
use crate::setup::PlaceholderSpec;

/// Exact-coordinate reports needed before the detector considers a position.
pub const DETECT_MIN_REPORTS: u32 = 50;
/// Distinct categories among those reports that mark it as a placeholder.
pub const DETECT_MIN_CATEGORIES: usize = 8;

/// Why a position was treated as a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaceholderHit {
    /// Within the radius of a placeholder named in the set-up.
    Known { name: String },
    /// Learnt from the data: many reports of many categories at exactly here.
    Detected { reports: u32, categories: usize },
}

/// Known placeholders plus per-coordinate statistics for detecting new ones.
#[derive(Debug, Default)]
pub struct PlaceholderDetector {
    known: Vec<PlaceholderSpec>,
    exact: HashMap<(u64, u64), ExactStats>,
}

#[derive(Debug, Default)]
struct ExactStats {
    reports: u32,
    categories: HashSet<String>,
}

impl PlaceholderDetector {
    /// A detector that knows the set-up's placeholders.
    pub fn new(known: Vec<PlaceholderSpec>) -> Self {
        Self {
            known,
            exact: HashMap::new(),
        }
    }

    /// Replaces the set-up's placeholders; what was learnt from reports stays.
    pub fn set_known(&mut self, known: Vec<PlaceholderSpec>) {
        self.known = known;
    }

    /// Counts a report at `point` and says whether it sits on a placeholder.
    pub fn observe(&mut self, point: Point<f64>, category: &str) -> Option<PlaceholderHit> {
        if let Some(known) = self
            .known
            .iter()
            .find(|known| haversine_m(Point::new(known.lon, known.lat), point) <= known.radius_m)
        {
            return Some(PlaceholderHit::Known {
                name: known.name.clone(),
            });
        }

        let stats = self
            .exact
            .entry((point.x().to_bits(), point.y().to_bits()))
            .or_default();
        stats.reports += 1;
        if stats.categories.len() < DETECT_MIN_CATEGORIES {
            stats.categories.insert(category.to_string());
        }
        let detected =
            stats.reports >= DETECT_MIN_REPORTS && stats.categories.len() >= DETECT_MIN_CATEGORIES;
        detected.then_some(PlaceholderHit::Detected {
            reports: stats.reports,
            categories: stats.categories.len(),
        })
    }

    /// Exact coordinates the detector has learnt to be placeholders.
    pub fn detected(&self) -> Vec<Point<f64>> {
        self.exact
            .iter()
            .filter(|(_, s)| {
                s.reports >= DETECT_MIN_REPORTS && s.categories.len() >= DETECT_MIN_CATEGORIES
            })
            .map(|((x, y), _)| Point::new(f64::from_bits(*x), f64::from_bits(*y)))
            .collect()
    }
}
