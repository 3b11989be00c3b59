//! The contractors' endpoints: `GET /api/v1/work-orders` (the caller's own
//! queue, most urgent first) and the steps `accept`, `start`, `resolve`
//! (multipart with the after-photo in a `photo` part) and `reject` (JSON
//! `{"reason": "…"}`). `GET /api/v1/work-orders/{id}` answers a contractor
//! for its own orders and a supervisor for orders of their jurisdiction.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::logging::LoggedIds;
use super::state::AppState;
use crate::auth::{Authenticator, Contractor, Grant};
use crate::dispatch::{Command, WorkOrderState};
use crate::events::Event;
use crate::store::{ChangeOutcome, WorkOrderDetail, WorkOrderView};
use crate::work_orders::Caller;

/// Most work orders in one answer.
pub const MAX_WORK_ORDERS_PER_PAGE: usize = 1000;

/// A list of work orders.
#[derive(Debug, Serialize)]
pub struct WorkOrderList {
    pub work_orders: Vec<WorkOrderView>,
}

/// What a step did: the order as it now stands and the events it appended.
#[derive(Debug, Serialize)]
pub struct WorkOrderChanged {
    pub work_order: WorkOrderState,
    pub events: Vec<Event>,
}

impl WorkOrderChanged {
    pub(super) fn answer(outcome: ChangeOutcome) -> (LoggedIds, Json<Self>) {
        let ids = LoggedIds {
            report_id: None,
            incident_id: Some(outcome.state.incident_id),
            jurisdiction_id: outcome.scope.first().copied(),
            work_order_id: Some(outcome.state.work_order_id),
        };
        let body = Self {
            work_order: outcome.state,
            events: outcome.events,
        };
        (ids, Json(body))
    }
}

/// Query of a list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<usize>,
}

impl ListParams {
    pub(super) fn limit(&self) -> usize {
        self.limit
            .unwrap_or(MAX_WORK_ORDERS_PER_PAGE)
            .clamp(1, MAX_WORK_ORDERS_PER_PAGE)
    }
}

/// A body with the reason for a step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

/// The caller's own open work orders, most urgent first.
pub async fn queue(
    State(state): State<AppState>,
    contractor: Contractor,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<WorkOrderList>> {
    let work_orders = state
        .desk()
        .queue(&contractor.contractor_id, params.limit())
        .await?;
    Ok(Json(WorkOrderList { work_orders }))
}

/// Either role's token, as the caller it stands for.
pub struct AnyCaller(pub Caller);

impl FromRequestParts<AppState> for AnyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let auth: &Authenticator = &state.auth;
        let principal = auth.authenticate(parts).await?;
        Ok(Self(match principal.grant {
            Grant::Contractor { contractor_id } => Caller::Contractor(contractor_id),
            Grant::Supervisor { jurisdiction_id } => Caller::Supervisor {
                token_id: principal.token_id,
                jurisdiction_id,
            },
        }))
    }
}

/// One work order with its event log.
pub async fn show(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<WorkOrderDetail>> {
    Ok(Json(state.desk().show(id, &caller).await?))
}

async fn step(
    state: &AppState,
    contractor: Contractor,
    id: i64,
    command: Command,
) -> ApiResult<(LoggedIds, Json<WorkOrderChanged>)> {
    let caller = Caller::Contractor(contractor.contractor_id);
    let outcome = state.desk().act(id, command, &caller).await?;
    Ok(WorkOrderChanged::answer(outcome))
}

/// `assigned`/`reopened` → `accepted`.
pub async fn accept(
    State(state): State<AppState>,
    contractor: Contractor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(LoggedIds, Json<WorkOrderChanged>)> {
    step(&state, contractor, id, Command::Accept).await
}

/// `accepted` → `in_progress`.
pub async fn start(
    State(state): State<AppState>,
    contractor: Contractor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(LoggedIds, Json<WorkOrderChanged>)> {
    step(&state, contractor, id, Command::Start).await
}

/// Declines the order with a reason; the dispatch rule hands it on.
pub async fn reject(
    State(state): State<AppState>,
    contractor: Contractor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<(LoggedIds, Json<WorkOrderChanged>)> {
    let command = Command::Reject {
        reason: body.reason,
    };
    step(&state, contractor, id, command).await
}

/// `in_progress` → `resolved`, with the after-photo.
pub async fn resolve(
    State(state): State<AppState>,
    contractor: Contractor,
    ApiPath(id): ApiPath<i64>,
    request: Request,
) -> ApiResult<(LoggedIds, Json<WorkOrderChanged>)> {
    let photo = after_photo(&state, request).await?;
    let caller = Caller::Contractor(contractor.contractor_id);
    let outcome = state.desk().resolve(id, photo, &caller).await?;
    Ok(WorkOrderChanged::answer(outcome))
}

async fn after_photo(state: &AppState, request: Request) -> ApiResult<Bytes> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| {
            ApiError::client(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "send the after-photo as multipart/form-data in a `photo` part ({})",
                    rejection.body_text()
                ),
            )
        })?;
    let mut photo = None;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() == Some("photo") {
            if photo.is_some() {
                return Err(ApiError::unprocessable(
                    "duplicate_field",
                    "the `photo` part is sent twice; send one after-photo",
                ));
            }
            photo = Some(field.bytes().await.map_err(multipart_error)?);
        }
    }
    photo.ok_or_else(|| {
        ApiError::unprocessable(
            "missing_photo",
            "resolving needs the after-photo in a multipart part named `photo`",
        )
    })
}

fn multipart_error(err: axum::extract::multipart::MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return super::extract::payload_too_large();
    }
    ApiError::bad_request("malformed_multipart", err.body_text())
}
