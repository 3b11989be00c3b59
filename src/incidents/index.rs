//! The open incidents of each category in an R-tree, for dedup in memory.

use std::collections::HashMap;

use geo::Point;
use jiff::Timestamp;
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

use super::{DedupRule, PhotoEvidence, choose_incident};

/// What dedup needs to know about one incident.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentEntry {
    pub id: i64,
    pub category: String,
    /// Position of the incident (its first report), x = lon, y = lat.
    pub position: Point<f64>,
    pub opened_at_ms: i64,
    pub last_report_at_ms: i64,
    pub closed_at_ms: Option<i64>,
    pub placeholder: bool,
    pub report_count: u32,
}

type Located = GeomWithData<[f64; 2], i64>;

/// Open incidents per category, indexed by position.
///
/// Closed incidents stay in the tree until [`OpenIncidentIndex::purge_closed`]
/// drops them; the dedup rule ignores them meanwhile, so a query is correct at
/// any instant, including the past instants of replayed records.
#[derive(Debug, Default)]
pub struct OpenIncidentIndex {
    trees: HashMap<String, RTree<Located>>,
    entries: HashMap<i64, IncidentEntry>,
}

const METRES_PER_DEGREE_LAT: f64 = 111_320.0;

impl OpenIncidentIndex {
    /// Builds the index from incidents loaded from the store.
    pub fn from_entries(entries: impl IntoIterator<Item = IncidentEntry>) -> Self {
        let mut by_category: HashMap<String, Vec<Located>> = HashMap::new();
        let mut all = HashMap::new();
        for entry in entries {
            by_category
                .entry(entry.category.clone())
                .or_default()
                .push(Located::new(
                    [entry.position.x(), entry.position.y()],
                    entry.id,
                ));
            all.insert(entry.id, entry);
        }
        let trees = by_category
            .into_iter()
            .map(|(category, points)| (category, RTree::bulk_load(points)))
            .collect();
        Self {
            trees,
            entries: all,
        }
    }

    /// Number of incidents held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no incident is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The incident a report of `category` at `point` made at `at` merges into,
    /// judged on position and time alone.
    pub fn find(
        &self,
        category: &str,
        point: Point<f64>,
        at: Timestamp,
        rule: &DedupRule,
    ) -> Option<&IncidentEntry> {
        self.find_with_photos(category, point, at, rule, &PhotoEvidence::none())
    }

    /// The incident the report merges into, with the photos' say as well.
    pub fn find_with_photos(
        &self,
        category: &str,
        point: Point<f64>,
        at: Timestamp,
        rule: &DedupRule,
        photos: &PhotoEvidence,
    ) -> Option<&IncidentEntry> {
        choose_incident(self.nearby(category, point, rule), rule, point, at, photos)
    }

    /// Ids of the incidents that position and time alone would admit: those whose
    /// photos dedup must load before asking [`Self::find_with_photos`].
    pub fn admitted_ids(
        &self,
        category: &str,
        point: Point<f64>,
        at: Timestamp,
        rule: &DedupRule,
    ) -> Vec<i64> {
        self.nearby(category, point, rule)
            .filter(|entry| rule.admits(entry, point, at).is_some())
            .map(|entry| entry.id)
            .collect()
    }

    fn nearby<'a>(
        &'a self,
        category: &str,
        point: Point<f64>,
        rule: &DedupRule,
    ) -> impl Iterator<Item = &'a IncidentEntry> + 'a {
        let envelope = search_envelope(point, rule.radius_m);
        self.trees
            .get(category)
            .into_iter()
            .flat_map(move |tree| tree.locate_in_envelope_intersecting(&envelope))
            .filter_map(|located| self.entries.get(&located.data))
    }

    /// Adds a new incident.
    pub fn insert(&mut self, entry: IncidentEntry) {
        self.trees
            .entry(entry.category.clone())
            .or_default()
            .insert(Located::new(
                [entry.position.x(), entry.position.y()],
                entry.id,
            ));
        self.entries.insert(entry.id, entry);
    }

    /// Records one more report of an incident.
    pub fn record_report(&mut self, id: i64, at: Timestamp) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.last_report_at_ms = entry.last_report_at_ms.max(at.as_millisecond());
            entry.report_count += 1;
        }
    }

    /// Marks an incident closed (or reopened, with `None`).
    pub fn set_closed(&mut self, id: i64, closed_at: Option<Timestamp>) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.closed_at_ms = closed_at.map(|at| at.as_millisecond());
        }
    }

    /// Files an incident under another category (a supervisor's correction).
    pub fn set_category(&mut self, id: i64, category: &str) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        if entry.category == category {
            return;
        }
        let located = Located::new([entry.position.x(), entry.position.y()], id);
        if let Some(tree) = self.trees.get_mut(&entry.category) {
            tree.remove(&located);
        }
        entry.category = category.to_string();
        self.trees
            .entry(category.to_string())
            .or_default()
            .insert(located);
    }

    /// The entry of an incident, if held.
    pub fn get(&self, id: i64) -> Option<&IncidentEntry> {
        self.entries.get(&id)
    }

    /// Drops incidents closed before `before`; returns how many went.
    pub fn purge_closed(&mut self, before: Timestamp) -> usize {
        let before_ms = before.as_millisecond();
        let gone: Vec<i64> = self
            .entries
            .values()
            .filter(|entry| entry.closed_at_ms.is_some_and(|closed| closed < before_ms))
            .map(|entry| entry.id)
            .collect();
        for id in &gone {
            if let Some(entry) = self.entries.remove(id)
                && let Some(tree) = self.trees.get_mut(&entry.category)
            {
                tree.remove(&Located::new([entry.position.x(), entry.position.y()], *id));
            }
        }
        gone.len()
    }
}

/// A lon/lat box that surely holds every point within `radius_m` of `point`
/// (slightly larger: the haversine check decides).
pub fn search_envelope(point: Point<f64>, radius_m: f64) -> AABB<[f64; 2]> {
    let margin_m = radius_m * 1.01 + 1.0;
    let dlat = margin_m / METRES_PER_DEGREE_LAT;
    let cos_lat = point.y().to_radians().cos().max(0.01);
    let dlon = (margin_m / (METRES_PER_DEGREE_LAT * cos_lat)).min(360.0);
    AABB::from_corners(
        [point.x() - dlon, point.y() - dlat],
        [point.x() + dlon, point.y() + dlat],
    )
}
