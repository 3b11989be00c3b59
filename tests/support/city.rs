//! A ready city for tests: the sample districts and set-up from `fixtures/`,
//! in a fresh store, with the pipeline and the HTTP state around it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cityfix::analytics::AnalyticsView;
use cityfix::auth::Authenticator;
use cityfix::boundaries::{ImportOptions, parse_boundaries};
use cityfix::events::live::LiveFeed;
use cityfix::http::idempotency::IdempotencyCache;
use cityfix::http::{AppState, Limits};
use cityfix::photos::{DirPhotoStore, PhotoLimits};
use cityfix::pipeline::{Pipeline, PipelineParts};
use cityfix::setup::{CitySetup, JurisdictionRef};
use cityfix::store::{BoundaryImport, SharedStore, SqliteStore};
use jiff::Timestamp;

pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}

/// Imports a boundary file as one level.
pub async fn import(store: &SharedStore, file: &Path, level: &str, id: &str, name: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    let options = ImportOptions {
        id_field: id.into(),
        name_field: name.into(),
        strict: false,
    };
    let parsed = parse_boundaries(&text, &options).unwrap();
    let import = BoundaryImport {
        level: level.into(),
        level_rank: None,
        time_zone: "America/New_York".into(),
        source_name: file.display().to_string(),
    };
    store
        .import_boundaries(&import, &parsed, Timestamp::now())
        .await
        .unwrap();
}

/// Applies a set-up file to the store.
pub async fn apply_setup(store: &SharedStore, file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
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
    let setup = CitySetup::parse(&text, &refs).unwrap();
    store
        .apply_setup(&setup, &text, Timestamp::now())
        .await
        .unwrap();
}

/// The sample city in an in-memory store.
pub async fn sample_store() -> SharedStore {
    let store: SharedStore = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    import(
        &store,
        &fixture("boundaries/sample_districts.geojson"),
        "district",
        "code",
        "name",
    )
    .await;
    apply_setup(&store, &fixture("sample/setup.toml")).await;
    store
}

/// A pipeline without classifier over `store`, photos under `photo_dir`.
pub async fn pipeline(store: SharedStore, photo_dir: &Path, live: LiveFeed) -> Pipeline {
    Pipeline::load(PipelineParts {
        store,
        classifier: None,
        photos: Arc::new(DirPhotoStore::new(photo_dir)),
        photo_limits: PhotoLimits::default(),
        live,
        max_description_chars: Limits::default().max_description_chars,
        triage_threshold: 0.5,
    })
    .await
    .unwrap()
}

/// The HTTP state of a server over the sample city.
pub async fn sample_state(photo_dir: &Path) -> AppState {
    let store = sample_store().await;
    let live = LiveFeed::default();
    let pipeline = pipeline(store.clone(), photo_dir, live.clone()).await;
    AppState {
        pipeline: Arc::new(pipeline),
        analytics: AnalyticsView::spawn(store.clone(), &live).unwrap(),
        auth: Authenticator::new(store),
        live,
        idempotency: Arc::new(IdempotencyCache::default()),
        limits: Limits::default(),
    }
}
