//! The dashboard's API through the router: heatmap, clusters, hotspots and
//! figures over a small fixture city, checked against values computed here
//! from what was submitted.

// Helpers of a test stop it on the spot when a step fails.
#![allow(clippy::unwrap_used, clippy::panic)]

#[path = "support/fixture_city.rs"]
mod fixture_city;

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use h3o::{LatLng, Resolution};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use tower::ServiceExt;

use cityfix::store::{RecordOutcome, WorkOrderSummary};
use fixture_city::{FixtureCity, Sent};

/// The hotspot's place, in district South.
const HOT: (f64, f64) = (-71.045, 42.31);

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn days_after(start: &str, days: i64) -> Timestamp {
    at(start) + SignedDuration::from_hours(24 * days)
}

/// Nine potholes along the north of district North, six graffiti across
/// South, and a pothole place in South reported every ten days in 2025's
/// first five months.
fn history() -> Vec<Sent> {
    let mut sent = Vec::new();
    for i in 0..9 {
        let lon = -71.095 + 0.005 * f64::from(i);
        sent.push((
            "pothole",
            lon,
            42.385,
            days_after("2025-03-01T12:00:00Z", i64::from(i)),
        ));
    }
    for i in 0..6 {
        let lon = -71.09 + 0.008 * f64::from(i);
        sent.push((
            "graffiti",
            lon,
            42.32,
            days_after("2025-04-01T12:00:00Z", i64::from(i)),
        ));
    }
    for i in 0..15 {
        sent.push((
            "pothole",
            HOT.0,
            HOT.1,
            days_after("2025-01-01T09:00:00Z", 10 * i),
        ));
    }
    sent
}

/// Twelve reports at the hotspot's place in the week before 2025-06-10.
fn burst() -> Vec<Sent> {
    (0..12)
        .map(|i| {
            (
                "pothole",
                HOT.0,
                HOT.1,
                days_after("2025-06-03T10:00:00Z", i / 2),
            )
        })
        .collect()
}

async fn city() -> (FixtureCity, Vec<Sent>) {
    let mut sent = history();
    sent.extend(burst());
    (FixtureCity::with_history(&sent).await, sent)
}

fn cell_counts(sent: &[&Sent], resolution: Resolution) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for &&(_, lon, lat, _) in sent {
        let cell = LatLng::new(lat, lon).unwrap().to_cell(resolution);
        *counts.entry(cell.to_string()).or_default() += 1;
    }
    counts
}

fn counts_of(collection: &Value) -> BTreeMap<String, u64> {
    collection["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|feature| {
            let properties = &feature["properties"];
            assert_eq!(feature["geometry"]["type"], "Polygon");
            (
                properties["cell"].as_str().unwrap().to_owned(),
                properties["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn heatmap_counts_each_report_in_its_hexagon_under_the_filters() {
    let (city, sent) = city().await;
    let all: Vec<&Sent> = sent.iter().collect();

    let (status, body) = city.get("/api/v1/heatmap?resolution=9").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["type"], "FeatureCollection");
    assert_eq!(body["total"], all.len() as u64);
    assert_eq!(counts_of(&body), cell_counts(&all, Resolution::Nine));

    let north = "-71.10,42.35,-71.04,42.39";
    let (_, body) = city
        .get(&format!("/api/v1/heatmap?resolution=8&bbox={north}"))
        .await;
    let inside: Vec<&Sent> = all.iter().copied().filter(|s| s.2 >= 42.35).collect();
    assert_eq!(inside.len(), 9);
    assert_eq!(counts_of(&body), cell_counts(&inside, Resolution::Eight));

    let (_, body) = city
        .get("/api/v1/heatmap?resolution=7&category=graffiti")
        .await;
    assert_eq!(body["total"], 6);

    let (_, body) = city
        .get("/api/v1/heatmap?resolution=9&category=pothole,graffiti&from=2025-06-01T00:00:00Z&to=2025-06-06T00:00:00Z")
        .await;
    let period: Vec<&Sent> = all
        .iter()
        .copied()
        .filter(|s| s.3 >= at("2025-06-01T00:00:00Z") && s.3 < at("2025-06-06T00:00:00Z"))
        .collect();
    assert_eq!(body["total"], period.len() as u64);
    assert_eq!(counts_of(&body), cell_counts(&period, Resolution::Nine));

    let south = city.jurisdiction("3");
    let (_, body) = city
        .get(&format!(
            "/api/v1/heatmap?resolution=9&jurisdiction={south}"
        ))
        .await;
    assert_eq!(body["total"], (all.len() - 9) as u64);
}

#[tokio::test]
async fn heatmap_takes_its_resolution_from_the_zoom() {
    let (city, _) = city().await;
    let (status, body) = city.get("/api/v1/heatmap?zoom=12").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["resolution"], 8);
    let first = &body["features"][0]["properties"];
    assert_eq!(first["resolution"], 8);
}

/// Incidents opened by the submissions, with their first report's position.
fn incidents_of(sent: &[Sent], outcomes: &[RecordOutcome]) -> BTreeMap<i64, (f64, f64)> {
    let mut incidents = BTreeMap::new();
    for (report, outcome) in sent.iter().zip(outcomes) {
        if let RecordOutcome::Recorded { incident_id, .. } = outcome {
            incidents
                .entry(*incident_id)
                .or_insert((report.1, report.2));
        }
    }
    incidents
}

#[tokio::test]
async fn clusters_count_every_incident_in_the_box_exactly_once() {
    let city = FixtureCity::with_history(&[]).await;
    let sent = history();
    let outcomes = city.submit(&sent).await;
    let incidents = incidents_of(&sent, &outcomes);
    wait_for_incidents(&city, incidents.len()).await;

    let boxes = [
        "-180,-85,180,85",
        "-71.10,42.35,-71.04,42.39",
        // Cuts through the row of potholes and the graffiti.
        "-71.075,42.30,-71.052,42.39",
        "-71.2,42.0,-70.9,42.6",
    ];
    for bbox in boxes {
        let [west, south, east, north]: [f64; 4] = bbox
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        let expected: BTreeSet<i64> = incidents
            .iter()
            .filter(|(_, (lon, lat))| {
                *lon >= west && *lon <= east && *lat >= south && *lat <= north
            })
            .map(|(id, _)| *id)
            .collect();

        for zoom in [0, 8, 11, 13, 15, 18] {
            let (status, body) = city
                .get(&format!("/api/v1/clusters?bbox={bbox}&zoom={zoom}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let counts: u64 = features(&body)
                .map(|feature| feature["properties"]["count"].as_u64().unwrap())
                .sum();
            assert_eq!(counts, expected.len() as u64, "box {bbox} zoom {zoom}");
            assert_eq!(body["total"], counts);
        }

        // Deep enough that every incident stands alone: the ids are the box's.
        let (_, body) = city
            .get(&format!("/api/v1/clusters?bbox={bbox}&zoom=20"))
            .await;
        let ids: BTreeSet<i64> = features(&body)
            .map(|feature| feature["properties"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, expected, "box {bbox}");
    }
}

/// P(X >= k) for X ~ Binomial(n, p), summed term by term.
fn binomial_upper_tail(n: u64, k: u64, p: f64) -> f64 {
    let choose = |n: u64, k: u64| (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64);
    (k..=n)
        .map(|i| choose(n, i) * p.powi(i as i32) * (1.0 - p).powi((n - i) as i32))
        .sum()
}

fn features(body: &Value) -> impl Iterator<Item = &Value> {
    body["features"].as_array().unwrap().iter()
}

#[tokio::test]
async fn the_burst_is_the_one_hotspot_with_its_counts_and_score() {
    let (city, _) = city().await;

    let (status, body) = city
        .get("/api/v1/hotspots?days=7&history_days=365&until=2025-06-10T00:00:00Z&resolution=9")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hotspots: Vec<&Value> = features(&body).collect();
    assert_eq!(hotspots.len(), 1, "{body}");

    let hot = &hotspots[0]["properties"];
    let cell = LatLng::new(HOT.1, HOT.0).unwrap().to_cell(Resolution::Nine);
    assert_eq!(hot["cell"], cell.to_string());
    assert_eq!(hot["recent_count"], 12);
    assert_eq!(hot["history_count"], 15);
    // The exact binomial tail, recomputed here: 27 reports in the cell, each in the
    // recent window with the recent window's share of the days with data.
    let recent_days = body["recent_days_with_data"].as_f64().unwrap();
    let history_days = body["history_days_with_data"].as_f64().unwrap();
    assert_eq!(recent_days, 6.0, "the burst spans six days");
    let p = recent_days / (recent_days + history_days);
    let p_value = binomial_upper_tail(27, 12, p);
    let reported = hot["p_value"].as_f64().unwrap();
    assert!(
        (reported - p_value).abs() < 1e-12 * p_value.max(1e-300),
        "{reported} vs {p_value}"
    );
    assert!((hot["score"].as_f64().unwrap() + p_value.log10()).abs() < 1e-9);
    assert!(hot["q_value"].as_f64().unwrap() <= 0.05);
    assert_eq!(body["cells_tested"], 16);

    // Before the burst nothing stands out.
    let (_, body) = city
        .get("/api/v1/hotspots?until=2025-05-20T00:00:00Z")
        .await;
    assert_eq!(features(&body).count(), 0, "{body}");
}

/// (contractor, work orders) of `orders`, most first: the contractor table's order.
fn by_contractor<'a>(orders: impl Iterator<Item = &'a WorkOrderSummary>) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for order in orders {
        *counts
            .entry(order.contractor.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let mut table: Vec<(String, u64)> = counts.into_iter().collect();
    table.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    table
}

fn table_of(body: &Value) -> Vec<(String, u64)> {
    body["contractors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            assert_eq!(row["open"], row["overdue"], "nothing was resolved");
            (
                row["contractor"].as_str().unwrap().to_owned(),
                row["overdue"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn figures_count_the_supervisors_jurisdiction_and_order_contractors_by_overdue_work() {
    let (city, sent) = city().await;
    let (status, body) = city.get("/api/v1/dashboard/figures").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The token watches one district: its figures count that district's work
    // orders only. Deadlines fell in 2025 and nothing was resolved: every
    // one of them is overdue.
    let own = city.jurisdictions[0].1;
    let all = city.store.work_order_summaries(None).await.unwrap();
    let mine = city.store.work_order_summaries(Some(own)).await.unwrap();
    assert!(!mine.is_empty() && mine.len() < all.len());
    assert!(mine.iter().all(|w| w.jurisdiction_id == own));
    assert!(sent.len() > all.len(), "duplicates were merged");

    let expected = by_contractor(mine.iter());
    assert_eq!(table_of(&body), expected);
    assert_eq!(body["compliance"]["overall"]["breached"], mine.len() as u64);
    let by_jurisdiction = body["compliance"]["by_jurisdiction"].as_object().unwrap();
    assert_eq!(
        by_jurisdiction.keys().collect::<Vec<_>>(),
        [&own.to_string()]
    );

    // A period counts the orders created in it; a date is midnight UTC.
    let (from, to) = (at("2025-03-03T00:00:00Z"), at("2025-04-30T00:00:00Z"));
    let in_period = by_contractor(
        mine.iter()
            .filter(|w| w.assigned_at >= from && w.assigned_at < to),
    );
    assert!(!in_period.is_empty() && in_period != expected);
    for query in [
        "from=2025-03-03T00:00:00Z&to=2025-04-30T00:00:00Z",
        "from=2025-03-03&to=2025-04-30",
    ] {
        let (status, body) = city
            .get(&format!("/api/v1/dashboard/figures?{query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(table_of(&body), in_period, "{query}");
    }
}

#[tokio::test]
async fn new_reports_reach_the_layers_live() {
    let (city, sent) = city().await;
    let (_, summary) = city.get("/api/v1/dashboard/summary").await;
    assert_eq!(summary["reports"], sent.len() as u64);
    assert_eq!(
        summary["categories"],
        serde_json::json!(["graffiti", "pothole"])
    );
    let incidents = summary["incidents"].as_u64().unwrap() as usize;

    let fresh: Sent = ("graffiti", -71.042, 42.34, at("2025-06-09T08:00:00Z"));
    let outcome = city.submit(&[fresh]).await;
    assert!(matches!(
        outcome[0],
        RecordOutcome::Recorded { merged: false, .. }
    ));
    wait_for_incidents(&city, incidents + 1).await;

    let (_, body) = city
        .get("/api/v1/heatmap?resolution=9&category=graffiti")
        .await;
    assert_eq!(body["total"], 7);
    let (_, body) = city.get("/api/v1/clusters?zoom=10").await;
    assert_eq!(body["total"], (incidents + 1) as u64);
}

/// Waits (up to five seconds) until the view has applied the live events and
/// rebuilt its clusters.
async fn wait_for_incidents(city: &FixtureCity, incidents: usize) {
    for _ in 0..500 {
        let (_, summary) = city.get("/api/v1/dashboard/summary").await;
        let (_, clusters) = city.get("/api/v1/clusters?zoom=3").await;
        if summary["incidents"] == incidents as u64 && clusters["total"] == incidents as u64 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the analytics view did not reach {incidents} incidents");
}

const ENDPOINTS: [&str; 5] = [
    "/api/v1/heatmap?zoom=12",
    "/api/v1/clusters?zoom=12",
    "/api/v1/hotspots",
    "/api/v1/dashboard/summary",
    "/api/v1/dashboard/figures",
];

#[tokio::test]
async fn only_supervisors_get_in_by_bearer_or_session_cookie() {
    let (city, _) = city().await;
    let contractor = format!("Bearer {}", city.contractor_token);
    for uri in ENDPOINTS {
        let (status, body) = city.get_with(uri, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(body["error"]["code"], "unauthenticated");
        let (status, _) = city
            .get_with(uri, Some(("authorization", &contractor)))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
    }

    let login = Request::post("/api/v1/session")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(
            "{{\"token\":\"{}\"}}",
            city.supervisor_token
        )))
        .unwrap();
    let response = city.router.clone().oneshot(login).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();
    for uri in ENDPOINTS {
        let (status, _) = city.get_with(uri, Some(("cookie", &pair))).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn bad_queries_are_refused_with_the_reason() {
    let (city, _) = city().await;
    let cases = [
        ("/api/v1/heatmap", 422, "invalid_query"),
        ("/api/v1/heatmap?zoom=3&resolution=4", 422, "invalid_query"),
        ("/api/v1/heatmap?resolution=16", 422, "invalid_resolution"),
        ("/api/v1/heatmap?zoom=30", 422, "invalid_zoom"),
        ("/api/v1/heatmap?zoom=3&bbox=1,2,3", 422, "invalid_bbox"),
        (
            "/api/v1/heatmap?zoom=3&from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z",
            422,
            "invalid_period",
        ),
        (
            "/api/v1/heatmap?zoom=3&from=yesterday",
            400,
            "invalid_query",
        ),
        ("/api/v1/heatmap?zoom=3&colour=red", 400, "invalid_query"),
        ("/api/v1/clusters", 400, "invalid_query"),
        ("/api/v1/clusters?zoom=25", 422, "invalid_zoom"),
        ("/api/v1/clusters?zoom=5&bbox=10,0,5,1", 422, "invalid_bbox"),
        ("/api/v1/hotspots?days=0", 422, "invalid_query"),
        ("/api/v1/hotspots?fdr=1.5", 422, "invalid_query"),
        (
            "/api/v1/dashboard/figures?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z",
            422,
            "invalid_period",
        ),
    ];
    for (uri, status, code) in cases {
        let (got, body) = city.get(uri).await;
        assert_eq!(got.as_u16(), status, "{uri}: {body}");
        assert_eq!(body["error"]["code"], code, "{uri}: {body}");
    }
}

#[tokio::test]
async fn a_heatmap_too_fine_for_the_box_is_refused() {
    let city = FixtureCity::with_history(&[]).await;
    let sent: Vec<Sent> = (0..20_100)
        .map(|i| {
            let (row, column) = (f64::from(i / 150), f64::from(i % 150));
            (
                "pothole",
                -71.095 + column * 0.0003,
                42.351 + row * 0.0002,
                at("2025-01-02T00:00:00Z"),
            )
        })
        .collect();
    let summaries_before = city.store.report_points().await.unwrap().len();
    city.submit(&sent).await;
    let total = summaries_before + sent.len();
    for _ in 0..500 {
        let (_, summary) = city.get("/api/v1/dashboard/summary").await;
        if summary["reports"] == total as u64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let (status, body) = city.get("/api/v1/heatmap?resolution=15").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "too_many_cells");
    let (status, body) = city.get("/api/v1/heatmap?resolution=8").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], total as u64);
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_from_the_binary() {
    let city = FixtureCity::with_history(&[]).await;
    let cases = [
        ("/dashboard", "text/html", "<div id=\"map\""),
        (
            "/dashboard/assets/dashboard.js",
            "text/javascript",
            "EventSource",
        ),
        ("/dashboard/assets/dashboard.css", "text/css", "@media"),
        ("/dashboard/assets/leaflet.js", "text/javascript", "1.9.4"),
        (
            "/dashboard/assets/leaflet.css",
            "text/css",
            ".leaflet-container",
        ),
        ("/dashboard/assets/LICENSE-leaflet.txt", "text/plain", "BSD"),
    ];
    for (uri, media_type, snippet) in cases {
        let response = city
            .router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
        assert!(
            content_type.starts_with(media_type),
            "{uri}: {content_type}"
        );
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert!(String::from_utf8_lossy(&bytes).contains(snippet), "{uri}");
    }

    let (status, body) = city.get_with("/dashboard/assets/secrets.txt", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}
