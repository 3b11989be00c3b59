//! A jurisdiction's working calendar: its IANA time zone, working days and
//! hours, and dated public holidays.
//!
//! The calendar covers a stated span of dates (`holidays_known_from` to
//! `holidays_known_until`): the span within which its holiday list is
//! complete. Working time is only defined inside that span, so a working-time
//! deadline that would fall past it is an error ([`SlaError::BeyondCalendar`])
//! rather than a guess; the caller logs it and a supervisor extends the
//! calendar. A calendar never silently ends.
//!
//! Working time is counted in real seconds: the working hours of each covered
//! day are turned into instants with the time zone's rules (a working interval
//! that spans a daylight-saving change is an hour shorter or longer), and a
//! running total per day is kept so that any deadline is a binary search
//! instead of a walk over days.

use std::collections::BTreeMap;

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::hours::{self, SECONDS_PER_CIVIL_DAY, WorkingHours};
use super::{Result, SlaError};

/// The longest span of dates one calendar may cover; bounds its memory
/// (eight bytes per day).
const MAX_COVERED_DAYS: i64 = 200 * 366;

/// A working calendar as written in the city's set-up file.
///
/// ```toml
/// time_zone = "Asia/Riyadh"
/// working_days = ["sun", "mon", "tue", "wed", "thu"]
/// working_hours = ["08:00-15:00"]
/// holidays_known_from = "2024-01-01"
/// holidays_known_until = "2026-12-31"
/// holidays = [{ date = "2025-03-30", through = "2025-04-02", name = "Eid al-Fitr" }]
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA time zone name, such as `America/New_York`.
    pub time_zone: String,
    /// The days of the week that are worked (`"mon"` or `"monday"`).
    pub working_days: Vec<String>,
    /// The working hours of every working day, in local time.
    pub working_hours: Vec<WorkingHours>,
    /// Working hours that differ on some weekdays (a short Thursday, say).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hours_by_day: BTreeMap<String, Vec<WorkingHours>>,
    /// First date for which the holiday list is complete.
    pub holidays_known_from: Date,
    /// Last date for which the holiday list is complete.
    pub holidays_known_until: Date,
    /// Public holidays: no working time on these dates. Dates are quoted
    /// strings (`"2025-07-04"`), not bare TOML dates.
    #[serde(default)]
    pub holidays: Vec<Holiday>,
}

/// A public holiday: one date, or several consecutive dates through `through`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    pub date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through: Option<Date>,
    pub name: String,
}

/// A validated calendar, ready to compute working time.
#[derive(Clone, Debug)]
pub struct WorkingCalendar {
    time_zone: TimeZone,
    /// Working hours per weekday, Monday first; empty on days off.
    week: [Vec<WorkingHours>; 7],
    holidays: BTreeMap<Date, String>,
    first_day: Date,
    last_day: Date,
    /// `working_before_s[i]`: real working seconds on the covered days before
    /// day `i` (so it has one entry more than there are days).
    working_before_s: Vec<i64>,
}

impl WorkingCalendar {
    /// Validates a spec and precomputes the working seconds of every covered day.
    pub fn from_spec(spec: &CalendarSpec) -> Result<Self> {
        let time_zone =
            TimeZone::get(&spec.time_zone).map_err(|source| SlaError::UnknownTimeZone {
                name: spec.time_zone.clone(),
                reason: source.to_string(),
            })?;
        let week = week_from_spec(spec)?;
        let (first_day, last_day) = covered_span(spec)?;
        let holidays = holidays_from_spec(spec, first_day, last_day)?;

        let mut calendar = Self {
            time_zone,
            week,
            holidays,
            first_day,
            last_day,
            working_before_s: Vec::new(),
        };
        calendar.working_before_s = calendar.running_totals()?;
        Ok(calendar)
    }

    /// The calendar's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// The first and last dates the calendar covers.
    pub fn covered(&self) -> (Date, Date) {
        (self.first_day, self.last_day)
    }

    /// The name of the holiday on `date`, if it is one.
    pub fn holiday(&self, date: Date) -> Option<&str> {
        self.holidays.get(&date).map(String::as_str)
    }

    /// Whether `date` has working hours (a working weekday, not a holiday).
    pub fn is_working_day(&self, date: Date) -> bool {
        !self.hours_of(date).is_empty()
    }

    /// Real working seconds between two instants (zero when `to` is not later).
    pub fn working_seconds_between(&self, from: Timestamp, to: Timestamp) -> Result<i64> {
        if to <= from {
            return Ok(0);
        }
        Ok(self.working_total_at(to)? - self.working_total_at(from)?)
    }

    /// The instant at which `working_s` seconds of working time have passed
    /// since `start`. Zero is `start` itself.
    pub fn add_working_seconds(&self, start: Timestamp, working_s: i64) -> Result<Timestamp> {
        if working_s <= 0 {
            return Ok(start);
        }
        let goal_s = self.working_total_at(start)? + working_s;

        // The first day whose running total reaches the goal holds the deadline.
        let after = self
            .working_before_s
            .partition_point(|&total| total < goal_s);
        if after >= self.working_before_s.len() {
            return Err(self.beyond(start, self.last_day.tomorrow().unwrap_or(self.last_day)));
        }
        let day_index = after.saturating_sub(1);
        let mut left_s = goal_s - self.working_before_s[day_index];

        let date = self.date_at(day_index)?;
        for (opens, closes) in self.real_intervals(date)? {
            let length_s = closes.duration_since(opens).as_secs();
            if left_s <= length_s {
                return Ok(opens.checked_add(SignedDuration::from_secs(left_s))?);
            }
            left_s -= length_s;
        }
        Err(SlaError::InvalidCalendar(format!(
            "working time on {date} does not add up; this is a bug in the calendar"
        )))
    }

    /// Working seconds from the start of the covered span up to `at`.
    fn working_total_at(&self, at: Timestamp) -> Result<i64> {
        let date = at.to_zoned(self.time_zone.clone()).date();
        let day_index = self.day_index(date).ok_or_else(|| self.beyond(at, date))?;

        let mut worked_s = self.working_before_s[day_index];
        for (opens, closes) in self.real_intervals(date)? {
            if at <= opens {
                break;
            }
            worked_s += at.min(closes).duration_since(opens).as_secs();
        }
        Ok(worked_s)
    }

    /// The working hours of `date` as real instants, in order.
    fn real_intervals(&self, date: Date) -> Result<Vec<(Timestamp, Timestamp)>> {
        self.hours_of(date)
            .iter()
            .map(|hours| {
                let opens = self.local_instant(date, hours.start_s)?;
                let closes = self.local_instant(date, hours.end_s)?;
                Ok((opens, closes.max(opens)))
            })
            .collect()
    }

    /// Local time-of-day on `date` to an instant. A time skipped by a
    /// daylight-saving change maps to the instant just after the gap; a
    /// repeated time maps to its first occurrence.
    fn local_instant(&self, date: Date, seconds_of_day: i32) -> Result<Timestamp> {
        let midnight = DateTime::from(date);
        let local = midnight.checked_add(SignedDuration::from_secs(i64::from(seconds_of_day)))?;
        Ok(self.time_zone.to_ambiguous_timestamp(local).compatible()?)
    }

    fn hours_of(&self, date: Date) -> &[WorkingHours] {
        if self.holidays.contains_key(&date) {
            return &[];
        }
        &self.week[usize::from(date.weekday().to_monday_zero_offset().unsigned_abs())]
    }

    fn day_index(&self, date: Date) -> Option<usize> {
        if date < self.first_day || date > self.last_day {
            return None;
        }
        let days = date.duration_since(self.first_day).as_secs() / i64::from(SECONDS_PER_CIVIL_DAY);
        usize::try_from(days).ok()
    }

    fn date_at(&self, day_index: usize) -> Result<Date> {
        let days = i64::try_from(day_index).unwrap_or(i64::MAX);
        Ok(self
            .first_day
            .checked_add(jiff::Span::new().try_days(days)?)?)
    }

    fn running_totals(&self) -> Result<Vec<i64>> {
        let mut totals = vec![0_i64];
        let mut total_s = 0_i64;
        let mut date = self.first_day;
        while date <= self.last_day {
            for (opens, closes) in self.real_intervals(date)? {
                total_s += closes.duration_since(opens).as_secs();
            }
            totals.push(total_s);
            date = date.tomorrow()?;
        }
        Ok(totals)
    }

    fn beyond(&self, start: Timestamp, needed: Date) -> SlaError {
        SlaError::BeyondCalendar {
            start,
            needed,
            from: self.first_day,
            until: self.last_day,
        }
    }
}

fn week_from_spec(spec: &CalendarSpec) -> Result<[Vec<WorkingHours>; 7]> {
    let mut week: [Vec<WorkingHours>; 7] = Default::default();
    if spec.working_days.is_empty() {
        return Err(SlaError::InvalidCalendar("working_days is empty".into()));
    }
    hours::check_day("every working day", &spec.working_hours)?;

    for name in &spec.working_days {
        let slot = &mut week[weekday_slot(hours::parse_weekday(name)?)];
        if !slot.is_empty() {
            return Err(SlaError::InvalidCalendar(format!(
                "working day {name:?} is listed twice"
            )));
        }
        slot.clone_from(&spec.working_hours);
    }

    for (name, day_hours) in &spec.hours_by_day {
        let weekday = hours::parse_weekday(name)?;
        let slot = &mut week[weekday_slot(weekday)];
        if slot.is_empty() {
            return Err(SlaError::InvalidCalendar(format!(
                "hours_by_day names {name:?}, which is not among working_days"
            )));
        }
        hours::check_day(hours::weekday_name(weekday), day_hours)?;
        slot.clone_from(day_hours);
    }

    if week.iter().all(Vec::is_empty) {
        return Err(SlaError::InvalidCalendar(
            "no working hours in the week".into(),
        ));
    }
    Ok(week)
}

fn weekday_slot(weekday: Weekday) -> usize {
    usize::from(weekday.to_monday_zero_offset().unsigned_abs())
}

fn covered_span(spec: &CalendarSpec) -> Result<(Date, Date)> {
    let (first, last) = (spec.holidays_known_from, spec.holidays_known_until);
    if last < first {
        return Err(SlaError::InvalidCalendar(format!(
            "holidays_known_until {last} is before holidays_known_from {first}"
        )));
    }
    let days = last.duration_since(first).as_secs() / i64::from(SECONDS_PER_CIVIL_DAY);
    if days > MAX_COVERED_DAYS {
        return Err(SlaError::InvalidCalendar(format!(
            "the calendar covers {days} days; at most {MAX_COVERED_DAYS} are allowed"
        )));
    }
    Ok((first, last))
}

fn holidays_from_spec(
    spec: &CalendarSpec,
    first: Date,
    last: Date,
) -> Result<BTreeMap<Date, String>> {
    let mut holidays = BTreeMap::new();
    for holiday in &spec.holidays {
        let through = holiday.through.unwrap_or(holiday.date);
        if holiday.date < first || through > last || through < holiday.date {
            return Err(SlaError::InvalidCalendar(format!(
                "holiday {:?} ({} through {through}) lies outside {first}..{last} or ends before it starts",
                holiday.name, holiday.date
            )));
        }

        // Two holidays may share a date (a national day on an Eid); the day is
        // off either way, and the first name given is kept.
        let mut date = holiday.date;
        while date <= through {
            holidays.entry(date).or_insert_with(|| holiday.name.clone());
            date = date.tomorrow()?;
        }
    }
    Ok(holidays)
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
