//! The work order lifecycle through the HTTP API with real tokens: who may
//! do what (401, 403), what the lifecycle refuses (409), what a citizen and
//! the live feed see, the supervisors' lists and figures, and the event log
//! replaying to the cached state at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/work_city.rs"]
mod city;

use std::io::Cursor;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use city::{NORTH, SOUTH};
use cityfix::auth::Grant;
use cityfix::classify::{Classification, Classifier};
use cityfix::events::live::LiveEventKind;
use cityfix::photos::ProcessedPhoto;
use cityfix::store::RecordOutcome;
use http_body_util::BodyExt;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tower::ServiceExt;

const BOUNDARY: &str = "cityfix-test-boundary";

struct Api {
    app: Router,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }

    async fn get(&self, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, uri, token, None).await
    }

    async fn post(&self, uri: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(Method::POST, uri, Some(token), body).await
    }

    async fn resolve(&self, id: i64, token: &str, photo: &[u8]) -> (StatusCode, Value) {
        self.resolve_with(id, token, &[photo]).await
    }

    /// Resolves with one multipart `photo` part per entry of `photos`.
    async fn resolve_with(&self, id: i64, token: &str, photos: &[&[u8]]) -> (StatusCode, Value) {
        let mut body = Vec::new();
        for photo in photos {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; \
                     filename=\"after.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(photo);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/work-orders/{id}/resolve"))
            .header("authorization", format!("Bearer {token}"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }
}

fn jpeg() -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 48, |x, _| {
        if x < 32 {
            image::Rgb([40, 40, 40])
        } else {
            image::Rgb([200, 200, 200])
        }
    });
    let mut bytes = Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Jpeg)
        .unwrap();
    bytes.into_inner()
}

fn report_of(outcome: &RecordOutcome) -> (i64, Option<i64>, bool) {
    match outcome {
        RecordOutcome::Recorded {
            report_id,
            merged,
            work_order,
            ..
        } => (*report_id, work_order.as_ref().map(|w| w.id), *merged),
        other => panic!("not recorded: {other:?}"),
    }
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn the_lifecycle_through_http_with_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let ids = city::set_up(dir.path()).await;
    let city = city::open(dir.path()).await;
    let api = Api {
        app: cityfix::http::app(city.app_state()),
    };

    let acme = city
        .token(Grant::Contractor {
            contractor_id: "acme".into(),
        })
        .await;
    let bravo = city
        .token(Grant::Contractor {
            contractor_id: "bravo".into(),
        })
        .await;
    let town = city
        .token(Grant::Supervisor {
            jurisdiction_id: ids.municipality,
        })
        .await;
    let south_desk = city
        .token(Grant::Supervisor {
            jurisdiction_id: ids.south,
        })
        .await;

    let now = Timestamp::now();
    let (south_report, south, _) =
        report_of(&city.file(SOUTH, now - SignedDuration::from_mins(10)).await);
    let (north_report, north, _) = report_of(&city.file(NORTH, now).await);
    let (south, north) = (south.unwrap(), north.unwrap());

    // Who may see the queue.
    let (status, body) = api.get("/api/v1/work-orders", None).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let (status, _) = api.get("/api/v1/work-orders", Some(&town)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api.get("/api/v1/work-orders", Some(&acme)).await;
    assert_eq!(status, StatusCode::OK);
    let queue: Vec<i64> = body["work_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["work_order_id"].as_i64().unwrap())
        .collect();
    assert_eq!(queue, vec![south, north], "the earlier deadline first");

    // Another contractor, a skipped step, then the steps in order.
    let mut live = city.live.subscribe();
    let accept = format!("/api/v1/work-orders/{north}/accept");
    let (status, _) = api.post(&accept, &bravo, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let start = format!("/api/v1/work-orders/{north}/start");
    let (status, body) = api.post(&start, &acme, None).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "invalid_transition")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("assigned"),
        "{body}"
    );

    let (status, body) = api.post(&accept, &acme, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["work_order"]["status"], "accepted");
    let changed = live.try_recv().unwrap();
    assert!(matches!(
        changed.kind,
        LiveEventKind::StatusChanged { ref status, work_order_id: Some(id), .. }
            if status == "accepted" && id == north
    ));
    assert!(changed.jurisdiction_ids.contains(&ids.municipality));

    let (status, _) = api.post(&start, &acme, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .post(&format!("/api/v1/work-orders/{north}/resolve"), &acme, None)
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let photo = jpeg();
    let (status, body) = api.resolve_with(north, &acme, &[&photo, &photo]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "duplicate_field");
    let (status, body) = api.resolve(north, &acme, &jpeg()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["work_order"]["status"], "resolved");
    assert_eq!(
        body["work_order"]["after_photo"].as_str().unwrap().len(),
        64
    );
    assert!(
        body["work_order"]["problem_still_visible"].is_null(),
        "no classifier configured"
    );

    // The citizen sees it; a supervisor of another district may not close it.
    let (_, report) = api
        .get(&format!("/api/v1/reports/{north_report}"), None)
        .await;
    assert_eq!(report["status"], "resolved");
    let close = format!("/api/v1/work-orders/{north}/close");
    let (status, _) = api.post(&close, &south_desk, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.post(&close, &acme, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "contractors do not verify");
    let (status, body) = api.post(&close, &town, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, report) = api
        .get(&format!("/api/v1/reports/{north_report}"), None)
        .await;
    assert_eq!(report["status"], "closed");
    let (status, body) = api.post(&accept, &acme, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // A closed incident takes no more duplicates; a reopened one does.
    let (_, again, merged) = report_of(&city.file(NORTH, Timestamp::now()).await);
    assert!(!merged && again.is_some(), "merged into a closed incident");
    let reopen = format!("/api/v1/work-orders/{north}/reopen");
    let (status, body) = api.post(&reopen, &town, Some(json!({"reason": ""}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = api
        .post(&reopen, &town, Some(json!({"reason": "still a hole"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["work_order"]["status"], "reopened");
    assert!(body["work_order"]["resolved_at"].is_null());
    let north_incident = body["work_order"]["incident_id"].as_i64().unwrap();
    let merged_into = match city.file(NORTH, Timestamp::now()).await {
        RecordOutcome::Recorded {
            merged: true,
            incident_id,
            ..
        } => incident_id,
        other => panic!("a report at a reopened incident did not merge: {other:?}"),
    };
    assert_eq!(
        merged_into, north_incident,
        "the older incident wins the tie"
    );

    // Rejection hands the order on by rule; a supervisor can name a contractor.
    let reject = format!("/api/v1/work-orders/{south}/reject");
    let (status, body) = api
        .post(&reject, &acme, Some(json!({"reason": "no crew free"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["work_order"]["contractor"], "bravo");
    assert_eq!(body["work_order"]["status"], "assigned");
    let types: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["work_order_rejected", "work_order_reassigned"]);
    let (_, body) = api.get("/api/v1/work-orders", Some(&bravo)).await;
    assert_eq!(body["work_orders"][0]["work_order_id"], south);

    let reassign = format!("/api/v1/work-orders/{south}/reassign");
    let (status, body) = api
        .post(
            &reassign,
            &south_desk,
            Some(json!({"contractor": "nobody"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = api
        .post(&reassign, &south_desk, Some(json!({"contractor": "acme"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["work_order"]["contractor"], "acme");

    // A citizen's report stays readable; supervisors' lists and figures.
    let (_, report) = api
        .get(&format!("/api/v1/reports/{south_report}"), None)
        .await;
    assert_eq!(report["status"], "assigned");
    let (status, body) = api.get("/api/v1/overdue", Some(&town)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["work_orders"].as_array().unwrap().len(), 0);
    let (status, body) = api
        .get(&format!("/api/v1/work-orders/{south}"), Some(&bravo))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = api
        .get(&format!("/api/v1/work-orders/{south}"), Some(&south_desk))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["events"].as_array().unwrap().len() >= 4);

    let (status, body) = api
        .get("/api/v1/figures?from=2020-01-01&to=2040-01-01", Some(&town))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["overall"]["open"], 3, "{body}");
    assert_eq!(body["by_contractor"]["acme"]["open"], 3);
    let (status, body) = api
        .get(
            "/api/v1/figures?from=2020-01-01&to=2040-01-01",
            Some(&south_desk),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["overall"]["open"], 1,
        "only the south's own order: {body}"
    );
    let (status, _) = api
        .get("/api/v1/figures?from=yesterday&to=2040-01-01", Some(&town))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api
        .get("/api/v1/figures?from=2030-01-01&to=2020-01-01", Some(&town))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api
        .post("/api/v1/work-orders/999999/accept", &acme, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    city::assert_log_replays(city.store.as_ref()).await;
}

/// A classifier that sees the same thing in every photo.
struct Sees {
    category: Option<&'static str>,
    confidence: f32,
}

#[async_trait::async_trait]
impl Classifier for Sees {
    fn input_px(&self) -> u32 {
        224
    }

    async fn classify(&self, _photo: &ProcessedPhoto) -> cityfix::classify::Result<Classification> {
        Ok(Classification {
            label: self.category.unwrap_or("clean_street").to_string(),
            category: self.category.map(str::to_string),
            confidence: self.confidence,
            embedding: vec![1.0],
            model_sha256: "sees-one-thing".into(),
        })
    }
}

#[tokio::test]
async fn resolving_records_whether_the_model_still_sees_the_problem() {
    let cases = [
        (Some("pothole"), 0.9, Some(true)),
        (Some("pothole"), 0.2, Some(false)),
        (None, 0.95, Some(false)),
    ];
    for (category, confidence, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        city::set_up(dir.path()).await;
        let classifier: Arc<dyn Classifier> = Arc::new(Sees {
            category,
            confidence,
        });
        let city = city::open_with(dir.path(), Some(classifier)).await;
        let api = Api {
            app: cityfix::http::app(city.app_state()),
        };
        let acme = city
            .token(Grant::Contractor {
                contractor_id: "acme".into(),
            })
            .await;
        let id = city.report(NORTH, Timestamp::now()).await;
        for step in ["accept", "start"] {
            let (status, _) = api
                .post(&format!("/api/v1/work-orders/{id}/{step}"), &acme, None)
                .await;
            assert_eq!(status, StatusCode::OK);
        }

        let (status, body) = api.resolve(id, &acme, &jpeg()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["work_order"]["problem_still_visible"].as_bool(),
            expected,
            "{category:?} at {confidence}"
        );
    }
}
