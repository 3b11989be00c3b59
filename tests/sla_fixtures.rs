//! Deadlines from the real set-up files in `fixtures/`, as the pipeline asks
//! for them (on the jurisdiction's calendar): Boston across both
//! daylight-saving nights, Riyadh across its Friday–Saturday weekend and the
//! Founding Day holiday.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cityfix::setup::{CitySetup, JurisdictionRef};
use cityfix::sla::{Deadlines, Priority};
use jiff::Timestamp;

fn setup(file: &str, level: &str, ids: &[&str]) -> CitySetup {
    let path = format!("{}/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let refs: Vec<JurisdictionRef> = ids
        .iter()
        .enumerate()
        .map(|(index, id)| JurisdictionRef {
            id: index as i64 + 1,
            level: level.into(),
            external_id: (*id).into(),
        })
        .collect();
    CitySetup::parse(&text, &refs).unwrap()
}

fn boston() -> CitySetup {
    let districts = [
        "A1", "A7", "A15", "B2", "B3", "C6", "C11", "D4", "D14", "E5", "E13", "E18",
    ];
    setup("boston/setup.toml", "police_district", &districts)
}

fn pothole_deadlines(setup: &CitySetup, start: &str) -> Deadlines {
    let start: Timestamp = start.parse().unwrap();
    setup
        .sla
        .deadlines_in(&[1], "pothole", Priority::Normal, start)
        .unwrap()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn boston_deadlines_across_spring_forward_land_on_daylight_time() {
    // Friday 2025-03-07 14:00 EST; 4 working hours to respond, 16 to resolve,
    // 07:00–15:30 on weekdays. Clocks go forward on Sunday the 9th.
    let deadlines = pothole_deadlines(&boston(), "2025-03-07T19:00:00Z");
    // 1.5 h on Friday, 2.5 h from Monday 07:00 EDT: 09:30 EDT.
    assert_eq!(deadlines.response_due_at, at("2025-03-10T13:30:00Z"));
    // 1.5 + 8.5 h, then 6 h on Tuesday: 13:00 EDT.
    assert_eq!(deadlines.resolution_due_at, at("2025-03-11T17:00:00Z"));
}

#[test]
fn boston_deadlines_across_fall_back_land_on_standard_time() {
    // Friday 2025-10-31 14:00 EDT; clocks go back on Sunday 2 November.
    let deadlines = pothole_deadlines(&boston(), "2025-10-31T18:00:00Z");
    // 2.5 h from Monday 07:00 EST: 09:30 EST.
    assert_eq!(deadlines.response_due_at, at("2025-11-03T14:30:00Z"));
}

#[test]
fn riyadh_deadlines_skip_the_weekend_and_founding_day() {
    let riyadh = setup("riyadh/setup.toml", "district", &["01"]);
    // Thursday 2026-02-19 13:00 in Riyadh; 7 working hours to respond, 35 to
    // resolve, 07:30–14:30 Sunday to Thursday. Friday and Saturday are the
    // weekend and Sunday the 22nd is Founding Day.
    let deadlines = pothole_deadlines(&riyadh, "2026-02-19T10:00:00Z");
    // 1.5 h on Thursday, 5.5 h from Monday 07:30: 13:00 on the 23rd.
    assert_eq!(deadlines.response_due_at, at("2026-02-23T10:00:00Z"));
    // 1.5 h, four full days of 7 h (Mon–Thu), 5.5 h on Sunday 1 March.
    assert_eq!(deadlines.resolution_due_at, at("2026-03-01T10:00:00Z"));
}
