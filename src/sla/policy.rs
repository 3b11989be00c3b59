//! SLA policies: for each (category, priority), how soon a work order must be
//! accepted (response) and resolved (resolution).

use std::collections::HashMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::calendar::WorkingCalendar;
use super::target::{Target, deadline};
use super::{Result, SlaError};

/// The category name that stands for "any category" in a policy row, used
/// when no row names the category itself.
pub const ANY_CATEGORY: &str = "*";

/// How urgent an incident is; ordered from `Low` to `Urgent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    /// The slug used in the API, the database and the set-up file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// One step more urgent; `Urgent` stays `Urgent`.
    pub fn raised(self) -> Priority {
        match self {
            Self::Low => Self::Normal,
            Self::Normal => Self::High,
            Self::High | Self::Urgent => Self::Urgent,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Priority {
    type Err = SlaError;

    fn from_str(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|priority| priority.as_str() == text)
            .ok_or_else(|| SlaError::UnknownPriority(text.to_string()))
    }
}

/// One row of SLA policy as written in the set-up file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// A category slug, or `"*"` for every category without its own row.
    pub category: String,
    pub priority: Priority,
    /// How soon the contractor must accept the work order.
    pub response: Target,
    /// How soon the work order must be resolved.
    pub resolution: Target,
}

/// The two deadlines of one work order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    pub response_due_at: Timestamp,
    pub resolution_due_at: Timestamp,
}

/// All policy rows of a city, looked up by (category, priority).
#[derive(Clone, Debug, Default)]
pub struct SlaPolicies {
    rows: HashMap<(String, Priority), PolicySpec>,
}

impl SlaPolicies {
    /// Indexes the rows; a (category, priority) given twice, or a resolution
    /// target shorter than the response target counted the same way, is an error.
    pub fn from_specs(specs: &[PolicySpec]) -> Result<Self> {
        let mut rows = HashMap::with_capacity(specs.len());
        for spec in specs {
            if spec.resolution.shorter_than(spec.response) {
                return Err(SlaError::InvalidTarget {
                    text: spec.resolution.to_string(),
                    reason: format!(
                        "the resolution target of {} at priority {} is shorter than its response \
                         target ({}): an order would be due resolved before it is due accepted",
                        spec.category,
                        spec.priority.as_str(),
                        spec.response
                    ),
                });
            }
            let key = (spec.category.clone(), spec.priority);
            if rows.insert(key, spec.clone()).is_some() {
                return Err(SlaError::DuplicatePolicy {
                    category: spec.category.clone(),
                    priority: spec.priority,
                });
            }
        }
        Ok(Self { rows })
    }

    /// The policy for (category, priority), else the `"*"` row of that priority.
    pub fn policy(&self, category: &str, priority: Priority) -> Result<&PolicySpec> {
        self.rows
            .get(&(category.to_string(), priority))
            .or_else(|| self.rows.get(&(ANY_CATEGORY.to_string(), priority)))
            .ok_or_else(|| SlaError::NoPolicy {
                category: category.to_string(),
                priority,
            })
    }

    /// Response and resolution deadlines for a work order assigned at `start`.
    pub fn deadlines(
        &self,
        category: &str,
        priority: Priority,
        start: Timestamp,
        calendar: &WorkingCalendar,
    ) -> Result<Deadlines> {
        let policy = self.policy(category, priority)?;
        Ok(Deadlines {
            response_due_at: deadline(start, &policy.response, calendar)?,
            resolution_due_at: deadline(start, &policy.resolution, calendar)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::target::TargetDuration;

    fn row(category: &str, priority: Priority, hours: i64) -> PolicySpec {
        PolicySpec {
            category: category.into(),
            priority,
            response: Target::Working(TargetDuration::hours(1).unwrap()),
            resolution: Target::Working(TargetDuration::hours(hours).unwrap()),
        }
    }

    #[test]
    fn own_row_wins_over_the_wildcard() {
        let policies = SlaPolicies::from_specs(&[
            row("*", Priority::Normal, 40),
            row("pothole", Priority::Normal, 16),
        ])
        .unwrap();
        let resolution = |category| {
            policies
                .policy(category, Priority::Normal)
                .unwrap()
                .resolution
        };

        assert_eq!(
            resolution("pothole"),
            Target::Working(TargetDuration::hours(16).unwrap())
        );
        assert_eq!(
            resolution("graffiti"),
            Target::Working(TargetDuration::hours(40).unwrap())
        );
        assert!(matches!(
            policies.policy("graffiti", Priority::Urgent),
            Err(SlaError::NoPolicy { .. })
        ));
    }

    #[test]
    fn a_row_given_twice_is_refused() {
        let twice = [
            row("pothole", Priority::High, 8),
            row("pothole", Priority::High, 4),
        ];
        assert!(matches!(
            SlaPolicies::from_specs(&twice),
            Err(SlaError::DuplicatePolicy { .. })
        ));
    }

    #[test]
    fn priorities_are_ordered_and_parse() {
        assert!(Priority::Low < Priority::Urgent);
        assert_eq!("high".parse::<Priority>().unwrap(), Priority::High);
        assert!("critical".parse::<Priority>().is_err());
    }
}
