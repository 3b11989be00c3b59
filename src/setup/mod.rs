//! The city's set-up as data: categories, contractors, contracts, known
//! placeholder locations and the SLA calendar and policies, read from one TOML
//! file and applied idempotently by `cityfix setup apply`.
//!
//! Contracts name jurisdictions by their boundary level and source id
//! (`level = "police_district"`, `jurisdictions = ["A1", "B2"]`, or `["*"]` for
//! every jurisdiction of the level), so the boundaries are imported first.
//! Working calendars of particular jurisdictions are named the same way
//! (see [`calendars`]).

mod calendars;

pub use calendars::CalendarEntry;

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dispatch::Contract;
use crate::sla::{Priority, SlaEngine, SlaError, SlaSpec};

/// The category every unmapped or unknown problem falls back to.
pub const OTHER_CATEGORY: &str = "other";

/// Why a set-up file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the set-up file is not valid TOML for cityfix: {0}")]
    Parse(String),
    #[error("category {0:?} is defined twice")]
    DuplicateCategory(String),
    #[error("category {slug:?}: {problem}")]
    BadCategory { slug: String, problem: String },
    #[error("contractor {0:?} is defined twice")]
    DuplicateContractor(String),
    #[error("contract {contract:?}: {problem}")]
    BadContract { contract: String, problem: String },
    #[error("placeholder {name:?}: {problem}")]
    BadPlaceholder { name: String, problem: String },
    #[error("calendar {name:?}: {problem}")]
    BadCalendar { name: String, problem: String },
    #[error("[sla]: {0}")]
    Sla(#[from] SlaError),
}

/// Result alias of the set-up layer.
pub type Result<T, E = SetupError> = std::result::Result<T, E>;

/// The set-up file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupFile {
    /// The city this file sets up, for logs and summaries.
    pub city: String,
    pub categories: Vec<CategorySpec>,
    #[serde(default)]
    pub contractors: Vec<ContractorSpec>,
    #[serde(default)]
    pub contracts: Vec<ContractSpec>,
    /// Positions that stand for "location unknown" in this city's data.
    #[serde(default)]
    pub placeholders: Vec<PlaceholderSpec>,
    /// Calendars of jurisdictions that do not work on `[sla.calendar]`.
    #[serde(default)]
    pub calendars: Vec<CalendarEntry>,
    pub sla: SlaSpec,
}

/// One category of problem and how its reports are merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategorySpec {
    /// Stable identifier used in the API (`pothole`).
    pub slug: String,
    /// Human name (`Pothole`).
    pub name: String,
    /// Reports within this haversine distance of an open incident merge into it.
    pub dedup_radius_m: f64,
    /// ... when that incident's last report is at most this many days older.
    pub dedup_window_days: f64,
    /// Priority of a new incident of this category.
    pub default_priority: Priority,
    /// The incident's priority rises one step when its report count reaches this.
    #[serde(default)]
    pub escalate_after_reports: Option<u32>,
}

/// A company or crew that fixes problems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractorSpec {
    pub slug: String,
    pub name: String,
}

/// A contractor's duty for some jurisdictions and categories over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractSpec {
    pub slug: String,
    pub contractor: String,
    /// The boundary level the `jurisdictions` ids belong to.
    pub level: String,
    /// Source ids of the jurisdictions, or `["*"]` for all of the level.
    pub jurisdictions: Vec<String>,
    pub categories: Vec<String>,
    pub valid_from: Date,
    #[serde(default)]
    pub valid_until: Option<Date>,
    /// Most open work orders at once, per jurisdiction of the contract.
    pub capacity: u32,
}

/// A position a city's systems use for "unknown" (for example City Hall).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceholderSpec {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    /// Reports this close to it are treated as placed there.
    #[serde(default = "default_placeholder_radius_m")]
    pub radius_m: f64,
}

fn default_placeholder_radius_m() -> f64 {
    5.0
}

/// One category, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub slug: String,
    pub name: String,
    pub dedup_radius_m: f64,
    pub dedup_window_s: i64,
    pub default_priority: Priority,
    pub escalate_after_reports: Option<u32>,
}

/// A jurisdiction as the set-up sees it, to resolve contracts' references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JurisdictionRef {
    pub id: i64,
    pub level: String,
    pub external_id: String,
}

/// A contract resolved to one jurisdiction, before it has a store id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedContract {
    pub slug: String,
    pub contractor: String,
    pub jurisdiction_id: i64,
    pub categories: Vec<String>,
    pub valid_from: Timestamp,
    pub valid_until: Option<Timestamp>,
    pub capacity: u32,
}

/// A validated set-up, ready for the store and the pipeline.
#[derive(Debug, Clone)]
pub struct CitySetup {
    pub city: String,
    /// Hex sha256 of the file's text: applying the same text again changes nothing.
    pub content_hash: String,
    pub categories: Vec<Category>,
    pub contractors: Vec<ContractorSpec>,
    pub contracts: Vec<ResolvedContract>,
    pub placeholders: Vec<PlaceholderSpec>,
    pub sla: SlaEngine,
    by_slug: HashMap<String, usize>,
}

impl CitySetup {
    /// Parses and validates a set-up file against the jurisdictions that exist.
    pub fn parse(text: &str, jurisdictions: &[JurisdictionRef]) -> Result<Self> {
        let file: SetupFile = toml::from_str(text).map_err(|e| SetupError::Parse(e.to_string()))?;
        let content_hash = hex::encode(Sha256::digest(text.as_bytes()));
        Self::from_file(file, content_hash, jurisdictions)
    }

    fn from_file(
        file: SetupFile,
        content_hash: String,
        jurisdictions: &[JurisdictionRef],
    ) -> Result<Self> {
        let categories = validate_categories(&file.categories)?;
        let by_slug = categories
            .iter()
            .enumerate()
            .map(|(index, category)| (category.slug.clone(), index))
            .collect();
        let contractor_slugs = validate_contractors(&file.contractors)?;
        let contracts =
            resolve_contracts(&file.contracts, &contractor_slugs, &by_slug, jurisdictions)?;
        validate_placeholders(&file.placeholders)?;
        let own_calendars = calendars::resolve_calendars(&file.calendars, jurisdictions)?;
        let sla = SlaEngine::from_spec(&file.sla)?.with_jurisdiction_calendars(own_calendars);

        Ok(Self {
            city: file.city,
            content_hash,
            categories,
            contractors: file.contractors,
            contracts,
            placeholders: file.placeholders,
            sla,
            by_slug,
        })
    }

    /// The category with this slug.
    pub fn category(&self, slug: &str) -> Option<&Category> {
        self.by_slug.get(slug).map(|&index| &self.categories[index])
    }

    /// Contracts with their store ids, for dispatch.
    pub fn contracts_with_ids(&self, ids: &[i64]) -> Vec<Contract> {
        self.contracts
            .iter()
            .zip(ids)
            .map(|(contract, &id)| Contract {
                id,
                contractor: contract.contractor.clone(),
                jurisdiction_id: contract.jurisdiction_id,
                categories: contract.categories.clone(),
                valid_from: contract.valid_from,
                valid_until: contract.valid_until,
                capacity: contract.capacity,
            })
            .collect()
    }
}

fn validate_categories(specs: &[CategorySpec]) -> Result<Vec<Category>> {
    let mut seen = HashSet::new();
    let mut categories = Vec::with_capacity(specs.len() + 1);
    for spec in specs {
        if !seen.insert(spec.slug.as_str()) {
            return Err(SetupError::DuplicateCategory(spec.slug.clone()));
        }
        let bad = |problem: &str| SetupError::BadCategory {
            slug: spec.slug.clone(),
            problem: problem.to_string(),
        };
        if !is_slug(&spec.slug) {
            return Err(bad("a slug is lowercase letters, digits and _"));
        }
        if !(spec.dedup_radius_m.is_finite() && (0.0..=5000.0).contains(&spec.dedup_radius_m)) {
            return Err(bad("dedup_radius_m must be between 0 and 5000"));
        }
        if !(spec.dedup_window_days.is_finite() && (0.0..=365.0).contains(&spec.dedup_window_days))
        {
            return Err(bad("dedup_window_days must be between 0 and 365"));
        }
        if spec.escalate_after_reports == Some(0) {
            return Err(bad("escalate_after_reports must be at least 1"));
        }
        categories.push(Category {
            slug: spec.slug.clone(),
            name: spec.name.clone(),
            dedup_radius_m: spec.dedup_radius_m,
            dedup_window_s: (spec.dedup_window_days * 86_400.0).round() as i64,
            default_priority: spec.default_priority,
            escalate_after_reports: spec.escalate_after_reports,
        });
    }
    if !seen.contains(OTHER_CATEGORY) {
        // Unmapped problems must land somewhere a supervisor looks.
        categories.push(Category {
            slug: OTHER_CATEGORY.to_string(),
            name: "Other".to_string(),
            dedup_radius_m: 0.0,
            dedup_window_s: 0,
            default_priority: Priority::Normal,
            escalate_after_reports: None,
        });
    }
    Ok(categories)
}

fn validate_contractors(specs: &[ContractorSpec]) -> Result<HashSet<String>> {
    let mut slugs = HashSet::new();
    for spec in specs {
        if !slugs.insert(spec.slug.clone()) {
            return Err(SetupError::DuplicateContractor(spec.slug.clone()));
        }
    }
    Ok(slugs)
}

fn resolve_contracts(
    specs: &[ContractSpec],
    contractors: &HashSet<String>,
    categories: &HashMap<String, usize>,
    jurisdictions: &[JurisdictionRef],
) -> Result<Vec<ResolvedContract>> {
    let mut resolved = Vec::new();
    let mut seen = HashSet::new();
    for spec in specs {
        let bad = |problem: String| SetupError::BadContract {
            contract: spec.slug.clone(),
            problem,
        };
        if !seen.insert(spec.slug.as_str()) {
            return Err(bad("defined twice".into()));
        }
        if !contractors.contains(&spec.contractor) {
            return Err(bad(format!("unknown contractor {:?}", spec.contractor)));
        }
        if spec.capacity == 0 {
            return Err(bad("capacity must be at least 1".into()));
        }
        if let Some(unknown) = spec
            .categories
            .iter()
            .find(|c| !categories.contains_key(*c))
        {
            return Err(bad(format!("unknown category {unknown:?}")));
        }
        let valid_from = start_of_day_utc(spec.valid_from).map_err(|e| bad(e.to_string()))?;
        let valid_until = spec
            .valid_until
            .map(start_of_day_utc)
            .transpose()
            .map_err(|e| bad(e.to_string()))?;
        if valid_until.is_some_and(|until| until <= valid_from) {
            return Err(bad("valid_until must be after valid_from".into()));
        }

        let ids = resolve_jurisdictions(&spec.level, &spec.jurisdictions, jurisdictions);
        for jurisdiction_id in ids.map_err(bad)? {
            resolved.push(ResolvedContract {
                slug: spec.slug.clone(),
                contractor: spec.contractor.clone(),
                jurisdiction_id,
                categories: spec.categories.clone(),
                valid_from,
                valid_until,
                capacity: spec.capacity,
            });
        }
    }
    Ok(resolved)
}

/// Store ids of the jurisdictions of `level` named by source id (`"*"`: all).
fn resolve_jurisdictions(
    level: &str,
    external_ids: &[String],
    jurisdictions: &[JurisdictionRef],
) -> Result<Vec<i64>, String> {
    let of_level: Vec<&JurisdictionRef> =
        jurisdictions.iter().filter(|j| j.level == level).collect();
    if of_level.is_empty() {
        return Err(format!(
            "no jurisdiction of level {level:?} is imported: run `cityfix boundaries import` first"
        ));
    }
    if external_ids.iter().any(|id| id == "*") {
        return Ok(of_level.iter().map(|j| j.id).collect());
    }
    external_ids
        .iter()
        .map(|external_id| {
            of_level
                .iter()
                .find(|j| &j.external_id == external_id)
                .map(|j| j.id)
                .ok_or_else(|| format!("no jurisdiction {external_id:?} of level {level:?}"))
        })
        .collect()
}

fn validate_placeholders(specs: &[PlaceholderSpec]) -> Result<()> {
    for spec in specs {
        let in_range = spec.lat.is_finite()
            && spec.lon.is_finite()
            && spec.lat.abs() <= 90.0
            && spec.lon.abs() <= 180.0;
        if !in_range {
            return Err(SetupError::BadPlaceholder {
                name: spec.name.clone(),
                problem: "lat/lon out of WGS84 range".into(),
            });
        }
        if !(spec.radius_m.is_finite() && spec.radius_m >= 0.0) {
            return Err(SetupError::BadPlaceholder {
                name: spec.name.clone(),
                problem: "radius_m must be a positive number".into(),
            });
        }
    }
    Ok(())
}

// Contract periods are dates; they start at midnight UTC so that the
// comparison does not depend on which jurisdiction asks.
fn start_of_day_utc(date: Date) -> Result<Timestamp, jiff::Error> {
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|zoned| zoned.timestamp())
}

fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests;
