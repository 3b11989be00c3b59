//! Request logging: one INFO line per request, with structured fields.
//!
//! Each request runs inside a `request` span carrying its id, so whatever a
//! handler logs is tied to it; when the answer is ready one `request finished`
//! event gives `http.method`, `http.matched_path`, `http.status_code`,
//! `duration_ms`, `request_id` and the domain ids the handler attached with
//! [`LoggedIds`]. Headers are never logged, so credentials stay out of logs.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponseParts, Response, ResponseParts};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};

/// Header carrying the request id, both ways.
pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Domain ids a handler attaches to its answer so the request line names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoggedIds {
    pub report_id: Option<i64>,
    pub incident_id: Option<i64>,
    pub jurisdiction_id: Option<i64>,
    pub work_order_id: Option<i64>,
}

impl IntoResponseParts for LoggedIds {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

/// Middleware: assigns a request id, runs the request in its span, logs the outcome.
pub async fn log_requests(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request_id(&req);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        req.headers_mut().insert(REQUEST_ID_HEADER.clone(), value);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let matched_path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", MatchedPath::as_str)
        .to_owned();

    let span = tracing::info_span!("request", request_id = %request_id);
    let mut response = next.run(req).instrument(span.clone()).await;

    let ids = response
        .extensions()
        .get::<LoggedIds>()
        .copied()
        .unwrap_or_default();
    tracing::info!(
        parent: &span,
        http.method = %method,
        http.matched_path = %matched_path,
        http.path = %path,
        http.status_code = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id = %request_id,
        report.id = ids.report_id,
        incident.id = ids.incident_id,
        jurisdiction.id = ids.jurisdiction_id,
        work_order.id = ids.work_order_id,
        "request finished"
    );

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(REQUEST_ID_HEADER.clone(), value);
    }
    response
}

/// The client's request id when it is a short plain token, else a fresh one;
/// anything else could smuggle line breaks or junk into the logs.
fn request_id(req: &Request) -> String {
    let offered = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    match offered {
        Some(id) => id.to_owned(),
        None => hex::encode(rand::random::<[u8; 12]>()),
    }
}

/// Log line format: human-readable text, or one JSON object per line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber: levels from `RUST_LOG` (default `info`,
/// with sqlx's per-query lines at `warn`), lines to stderr in `format`.
pub fn init_tracing(format: LogFormat) -> Result<(), TryInitError> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.finish().try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .finish()
            .try_init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with_id(id: &str) -> Request {
        Request::builder()
            .header("x-request-id", id)
            .body(axum::body::Body::empty())
            .unwrap()
    }

    #[test]
    fn a_plain_client_request_id_is_kept() {
        assert_eq!(request_id(&request_with_id("abc-123")), "abc-123");
    }

    #[test]
    fn a_request_id_with_odd_bytes_is_replaced() {
        let id = request_id(&request_with_id("evil id\" injected=1"));
        assert_eq!(id.len(), 24);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
