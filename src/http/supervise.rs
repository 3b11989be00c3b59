//! The supervisors' endpoints, each limited to the supervisor's jurisdiction
//! and the jurisdictions it contains: the overdue queue, reassigning,
//! verifying (close) and reopening work orders, and SLA compliance figures.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::Deserialize;

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, ApiQuery, QueryInstant, period};
use super::logging::LoggedIds;
use super::state::AppState;
use super::work_orders::{ListParams, Reason, WorkOrderChanged, WorkOrderList};
use crate::auth::Supervisor;
use crate::dispatch::Command;
use crate::sla::ComplianceReport;
use crate::work_orders::Caller;

fn caller(supervisor: &Supervisor) -> Caller {
    Caller::Supervisor {
        token_id: supervisor.token_id,
        jurisdiction_id: supervisor.jurisdiction_id,
    }
}

/// Work orders with a breached deadline that still await resolution.
pub async fn overdue(
    State(state): State<AppState>,
    supervisor: Supervisor,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<WorkOrderList>> {
    let work_orders = state
        .desk()
        .overdue(supervisor.jurisdiction_id, params.limit())
        .await?;
    Ok(Json(WorkOrderList { work_orders }))
}

/// Body of a reassignment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reassign {
    /// A contractor holding a contract for the order; absent: the dispatch
    /// rule picks another contractor than the current one.
    contractor: Option<String>,
}

/// Hands the order to another contractor.
pub async fn reassign(
    State(state): State<AppState>,
    supervisor: Supervisor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Reassign>,
) -> ApiResult<(LoggedIds, Json<WorkOrderChanged>)> {
    let command = Command::Reassign {
        contractor: body.contractor,
    };
    let outcome = state.desk().act(id, command, &caller(&supervisor)).await?;
    Ok(WorkOrderChanged::answer(outcome))
}

/// Verifies a resolved order and closes it (and its incident).
pub async fn close(
    State(state): State<AppState>,
    supervisor: Supervisor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(LoggedIds, Json<WorkOrderChanged>)> {
    let outcome = state
        .desk()
        .act(id, Command::Close, &caller(&supervisor))
        .await?;
    Ok(WorkOrderChanged::answer(outcome))
}

/// Sends a resolved or closed order back to its contractor, with a reason.
pub async fn reopen(
    State(state): State<AppState>,
    supervisor: Supervisor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<(LoggedIds, Json<WorkOrderChanged>)> {
    let command = Command::Reopen {
        reason: body.reason,
    };
    let outcome = state.desk().act(id, command, &caller(&supervisor)).await?;
    Ok(WorkOrderChanged::answer(outcome))
}

/// Query of the figures: a period of creation instants, by default all of
/// them up to now.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureParams {
    from: Option<QueryInstant>,
    /// Exclusive end.
    to: Option<QueryInstant>,
}

/// SLA compliance of the work orders created in the period: met, breached,
/// open, median and p90 time to resolve, per jurisdiction, category and
/// contractor.
pub async fn figures(
    State(state): State<AppState>,
    supervisor: Supervisor,
    ApiQuery(params): ApiQuery<FigureParams>,
) -> ApiResult<Json<ComplianceReport>> {
    let (from, to) = period(params.from, params.to, Timestamp::now())?;
    let report = state
        .desk()
        .figures(supervisor.jurisdiction_id, from, to)
        .await?;
    Ok(Json(report))
}
