//! The PostGIS store against the embedded one, on real data, in one run:
//!
//! - ingest of real Boston records through the pipeline (reports/s) into
//!   PostGIS and into the embedded SQLite file;
//! - point → jurisdiction: the in-memory router against `ST_Covers` with GiST,
//!   on the 12 Boston police districts and the 2,092 Saudi districts;
//! - the dedup radius query: an R-tree with haversine against `ST_DWithin` on
//!   geography with GiST, on the Boston report positions.
//!
//! Needs `CITYFIX_BENCH_DATABASE_URL` (a database with PostGIS; the bench
//! works in schema `cityfix_bench`, dropped first) and `../shared/data`.
//! `scripts/bench-postgis.sh` sets both up and runs it. PostGIS queries are
//! timed one query per point over one connection, as a server asks them, and
//! also as one batched query, to separate the round trip from the search.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../tests/support/real_data.rs"]
mod real_data;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cityfix::boundaries::ParsedBoundaries;
use cityfix::events::live::LiveFeed;
use cityfix::incidents::{haversine_m, search_envelope};
use cityfix::photos::{DirPhotoStore, PhotoLimits};
use cityfix::pipeline::{Pipeline, PipelineParts};
use cityfix::replay::{read_category_map, read_records, replay};
use cityfix::routing::{JurisdictionShape, RouteOutcome, Router};
use cityfix::setup::{CitySetup, JurisdictionRef};
use cityfix::store::{BoundaryImport, PgStore, SharedStore, SqliteStore, Store};
use geo::Point;
use jiff::Timestamp;
use rstar::RTree;
use rstar::primitives::GeomWithData;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, PgPool};

const SCHEMA: &str = "cityfix_bench";
const RADIUS_M: f64 = 25.0;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    // `cargo test --all-targets` runs bench binaries too, without `--bench`.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("skipped: run with `cargo bench --bench postgis`");
        return;
    }
    let Ok(url) = std::env::var("CITYFIX_BENCH_DATABASE_URL") else {
        println!("skipped: CITYFIX_BENCH_DATABASE_URL not set (scripts/bench-postgis.sh sets it)");
        return;
    };
    let Some(shared) = real_data::shared_dir() else {
        println!("skipped: ../shared/data not found (set CITYFIX_SHARED_DIR)");
        return;
    };
    let records: usize = std::env::var("CITYFIX_BENCH_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40_000);

    ingest(&url, &shared, records).await;
    let boston = real_data::boundaries(
        &shared,
        "boston",
        "boston_police_districts.geojson",
        "DISTRICT",
        "DISTRICT",
    );
    let points: Vec<Point<f64>> = real_data::report_points(&shared, "boston")
        .iter()
        .step_by(8)
        .map(|r| Point::new(r.lon, r.lat))
        .collect();
    routing(&url, "Boston police districts (12)", &boston, &points).await;

    let riyadh = real_data::boundaries(
        &shared,
        "riyadh",
        "sau_districts_usefksa_decoded.geojson",
        "id",
        "district_name_ar",
    );
    let riyadh_points = grid_inside(&riyadh, 20_000);
    routing(&url, "Saudi districts (2,092)", &riyadh, &riyadh_points).await;

    radius(&url, &points).await;
}

async fn fresh_store(url: &str) -> PgStore {
    let mut admin = PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    let options = PgConnectOptions::from_str(url)
        .unwrap()
        .options([("search_path", format!("{SCHEMA},public"))]);
    PgStore::connect_with(options).await.unwrap()
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}

async fn import(store: &dyn Store, parsed: &ParsedBoundaries, level: &str, tz: &str) {
    let import = BoundaryImport {
        level: level.into(),
        level_rank: None,
        time_zone: tz.into(),
        source_name: level.into(),
    };
    store
        .import_boundaries(&import, parsed, Timestamp::now())
        .await
        .unwrap();
}

async fn boston_pipeline(store: SharedStore, shared: &Path, photos: &Path) -> Pipeline {
    let parsed = real_data::boundaries(
        shared,
        "boston",
        "boston_police_districts.geojson",
        "DISTRICT",
        "DISTRICT",
    );
    import(
        store.as_ref(),
        &parsed,
        "police_district",
        "America/New_York",
    )
    .await;
    let text = std::fs::read_to_string(fixture("boston/setup.toml")).unwrap();
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
    Pipeline::load(PipelineParts {
        store,
        classifier: None,
        photos: Arc::new(DirPhotoStore::new(photos)),
        photo_limits: PhotoLimits::default(),
        live: LiveFeed::default(),
        max_description_chars: 2_000,
        triage_threshold: 0.5,
    })
    .await
    .unwrap()
}

async fn ingest(url: &str, shared: &Path, count: usize) {
    let boston = shared.join("data/cities/boston/reports_normalized.csv.gz");
    let records: Vec<_> = read_records(&boston)
        .unwrap()
        .records
        .into_iter()
        .take(count)
        .collect();
    let map = read_category_map(&fixture("boston/categories.csv")).unwrap();
    let dir = tempfile::tempdir().unwrap();

    println!(
        "\n## Ingest of {} real Boston records through the pipeline",
        records.len()
    );
    println!("| store | seconds | reports/s |\n|---|---|---|");
    let embedded: SharedStore = Arc::new(SqliteStore::open(&dir.path().join("db")).await.unwrap());
    let postgis: SharedStore = Arc::new(fresh_store(url).await);
    let mut rates = Vec::new();
    for (name, store) in [("embedded SQLite file", embedded), ("PostGIS", postgis)] {
        let pipeline = boston_pipeline(store, shared, &dir.path().join("photos")).await;
        let started = Instant::now();
        let summary = replay(&pipeline, "replay:boston", records.clone(), &map, false)
            .await
            .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let rate = summary.accepted as f64 / seconds;
        println!("| {name} | {seconds:.1} | {rate:.0} |");
        rates.push(rate);
    }
    println!(
        "PostGIS ingests at {:.2}× the embedded store's rate",
        rates[1] / rates[0]
    );
}

/// Points spread over the districts' extent, kept when inside one.
fn grid_inside(parsed: &ParsedBoundaries, wanted: usize) -> Vec<Point<f64>> {
    let router = Router::new(real_data::shapes(parsed, 0));
    let (mut west, mut south, mut east, mut north) = (180.0, 90.0, -180.0, -90.0);
    for feature in &parsed.features {
        use geo::BoundingRect;
        let rect = feature.geometry.bounding_rect().unwrap();
        west = f64::min(west, rect.min().x);
        south = f64::min(south, rect.min().y);
        east = f64::max(east, rect.max().x);
        north = f64::max(north, rect.max().y);
    }
    let mut points = Vec::new();
    let side = 1_000;
    'grid: for i in 0..side {
        for j in 0..side {
            let x = west + (east - west) * (f64::from(i) + 0.5) / f64::from(side);
            let y = south + (north - south) * (f64::from(j) + 0.5) / f64::from(side);
            let point = Point::new(x, y);
            if matches!(router.route(point, None), RouteOutcome::Routed(_)) {
                points.push(point);
                if points.len() == wanted {
                    break 'grid;
                }
            }
        }
    }
    points
}

/// Best of three runs of `work`, an expression that handles `n` items and
/// says how many it handled.
macro_rules! best_of_three {
    ($n:expr, $work:expr) => {{
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            let done: usize = $work;
            best = best.min(started.elapsed());
            assert_eq!(done, $n);
        }
        best
    }};
}

fn per_query_us(elapsed: Duration, n: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / n as f64
}

async fn routing(url: &str, name: &str, parsed: &ParsedBoundaries, points: &[Point<f64>]) {
    let store = fresh_store(url).await;
    import(&store, parsed, "district", "UTC").await;
    let shapes = store
        .jurisdictions()
        .await
        .unwrap()
        .into_iter()
        .map(|j| JurisdictionShape {
            id: j.id,
            level_rank: j.level_rank,
            geometry: j.geometry,
        })
        .collect();
    let router = Router::new(shapes);
    sqlx::query("ANALYZE boundary_versions")
        .execute(store.pool())
        .await
        .unwrap();

    let n = points.len();
    let memory = best_of_three!(n, {
        let mut routed = 0;
        for point in points {
            std::hint::black_box(router.route(*point, None));
            routed += 1;
        }
        routed
    });
    let mut conn = store.pool().acquire().await.unwrap();
    let one_by_one = best_of_three!(
        n,
        async {
            for point in points {
                let _: Vec<i64> = sqlx::query_scalar(
                    "SELECT jurisdiction_id FROM boundary_versions WHERE valid_until IS NULL \
                 AND ST_Covers(geometry, ST_SetSRID(ST_MakePoint($1, $2), 4326))",
                )
                .bind(point.x())
                .bind(point.y())
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            }
            n
        }
        .await
    );
    let batched = best_of_three!(n, batched_covers(store.pool(), points).await);

    print_ratio(
        &format!("Point → jurisdiction, {name}, {n} points"),
        memory,
        one_by_one,
        batched,
        n,
    );
}

async fn batched_covers(pool: &PgPool, points: &[Point<f64>]) -> usize {
    let lons: Vec<f64> = points.iter().map(|p| p.x()).collect();
    let lats: Vec<f64> = points.iter().map(|p| p.y()).collect();
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT p.n, (SELECT min(v.jurisdiction_id) FROM boundary_versions v \
         WHERE v.valid_until IS NULL \
         AND ST_Covers(v.geometry, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))) \
         FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(lon, lat, n)",
    )
    .bind(&lons)
    .bind(&lats)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.len()
}

fn print_ratio(title: &str, memory: Duration, one_by_one: Duration, batched: Duration, n: usize) {
    let (m, o, b) = (
        per_query_us(memory, n),
        per_query_us(one_by_one, n),
        per_query_us(batched, n),
    );
    println!("\n## {title}");
    println!("| method | µs per query | × in-memory |\n|---|---|---|");
    println!("| in-memory R-tree | {m:.2} | 1 |");
    println!("| PostGIS, one query per point | {o:.1} | {:.0} |", o / m);
    println!("| PostGIS, one batched query | {b:.1} | {:.0} |", b / m);
}

async fn radius(url: &str, points: &[Point<f64>]) {
    let store = fresh_store(url).await;
    let pool = store.pool();
    sqlx::raw_sql(
        "CREATE TABLE probe (id bigint PRIMARY KEY, position geometry(Point, 4326) NOT NULL); \
         CREATE INDEX probe_geography ON probe USING gist ((position::geography));",
    )
    .execute(pool)
    .await
    .unwrap();
    let ids: Vec<i64> = (0..points.len() as i64).collect();
    let lons: Vec<f64> = points.iter().map(|p| p.x()).collect();
    let lats: Vec<f64> = points.iter().map(|p| p.y()).collect();
    sqlx::query(
        "INSERT INTO probe SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326) \
         FROM unnest($1::bigint[], $2::float8[], $3::float8[]) AS t(id, lon, lat)",
    )
    .bind(&ids)
    .bind(&lons)
    .bind(&lats)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE probe").execute(pool).await.unwrap();

    let tree = RTree::bulk_load(
        points
            .iter()
            .enumerate()
            .map(|(id, p)| GeomWithData::new([p.x(), p.y()], id as i64))
            .collect(),
    );
    let queries: Vec<Point<f64>> = points.iter().step_by(4).copied().collect();
    let n = queries.len();
    let memory = best_of_three!(n, {
        let mut asked = 0;
        for q in &queries {
            let near = tree
                .locate_in_envelope_intersecting(&search_envelope(*q, RADIUS_M))
                .filter(|l| haversine_m(Point::new(l.geom()[0], l.geom()[1]), *q) <= RADIUS_M)
                .count();
            std::hint::black_box(near);
            asked += 1;
        }
        asked
    });
    let mut conn = pool.acquire().await.unwrap();
    let one_by_one = best_of_three!(
        n,
        async {
            for q in &queries {
                let _: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM probe WHERE ST_DWithin(position::geography, \
                 ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3, false)",
                )
                .bind(q.x())
                .bind(q.y())
                .bind(RADIUS_M)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            }
            n
        }
        .await
    );
    let batched = best_of_three!(
        n,
        async {
            let lons: Vec<f64> = queries.iter().map(|p| p.x()).collect();
            let lats: Vec<f64> = queries.iter().map(|p| p.y()).collect();
            let rows: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT q.n, (SELECT count(*) FROM probe WHERE ST_DWithin(position::geography, \
             ST_SetSRID(ST_MakePoint(q.lon, q.lat), 4326)::geography, $3, false)) \
             FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS q(lon, lat, n)",
            )
            .bind(&lons)
            .bind(&lats)
            .bind(RADIUS_M)
            .fetch_all(pool)
            .await
            .unwrap();
            rows.len()
        }
        .await
    );
    print_ratio(
        &format!(
            "Dedup radius ({RADIUS_M} m) among {} Boston report positions, {n} queries",
            points.len()
        ),
        memory,
        one_by_one,
        batched,
        n,
    );
}
