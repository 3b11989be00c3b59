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

const RIYADH_CALENDAR_FOR_B: &str = r#"
[[calendars]]
name = "riyadh-office"
level = "district"
jurisdictions = ["B"]
time_zone = "Asia/Riyadh"
working_days = ["sun", "mon", "tue", "wed", "thu"]
working_hours = ["08:00-16:00"]
holidays_known_from = "2020-01-01"
holidays_known_until = "2030-12-31"
holidays = [{ date = "2025-09-23", name = "National Day" }]
"#;

#[test]
fn a_jurisdiction_with_its_own_calendar_gets_its_deadlines_there() {
    let text = format!("{MINIMAL}{RIYADH_CALENDAR_FOR_B}");
    let setup = CitySetup::parse(&text, &districts()).unwrap();
    // Thursday 2025-09-18 15:00 UTC: 11:00 in New York, 18:00 in Riyadh.
    let start: Timestamp = "2025-09-18T15:00:00Z".parse().unwrap();

    let a = setup
        .sla
        .deadlines_in(&[1], "pothole", Priority::Normal, start);
    // 8 working hours in New York: 5 on Thursday, 3 on Friday from 08:00 EDT.
    assert_eq!(
        a.unwrap().response_due_at,
        "2025-09-19T15:00:00Z".parse().unwrap()
    );

    let b = setup
        .sla
        .deadlines_in(&[2], "pothole", Priority::Normal, start);
    // Riyadh is closed from Thursday 16:00 to Sunday 08:00: a full Sunday.
    assert_eq!(
        b.unwrap().response_due_at,
        "2025-09-21T13:00:00Z".parse().unwrap()
    );
    assert_eq!(setup.sla.calendar_for(&[2]).0, "riyadh-office");
    assert_eq!(
        setup.sla.calendar_for(&[1, 2]).0,
        "riyadh-office",
        "containing one counts"
    );
    assert_eq!(setup.sla.calendar_for(&[1]).0, crate::sla::DEFAULT_CALENDAR);
}

#[test]
fn a_jurisdiction_on_two_calendars_or_a_typo_is_refused() {
    let twice = RIYADH_CALENDAR_FOR_B.replace("riyadh-office", "second");
    let text = format!("{MINIMAL}{RIYADH_CALENDAR_FOR_B}{twice}");
    let err = CitySetup::parse(&text, &districts())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("second") && err.contains("district/B"),
        "{err}"
    );

    let typo = RIYADH_CALENDAR_FOR_B.replace("working_hours", "work_hours");
    let text = format!("{MINIMAL}{typo}");
    assert!(CitySetup::parse(&text, &districts()).is_err());

    let unknown = RIYADH_CALENDAR_FOR_B.replace(r#"["B"]"#, r#"["Q"]"#);
    let err = CitySetup::parse(&format!("{MINIMAL}{unknown}"), &districts())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("riyadh-office") && err.contains("\"Q\""),
        "{err}"
    );
}
