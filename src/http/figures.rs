//! `GET /api/v1/dashboard/summary` and `GET /api/v1/dashboard/figures`: what the
//! dashboard's panels and filter lists show.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
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
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

/// SLA compliance (open / met / breached, median and p90 hours to resolve) per
/// jurisdiction, category and contractor, and the contractor table ordered by
/// overdue work, as they stand now.
pub async fn figures(
    _supervisor: Supervisor,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<FigureParams>,
) -> ApiResult<Json<DashboardFigures>> {
    let now = Timestamp::now();
    let from = params.from.unwrap_or(Timestamp::UNIX_EPOCH);
    let to = params.to.unwrap_or(now);
    if from >= to {
        return Err(ApiError::unprocessable(
            "invalid_period",
            format!("`from` ({from}) must be before `to` ({to})"),
        ));
    }

    let figures = load_figures(state.pipeline.store(), from, to, now).await?;
    Ok(Json(figures))
}
