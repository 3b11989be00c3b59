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
    /// Why GPS tags that are there gave no position (out of range, unreadable).
    pub gps_problem: Option<&'static str>,
}

impl Default for ExifInfo {
    fn default() -> Self {
        Self {
            orientation: 1,
            position: None,
            gps_problem: None,
        }
    }
}

/// Reads Orientation and GPS from a JPEG, PNG or WebP; no EXIF at all gives the defaults.
pub fn read_exif(bytes: &[u8]) -> ExifInfo {
    // Phones write vendor fields that strict parsing rejects (the Nokia 8.3 fixture does);
    // keep every tag that did parse instead of losing GPS and Orientation with them.
    let parsed = exif::Reader::new()
        .continue_on_error(true)
        .read_from_container(&mut Cursor::new(bytes))
        .or_else(|e| {
            e.distill_partial_result(|errors| {
                tracing::debug!(count = errors.len(), "skipped malformed EXIF fields");
            })
        });
    let Ok(exif) = parsed else {
        return ExifInfo::default();
    };
    let (position, gps_problem) = match gps_position(&exif) {
        Ok(position) => (position, None),
        Err(problem) => (None, Some(problem)),
    };
    ExifInfo {
        orientation: orientation(&exif),
        position,
        gps_problem,
    }
}

fn orientation(exif: &Exif) -> u8 {
    exif.get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| (1..=8).contains(v))
        .unwrap_or(1)
}

/// The GPS position; `Ok(None)` without GPS tags, `Err` when they are there
/// but give no usable position.
fn gps_position(exif: &Exif) -> Result<Option<Point<f64>>, &'static str> {
    let present = |tag| exif.get_field(tag, In::PRIMARY).is_some();
    if !present(Tag::GPSLatitude) && !present(Tag::GPSLongitude) {
        return Ok(None);
    }
    let lat = signed_degrees(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S');
    let lon = signed_degrees(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W');
    let (Some(lat), Some(lon)) = (lat, lon) else {
        return Err("its latitude or longitude is missing or unreadable");
    };
    if lat.abs() > 90.0 || lon.abs() > 180.0 {
        return Err("it lies outside -90..90 latitude or -180..180 longitude");
    }
    Ok(Some(Point::new(lon, lat)))
}

/// Degrees/minutes/seconds to signed decimal degrees; the ref letter `negative` flips the sign.
/// A missing ref is read as N or E, which is what cameras that omit it mean.
fn signed_degrees(exif: &Exif, value_tag: Tag, ref_tag: Tag, negative: u8) -> Option<f64> {
    let field = exif.get_field(value_tag, In::PRIMARY)?;
    // The standard says RATIONAL; some phones (Nokia 8.3) write SRATIONAL.
    let parts: Vec<f64> = match &field.value {
        Value::Rational(parts) => parts.iter().map(|p| p.to_f64()).collect(),
        Value::SRational(parts) => parts.iter().map(|p| p.to_f64()).collect(),
        _ => return None,
    };
    if parts.is_empty() || parts.iter().any(|p| !p.is_finite() || *p < 0.0) {
        return None;
    }
    let degrees: f64 = parts
        .iter()
        .zip([1.0, 60.0, 3600.0])
        .map(|(part, unit)| part / unit)
        .sum();

    let reference = exif
        .get_field(ref_tag, In::PRIMARY)
        .and_then(|f| match &f.value {
            Value::Ascii(strings) => strings.first().and_then(|s| s.first()).copied(),
            _ => None,
        });
    let negative = reference.is_some_and(|r| r.eq_ignore_ascii_case(&negative));
    Some(if negative { -degrees } else { degrees })
}
