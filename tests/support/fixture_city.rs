//! A small city for tests through the router: the sample districts, two
//! categories with one contractor each, an in-memory store, and the server's
//! state built the way `cityfix serve` builds it.

#![allow(dead_code)]
// Test support: a set-up step that fails should stop the test on the spot.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use jiff::Timestamp;
use tower::ServiceExt;

use cityfix::analytics::AnalyticsView;
use cityfix::auth::{Authenticator, Grant, PlainToken};
use cityfix::boundaries::{ImportOptions, parse_boundaries};
use cityfix::events::live::LiveFeed;
use cityfix::http::idempotency::IdempotencyCache;
use cityfix::http::{AppState, Limits, app};
use cityfix::photos::{DirPhotoStore, PhotoLimits};
use cityfix::pipeline::{Pipeline, PipelineParts};
use cityfix::reports::Submission;
use cityfix::setup::{CitySetup, JurisdictionRef};
use cityfix::store::{BoundaryImport, RecordOutcome, SharedStore, SqliteStore};

pub const SETUP: &str = r#"
city = "Testville"

[[categories]]
slug = "pothole"
name = "Pothole"
dedup_radius_m = 30
dedup_window_days = 14
default_priority = "normal"

[[categories]]
slug = "graffiti"
name = "Graffiti"
dedup_radius_m = 30
dedup_window_days = 14
default_priority = "normal"

[[contractors]]
slug = "acme"
name = "Acme Paving"

[[contractors]]
slug = "brightwall"
name = "Brightwall Cleaning"

[[contracts]]
slug = "acme-roads"
contractor = "acme"
level = "district"
jurisdictions = ["*"]
categories = ["pothole"]
valid_from = "2020-01-01"
capacity = 1000

[[contracts]]
slug = "brightwall-walls"
contractor = "brightwall"
level = "district"
jurisdictions = ["*"]
categories = ["graffiti"]
valid_from = "2020-01-01"
capacity = 1000

[sla.calendar]
time_zone = "America/New_York"
working_days = ["mon", "tue", "wed", "thu", "fri"]
working_hours = ["08:00-16:00"]
holidays_known_from = "2020-01-01"
holidays_known_until = "2030-12-31"

[[sla.policies]]
category = "*"
priority = "normal"
response = { working = "8h" }
resolution = { working = "40h" }
"#;

/// The server state, its router, and tokens of each role.
pub struct FixtureCity {
    pub state: AppState,
    pub router: Router,
    pub store: SharedStore,
    /// Jurisdiction id by external id (`N1`, `I1`, `3`).
    pub jurisdictions: Vec<(String, i64)>,
    pub supervisor_token: String,
    pub contractor_token: String,
    _photos: tempfile::TempDir,
}

/// One report to submit: category, lon, lat, time.
pub type Sent = (&'static str, f64, f64, Timestamp);

impl FixtureCity {
    /// Sets the city up, submits `history` through the pipeline, and only then
    /// builds the state, so the analytics view loads them from the store.
    pub async fn with_history(history: &[Sent]) -> Self {
        let store: SharedStore = Arc::new(SqliteStore::open_in_memory().await.unwrap());
        let jurisdictions = import_districts(&store).await;
        apply_setup(&store).await;

        let photos = tempfile::tempdir().unwrap();
        let live = LiveFeed::default();
        let pipeline = Pipeline::load(PipelineParts {
            store: store.clone(),
            classifier: None,
            photos: Arc::new(DirPhotoStore::new(photos.path().to_path_buf())),
            photo_limits: PhotoLimits::default(),
            live: live.clone(),
            max_description_chars: 2000,
            triage_threshold: 0.5,
        })
        .await
        .unwrap();
        submit_all(&pipeline, history).await;

        let analytics = AnalyticsView::start(store.clone(), &live).await.unwrap();
        let state = AppState {
            pipeline: Arc::new(pipeline),
            auth: Authenticator::new(store.clone()),
            live,
            analytics,
            idempotency: Arc::new(IdempotencyCache::default()),
            limits: Limits::default(),
        };
        let supervisor_token = token(
            &store,
            Grant::Supervisor {
                jurisdiction_id: jurisdictions[0].1,
            },
        )
        .await;
        let contractor_token = token(
            &store,
            Grant::Contractor {
                contractor_id: "acme".into(),
            },
        )
        .await;
        Self {
            router: app(state.clone()),
            state,
            store,
            jurisdictions,
            supervisor_token,
            contractor_token,
            _photos: photos,
        }
    }

    /// Submits more reports through the running pipeline (the live path).
    pub async fn submit(&self, reports: &[Sent]) -> Vec<RecordOutcome> {
        submit_all(&self.state.pipeline, reports).await
    }

    /// GET as the supervisor; the status and the JSON body.
    pub async fn get(&self, uri: &str) -> (StatusCode, serde_json::Value) {
        let bearer = format!("Bearer {}", self.supervisor_token);
        self.get_with(uri, Some(("authorization", bearer.as_str())))
            .await
    }

    /// GET with one optional header; the status and the JSON body.
    pub async fn get_with(
        &self,
        uri: &str,
        header: Option<(&str, &str)>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = Request::get(uri);
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    pub fn jurisdiction(&self, external_id: &str) -> i64 {
        self.jurisdictions
            .iter()
            .find(|(id, _)| id == external_id)
            .map(|(_, id)| *id)
            .unwrap()
    }
}

async fn import_districts(store: &SharedStore) -> Vec<(String, i64)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/boundaries/sample_districts.geojson"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let options = ImportOptions {
        id_field: "code".into(),
        name_field: "name".into(),
        strict: false,
    };
    let parsed = parse_boundaries(&text, &options).unwrap();
    let import = BoundaryImport {
        level: "district".into(),
        level_rank: None,
        time_zone: "America/New_York".into(),
        source_name: "sample_districts.geojson".into(),
    };
    store
        .import_boundaries(&import, &parsed, Timestamp::now())
        .await
        .unwrap();
    store
        .jurisdictions()
        .await
        .unwrap()
        .into_iter()
        .map(|j| (j.external_id, j.id))
        .collect()
}

async fn apply_setup(store: &SharedStore) {
    let refs: Vec<JurisdictionRef> = store
        .jurisdictions()
        .await
        .unwrap()
        .into_iter()
        .map(|j| JurisdictionRef {
            id: j.id,
            level: j.level,
            external_id: j.external_id,
        })
        .collect();
    let setup = CitySetup::parse(SETUP, &refs).unwrap();
    store
        .apply_setup(&setup, SETUP, Timestamp::now())
        .await
        .unwrap();
}

/// Source ids unique across every submission of the test binary.
static NEXT_SOURCE_ID: AtomicU64 = AtomicU64::new(1);

async fn submit_all(pipeline: &Pipeline, reports: &[Sent]) -> Vec<RecordOutcome> {
    let submissions = reports
        .iter()
        .map(|&(category, lon, lat, received_at)| Submission {
            lat: Some(lat),
            lon: Some(lon),
            category: Some(category.into()),
            source: "test".into(),
            source_id: Some(NEXT_SOURCE_ID.fetch_add(1, Ordering::Relaxed).to_string()),
            received_at: Some(received_at),
            ..Submission::default()
        })
        .collect();
    pipeline
        .submit_batch(submissions)
        .await
        .into_iter()
        .map(|answer| answer.unwrap().outcome)
        .collect()
}

async fn token(store: &SharedStore, grant: Grant) -> String {
    let token = PlainToken::generate();
    store
        .insert_token(&token.hash(), &grant, Timestamp::now())
        .await
        .unwrap();
    token.expose().to_owned()
}
