//! Work orders in the embedded store: the breach scanner's claim over a
//! million open work orders (one tick of due deadlines, and a tick with
//! nothing due), and assignment throughput through the store's intake
//! (dedup, the dispatch rule over open counts, the work order and its events).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use cityfix::dispatch::Contract;
use cityfix::events::Actor;
use cityfix::incidents::DedupRule;
use cityfix::reports::PositionSource;
use cityfix::routing::Routing;
use cityfix::sla::{Deadlines, Priority};
use cityfix::store::{ReportPlan, SqliteStore, Store};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use tokio::runtime::Runtime;

/// Open work orders in the scanned table: a million when benchmarking; a
/// smoke run under `cargo test --all-targets` (no `--bench` flag) uses fewer
/// so that the test suite does not write a 600 MB table.
fn open_work_orders() -> i64 {
    if std::env::args().any(|arg| arg == "--bench") {
        1_000_000
    } else {
        10_000
    }
}
const SCAN_EVERY: SignedDuration = SignedDuration::from_secs(30);

fn start_of_2030() -> Timestamp {
    "2030-01-01T00:00:00Z".parse().unwrap()
}

/// The open work orders ([`open_work_orders`]), resolution deadlines spread over
/// the 30 days after `start` (at a million, a 30-second tick finds about a
/// dozen due),
/// written straight into the tables in one statement each.
async fn open_orders(store: &SqliteStore, start: Timestamp) {
    let pool = store.pool();
    let start_ms = start.as_millisecond();
    let count = open_work_orders();
    for statement in [
        "INSERT INTO levels (name, rank) VALUES ('district', 1)".to_string(),
        "INSERT INTO jurisdictions (id, level, external_id, name, time_zone) \
         VALUES (1, 'district', 'A', 'A', 'UTC')"
            .to_string(),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
             INSERT INTO incidents (id, category, jurisdiction_id, lon, lat, priority, report_count, \
             opened_at_ms, last_report_at_ms) \
             SELECT i, 'pothole', 1, 0, 0, 'normal', 1, {start_ms}, {start_ms} FROM n"
        ),
        // Deadlines by a multiplicative hash of the id: spread, repeatable.
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}), \
             d(i, due) AS (SELECT i, {start_ms} + 1000 * ((i * 2654435761) % 2592000) FROM n) \
             INSERT INTO work_orders (id, incident_id, contractor, jurisdiction_id, category, \
             priority, status, assigned_at_ms, response_due_at_ms, resolution_due_at_ms, state, \
             watched_from_ms, next_due_ms, resolution_watch_ms) \
             SELECT i, i, 'acme', 1, 'pothole', 'normal', 'accepted', {start_ms}, {start_ms}, due, \
             json_object('work_order_id', i, 'incident_id', i, 'status', 'accepted', \
             'contractor', 'acme', 'response_due_at', '2030-01-01T00:00:00Z', \
             'resolution_due_at', strftime('%Y-%m-%dT%H:%M:%SZ', due / 1000, 'unixepoch'), \
             'assigned_at', '2030-01-01T00:00:00Z', 'accepted_at', '2030-01-01T00:00:00Z', \
             'started_at', NULL, 'resolved_at', NULL, 'closed_at', NULL, 'after_photo', NULL, \
             'problem_still_visible', NULL, 'last_reason', NULL, 'reopen_count', 0, \
             'response_breached_at', NULL, 'resolution_breached_at', NULL, \
             'escalation_count', 0), {start_ms}, due, due FROM d"
        ),
        "ANALYZE".to_string(),
    ] {
        sqlx::query(&statement).execute(pool).await.unwrap();
    }
}

fn breach_scan(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let start = start_of_2030();
    let store = runtime.block_on(async {
        let store = SqliteStore::open(dir.path()).await.unwrap();
        open_orders(&store, start).await;
        store
    });

    let mut group = c.benchmark_group("store_breach_scan_1m_open");
    group.sample_size(30);
    let mut now = start;
    group.bench_function("claim_tick_30s", |b| {
        b.iter(|| {
            now += SCAN_EVERY;
            runtime
                .block_on(store.claim_breaches(now, Some(now + SCAN_EVERY), 500))
                .unwrap()
                .len()
        })
    });
    group.bench_function("claim_tick_nothing_due", |b| {
        b.iter(|| {
            runtime
                .block_on(store.claim_breaches(now, Some(now + SCAN_EVERY), 500))
                .unwrap()
                .len()
        })
    });
    group.finish();
}

fn contracts() -> Vec<Contract> {
    (0..3)
        .map(|crew| Contract {
            id: crew + 1,
            contractor: format!("crew-{crew}"),
            jurisdiction_id: 1,
            categories: vec!["pothole".into()],
            valid_from: "2020-01-01T00:00:00Z".parse().unwrap(),
            valid_until: None,
            capacity: 1_000_000,
        })
        .collect()
}

/// Reports far enough apart that none merges: each opens an incident and
/// gets a work order by the dispatch rule.
fn plans(first: i64, count: i64, candidates: &[Contract]) -> Vec<ReportPlan> {
    let at = start_of_2030();
    (first..first + count)
        .map(|i| ReportPlan {
            source: "bench".into(),
            source_id: Some(i.to_string()),
            fingerprint: None,
            received_at: at + SignedDuration::from_secs(i),
            position: geo::Point::new((i % 1000) as f64 * 0.01, (i / 1000) as f64 * 0.01),
            accuracy_m: None,
            position_source: PositionSource::Request,
            citizen_category: Some("pothole".into()),
            source_category: None,
            category: "pothole".into(),
            description: None,
            photo_sha256: None,
            classification: None,
            triage_reason: None,
            routing: Routing {
                jurisdiction_id: 1,
                containing: Vec::new(),
                overlap: false,
                near_boundary: false,
            },
            placeholder: false,
            dedup: DedupRule {
                radius_m: 30.0,
                window_s: 14 * 86_400,
                min_photo_similarity: None,
            },
            default_priority: Priority::Normal,
            escalate_after_reports: None,
            candidates: candidates.to_vec(),
            deadlines: Some(Deadlines {
                response_due_at: at + SignedDuration::from_hours(1),
                resolution_due_at: at + SignedDuration::from_hours(48),
            }),
            source_closed_at: None,
            actor: Actor::Citizen,
        })
        .collect()
}

fn assignment(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let candidates = contracts();
    const BATCH: i64 = 500;

    let mut group = c.benchmark_group("store_assignment");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    let mut next = 0_i64;
    group.bench_function("record_reports_batch_500", |b| {
        b.iter_batched(
            || {
                let store = runtime.block_on(async {
                    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
                    seed_contracts(&store).await;
                    store
                });
                next += BATCH;
                (store, plans(next, BATCH, &candidates))
            },
            |(store, batch)| runtime.block_on(store.record_reports(batch)).unwrap().len(),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

async fn seed_contracts(store: &SqliteStore) {
    for statement in [
        "INSERT INTO levels (name, rank) VALUES ('district', 1)",
        "INSERT INTO jurisdictions (id, level, external_id, name, time_zone) \
         VALUES (1, 'district', 'A', 'A', 'UTC')",
        "INSERT INTO contractors (slug, name) VALUES ('crew-0', 'c0'), ('crew-1', 'c1'), \
         ('crew-2', 'c2')",
        "INSERT INTO contracts (id, slug, contractor, jurisdiction_id, categories, valid_from_ms, \
         capacity) VALUES (1, 'k0', 'crew-0', 1, '[\"pothole\"]', 0, 1000000), \
         (2, 'k1', 'crew-1', 1, '[\"pothole\"]', 0, 1000000), \
         (3, 'k2', 'crew-2', 1, '[\"pothole\"]', 0, 1000000)",
    ] {
        sqlx::query(statement).execute(store.pool()).await.unwrap();
    }
}

criterion_group!(benches, breach_scan, assignment);
criterion_main!(benches);
