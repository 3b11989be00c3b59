//! The one place where failures become HTTP answers.
//!
//! Every error the API returns has the shape `{"error":{"code":"…","message":"…"}}`.
//! A 4xx message tells the client what was wrong with its request; a 5xx message
//! says nothing internal, and the detail goes to the log instead.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::AuthError;

/// Result alias for handlers and extractors.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The client's request was wrong; `message` says how.
    #[error("{code}: {message}")]
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// Something failed on our side; `detail` is logged, never sent.
    #[error("internal error: {detail}")]
    Internal { detail: String },
    /// A dependency (the store) is down; the client may retry later.
    #[error("unavailable: {detail}")]
    Unavailable { detail: String },
}

impl ApiError {
    /// A client error with an explicit status.
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Client {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request could not be read at all (syntax, encoding, shape).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422: the request was readable but a value in it is not acceptable.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 404 for a named thing that does not exist.
    pub fn not_found(what: &str) -> Self {
        Self::client(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 500, keeping `detail` for the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal {
            detail: detail.to_string(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Client { status, .. } => *status,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Client { code, .. } => code,
            Self::Internal { .. } => "internal",
            Self::Unavailable { .. } => "unavailable",
        }
    }

    fn public_message(&self) -> String {
        match self {
            Self::Client { message, .. } => message.clone(),
            Self::Internal { .. } => "internal server error".to_owned(),
            Self::Unavailable { .. } => "service temporarily unavailable".to_owned(),
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal { detail } => tracing::error!(error.detail = %detail, "request failed"),
            Self::Unavailable { detail } => {
                tracing::warn!(error.detail = %detail, "dependency unavailable");
            }
            Self::Client { .. } => {}
        }

        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.public_message(),
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        if self.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"cityfix\""),
            );
        }
        response
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::MissingCredentials => Self::client(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "this endpoint needs a bearer token (Authorization: Bearer …) or a session cookie",
            ),
            AuthError::MalformedCredentials(why) => Self::client(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                format!("the credentials could not be read: {why}"),
            ),
            AuthError::UnknownToken => Self::client(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the token is unknown or has been revoked",
            ),
            AuthError::WrongRole { needed } => Self::client(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this endpoint needs a {needed} token"),
            ),
            AuthError::Forbidden(why) => Self::client(StatusCode::FORBIDDEN, "forbidden", why),
            AuthError::InvalidGrant(why) => Self::unprocessable("invalid_grant", why),
            AuthError::Store(detail) => Self::Internal { detail },
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match err {
            StoreError::NotFound(what) => Self::not_found(&what),
            StoreError::Refused(refused) => refused.into(),
            StoreError::Invalid(why) => Self::unprocessable("invalid_request", why),
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => {
                Self::Unavailable {
                    detail: err.to_string(),
                }
            }
            other => Self::internal(other),
        }
    }
}

impl From<crate::dispatch::TransitionError> for ApiError {
    fn from(err: crate::dispatch::TransitionError) -> Self {
        use crate::dispatch::TransitionError as E;
        let message = err.to_string();
        match err {
            E::NotYourWorkOrder | E::WrongRole { .. } => {
                Self::client(StatusCode::FORBIDDEN, "forbidden", message)
            }
            E::Missing { .. } => Self::unprocessable("missing_field", message),
            E::Closed { .. } | E::NotAllowed { .. } | E::UnknownStatus(_) => {
                Self::client(StatusCode::CONFLICT, "invalid_transition", message)
            }
        }
    }
}

impl From<crate::work_orders::WorkError> for ApiError {
    fn from(err: crate::work_orders::WorkError) -> Self {
        use crate::work_orders::WorkError;
        match err {
            WorkError::Store(store) => store.into(),
            WorkError::Photo(intake) => intake.into(),
            WorkError::NotFound(id) => Self::not_found(&format!("work order {id}")),
            WorkError::OutsideJurisdiction(_) => {
                Self::client(StatusCode::FORBIDDEN, "forbidden", err.to_string())
            }
            WorkError::EmptyPeriod => Self::unprocessable("invalid_query", err.to_string()),
        }
    }
}

impl From<crate::pipeline::IntakeError> for ApiError {
    fn from(err: crate::pipeline::IntakeError) -> Self {
        use crate::photos::PhotoError;
        use crate::pipeline::IntakeError;
        let code = err.code();
        match err {
            IntakeError::Store(store) => store.into(),
            IntakeError::Classify(detail) => Self::internal(detail),
            IntakeError::Photo(PhotoError::Io { .. }) => Self::internal(err),
            IntakeError::Photo(PhotoError::TooLarge(_)) => {
                Self::client(StatusCode::PAYLOAD_TOO_LARGE, code, err.to_string())
            }
            IntakeError::NotSetUp | IntakeError::SetupNoLongerApplies(_) => {
                Self::client(StatusCode::SERVICE_UNAVAILABLE, code, err.to_string())
            }
            IntakeError::Report(crate::reports::ReportError::NotANumber { .. }) => {
                Self::unprocessable("invalid_position", err.to_string())
            }
            _ => Self::unprocessable(code, err.to_string()),
        }
    }
}

impl From<crate::heatmap::HeatmapError> for ApiError {
    fn from(err: crate::heatmap::HeatmapError) -> Self {
        use crate::heatmap::HeatmapError;
        match err {
            HeatmapError::InvalidBbox(_) => Self::unprocessable("invalid_bbox", err.to_string()),
            HeatmapError::InvalidResolution(_) => {
                Self::unprocessable("invalid_resolution", err.to_string())
            }
            HeatmapError::InvalidZoom(_) => Self::unprocessable("invalid_zoom", err.to_string()),
            HeatmapError::InvalidPeriod { .. } => {
                Self::unprocessable("invalid_period", err.to_string())
            }
            HeatmapError::InvalidPosition { .. } | HeatmapError::TooManyValues { .. } => {
                Self::internal(err)
            }
        }
    }
}

impl From<crate::analytics::AnalyticsError> for ApiError {
    fn from(err: crate::analytics::AnalyticsError) -> Self {
        use crate::analytics::AnalyticsError;
        use crate::clusters::ClusterError;
        use crate::hotspots::HotspotError;
        match err {
            AnalyticsError::Heatmap(err) | AnalyticsError::Hotspots(HotspotError::Heatmap(err)) => {
                err.into()
            }
            AnalyticsError::Hotspots(HotspotError::InvalidQuery(_)) => {
                Self::unprocessable("invalid_query", err.to_string())
            }
            AnalyticsError::Clusters(ClusterError::InvalidZoom(_)) => {
                Self::unprocessable("invalid_zoom", err.to_string())
            }
            AnalyticsError::TooManyCells { .. } => {
                Self::unprocessable("too_many_cells", err.to_string())
            }
            AnalyticsError::Store(err) => err.into(),
            AnalyticsError::Clusters(_) | AnalyticsError::Task(_) => Self::internal(err),
        }
    }
}
