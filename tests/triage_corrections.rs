//! Triage and supervisors' corrections through the router, the training-data export
//! of the corrections, and dedup's photo check, over the sample city with a stand-in
//! classifier that reads the photo's dominant colour: red is a confident pothole,
//! blue an unsure graffiti, and each colour has its own embedding direction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Cursor;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use cityfix::analytics::AnalyticsView;
use cityfix::auth::{Authenticator, Grant, TokenHash};
use cityfix::classify::{Classification, Classifier, export_training_data, read_labels};
use cityfix::events::live::LiveFeed;
use cityfix::events::{Actor, EventKind};
use cityfix::http::idempotency::IdempotencyCache;
use cityfix::http::{AppState, Limits};
use cityfix::photos::{DirPhotoStore, PhotoLimits, PhotoStore, ProcessedPhoto};
use cityfix::pipeline::{Pipeline, PipelineParts};
use cityfix::store::SharedStore;
use support::city::{fixture, sample_store};

const SUPERVISOR_NORTH: &str = "cfx_test_supervisor_north";
const SUPERVISOR_SOUTH: &str = "cfx_test_supervisor_south";

/// Not the photo layer's default, so a pipeline that ignored the classifier's input size
/// would hand this model images it refuses.
const BY_COLOUR_INPUT_PX: u32 = 48;

struct ByColour;

#[async_trait]
impl Classifier for ByColour {
    fn input_px(&self) -> u32 {
        BY_COLOUR_INPUT_PX
    }

    async fn classify(&self, photo: &ProcessedPhoto) -> cityfix::classify::Result<Classification> {
        let side = BY_COLOUR_INPUT_PX;
        if photo.model_input.dimensions() != (side, side) {
            let (w, h) = photo.model_input.dimensions();
            return Err(cityfix::classify::ClassifyError::Inference(format!(
                "image is {w}×{h}, this model takes {side}×{side}"
            )));
        }
        let (mut red, mut blue) = (0u64, 0u64);
        for pixel in photo.model_input.pixels() {
            red += u64::from(pixel[0]);
            blue += u64::from(pixel[2]);
        }
        Ok(if red > blue {
            Classification {
                label: "pothole".into(),
                category: Some("pothole".into()),
                confidence: 0.95,
                embedding: vec![1.0, 0.0, 0.0],
                model_sha256: "by-colour".into(),
            }
        } else {
            Classification {
                label: "graffiti".into(),
                category: Some("graffiti".into()),
                confidence: 0.3,
                embedding: vec![0.0, 1.0, 0.0],
                model_sha256: "by-colour".into(),
            }
        })
    }
}

struct Api {
    router: Router,
    store: SharedStore,
    photo_dir: tempfile::TempDir,
    /// Token id of `SUPERVISOR_NORTH`.
    north_token_id: i64,
}

struct Answer {
    status: StatusCode,
    body: Value,
}

async fn api() -> Api {
    let photo_dir = tempfile::tempdir().unwrap();
    let store = sample_store().await;
    let now = jiff::Timestamp::now();
    let mut token_ids = Vec::new();
    for (secret, name) in [(SUPERVISOR_NORTH, "North"), (SUPERVISOR_SOUTH, "South")] {
        let jurisdiction_id = store
            .jurisdictions()
            .await
            .unwrap()
            .into_iter()
            .find(|j| j.name == name)
            .unwrap()
            .id;
        let id = store
            .insert_token(
                &TokenHash::of(secret),
                &Grant::Supervisor { jurisdiction_id },
                now,
            )
            .await
            .unwrap();
        token_ids.push(id);
    }
    let live = LiveFeed::default();
    let pipeline = Pipeline::load(PipelineParts {
        store: store.clone(),
        classifier: Some(Arc::new(ByColour)),
        photos: Arc::new(DirPhotoStore::new(photo_dir.path())),
        photo_limits: PhotoLimits::default(),
        live: live.clone(),
        max_description_chars: Limits::default().max_description_chars,
        triage_threshold: 0.5,
    })
    .await
    .unwrap();
    let state = AppState {
        pipeline: Arc::new(pipeline),
        auth: Authenticator::new(store.clone()),
        analytics: AnalyticsView::spawn(store.clone(), &live).unwrap(),
        live,
        idempotency: Arc::new(IdempotencyCache::default()),
        limits: Limits::default(),
    };
    Api {
        router: cityfix::http::app(state),
        store,
        photo_dir,
        north_token_id: token_ids[0],
    }
}

fn photo(rgb: [u8; 3]) -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 48, |x, y| {
        let wobble = ((x * 3 + y * 5) % 16) as u8;
        image::Rgb([
            rgb[0].saturating_add(wobble),
            rgb[1],
            rgb[2].saturating_add(wobble),
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

const RED: [u8; 3] = [200, 40, 30];
const BLUE: [u8; 3] = [30, 40, 200];

impl Api {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, body }
    }

    /// Files a report with a photo at the North test spot (shifted by `north_m`).
    async fn report_with_photo(&self, rgb: [u8; 3], category: &str, north_m: f64) -> Value {
        let lat = 42.372 + north_m / 111_320.0;
        let boundary = "triage-test-boundary";
        let mut body = Vec::new();
        let fields = [
            ("lat", lat.to_string().into_bytes()),
            ("lon", b"-71.09".to_vec()),
            ("category", category.as_bytes().to_vec()),
            ("photo", photo(rgb)),
        ];
        for (name, value) in fields {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let file = if name == "photo" {
                "; filename=\"p.jpg\""
            } else {
                ""
            };
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(&value);
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
        let answer = self.send(request).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body
    }

    async fn get(&self, uri: &str, token: Option<&str>) -> Answer {
        let mut request = Request::get(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn correct(&self, report_id: i64, body: &str, token: &str) -> Answer {
        let request = Request::post(format!("/api/v1/reports/{report_id}/category"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }
}

#[tokio::test]
async fn an_unsure_report_waits_in_triage_until_a_supervisor_corrects_it() {
    let api = api().await;
    let report = api.report_with_photo(BLUE, "pothole", 0.0).await;
    assert_eq!(report["triage"], true);
    assert_eq!(report["category"], "pothole");
    let (report_id, incident_id) = (
        report["id"].as_i64().unwrap(),
        report["incident_id"].as_i64().unwrap(),
    );

    let waiting = api.get("/api/v1/triage", Some(SUPERVISOR_NORTH)).await;
    assert_eq!(waiting.status, StatusCode::OK);
    let items = waiting.body.as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["report_id"], report_id);
    assert_eq!(items[0]["model_label"], "graffiti");
    assert_eq!(items[0]["has_photo"], true);
    // The South supervisor does not see the North's reports.
    let south = api.get("/api/v1/triage", Some(SUPERVISOR_SOUTH)).await;
    assert_eq!(south.body, json!([]));

    let corrected = api
        .correct(report_id, r#"{"category": "graffiti"}"#, SUPERVISOR_NORTH)
        .await;
    assert_eq!(corrected.status, StatusCode::OK, "{}", corrected.body);
    assert_eq!(corrected.body["old_category"], "pothole");
    assert_eq!(corrected.body["new_category"], "graffiti");
    assert_eq!(corrected.body["incident_id"], incident_id);

    let followed = api.get(&format!("/api/v1/reports/{report_id}"), None).await;
    assert_eq!(followed.body["category"], "graffiti");
    let incidents = api.get("/api/v1/incidents?category=graffiti", None).await;
    let features = incidents.body["features"].as_array().unwrap();
    assert_eq!(features.len(), 1);
    assert_eq!(features[0]["properties"]["id"], incident_id);
    let left = api.get("/api/v1/incidents?category=pothole", None).await;
    assert_eq!(left.body["features"], json!([]));
    let waiting = api.get("/api/v1/triage", Some(SUPERVISOR_NORTH)).await;
    assert_eq!(waiting.body, json!([]));

    let events = api.store.events(None).await.unwrap();
    let correction = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::CategoryCorrected { .. }))
        .expect("a category_corrected event");
    assert_eq!(
        correction.kind,
        EventKind::CategoryCorrected {
            report_id,
            incident_id,
            from: "pothole".into(),
            to: "graffiti".into(),
        }
    );
    // Recorded under the same name as the supervisor's steps on work orders.
    assert_eq!(
        correction.actor,
        Actor::supervisor(&format!("token-{}", api.north_token_id))
    );

    // A later report of graffiti at the same spot joins the corrected incident.
    let again = api.report_with_photo(BLUE, "graffiti", 3.0).await;
    assert_eq!(again["incident_id"], incident_id);
}

#[tokio::test]
async fn bad_corrections_are_refused_with_the_right_status() {
    let api = api().await;
    let report = api.report_with_photo(BLUE, "pothole", 0.0).await;
    let id = report["id"].as_i64().unwrap();

    let unknown = api
        .correct(id, r#"{"category": "volcano"}"#, SUPERVISOR_NORTH)
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.body["error"]["code"], "unknown_category");
    let empty = api
        .correct(id, r#"{"category": "  "}"#, SUPERVISOR_NORTH)
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = api
        .correct(id + 100, r#"{"category": "graffiti"}"#, SUPERVISOR_NORTH)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let elsewhere = api
        .correct(id, r#"{"category": "graffiti"}"#, SUPERVISOR_SOUTH)
        .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    let stranger = api
        .correct(id, r#"{"category": "graffiti"}"#, "cfx_nobody")
        .await;
    assert_eq!(stranger.status, StatusCode::UNAUTHORIZED);
    let anonymous = api.get("/api/v1/triage", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // None of these changed anything.
    let followed = api.get(&format!("/api/v1/reports/{id}"), None).await;
    assert_eq!(followed.body["category"], "pothole");
    assert!(api.store.training_examples().await.unwrap().is_empty());
}

#[tokio::test]
async fn corrections_export_in_the_training_layout() {
    let api = api().await;
    let first = api.report_with_photo(BLUE, "pothole", 0.0).await;
    let second = api.report_with_photo(RED, "pothole", 500.0).await;
    let (first_id, second_id) = (
        first["id"].as_i64().unwrap(),
        second["id"].as_i64().unwrap(),
    );
    // A correction, then a second thought, and a confirmation of a right category.
    for (id, category) in [
        (first_id, "garbage"),
        (first_id, "graffiti"),
        (second_id, "pothole"),
    ] {
        let body = format!(r#"{{"category": "{category}"}}"#);
        let answer = api.correct(id, &body, SUPERVISOR_NORTH).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }

    let labels = read_labels(&fixture("../models/labels.csv")).unwrap();
    let photos = DirPhotoStore::new(api.photo_dir.path());
    let out = tempfile::tempdir().unwrap();
    let summary = export_training_data(api.store.as_ref(), &photos, &labels, out.path())
        .await
        .unwrap();
    assert_eq!(summary.written.get("graffiti"), Some(&1));
    assert_eq!(summary.written.get("pothole"), Some(&1));
    assert_eq!(summary.written.values().sum::<usize>(), 2);

    let examples = api.store.training_examples().await.unwrap();
    let graffiti = examples.iter().find(|e| e.report_id == first_id).unwrap();
    assert_eq!(graffiti.category, "graffiti");
    let exported = out
        .path()
        .join(format!("graffiti/{}.jpg", graffiti.photo_sha256));
    let stored = photos.get(&graffiti.photo_sha256).await.unwrap().unwrap();
    assert_eq!(std::fs::read(&exported).unwrap(), stored);

    let mut manifest = csv::Reader::from_path(out.path().join("MANIFEST.csv")).unwrap();
    let headers = manifest.headers().unwrap().clone();
    assert_eq!(&headers[0], "file");
    assert_eq!(&headers[1], "class");
    assert_eq!(&headers[2], "source_repo");
    let rows: Vec<csv::StringRecord> = manifest.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let row = rows
        .iter()
        .find(|r| r[0] == *format!("graffiti/{}.jpg", graffiti.photo_sha256))
        .unwrap();
    assert_eq!(&row[1], "graffiti");
    assert_eq!(&row[2], "cityfix/corrections");
    assert_eq!(&row[6], "64");
    assert_eq!(&row[7], "48");

    // Exporting again adds nothing and keeps the manifest.
    let again = export_training_data(api.store.as_ref(), &photos, &labels, out.path())
        .await
        .unwrap();
    assert!(again.written.is_empty());
    assert_eq!(again.already_listed, 2);
    let rows = csv::Reader::from_path(out.path().join("MANIFEST.csv"))
        .unwrap()
        .records()
        .count();
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn a_photo_of_something_else_close_by_opens_its_own_incident() {
    let api = api().await;
    let red = api.report_with_photo(RED, "pothole", 0.0).await;
    assert_eq!(red["category"], "pothole");
    // Unsure, so filed as the citizen's pothole, 3 m away: the position alone would
    // merge it, but its photo points elsewhere (cosine 0).
    let blue = api.report_with_photo(BLUE, "pothole", 3.0).await;
    assert_eq!(blue["category"], "pothole");
    assert_ne!(blue["incident_id"], red["incident_id"]);
    assert_eq!(blue["incident_report_count"], 1);
    // Another red photo there is the same thing and joins the first incident.
    let red_again = api.report_with_photo(RED, "pothole", 2.0).await;
    assert_eq!(red_again["incident_id"], red["incident_id"]);
    assert_eq!(red_again["incident_report_count"], 2);
}
