//! Deadlines on real calendars: the US daylight-saving nights of 2025 in
//! America/New_York, and a Friday–Saturday weekend plus Eid al-Fitr in
//! Asia/Riyadh, in working time and in calendar time. "Now" comes from a
//! manual clock; nothing sleeps.

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::sla::{PolicySpec, Priority, SlaPolicies, Target, TargetDuration, deadline};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn working(hours: i64) -> Target {
    Target::Working(TargetDuration::hours(hours).unwrap())
}

fn calendar_hours(hours: i64) -> Target {
    Target::Calendar(TargetDuration::hours(hours).unwrap())
}

fn calendar_days(days: i64) -> Target {
    Target::Calendar(TargetDuration::days(days).unwrap())
}

fn spec(time_zone: &str, days: &[&str], hours: &[&str]) -> CalendarSpec {
    CalendarSpec {
        time_zone: time_zone.into(),
        working_days: days.iter().map(|day| day.to_string()).collect(),
        working_hours: hours.iter().map(|text| text.parse().unwrap()).collect(),
        hours_by_day: BTreeMap::new(),
        holidays_known_from: "2025-01-01".parse().unwrap(),
        holidays_known_until: "2025-12-31".parse().unwrap(),
        holidays: Vec::new(),
    }
}

fn new_york_office() -> WorkingCalendar {
    WorkingCalendar::from_spec(&spec(
        "America/New_York",
        &["mon", "tue", "wed", "thu", "fri"],
        &["08:00-12:00", "13:00-17:00"],
    ))
    .unwrap()
}

fn new_york_round_the_clock() -> WorkingCalendar {
    let every_day = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    WorkingCalendar::from_spec(&spec("America/New_York", &every_day, &["00:00-24:00"])).unwrap()
}

fn riyadh() -> WorkingCalendar {
    let mut riyadh = spec(
        "Asia/Riyadh",
        &["sun", "mon", "tue", "wed", "thu"],
        &["08:00-15:00"],
    );
    riyadh.holidays.push(Holiday {
        date: "2025-03-30".parse().unwrap(),
        through: Some("2025-04-02".parse().unwrap()),
        name: "Eid al-Fitr".into(),
    });
    WorkingCalendar::from_spec(&riyadh).unwrap()
}

#[test]
fn spring_forward_weekend_lands_on_the_daylight_time_instant() {
    // Friday 15:00 EST; two working hours remain on Friday, two more on Monday,
    // which is already on daylight time (UTC-4), so 10:00 local is 14:00Z.
    let clock = ManualClock::new(at("2025-03-07T20:00:00Z"));
    let due = deadline(clock.now(), &working(4), &new_york_office()).unwrap();
    assert_eq!(due, at("2025-03-10T14:00:00Z"));

    // The lunch hour does not count: 8 working hours from Monday 10:00 end
    // Tuesday 10:00.
    let due = deadline(due, &working(8), &new_york_office()).unwrap();
    assert_eq!(due, at("2025-03-11T14:00:00Z"));
}

#[test]
fn spring_forward_night_is_an_hour_short_round_the_clock() {
    // Saturday noon EST. The Sunday has 23 real hours.
    let start = at("2025-03-08T17:00:00Z");
    let calendar = new_york_round_the_clock();

    assert_eq!(
        deadline(start, &working(24), &calendar).unwrap(),
        at("2025-03-09T17:00:00Z")
    );
    assert_eq!(
        deadline(start, &calendar_hours(24), &calendar).unwrap(),
        at("2025-03-09T17:00:00Z")
    );
    // A civil day is Sunday noon EDT, only 23 hours later.
    assert_eq!(
        deadline(start, &calendar_days(1), &calendar).unwrap(),
        at("2025-03-09T16:00:00Z")
    );

    let sunday = (at("2025-03-09T05:00:00Z"), at("2025-03-10T04:00:00Z"));
    assert_eq!(
        calendar
            .working_seconds_between(sunday.0, sunday.1)
            .unwrap(),
        23 * 3600
    );
}

#[test]
fn fall_back_night_is_an_hour_long_round_the_clock() {
    // Saturday noon EDT. The Sunday has 25 real hours.
    let start = at("2025-11-01T16:00:00Z");
    let calendar = new_york_round_the_clock();

    assert_eq!(
        deadline(start, &working(24), &calendar).unwrap(),
        at("2025-11-02T16:00:00Z")
    );
    assert_eq!(
        deadline(start, &calendar_days(1), &calendar).unwrap(),
        at("2025-11-02T17:00:00Z")
    );

    let sunday = (at("2025-11-02T04:00:00Z"), at("2025-11-03T05:00:00Z"));
    assert_eq!(
        calendar
            .working_seconds_between(sunday.0, sunday.1)
            .unwrap(),
        25 * 3600
    );
}

#[test]
fn fall_back_weekend_office_hours_move_by_the_offset() {
    // Friday 16:00 EDT (20:00Z); one hour on Friday, three on Monday from 08:00 EST.
    let due = deadline(at("2025-10-31T20:00:00Z"), &working(4), &new_york_office()).unwrap();
    assert_eq!(due, at("2025-11-03T16:00:00Z"));
}

#[test]
fn riyadh_friday_saturday_weekend_is_skipped() {
    // Thursday 13:00 +03: two hours on Thursday, two on Sunday.
    let due = deadline(at("2025-06-05T10:00:00Z"), &working(4), &riyadh()).unwrap();
    assert_eq!(due, at("2025-06-08T07:00:00Z"));

    // Calendar time counts the weekend.
    let due = deadline(at("2025-06-05T10:00:00Z"), &calendar_hours(4), &riyadh()).unwrap();
    assert_eq!(due, at("2025-06-05T14:00:00Z"));
}

#[test]
fn riyadh_eid_holiday_is_skipped_in_working_time_only() {
    let calendar = riyadh();
    let thursday_1pm = at("2025-03-27T10:00:00Z");

    // Two hours on Thursday, then the weekend and four days of Eid, then
    // two hours on Thursday 3 April.
    assert_eq!(
        deadline(thursday_1pm, &working(4), &calendar).unwrap(),
        at("2025-04-03T07:00:00Z")
    );
    assert_eq!(
        deadline(thursday_1pm, &calendar_days(3), &calendar).unwrap(),
        at("2025-03-30T10:00:00Z")
    );

    let eid_monday = "2025-03-31".parse().unwrap();
    assert_eq!(calendar.holiday(eid_monday), Some("Eid al-Fitr"));
    assert!(!calendar.is_working_day(eid_monday));
}

#[test]
fn a_target_that_fills_the_day_ends_at_closing_time() {
    let due = deadline(at("2025-06-08T05:00:00Z"), &working(7), &riyadh()).unwrap();
    assert_eq!(due, at("2025-06-08T12:00:00Z"));
}

#[test]
fn a_start_outside_working_hours_counts_from_the_next_opening() {
    // Saturday evening in Riyadh: counting starts Sunday 08:00 +03.
    let due = deadline(at("2025-06-07T17:00:00Z"), &working(1), &riyadh()).unwrap();
    assert_eq!(due, at("2025-06-08T06:00:00Z"));
}

#[test]
fn a_deadline_past_the_known_holidays_is_an_error() {
    let calendar = riyadh();
    let error = deadline(at("2025-12-30T06:00:00Z"), &working(40), &calendar).unwrap_err();
    assert!(matches!(error, SlaError::BeyondCalendar { .. }), "{error}");
    assert!(
        error.to_string().contains("holidays_known_until"),
        "{error}"
    );

    let before = deadline(at("2024-12-30T06:00:00Z"), &working(1), &calendar);
    assert!(matches!(before, Err(SlaError::BeyondCalendar { .. })));

    // Calendar time needs no holidays and keeps working.
    assert!(deadline(at("2025-12-30T06:00:00Z"), &calendar_days(10), &calendar).is_ok());
}

#[test]
fn working_days_in_days_are_refused() {
    let target = Target::Working(TargetDuration::days(2).unwrap());
    let error = deadline(at("2025-06-08T06:00:00Z"), &target, &riyadh()).unwrap_err();
    assert!(matches!(error, SlaError::InvalidTarget { .. }));
}

/// Steps minute by minute through local time: slow, and independent of the
/// running totals the calendar uses.
fn minute_by_minute(spec: &CalendarSpec, start: Timestamp, working_min: i64) -> Timestamp {
    let tz = jiff::tz::TimeZone::get(&spec.time_zone).unwrap();
    let holidays: Vec<Date> = spec.holidays.iter().map(|holiday| holiday.date).collect();
    let working_days: Vec<_> = spec
        .working_days
        .iter()
        .map(|d| hours::parse_weekday(d).unwrap())
        .collect();
    let is_working = |t: Timestamp| {
        let local = t.to_zoned(tz.clone());
        let second = i32::from(local.hour()) * 3600 + i32::from(local.minute()) * 60;
        working_days.contains(&local.weekday())
            && !holidays.contains(&local.date())
            && spec
                .working_hours
                .iter()
                .any(|h| h.start_s <= second && second < h.end_s)
    };

    let (mut now, mut left) = (start, working_min);
    while left > 0 {
        if is_working(now) {
            left -= 1;
        }
        now += SignedDuration::from_mins(1);
    }
    now
}

#[test]
fn agrees_with_a_minute_by_minute_count_around_both_dst_nights() {
    let mut office = spec(
        "America/New_York",
        &["mon", "tue", "wed", "thu", "fri"],
        &["00:30-02:30", "09:00-12:00", "13:00-17:00"],
    );
    office.holidays.push(Holiday {
        date: "2025-11-11".parse().unwrap(),
        through: None,
        name: "Veterans Day".into(),
    });
    let calendar = WorkingCalendar::from_spec(&office).unwrap();

    let starts = [
        "2025-03-06T15:17:00Z",
        "2025-03-09T06:30:00Z",
        "2025-10-31T21:59:00Z",
        "2025-11-10T13:00:00Z",
    ];
    for start in starts {
        for working_min in [1, 59, 61, 8 * 60, 9 * 60 + 7, 45 * 60] {
            let expected = minute_by_minute(&office, at(start), working_min);
            let target = Target::Working(TargetDuration::new(0, working_min * 60).unwrap());
            let due = deadline(at(start), &target, &calendar).unwrap();
            assert_eq!(
                due, expected,
                "from {start} plus {working_min} working minutes"
            );
        }
    }
}

#[test]
fn calendar_spec_reads_from_toml_and_a_bare_date_is_named() {
    let text = r#"
        time_zone = "Asia/Riyadh"
        working_days = ["sun", "mon", "tue", "wed", "thu"]
        working_hours = ["08:00-15:00"]
        hours_by_day = { thu = ["08:00-12:00"] }
        holidays_known_from = "2025-01-01"
        holidays_known_until = "2025-12-31"
        holidays = [
            { date = "2025-09-23", name = "Saudi National Day" },
            { date = "2025-06-05", through = "2025-06-09", name = "Eid al-Adha" },
        ]
    "#;
    let spec: CalendarSpec = toml::from_str(text).unwrap();
    let calendar = WorkingCalendar::from_spec(&spec).unwrap();

    // Thursday has short hours: 11:00 +03 leaves one hour.
    let due = deadline(at("2025-06-26T08:00:00Z"), &working(2), &calendar).unwrap();
    assert_eq!(due, at("2025-06-29T06:00:00Z"));
    assert_eq!(
        calendar.holiday("2025-06-08".parse().unwrap()),
        Some("Eid al-Adha")
    );

    let bare = text.replace("\"2025-01-01\"", "2025-01-01");
    let error = toml::from_str::<CalendarSpec>(&bare).unwrap_err();
    assert!(error.to_string().contains("holidays_known_from"), "{error}");
}

#[test]
fn bad_calendars_are_refused_with_the_reason() {
    let good = spec("Asia/Riyadh", &["sun"], &["08:00-15:00"]);
    let refuse = |change: &dyn Fn(&mut CalendarSpec), expect: &str| {
        let mut bad = good.clone();
        change(&mut bad);
        let error = WorkingCalendar::from_spec(&bad).unwrap_err().to_string();
        assert!(error.contains(expect), "{error} lacks {expect}");
    };

    refuse(&|s| s.time_zone = "Mars/Olympus".into(), "Mars/Olympus");
    refuse(&|s| s.working_days.clear(), "working_days is empty");
    refuse(&|s| s.working_days.push("sunday".into()), "listed twice");
    refuse(&|s| s.working_days.push("someday".into()), "someday");
    refuse(
        &|s| {
            s.working_hours = vec![
                "08:00-12:00".parse().unwrap(),
                "11:00-15:00".parse().unwrap(),
            ]
        },
        "overlap",
    );
    refuse(
        &|s| {
            s.hours_by_day.insert("fri".into(), vec![]);
        },
        "not among working_days",
    );
    refuse(
        &|s| s.holidays_known_until = "2024-01-01".parse().unwrap(),
        "before",
    );
    refuse(
        &|s| {
            s.holidays.push(Holiday {
                date: "2026-01-01".parse().unwrap(),
                through: None,
                name: "New Year".into(),
            })
        },
        "New Year",
    );
}

#[test]
fn empty_and_inverted_targets_are_refused() {
    assert!(matches!(
        "0h".parse::<TargetDuration>(),
        Err(SlaError::InvalidTarget { .. })
    ));
    let hours = |h| TargetDuration::hours(h).unwrap();
    let spec = |response, resolution| PolicySpec {
        category: "pothole".into(),
        priority: Priority::Normal,
        response: Target::Working(hours(response)),
        resolution: Target::Working(hours(resolution)),
    };
    let err = SlaPolicies::from_specs(&[spec(8, 1)]).unwrap_err();
    assert!(
        err.to_string().contains("shorter than its response"),
        "{err}"
    );
    assert!(SlaPolicies::from_specs(&[spec(8, 8)]).is_ok());
    // Counted differently, the two cannot be ordered: both are kept.
    let mixed = PolicySpec {
        resolution: Target::Calendar(hours(1)),
        ..spec(8, 8)
    };
    assert!(SlaPolicies::from_specs(&[mixed]).is_ok());
}
