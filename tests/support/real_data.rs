//! Loaders for the real city data under `../shared/data/cities`, shared by the
//! routing tests and benches. Nothing here is committed data: it is read in place.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

use cityfix::boundaries::{ImportOptions, ParsedBoundaries, parse_boundaries};
use cityfix::routing::JurisdictionShape;

/// The shared data root: env `CITYFIX_SHARED_DIR`, else `<manifest>/../shared`;
/// `None` when it holds no `data/cities` folder.
pub fn shared_dir() -> Option<PathBuf> {
    let root = std::env::var_os("CITYFIX_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    root.join("data/cities").is_dir().then_some(root)
}

/// Reads and parses one boundary file of a city.
pub fn boundaries(shared: &Path, city: &str, file: &str, id: &str, name: &str) -> ParsedBoundaries {
    let path = shared
        .join("data/cities")
        .join(city)
        .join("boundaries")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path:?}: {err}"));
    let options = ImportOptions {
        id_field: id.to_string(),
        name_field: name.to_string(),
        strict: false,
    };
    parse_boundaries(&text, &options).unwrap_or_else(|err| panic!("{path:?}: {err}"))
}

/// Router input from parsed boundaries: ids are the feature's position in the
/// file (a database would assign them), all on one level.
pub fn shapes(parsed: &ParsedBoundaries, level_rank: u32) -> Vec<JurisdictionShape> {
    parsed
        .features
        .iter()
        .enumerate()
        .map(|(index, feature)| JurisdictionShape {
            id: index as i64,
            level_rank,
            geometry: feature.geometry.clone(),
        })
        .collect()
}

/// One row of a `reports_normalized.csv.gz`: the fields routing needs.
#[derive(Debug, Clone)]
pub struct ReportPoint {
    pub id: String,
    pub lon: f64,
    pub lat: f64,
    pub district: String,
}

/// Every row of a city's normalised report file that has a numeric position.
pub fn report_points(shared: &Path, city: &str) -> Vec<ReportPoint> {
    let path = shared
        .join("data/cities")
        .join(city)
        .join("reports_normalized.csv.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|err| panic!("{path:?}: {err}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();

    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (id, lat, lon, district) = (
        column("id"),
        column("lat"),
        column("lon"),
        column("district"),
    );

    reader
        .records()
        .map(|record| record.unwrap())
        .filter_map(|record| {
            Some(ReportPoint {
                id: record[id].to_string(),
                lat: record[lat].parse().ok()?,
                lon: record[lon].parse().ok()?,
                district: record[district].to_string(),
            })
        })
        .collect()
}
