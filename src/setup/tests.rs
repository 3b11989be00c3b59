use super::*;

const MINIMAL: &str = r#"
city = "Testville"

[[categories]]
slug = "pothole"
name = "Pothole"
dedup_radius_m = 30
dedup_window_days = 14
default_priority = "normal"
escalate_after_reports = 5

[[contractors]]
slug = "acme"
name = "Acme Paving"

[[contracts]]
slug = "acme-roads"
contractor = "acme"
level = "district"
jurisdictions = ["*"]
categories = ["pothole"]
valid_from = "2020-01-01"
capacity = 10

[sla.calendar]
time_zone = "America/New_York"
working_days = ["mon", "tue", "wed", "thu", "fri"]
working_hours = ["08:00-16:00"]
holidays_known_from = "2020-01-01"
holidays_known_until = "2030-12-31"

[[sla.policies]]
category = "*"
priority = "normal"
response = { working = "8h" }
resolution = { working = "40h" }
"#;

fn districts() -> Vec<JurisdictionRef> {
    ["A", "B"]
        .iter()
        .enumerate()
        .map(|(index, id)| JurisdictionRef {
            id: index as i64 + 1,
            level: "district".into(),
            external_id: (*id).into(),
        })
        .collect()
}

#[test]
fn a_wildcard_contract_covers_every_jurisdiction_of_its_level() {
    let setup = CitySetup::parse(MINIMAL, &districts()).unwrap();
    let ids: Vec<i64> = setup.contracts.iter().map(|c| c.jurisdiction_id).collect();
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(
        setup.category("pothole").unwrap().dedup_window_s,
        14 * 86_400
    );
    assert!(
        setup.category(OTHER_CATEGORY).is_some(),
        "other is always there"
    );
}

#[test]
fn the_same_text_hashes_the_same() {
    let a = CitySetup::parse(MINIMAL, &districts()).unwrap();
    let b = CitySetup::parse(MINIMAL, &districts()).unwrap();
    assert_eq!(a.content_hash, b.content_hash);
}

#[test]
fn a_contract_naming_a_missing_jurisdiction_is_refused_by_name() {
    let text = MINIMAL.replace(r#"jurisdictions = ["*"]"#, r#"jurisdictions = ["Z9"]"#);
    let err = CitySetup::parse(&text, &districts())
        .unwrap_err()
        .to_string();
    assert!(err.contains("acme-roads") && err.contains("Z9"), "{err}");
}

#[test]
fn contracts_need_imported_boundaries_first() {
    let err = CitySetup::parse(MINIMAL, &[]).unwrap_err().to_string();
    assert!(err.contains("boundaries import"), "{err}");
}

#[test]
fn unknown_categories_and_bad_radii_are_named() {
    let text = MINIMAL.replace(
        r#"categories = ["pothole"]"#,
        r#"categories = ["potholes"]"#,
    );
    let err = CitySetup::parse(&text, &districts())
        .unwrap_err()
        .to_string();
    assert!(err.contains("potholes"), "{err}");

    let text = MINIMAL.replace("dedup_radius_m = 30", "dedup_radius_m = -1");
    let err = CitySetup::parse(&text, &districts())
        .unwrap_err()
        .to_string();
    assert!(err.contains("dedup_radius_m"), "{err}");
}
