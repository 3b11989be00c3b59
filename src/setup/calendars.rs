//! Working calendars per jurisdiction: the `[[calendars]]` tables of the
//! set-up file. Each names the jurisdictions it serves (by boundary level and
//! source id, like contracts); every other jurisdiction works on the default
//! `[sla.calendar]`.
//!
//! ```toml
//! [[calendars]]
//! name = "suffolk-county"
//! level = "police_district"
//! jurisdictions = ["A1", "D4"]
//! time_zone = "America/New_York"
//! working_days = ["mon", "tue", "wed", "thu", "fri"]
//! working_hours = ["07:00-15:30"]
//! holidays_known_from = "2024-01-01"
//! holidays_known_until = "2027-12-31"
//! holidays = [{ date = "2025-03-17", name = "Evacuation Day" }]
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{JurisdictionRef, Result, SetupError, resolve_jurisdictions};
use crate::sla::{CalendarSpec, Holiday, JurisdictionCalendar, WorkingCalendar, WorkingHours};

/// One `[[calendars]]` table: a working calendar and the jurisdictions it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarEntry {
    /// A name for logs, views and error messages.
    pub name: String,
    /// The boundary level the `jurisdictions` ids belong to.
    pub level: String,
    /// Source ids of the jurisdictions, or `["*"]` (the default) for all of the level.
    #[serde(default = "every_jurisdiction")]
    pub jurisdictions: Vec<String>,
    pub time_zone: String,
    pub working_days: Vec<String>,
    pub working_hours: Vec<WorkingHours>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hours_by_day: BTreeMap<String, Vec<WorkingHours>>,
    pub holidays_known_from: Date,
    pub holidays_known_until: Date,
    #[serde(default)]
    pub holidays: Vec<Holiday>,
}

fn every_jurisdiction() -> Vec<String> {
    vec!["*".to_string()]
}

impl CalendarEntry {
    /// The calendar part of the entry.
    pub fn spec(&self) -> CalendarSpec {
        CalendarSpec {
            time_zone: self.time_zone.clone(),
            working_days: self.working_days.clone(),
            working_hours: self.working_hours.clone(),
            hours_by_day: self.hours_by_day.clone(),
            holidays_known_from: self.holidays_known_from,
            holidays_known_until: self.holidays_known_until,
            holidays: self.holidays.clone(),
        }
    }
}

/// Validates the entries and resolves them to jurisdiction ids. A
/// jurisdiction served by two calendars is refused: which one counts would
/// otherwise depend on the order of the file.
pub(super) fn resolve_calendars(
    entries: &[CalendarEntry],
    jurisdictions: &[JurisdictionRef],
) -> Result<Vec<JurisdictionCalendar>> {
    let mut names = HashSet::new();
    let mut owner_of: HashMap<i64, &str> = HashMap::new();
    let mut resolved = Vec::with_capacity(entries.len());
    for entry in entries {
        let bad = |problem: String| SetupError::BadCalendar {
            name: entry.name.clone(),
            problem,
        };
        if !names.insert(entry.name.as_str()) {
            return Err(bad("defined twice".into()));
        }
        let calendar = WorkingCalendar::from_spec(&entry.spec()).map_err(|e| bad(e.to_string()))?;
        let ids = resolve_jurisdictions(&entry.level, &entry.jurisdictions, jurisdictions)
            .map_err(bad)?;
        for &id in &ids {
            if let Some(other) = owner_of.insert(id, &entry.name) {
                return Err(bad(format!(
                    "jurisdiction {} is already served by calendar {other:?}",
                    external_id(jurisdictions, id)
                )));
            }
        }
        resolved.push(JurisdictionCalendar {
            name: entry.name.clone(),
            calendar,
            jurisdiction_ids: ids,
        });
    }
    Ok(resolved)
}

fn external_id(jurisdictions: &[JurisdictionRef], id: i64) -> String {
    jurisdictions.iter().find(|j| j.id == id).map_or_else(
        || id.to_string(),
        |j| format!("{}/{}", j.level, j.external_id),
    )
}
