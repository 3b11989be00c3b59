//! Several processes on one PostGIS database. Two real `cityfix serve`
//! processes hit at the same time with reports of one pothole: exactly one
//! incident must hold them all. Breach scanners on separate connection pools
//! claiming at once: every breach escalated exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/server.rs"]
mod server;
mod support;

use server::{start_server, wait_until_up};
use support::pg;

use std::str::FromStr;
use std::time::{Duration, Instant};

use cityfix::boundaries::{ImportOptions, parse_boundaries};
use cityfix::events::live::LiveFeed;
use cityfix::photos::{DirPhotoStore, PhotoLimits};
use cityfix::pipeline::{Pipeline, PipelineParts};
use cityfix::reports::Submission;
use cityfix::setup::{CitySetup, JurisdictionRef};
use cityfix::store::{BoundaryImport, PgStore, RecordOutcome, SharedStore, Store};
use futures::future::join_all;
use jiff::Timestamp;
use sqlx::postgres::PgConnectOptions;
use std::collections::HashSet;
use std::sync::Arc;

const DISTRICTS: &str = include_str!("../fixtures/boundaries/sample_districts.geojson");
const SETUP: &str = include_str!("../fixtures/sample/setup.toml");
const REPORTS_PER_SERVER: usize = 12;

async fn prepare_city(url: &str) {
    let store = PgStore::connect_with(PgConnectOptions::from_str(url).unwrap())
        .await
        .unwrap();
    let options = ImportOptions {
        id_field: "code".into(),
        name_field: "name".into(),
        strict: true,
    };
    let import = BoundaryImport {
        level: "district".into(),
        level_rank: None,
        time_zone: "America/New_York".into(),
        source_name: "sample_districts.geojson".into(),
    };
    let now = Timestamp::now();
    store
        .import_boundaries(
            &import,
            &parse_boundaries(DISTRICTS, &options).unwrap(),
            now,
        )
        .await
        .unwrap();
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_file_one_pothole_once() {
    let Some(url) = pg::test_database_url() else {
        return;
    };
    let scoped = pg::fresh_schema(&url, "two_servers").await;
    prepare_city(&scoped).await;

    let data = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut servers = [
        start_server(Some(&scoped), &data.path().join("a")),
        start_server(Some(&scoped), &data.path().join("b")),
    ];
    for server in &mut servers {
        wait_until_up(&client, server).await;
    }

    // One pothole, seen from a few metres apart (all within the 25 m radius
    // of each other), sent to both servers at once.
    let requests = (0..REPORTS_PER_SERVER * 2).map(|n| {
        let server = &servers[n % 2];
        let lon = -71.09 + (n % 5) as f64 * 0.000_02;
        let lat = 42.385 + (n % 3) as f64 * 0.000_02;
        let body = serde_json::json!({ "lat": lat, "lon": lon, "category": "pothole" });
        client
            .post(format!("{}/api/v1/reports", server.base))
            .json(&body)
            .send()
    });
    let mut incident_ids = Vec::new();
    for answer in join_all(requests).await {
        let answer = answer.unwrap();
        assert_eq!(answer.status(), 201);
        let view: serde_json::Value = answer.json().await.unwrap();
        incident_ids.push(view["incident_id"].as_i64().unwrap());
    }
    incident_ids.dedup();
    assert_eq!(incident_ids.len(), 1, "{incident_ids:?}");

    let listed: serde_json::Value = client
        .get(format!("{}/api/v1/incidents", servers[1].base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let incidents = listed["features"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{listed}");
    assert_eq!(
        incidents[0]["properties"]["report_count"].as_u64(),
        Some((REPORTS_PER_SERVER * 2) as u64)
    );

    // One retried submission (one Idempotency-Key) arriving at both servers at
    // once is one report; every answer names it.
    let retries = (0..6).map(|n| {
        let body = serde_json::json!({ "lat": 42.32, "lon": -71.07, "category": "graffiti" });
        client
            .post(format!("{}/api/v1/reports", servers[n % 2].base))
            .header("Idempotency-Key", "one-submission")
            .json(&body)
            .send()
    });
    // (A process replays its own first answer, 201, to retries it holds; the
    // other process answers 200 with the stored report.)
    let mut report_ids = Vec::new();
    for answer in join_all(retries).await {
        let answer = answer.unwrap();
        assert!(answer.status() == 201 || answer.status() == 200);
        let view: serde_json::Value = answer.json().await.unwrap();
        report_ids.push(view["id"].as_i64().unwrap());
    }
    report_ids.dedup();
    assert_eq!(report_ids.len(), 1, "{report_ids:?}");

    let store = PgStore::connect_with(PgConnectOptions::from_str(&scoped).unwrap())
        .await
        .unwrap();
    let (reports, distinct, work_orders): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM reports WHERE category = 'pothole'), \
         (SELECT COUNT(DISTINCT incident_id) FROM reports WHERE category = 'pothole'), \
         (SELECT COUNT(*) FROM work_orders WHERE category = 'pothole')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(
        (reports, distinct, work_orders),
        ((REPORTS_PER_SERVER * 2) as i64, 1, 1)
    );
    let keyed: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM reports WHERE source_id = 'one-submission'")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(keyed, report_ids);
}

async fn open(url: &str) -> SharedStore {
    Arc::new(
        PgStore::connect_with(PgConnectOptions::from_str(url).unwrap())
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_scanners_claim_each_breach_once() {
    let Some(url) = pg::test_database_url() else {
        return;
    };
    let scoped = pg::fresh_schema(&url, "concurrent_claims").await;
    prepare_city(&scoped).await;
    let store = open(&scoped).await;
    let photos = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::load(PipelineParts {
        store: store.clone(),
        classifier: None,
        photos: Arc::new(DirPhotoStore::new(photos.path())),
        photo_limits: PhotoLimits::default(),
        live: LiveFeed::default(),
        max_description_chars: 2_000,
        triage_threshold: 0.5,
    })
    .await
    .unwrap();

    // Forty potholes far enough apart to be forty work orders.
    let now = Timestamp::now();
    let orders = 40;
    for n in 0..orders {
        let submission = Submission {
            lat: Some(42.36 + f64::from(n) * 0.000_5),
            lon: Some(-71.095),
            category: Some("pothole".into()),
            source: "api".into(),
            received_at: Some(now),
            ..Submission::default()
        };
        let intake = pipeline.submit(submission).await.unwrap();
        assert!(matches!(
            intake.outcome,
            RecordOutcome::Recorded { merged: false, .. }
        ));
    }

    // Four scanners, two per connection pool, claiming small batches at once
    // a month later, when every response and resolution deadline has passed.
    let later = now + jiff::SignedDuration::from_hours(24 * 30);
    let other = open(&scoped).await;
    let scanners = (0..4).map(|n| {
        let store = if n % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        tokio::spawn(async move {
            let mut claimed = Vec::new();
            loop {
                let batch = store.claim_breaches(later, None, 3).await.unwrap();
                if batch.is_empty() {
                    return claimed;
                }
                claimed.extend(batch.into_iter().map(|n| (n.work_order_id, n.deadline)));
            }
        })
    });
    let mut all = Vec::new();
    for scanner in join_all(scanners).await {
        all.extend(scanner.unwrap());
    }
    let distinct: HashSet<_> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "a breach was claimed twice");
    assert_eq!(all.len(), orders as usize * 2, "a breach was lost");

    let escalations: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE type = 'escalated'")
            .fetch_one(
                PgStore::connect_with(PgConnectOptions::from_str(&scoped).unwrap())
                    .await
                    .unwrap()
                    .pool(),
            )
            .await
            .unwrap();
    assert_eq!(escalations, i64::from(orders) * 2);
}

/// The next SSE event of `answer` (name and JSON data), skipping keep-alives;
/// fails after `wait`.
async fn next_event(
    answer: &mut reqwest::Response,
    buffer: &mut String,
    wait: Duration,
) -> (String, serde_json::Value) {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|line| line.strip_prefix(name).map(str::trim))
                    .map(str::to_owned)
            };
            if let (Some(name), Some(data)) = (field("event:"), field("data:")) {
                return (name, serde_json::from_str(&data).unwrap());
            }
            continue;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, answer.chunk())
            .await
            .expect("no live event in time")
            .unwrap()
            .expect("the stream ended");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_report_filed_at_one_server_reaches_the_live_feed_of_every_server_once() {
    let Some(url) = pg::test_database_url() else {
        return;
    };
    let scoped = pg::fresh_schema(&url, "live_relay").await;
    prepare_city(&scoped).await;
    let store = open(&scoped).await;
    let north = store
        .jurisdictions()
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.name == "North")
        .unwrap()
        .id;
    let secret = "cfx_test_live_relay_supervisor";
    store
        .insert_token(
            &cityfix::auth::TokenHash::of(secret),
            &cityfix::auth::Grant::Supervisor {
                jurisdiction_id: north,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();

    let data = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut servers = [
        start_server(Some(&scoped), &data.path().join("a")),
        start_server(Some(&scoped), &data.path().join("b")),
    ];
    for server in &mut servers {
        wait_until_up(&client, server).await;
    }
    let mut streams = Vec::new();
    for server in &servers {
        let answer = client
            .get(format!("{}/api/v1/events/stream", server.base))
            .bearer_auth(secret)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        streams.push((answer, String::new()));
    }
    // Both listeners are subscribed before anything is filed.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut filed = Vec::new();
    for (step, server) in [&servers[0], &servers[0], &servers[1]]
        .into_iter()
        .enumerate()
    {
        let body = serde_json::json!({
            "lat": 42.372 + step as f64 * 0.002,
            "lon": -71.09,
            "category": "pothole",
        });
        let answer = client
            .post(format!("{}/api/v1/reports", server.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201);
        let view: serde_json::Value = answer.json().await.unwrap();
        filed.push(view["id"].as_i64().unwrap());
    }

    // Each stream sees every report once, whichever server filed it, and no
    // echo of its own: the three report_accepted events are the three reports.
    for (n, (answer, buffer)) in streams.iter_mut().enumerate() {
        let mut seen = Vec::new();
        while seen.len() < filed.len() {
            let (name, data) = next_event(answer, buffer, Duration::from_secs(10)).await;
            if name == "report_accepted" {
                seen.push(data["report_id"].as_i64().unwrap());
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, filed, "the live feed of server {n}");
    }
}
