//! The replay's summary: what was accepted, rejected and why, where reports
//! went, how many incidents they made, who got the work, and how the SLA
//! policies would have fared against the records' real closing times.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

use super::ReplayRecord;
use crate::pipeline::{CityState, Intake, IntakeError};
use crate::sla::UNASSIGNED;
use crate::store::RecordOutcome;

/// SLA outcomes of the work orders a replay created.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlaOutcomes {
    /// Closed in the source at or before the resolution deadline.
    pub met: u64,
    /// Closed after the deadline.
    pub breached: u64,
    /// Never closed in the source.
    pub still_open: u64,
    /// No policy or calendar gave a deadline.
    pub no_deadline: u64,
    /// Share of closed ones that met, 0–1.
    pub met_share: Option<f64>,
    pub median_resolution_h: Option<f64>,
    pub p90_resolution_h: Option<f64>,
    #[serde(skip)]
    resolution_s: Vec<i64>,
}

impl SlaOutcomes {
    fn finish(&mut self) {
        let decided = self.met + self.breached;
        self.met_share = (decided > 0).then(|| self.met as f64 / decided as f64);
        self.resolution_s.sort_unstable();
        self.median_resolution_h = percentile_h(&self.resolution_s, 50);
        self.p90_resolution_h = percentile_h(&self.resolution_s, 90);
    }
}

fn percentile_h(sorted: &[i64], percent: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).map(|&s| s as f64 / 3600.0)
}

/// Everything a replay did, in figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReplaySummary {
    pub records: u64,
    pub accepted: u64,
    /// Sent before (same source id): nothing added.
    pub already_recorded: u64,
    pub rejected: BTreeMap<String, u64>,
    pub reports_by_jurisdiction: BTreeMap<String, u64>,
    pub incidents_created: u64,
    pub reports_merged: u64,
    /// Reports at a placeholder location (never merged).
    pub placeholder_reports: u64,
    pub work_orders_by_contractor: BTreeMap<String, u64>,
    /// Records whose category was not in the map (counted under `other`).
    pub unmapped_records: u64,
    pub unmapped_top: Vec<(String, u64)>,
    /// The first rows that could not be read, with their line numbers.
    pub unreadable_sample: Vec<String>,
    pub sla: SlaOutcomes,
    pub sla_by_category: BTreeMap<String, SlaOutcomes>,
    #[serde(skip)]
    unmapped: HashMap<String, u64>,
}

impl ReplaySummary {
    pub(super) fn new(records: usize) -> Self {
        Self {
            records: records as u64,
            ..Self::default()
        }
    }

    /// Counts rows of the file that never became records.
    pub fn count_unreadable(&mut self, rows: &[super::UnreadableRow]) {
        if rows.is_empty() {
            return;
        }
        self.records += rows.len() as u64;
        *self.rejected.entry("unreadable_row".into()).or_default() += rows.len() as u64;
        self.unreadable_sample = rows
            .iter()
            .take(5)
            .map(|row| format!("line {}: {}", row.line, row.problem))
            .collect();
    }

    pub(super) fn count_unmapped(&mut self, source_category: &str) {
        self.unmapped_records += 1;
        *self
            .unmapped
            .entry(source_category.to_string())
            .or_default() += 1;
    }

    pub(super) fn count(
        &mut self,
        record: &ReplayRecord,
        answer: Result<Intake, IntakeError>,
        city: &CityState,
    ) {
        let intake = match answer {
            Ok(intake) => intake,
            Err(err) => {
                *self.rejected.entry(err.code().to_string()).or_default() += 1;
                return;
            }
        };
        let RecordOutcome::Recorded {
            merged, work_order, ..
        } = &intake.outcome
        else {
            self.already_recorded += 1;
            return;
        };

        self.accepted += 1;
        let jurisdiction = city
            .jurisdiction(intake.jurisdiction_id)
            .map_or_else(|| intake.jurisdiction_id.to_string(), |j| j.name.clone());
        *self
            .reports_by_jurisdiction
            .entry(jurisdiction)
            .or_default() += 1;
        self.placeholder_reports += u64::from(intake.placeholder);
        if *merged {
            self.reports_merged += 1;
            return;
        }

        self.incidents_created += 1;
        let Some(work_order) = work_order else {
            return;
        };
        let contractor = work_order
            .contractor
            .clone()
            .unwrap_or_else(|| UNASSIGNED.into());
        *self
            .work_orders_by_contractor
            .entry(contractor)
            .or_default() += 1;

        let by_category = self
            .sla_by_category
            .entry(intake.category.clone())
            .or_default();
        for outcomes in [&mut self.sla, by_category] {
            add_outcome(
                outcomes,
                record,
                work_order.resolution_due_at,
                intake.source_closed_at,
            );
        }
    }

    pub(super) fn finish(&mut self) {
        self.sla.finish();
        self.sla_by_category
            .values_mut()
            .for_each(SlaOutcomes::finish);
        let mut unmapped: Vec<(String, u64)> = self.unmapped.drain().collect();
        unmapped.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        unmapped.truncate(10);
        self.unmapped_top = unmapped;
    }

    /// Rejected records, all reasons together.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

fn add_outcome(
    outcomes: &mut SlaOutcomes,
    record: &ReplayRecord,
    due_at: Option<jiff::Timestamp>,
    closed_at: Option<jiff::Timestamp>,
) {
    if let Some(closed_at) = closed_at {
        let seconds = closed_at.duration_since(record.created_at).as_secs();
        outcomes.resolution_s.push(seconds);
    }
    match (due_at, closed_at) {
        (None, _) => outcomes.no_deadline += 1,
        (Some(_), None) => outcomes.still_open += 1,
        (Some(due), Some(closed)) if closed <= due => outcomes.met += 1,
        (Some(_), Some(_)) => outcomes.breached += 1,
    }
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "–".into();
    }
    format!("{:.2} %", part as f64 * 100.0 / whole as f64)
}

fn hours(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |h| format!("{h:.1} h"))
}

impl fmt::Display for ReplaySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "records            {}", self.records)?;
        writeln!(
            f,
            "accepted           {} ({})",
            self.accepted,
            share(self.accepted, self.records)
        )?;
        writeln!(f, "already recorded   {}", self.already_recorded)?;
        writeln!(f, "rejected           {}", self.rejected_total())?;
        for (code, count) in &self.rejected {
            writeln!(f, "  {code:<24} {count}")?;
        }
        for row in &self.unreadable_sample {
            writeln!(f, "    {row}")?;
        }
        writeln!(f, "incidents created  {}", self.incidents_created)?;
        writeln!(f, "reports merged     {}", self.reports_merged)?;
        writeln!(
            f,
            "at a placeholder   {} (never merged)",
            self.placeholder_reports
        )?;
        writeln!(f, "unmapped → other   {}", self.unmapped_records)?;
        for (name, count) in &self.unmapped_top {
            writeln!(f, "  {name:<48} {count}")?;
        }
        writeln!(f, "reports per jurisdiction")?;
        for (name, count) in &self.reports_by_jurisdiction {
            writeln!(f, "  {name:<32} {count}")?;
        }
        writeln!(f, "work orders per contractor")?;
        for (name, count) in &self.work_orders_by_contractor {
            writeln!(f, "  {name:<32} {count}")?;
        }
        let sla = &self.sla;
        writeln!(
            f,
            "SLA (resolution)   met {}  breached {}  still open {}  no deadline {}  met share {}",
            sla.met,
            sla.breached,
            sla.still_open,
            sla.no_deadline,
            share(sla.met, sla.met + sla.breached)
        )?;
        writeln!(
            f,
            "time to close      median {}  p90 {}",
            hours(sla.median_resolution_h),
            hours(sla.p90_resolution_h)
        )?;
        for (category, outcomes) in &self.sla_by_category {
            writeln!(
                f,
                "  {category:<20} met {:>6}  breached {:>6}  met share {}",
                outcomes.met,
                outcomes.breached,
                share(outcomes.met, outcomes.met + outcomes.breached)
            )?;
        }
        Ok(())
    }
}
