//! Intake throughput on Boston's real records, without photos.
//!
//! - `pipeline`: the whole path (checks, routing, placeholder, dedup,
//!   dispatch, deadlines, events) into an embedded SQLite store, as replay runs it;
//! - `routing_and_dedup`: the in-memory part alone, per report;
//! - `raw_sqlite_insert`: the same rows inserted into a bare SQLite table with
//!   the same batching, the floor the pipeline is measured against.
//!
//! Needs `../shared/data/cities/boston`; without it the benches say so and do nothing.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cityfix::boundaries::{ImportOptions, parse_boundaries};
use cityfix::events::live::LiveFeed;
use cityfix::incidents::{DedupRule, IncidentEntry, OpenIncidentIndex};
use cityfix::photos::{DirPhotoStore, PhotoLimits};
use cityfix::pipeline::{Pipeline, PipelineParts};
use cityfix::replay::{CategoryMap, ReplayRecord, read_category_map, read_records, replay};
use cityfix::routing::{JurisdictionShape, RouteOutcome, Router};
use cityfix::setup::{CitySetup, JurisdictionRef};
use cityfix::store::{BoundaryImport, SharedStore, SqliteStore};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geo::Point;
use jiff::Timestamp;

const SAMPLE: usize = 20_000;

struct Inputs {
    boundaries: String,
    setup: String,
    map: CategoryMap,
    records: Vec<ReplayRecord>,
}

fn project(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn inputs() -> Option<Inputs> {
    let boston = project("../shared/data/cities/boston");
    if !boston.join("reports_normalized.csv.gz").is_file() {
        eprintln!("intake benches skipped: ../shared/data/cities/boston is absent");
        return None;
    }
    let mut records = read_records(&boston.join("reports_normalized.csv.gz"))
        .ok()?
        .records;
    records.sort_by_key(|record| record.created_at);
    records.truncate(SAMPLE);
    Some(Inputs {
        boundaries: std::fs::read_to_string(
            boston.join("boundaries/boston_police_districts.geojson"),
        )
        .ok()?,
        setup: std::fs::read_to_string(project("fixtures/boston/setup.toml")).ok()?,
        map: read_category_map(&project("fixtures/boston/categories.csv")).ok()?,
        records,
    })
}

async fn boston_store(inputs: &Inputs) -> SharedStore {
    let store: SharedStore = Arc::new(SqliteStore::open_in_memory().await.expect("store"));
    let options = ImportOptions {
        id_field: "DISTRICT".into(),
        name_field: "DISTRICT".into(),
        strict: false,
    };
    let parsed = parse_boundaries(&inputs.boundaries, &options).expect("boundaries");
    let import = BoundaryImport {
        level: "police_district".into(),
        level_rank: None,
        time_zone: "America/New_York".into(),
        source_name: "boston_police_districts.geojson".into(),
    };
    store
        .import_boundaries(&import, &parsed, Timestamp::now())
        .await
        .expect("import");
    let refs: Vec<JurisdictionRef> = store
        .jurisdictions()
        .await
        .expect("jurisdictions")
        .into_iter()
        .map(|j| JurisdictionRef {
            id: j.id,
            level: j.level,
            external_id: j.external_id,
        })
        .collect();
    let setup = CitySetup::parse(&inputs.setup, &refs).expect("setup");
    store
        .apply_setup(&setup, &inputs.setup, Timestamp::now())
        .await
        .expect("apply");
    store
}

async fn timed_replay(inputs: &Inputs) -> Duration {
    let store = boston_store(inputs).await;
    let photos = std::env::temp_dir().join("cityfix-bench-photos");
    let pipeline = Pipeline::load(PipelineParts {
        store,
        classifier: None,
        photos: Arc::new(DirPhotoStore::new(photos)),
        photo_limits: PhotoLimits::default(),
        live: LiveFeed::default(),
        max_description_chars: 2000,
        triage_threshold: 0.5,
    })
    .await
    .expect("pipeline");
    let started = Instant::now();
    replay(
        &pipeline,
        "bench",
        inputs.records.clone(),
        &inputs.map,
        false,
    )
    .await
    .expect("replay");
    started.elapsed()
}

async fn timed_raw_insert(inputs: &Inputs) -> Duration {
    let store = SqliteStore::open_in_memory().await.expect("store");
    let pool = store.pool();
    sqlx::query(
        "CREATE TABLE raw_reports (id INTEGER PRIMARY KEY, source_id TEXT UNIQUE, lat REAL, \
         lon REAL, category TEXT, created_at_ms INTEGER, closed_at_ms INTEGER)",
    )
    .execute(pool)
    .await
    .expect("table");
    let started = Instant::now();
    for chunk in inputs.records.chunks(cityfix::replay::BATCH_SIZE) {
        let mut tx = pool.begin().await.expect("begin");
        for record in chunk {
            sqlx::query("INSERT INTO raw_reports (source_id, lat, lon, category, created_at_ms, closed_at_ms) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(&record.id)
                .bind(record.lat)
                .bind(record.lon)
                .bind(&record.category)
                .bind(record.created_at.as_millisecond())
                .bind(record.closed_at.map(|t| t.as_millisecond()))
                .execute(&mut *tx)
                .await
                .expect("insert");
        }
        tx.commit().await.expect("commit");
    }
    started.elapsed()
}

fn routing_and_dedup(router: &Router, records: &[ReplayRecord]) -> usize {
    let rule = DedupRule {
        radius_m: 25.0,
        window_s: 14 * 86_400,
        min_photo_similarity: None,
    };
    let mut index = OpenIncidentIndex::default();
    let mut merged = 0;
    for (id, record) in records.iter().enumerate() {
        let (Some(lat), Some(lon)) = (record.lat, record.lon) else {
            continue;
        };
        let point = Point::new(lon, lat);
        if !matches!(router.route(point, None), RouteOutcome::Routed(_)) {
            continue;
        }
        match index.find(&record.category, point, record.created_at, &rule) {
            Some(found) => {
                let found = found.id;
                index.record_report(found, record.created_at);
                merged += 1;
            }
            None => index.insert(IncidentEntry {
                id: id as i64,
                category: record.category.clone(),
                position: point,
                opened_at_ms: record.created_at.as_millisecond(),
                last_report_at_ms: record.created_at.as_millisecond(),
                closed_at_ms: None,
                placeholder: false,
                report_count: 1,
            }),
        }
    }
    merged
}

fn intake(c: &mut Criterion) {
    let Some(inputs) = inputs() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("intake_boston");
    group.sample_size(10);
    group.throughput(Throughput::Elements(inputs.records.len() as u64));

    group.bench_function("pipeline", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| runtime.block_on(timed_replay(&inputs)))
                .sum()
        })
    });
    group.bench_function("raw_sqlite_insert", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| runtime.block_on(timed_raw_insert(&inputs)))
                .sum()
        })
    });

    let options = ImportOptions {
        id_field: "DISTRICT".into(),
        name_field: "DISTRICT".into(),
        strict: false,
    };
    let parsed = parse_boundaries(&inputs.boundaries, &options).expect("boundaries");
    let router = Router::new(
        parsed
            .features
            .into_iter()
            .enumerate()
            .map(|(index, feature)| JurisdictionShape {
                id: index as i64,
                level_rank: 0,
                geometry: feature.geometry,
            })
            .collect(),
    );
    group.sample_size(20);
    group.bench_function("routing_and_dedup", |b| {
        b.iter(|| routing_and_dedup(&router, &inputs.records))
    });
    group.finish();
}

criterion_group!(benches, intake);
criterion_main!(benches);
