//! SLA targets and the deadlines they give.
//!
//! A target is counted either in working time (only inside the working hours
//! of working, non-holiday days of the jurisdiction's calendar) or in calendar
//! time (every second counts; whole days are civil days in the jurisdiction's
//! time zone, so "2d" from 09:00 is 09:00 two days later even across a
//! daylight-saving change, while "48h" is exactly 48 elapsed hours).

use std::fmt;

use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};

use super::calendar::WorkingCalendar;
use super::{Result, SlaError};

/// How long a step may take, written `{ working = "8h" }` or `{ calendar = "2d" }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Counted only inside working hours; hours and minutes only.
    Working(TargetDuration),
    /// Counted around the clock; days are civil days in the local time zone.
    Calendar(TargetDuration),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Working(d) => write!(f, "{d} working"),
            Target::Calendar(d) => write!(f, "{d} calendar"),
        }
    }
}

impl Target {
    /// Whether this target ends before `other` always, whatever the start: both
    /// counted the same way and this one shorter.
    pub fn shorter_than(self, other: Target) -> bool {
        match (self, other) {
            (Target::Working(a), Target::Working(b))
            | (Target::Calendar(a), Target::Calendar(b)) => {
                a.nominal_seconds() < b.nominal_seconds()
            }
            _ => false,
        }
    }
}

/// A length of time as written in the set-up file: `"4h"`, `"90m"`, `"2d 4h"`.
///
/// Days are kept apart from hours because a civil day is not always 24 hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TargetDuration {
    days: i64,
    seconds: i64,
}

impl TargetDuration {
    /// A duration of whole civil days plus elapsed seconds.
    pub fn new(days: i64, seconds: i64) -> Result<Self> {
        let empty = days == 0 && seconds == 0;
        if empty || days < 0 || seconds < 0 || days > 3660 || seconds > 3660 * 86_400 {
            return Err(SlaError::InvalidTarget {
                text: format!("{days}d {seconds}s"),
                reason: "must be positive and under ten years".into(),
            });
        }
        Ok(Self { days, seconds })
    }

    /// Whole hours.
    pub fn hours(hours: i64) -> Result<Self> {
        Self::new(0, hours.saturating_mul(3600))
    }

    /// Whole civil days.
    pub fn days(days: i64) -> Result<Self> {
        Self::new(days, 0)
    }

    /// Civil days part.
    pub fn day_count(self) -> i64 {
        self.days
    }

    /// Elapsed seconds part (beside the days).
    pub fn seconds(self) -> i64 {
        self.seconds
    }

    /// Approximate length for ordering two targets (a civil day as 24 hours).
    fn nominal_seconds(self) -> i64 {
        self.days * 86_400 + self.seconds
    }
}

impl std::str::FromStr for TargetDuration {
    type Err = SlaError;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = |reason: String| SlaError::InvalidTarget {
            text: text.to_string(),
            reason,
        };
        let span: Span = text
            .parse()
            .map_err(|error: jiff::Error| invalid(error.to_string()))?;
        if span.get_years() != 0 || span.get_months() != 0 {
            return Err(invalid("years and months are not allowed; use days".into()));
        }

        let days = i64::from(span.get_weeks()) * 7 + i64::from(span.get_days());
        let time = SignedDuration::from_hours(span.get_hours().into())
            + SignedDuration::from_mins(span.get_minutes())
            + SignedDuration::from_secs(span.get_seconds());
        Self::new(days, time.as_secs()).map_err(|error| invalid(error.to_string()))
    }
}

impl TryFrom<String> for TargetDuration {
    type Error = SlaError;

    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<TargetDuration> for String {
    fn from(duration: TargetDuration) -> Self {
        duration.to_string()
    }
}

impl fmt::Display for TargetDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (hours, minutes, seconds) = (
            self.seconds / 3600,
            (self.seconds % 3600) / 60,
            self.seconds % 60,
        );
        let parts: Vec<String> = [
            (self.days, "d"),
            (hours, "h"),
            (minutes, "m"),
            (seconds, "s"),
        ]
        .into_iter()
        .filter(|(value, _)| *value != 0)
        .map(|(value, unit)| format!("{value}{unit}"))
        .collect();
        if parts.is_empty() {
            return f.write_str("0s");
        }
        f.write_str(&parts.join(" "))
    }
}

/// The instant at which `target` falls due for a step that started at `start`.
///
/// Working targets are counted on `calendar` (they may not use days, because
/// a working day's length is the calendar's business: write `16h` for two
/// eight-hour days); calendar targets only use its time zone.
pub fn deadline(
    start: Timestamp,
    target: &Target,
    calendar: &WorkingCalendar,
) -> Result<Timestamp> {
    match *target {
        Target::Working(duration) => {
            if duration.days != 0 {
                return Err(SlaError::InvalidTarget {
                    text: duration.to_string(),
                    reason: "working time is counted in hours and minutes, not days".into(),
                });
            }
            calendar.add_working_seconds(start, duration.seconds)
        }
        Target::Calendar(duration) => {
            let local = start.to_zoned(calendar.time_zone().clone());
            let after_days = local.checked_add(Span::new().try_days(duration.days)?)?;
            Ok(after_days
                .timestamp()
                .checked_add(SignedDuration::from_secs(duration.seconds))?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_friendly_and_iso_forms() {
        let parsed: TargetDuration = "2d 4h".parse().unwrap();
        assert_eq!((parsed.day_count(), parsed.seconds()), (2, 4 * 3600));
        assert_eq!(parsed.to_string(), "2d 4h");

        let iso: TargetDuration = "PT90M".parse().unwrap();
        assert_eq!(iso.seconds(), 90 * 60);
        assert_eq!(iso.to_string(), "1h 30m");

        let weeks: TargetDuration = "1w".parse().unwrap();
        assert_eq!(weeks.day_count(), 7);
    }

    #[test]
    fn bad_durations_say_why() {
        assert!("3 months".parse::<TargetDuration>().is_err());
        assert!("-4h".parse::<TargetDuration>().is_err());
        let error = "soon".parse::<TargetDuration>().unwrap_err();
        assert!(error.to_string().contains("soon"), "{error}");
    }

    #[test]
    fn targets_read_from_toml() {
        #[derive(Deserialize)]
        struct Row {
            response: Target,
            resolution: Target,
        }
        let row: Row =
            toml::from_str("response = { working = \"4h\" }\nresolution = { calendar = \"3d\" }")
                .unwrap();
        assert_eq!(
            row.response,
            Target::Working(TargetDuration::hours(4).unwrap())
        );
        assert_eq!(
            row.resolution,
            Target::Calendar(TargetDuration::days(3).unwrap())
        );
    }
}
