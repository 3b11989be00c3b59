//! The indexes of the view and the bookkeeping that keeps them consistent.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use geo::Point;
use jiff::Timestamp;

use super::Result;
use crate::clusters::{ClusterIndex, ClusterOptions, ClusterPoint};
use crate::heatmap::{HeatIndex, HeatRecord};
use crate::store::ReportPoint;

/// One incident as the view tracks it.
#[derive(Debug, Clone)]
pub(super) struct IncidentEntry {
    /// Its first report's position: where the cluster layer draws it.
    pub position: Point<f64>,
    pub status: String,
    pub report_ids: Vec<i64>,
}

/// Everything the queries read, replaced or updated by the follower only.
#[derive(Debug)]
pub(super) struct Snapshot {
    pub heat: HeatIndex,
    /// Shared so that a query can run on it without holding the view's lock.
    pub clusters: Arc<ClusterIndex>,
    /// Ordered by id so that cluster rebuilds see the points in a stable order.
    pub incidents: BTreeMap<i64, IncidentEntry>,
    pub reports: HashSet<i64>,
    pub first_report_at: Option<Timestamp>,
    pub last_report_at: Option<Timestamp>,
    /// New incidents arrived since the cluster index was built.
    pub clusters_stale: bool,
}

impl Snapshot {
    /// Nothing indexed yet.
    pub fn empty() -> Result<Self> {
        Ok(Self {
            heat: HeatIndex::default(),
            clusters: Arc::new(build_clusters(&[])?),
            incidents: BTreeMap::new(),
            reports: HashSet::new(),
            first_report_at: None,
            last_report_at: None,
            clusters_stale: false,
        })
    }

    /// Indexes the store's points; their order does not matter.
    pub fn build(points: Vec<ReportPoint>) -> Result<Self> {
        let mut snapshot = Self::empty()?;
        snapshot.reports.reserve(points.len());

        let mut records = Vec::with_capacity(points.len());
        for point in points {
            if snapshot.track(&point) {
                records.push(heat_record(point));
            }
        }
        snapshot.heat = HeatIndex::build(records)?;
        snapshot.clusters = Arc::new(build_clusters(&snapshot.cluster_points())?);
        snapshot.clusters_stale = false;
        Ok(snapshot)
    }

    /// Adds a new report; false when it was already known.
    pub fn insert(&mut self, point: ReportPoint) -> Result<bool> {
        if !self.track(&point) {
            return Ok(false);
        }
        self.heat.insert(&heat_record(point))?;
        Ok(true)
    }

    /// Moves an incident, and so each of its reports, to `status`; false when the
    /// incident is unknown or already there.
    pub fn set_status(&mut self, incident_id: i64, status: &str) -> Result<bool> {
        let Some(incident) = self.incidents.get_mut(&incident_id) else {
            return Ok(false);
        };
        if incident.status == status {
            return Ok(false);
        }

        incident.status = status.to_owned();
        let ids: HashSet<i64> = incident.report_ids.iter().copied().collect();
        self.heat.set_status_of(&ids, status)?;
        Ok(true)
    }

    /// The status of a known incident.
    pub fn status_of(&self, incident_id: i64) -> Option<&str> {
        self.incidents
            .get(&incident_id)
            .map(|incident| incident.status.as_str())
    }

    /// One point per incident, for the cluster index.
    pub fn cluster_points(&self) -> Vec<ClusterPoint> {
        self.incidents
            .iter()
            .map(|(&id, incident)| ClusterPoint {
                id,
                position: incident.position,
            })
            .collect()
    }

    /// Records the report in the bookkeeping; false when it was already known.
    fn track(&mut self, point: &ReportPoint) -> bool {
        if !self.reports.insert(point.report_id) {
            return false;
        }

        let incident = self
            .incidents
            .entry(point.incident_id)
            .or_insert_with(|| IncidentEntry {
                position: point.position,
                status: point.status.clone(),
                report_ids: Vec::new(),
            });
        incident.report_ids.push(point.report_id);
        self.clusters_stale |= incident.report_ids.len() == 1;

        let at = point.received_at;
        self.first_report_at = Some(self.first_report_at.map_or(at, |first| first.min(at)));
        self.last_report_at = Some(self.last_report_at.map_or(at, |last| last.max(at)));
        true
    }
}

/// The cluster index over incidents, with the default screen geometry.
pub(super) fn build_clusters(points: &[ClusterPoint]) -> Result<ClusterIndex> {
    Ok(ClusterIndex::build(points, ClusterOptions::default())?)
}

fn heat_record(point: ReportPoint) -> HeatRecord {
    HeatRecord {
        id: point.report_id,
        position: point.position,
        category: point.category,
        status: point.status,
        jurisdiction_id: Some(point.jurisdiction_id),
        created_at: point.received_at,
    }
}
