//! The supervisors' triage: reports the classifier was unsure about (or disagreed
//! on) and the category corrections that settle them.
//!
//! `GET /api/v1/triage` lists the reports waiting in the supervisor's jurisdiction;
//! `POST /api/v1/reports/{id}/category` with `{"category": "pothole"}` sets a report's
//! category. Every correction, a confirmation of the current category included, is
//! kept as a labelled example for the model (`cityfix export-training-data`).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::state::AppState;
use crate::auth::{AuthError, Supervisor};
use crate::store::{CategoryCorrection, CorrectionOutcome, CorrectionRecord, TriageItem};

/// Most reports one triage page lists.
const MAX_TRIAGE_PAGE: usize = 500;

/// Query of the triage list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageParams {
    limit: Option<usize>,
}

/// Body of a category correction.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    category: String,
}

/// Reports marked for triage in the supervisor's jurisdiction, oldest first.
pub async fn list(
    State(state): State<AppState>,
    supervisor: Supervisor,
    ApiQuery(params): ApiQuery<TriageParams>,
) -> ApiResult<Json<Vec<TriageItem>>> {
    let limit = params
        .limit
        .unwrap_or(MAX_TRIAGE_PAGE)
        .clamp(1, MAX_TRIAGE_PAGE);
    let items = state
        .pipeline
        .store()
        .triage_reports(supervisor.jurisdiction_id, limit)
        .await?;
    Ok(Json(items))
}

/// Sets a report's category (and its incident's); 200 with the stored correction.
pub async fn correct(
    State(state): State<AppState>,
    supervisor: Supervisor,
    ApiPath(report_id): ApiPath<i64>,
    ApiJson(body): ApiJson<CategoryBody>,
) -> ApiResult<Json<CorrectionRecord>> {
    let category = body.category.trim();
    if category.is_empty() {
        return Err(ApiError::unprocessable(
            "invalid_category",
            "category must be a category slug of the set-up, not empty",
        ));
    }
    let correction = CategoryCorrection {
        report_id,
        category: category.to_string(),
        supervisor_token_id: supervisor.token_id,
        supervisor_jurisdiction_id: supervisor.jurisdiction_id,
        at: jiff::Timestamp::now(),
    };
    match state.pipeline.store().correct_category(&correction).await? {
        CorrectionOutcome::Corrected(record) => Ok(Json(record)),
        CorrectionOutcome::ReportNotFound => {
            Err(ApiError::not_found(&format!("report {report_id}")))
        }
        CorrectionOutcome::OtherJurisdiction => Err(AuthError::Forbidden(format!(
            "report {report_id} lies outside the jurisdiction you supervise"
        ))
        .into()),
        CorrectionOutcome::UnknownCategory => Err(ApiError::unprocessable(
            "unknown_category",
            format!("no category {category:?} in the city's set-up"),
        )),
    }
}
