//! The city's SLA set-up (one working calendar and the policy rows) as it
//! appears in the set-up file, and the engine built from it once at start.

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
    /// The working calendar of the city's jurisdictions.
    pub calendar: CalendarSpec,
    pub policies: Vec<PolicySpec>,
}

/// A validated calendar and policy table, ready to give deadlines.
#[derive(Clone, Debug)]
pub struct SlaEngine {
    calendar: WorkingCalendar,
    policies: SlaPolicies,
}

impl SlaEngine {
    /// Validates the spec: the calendar, and no policy row given twice.
    pub fn from_spec(spec: &SlaSpec) -> Result<Self> {
        Ok(Self {
            calendar: WorkingCalendar::from_spec(&spec.calendar)?,
            policies: SlaPolicies::from_specs(&spec.policies)?,
        })
    }

    /// The working calendar.
    pub fn calendar(&self) -> &WorkingCalendar {
        &self.calendar
    }

    /// The policy table.
    pub fn policies(&self) -> &SlaPolicies {
        &self.policies
    }

    /// Response and resolution deadlines of a work order created at `start`.
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
