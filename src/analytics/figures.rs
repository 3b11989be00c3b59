//! The dashboard's figures: SLA compliance per jurisdiction, category and
//! contractor, and the contractor table ordered by overdue work.

use jiff::Timestamp;
use serde::Serialize;

use super::Result;
use super::view::blocking;
use crate::sla::{ComplianceReport, UNASSIGNED, compliance};
use crate::store::{SharedStore, WorkOrderSummary};

/// One contractor's row in the dashboard table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractorLoad {
    /// Contractor slug, or `(unassigned)` for the supervisors' queue.
    pub contractor: String,
    /// Work orders not resolved yet.
    pub open: u64,
    /// Work orders not resolved and past their resolution deadline.
    pub overdue: u64,
    pub met: u64,
    pub breached: u64,
    pub met_share: Option<f64>,
    pub median_resolve_h: Option<f64>,
    pub p90_resolve_h: Option<f64>,
}

/// Where the period's work orders stand now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WorkTotals {
    pub work_orders: u64,
    /// Not resolved yet.
    pub open: u64,
    /// Not resolved and past the resolution deadline.
    pub overdue: u64,
    pub resolved: u64,
}

/// Everything the dashboard's panels show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardFigures {
    pub totals: WorkTotals,
    pub compliance: ComplianceReport,
    /// Most overdue work first, then most open work, then by name.
    pub contractors: Vec<ContractorLoad>,
}

/// Figures over the work orders created in `[from, to)`, as they stand at `now`.
pub fn dashboard_figures(
    work_orders: &[WorkOrderSummary],
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> DashboardFigures {
    let in_period: Vec<&WorkOrderSummary> = work_orders
        .iter()
        .filter(|order| order.assigned_at >= from && order.assigned_at < to)
        .collect();
    let report = compliance(
        in_period.iter().map(|order| order.compliance_record()),
        from,
        to,
        now,
    );

    let mut contractors: Vec<ContractorLoad> = report
        .by_contractor
        .iter()
        .map(|(name, figures)| {
            let theirs = in_period
                .iter()
                .filter(|order| order.contractor.as_deref().unwrap_or(UNASSIGNED) == name);
            let (open, overdue) = open_and_overdue(theirs, now);
            ContractorLoad {
                contractor: name.clone(),
                open,
                overdue,
                met: figures.met,
                breached: figures.breached,
                met_share: figures.met_share,
                median_resolve_h: figures.median_resolve_h,
                p90_resolve_h: figures.p90_resolve_h,
            }
        })
        .collect();
    contractors.sort_by(|a, b| {
        (b.overdue, b.open)
            .cmp(&(a.overdue, a.open))
            .then_with(|| a.contractor.cmp(&b.contractor))
    });

    let (open, overdue) = open_and_overdue(in_period.iter(), now);
    let totals = WorkTotals {
        work_orders: in_period.len() as u64,
        open,
        overdue,
        resolved: in_period.len() as u64 - open,
    };
    DashboardFigures {
        totals,
        compliance: report,
        contractors,
    }
}

fn open_and_overdue<'a>(
    orders: impl Iterator<Item = &'a &'a WorkOrderSummary>,
    now: Timestamp,
) -> (u64, u64) {
    let mut counts = (0, 0);
    for order in orders.filter(|order| order.resolved_at.is_none()) {
        counts.0 += 1;
        if order.resolution_due_at.is_some_and(|due_at| due_at < now) {
            counts.1 += 1;
        }
    }
    counts
}

/// Reads the work orders (all, or those answering to `within_jurisdiction`) and
/// computes the figures off the executor.
pub async fn load_figures(
    store: &SharedStore,
    within_jurisdiction: Option<i64>,
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> Result<DashboardFigures> {
    let work_orders = store.work_order_summaries(within_jurisdiction).await?;
    blocking(move || Ok(dashboard_figures(&work_orders, from, to, now))).await
}
