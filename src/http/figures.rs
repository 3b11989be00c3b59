//! `GET /api/v1/dashboard/summary` and `GET /api/v1/dashboard/figures`: what the
//! dashboard's panels and filter lists show.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::Deserialize;

use super::error::ApiResult;
use super::extract::{ApiQuery, QueryInstant, period};
use super::state::AppState;
use crate::analytics::{AnalyticsView, DashboardFigures, Summary, load_figures};
use crate::auth::Supervisor;

/// How many reports and incidents the view holds, the categories and statuses
/// the filters can take, and the period the data covers.
pub async fn summary(_supervisor: Supervisor, State(view): State<AnalyticsView>) -> Json<Summary> {
    Json(view.summary())
}

/// Query of `GET /api/v1/dashboard/figures`: work orders created in
/// `[from, to)`, by default all of them up to now.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureParams {
    from: Option<QueryInstant>,
    to: Option<QueryInstant>,
}

/// SLA compliance (open / met / breached, median and p90 hours to resolve) per
/// jurisdiction, category and contractor, and the contractor table ordered by
/// overdue work, as they stand now, of the work orders answering to the
/// supervisor's jurisdiction (its own and those of the jurisdictions inside it).
pub async fn figures(
    supervisor: Supervisor,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<FigureParams>,
) -> ApiResult<Json<DashboardFigures>> {
    let now = Timestamp::now();
    let (from, to) = period(params.from, params.to, now)?;

    let figures = load_figures(
        state.pipeline.store(),
        Some(supervisor.jurisdiction_id),
        from,
        to,
        now,
    )
    .await?;
    Ok(Json(figures))
}
