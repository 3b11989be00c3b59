//! The two EXIF facts cityfix uses: Orientation and the GPS position.

use std::io::Cursor;

use exif::{Exif, In, Tag, Value};
use geo::Point;

/// EXIF facts read from an upload; missing or malformed tags give the defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExifInfo {
    /// Orientation 1–8; 1 when absent or out of range (0 is seen in the wild).
    pub orientation: u8,
    /// GPS position (x = lon, y = lat) with N/S/E/W refs applied, when present and in range.
    pub position: Option<Point<f64>>,
}

impl Default for ExifInfo {
    fn default() -> Self {
        Self {
            orientation: 1,
            position: None,
        }
    }
}

/// Reads Orientation and GPS from a JPEG, PNG or WebP; no EXIF at all gives the defaults.
pub fn read_exif(bytes: &[u8]) -> ExifInfo {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return ExifInfo::default();
    };
    ExifInfo {
        orientation: orientation(&exif),
        position: gps_position(&exif),
    }
}

fn orientation(exif: &Exif) -> u8 {
    exif.get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| (1..=8).contains(v))
        .unwrap_or(1)
}

fn gps_position(exif: &Exif) -> Option<Point<f64>> {
    let lat = signed_degrees(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')?;
    let lon = signed_degrees(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')?;
    let in_range = lat.abs() <= 90.0 && lon.abs() <= 180.0;
    in_range.then(|| Point::new(lon, lat))
}

/// Degrees/minutes/seconds to signed decimal degrees; the ref letter `negative` flips the sign.
/// A missing ref is read as N or E, which is what cameras that omit it mean.
fn signed_degrees(exif: &Exif, value_tag: Tag, ref_tag: Tag, negative: u8) -> Option<f64> {
    let field = exif.get_field(value_tag, In::PRIMARY)?;
    let Value::Rational(parts) = &field.value else {
        return None;
    };
    let mut degrees = 0.0;
    for (part, unit) in parts.iter().zip([1.0, 60.0, 3600.0]) {
        let value = part.to_f64();
        if !value.is_finite() {
            return None;
        }
        degrees += value / unit;
    }
    if parts.is_empty() {
        return None;
    }

    let reference = exif
        .get_field(ref_tag, In::PRIMARY)
        .and_then(|f| match &f.value {
            Value::Ascii(strings) => strings.first().and_then(|s| s.first()).copied(),
            _ => None,
        });
    let negative = reference.is_some_and(|r| r.eq_ignore_ascii_case(&negative));
    Some(if negative { -degrees } else { degrees })
}
