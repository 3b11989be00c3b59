//! SLA compliance figures: how many work orders met their resolution
//! deadline, breached it, or are still open, and how long resolving took,
//! per jurisdiction, category and contractor. The supervisors' dashboard,
//! its API and the replay summary all read these same figures.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

/// One work order as compliance sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComplianceRecord {
    pub jurisdiction_id: Option<i64>,
    pub category: String,
    /// `None` while in the supervisors' queue.
    pub contractor: Option<String>,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub resolution_due_at: Option<Timestamp>,
}

/// Where one work order stands against its resolution deadline at "now".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Resolved at or before its deadline.
    Met,
    /// Resolved after its deadline, or still open past it.
    Breached,
    /// Not resolved, deadline still ahead.
    Open,
    /// It has no deadline (no policy applied), so it counts in neither.
    NoDeadline,
}

impl ComplianceRecord {
    /// The outcome of this work order seen at `now`.
    pub fn outcome(&self, now: Timestamp) -> Outcome {
        let Some(due_at) = self.resolution_due_at else {
            return Outcome::NoDeadline;
        };
        match self.resolved_at {
            Some(resolved_at) if resolved_at <= due_at => Outcome::Met,
            Some(_) => Outcome::Breached,
            None if now > due_at => Outcome::Breached,
            None => Outcome::Open,
        }
    }
}

/// Counts and resolution times of one group of work orders.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ComplianceFigures {
    pub met: u64,
    pub breached: u64,
    pub open: u64,
    pub no_deadline: u64,
    /// Share of decided work orders (met + breached) that met, 0–1.
    pub met_share: Option<f64>,
    /// Median hours from creation to resolution, over resolved work orders.
    pub median_resolve_h: Option<f64>,
    /// 90th percentile (nearest rank) of the same.
    pub p90_resolve_h: Option<f64>,
    #[serde(skip)]
    resolve_s: Vec<i64>,
}

impl ComplianceFigures {
    fn add(&mut self, record: &ComplianceRecord, outcome: Outcome) {
        match outcome {
            Outcome::Met => self.met += 1,
            Outcome::Breached => self.breached += 1,
            Outcome::Open => self.open += 1,
            Outcome::NoDeadline => self.no_deadline += 1,
        }
        if let Some(resolved_at) = record.resolved_at {
            self.resolve_s.push(
                resolved_at
                    .duration_since(record.created_at)
                    .as_secs()
                    .max(0),
            );
        }
    }

    fn finish(&mut self) {
        let decided = self.met + self.breached;
        self.met_share = (decided > 0).then(|| self.met as f64 / decided as f64);

        self.resolve_s.sort_unstable();
        let hours = |s: i64| s as f64 / 3600.0;
        self.median_resolve_h = nearest_rank(&self.resolve_s, 50).map(hours);
        self.p90_resolve_h = nearest_rank(&self.resolve_s, 90).map(hours);
        self.resolve_s = Vec::new();
    }
}

/// The nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Compliance over a period, overall and per group.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ComplianceReport {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub as_of: Option<Timestamp>,
    pub overall: ComplianceFigures,
    pub by_jurisdiction: BTreeMap<String, ComplianceFigures>,
    pub by_category: BTreeMap<String, ComplianceFigures>,
    /// Keyed by contractor slug; the supervisors' queue is `"(unassigned)"`.
    pub by_contractor: BTreeMap<String, ComplianceFigures>,
}

/// The label under which work orders without a contractor are counted.
pub const UNASSIGNED: &str = "(unassigned)";

/// Figures for the work orders created in `[from, to)` as they stand at `now`.
pub fn compliance(
    records: impl IntoIterator<Item = ComplianceRecord>,
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> ComplianceReport {
    let mut report = ComplianceReport {
        from: Some(from),
        to: Some(to),
        as_of: Some(now),
        ..ComplianceReport::default()
    };

    for record in records {
        if record.created_at < from || record.created_at >= to {
            continue;
        }
        let outcome = record.outcome(now);
        let jurisdiction = record
            .jurisdiction_id
            .map_or_else(|| "(unrouted)".to_string(), |id| id.to_string());
        let contractor = record
            .contractor
            .clone()
            .unwrap_or_else(|| UNASSIGNED.into());

        report.overall.add(&record, outcome);
        report
            .by_jurisdiction
            .entry(jurisdiction)
            .or_default()
            .add(&record, outcome);
        report
            .by_category
            .entry(record.category.clone())
            .or_default()
            .add(&record, outcome);
        report
            .by_contractor
            .entry(contractor)
            .or_default()
            .add(&record, outcome);
    }

    report.overall.finish();
    let groups = [
        &mut report.by_jurisdiction,
        &mut report.by_category,
        &mut report.by_contractor,
    ];
    for group in groups {
        group.values_mut().for_each(ComplianceFigures::finish);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn record(
        contractor: Option<&str>,
        resolved: Option<&str>,
        due: Option<&str>,
    ) -> ComplianceRecord {
        ComplianceRecord {
            jurisdiction_id: Some(3),
            category: "pothole".into(),
            contractor: contractor.map(str::to_string),
            created_at: at("2025-06-01T00:00:00Z"),
            resolved_at: resolved.map(at),
            resolution_due_at: due.map(at),
        }
    }

    #[test]
    fn outcomes_against_the_deadline() {
        let now = at("2025-06-10T00:00:00Z");
        let due = Some("2025-06-05T00:00:00Z");
        assert_eq!(
            record(None, Some("2025-06-05T00:00:00Z"), due).outcome(now),
            Outcome::Met
        );
        assert_eq!(
            record(None, Some("2025-06-06T00:00:00Z"), due).outcome(now),
            Outcome::Breached
        );
        assert_eq!(record(None, None, due).outcome(now), Outcome::Breached);
        assert_eq!(
            record(None, None, Some("2025-06-20T00:00:00Z")).outcome(now),
            Outcome::Open
        );
        assert_eq!(record(None, None, None).outcome(now), Outcome::NoDeadline);
    }

    #[test]
    fn figures_per_group_with_median_and_p90() {
        let due = Some("2025-06-03T00:00:00Z");
        let mut records: Vec<ComplianceRecord> = (1..=10)
            .map(|day| {
                let resolved = format!("2025-06-{:02}T00:00:00Z", day + 1);
                record(Some("acme"), Some(resolved.as_str()), due)
            })
            .collect();
        records.push(record(None, None, Some("2025-07-01T00:00:00Z")));
        let mut late = record(Some("acme"), None, None);
        late.created_at = at("2025-08-01T00:00:00Z");
        records.push(late);

        let report = compliance(
            records,
            at("2025-06-01T00:00:00Z"),
            at("2025-07-01T00:00:00Z"),
            at("2025-06-20T00:00:00Z"),
        );

        let acme = &report.by_contractor["acme"];
        assert_eq!((acme.met, acme.breached, acme.open), (2, 8, 0));
        assert_eq!(acme.median_resolve_h, Some(5.0 * 24.0));
        assert_eq!(acme.p90_resolve_h, Some(9.0 * 24.0));
        assert_eq!(acme.met_share, Some(0.2));

        assert_eq!(report.by_contractor[UNASSIGNED].open, 1);
        assert_eq!(
            report.overall.met + report.overall.breached + report.overall.open,
            11,
            "August excluded"
        );
        assert_eq!(report.by_jurisdiction["3"].breached, 8);
    }
}
