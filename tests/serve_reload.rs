//! A running `cityfix serve` takes up a set-up applied after it started when it
//! receives SIGHUP: reports refused for want of a set-up are accepted afterwards,
//! with no restart; a reload that would leave no usable set-up is refused. A real
//! process on the embedded store. A refused set-up names its reason once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/server.rs"]
mod server;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use server::{Server, start_server, wait_until_up};

fn cityfix(data_dir: &Path, args: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_cityfix"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cityfix {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The sample districts, identified by the feature property `id_field`.
fn import_sample_districts(data_dir: &Path, id_field: &str) {
    cityfix(
        data_dir,
        &[
            "boundaries",
            "import",
            "fixtures/boundaries/sample_districts.geojson",
            "--level",
            "district",
            "--id-field",
            id_field,
            "--name-field",
            "name",
            "--tz",
            "America/New_York",
        ],
    );
}

async fn file_pothole(client: &reqwest::Client, server: &Server) -> StatusCode {
    let body = serde_json::json!({ "lat": 42.371972, "lon": -71.090056, "category": "pothole" });
    client
        .post(format!("{}/api/v1/reports", server.base))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn sighup_takes_up_a_set_up_applied_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    import_sample_districts(dir.path(), "code");
    let mut server = start_server(None, dir.path());
    let client = reqwest::Client::new();
    wait_until_up(&client, &mut server).await;
    assert_eq!(
        file_pothole(&client, &server).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "no set-up yet"
    );

    cityfix(
        dir.path(),
        &["setup", "apply", "fixtures/sample/setup.toml"],
    );
    assert_eq!(
        file_pothole(&client, &server).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "the set-up is read at start or on SIGHUP only"
    );

    hang_up(&server);
    let started = Instant::now();
    loop {
        let status = file_pothole(&client, &server).await;
        if status == StatusCode::CREATED {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server did not reload after SIGHUP"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "SIGHUP must not stop the server"
    );

    // New boundaries that retire the districts the contracts name: the stored
    // set-up no longer applies, so the reload is refused and intake goes on.
    import_sample_districts(dir.path(), "name");
    hang_up(&server);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(file_pothole(&client, &server).await, StatusCode::CREATED);
}

fn hang_up(server: &Server) {
    let hup = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
}

#[test]
fn a_refused_set_up_says_why_once() {
    let dir = tempfile::tempdir().unwrap();
    import_sample_districts(dir.path(), "code");
    let setup = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/setup.toml"),
    )
    .unwrap()
    .replace(
        r#"working_days = ["mon", "tue", "wed", "thu", "fri"]"#,
        "working_days = []",
    );
    let file = dir.path().join("setup.toml");
    std::fs::write(&file, setup).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_cityfix"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["setup", "apply"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("working_days is empty").count(),
        1,
        "{stderr}"
    );
}
