//! The citizen's side of the API through the router: filing, following, and
//! every kind of bad input a phone or a script sends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Cursor;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use support::city::sample_state;

struct Api {
    router: Router,
    _photos: tempfile::TempDir,
}

async fn api() -> Api {
    let photos = tempfile::tempdir().unwrap();
    let state = sample_state(photos.path()).await;
    Api {
        router: cityfix::http::app(state),
        _photos: photos,
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap().to_string()
    }

    fn error_message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

impl Api {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn post_json(&self, body: &str) -> Answer {
        self.post_json_with_key(body, None).await
    }

    async fn post_json_with_key(&self, body: &str, key: Option<&str>) -> Answer {
        let mut request =
            Request::post("/api/v1/reports").header(header::CONTENT_TYPE, "application/json");
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    async fn post_multipart(&self, parts: &[(&str, &[u8])]) -> Answer {
        let boundary = "cityfix-test-boundary";
        let mut body = Vec::new();
        for (name, value) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let disposition = if *name == "photo" {
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"p.jpg\"\r\n\r\n"
                )
            } else {
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n")
            };
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = Request::post("/api/v1/reports")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A tiny real PNG whose header is rewritten to claim a size.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::new(4, 4);
    let mut png = Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let mut png = png.into_inner();
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

const POTHOLE_NORTH: &str =
    r#"{"lat": 42.372, "lon": -71.09, "category": "pothole", "description": "deep one"}"#;

#[tokio::test]
async fn a_report_is_filed_routed_dispatched_and_followed() {
    let api = api().await;
    let answer = api.post_json(POTHOLE_NORTH).await;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let report = answer.json();
    assert_eq!(report["jurisdiction"]["name"], "North");
    assert_eq!(report["category"], "pothole");
    assert_eq!(report["status"], "assigned");
    assert_eq!(report["position_source"], "request");
    assert_eq!(report["incident_report_count"], 1);
    assert_eq!(report["triage"], false);

    let id = report["id"].as_i64().unwrap();
    let followed = api.get(&format!("/api/v1/reports/{id}")).await;
    assert_eq!(followed.status, StatusCode::OK);
    assert_eq!(followed.json(), report);

    let incidents = api
        .get("/api/v1/incidents?bbox=-71.1,42.36,-71.08,42.38")
        .await
        .json();
    assert_eq!(incidents["type"], "FeatureCollection");
    let feature = &incidents["features"][0];
    assert_eq!(feature["geometry"]["coordinates"], json!([-71.09, 42.372]));
    assert_eq!(feature["properties"]["contractor"], "north-roads");
    assert_eq!(feature["properties"]["id"], report["incident_id"]);
}

#[tokio::test]
async fn a_second_report_close_by_joins_the_incident_and_a_far_one_does_not() {
    let api = api().await;
    let first = api.post_json(POTHOLE_NORTH).await.json();
    // About 11 m north: inside the pothole radius of 25 m.
    let near = api
        .post_json(r#"{"lat": 42.3721, "lon": -71.09, "category": "pothole"}"#)
        .await
        .json();
    assert_eq!(near["incident_id"], first["incident_id"]);
    assert_eq!(near["incident_report_count"], 2);

    let far = api
        .post_json(r#"{"lat": 42.3740, "lon": -71.09, "category": "pothole"}"#)
        .await
        .json();
    assert_ne!(far["incident_id"], first["incident_id"]);

    let other_category = api
        .post_json(r#"{"lat": 42.372, "lon": -71.09, "category": "graffiti"}"#)
        .await
        .json();
    assert_ne!(other_category["incident_id"], first["incident_id"]);
    assert_eq!(other_category["status"], "assigned");
}

#[tokio::test]
async fn a_retry_with_the_same_key_answers_the_first_report() {
    let api = api().await;
    let first = api
        .post_json_with_key(POTHOLE_NORTH, Some("phone-42-retry"))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = api
        .post_json_with_key(POTHOLE_NORTH, Some("phone-42-retry"))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(
        again.json()["incident_report_count"],
        1,
        "no second report was filed"
    );

    let other = api
        .post_json_with_key(
            r#"{"lat": 42.30, "lon": -71.09, "category": "pothole"}"#,
            Some("phone-42-retry"),
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.error_code(), "idempotency_key_reused");
}

#[tokio::test]
async fn positions_outside_every_boundary_are_refused_with_a_reason() {
    let api = api().await;
    let outside = api
        .post_json(r#"{"lat": 41.0, "lon": -75.0, "category": "pothole"}"#)
        .await;
    assert_eq!(outside.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outside.error_code(), "outside_jurisdictions");
    assert!(!outside.error_message().contains("swapped"));

    // lat = 0 is the equator, a real place: outside, not "missing".
    let zero = api
        .post_json(r#"{"lat": 0, "lon": 0, "category": "pothole"}"#)
        .await;
    assert_eq!(zero.error_code(), "outside_jurisdictions");

    let swapped = api
        .post_json(r#"{"lat": -71.09, "lon": 42.372, "category": "pothole"}"#)
        .await;
    assert_eq!(swapped.error_code(), "outside_jurisdictions");
    assert!(
        swapped.error_message().contains("swapped"),
        "{}",
        swapped.error_message()
    );
}

#[tokio::test]
async fn impossible_and_missing_coordinates_are_named() {
    let api = api().await;
    let cases = [
        (
            r#"{"lat": 91, "lon": -71.09, "category": "pothole"}"#,
            "invalid_position",
            "lat = 91",
        ),
        (
            r#"{"lat": 42.3, "lon": -181, "category": "pothole"}"#,
            "invalid_position",
            "lon = -181",
        ),
        (
            r#"{"lon": -71.09, "category": "pothole"}"#,
            "missing_position",
            "lat is missing",
        ),
        (
            r#"{"category": "pothole"}"#,
            "missing_position",
            "lat/lon is missing",
        ),
        (
            r#"{"lat": "north", "lon": -71.09}"#,
            "invalid_field",
            "invalid type",
        ),
    ];
    for (body, code, words) in cases {
        let answer = api.post_json(body).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(answer.error_code(), code, "{body}");
        assert!(
            answer.error_message().contains(words),
            "{body}: {}",
            answer.error_message()
        );
    }

    let nan = api
        .post_multipart(&[
            ("lat", b"NaN"),
            ("lon", b"-71.09"),
            ("category", b"pothole"),
        ])
        .await;
    assert_eq!(nan.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nan.error_message().contains("not a number"),
        "{}",
        nan.error_message()
    );
}

#[tokio::test]
async fn bad_text_categories_and_bodies_are_refused() {
    let api = api().await;
    let unknown = api
        .post_json(r#"{"lat": 42.372, "lon": -71.09, "category": "volcano"}"#)
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.error_code(), "unknown_category");
    assert!(
        unknown.error_message().contains("pothole"),
        "lists the known ones"
    );

    let long = json!({"lat": 42.372, "lon": -71.09, "category": "pothole", "description": "x".repeat(2001)});
    let answer = api.post_json(&long.to_string()).await;
    assert_eq!(answer.error_code(), "description_too_long");

    let broken = api.post_json(r#"{"lat": 42.372, "lon": "#).await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert_eq!(broken.error_code(), "malformed_json");

    let not_utf8 = api
        .post_multipart(&[
            ("lat", b"42.372"),
            ("lon", b"-71.09"),
            ("description", b"caf\xe9 \xff"),
        ])
        .await;
    assert_eq!(not_utf8.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_utf8.error_code(), "invalid_utf8");

    let text = api
        .send(
            Request::post("/api/v1/reports")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("pothole please"))
                .unwrap(),
        )
        .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn broken_and_huge_photos_are_refused_and_nothing_is_filed() {
    let api = api().await;
    let fields: [(&str, &[u8]); 3] = [
        ("lat", b"42.372"),
        ("lon", b"-71.09"),
        ("category", b"pothole"),
    ];
    let mut truncated = jpeg(64, 48);
    truncated.truncate(truncated.len() / 2);
    let cases: [(&[u8], StatusCode, &str); 4] = [
        (
            b"this is not an image",
            StatusCode::UNPROCESSABLE_ENTITY,
            "not an image",
        ),
        (b"", StatusCode::UNPROCESSABLE_ENTITY, "empty"),
        (&truncated, StatusCode::UNPROCESSABLE_ENTITY, "truncated"),
        (
            &png_claiming(20_000, 20_000),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        ),
    ];
    for (photo, status, words) in cases {
        let mut parts = fields.to_vec();
        parts.push(("photo", photo));
        let answer = api.post_multipart(&parts).await;
        assert_eq!(
            answer.status,
            status,
            "{words}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert!(
            answer.error_message().contains(words),
            "{}",
            answer.error_message()
        );
    }

    let incidents = api.get("/api/v1/incidents").await.json();
    assert_eq!(
        incidents["features"].as_array().unwrap().len(),
        0,
        "nothing was filed"
    );
    // The server is still answering.
    assert_eq!(
        api.post_json(POTHOLE_NORTH).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_photo_is_stored_stripped_and_served() {
    let api = api().await;
    let photo = jpeg(320, 240);
    let answer = api
        .post_multipart(&[
            ("lat", b"42.372"),
            ("lon", b"-71.09"),
            ("category", b"pothole"),
            ("photo", &photo),
        ])
        .await;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let report = answer.json();
    assert_eq!(report["has_photo"], true);

    let served = api
        .get(&format!("/api/v1/reports/{}/photo", report["id"]))
        .await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(
        served.headers.get(header::CONTENT_TYPE).unwrap(),
        "image/jpeg"
    );
    assert_eq!(&served.body[..2], &[0xFF, 0xD8]);
    assert!(
        !served.body.windows(4).any(|w| w == b"Exif"),
        "no EXIF block in what is served"
    );
    let decoded = image::load_from_memory(&served.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (320, 240));
}

#[tokio::test]
async fn placeholder_positions_never_merge_into_one_incident() {
    let api = api().await;
    let body = r#"{"lat": 42.345, "lon": -71.07, "category": "garbage"}"#;
    let first = api.post_json(body).await.json();
    let second = api.post_json(body).await.json();
    assert_eq!(first["placeholder"], true);
    assert_ne!(first["incident_id"], second["incident_id"]);
}

#[tokio::test]
async fn a_point_on_a_shared_border_belongs_to_one_jurisdiction_with_a_flag() {
    let api = api().await;
    // lat 42.35 is the border between North and South.
    let report = api
        .post_json(r#"{"lat": 42.35, "lon": -71.09, "category": "pothole"}"#)
        .await
        .json();
    assert_eq!(report["overlap"], true);
    let again = api
        .post_json(r#"{"lat": 42.35, "lon": -71.092, "category": "pothole"}"#)
        .await
        .json();
    assert_eq!(
        again["jurisdiction"], report["jurisdiction"],
        "the same rule every time"
    );

    let near = api
        .post_json(r#"{"lat": 42.3502, "lon": -71.09, "category": "graffiti", "accuracy_m": 50}"#)
        .await
        .json();
    assert_eq!(near["near_boundary"], true);
    let far = api
        .post_json(r#"{"lat": 42.3702, "lon": -71.095, "category": "graffiti", "accuracy_m": 5}"#)
        .await
        .json();
    assert_eq!(far["near_boundary"], false);
}

#[tokio::test]
async fn reads_answer_404_and_422_in_the_one_error_shape() {
    let api = api().await;
    let missing = api.get("/api/v1/reports/999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), "not_found");

    let bad_box = api.get("/api/v1/incidents?bbox=1,2,3").await;
    assert_eq!(bad_box.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_box.error_code(), "invalid_bbox");

    let bad_status = api.get("/api/v1/incidents?status=done").await;
    assert_eq!(bad_status.error_code(), "invalid_status");

    let jurisdictions = api.get("/api/v1/jurisdictions").await.json();
    let names: Vec<&str> = jurisdictions["jurisdictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["North", "Island", "South"]);
    let boundaries = api.get("/api/v1/jurisdictions?format=geojson").await.json();
    assert_eq!(
        boundaries["features"][0]["geometry"]["type"],
        "MultiPolygon"
    );

    assert_eq!(api.get("/healthz").await.status, StatusCode::OK);
}

/// A GIF whose screen claims `width`×`height` with one 1×1 frame behind it.
fn gif_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&width.to_le_bytes());
    gif.extend_from_slice(&height.to_le_bytes());
    gif.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
    gif.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0, 0x3B]);
    gif
}

#[tokio::test]
async fn a_tiny_file_claiming_a_huge_canvas_is_refused_before_decoding() {
    let api = api().await;
    let bomb = gif_claiming(8000, 8000);
    let answer = api
        .post_multipart(&[
            ("lat", b"42.372"),
            ("lon", b"-71.09"),
            ("category", b"graffiti"),
            ("photo", &bomb),
        ])
        .await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert!(
        answer.error_message().contains("8000×8000"),
        "{}",
        answer.error_message()
    );
}

#[tokio::test]
async fn a_refused_submission_leaves_its_key_free_for_the_corrected_one() {
    let api = api().await;
    let wrong = api
        .post_json_with_key(
            r#"{"lat": 42.372, "lon": -71.09, "category": "volcano"}"#,
            Some("fix-me"),
        )
        .await;
    assert_eq!(wrong.error_code(), "unknown_category");
    let corrected = api.post_json_with_key(POTHOLE_NORTH, Some("fix-me")).await;
    assert_eq!(corrected.status, StatusCode::CREATED);
}

#[tokio::test]
async fn duplicate_fields_oversized_json_and_absurd_accuracy_are_refused() {
    let api = api().await;
    let twice = api
        .post_multipart(&[("lat", b"42.372"), ("lat", b"0"), ("lon", b"-71.09")])
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(twice.error_code(), "duplicate_field");

    let padding = " ".repeat(70 * 1024);
    let big = format!(r#"{{"lat": 42.372, "lon": -71.09, "category": "pothole"{padding}}}"#);
    assert_eq!(
        api.post_json(&big).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    let vague = api
        .post_json(r#"{"lat": 42.372, "lon": -71.09, "category": "pothole", "accuracy_m": 1e308}"#)
        .await;
    assert_eq!(vague.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        vague.error_message().contains("accuracy_m"),
        "{}",
        vague.error_message()
    );
}

#[tokio::test]
async fn the_incident_list_pages_through_next_links() {
    let api = api().await;
    // Five potholes 200 m apart: five incidents.
    let mut filed = Vec::new();
    for step in 0..5 {
        let body = json!({ "lat": 42.372 + f64::from(step) * 0.002, "lon": -71.09, "category": "pothole" });
        let answer = api.post_json(&body.to_string()).await;
        assert_eq!(answer.status, StatusCode::CREATED);
        filed.push(answer.json()["incident_id"].as_i64().unwrap());
    }
    filed.reverse();

    let mut seen = Vec::new();
    let mut url = "/api/v1/incidents?category=pothole&limit=2".to_owned();
    for _ in 0..5 {
        let page = api.get(&url).await.json();
        let features = page["features"].as_array().unwrap();
        seen.extend(features.iter().map(|f| f["id"].as_i64().unwrap()));
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(features.len(), 2, "only a full page links to the next");
                assert!(
                    next.contains("category=pothole") && next.contains("limit=2"),
                    "{next}"
                );
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen, filed, "newest first, each incident once");

    let unknown = api.get("/api/v1/incidents?category=volcano").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.error_message().contains("pothole"),
        "{}",
        unknown.error_message()
    );
    let spaced = serde_json::json!({ "lat": 42.372, "lon": -71.09, "category": " pothole " });
    assert_eq!(
        api.post_json(&spaced.to_string()).await.status,
        StatusCode::CREATED
    );
    let none = api.get("/api/v1/incidents?limit=0").await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = api.get("/api/v1/incidents?before=soon").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.error_message().contains("before"),
        "{}",
        bad.error_message()
    );
}

#[tokio::test]
async fn a_key_reused_with_another_accuracy_or_sent_twice_is_refused() {
    let api = api().await;
    let body = |accuracy: u32| {
        format!(
            r#"{{"lat": 42.372, "lon": -71.09, "category": "pothole", "accuracy_m": {accuracy}}}"#
        )
    };
    let first = api.post_json_with_key(&body(5), Some("one-key")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = api.post_json_with_key(&body(5), Some("one-key")).await;
    assert_eq!(again.json()["id"], first.json()["id"], "a true retry");
    let other = api.post_json_with_key(&body(9000), Some("one-key")).await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.error_message()
    );
    assert_eq!(other.error_code(), "idempotency_key_reused");

    let request = Request::post("/api/v1/reports")
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", "a")
        .header("idempotency-key", "b")
        .body(Body::from(body(5)))
        .unwrap();
    let twice = api.send(request).await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert_eq!(twice.error_code(), "invalid_idempotency_key");

    let array = api
        .post_json(r#"[42.372, -71.09, null, "pothole", "array form"]"#)
        .await;
    assert_eq!(array.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        array.error_message().contains("object"),
        "{}",
        array.error_message()
    );
}

#[tokio::test]
async fn invisible_characters_in_the_text_are_refused() {
    let api = api().await;
    for (text, code_point) in [
        ("deep\u{0000}hole", "U+0000"),
        ("\u{001b}[31mred", "U+001B"),
        ("\u{202e}gnirts", "U+202E"),
    ] {
        let body = serde_json::json!({ "lat": 42.372, "lon": -71.09, "category": "pothole", "description": text });
        let answer = api.post_json(&body.to_string()).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{text:?}");
        assert!(
            answer.error_message().contains(code_point),
            "{}",
            answer.error_message()
        );
    }
    let lines = serde_json::json!({ "lat": 42.372, "lon": -71.09, "category": "pothole", "description": "deep\n\tand wide" });
    assert_eq!(
        api.post_json(&lines.to_string()).await.status,
        StatusCode::CREATED
    );
}
