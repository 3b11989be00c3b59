//! Breach detection against the embedded store, on a manual clock: each
//! breach is escalated exactly once, across restarts and with two scanners;
//! breaches that happened while the server was down are raised at start;
//! replayed history raises none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/work_city.rs"]
mod city;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::StatusCode;
use axum::routing::post;
use city::{NORTH, SOUTH};
use cityfix::clock::{Clock, ManualClock};
use cityfix::dispatch::Command;
use cityfix::events::live::LiveEventKind;
use cityfix::events::{Actor, EventKind};
use cityfix::reports::Submission;
use cityfix::sla::{DeadlineKind, Webhook};
use cityfix::store::{WorkOrderChange, WorkOrderQuery};
use cityfix::work_orders::scanner::BreachScanner;
use jiff::SignedDuration;

type Seen = Arc<Mutex<Vec<serde_json::Value>>>;

/// A local webhook receiver that records what it is sent.
async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |Json(body): Json<serde_json::Value>| async move {
            sink.lock().unwrap().push(body);
            StatusCode::NO_CONTENT
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/hook"), seen)
}

fn scanner(city: &city::City, clock: &Arc<ManualClock>, url: &str) -> BreachScanner {
    let webhook = Webhook::new(url).unwrap();
    BreachScanner::new(city.store.clone(), clock.clone(), Some(webhook))
}

fn offset((lat, lon): (f64, f64), step: f64) -> (f64, f64) {
    (lat + step * 0.001, lon)
}

#[tokio::test]
async fn each_breach_is_escalated_once_across_restarts_and_downtime() {
    let dir = tempfile::tempdir().unwrap();
    let places = city::set_up(dir.path()).await;
    let (url, seen) = receiver().await;
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));

    let city = city::open(dir.path()).await;
    let north = city.report(NORTH, clock.now()).await;
    let south = city
        .report(SOUTH, clock.now() - SignedDuration::from_secs(1))
        .await;
    let scan = scanner(&city, &clock, &url);
    assert!(scan.scan().await.unwrap().is_empty(), "nothing is due yet");

    // The one-hour response deadline passes; a scan a minute later raises both.
    clock.advance(SignedDuration::from_mins(61));
    let raised = scan.scan().await.unwrap();
    let mut ids: Vec<i64> = raised.iter().map(|n| n.work_order_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![north, south]);
    assert!(raised.iter().all(|n| n.deadline == DeadlineKind::Response));
    assert_eq!(seen.lock().unwrap().len(), 2, "one POST per breach");
    assert!(scan.scan().await.unwrap().is_empty(), "raised twice");

    let overdue = WorkOrderQuery {
        overdue_only: true,
        ..WorkOrderQuery::default()
    };
    assert_eq!(city.store.work_orders(&overdue).await.unwrap().len(), 2);
    // Supervisors see the overdue orders of their jurisdiction and those it contains.
    for (jurisdiction_id, expected) in [
        (places.municipality, vec![south, north]),
        (places.north, vec![north]),
    ] {
        let listed = city
            .desk(&clock)
            .overdue(jurisdiction_id, 100)
            .await
            .unwrap();
        let listed: Vec<i64> = listed.iter().map(|w| w.state.work_order_id).collect();
        assert_eq!(
            listed, expected,
            "overdue of jurisdiction {jurisdiction_id}"
        );
    }

    // The north order gets accepted; the server stops; the two-day
    // resolution deadlines pass while it is down.
    city.store
        .change_work_order(WorkOrderChange {
            work_order_id: north,
            command: Command::Accept,
            actor: Actor::contractor("acme"),
            at: clock.now(),
            candidates: Vec::new(),
        })
        .await
        .unwrap();
    drop(scan);
    drop(city);
    clock.advance(SignedDuration::from_hours(48));

    let city = city::open(dir.path()).await;
    let scan = scanner(&city, &clock, &url);
    let raised = scan.scan().await.unwrap();
    assert_eq!(
        raised.len(),
        2,
        "the downtime's breaches are raised at start"
    );
    assert!(
        raised
            .iter()
            .all(|n| n.deadline == DeadlineKind::Resolution)
    );
    assert!(scan.scan().await.unwrap().is_empty());
    drop(scan);
    drop(city);

    // Another restart finds nothing left to raise.
    let city = city::open(dir.path()).await;
    assert!(
        scanner(&city, &clock, &url)
            .scan()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(seen.lock().unwrap().len(), 4);

    let events = city.store.events(Some(north)).await.unwrap();
    let breached = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::DeadlineBreached { .. }))
        .count();
    let escalated = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Escalated { webhook: true, .. }))
        .count();
    assert_eq!((breached, escalated), (2, 2));
    city::assert_log_replays(city.store.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scanners_on_one_store_never_double_an_escalation() {
    let dir = tempfile::tempdir().unwrap();
    city::set_up(dir.path()).await;
    let (url, seen) = receiver().await;
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let city = city::open(dir.path()).await;
    for step in 0..20 {
        let at = clock.now();
        city.report(offset(NORTH, f64::from(step)), at).await;
    }

    clock.advance(SignedDuration::from_mins(61));
    let (first, second) = (scanner(&city, &clock, &url), scanner(&city, &clock, &url));
    let (a, b) = tokio::join!(first.scan(), second.scan());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 20);

    let mut ids: Vec<i64> = a.iter().chain(&b).map(|n| n.work_order_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20, "an order was escalated twice");
    assert_eq!(seen.lock().unwrap().len(), 20);
}

#[tokio::test]
async fn replayed_history_raises_no_escalation() {
    let dir = tempfile::tempdir().unwrap();
    city::set_up(dir.path()).await;
    let (url, seen) = receiver().await;
    let city = city::open(dir.path()).await;

    // Old records: one never closed in the source, one closed late, both
    // with deadlines long past.
    let created: jiff::Timestamp = "2023-03-01T14:00:00Z".parse().unwrap();
    for (step, closed) in [(0.0, None), (1.0, Some("2023-03-20T10:00:00Z"))] {
        let (lat, lon) = offset(SOUTH, step);
        let submission = Submission {
            lat: Some(lat),
            lon: Some(lon),
            category: Some("pothole".into()),
            source: "replay:test".into(),
            source_id: Some(format!("case-{step}")),
            received_at: Some(created),
            source_closed_at: closed.map(|c| c.parse().unwrap()),
            ..Submission::default()
        };
        city.pipeline.submit(submission).await.unwrap();
    }

    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let scan = scanner(&city, &clock, &url);
    assert!(scan.scan().await.unwrap().is_empty());
    clock.advance(SignedDuration::from_hours(24 * 30));
    assert!(scan.scan().await.unwrap().is_empty());
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn breaches_reach_the_live_feed_of_their_jurisdiction_and_those_containing_it() {
    let dir = tempfile::tempdir().unwrap();
    let places = city::set_up(dir.path()).await;
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let city = city::open(dir.path()).await;
    let north = city.report(NORTH, clock.now()).await;
    let mut listener = city.live.subscribe();
    let scan = BreachScanner::new(city.store.clone(), clock.clone(), None)
        .with_live_feed(city.live.clone());

    clock.advance(SignedDuration::from_mins(61));
    let raised = scan.scan().await.unwrap();
    assert_eq!(raised.len(), 1);
    let event = loop {
        let event = listener.try_recv().expect("a live event for the breach");
        if event.name() == "deadline_breached" {
            break event;
        }
    };
    assert_eq!(
        event.jurisdiction_ids,
        vec![places.north, places.municipality]
    );
    assert_eq!(event.at, clock.now());
    let LiveEventKind::DeadlineBreached {
        work_order_id,
        incident_id,
        deadline,
        due_at,
        contractor,
        category,
    } = event.kind
    else {
        panic!("not a breach: {event:?}");
    };
    assert_eq!(work_order_id, north);
    assert_eq!(incident_id, raised[0].incident_id);
    assert_eq!(deadline, DeadlineKind::Response);
    assert_eq!(due_at, raised[0].due_at);
    assert_eq!(contractor, raised[0].contractor);
    assert_eq!(category, raised[0].category);

    assert!(scan.scan().await.unwrap().is_empty());
    assert!(listener.try_recv().is_err(), "a breach is announced once");
}

/// A webhook receiver that refuses every POST while `refusing` is set.
async fn flaky_receiver(refusing: Arc<AtomicBool>) -> (String, Seen, Arc<AtomicUsize>) {
    let seen: Seen = Arc::default();
    let posts = Arc::new(AtomicUsize::new(0));
    let (sink, count) = (seen.clone(), posts.clone());
    let app = axum::Router::new().route(
        "/hook",
        post(move |Json(body): Json<serde_json::Value>| async move {
            count.fetch_add(1, Ordering::SeqCst);
            if refusing.load(Ordering::SeqCst) {
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            sink.lock().unwrap().push(body);
            StatusCode::NO_CONTENT
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/hook"), seen, posts)
}

#[tokio::test]
async fn refused_and_unsent_notices_are_delivered_later_once() {
    let dir = tempfile::tempdir().unwrap();
    city::set_up(dir.path()).await;
    let refusing = Arc::new(AtomicBool::new(true));
    let (url, seen, posts) = flaky_receiver(refusing.clone()).await;
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let city = city::open(dir.path()).await;
    let webhook = Webhook::new(&url)
        .unwrap()
        .with_retry_pause(std::time::Duration::ZERO);
    let scan = BreachScanner::new(city.store.clone(), clock.clone(), Some(webhook));
    let work_order_ids = |seen: &Seen| -> Vec<i64> {
        let seen = seen.lock().unwrap();
        seen.iter()
            .map(|n| n["work_order_id"].as_i64().unwrap())
            .collect()
    };

    // The receiver is down when two breaches happen: the first notice's three
    // quick attempts fail, the second is not tried in that pass, and both wait.
    let north = city.report(NORTH, clock.now()).await;
    let south = city.report(SOUTH, clock.now()).await;
    clock.advance(SignedDuration::from_mins(61));
    assert_eq!(scan.scan().await.unwrap().len(), 2);
    assert_eq!(posts.load(Ordering::SeqCst), 3);
    assert!(scan.scan().await.unwrap().is_empty());
    assert_eq!(posts.load(Ordering::SeqCst), 3, "not due again yet");

    // Back up: the refused notice is due 30 s on, the untried one once its
    // two-minute lease has passed; each is delivered once.
    refusing.store(false, Ordering::SeqCst);
    clock.advance(SignedDuration::from_secs(31));
    assert!(scan.scan().await.unwrap().is_empty(), "no new breach");
    assert_eq!(work_order_ids(&seen).len(), 1);
    clock.advance(SignedDuration::from_mins(2));
    scan.scan().await.unwrap();
    let mut delivered = work_order_ids(&seen);
    delivered.sort_unstable();
    assert_eq!(delivered, vec![north, south]);
    clock.advance(SignedDuration::from_hours(1));
    scan.scan().await.unwrap();
    assert_eq!(work_order_ids(&seen).len(), 2);

    // A scanner claims a breach and stops before posting it: once its lease
    // has passed, any scan posts the notice.
    let third = city.report(offset(NORTH, 5.0), clock.now()).await;
    clock.advance(SignedDuration::from_mins(61));
    let lease = clock.now() + SignedDuration::from_mins(2);
    let claimed = city
        .store
        .claim_breaches(clock.now(), Some(lease), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].work_order_id, third);
    scan.scan().await.unwrap();
    assert_eq!(
        work_order_ids(&seen).len(),
        2,
        "leased to the stopped scanner"
    );
    clock.advance(SignedDuration::from_mins(3));
    scan.scan().await.unwrap();
    let sent: Vec<serde_json::Value> = seen.lock().unwrap().clone();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2]["work_order_id"], third);
    assert_eq!(sent[2]["deadline"], "response");
    assert_eq!(sent[2]["incident_id"], claimed[0].incident_id);
}

#[test]
fn notice_retries_back_off_to_an_hour() {
    use cityfix::work_orders::scanner::{MAX_NOTICE_ATTEMPTS, notice_retry_pause};
    let pauses: Vec<i64> = (1..MAX_NOTICE_ATTEMPTS)
        .map(|n| notice_retry_pause(n).as_secs())
        .collect();
    assert_eq!(
        pauses,
        [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]
    );
    assert_eq!(notice_retry_pause(u32::MAX).as_secs(), 3600);
}
