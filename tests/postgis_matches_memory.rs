//! Where PostGIS holds the truth, it must agree with the in-memory indexes:
//! point → jurisdiction by `ST_Covers` against `routing::Router`, and the
//! dedup radius by `ST_DWithin` against haversine over an R-tree, on the real
//! Boston police districts and records and the real Riyadh districts. Then a
//! sample of Boston's history goes through the pipeline into both stores and
//! every report must land in the same incident. Slow in debug builds: run it
//! with `cargo test --release --test postgis_matches_memory`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use cityfix::boundaries::ParsedBoundaries;
use cityfix::incidents::{haversine_m, search_envelope};
use cityfix::replay::{read_category_map, read_records, replay};
use cityfix::routing::{JurisdictionShape, Router};
use cityfix::store::{BoundaryImport, PgStore, SharedStore, SqliteStore, Store};
use geo::{Point, coord};
use jiff::Timestamp;
use rstar::RTree;
use rstar::primitives::GeomWithData;
use sqlx::PgPool;
use support::city::{apply_setup, fixture, pipeline};
use support::pg;
use support::real_data::{boundaries, report_points, shared_dir};

macro_rules! needs {
    () => {{
        let Some(url) = pg::test_database_url() else {
            return;
        };
        let Some(shared) = shared_dir() else {
            eprintln!("skipped: ../shared/data not found (set CITYFIX_SHARED_DIR)");
            return;
        };
        (url, shared)
    }};
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

/// The router exactly as the pipeline builds it from the store.
async fn router_of(store: &dyn Store) -> Router {
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
    Router::new(shapes)
}

/// For each point, the jurisdictions whose current boundary covers it, in the
/// router's precedence (level rank down, area up, id up).
async fn covering(pool: &PgPool, points: &[Point<f64>]) -> Vec<Vec<i64>> {
    let lons: Vec<f64> = points.iter().map(|p| p.x()).collect();
    let lats: Vec<f64> = points.iter().map(|p| p.y()).collect();
    let rows: Vec<(i64, Option<Vec<i64>>)> = sqlx::query_as(
        "SELECT p.n, array_agg(v.jurisdiction_id ORDER BY l.rank DESC, v.area_m2, \
         v.jurisdiction_id) FILTER (WHERE v.id IS NOT NULL) \
         FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(lon, lat, n) \
         LEFT JOIN boundary_versions v ON v.valid_until IS NULL \
         AND ST_Covers(v.geometry, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)) \
         LEFT JOIN jurisdictions j ON j.id = v.jurisdiction_id \
         LEFT JOIN levels l ON l.name = j.level \
         GROUP BY p.n ORDER BY p.n",
    )
    .bind(&lons)
    .bind(&lats)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(_, ids)| ids.unwrap_or_default())
        .collect()
}

/// Compares PostGIS and the router on every point; returns how many were inside.
async fn compare_routing(store: &PgStore, points: &[Point<f64>]) -> usize {
    let router = router_of(store).await;
    let mut inside = 0;
    for chunk in points.chunks(5_000) {
        let answers = covering(store.pool(), chunk).await;
        for (point, postgis) in chunk.iter().zip(answers) {
            let memory = router.containing_ids(*point);
            assert_eq!(memory, postgis, "at {point:?}");
            inside += usize::from(!memory.is_empty());
        }
    }
    inside
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boston_routing_and_dedup_radius_agree() {
    let (url, shared) = needs!();
    let store = pg::fresh_store(&url, "memory_boston").await;
    let parsed = boundaries(
        &shared,
        "boston",
        "boston_police_districts.geojson",
        "DISTRICT",
        "DISTRICT",
    );
    import(&store, &parsed, "police_district", "America/New_York").await;

    let points: Vec<Point<f64>> = report_points(&shared, "boston")
        .iter()
        .step_by(10)
        .map(|r| Point::new(r.lon, r.lat))
        .collect();
    let inside = compare_routing(&store, &points).await;
    assert!(
        inside > points.len() * 99 / 100,
        "{inside} of {}",
        points.len()
    );

    compare_radius(store.pool(), &points, 25.0).await;
    compare_radius(store.pool(), &points, 100.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn riyadh_districts_route_the_same() {
    let (url, shared) = needs!();
    let store = pg::fresh_store(&url, "memory_riyadh").await;
    let parsed = boundaries(
        &shared,
        "riyadh",
        "sau_districts_usefksa_decoded.geojson",
        "id",
        "district_name_ar",
    );
    assert_eq!(parsed.features.len(), 2_092);
    import(&store, &parsed, "district", "Asia/Riyadh").await;

    // Every district's first vertex (on its border), a point inside each, and
    // a grid over the whole extent, most of it outside every district.
    let mut points = Vec::new();
    for feature in &parsed.features {
        let polygon = &feature.geometry.0[0];
        let ring = &polygon.exterior().0;
        points.push(Point::from(ring[0]));
        let inner = coord! {
            x: (ring[0].x + ring[ring.len() / 2].x) / 2.0,
            y: (ring[0].y + ring[ring.len() / 2].y) / 2.0,
        };
        points.push(Point::from(inner));
    }
    let (west, south, east, north) = extent(&parsed);
    for i in 0..100 {
        for j in 0..100 {
            let x = west + (east - west) * (f64::from(i) + 0.37) / 100.0;
            let y = south + (north - south) * (f64::from(j) + 0.61) / 100.0;
            points.push(Point::new(x, y));
        }
    }
    let inside = compare_routing(&store, &points).await;
    assert!(inside >= parsed.features.len(), "{inside}");
}

fn extent(parsed: &ParsedBoundaries) -> (f64, f64, f64, f64) {
    use geo::BoundingRect;
    parsed.features.iter().fold(
        (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
        |(w, s, e, n), feature| {
            let rect = feature.geometry.bounding_rect().unwrap();
            (
                w.min(rect.min().x),
                s.min(rect.min().y),
                e.max(rect.max().x),
                n.max(rect.max().y),
            )
        },
    )
}

/// ST_DWithin on geography (sphere) against haversine over an R-tree: the same
/// neighbours within `radius_m` of every 20th point, among all points.
async fn compare_radius(pool: &PgPool, points: &[Point<f64>], radius_m: f64) {
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS probe; \
         CREATE TABLE probe (id bigint PRIMARY KEY, position geometry(Point, 4326) NOT NULL); \
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
    let mut pairs = 0;
    for query in points.iter().step_by(20) {
        let memory: BTreeSet<i64> = tree
            .locate_in_envelope_intersecting(&search_envelope(*query, radius_m))
            .filter(|located| {
                let [lon, lat] = *located.geom();
                haversine_m(Point::new(lon, lat), *query) <= radius_m
            })
            .map(|located| located.data)
            .collect();
        let postgis: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM probe WHERE ST_DWithin(position::geography, \
             ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3, false) ORDER BY id",
        )
        .bind(query.x())
        .bind(query.y())
        .bind(radius_m)
        .fetch_all(pool)
        .await
        .unwrap();
        let postgis: BTreeSet<i64> = postgis.into_iter().collect();
        assert_eq!(memory, postgis, "within {radius_m} m of {query:?}");
        pairs += memory.len();
    }
    assert!(
        pairs > points.len() / 20,
        "too few neighbours to mean anything"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boston_history_lands_in_the_same_incidents() {
    let (url, shared) = needs!();
    let boston = shared.join("data/cities/boston");
    let districts = boston.join("boundaries/boston_police_districts.geojson");
    let records = read_records(&boston.join("reports_normalized.csv.gz"))
        .unwrap()
        .records;
    let sample: Vec<_> = records.into_iter().take(8_000).collect();
    let map = read_category_map(&fixture("boston/categories.csv")).unwrap();

    let postgis: SharedStore = Arc::new(pg::fresh_store(&url, "memory_history").await);
    let embedded: SharedStore = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let photos = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for store in [embedded, postgis] {
        support::city::import(
            &store,
            &districts,
            "police_district",
            "DISTRICT",
            "DISTRICT",
        )
        .await;
        apply_setup(&store, &fixture("boston/setup.toml")).await;
        let pipeline = pipeline(store.clone(), photos.path(), Default::default()).await;
        let summary = replay(&pipeline, "replay:boston", sample.clone(), &map, false)
            .await
            .unwrap();
        assert!(summary.reports_merged > 100, "{}", summary.reports_merged);
        let points: Vec<(i64, i64, String)> = store
            .report_points()
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.report_id, p.incident_id, p.status))
            .collect();
        seen.push((summary.accepted, summary.reports_merged, points));
    }
    assert_eq!(seen[0], seen[1]);
}
