//! What every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;

use super::idempotency::IdempotencyCache;
use crate::analytics::AnalyticsView;
use crate::auth::Authenticator;
use crate::clock::SystemClock;
use crate::events::live::LiveFeed;
use crate::pipeline::Pipeline;
use crate::work_orders::WorkDesk;

/// Size limits on what clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest photo accepted in a report, in bytes.
    pub max_photo_bytes: usize,
    /// Largest JSON body accepted anywhere, in bytes.
    pub max_json_bytes: usize,
    /// Longest report description, in characters.
    pub max_description_chars: usize,
    /// Most incidents in one page of `GET /api/v1/incidents`.
    pub max_incidents_per_page: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_photo_bytes: 12 * 1024 * 1024,
            max_json_bytes: 64 * 1024,
            max_description_chars: 2000,
            max_incidents_per_page: 1000,
        }
    }
}

impl Limits {
    /// Largest `POST /api/v1/reports` body: a photo plus room for the fields.
    pub fn max_report_body_bytes(&self) -> usize {
        self.max_photo_bytes + self.max_json_bytes
    }
}

impl AppState {
    /// The work order desk over this state's pipeline and live feed, on the
    /// system clock.
    pub fn desk(&self) -> WorkDesk {
        WorkDesk::new(
            self.pipeline.clone(),
            self.live.clone(),
            Arc::new(SystemClock),
        )
    }
}

/// Shared state of the HTTP server; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pipeline: Arc<Pipeline>,
    pub auth: Authenticator,
    pub live: LiveFeed,
    /// Reports and incidents indexed for the dashboard's maps.
    pub analytics: AnalyticsView,
    pub idempotency: Arc<IdempotencyCache>,
    pub limits: Limits,
}
