//! Reading service-request records and a city's category map.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use jiff::Timestamp;

use super::ReplayError;
use crate::setup::{CitySetup, OTHER_CATEGORY};

/// One record of `reports_normalized.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayRecord {
    pub id: String,
    /// `None` when the field is empty; NaN when it is not a number, so the
    /// pipeline names the problem.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub category: String,
    pub created_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub status: String,
    pub district: String,
}

#[derive(Debug, serde::Deserialize)]
struct Row {
    id: String,
    lat: String,
    lon: String,
    category: String,
    created_at: String,
    closed_at: String,
    status: String,
    district: String,
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ReplayError + '_ {
    move |source| ReplayError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn open_maybe_gzip(path: &Path) -> Result<Box<dyn Read>, ReplayError> {
    let file = File::open(path).map_err(io_error(path))?;
    let reader = BufReader::new(file);
    let gzip = path.extension().is_some_and(|ext| ext == "gz");
    Ok(if gzip {
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

/// Reads every record; a row whose id or `created_at` cannot be read stops
/// the replay with its line number, since its idempotency or clock is unknown.
pub fn read_records(path: &Path) -> Result<Vec<ReplayRecord>, ReplayError> {
    let format = |line: u64, message: String| ReplayError::Format {
        path: path.display().to_string(),
        message: format!("line {line}: {message}"),
    };
    let mut reader = csv::Reader::from_reader(open_maybe_gzip(path)?);
    let mut records = Vec::new();
    for (index, row) in reader.deserialize::<Row>().enumerate() {
        let line = index as u64 + 2;
        let row = row.map_err(|e| format(line, e.to_string()))?;
        if row.id.trim().is_empty() {
            return Err(format(line, "empty id".into()));
        }
        let created_at = row
            .created_at
            .parse::<Timestamp>()
            .map_err(|e| format(line, format!("created_at {:?}: {e}", row.created_at)))?;
        let closed_at = match row.closed_at.trim() {
            "" => None,
            text => Some(
                text.parse::<Timestamp>()
                    .map_err(|e| format(line, format!("closed_at {text:?}: {e}")))?,
            ),
        };
        records.push(ReplayRecord {
            id: row.id.trim().to_string(),
            lat: coordinate(&row.lat),
            lon: coordinate(&row.lon),
            category: row.category,
            created_at,
            closed_at,
            status: row.status,
            district: row.district,
        });
    }
    Ok(records)
}

fn coordinate(text: &str) -> Option<f64> {
    match text.trim() {
        "" => None,
        text => Some(text.parse().unwrap_or(f64::NAN)),
    }
}

/// A city's category names mapped to cityfix category slugs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryMap {
    map: HashMap<String, String>,
}

impl CategoryMap {
    /// A map from pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            map: pairs.into_iter().collect(),
        }
    }

    /// Whether the source name is in the map.
    pub fn maps(&self, source_category: &str) -> bool {
        self.map.contains_key(source_category.trim())
    }

    /// The cityfix category of a source name: the mapped one when the set-up
    /// knows it, else `other`.
    pub fn category_of(&self, source_category: &str, setup: &CitySetup) -> String {
        self.map
            .get(source_category.trim())
            .filter(|slug| setup.category(slug).is_some())
            .cloned()
            .unwrap_or_else(|| OTHER_CATEGORY.to_string())
    }
}

/// Reads a `source_category,category` CSV (with that header).
pub fn read_category_map(path: &Path) -> Result<CategoryMap, ReplayError> {
    let mut reader = csv::Reader::from_reader(open_maybe_gzip(path)?);
    let mut pairs = Vec::new();
    for (index, row) in reader.deserialize::<(String, String)>().enumerate() {
        let (source, slug) = row.map_err(|e| ReplayError::Format {
            path: path.display().to_string(),
            message: format!("line {}: {e}", index + 2),
        })?;
        pairs.push((source.trim().to_string(), slug.trim().to_string()));
    }
    Ok(CategoryMap::from_pairs(pairs))
}
