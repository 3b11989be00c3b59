//! Reading service-request records and a city's category map.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
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

/// Opens a file, gunzipping it when its content (not its name) is gzip.
fn open_maybe_gzip(path: &Path) -> Result<Box<dyn Read>, ReplayError> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut reader = BufReader::new(file);
    let gzip = reader
        .fill_buf()
        .map_err(io_error(path))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

/// A row that could not be read: its line and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableRow {
    pub line: u64,
    pub problem: String,
}

/// The records of a file, and the rows that could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordFile {
    pub records: Vec<ReplayRecord>,
    pub unreadable: Vec<UnreadableRow>,
}

/// Reads every record. A row without an id or a readable `created_at` has no
/// idempotency key or clock, so it is set aside with its line number rather
/// than replayed; the rest of the file still goes through. A file without the
/// expected header is refused whole.
pub fn read_records(path: &Path) -> Result<RecordFile, ReplayError> {
    let mut reader = csv::Reader::from_reader(open_maybe_gzip(path)?);
    check_header(&mut reader, path)?;
    let mut file = RecordFile::default();
    for (index, row) in reader.deserialize::<Row>().enumerate() {
        let line = index as u64 + 2;
        match row.map_err(|e| e.to_string()).and_then(record_of) {
            Ok(record) => file.records.push(record),
            Err(problem) => file.unreadable.push(UnreadableRow { line, problem }),
        }
    }
    Ok(file)
}

const COLUMNS: [&str; 8] = [
    "id",
    "lat",
    "lon",
    "category",
    "created_at",
    "closed_at",
    "status",
    "district",
];

fn check_header(reader: &mut csv::Reader<Box<dyn Read>>, path: &Path) -> Result<(), ReplayError> {
    let format = |message: String| ReplayError::Format {
        path: path.display().to_string(),
        message,
    };
    let headers = reader.headers().map_err(|e| format(e.to_string()))?;
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|column| !headers.iter().any(|h| h.trim() == *column))
        .collect();
    if !missing.is_empty() {
        return Err(format(format!(
            "the first line must name the columns {}; missing: {}",
            COLUMNS.join(","),
            missing.join(", ")
        )));
    }
    Ok(())
}

fn record_of(row: Row) -> Result<ReplayRecord, String> {
    if row.id.trim().is_empty() {
        return Err("empty id".into());
    }
    let created_at = row
        .created_at
        .trim()
        .parse::<Timestamp>()
        .map_err(|e| format!("created_at {:?}: {e}", row.created_at))?;
    let closed_at = match row.closed_at.trim() {
        "" => None,
        text => Some(
            text.parse::<Timestamp>()
                .map_err(|e| format!("closed_at {text:?}: {e}"))?,
        ),
    };
    Ok(ReplayRecord {
        id: row.id.trim().to_string(),
        lat: coordinate(&row.lat),
        lon: coordinate(&row.lon),
        category: row.category,
        created_at,
        closed_at,
        status: row.status,
        district: row.district,
    })
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

    /// Whether the source name is in the map, or already a category slug of
    /// the set-up.
    pub fn maps(&self, source_category: &str, setup: &CitySetup) -> bool {
        let name = source_category.trim();
        self.map.contains_key(name) || setup.category(name).is_some()
    }

    /// The cityfix category of a source name: the mapped one when the set-up
    /// knows it, the name itself when it is a slug of the set-up, else `other`.
    pub fn category_of(&self, source_category: &str, setup: &CitySetup) -> String {
        let name = source_category.trim();
        self.map
            .get(name)
            .filter(|slug| setup.category(slug).is_some())
            .map(String::as_str)
            .or_else(|| setup.category(name).map(|category| category.slug.as_str()))
            .unwrap_or(OTHER_CATEGORY)
            .to_string()
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
