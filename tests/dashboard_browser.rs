//! The dashboard in a real browser: headless Chromium, driven over the DevTools
//! protocol, against a `cityfix serve` seeded with a sample of Boston's real
//! service requests. It signs in with a supervisor token, waits until the page
//! has drawn, checks what it drew against the API, files a report and waits for
//! it to appear live, and saves a screenshot under the test's output folder.
//!
//! Skipped, saying so, without `chromium` on the PATH or without `../shared`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/browser.rs"]
mod browser;
#[path = "support/real_data.rs"]
mod real_data;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use geo::InteriorPoint;
use serde_json::{Value, json};

use browser::{Browser, Server, cityfix};

/// Boston records replayed: the most recent ones, so that the period filters
/// and the hotspot windows have data.
const SAMPLE_RECORDS: usize = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_what_the_api_answers_and_shows_new_reports_live() {
    let Some(chromium) = browser::chromium() else {
        println!("skipped: no `chromium` on the PATH (apt-get install chromium)");
        return;
    };
    let Some(shared) = real_data::shared_dir() else {
        println!("skipped: ../shared/data/cities is absent");
        return;
    };

    let data = tempfile::tempdir().unwrap();
    seed_boston(&shared, data.path());
    let token = cityfix(
        data.path(),
        &[
            "token",
            "create",
            "--role",
            "supervisor",
            "--jurisdiction",
            "1",
        ],
    );
    let token = token.trim().to_owned();
    let server = Server::start(data.path()).await;
    let api = Api {
        base: server.base.clone(),
        token: token.clone(),
    };

    let browser = Browser::launch(&chromium, data.path()).await;
    browser
        .navigate(&format!("{}/dashboard", server.base))
        .await;
    browser
        .wait_for("!document.getElementById('login').hidden")
        .await;
    browser
        .eval(&format!(
            "document.getElementById('token').value = {}; \
             document.getElementById('login-form').requestSubmit(); true",
            json!(token)
        ))
        .await;
    browser.wait_for("(JSON.parse(document.getElementById('render-state').textContent || '{}').ready) === true").await;
    let state = render_state(&browser).await;
    assert_eq!(state["errors"], json!([]), "{state}");

    check_against_api(&browser, &api, &state).await;
    check_live_report(&browser, &api).await;

    let shot = screenshot_path();
    std::fs::write(&shot, browser.screenshot().await).unwrap();
    println!("screenshot: {}", shot.display());
}

/// Imports the boundaries as `scripts/demo.sh` does, applies Boston's set-up and
/// replays the sample.
fn seed_boston(shared: &Path, data: &Path) {
    let boston = shared.join("data/cities/boston");
    let boundaries = boston.join("boundaries");
    let police = boundaries.join("boston_police_districts.geojson");
    let neighbourhoods = boundaries.join("boston_neighborhoods.geojson");
    cityfix(
        data,
        &[
            "boundaries",
            "import",
            police.to_str().unwrap(),
            "--level",
            "police_district",
            "--id-field",
            "DISTRICT",
            "--name-field",
            "DISTRICT",
            "--tz",
            "America/New_York",
        ],
    );
    cityfix(
        data,
        &[
            "boundaries",
            "import",
            neighbourhoods.to_str().unwrap(),
            "--level",
            "neighborhood",
            "--id-field",
            "name",
            "--name-field",
            "name",
            "--tz",
            "America/New_York",
        ],
    );
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    cityfix(
        data,
        &[
            "setup",
            "apply",
            manifest
                .join("fixtures/boston/setup.toml")
                .to_str()
                .unwrap(),
        ],
    );

    let sample = data.join("boston_sample.csv");
    write_sample(&boston.join("reports_normalized.csv.gz"), &sample);
    let categories = manifest.join("fixtures/boston/categories.csv");
    cityfix(
        data,
        &[
            "replay",
            sample.to_str().unwrap(),
            "--categories",
            categories.to_str().unwrap(),
        ],
    );
}

/// The header and the last [`SAMPLE_RECORDS`] records of the gzipped CSV.
fn write_sample(source: &Path, target: &Path) {
    let file = std::fs::File::open(source).unwrap();
    let lines: Vec<String> = std::io::BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(Result::unwrap)
        .collect();
    let mut out = std::fs::File::create(target).unwrap();
    writeln!(out, "{}", lines[0]).unwrap();
    for line in &lines[lines.len().saturating_sub(SAMPLE_RECORDS)..] {
        writeln!(out, "{line}").unwrap();
    }
}

struct Api {
    base: String,
    token: String,
}

impl Api {
    async fn get(&self, path: &str) -> Value {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }
}

async fn render_state(browser: &Browser) -> Value {
    let text = browser
        .eval("document.getElementById('render-state').textContent")
        .await;
    serde_json::from_str(text.as_str().unwrap()).unwrap()
}

/// What the page drew equals what the API answers to the page's own requests.
async fn check_against_api(browser: &Browser, api: &Api, state: &Value) {
    let requests = &state["requests"];
    let boundaries = api.get("/api/v1/jurisdictions?format=geojson").await;
    assert_eq!(
        state["jurisdictions"],
        boundaries["features"].as_array().unwrap().len()
    );

    let heat = api.get(requests["heatmap"].as_str().unwrap()).await;
    assert!(
        heat["total"].as_u64().unwrap() > 0,
        "the default period has reports"
    );
    assert_eq!(state["heat"]["total"], heat["total"]);
    assert_eq!(
        state["heat"]["cells"],
        heat["features"].as_array().unwrap().len()
    );

    let clusters = api.get(requests["clusters"].as_str().unwrap()).await;
    assert_eq!(state["clusters"]["total"], clusters["total"]);
    let groups = clusters["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["count"].as_u64().unwrap() > 1)
        .count();
    let drawn = browser
        .eval("document.querySelectorAll('.cluster-icon').length")
        .await;
    assert_eq!(drawn, groups, "one labelled circle per cluster");

    let hotspots = api.get(requests["hotspots"].as_str().unwrap()).await;
    assert_eq!(
        state["hotspots"]["count"],
        hotspots["features"].as_array().unwrap().len()
    );

    let figures = api.get(requests["figures"].as_str().unwrap()).await;
    for name in ["open", "overdue", "resolved", "work_orders"] {
        assert_eq!(state["figures"][name], figures["totals"][name], "{name}");
    }
    assert_eq!(
        state["figures"]["breached"],
        figures["compliance"]["overall"]["breached"]
    );
    let contractors: Vec<&Value> = figures["contractors"].as_array().unwrap().iter().collect();
    let rows = browser
        .eval("document.querySelectorAll('#contractors tbody tr').length")
        .await;
    assert_eq!(rows, contractors.len());
    let first = browser
        .eval("document.querySelector('#contractors tbody td').textContent")
        .await;
    assert_eq!(first, contractors[0]["contractor"]);
    let overdue_tile = browser
        .eval("document.querySelector('[data-figure=overdue] b').textContent")
        .await;
    let shown: u64 = overdue_tile
        .as_str()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert_eq!(shown, figures["totals"]["overdue"].as_u64().unwrap());
}

/// A report filed in the supervisor's jurisdiction appears on the page by itself.
async fn check_live_report(browser: &Browser, api: &Api) {
    let boundaries = api.get("/api/v1/jurisdictions?format=geojson").await;
    let own = boundaries["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == 1)
        .unwrap();
    let geometry: geojson::Geometry = serde_json::from_value(own["geometry"].clone()).unwrap();
    let shape: geo::Geometry<f64> = geometry.try_into().unwrap();
    let inside = shape.interior_point().unwrap();
    let (lon, lat) = (inside.x(), inside.y());
    let summary = api.get("/api/v1/dashboard/summary").await;
    let category = summary["categories"][0].as_str().unwrap();

    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/reports", api.base))
        .json(&json!({ "lat": lat, "lon": lon, "category": category }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let report: Value = response.json().await.unwrap();
    let id = report["id"].as_i64().unwrap();

    browser
        .wait_for(&format!(
            "JSON.parse(document.getElementById('render-state').textContent).live.report_ids.includes({id})"
        ))
        .await;
    let listed = browser
        .eval("document.getElementById('live-list').textContent")
        .await;
    assert!(
        listed.as_str().unwrap().contains(&format!("#{id}")),
        "{listed}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
}

fn screenshot_path() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard_browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("dashboard.png")
}
