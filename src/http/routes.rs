//! Every route of the API, in one place.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::error::ApiError;
use super::logging::log_requests;
use super::{
    AppState, dashboard, figures, incidents, live, maps, reports, session, supervise, triage,
    work_orders,
};

/// The whole API as one router; `main` serves it and the tests call it directly.
pub fn app(state: AppState) -> Router {
    let limits = state.limits;

    let report_body_limit = DefaultBodyLimit::max(limits.max_report_body_bytes());
    Router::new()
        .route("/healthz", get(healthz))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/assets/{name}", get(dashboard::asset))
        .route("/dashboard/assets/images/{name}", get(dashboard::image))
        .route(
            "/api/v1/reports",
            post(reports::create)
                .layer(report_body_limit)
                .layer(middleware::from_fn(report_timeout)),
        )
        .route("/api/v1/reports/{id}", get(reports::show))
        .route("/api/v1/reports/{id}/photo", get(reports::photo))
        .route("/api/v1/reports/{id}/category", post(triage::correct))
        .route("/api/v1/triage", get(triage::list))
        .route("/api/v1/incidents", get(incidents::list))
        .route("/api/v1/jurisdictions", get(incidents::jurisdictions))
        .route(
            "/api/v1/session",
            get(session::show)
                .post(session::open)
                .delete(session::close),
        )
        .route("/api/v1/events/stream", get(live::stream))
        .route("/api/v1/work-orders", get(work_orders::queue))
        .route("/api/v1/work-orders/{id}", get(work_orders::show))
        .route("/api/v1/work-orders/{id}/accept", post(work_orders::accept))
        .route("/api/v1/work-orders/{id}/start", post(work_orders::start))
        .route(
            "/api/v1/work-orders/{id}/resolve",
            post(work_orders::resolve)
                .layer(DefaultBodyLimit::max(limits.max_report_body_bytes()))
                .layer(middleware::from_fn(report_timeout)),
        )
        .route("/api/v1/work-orders/{id}/reject", post(work_orders::reject))
        .route(
            "/api/v1/work-orders/{id}/reassign",
            post(supervise::reassign),
        )
        .route("/api/v1/work-orders/{id}/close", post(supervise::close))
        .route("/api/v1/work-orders/{id}/reopen", post(supervise::reopen))
        .route("/api/v1/overdue", get(supervise::overdue))
        .route("/api/v1/figures", get(supervise::figures))
        .route("/api/v1/heatmap", get(maps::heatmap))
        .route("/api/v1/clusters", get(maps::clusters))
        .route("/api/v1/hotspots", get(maps::hotspots))
        .route("/api/v1/dashboard/summary", get(figures::summary))
        .route("/api/v1/dashboard/figures", get(figures::figures))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_json_bytes))
        .layer(middleware::from_fn(log_requests))
        .with_state(state)
}

/// Longest a report submission may take, upload and photo decode included:
/// a client that trickles its body holds a connection no longer than this.
const REPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

async fn report_timeout(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REPORT_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::client(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request took longer than {} s",
                REPORT_TIMEOUT.as_secs()
            ),
        )
        .into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::client(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such endpoint: {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::client(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
