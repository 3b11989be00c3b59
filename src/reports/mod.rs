//! Reports: one citizen's submission, checked before anything is stored.
//!
//! [`Submission`] is what arrives, through the API or a replayed record;
//! [`check_position`] and [`check_text`] say precisely what is wrong with it.
//! A position is WGS84 with named fields: `lat = 0` is the equator, a real
//! place, and only an absent field means "missing".

use geo::Point;
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Where a report's position came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionSource {
    /// The `lat`/`lon` fields of the request or record.
    Request,
    /// The photo's EXIF GPS tags.
    Exif,
}

impl PositionSource {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Exif => "exif",
        }
    }
}

/// A submission as it arrives, before routing and dedup.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    /// The category the citizen chose (a cityfix slug).
    pub category: Option<String>,
    /// The source system's own category text (replay), kept for audit.
    pub source_category: Option<String>,
    pub description: Option<String>,
    /// The raw photo bytes, when one was sent.
    pub photo: Option<bytes::Bytes>,
    /// Where it came from (`api`, `replay:boston`) and its id there: the
    /// idempotency key.
    pub source: String,
    pub source_id: Option<String>,
    /// When it was made: now for the API, the record's time in replay.
    pub received_at: Option<Timestamp>,
    /// When the source system closed it (replayed history only).
    pub source_closed_at: Option<Timestamp>,
}

impl Submission {
    /// SHA-256 of what the submission says (position, accuracy, category,
    /// description, photo), each part length-prefixed: a retry under the same
    /// key carries the same digest, another submission under it does not. The
    /// accuracy takes part only when given, so that digests stored before it
    /// counted still match their retries.
    pub fn content_digest(&self) -> [u8; 32] {
        let coordinate = |value: Option<f64>| value.map_or(u64::MAX, f64::to_bits).to_le_bytes();
        let (lat, lon) = (coordinate(self.lat), coordinate(self.lon));
        let accuracy = self.accuracy_m.map(|a| a.to_bits().to_le_bytes());
        let mut parts: Vec<&[u8]> = vec![
            &lat,
            &lon,
            self.category.as_deref().unwrap_or("").as_bytes(),
            self.description.as_deref().unwrap_or("").as_bytes(),
            self.photo.as_deref().unwrap_or(&[]),
        ];
        if let Some(accuracy) = &accuracy {
            parts.push(accuracy);
        }
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        hasher.finalize().into()
    }
}

/// What is wrong with a submission's fields.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    #[error("{field} is missing: send lat and lon, or a photo with GPS in its EXIF data")]
    MissingPosition { field: &'static str },
    #[error(
        "lat/lon is missing, and the photo's EXIF GPS is unusable: {problem}; send lat and lon"
    )]
    UnusableExifGps { problem: &'static str },
    #[error("{field} = {value} is not a number")]
    NotANumber { field: &'static str, value: String },
    #[error("lat = {0} is outside -90..90")]
    LatitudeOutOfRange(f64),
    #[error("lon = {0} is outside -180..180")]
    LongitudeOutOfRange(f64),
    #[error("accuracy_m = {0} must be a positive number of metres, at most 100000")]
    BadAccuracy(f64),
    #[error("{field} contains the invisible character U+{code_point:04X}; send plain text")]
    InvisibleCharacter {
        field: &'static str,
        code_point: u32,
    },
    #[error("description is {chars} characters long; at most {max} are accepted")]
    DescriptionTooLong { chars: usize, max: usize },
    #[error("category is missing: send one of {known}")]
    MissingCategory { known: String },
    #[error("unknown category {given:?}: use one of {known}")]
    UnknownCategory { given: String, known: String },
}

/// A GPS fix vaguer than this says nothing about which street a problem is on.
pub const MAX_ACCURACY_M: f64 = 100_000.0;

/// Checks a position given as named fields and returns it as a point (x = lon).
pub fn check_position(lat: f64, lon: f64) -> Result<Point<f64>, ReportError> {
    if !lat.is_finite() {
        return Err(ReportError::NotANumber {
            field: "lat",
            value: lat.to_string(),
        });
    }
    if !lon.is_finite() {
        return Err(ReportError::NotANumber {
            field: "lon",
            value: lon.to_string(),
        });
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(ReportError::LatitudeOutOfRange(lat));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(ReportError::LongitudeOutOfRange(lon));
    }
    Ok(Point::new(lon, lat))
}

/// The position of a submission: its fields when both are there, else the
/// photo's EXIF GPS, else a clear error naming the missing field.
pub fn resolve_position(
    submission: &Submission,
    exif_position: Option<Point<f64>>,
    exif_gps_problem: Option<&'static str>,
) -> Result<(Point<f64>, PositionSource), ReportError> {
    match (submission.lat, submission.lon) {
        (Some(lat), Some(lon)) => Ok((check_position(lat, lon)?, PositionSource::Request)),
        (None, None) => match (exif_position, exif_gps_problem) {
            (Some(point), _) => Ok((point, PositionSource::Exif)),
            (None, Some(problem)) => Err(ReportError::UnusableExifGps { problem }),
            (None, None) => Err(ReportError::MissingPosition { field: "lat/lon" }),
        },
        (None, Some(_)) => Err(ReportError::MissingPosition { field: "lat" }),
        (Some(_), None) => Err(ReportError::MissingPosition { field: "lon" }),
    }
}

/// Refuses control characters (other than tabs and line breaks) and
/// bidirectional overrides in text a person typed into the API: they would
/// reach supervisors' screens and exports as they are, and can make a text read
/// otherwise than it is. Replayed records keep their source's text as it was,
/// so this is not part of [`check_text`].
pub fn check_typed_text(submission: &Submission) -> Result<(), ReportError> {
    let hidden = |c: char| {
        (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    for (field, text) in [
        ("description", &submission.description),
        ("category", &submission.category),
    ] {
        if let Some(c) = text.as_deref().and_then(|t| t.chars().find(|&c| hidden(c))) {
            return Err(ReportError::InvisibleCharacter {
                field,
                code_point: u32::from(c),
            });
        }
    }
    Ok(())
}

/// Checks the free-text fields.
pub fn check_text(
    submission: &Submission,
    max_description_chars: usize,
) -> Result<(), ReportError> {
    if let Some(accuracy_m) = submission.accuracy_m
        && !(accuracy_m.is_finite() && accuracy_m > 0.0 && accuracy_m <= MAX_ACCURACY_M)
    {
        return Err(ReportError::BadAccuracy(accuracy_m));
    }
    if let Some(description) = &submission.description {
        let chars = description.chars().count();
        if chars > max_description_chars {
            return Err(ReportError::DescriptionTooLong {
                chars,
                max: max_description_chars,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_a_real_coordinate() {
        assert_eq!(check_position(0.0, 0.0), Ok(Point::new(0.0, 0.0)));
    }

    #[test]
    fn out_of_range_and_nan_are_named() {
        assert_eq!(
            check_position(91.0, 0.0),
            Err(ReportError::LatitudeOutOfRange(91.0))
        );
        assert_eq!(
            check_position(0.0, -180.5),
            Err(ReportError::LongitudeOutOfRange(-180.5))
        );
        let err = check_position(f64::NAN, 0.0).unwrap_err();
        assert!(err.to_string().starts_with("lat = NaN"), "{err}");
    }

    #[test]
    fn the_request_position_wins_over_exif_and_exif_fills_in() {
        let exif = Some(Point::new(1.0, 2.0));
        let both = Submission {
            lat: Some(42.0),
            lon: Some(-71.0),
            ..Submission::default()
        };
        assert_eq!(
            resolve_position(&both, exif, None),
            Ok((Point::new(-71.0, 42.0), PositionSource::Request))
        );
        let neither = Submission::default();
        assert_eq!(
            resolve_position(&neither, exif, None),
            Ok((Point::new(1.0, 2.0), PositionSource::Exif))
        );
        assert_eq!(
            resolve_position(&neither, None, None),
            Err(ReportError::MissingPosition { field: "lat/lon" })
        );
        let problem = "it lies outside -90..90 latitude or -180..180 longitude";
        let unusable = resolve_position(&neither, None, Some(problem)).unwrap_err();
        assert!(
            unusable.to_string().contains("EXIF GPS is unusable"),
            "{unusable}"
        );
        let half = Submission {
            lat: Some(0.0),
            ..Submission::default()
        };
        assert_eq!(
            resolve_position(&half, exif, None),
            Err(ReportError::MissingPosition { field: "lon" })
        );
    }

    #[test]
    fn long_descriptions_are_counted_in_characters() {
        let submission = Submission {
            description: Some("é".repeat(11)),
            ..Submission::default()
        };
        assert!(check_text(&submission, 11).is_ok());
        assert_eq!(
            check_text(&submission, 10),
            Err(ReportError::DescriptionTooLong { chars: 11, max: 10 })
        );
    }
}
