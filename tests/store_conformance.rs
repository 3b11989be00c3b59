//! One suite, two stores: every scenario runs against the embedded SQLite
//! store and, when `CITYFIX_TEST_DATABASE_URL` is set, against PostGIS in a
//! fresh schema. Each scenario asserts the right answers itself and returns
//! what it saw; the two stores must have seen exactly the same.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::pg;

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use cityfix::auth::{Grant, TokenHash};
use cityfix::boundaries::{ImportOptions, ParsedBoundaries, parse_boundaries};
use cityfix::classify::{Classification, Classifier};
use cityfix::dispatch::{Command, UnassignedReason};
use cityfix::events::Actor;
use cityfix::events::live::LiveFeed;
use cityfix::photos::{DirPhotoStore, PhotoLimits, ProcessedPhoto};
use cityfix::pipeline::{Intake, IntakeError, Pipeline, PipelineParts};
use cityfix::reports::Submission;
use cityfix::setup::{CitySetup, JurisdictionRef};
use cityfix::sla::{DeadlineKind, Priority};
use cityfix::store::{
    BoundaryImport, IncidentQuery, NoticeDelivery, RecordOutcome, SharedStore, SqliteStore,
    WorkOrderChange, WorkOrderQuery, WorkOrderRef,
};
use jiff::Timestamp;

const DISTRICTS: &str = include_str!("../fixtures/boundaries/sample_districts.geojson");
const SETUP: &str = include_str!("../fixtures/sample/setup.toml");

/// Runs `scenario` on both stores and compares what they saw.
async fn on_both_stores<F, Fut, T>(name: &str, scenario: F)
where
    F: Fn(SharedStore) -> Fut,
    Fut: Future<Output = T>,
    T: PartialEq + Debug,
{
    let sqlite: SharedStore = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let embedded = scenario(sqlite).await;

    let Some(url) = pg::test_database_url() else {
        return;
    };
    let postgis: SharedStore = Arc::new(pg::fresh_store(&url, &format!("conf_{name}")).await);
    let production = scenario(postgis).await;
    assert_eq!(embedded, production, "the stores disagree in {name}");
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            on_both_stores(stringify!($name), scenarios::$name).await;
        }
    )*};
}

conformance!(
    boundary_versions,
    setup_apply_is_idempotent,
    intake_routes_and_dispatches,
    dedup_merges_near_and_recent_reports,
    placeholder_reports_never_merge,
    photos_are_compared_only_within_one_model,
    contract_capacity_sends_work_to_supervisors,
    idempotency_keys,
    reads,
    tokens,
    work_order_lifecycle_and_breaches,
    breach_notices_wait_until_delivered,
);

fn districts(text: &str) -> ParsedBoundaries {
    let options = ImportOptions {
        id_field: "code".into(),
        name_field: "name".into(),
        strict: true,
    };
    parse_boundaries(text, &options).unwrap()
}

fn district_import() -> BoundaryImport {
    BoundaryImport {
        level: "district".into(),
        level_rank: None,
        time_zone: "America/New_York".into(),
        source_name: "sample_districts.geojson".into(),
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Imports the sample districts, applies `setup` and loads a pipeline.
async fn city(store: &SharedStore, setup: &str) -> Pipeline {
    city_with(store, setup, None).await
}

/// `city` with a classifier.
async fn city_with(
    store: &SharedStore,
    setup: &str,
    classifier: Option<Arc<dyn Classifier>>,
) -> Pipeline {
    let now = at("2025-01-01T00:00:00Z");
    store
        .import_boundaries(&district_import(), &districts(DISTRICTS), now)
        .await
        .unwrap();
    let refs = jurisdiction_refs(store).await;
    let parsed = CitySetup::parse(setup, &refs).unwrap();
    store.apply_setup(&parsed, setup, now).await.unwrap();

    Pipeline::load(PipelineParts {
        store: store.clone(),
        classifier,
        photos: Arc::new(DirPhotoStore::new(
            std::env::temp_dir().join("cityfix-conformance-photos"),
        )),
        photo_limits: PhotoLimits::default(),
        live: LiveFeed::default(),
        max_description_chars: 2000,
        triage_threshold: 0.6,
    })
    .await
    .unwrap()
}

async fn jurisdiction_refs(store: &SharedStore) -> Vec<JurisdictionRef> {
    store
        .jurisdictions()
        .await
        .unwrap()
        .into_iter()
        .map(|j| JurisdictionRef {
            id: j.id,
            level: j.level,
            external_id: j.external_id,
        })
        .collect()
}

async fn jurisdiction_id(store: &SharedStore, external_id: &str) -> i64 {
    store
        .jurisdictions()
        .await
        .unwrap()
        .iter()
        .find(|j| j.external_id == external_id)
        .unwrap()
        .id
}

fn report(lat: f64, lon: f64, category: &str, received_at: &str) -> Submission {
    Submission {
        lat: Some(lat),
        lon: Some(lon),
        category: Some(category.into()),
        source: "api".into(),
        received_at: Some(at(received_at)),
        ..Submission::default()
    }
}

async fn submit(pipeline: &Pipeline, submission: Submission) -> Intake {
    pipeline.submit(submission).await.unwrap()
}

/// (incident id, merged, report count) of a stored intake.
fn recorded(intake: &Intake) -> (i64, bool, u32) {
    match &intake.outcome {
        RecordOutcome::Recorded {
            incident_id,
            merged,
            report_count,
            ..
        } => (*incident_id, *merged, *report_count),
        other => panic!("not recorded: {other:?}"),
    }
}

fn work_order(intake: &Intake) -> WorkOrderRef {
    match &intake.outcome {
        RecordOutcome::Recorded {
            work_order: Some(work_order),
            ..
        } => work_order.clone(),
        other => panic!("no new work order: {other:?}"),
    }
}

/// Sees a pothole in every photo; its embedding and model follow the photo's
/// strongest colour: red and green are two directions of one model's space,
/// blue is green's direction in another model's space.
struct ColourModels;

#[async_trait::async_trait]
impl Classifier for ColourModels {
    fn input_px(&self) -> u32 {
        224
    }

    async fn classify(&self, photo: &ProcessedPhoto) -> cityfix::classify::Result<Classification> {
        let mut sums = [0u64; 3];
        for pixel in photo.model_input.pixels() {
            for (sum, value) in sums.iter_mut().zip(pixel.0) {
                *sum += u64::from(value);
            }
        }
        let strongest = (0..3).max_by_key(|&c| sums[c]).unwrap();
        let (embedding, model) = match strongest {
            0 => (vec![1.0, 0.0], "model-a"),
            1 => (vec![0.0, 1.0], "model-a"),
            _ => (vec![0.0, 1.0], "model-b"),
        };
        Ok(Classification {
            label: "pothole".into(),
            category: Some("pothole".into()),
            confidence: 0.99,
            embedding,
            model_sha256: model.into(),
        })
    }
}

fn solid_photo(rgb: [u8; 3]) -> bytes::Bytes {
    let image = image::RgbImage::from_pixel(64, 48, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner().into()
}

/// Metres east of `lon` at latitude `lat`, in degrees.
fn east(lat: f64, metres: f64) -> f64 {
    metres / (111_195.0 * lat.to_radians().cos())
}

mod scenarios {
    use super::*;

    pub async fn boundary_versions(store: SharedStore) -> Vec<String> {
        let import = district_import();
        let first = store
            .import_boundaries(&import, &districts(DISTRICTS), at("2025-01-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!((first.added, first.changed, first.kept), (3, 0, 0));
        assert_eq!(first.level_rank, 0);
        let before = store.jurisdictions().await.unwrap();
        assert_eq!(before.len(), 3);

        let again = store
            .import_boundaries(&import, &districts(DISTRICTS), at("2025-02-01T00:00:00Z"))
            .await
            .unwrap();
        assert!(again.unchanged);
        assert_eq!(again.import_id, None);
        assert_eq!(store.jurisdictions().await.unwrap(), before);

        // The same file in another time zone is a change of every jurisdiction's zone.
        let moved = BoundaryImport {
            time_zone: "America/Chicago".into(),
            ..district_import()
        };
        let rezoned = store
            .import_boundaries(&moved, &districts(DISTRICTS), at("2025-02-02T00:00:00Z"))
            .await
            .unwrap();
        assert!(!rezoned.unchanged);
        assert_eq!(rezoned.kept, 3);
        let zones: Vec<String> = store
            .jurisdictions()
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.time_zone)
            .collect();
        assert_eq!(zones, vec!["America/Chicago"; 3]);
        store
            .import_boundaries(&import, &districts(DISTRICTS), at("2025-02-03T00:00:00Z"))
            .await
            .unwrap();

        // North grows east, the island goes, South stays.
        let redrawn = DISTRICTS
            .replace(
                "[-71.04, 42.35], [-71.04, 42.39]",
                "[-71.03, 42.35], [-71.03, 42.39]",
            )
            .replace("\"code\": \"I1\"", "\"code\": \"I1-gone\"");
        let mut changed = districts(&redrawn);
        changed.features.retain(|f| f.external_id != "I1-gone");
        let second = store
            .import_boundaries(&import, &changed, at("2025-03-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            (second.added, second.changed, second.kept, second.retired),
            (0, 1, 1, 1)
        );
        let after = store.jurisdictions().await.unwrap();
        assert_eq!(after.len(), 2);
        let north = after.iter().find(|j| j.external_id == "N1").unwrap();
        let old_north = before.iter().find(|j| j.external_id == "N1").unwrap();
        assert_eq!(north.id, old_north.id);
        assert_ne!(north.boundary_version_id, old_north.boundary_version_id);
        assert!(north.area_m2 > old_north.area_m2);

        let ranked = BoundaryImport {
            level: "district".into(),
            level_rank: Some(4),
            ..district_import()
        };
        let refused = store
            .import_boundaries(&ranked, &changed, at("2025-03-02T00:00:00Z"))
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("already has rank 0"),
            "{refused}"
        );

        vec![
            format!("{first:?}"),
            format!("{again:?}"),
            format!("{rezoned:?}"),
            format!("{second:?}"),
            format!("{before:?}"),
            format!("{after:?}"),
        ]
    }

    pub async fn setup_apply_is_idempotent(store: SharedStore) -> Vec<String> {
        store
            .import_boundaries(
                &district_import(),
                &districts(DISTRICTS),
                at("2025-01-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let refs = jurisdiction_refs(&store).await;
        let setup = CitySetup::parse(SETUP, &refs).unwrap();
        assert_eq!(store.current_setup_text().await.unwrap(), None);

        let now = at("2025-01-02T00:00:00Z");
        let first = store.apply_setup(&setup, SETUP, now).await.unwrap();
        assert!(!first.unchanged);
        assert_eq!((first.categories, first.contractors), (5, 3));
        let ids = store.contract_ids(&setup).await.unwrap();
        assert_eq!(ids.len(), setup.contracts.len());

        let again = store.apply_setup(&setup, SETUP, now).await.unwrap();
        assert!(again.unchanged);
        assert_eq!(store.contract_ids(&setup).await.unwrap(), ids);
        assert_eq!(
            store.current_setup_text().await.unwrap().as_deref(),
            Some(SETUP)
        );

        // A set-up without the clean-city contract keeps the other contracts' ids.
        let start = SETUP.find("[[contracts]]\nslug = \"clean-city\"").unwrap();
        let end = SETUP[start..].find("[sla.calendar]").unwrap() + start;
        let smaller_text = format!("{}{}", &SETUP[..start], &SETUP[end..]);
        let smaller = CitySetup::parse(&smaller_text, &refs).unwrap();
        store
            .apply_setup(&smaller, &smaller_text, now)
            .await
            .unwrap();
        let kept = store.contract_ids(&smaller).await.unwrap();
        assert!(kept.iter().all(|id| ids.contains(id)));
        assert_eq!(kept.len(), smaller.contracts.len());

        // Rewriting existing contracts uses up no ids: a contract added after them
        // takes the next one, in both stores alike.
        let larger_text = format!(
            "{SETUP}\n[[contracts]]\nslug = \"other-works\"\ncontractor = \"clean-city\"\n\
             level = \"district\"\njurisdictions = [\"N1\"]\ncategories = [\"other\"]\n\
             valid_from = \"2024-01-01\"\ncapacity = 10\n"
        );
        let larger = CitySetup::parse(&larger_text, &refs).unwrap();
        store.apply_setup(&larger, &larger_text, now).await.unwrap();
        let grown = store.contract_ids(&larger).await.unwrap();
        assert_eq!(grown[..ids.len()], ids[..]);
        let next = ids.iter().max().unwrap() + 1;
        assert_eq!(grown[ids.len()..], [next]);

        vec![
            format!("{first:?} {again:?}"),
            format!("{ids:?} {kept:?} {grown:?}"),
        ]
    }

    pub async fn intake_routes_and_dispatches(store: SharedStore) -> Vec<String> {
        let pipeline = city(&store, SETUP).await;
        let north = jurisdiction_id(&store, "N1").await;
        let island = jurisdiction_id(&store, "I1").await;
        let south = jurisdiction_id(&store, "3").await;

        // Tuesday 14:00 in Sampleton (UTC-5 until 9 March).
        let pothole = submit(
            &pipeline,
            report(42.385, -71.09, "pothole", "2025-03-04T19:00:00Z"),
        )
        .await;
        assert_eq!(pothole.jurisdiction_id, north);
        let order = work_order(&pothole);
        assert_eq!(order.contractor.as_deref(), Some("north-roads"));
        // 8 working hours: Tue 14–16, Wed 08–14.
        assert_eq!(order.response_due_at, Some(at("2025-03-05T19:00:00Z")));
        // 40 working hours: to Tue 11 March 14:00, after the switch to UTC-4.
        assert_eq!(order.resolution_due_at, Some(at("2025-03-11T18:00:00Z")));

        let in_hole = submit(
            &pipeline,
            report(42.37, -71.07, "streetlight", "2025-03-04T19:05:00Z"),
        )
        .await;
        assert_eq!(in_hole.jurisdiction_id, island);
        assert_eq!(
            work_order(&in_hole).contractor.as_deref(),
            Some("north-roads")
        );

        let graffiti = submit(
            &pipeline,
            report(42.32, -71.07, "graffiti", "2025-03-04T19:10:00Z"),
        )
        .await;
        assert_eq!(graffiti.jurisdiction_id, south);
        let graffiti_order = work_order(&graffiti);
        assert_eq!(graffiti_order.contractor.as_deref(), Some("clean-city"));

        let other = submit(
            &pipeline,
            report(42.32, -71.06, "other", "2025-03-04T19:15:00Z"),
        )
        .await;
        let unassigned = work_order(&other);
        assert_eq!(unassigned.contractor, None);
        assert_eq!(
            unassigned.unassigned_reason,
            Some(UnassignedReason::NoContract)
        );

        // On the border of North and South: covered by both, South is smaller.
        let border = submit(
            &pipeline,
            report(42.35, -71.09, "pothole", "2025-03-04T19:20:00Z"),
        )
        .await;
        let border_view = store.report(recorded(&border).0).await.unwrap().map(|_| ());
        assert!(border_view.is_some());

        let outside = pipeline
            .submit(report(42.0, -72.0, "pothole", "2025-03-04T19:25:00Z"))
            .await
            .unwrap_err();
        assert!(matches!(outside, IntakeError::OutsideJurisdictions { .. }));

        let summaries = store.work_order_summaries(None).await.unwrap();
        assert_eq!(summaries.len(), 5);
        assert_eq!(
            summaries[0].resolution_due_at,
            Some(at("2025-03-11T18:00:00Z"))
        );
        vec![
            format!("{pothole:?}"),
            format!("{in_hole:?}"),
            format!("{graffiti:?}"),
            format!("{other:?}"),
            format!("{border:?}"),
            format!("{summaries:?}"),
            format!("{:?}", store.events(None).await.unwrap()),
        ]
    }

    /// Dedup's photo check compares embeddings of one model only: a photo from
    /// another model's space is no evidence either way, so position decides.
    pub async fn photos_are_compared_only_within_one_model(store: SharedStore) -> Vec<(bool, u32)> {
        let classifier: Arc<dyn Classifier> = Arc::new(ColourModels);
        let pipeline = city_with(&store, SETUP, Some(classifier)).await;
        let (lat, lon) = (42.385, -71.09);
        let with_photo = |rgb, received_at| Submission {
            photo: Some(solid_photo(rgb)),
            ..report(lat, lon, "pothole", received_at)
        };

        let red = submit(&pipeline, with_photo([220, 20, 20], "2025-03-04T15:00:00Z")).await;
        let (first, merged, _) = recorded(&red);
        assert!(!merged);
        // Same model, orthogonal embedding: something else at the same spot.
        let green = submit(&pipeline, with_photo([20, 220, 20], "2025-03-04T15:10:00Z")).await;
        let (second, merged, _) = recorded(&green);
        assert!(!merged, "a dissimilar photo of the same model merged");
        assert_ne!(second, first);
        // Another model: its embedding says nothing about the others, so the
        // nearest incident wins, the lower id on a tie (the first), although the
        // vector equals the second's.
        let blue = submit(&pipeline, with_photo([20, 20, 220], "2025-03-04T15:20:00Z")).await;
        let (third, merged, count) = recorded(&blue);
        assert_eq!((third, merged, count), (first, true, 2));
        [red, green, blue]
            .iter()
            .map(|intake| {
                let (_, merged, count) = recorded(intake);
                (merged, count)
            })
            .collect()
    }

    pub async fn dedup_merges_near_and_recent_reports(store: SharedStore) -> Vec<String> {
        let pipeline = city(&store, SETUP).await;
        let (lat, lon) = (42.385, -71.09);

        let first = submit(
            &pipeline,
            report(lat, lon, "pothole", "2025-03-04T15:00:00Z"),
        )
        .await;
        let (incident, merged, count) = recorded(&first);
        assert!(!merged);
        assert_eq!(count, 1);

        // 10 m east, an hour later: the same pothole.
        let near = report(
            lat,
            lon + east(lat, 10.0),
            "pothole",
            "2025-03-04T16:00:00Z",
        );
        let second = submit(&pipeline, near).await;
        assert_eq!(recorded(&second), (incident, true, 2));

        // 24 m away is inside the 25 m radius; 27 m is not.
        let edge = report(
            lat,
            lon + east(lat, 24.0),
            "pothole",
            "2025-03-04T16:30:00Z",
        );
        assert_eq!(
            recorded(&submit(&pipeline, edge).await),
            (incident, true, 3)
        );
        let beyond = report(
            lat,
            lon - east(lat, 27.0),
            "pothole",
            "2025-03-04T16:40:00Z",
        );
        let (beyond_incident, beyond_merged, _) = recorded(&submit(&pipeline, beyond).await);
        assert!(!beyond_merged);
        assert_ne!(beyond_incident, incident);

        // The third report raised the priority (escalate_after_reports = 3).
        let views = store
            .incidents(&IncidentQuery {
                limit: 10,
                ..IncidentQuery::default()
            })
            .await
            .unwrap();
        let merged_view = views.iter().find(|v| v.id == incident).unwrap();
        assert_eq!(merged_view.report_count, 3);
        assert_eq!(merged_view.priority, Priority::High);
        assert_eq!(merged_view.last_report_at, at("2025-03-04T16:30:00Z"));

        // Another category at the same spot is another problem.
        let graffiti = submit(
            &pipeline,
            report(lat, lon, "graffiti", "2025-03-04T17:00:00Z"),
        )
        .await;
        assert!(!recorded(&graffiti).1);

        // 31 days after the last report: outside the 30-day window.
        let late = submit(
            &pipeline,
            report(lat, lon, "pothole", "2025-04-04T17:00:00Z"),
        )
        .await;
        assert!(!recorded(&late).1);
        assert_ne!(recorded(&late).0, incident);

        // Two near incidents: the nearer one wins.
        let (a_lat, b_lat) = (42.386, 42.386);
        let a = submit(
            &pipeline,
            report(a_lat, -71.095, "streetlight", "2025-03-05T10:00:00Z"),
        )
        .await;
        let b_lon = -71.095 + east(b_lat, 50.0);
        let b = submit(
            &pipeline,
            report(b_lat, b_lon, "streetlight", "2025-03-05T10:01:00Z"),
        )
        .await;
        assert_ne!(recorded(&a).0, recorded(&b).0);
        let between = report(
            a_lat,
            -71.095 + east(a_lat, 30.0),
            "streetlight",
            "2025-03-05T10:02:00Z",
        );
        assert_eq!(
            recorded(&submit(&pipeline, between).await).0,
            recorded(&b).0
        );

        vec![
            format!("{views:?}"),
            format!("{:?}", store.report_points().await.unwrap()),
            format!("{:?}", store.events(None).await.unwrap()),
        ]
    }

    pub async fn placeholder_reports_never_merge(store: SharedStore) -> Vec<String> {
        let pipeline = city(&store, SETUP).await;
        // The set-up's town hall geocode.
        let (lat, lon) = (42.3450, -71.0700);
        let first = submit(
            &pipeline,
            report(lat, lon, "pothole", "2025-03-04T15:00:00Z"),
        )
        .await;
        let second = submit(
            &pipeline,
            report(lat, lon, "pothole", "2025-03-04T15:01:00Z"),
        )
        .await;
        assert!(first.placeholder && second.placeholder);
        assert_ne!(recorded(&first).0, recorded(&second).0);
        assert!(!recorded(&second).1);

        // A real report next to a placeholder incident does not join it either.
        let beside = report(
            lat,
            lon + east(lat, 12.0),
            "pothole",
            "2025-03-04T15:02:00Z",
        );
        let beside = submit(&pipeline, beside).await;
        assert!(!beside.placeholder);
        let (beside_incident, merged, _) = recorded(&beside);
        assert!(!merged);

        let views = store
            .incidents(&IncidentQuery {
                limit: 10,
                ..IncidentQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(views.len(), 3);
        let placeholder_flags: Vec<bool> = views.iter().map(|v| v.placeholder).collect();
        assert_eq!(placeholder_flags, vec![false, true, true]);
        assert_eq!(views[0].id, beside_incident);
        let stored = store.report(recorded(&first).0).await.unwrap().unwrap();
        assert!(stored.placeholder);
        vec![format!("{views:?}"), format!("{stored:?}")]
    }

    pub async fn contract_capacity_sends_work_to_supervisors(store: SharedStore) -> Vec<String> {
        let tight = SETUP.replacen("capacity = 50", "capacity = 1", 1);
        let pipeline = city(&store, &tight).await;
        let first = submit(
            &pipeline,
            report(42.385, -71.09, "pothole", "2025-03-04T15:00:00Z"),
        )
        .await;
        assert_eq!(
            work_order(&first).contractor.as_deref(),
            Some("north-roads")
        );
        // Far enough not to merge: a second incident, and north-roads is full.
        let second = submit(
            &pipeline,
            report(42.387, -71.05, "pothole", "2025-03-04T15:05:00Z"),
        )
        .await;
        let queued = work_order(&second);
        assert_eq!(queued.contractor, None);
        assert_eq!(queued.unassigned_reason, Some(UnassignedReason::AtCapacity));
        // South's contract is another one, with room.
        let south = submit(
            &pipeline,
            report(42.32, -71.07, "pothole", "2025-03-04T15:10:00Z"),
        )
        .await;
        assert_eq!(
            work_order(&south).contractor.as_deref(),
            Some("south-roads")
        );
        vec![
            format!("{first:?}"),
            format!("{second:?}"),
            format!("{south:?}"),
            format!("{:?}", store.work_order_summaries(None).await.unwrap()),
        ]
    }

    pub async fn idempotency_keys(store: SharedStore) -> Vec<String> {
        let pipeline = city(&store, SETUP).await;
        let keyed = |description: &str| Submission {
            source_id: Some("key-1".into()),
            description: Some(description.into()),
            ..report(42.385, -71.09, "pothole", "2025-03-04T15:00:00Z")
        };
        let first = submit(&pipeline, keyed("deep hole")).await;
        let (incident, _, _) = recorded(&first);
        let RecordOutcome::Recorded { report_id, .. } = first.outcome else {
            unreachable!()
        };

        let retry = submit(&pipeline, keyed("deep hole")).await;
        assert_eq!(
            retry.outcome,
            RecordOutcome::AlreadyRecorded {
                report_id,
                same_content: true
            }
        );
        let reused = pipeline.submit(keyed("another hole")).await.unwrap_err();
        assert!(matches!(reused, IntakeError::IdempotencyConflict));

        // The same key from another source is another report.
        let elsewhere = Submission {
            source: "replay:sampleton".into(),
            ..keyed("deep hole")
        };
        let other = submit(&pipeline, elsewhere).await;
        assert_eq!(recorded(&other), (incident, true, 2));

        let found = store
            .report_by_source("api", "key-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, report_id);
        assert_eq!(found.description.as_deref(), Some("deep hole"));
        assert!(
            store
                .report_by_source("api", "key-2")
                .await
                .unwrap()
                .is_none()
        );
        let reports = store.report_points().await.unwrap();
        assert_eq!(reports.len(), 2);
        vec![format!("{found:?}"), format!("{reports:?}")]
    }

    pub async fn reads(store: SharedStore) -> Vec<String> {
        let pipeline = city(&store, SETUP).await;
        let north = jurisdiction_id(&store, "N1").await;
        let with_details = Submission {
            accuracy_m: Some(8.0),
            description: Some("streetlight flickers".into()),
            ..report(42.385, -71.09, "streetlight", "2025-03-04T15:00:00Z")
        };
        let first = submit(&pipeline, with_details).await;
        submit(
            &pipeline,
            report(42.3851, -71.0901, "streetlight", "2025-03-04T15:01:00Z"),
        )
        .await;
        submit(
            &pipeline,
            report(42.32, -71.07, "garbage", "2025-03-04T15:02:00Z"),
        )
        .await;
        submit(
            &pipeline,
            report(42.32, -70.98, "garbage", "2025-03-04T15:03:00Z"),
        )
        .await;

        let view = store.report(recorded(&first).0).await.unwrap().unwrap();
        assert_eq!((view.lat, view.lon), (42.385, -71.09));
        assert_eq!(view.accuracy_m, Some(8.0));
        assert_eq!(view.jurisdiction.id, north);
        assert_eq!(view.jurisdiction.level, "district");
        assert_eq!(view.incident_report_count, 2);
        assert_eq!(view.status, "assigned");
        assert_eq!(view.position_source, "request");
        assert!(!view.has_photo && !view.triage);
        assert_eq!(store.report(9_999).await.unwrap(), None);
        assert_eq!(store.report_photo(view.id).await.unwrap(), None);

        let all = IncidentQuery {
            limit: 50,
            ..IncidentQuery::default()
        };
        let everything = store.incidents(&all).await.unwrap();
        assert_eq!(everything.len(), 3);
        // The bbox's edge passes exactly through the island's garbage report.
        let mainland = IncidentQuery {
            bbox: Some([-71.10, 42.30, -70.98, 42.40]),
            ..all.clone()
        };
        let in_box = store.incidents(&mainland).await.unwrap();
        assert_eq!(in_box.len(), 3);
        let west_only = IncidentQuery {
            bbox: Some([-71.10, 42.30, -70.980_000_001, 42.40]),
            ..all.clone()
        };
        assert_eq!(store.incidents(&west_only).await.unwrap().len(), 2);
        let garbage = IncidentQuery {
            category: Some("garbage".into()),
            ..all.clone()
        };
        assert_eq!(store.incidents(&garbage).await.unwrap().len(), 2);
        let in_north = IncidentQuery {
            jurisdiction_id: Some(north),
            status: Some("open".into()),
            ..all.clone()
        };
        assert_eq!(store.incidents(&in_north).await.unwrap().len(), 1);
        let closed = IncidentQuery {
            status: Some("closed".into()),
            ..all.clone()
        };
        assert!(store.incidents(&closed).await.unwrap().is_empty());
        let one = IncidentQuery {
            limit: 1,
            ..all.clone()
        };
        let newest = store.incidents(&one).await.unwrap();
        assert_eq!(newest.len(), 1);
        assert_eq!(newest[0].id, everything[0].id);
        // Pages of two, each after the last id of the one before, list everything once.
        let mut paged = Vec::new();
        let mut before_id = None;
        loop {
            let page = IncidentQuery {
                limit: 2,
                before_id,
                ..all.clone()
            };
            let page = store.incidents(&page).await.unwrap();
            paged.extend(page.iter().map(|i| i.id));
            match page.last() {
                Some(last) if page.len() == 2 => before_id = Some(last.id),
                _ => break,
            }
        }
        let ids: Vec<i64> = everything.iter().map(|i| i.id).collect();
        assert_eq!(paged, ids);

        let first_order = everything.last().unwrap().work_order_id.unwrap();
        let its_events = store.events(Some(first_order)).await.unwrap();
        assert_eq!(its_events.len(), 1);
        assert_eq!(its_events[0].kind.type_name(), "work_order_assigned");

        vec![
            format!("{view:?}"),
            format!("{everything:?}"),
            format!("{in_box:?}"),
            format!("{its_events:?}"),
        ]
    }

    pub async fn tokens(store: SharedStore) -> Vec<String> {
        let hash = TokenHash::of("secret-token-1");
        let grant = Grant::Contractor {
            contractor_id: "north-roads".into(),
        };
        let created = at("2025-03-04T15:00:00Z");
        let id = store.insert_token(&hash, &grant, created).await.unwrap();
        let found = store.find_active_token(&hash).await.unwrap().unwrap();
        assert_eq!(
            (found.id, &found.grant, found.created_at),
            (id, &grant, created)
        );
        assert!(
            store
                .find_active_token(&TokenHash::of("other"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.revoke_token(id, created).await.unwrap());
        assert!(!store.revoke_token(id, created).await.unwrap());
        assert!(store.find_active_token(&hash).await.unwrap().is_none());

        let supervisor = Grant::Supervisor { jurisdiction_id: 7 };
        let second = store
            .insert_token(&TokenHash::of("secret-token-2"), &supervisor, created)
            .await
            .unwrap();
        vec![format!("{found:?}"), format!("{id} {second}")]
    }

    /// Work orders are stamped with the wall clock, so this scenario compares
    /// what happened, not when.
    pub async fn work_order_lifecycle_and_breaches(store: SharedStore) -> Vec<String> {
        let pipeline = city(&store, SETUP).await;
        let now = Timestamp::now();
        let fresh = |lat: f64, lon: f64, category: &str| Submission {
            received_at: Some(now),
            ..report(lat, lon, category, "2025-03-04T15:00:00Z")
        };
        let accepted = work_order(&submit(&pipeline, fresh(42.385, -71.09, "pothole")).await).id;
        let rejected = work_order(&submit(&pipeline, fresh(42.387, -71.05, "pothole")).await).id;
        let closing = submit(&pipeline, fresh(42.32, -71.07, "graffiti")).await;
        let closed = work_order(&closing).id;

        let change = |id: i64, command: Command, actor: Actor| {
            let store = store.clone();
            let city = pipeline.city();
            async move {
                let detail = store.work_order(id).await.unwrap().unwrap();
                let candidates = city.candidates_in(&detail.scope, &detail.view.category, now);
                store
                    .change_work_order(WorkOrderChange {
                        work_order_id: id,
                        command,
                        actor,
                        at: now,
                        candidates,
                    })
                    .await
            }
        };
        let north = Actor::contractor("north-roads");
        change(accepted, Command::Accept, north.clone())
            .await
            .unwrap();
        let refused = change(accepted, Command::Close, Actor::supervisor("sam")).await;
        assert!(
            refused.is_err(),
            "an accepted order cannot be closed unresolved"
        );
        let reason = "not ours".to_string();
        let bounced = change(rejected, Command::Reject { reason }, north.clone())
            .await
            .unwrap();
        // No other contract covers North's potholes: the supervisors' queue.
        assert_eq!(bounced.state.contractor, None);

        let clean = Actor::contractor("clean-city");
        change(closed, Command::Accept, clean.clone())
            .await
            .unwrap();
        change(closed, Command::Start, clean.clone()).await.unwrap();
        let after_photo = "ab".repeat(32);
        let resolve = Command::Resolve {
            after_photo,
            problem_still_visible: Some(false),
        };
        change(closed, resolve, clean).await.unwrap();
        let done = change(closed, Command::Close, Actor::supervisor("sam"))
            .await
            .unwrap();
        assert_eq!(done.state.status.as_str(), "closed");
        // The closed incident takes no more reports.
        let again = submit(&pipeline, fresh(42.32, -71.07, "graffiti")).await;
        assert_ne!(recorded(&again).0, recorded(&closing).0);

        let queue = WorkOrderQuery {
            contractor: Some("north-roads".into()),
            ..WorkOrderQuery::default()
        };
        let north_queue: Vec<i64> = store
            .work_orders(&queue)
            .await
            .unwrap()
            .iter()
            .map(|v| v.state.work_order_id)
            .collect();
        assert_eq!(north_queue, vec![accepted]);

        let later = now + jiff::SignedDuration::from_hours(24 * 30);
        let mut claimed: Vec<(i64, String)> = store
            .claim_breaches(later, None, 100)
            .await
            .unwrap()
            .iter()
            .map(|n| (n.work_order_id, n.deadline.as_str().to_string()))
            .collect();
        claimed.sort();
        // The accepted order only misses its resolution; the rejected one
        // both; the closed one nothing; the new graffiti order both.
        let newest = work_order(&again).id;
        let mut expected = vec![
            (accepted, "resolution".to_string()),
            (rejected, "resolution".to_string()),
            (rejected, "response".to_string()),
            (newest, "resolution".to_string()),
            (newest, "response".to_string()),
        ];
        expected.sort();
        assert_eq!(claimed, expected);
        assert!(
            store
                .claim_breaches(later, None, 100)
                .await
                .unwrap()
                .is_empty()
        );
        let overdue = WorkOrderQuery {
            overdue_only: true,
            ..WorkOrderQuery::default()
        };
        let overdue: Vec<(i64, bool)> = store
            .work_orders(&overdue)
            .await
            .unwrap()
            .iter()
            .map(|v| (v.state.work_order_id, v.overdue))
            .collect();
        assert_eq!(overdue.len(), 3);
        let kinds: Vec<&str> = store
            .events(Some(rejected))
            .await
            .unwrap()
            .iter()
            .map(|e| e.kind.type_name())
            .collect();
        vec![
            format!("{claimed:?}"),
            format!("{overdue:?}"),
            format!("{kinds:?}"),
            format!("{:?}", bounced.scope),
        ]
    }

    /// A breach's webhook notice stays due until it is delivered: leased to the
    /// claimer, due again after a failure, never again once delivered.
    pub async fn breach_notices_wait_until_delivered(store: SharedStore) -> Vec<String> {
        let pipeline = city(&store, SETUP).await;
        let now = Timestamp::now();
        let fresh = |lat: f64, lon: f64| Submission {
            received_at: Some(now),
            ..report(lat, lon, "pothole", "2025-03-04T15:00:00Z")
        };
        let id = work_order(&submit(&pipeline, fresh(42.385, -71.09)).await).id;
        // A month on, both deadlines have passed, whatever the calendar.
        let month = now + jiff::SignedDuration::from_hours(24 * 30);
        let minutes = |m: i64| month + jiff::SignedDuration::from_mins(m);
        let pending = |at: Timestamp| {
            let store = store.clone();
            async move {
                let mut due: Vec<_> = store
                    .claim_pending_notices(at, at + jiff::SignedDuration::from_mins(2), 10)
                    .await
                    .unwrap()
                    .iter()
                    .map(|p| {
                        (
                            p.notice.work_order_id,
                            p.notice.deadline.as_str(),
                            p.attempts,
                        )
                    })
                    .collect();
                due.sort_unstable();
                due
            }
        };

        let claimed = store
            .claim_breaches(minutes(0), Some(minutes(2)), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2);
        assert!(
            pending(minutes(1)).await.is_empty(),
            "leased to the claimer"
        );
        // The claimer never said how it went: due again once the lease is over.
        let second = pending(minutes(3)).await;
        assert_eq!(second, vec![(id, "resolution", 2), (id, "response", 2)]);
        assert!(pending(minutes(4)).await.is_empty(), "leased again");
        store
            .record_notice_delivery(
                id,
                DeadlineKind::Resolution,
                NoticeDelivery::Delivered { at: minutes(4) },
            )
            .await
            .unwrap();
        store
            .record_notice_delivery(
                id,
                DeadlineKind::Response,
                NoticeDelivery::Failed {
                    retry_at: Some(minutes(10)),
                },
            )
            .await
            .unwrap();
        assert!(pending(minutes(9)).await.is_empty());
        let third = pending(minutes(10)).await;
        assert_eq!(third, vec![(id, "response", 3)]);
        store
            .record_notice_delivery(
                id,
                DeadlineKind::Response,
                NoticeDelivery::Failed { retry_at: None },
            )
            .await
            .unwrap();
        assert!(pending(minutes(60 * 24)).await.is_empty(), "given up");

        // Claimed by a scanner without a webhook: no notice is ever due.
        submit(&pipeline, fresh(42.387, -71.05)).await;
        let unsent = store
            .claim_breaches(minutes(60 * 24), None, 10)
            .await
            .unwrap();
        assert_eq!(unsent.len(), 2);
        assert!(pending(minutes(60 * 48)).await.is_empty());

        vec![format!("{second:?} {third:?}")]
    }
}
