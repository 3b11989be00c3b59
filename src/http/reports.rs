//! `POST /api/v1/reports` and what a citizen follows afterwards.
//!
//! A report comes as multipart (a `photo` part and the fields as text parts)
//! or as JSON without a photo. The fields are `lat`, `lon`, `category`,
//! `description` and `accuracy_m`. An `Idempotency-Key` header makes a retry
//! answer the first report instead of filing a second one, within this
//! process (the in-memory cache) and across restarts (the store's key).

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, body_rejection, content_type, is_json, parse_json, utf8};
use super::idempotency::{Fingerprint, IdempotencyKey};
use super::logging::LoggedIds;
use super::state::AppState;
use crate::pipeline::IntakeError;
use crate::reports::{Submission, check_typed_text};
use crate::store::{RecordOutcome, ReportView};

/// Source name of reports sent through the API.
pub const API_SOURCE: &str = "api";

/// The JSON form of a report (no photo).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonReport {
    lat: Option<f64>,
    lon: Option<f64>,
    category: Option<String>,
    description: Option<String>,
    accuracy_m: Option<f64>,
}

/// Files a report; 201 with the report as its citizen follows it.
pub async fn create(State(state): State<AppState>, request: Request) -> ApiResult<Response> {
    let key = IdempotencyKey::from_headers(request.headers())?;
    let mut submission = read_submission(&state, request).await?;
    submission.source = API_SOURCE.to_string();

    let Some(key) = key else {
        return file(state, submission).await;
    };
    submission.source_id = Some(key.as_str().to_string());
    let fingerprint = fingerprint_of(&submission);
    let cache = state.idempotency.clone();
    cache
        .run(key, fingerprint, async move {
            file(state, submission)
                .await
                .unwrap_or_else(IntoResponse::into_response)
        })
        .await
}

async fn file(state: AppState, submission: Submission) -> ApiResult<Response> {
    let intake = state.pipeline.submit(submission).await?;
    let (report_id, status) = match intake.outcome {
        RecordOutcome::Recorded { report_id, .. } => (report_id, StatusCode::CREATED),
        RecordOutcome::AlreadyRecorded { report_id, .. } => (report_id, StatusCode::OK),
    };
    let view = state
        .pipeline
        .store()
        .report(report_id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("report {report_id} vanished after intake")))?;

    let ids = LoggedIds {
        report_id: Some(view.id),
        incident_id: Some(view.incident_id),
        jurisdiction_id: Some(view.jurisdiction.id),
        work_order_id: None,
    };
    Ok((status, ids, Json(view)).into_response())
}

fn fingerprint_of(submission: &Submission) -> Fingerprint {
    Fingerprint::of(&[&submission.content_digest()])
}

async fn read_submission(state: &AppState, request: Request) -> ApiResult<Submission> {
    let submission = read_fields(state, request).await?;
    check_typed_text(&submission).map_err(|err| ApiError::from(IntakeError::Report(err)))?;
    Ok(submission)
}

async fn read_fields(state: &AppState, request: Request) -> ApiResult<Submission> {
    if is_json(request.headers()) {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(body_rejection)?;
        if body.len() > state.limits.max_json_bytes {
            return Err(super::extract::payload_too_large());
        }
        let report: JsonReport = parse_json(&body)?;
        return Ok(Submission {
            lat: report.lat,
            lon: report.lon,
            // Trimmed as the multipart form's fields are.
            category: report
                .category
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
            description: report.description,
            accuracy_m: report.accuracy_m,
            ..Submission::default()
        });
    }
    if content_type(request.headers()).as_deref() == Some("multipart/form-data") {
        let multipart = Multipart::from_request(request, state)
            .await
            .map_err(|rejection| {
                ApiError::bad_request("malformed_multipart", rejection.body_text())
            })?;
        return read_multipart(multipart).await;
    }
    Err(ApiError::client(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "send the report as multipart/form-data (with a photo) or application/json",
    ))
}

async fn read_multipart(mut multipart: Multipart) -> ApiResult<Submission> {
    let mut submission = Submission::default();
    let mut seen = std::collections::HashSet::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        if !seen.insert(name.clone()) {
            return Err(ApiError::unprocessable(
                "duplicate_field",
                format!("field {name:?} is sent twice; send each field once"),
            ));
        }
        let bytes = field.bytes().await.map_err(multipart_error)?;
        if name == "photo" {
            submission.photo = Some(bytes);
            continue;
        }
        let text = utf8(&bytes, &format!("field {name:?}"))?.trim().to_string();
        match name.as_str() {
            "lat" => submission.lat = Some(number(&name, &text)?),
            "lon" => submission.lon = Some(number(&name, &text)?),
            "accuracy_m" => submission.accuracy_m = Some(number(&name, &text)?),
            "category" => submission.category = Some(text).filter(|t| !t.is_empty()),
            "description" => submission.description = Some(text),
            other => {
                return Err(ApiError::unprocessable(
                    "unknown_field",
                    format!(
                        "unknown field {other:?}: send photo, lat, lon, category, description, accuracy_m"
                    ),
                ));
            }
        }
    }
    Ok(submission)
}

fn multipart_error(err: axum::extract::multipart::MultipartError) -> ApiError {
    let status = err.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return super::extract::payload_too_large();
    }
    ApiError::bad_request("malformed_multipart", err.body_text())
}

fn number(field: &str, text: &str) -> ApiResult<f64> {
    text.parse::<f64>().map_err(|_| {
        ApiError::unprocessable(
            "invalid_field",
            format!("{field} = {text:?} is not a number"),
        )
    })
}

/// `GET /api/v1/reports/{id}`: the report and where its incident stands.
pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ReportView>> {
    let view = state.pipeline.store().report(id).await?;
    view.map(Json)
        .ok_or_else(|| ApiError::not_found(&format!("report {id}")))
}

/// `GET /api/v1/reports/{id}/photo`: the stored, stripped JPEG.
pub async fn photo(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let store = state.pipeline.store();
    let sha256 = store
        .report_photo(id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("photo of report {id}")))?;
    let bytes = state
        .pipeline
        .photos()
        .get(&sha256)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal(format!("photo {sha256} of report {id} is missing")))?;

    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    // Content-addressed: the bytes behind this report never change.
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    Ok((headers, Body::from(bytes)).into_response())
}
