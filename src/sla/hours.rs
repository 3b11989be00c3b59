//! The pieces a working calendar is written with: weekdays and intervals of
//! working hours in local (civil) time, as they appear in the set-up file.

use std::fmt;

use jiff::civil::Weekday;
use serde::{Deserialize, Serialize};

use super::{Result, SlaError};

/// Seconds in a civil day without a daylight-saving change.
pub(crate) const SECONDS_PER_CIVIL_DAY: i32 = 86_400;

/// One interval of working hours in local time, written `"08:00-16:00"`.
///
/// The end may be `24:00` (midnight at the end of the day), so that a crew
/// working round the clock writes `"00:00-24:00"`. Minutes are the finest unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkingHours {
    /// Seconds after local midnight when work starts.
    pub(crate) start_s: i32,
    /// Seconds after local midnight when work stops (exclusive), at most 86 400.
    pub(crate) end_s: i32,
}

impl WorkingHours {
    /// Working hours from `start` to `end`, both `(hour, minute)` in local time.
    pub fn new(start: (i32, i32), end: (i32, i32)) -> Result<Self> {
        let text = format!("{:02}:{:02}-{:02}:{:02}", start.0, start.1, end.0, end.1);
        text.parse()
    }

    /// Length of the interval in civil seconds (a DST change inside it is
    /// accounted for by the calendar, not here).
    pub fn civil_seconds(self) -> i32 {
        self.end_s - self.start_s
    }
}

impl std::str::FromStr for WorkingHours {
    type Err = SlaError;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = |reason: &str| SlaError::InvalidHours {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| invalid("expected HH:MM-HH:MM"))?;
        let start_s = parse_clock(start.trim()).ok_or_else(|| invalid("bad start time"))?;
        let end_s = parse_clock(end.trim()).ok_or_else(|| invalid("bad end time"))?;

        if start_s >= SECONDS_PER_CIVIL_DAY {
            return Err(invalid("work cannot start at 24:00"));
        }
        if end_s <= start_s {
            return Err(invalid("the end must come after the start on the same day"));
        }
        Ok(Self { start_s, end_s })
    }
}

impl TryFrom<String> for WorkingHours {
    type Error = SlaError;

    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<WorkingHours> for String {
    fn from(hours: WorkingHours) -> Self {
        hours.to_string()
    }
}

impl fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clock = |s: i32| format!("{:02}:{:02}", s / 3600, (s % 3600) / 60);
        write!(f, "{}-{}", clock(self.start_s), clock(self.end_s))
    }
}

/// `HH:MM` to seconds after midnight; `24:00` is allowed as an end of day.
fn parse_clock(text: &str) -> Option<i32> {
    let (hour, minute) = text.split_once(':')?;
    if hour.is_empty() || hour.len() > 2 || minute.len() != 2 {
        return None;
    }
    let hour: i32 = hour.parse().ok()?;
    let minute: i32 = minute.parse().ok()?;
    let valid = (0..24).contains(&hour) && (0..60).contains(&minute) || (hour, minute) == (24, 0);
    valid.then_some(hour * 3600 + minute * 60)
}

/// Checks that a day's intervals are in order and do not overlap.
pub(crate) fn check_day(day: &str, hours: &[WorkingHours]) -> Result<()> {
    for pair in hours.windows(2) {
        if pair[1].start_s < pair[0].end_s {
            return Err(SlaError::InvalidCalendar(format!(
                "working hours of {day} must be in order and must not overlap: {} then {}",
                pair[0], pair[1]
            )));
        }
    }
    Ok(())
}

/// A weekday as written in the set-up file: `"sun"`, `"mon"`, … or the full
/// English name, in any case.
pub(crate) fn parse_weekday(text: &str) -> Result<Weekday> {
    let lower = text.trim().to_ascii_lowercase();
    let weekday = match lower.get(..3).unwrap_or("") {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return Err(SlaError::InvalidWeekday(text.to_string())),
    };

    let full = weekday_name(weekday);
    if lower.len() != 3 && lower != full {
        return Err(SlaError::InvalidWeekday(text.to_string()));
    }
    Ok(weekday)
}

/// The full lowercase English name of a weekday.
pub(crate) fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "monday",
        Weekday::Tuesday => "tuesday",
        Weekday::Wednesday => "wednesday",
        Weekday::Thursday => "thursday",
        Weekday::Friday => "friday",
        Weekday::Saturday => "saturday",
        Weekday::Sunday => "sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_parse_and_print_back() {
        let hours: WorkingHours = "08:00-16:30".parse().unwrap();
        assert_eq!((hours.start_s, hours.end_s), (8 * 3600, 16 * 3600 + 1800));
        assert_eq!(hours.civil_seconds(), 8 * 3600 + 1800);
        assert_eq!(hours.to_string(), "08:00-16:30");

        let all_day: WorkingHours = "00:00-24:00".parse().unwrap();
        assert_eq!(all_day.civil_seconds(), 86_400);
    }

    #[test]
    fn bad_hours_are_refused_with_the_reason() {
        for bad in [
            "8-16",
            "16:00-08:00",
            "08:00-08:00",
            "24:00-24:00",
            "08:60-09:00",
        ] {
            let error = bad.parse::<WorkingHours>().unwrap_err();
            assert!(error.to_string().contains(bad), "{error}");
        }
        assert!("25:00-26:00".parse::<WorkingHours>().is_err());
    }

    #[test]
    fn weekdays_short_and_long() {
        assert_eq!(parse_weekday("sun").unwrap(), Weekday::Sunday);
        assert_eq!(parse_weekday("Thursday").unwrap(), Weekday::Thursday);
        assert!(parse_weekday("thurs").is_err());
        assert!(parse_weekday("xyz").is_err());
    }
}
