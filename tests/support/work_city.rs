//! A small city for work order tests: a municipality containing two
//! districts, two contractors competing for potholes, calendar-time targets
//! (one hour to accept, two days to resolve), all in an embedded store under
//! a directory the test owns, so that a test can reopen it.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use cityfix::analytics::AnalyticsView;
use cityfix::auth::{Authenticator, Grant, PlainToken};
use cityfix::boundaries::{ImportOptions, parse_boundaries};
use cityfix::classify::Classifier;
use cityfix::events::live::LiveFeed;
use cityfix::http::idempotency::IdempotencyCache;
use cityfix::http::{AppState, Limits};
use cityfix::photos::{DirPhotoStore, PhotoLimits};
use cityfix::pipeline::{Pipeline, PipelineParts};
use cityfix::reports::Submission;
use cityfix::setup::{CitySetup, JurisdictionRef};
use cityfix::store::{BoundaryImport, RecordOutcome, SharedStore, SqliteStore, Store};
use jiff::Timestamp;

pub const SETUP: &str = r#"
city = "Testville"

[[categories]]
slug = "pothole"
name = "Pothole"
dedup_radius_m = 30
dedup_window_days = 14
default_priority = "normal"

[[contractors]]
slug = "acme"
name = "Acme Paving"

[[contractors]]
slug = "bravo"
name = "Bravo Roads"

[[contracts]]
slug = "acme-roads"
contractor = "acme"
level = "district"
jurisdictions = ["*"]
categories = ["pothole"]
valid_from = "2020-01-01"
capacity = 10

[[contracts]]
slug = "bravo-roads"
contractor = "bravo"
level = "district"
jurisdictions = ["S"]
categories = ["pothole"]
valid_from = "2020-01-01"
capacity = 10

[sla.calendar]
time_zone = "America/New_York"
working_days = ["mon", "tue", "wed", "thu", "fri"]
working_hours = ["08:00-16:00"]
holidays_known_from = "2020-01-01"
holidays_known_until = "2040-12-31"

[[sla.policies]]
category = "*"
priority = "normal"
response = { calendar = "1h" }
resolution = { calendar = "2d" }
"#;

const MUNICIPALITY: &str = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"code": "T", "name": "Testville"},
   "geometry": {"type": "Polygon", "coordinates":
     [[[-71.10, 42.30], [-71.04, 42.30], [-71.04, 42.40], [-71.10, 42.40], [-71.10, 42.30]]]}}]}"#;

const DISTRICTS: &str = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"code": "N", "name": "North"},
   "geometry": {"type": "Polygon", "coordinates":
     [[[-71.10, 42.35], [-71.04, 42.35], [-71.04, 42.40], [-71.10, 42.40], [-71.10, 42.35]]]}},
  {"type": "Feature", "properties": {"code": "S", "name": "South"},
   "geometry": {"type": "Polygon", "coordinates":
     [[[-71.10, 42.30], [-71.04, 42.30], [-71.04, 42.35], [-71.10, 42.35], [-71.10, 42.30]]]}}]}"#;

/// A point in the North district, and one in the South.
pub const NORTH: (f64, f64) = (42.37, -71.07);
pub const SOUTH: (f64, f64) = (42.32, -71.07);

/// The city as one process sees it.
pub struct City {
    pub store: SharedStore,
    pub pipeline: Arc<Pipeline>,
    pub live: LiveFeed,
}

/// Jurisdiction ids by source id.
pub struct Ids {
    pub municipality: i64,
    pub north: i64,
    pub south: i64,
}

/// Imports the boundaries and applies the set-up into a new store in `dir`.
pub async fn set_up(dir: &Path) -> Ids {
    let store = SqliteStore::open(dir).await.unwrap();
    let now = Timestamp::now();
    for (level, rank, text) in [
        ("municipality", 1, MUNICIPALITY),
        ("district", 2, DISTRICTS),
    ] {
        let options = ImportOptions {
            id_field: "code".into(),
            name_field: "name".into(),
            strict: true,
        };
        let parsed = parse_boundaries(text, &options).unwrap();
        let import = BoundaryImport {
            level: level.into(),
            level_rank: Some(rank),
            time_zone: "America/New_York".into(),
            source_name: format!("{level}.geojson"),
        };
        store
            .import_boundaries(&import, &parsed, now)
            .await
            .unwrap();
    }
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
    store.apply_setup(&setup, SETUP, now).await.unwrap();

    let id = |code: &str| refs.iter().find(|j| j.external_id == code).unwrap().id;
    Ids {
        municipality: id("T"),
        north: id("N"),
        south: id("S"),
    }
}

/// Opens the store in `dir` with a pipeline over it.
pub async fn open(dir: &Path) -> City {
    open_with(dir, None).await
}

/// Opens the store in `dir` with a pipeline using `classifier`.
pub async fn open_with(dir: &Path, classifier: Option<Arc<dyn Classifier>>) -> City {
    let store: SharedStore = Arc::new(SqliteStore::open(dir).await.unwrap());
    let live = LiveFeed::default();
    let pipeline = Pipeline::load(PipelineParts {
        store: store.clone(),
        classifier,
        photos: Arc::new(DirPhotoStore::new(dir.join("photos"))),
        photo_limits: PhotoLimits::default(),
        live: live.clone(),
        max_description_chars: 2000,
        triage_threshold: 0.5,
    })
    .await
    .unwrap();
    City {
        store,
        pipeline: Arc::new(pipeline),
        live,
    }
}

impl City {
    /// The HTTP state over this city.
    pub fn app_state(&self) -> AppState {
        AppState {
            pipeline: self.pipeline.clone(),
            auth: Authenticator::new(self.store.clone()),
            live: self.live.clone(),
            analytics: AnalyticsView::spawn(self.store.clone(), &self.live).unwrap(),
            idempotency: Arc::new(IdempotencyCache::default()),
            limits: Limits::default(),
        }
    }

    /// The work order desk over this city on `clock`.
    pub fn desk(&self, clock: &Arc<cityfix::clock::ManualClock>) -> cityfix::work_orders::WorkDesk {
        cityfix::work_orders::WorkDesk::new(self.pipeline.clone(), self.live.clone(), clock.clone())
    }

    /// A new token for `grant`; returns the secret.
    pub async fn token(&self, grant: Grant) -> String {
        let token = PlainToken::generate();
        self.store
            .insert_token(&token.hash(), &grant, Timestamp::now())
            .await
            .unwrap();
        token.expose().to_string()
    }

    /// Files a pothole report at `(lat, lon)` received at `at`; returns the
    /// new work order's id.
    pub async fn report(&self, position: (f64, f64), at: Timestamp) -> i64 {
        work_order_of(self.file(position, at).await)
    }

    /// Files a pothole report at `(lat, lon)` received at `at`.
    pub async fn file(&self, (lat, lon): (f64, f64), at: Timestamp) -> RecordOutcome {
        let submission = Submission {
            lat: Some(lat),
            lon: Some(lon),
            category: Some("pothole".into()),
            source: "test".into(),
            received_at: Some(at),
            ..Submission::default()
        };
        self.pipeline.submit(submission).await.unwrap().outcome
    }
}

/// The work order a new incident got.
pub fn work_order_of(outcome: RecordOutcome) -> i64 {
    match outcome {
        RecordOutcome::Recorded {
            work_order: Some(work_order),
            ..
        } => work_order.id,
        other => panic!("expected a new work order, got {other:?}"),
    }
}

/// Every work order's cached state is exactly the fold of its stored events.
pub async fn assert_log_replays(store: &dyn Store) {
    let events = store.events(None).await.unwrap();
    let orders = store
        .work_orders(&cityfix::store::WorkOrderQuery::default())
        .await
        .unwrap();
    assert!(!orders.is_empty());
    for order in orders {
        let id = order.state.work_order_id;
        let folded = cityfix::events::fold_work_order(id, &events).unwrap();
        assert_eq!(folded.as_ref(), Some(&order.state), "work order {id}");
    }
}
