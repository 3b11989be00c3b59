//! Extractors whose failures answer in the API's one error shape.
//!
//! Axum's own `Json`, `Query` and `Path` reject with plain-text bodies; these
//! wrappers read the same things but turn every rejection into an
//! [`ApiError`] that says what was wrong: a wrong content type, a body that
//! is too large, bytes that are not UTF-8, JSON that does not parse, a field
//! of the wrong type.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::error::ApiError;

/// A JSON body, checked for content type, size, UTF-8 and syntax in that order.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(unsupported_media_type("application/json"));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        parse_json(&body).map(Self)
    }
}

/// Whether the request declares a JSON body (`application/json` or `…+json`).
/// An instant in a query string: RFC 3339 with an offset
/// (`2025-06-01T08:00:00-04:00`), with a time zone
/// (`2025-06-01T08:00:00[America/New_York]`), or a date (`2025-06-01`, midnight
/// UTC). A time of day without an offset is refused: which day it falls on
/// depends on a zone it does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryInstant(pub Timestamp);

impl<'de> Deserialize<'de> for QueryInstant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_query_instant(&text)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

fn parse_query_instant(text: &str) -> Result<Timestamp, String> {
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Ok(instant);
    }
    if let Ok(zoned) = text.parse::<jiff::Zoned>() {
        return Ok(zoned.timestamp());
    }
    let is_date = text.len() == 10 && !text.contains('T');
    if is_date && let Ok(date) = text.parse::<Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|zoned| zoned.timestamp())
            .map_err(|err| format!("{text:?} is out of range: {err}"));
    }
    if text.parse::<jiff::civil::DateTime>().is_ok() {
        return Err(format!(
            "{text:?} has no offset: add one (2025-06-01T08:00:00Z, \
             2025-06-01T08:00:00-04:00) or a zone (2025-06-01T08:00:00[America/New_York])"
        ));
    }
    Err(format!(
        "{text:?} is neither an RFC 3339 instant (2025-06-01T00:00:00Z) nor a date (2025-06-01)"
    ))
}

/// The period `[from, to)` of a query, by default everything up to `now`.
pub fn period(
    from: Option<QueryInstant>,
    to: Option<QueryInstant>,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp), ApiError> {
    let from = from.map_or(Timestamp::UNIX_EPOCH, |q| q.0);
    let to = to.map_or(now, |q| q.0);
    if from >= to {
        return Err(ApiError::unprocessable(
            "invalid_period",
            format!("`from` ({from}) must be before `to` ({to})"),
        ));
    }
    Ok((from, to))
}

pub fn is_json(headers: &HeaderMap) -> bool {
    content_type(headers).is_some_and(|mime| {
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
    })
}

/// The request's media type, lowercased, without parameters.
pub fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let mime = value.split(';').next().unwrap_or_default().trim();
    Some(mime.to_ascii_lowercase())
}

/// 415 naming what the endpoint accepts.
pub fn unsupported_media_type(accepted: &str) -> ApiError {
    ApiError::client(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("the body must be sent with Content-Type: {accepted}"),
    )
}

/// Parses a JSON document, telling invalid UTF-8, bad syntax and bad values apart.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let text = utf8(body, "the JSON body")?;
    // serde reads a struct from an array of its fields in order too; every body
    // of this API is an object with named fields.
    if text.trim_start().starts_with('[') {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "the body must be a JSON object with named fields, not an array",
        ));
    }
    serde_json::from_str(text).map_err(|err| {
        use serde_json::error::Category;
        match err.classify() {
            Category::Data => ApiError::unprocessable("invalid_field", err.to_string()),
            Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
                "malformed_json",
                format!("the body is not valid JSON: {err}"),
            ),
        }
    })
}

/// Checks that `bytes` are UTF-8, naming `what` and the offending offset if not.
pub fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, ApiError> {
    std::str::from_utf8(bytes).map_err(|err| {
        ApiError::bad_request(
            "invalid_utf8",
            format!(
                "{what} is not valid UTF-8 (first bad byte at offset {})",
                err.valid_up_to()
            ),
        )
    })
}

/// Maps a failure to buffer a body: too large is 413, anything else 400.
pub fn body_rejection(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return payload_too_large();
    }
    tracing::debug!(error = %rejection.body_text(), "failed to read request body");
    ApiError::bad_request("unreadable_body", "the request body could not be read")
}

/// 413 for any body over the endpoint's limit.
pub fn payload_too_large() -> ApiError {
    ApiError::client(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the request body is larger than this endpoint accepts",
    )
}

/// Query-string parameters; a bad query answers 400 naming the parameter.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await.map_err(
            |rejection: QueryRejection| {
                ApiError::bad_request("invalid_query", rejection.body_text())
            },
        )?;
        Ok(Self(value))
    }
}

/// Path parameters; a bad one (a report id that is not a number) answers 400.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(value) = Path::<T>::from_request_parts(parts, state).await.map_err(
            |rejection: PathRejection| ApiError::bad_request("invalid_path", rejection.body_text()),
        )?;
        Ok(Self(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Point {
        #[allow(dead_code)]
        lat: f64,
    }

    #[test]
    fn syntax_errors_are_400_and_type_errors_422() {
        let syntax = parse_json::<Point>(b"{\"lat\": ").unwrap_err();
        assert_eq!(syntax.status(), StatusCode::BAD_REQUEST);
        assert_eq!(syntax.code(), "malformed_json");

        let data = parse_json::<Point>(b"{\"lat\": \"north\"}").unwrap_err();
        assert_eq!(data.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(data.code(), "invalid_field");
    }

    #[test]
    fn invalid_utf8_is_named_with_its_offset() {
        let err = parse_json::<Point>(b"{\"lat\": 1, \"x\": \"\xff\"}").unwrap_err();
        assert_eq!(err.code(), "invalid_utf8");
        assert!(err.to_string().contains("offset 17"), "{err}");
    }

    #[test]
    fn content_type_parameters_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&headers));
        headers.insert(CONTENT_TYPE, "application/geo+json".parse().unwrap());
        assert!(is_json(&headers));
        headers.insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!is_json(&headers));
    }
}

#[cfg(test)]
mod query_instant_tests {
    use super::parse_query_instant;

    #[test]
    fn instants_keep_their_time_and_dates_are_midnight_utc() {
        let at = |text: &str| parse_query_instant(text).map(|t| t.to_string());
        assert_eq!(at("2025-01-01T15:30:00Z").unwrap(), "2025-01-01T15:30:00Z");
        assert_eq!(
            at("2025-01-01T10:30:00-05:00").unwrap(),
            "2025-01-01T15:30:00Z"
        );
        assert_eq!(
            at("2025-01-01T10:30:00[America/New_York]").unwrap(),
            "2025-01-01T15:30:00Z"
        );
        assert_eq!(at("2025-01-01").unwrap(), "2025-01-01T00:00:00Z");
        assert!(at("2025-01-01T15:30:00").unwrap_err().contains("no offset"));
        assert!(at("yesterday").unwrap_err().contains("neither"));
        assert!(at("2025-13-01").is_err());
    }
}
