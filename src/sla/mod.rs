//! Service-level agreements: working calendars, policies, deadlines and breaches.
//!
//! A work order's response and resolution deadlines come from the SLA policy
//! of its (category, priority), counted on its jurisdiction's working
//! calendar. Local time exists only inside a [`WorkingCalendar`]; everything
//! that comes in or goes out is a UTC [`jiff::Timestamp`].

mod breach;
mod calendar;
mod compliance;
mod engine;
mod hours;
mod policy;
mod target;
mod webhook;

pub use breach::{BreachSchedule, DeadlineKind, DueBreach};
pub use calendar::{CalendarSpec, Holiday, WorkingCalendar};
pub use compliance::{
    ComplianceFigures, ComplianceRecord, ComplianceReport, Outcome, UNASSIGNED, compliance,
};
pub use engine::{DEFAULT_CALENDAR, JurisdictionCalendar, SlaEngine, SlaSpec};
pub use hours::WorkingHours;
pub use policy::{ANY_CATEGORY, Deadlines, PolicySpec, Priority, SlaPolicies};
pub use target::{Target, TargetDuration, deadline};
pub use webhook::{EscalationNotice, Webhook, WebhookError};

use jiff::Timestamp;
use jiff::civil::Date;

/// What can go wrong with calendars, policies and deadlines.
#[derive(Debug, thiserror::Error)]
pub enum SlaError {
    #[error("unknown time zone {name:?}: {reason}")]
    UnknownTimeZone { name: String, reason: String },

    #[error("invalid working hours {text:?}: {reason}")]
    InvalidHours { text: String, reason: String },

    #[error("unknown weekday {0:?}: use sun, mon, tue, wed, thu, fri or sat")]
    InvalidWeekday(String),

    #[error("invalid working calendar: {0}")]
    InvalidCalendar(String),

    #[error(
        "the working calendar covers {from} to {until}, but a deadline from {start} \
         needs {needed}: extend the calendar's holidays and holidays_known_until"
    )]
    BeyondCalendar {
        start: Timestamp,
        needed: Date,
        from: Date,
        until: Date,
    },

    #[error("invalid SLA target {text:?}: {reason}")]
    InvalidTarget { text: String, reason: String },

    #[error("unknown priority {0:?}: use low, normal, high or urgent")]
    UnknownPriority(String),

    #[error("SLA policy for {category} at {priority} priority is given twice")]
    DuplicatePolicy {
        category: String,
        priority: Priority,
    },

    #[error("no SLA policy for {category} at {priority} priority (and no \"*\" row)")]
    NoPolicy {
        category: String,
        priority: Priority,
    },

    #[error("date arithmetic out of range: {0}")]
    Time(#[from] jiff::Error),
}

/// Result of SLA operations.
pub type Result<T, E = SlaError> = std::result::Result<T, E>;
