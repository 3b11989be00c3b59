//! The escalation webhook: a JSON POST to a URL the city configures, sent
//! once a breach is recorded.
//!
//! One [`Webhook::send`] tries a few times with a growing pause. Delivery
//! over longer outages and across crashes is the breach scanner's: the breach
//! row keeps the notice due until a send succeeds (see
//! [`crate::work_orders::scanner`]).

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::DeadlineKind;

/// How many times a POST is attempted before giving up.
const ATTEMPTS: u32 = 3;

/// What the webhook receives for one breach.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EscalationNotice {
    pub work_order_id: i64,
    pub incident_id: i64,
    pub jurisdiction_id: Option<i64>,
    pub category: String,
    pub contractor: Option<String>,
    pub deadline: DeadlineKind,
    pub due_at: Timestamp,
    pub detected_at: Timestamp,
}

/// Why a webhook was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("invalid webhook URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("webhook POST failed after {attempts} attempts: {last}")]
    Failed { attempts: u32, last: String },
}

/// A configured escalation webhook.
#[derive(Clone, Debug)]
pub struct Webhook {
    url: reqwest::Url,
    client: reqwest::Client,
    retry_pause: Duration,
}

impl Webhook {
    /// A webhook posting to `url` (http or https), with a 10-second timeout per attempt.
    pub fn new(url: &str) -> Result<Self, WebhookError> {
        let invalid = |reason: String| WebhookError::InvalidUrl {
            url: url.to_string(),
            reason,
        };
        let parsed = reqwest::Url::parse(url).map_err(|error| invalid(error.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("only http and https are supported".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| invalid(error.to_string()))?;
        Ok(Self {
            url: parsed,
            client,
            retry_pause: Duration::from_millis(500),
        })
    }

    /// The same webhook with another pause between attempts (tests use none).
    pub fn with_retry_pause(mut self, pause: Duration) -> Self {
        self.retry_pause = pause;
        self
    }

    /// The URL posted to.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// POSTs the notice as JSON; a 2xx answer is success.
    pub async fn send(&self, notice: &EscalationNotice) -> Result<(), WebhookError> {
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            match self.client.post(self.url.clone()).json(notice).send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => last = format!("answered {}", response.status()),
                Err(error) => last = error.to_string(),
            }
            tracing::warn!(
                work_order.id = notice.work_order_id,
                attempt,
                error = %last,
                "escalation webhook attempt failed"
            );
            if attempt < ATTEMPTS {
                tokio::time::sleep(self.retry_pause * attempt).await;
            }
        }
        Err(WebhookError::Failed {
            attempts: ATTEMPTS,
            last,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Json;
    use axum::http::StatusCode;
    use axum::routing::post;

    use super::*;

    fn notice() -> EscalationNotice {
        EscalationNotice {
            work_order_id: 5,
            incident_id: 9,
            jurisdiction_id: Some(2),
            category: "pothole".into(),
            contractor: Some("acme".into()),
            deadline: DeadlineKind::Resolution,
            due_at: "2025-06-01T09:00:00Z".parse().unwrap(),
            detected_at: "2025-06-01T09:00:30Z".parse().unwrap(),
        }
    }

    /// A local receiver that fails `failures` times, then records bodies.
    async fn receiver(failures: usize) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(Mutex::new(0_usize));
        let (seen_in, calls_in) = (seen.clone(), calls.clone());
        let app = axum::Router::new().route(
            "/hook",
            post(move |Json(body): Json<serde_json::Value>| async move {
                let mut calls = calls_in.lock().unwrap();
                *calls += 1;
                if *calls <= failures {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                seen_in.lock().unwrap().push(body);
                StatusCode::NO_CONTENT
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}/hook"), seen)
    }

    #[tokio::test]
    async fn posts_the_notice_and_retries_a_failure() {
        let (url, seen) = receiver(1).await;
        let webhook = Webhook::new(&url).unwrap().with_retry_pause(Duration::ZERO);
        webhook.send(&notice()).await.unwrap();

        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0]["work_order_id"], 5);
        assert_eq!(seen[0]["deadline"], "resolution");
        assert_eq!(seen[0]["due_at"], "2025-06-01T09:00:00Z");
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt() {
        let (url, seen) = receiver(10).await;
        let webhook = Webhook::new(&url).unwrap().with_retry_pause(Duration::ZERO);
        let error = webhook.send(&notice()).await.unwrap_err();
        assert!(error.to_string().contains("503"), "{error}");
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn only_http_urls_are_accepted() {
        assert!(Webhook::new("ftp://example.org/x").is_err());
        assert!(Webhook::new("not a url").is_err());
    }
}
