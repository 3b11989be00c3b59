//! The city's SLA set-up (the default working calendar and the policy rows)
//! as it appears in the set-up file, and the engine built from it once at
//! start, with the calendars of jurisdictions that have their own.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Result;
use super::calendar::{CalendarSpec, WorkingCalendar};
use super::policy::{Deadlines, PolicySpec, Priority, SlaPolicies};

/// The `[sla]` table of the set-up file.
///
/// ```toml
/// [sla.calendar]
/// time_zone = "America/New_York"
/// # …
/// [[sla.policies]]
/// category = "*"
/// priority = "normal"
/// response = { working = "8h" }
/// resolution = { working = "40h" }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSpec {
    /// The working calendar of every jurisdiction without one of its own.
    pub calendar: CalendarSpec,
    pub policies: Vec<PolicySpec>,
}

/// A jurisdiction-specific calendar, resolved to the jurisdictions it serves.
#[derive(Clone, Debug)]
pub struct JurisdictionCalendar {
    pub name: String,
    pub calendar: WorkingCalendar,
    pub jurisdiction_ids: Vec<i64>,
}

/// A validated calendar set and policy table, ready to give deadlines.
#[derive(Clone, Debug)]
pub struct SlaEngine {
    calendar: WorkingCalendar,
    policies: SlaPolicies,
    own_calendars: Vec<JurisdictionCalendar>,
    /// Jurisdiction id → position in `own_calendars`.
    calendar_of: HashMap<i64, usize>,
}

/// The name under which the default `[sla.calendar]` is reported.
pub const DEFAULT_CALENDAR: &str = "default";

impl SlaEngine {
    /// Validates the spec: the calendar, and no policy row given twice.
    pub fn from_spec(spec: &SlaSpec) -> Result<Self> {
        Ok(Self {
            calendar: WorkingCalendar::from_spec(&spec.calendar)?,
            policies: SlaPolicies::from_specs(&spec.policies)?,
            own_calendars: Vec::new(),
            calendar_of: HashMap::new(),
        })
    }

    /// The same engine with calendars of their own for some jurisdictions.
    /// A jurisdiction listed by two of them keeps the first.
    pub fn with_jurisdiction_calendars(mut self, calendars: Vec<JurisdictionCalendar>) -> Self {
        for (position, calendar) in calendars.iter().enumerate() {
            for &id in &calendar.jurisdiction_ids {
                self.calendar_of.entry(id).or_insert(position);
            }
        }
        self.own_calendars = calendars;
        self
    }

    /// The default working calendar.
    pub fn calendar(&self) -> &WorkingCalendar {
        &self.calendar
    }

    /// The calendar a work order counts on, with its name: that of the first
    /// jurisdiction of `scope` (the owner, then those containing it, most
    /// specific first) that has one of its own, else the default.
    pub fn calendar_for(&self, scope: &[i64]) -> (&str, &WorkingCalendar) {
        scope.iter().find_map(|id| self.calendar_of.get(id)).map_or(
            (DEFAULT_CALENDAR, &self.calendar),
            |&position| {
                let own = &self.own_calendars[position];
                (own.name.as_str(), &own.calendar)
            },
        )
    }

    /// The policy table.
    pub fn policies(&self) -> &SlaPolicies {
        &self.policies
    }

    /// Deadlines of a work order created at `start` in the jurisdiction
    /// `scope[0]` (contained in the rest), on its calendar.
    pub fn deadlines_in(
        &self,
        scope: &[i64],
        category: &str,
        priority: Priority,
        start: Timestamp,
    ) -> Result<Deadlines> {
        let (_, calendar) = self.calendar_for(scope);
        self.policies.deadlines(category, priority, start, calendar)
    }

    /// Response and resolution deadlines of a work order created at `start`,
    /// on the default calendar.
    pub fn deadlines(
        &self,
        category: &str,
        priority: Priority,
        start: Timestamp,
    ) -> Result<Deadlines> {
        self.policies
            .deadlines(category, priority, start, &self.calendar)
    }
}
