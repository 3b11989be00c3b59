//! Boundaries: reading jurisdiction polygons from GeoJSON files, checking them and
//! repairing what real boundary files get wrong.
//!
//! [`parse_boundaries`] is all-or-nothing: it either returns every feature of the
//! file, valid and ready for routing, or an error naming the first feature it could
//! not accept, so that nothing of a file is ever half-imported. Storing the result
//! (boundary versions, levels, time zones) is the store's business, not this module's.

pub mod canonical;
mod read;
mod repair;

use sha2::{Digest, Sha256};

pub use repair::RepairOutcome;

/// How to read a boundary file: which properties hold the id and the name, and
/// whether an invalid feature is repaired (the default) or rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Property holding the jurisdiction's id in its source (string or number).
    pub id_field: String,
    /// Property holding the jurisdiction's human name.
    pub name_field: String,
    /// Reject any invalid feature instead of repairing it.
    pub strict: bool,
}

/// One jurisdiction polygon read from a file: valid, WGS84 (lon, lat), exteriors
/// counter-clockwise and holes clockwise as RFC 7946 asks.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryFeature {
    /// The id the source gives it (the `id_field` property), as text.
    pub external_id: String,
    /// Its name (the `name_field` property).
    pub name: String,
    /// Its area; always a valid multipolygon.
    pub geometry: geo::MultiPolygon<f64>,
}

/// A feature that was invalid in the file and has been repaired: what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairWarning {
    /// The feature's source id.
    pub external_id: String,
    /// The feature's name.
    pub name: String,
    /// What was wrong and what the repair did (areas, parts).
    pub what: String,
}

/// Everything a boundary file holds, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedBoundaries {
    /// Features in file order.
    pub features: Vec<BoundaryFeature>,
    /// One warning per repaired feature.
    pub warnings: Vec<RepairWarning>,
    /// Hex sha256 of the canonical form of the file's features (ids, names,
    /// geometry independent of ring direction, start vertex, part and feature
    /// order): equal for an unchanged file re-imported, different for a changed one.
    pub content_hash: String,
}

/// Why a boundary file was refused. Each variant names the feature at fault, as
/// `#index (id …, name …)`, so a user can find it in the file.
#[derive(Debug, thiserror::Error)]
pub enum BoundaryError {
    /// The text is not GeoJSON at all.
    #[error("not valid GeoJSON: {0}")]
    InvalidGeoJson(String),
    /// The GeoJSON is not a FeatureCollection (or a single Feature).
    #[error("expected a GeoJSON FeatureCollection, found {0}")]
    NotAFeatureCollection(String),
    /// The file declares a coordinate reference system other than WGS84 lon/lat.
    #[error(
        "unsupported crs {0:?}: only WGS84 longitude/latitude (CRS84, EPSG:4326) is accepted; \
         reproject the file first"
    )]
    UnsupportedCrs(String),
    /// The file holds no feature.
    #[error("the file holds no feature")]
    NoFeatures,
    /// A feature lacks the id or name property, or it has an unusable type.
    #[error("feature {feature}: {problem}")]
    BadProperty { feature: String, problem: String },
    /// Two features share one id.
    #[error("feature {feature}: id {external_id:?} is used by an earlier feature too")]
    DuplicateId {
        feature: String,
        external_id: String,
    },
    /// A feature's geometry is missing, not a polygon, or malformed.
    #[error("feature {feature}: {problem}")]
    BadGeometry { feature: String, problem: String },
    /// A coordinate is outside WGS84 range or not a number.
    #[error(
        "feature {feature}: coordinate [{lon}, {lat}] is not a WGS84 longitude, latitude{hint}"
    )]
    CoordinateOutOfRange {
        feature: String,
        lon: f64,
        lat: f64,
        hint: &'static str,
    },
    /// Strict mode: a feature is invalid and repairing was not allowed.
    #[error("feature {feature} is invalid ({reason}); strict mode refuses to repair it")]
    InvalidFeature { feature: String, reason: String },
    /// A feature is invalid and could not be repaired.
    #[error("feature {feature} is invalid ({reason}) and could not be repaired: {failure}")]
    Unrepairable {
        feature: String,
        reason: String,
        failure: String,
    },
}

/// Result alias of this module.
pub type Result<T, E = BoundaryError> = std::result::Result<T, E>;

/// Reads a GeoJSON boundary file: every Polygon/MultiPolygon feature with its id and
/// name, invalid features repaired with a warning (or refused when `strict`).
///
/// Fails as a whole, naming the feature, on invalid GeoJSON, a foreign `crs`, a
/// missing id or name, a duplicate id, a non-polygon geometry, a coordinate outside
/// WGS84 range, or an invalid feature that cannot (or, strict, may not) be repaired.
pub fn parse_boundaries(text: &str, opts: &ImportOptions) -> Result<ParsedBoundaries> {
    let raw_features = read::read_features(text, opts)?;

    let mut hasher = Sha256::new();
    hasher.update(b"cityfix-boundaries/1\n");
    let mut sorted: Vec<&read::RawFeature> = raw_features.iter().collect();
    sorted.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    for raw in sorted {
        canonical::hash_feature(&mut hasher, &raw.external_id, &raw.name, &raw.geometry);
    }
    let content_hash = hex::encode(hasher.finalize());

    let mut features = Vec::with_capacity(raw_features.len());
    let mut warnings = Vec::new();
    for raw in raw_features {
        let outcome = repair::check_and_repair(&raw, opts.strict)?;
        // Returned, not logged: the caller reports them once (the CLI prints each).
        if let Some(what) = outcome.what_changed {
            warnings.push(RepairWarning {
                external_id: raw.external_id.clone(),
                name: raw.name.clone(),
                what,
            });
        }
        features.push(BoundaryFeature {
            external_id: raw.external_id,
            name: raw.name,
            geometry: outcome.geometry,
        });
    }

    Ok(ParsedBoundaries {
        features,
        warnings,
        content_hash,
    })
}

#[cfg(test)]
mod tests;
