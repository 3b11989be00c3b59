use super::*;
use crate::classify::Classification;
use crate::setup::{CitySetup, JurisdictionRef};

fn setup() -> CitySetup {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/sample/setup.toml"
    ))
    .unwrap();
    let refs: Vec<JurisdictionRef> = [("N1", 1), ("I1", 2), ("3", 3)]
        .iter()
        .map(|(external_id, id)| JurisdictionRef {
            id: *id,
            level: "district".into(),
            external_id: (*external_id).into(),
        })
        .collect();
    CitySetup::parse(&text, &refs).unwrap()
}

fn model(label: &str, category: Option<&str>, confidence: f32) -> Classification {
    Classification {
        label: label.into(),
        category: category.map(Into::into),
        confidence,
        embedding: vec![0.0; 4],
        model_sha256: "test-model".into(),
    }
}

#[test]
fn without_a_model_the_citizen_decides() {
    let decision = decide_category(&setup(), Some("graffiti"), None, 0.5).unwrap();
    assert_eq!(
        decision,
        CategoryDecision {
            category: "graffiti".into(),
            triage_reason: None
        }
    );
    let err = decide_category(&setup(), None, None, 0.5).unwrap_err();
    assert!(err.to_string().contains("pothole"), "{err}");
    let err = decide_category(&setup(), Some("volcano"), None, 0.5).unwrap_err();
    assert!(err.to_string().contains("volcano"), "{err}");
}

#[test]
fn a_confident_model_wins_and_a_disagreement_goes_to_triage() {
    let sure = model("pothole", Some("pothole"), 0.93);
    let agreed = decide_category(&setup(), Some("pothole"), Some(&sure), 0.5).unwrap();
    assert_eq!(agreed.triage_reason, None);

    let disagreed = decide_category(&setup(), Some("graffiti"), Some(&sure), 0.5).unwrap();
    assert_eq!(disagreed.category, "pothole");
    let reason = disagreed.triage_reason.unwrap();
    assert!(
        reason.contains("pothole") && reason.contains("graffiti") && reason.contains("93"),
        "{reason}"
    );

    let no_category = decide_category(&setup(), None, Some(&sure), 0.5).unwrap();
    assert_eq!(no_category.category, "pothole");
}

#[test]
fn an_unsure_or_problem_free_photo_keeps_the_citizens_category_in_triage() {
    let unsure = model("graffiti", Some("graffiti"), 0.31);
    let decision = decide_category(&setup(), Some("pothole"), Some(&unsure), 0.5).unwrap();
    assert_eq!(decision.category, "pothole");
    assert!(decision.triage_reason.unwrap().contains("unsure"));

    let clean = model("clean_street", None, 0.9);
    let decision = decide_category(&setup(), Some("garbage"), Some(&clean), 0.5).unwrap();
    assert_eq!(decision.category, "garbage");
    assert!(decision.triage_reason.unwrap().contains("no problem"));

    // A label whose category this city does not use: the citizen's stands.
    let foreign = model("bad_billboard", Some("billboard"), 0.95);
    let decision = decide_category(&setup(), None, Some(&foreign), 0.5).unwrap();
    assert_eq!(decision.category, "other");
    assert!(decision.triage_reason.is_some());
}

#[test]
fn the_fingerprint_tells_content_apart() {
    let a = Submission {
        lat: Some(1.0),
        lon: Some(2.0),
        category: Some("pothole".into()),
        ..Submission::default()
    };
    let mut b = a.clone();
    assert_eq!(fingerprint(&a), fingerprint(&b));
    b.description = Some("x".into());
    assert_ne!(fingerprint(&a), fingerprint(&b));
}
