//! From GeoJSON text to raw features: CRS check, id and name properties, polygon
//! geometry with coordinate range checks. No validity check yet (see `repair`).

use std::collections::HashSet;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use geojson::{Feature, GeoJson, GeometryValue, JsonObject, JsonValue, PolygonType, Position};

use super::{BoundaryError, ImportOptions, Result};

/// One feature as the file gives it: geometry converted but not yet validated.
#[derive(Debug, Clone)]
pub(super) struct RawFeature {
    /// How errors and warnings name it: `#index (id …, name …)`.
    pub label: String,
    pub external_id: String,
    pub name: String,
    pub geometry: MultiPolygon<f64>,
    /// Small defects already mended while reading (unclosed rings).
    pub mended: Vec<String>,
}

/// Parses the whole file; fails on the first feature it cannot read.
pub(super) fn read_features(text: &str, opts: &ImportOptions) -> Result<Vec<RawFeature>> {
    let geojson: GeoJson = text
        .parse()
        .map_err(|err: geojson::Error| BoundaryError::InvalidGeoJson(err.to_string()))?;

    let features = match geojson {
        GeoJson::FeatureCollection(collection) => {
            check_crs(collection.foreign_members.as_ref())?;
            collection.features
        }
        GeoJson::Feature(feature) => {
            check_crs(feature.foreign_members.as_ref())?;
            vec![feature]
        }
        GeoJson::Geometry(_) => {
            return Err(BoundaryError::NotAFeatureCollection(
                "a bare geometry without id or name properties".to_string(),
            ));
        }
    };
    if features.is_empty() {
        return Err(BoundaryError::NoFeatures);
    }

    let mut seen_ids = HashSet::with_capacity(features.len());
    let mut raw_features = Vec::with_capacity(features.len());
    for (index, feature) in features.iter().enumerate() {
        let raw = read_feature(index, feature, opts)?;
        if !seen_ids.insert(raw.external_id.clone()) {
            return Err(BoundaryError::DuplicateId {
                feature: raw.label,
                external_id: raw.external_id,
            });
        }
        raw_features.push(raw);
    }
    Ok(raw_features)
}

/// Accepts no `crs`, a null one, or a named CRS84 / EPSG:4326 (read as lon, lat,
/// as every GeoJSON producer writes it); refuses anything else.
fn check_crs(foreign_members: Option<&JsonObject>) -> Result<()> {
    let Some(crs) = foreign_members.and_then(|members| members.get("crs")) else {
        return Ok(());
    };
    if crs.is_null() {
        return Ok(());
    }

    let name = crs
        .get("properties")
        .and_then(|properties| properties.get("name"))
        .and_then(JsonValue::as_str);
    match name {
        Some(name) if is_wgs84_lon_lat(name) => Ok(()),
        Some(name) => Err(BoundaryError::UnsupportedCrs(name.to_string())),
        None => Err(BoundaryError::UnsupportedCrs(crs.to_string())),
    }
}

fn is_wgs84_lon_lat(crs_name: &str) -> bool {
    let name = crs_name.trim().to_ascii_lowercase();
    let epsg_4326 = name.contains("epsg")
        && (name.ends_with(":4326") || name.ends_with("/4326"))
        && !name.ends_with("14326");
    name.ends_with("crs84") || epsg_4326
}

fn read_feature(index: usize, feature: &Feature, opts: &ImportOptions) -> Result<RawFeature> {
    let properties = feature.properties.as_ref();
    let id_value = properties.and_then(|p| p.get(&opts.id_field));
    let name_value = properties.and_then(|p| p.get(&opts.name_field));

    let external_id = property_text(id_value).or_else(|| top_level_id(feature, &opts.id_field));
    let name = property_text(name_value);
    let label = feature_label(index, external_id.as_deref(), name.as_deref());

    let external_id = external_id.ok_or_else(|| missing(&label, &opts.id_field, id_value))?;
    let name = name.ok_or_else(|| missing(&label, &opts.name_field, name_value))?;

    let mut mended = Vec::new();
    let geometry = read_geometry(feature, &label, &mut mended)?;
    Ok(RawFeature {
        label,
        external_id,
        name,
        geometry,
        mended,
    })
}

/// The feature-level `id` member stands in for an `id` property that is absent.
fn top_level_id(feature: &Feature, id_field: &str) -> Option<String> {
    if id_field != "id" {
        return None;
    }
    match feature.id.as_ref()? {
        geojson::feature::Id::String(text) if !text.trim().is_empty() => {
            Some(text.trim().to_string())
        }
        geojson::feature::Id::String(_) => None,
        geojson::feature::Id::Number(number) => Some(number.to_string()),
    }
}

fn property_text(value: Option<&JsonValue>) -> Option<String> {
    match value? {
        JsonValue::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        JsonValue::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn missing(label: &str, field: &str, value: Option<&JsonValue>) -> BoundaryError {
    let problem = match value {
        None => format!("property {field:?} is missing"),
        Some(JsonValue::Null) => format!("property {field:?} is null"),
        Some(other) => {
            format!("property {field:?} must be a non-empty string or a number, found {other}")
        }
    };
    BoundaryError::BadProperty {
        feature: label.to_string(),
        problem,
    }
}

fn feature_label(index: usize, external_id: Option<&str>, name: Option<&str>) -> String {
    match (external_id, name) {
        (Some(id), Some(name)) => format!("#{index} (id {id:?}, name {name:?})"),
        (Some(id), None) => format!("#{index} (id {id:?})"),
        (None, Some(name)) => format!("#{index} (name {name:?})"),
        (None, None) => format!("#{index}"),
    }
}

fn read_geometry(feature: &Feature, label: &str, mended: &mut Vec<String>) -> Result<MultiPolygon> {
    let bad = |problem: String| BoundaryError::BadGeometry {
        feature: label.to_string(),
        problem,
    };
    let Some(geometry) = feature.geometry.as_ref() else {
        return Err(bad("has no geometry".to_string()));
    };

    let polygons: Vec<&PolygonType> = match &geometry.value {
        GeometryValue::Polygon { coordinates } => vec![coordinates],
        GeometryValue::MultiPolygon { coordinates } => coordinates.iter().collect(),
        other => {
            return Err(bad(format!(
                "geometry is a {}; only Polygon and MultiPolygon are accepted",
                other.type_name()
            )));
        }
    };
    if polygons.is_empty() {
        return Err(bad("MultiPolygon has no polygon".to_string()));
    }

    let mut parts = Vec::with_capacity(polygons.len());
    for (part_index, rings) in polygons.into_iter().enumerate() {
        parts.push(read_polygon(rings, part_index, label, mended)?);
    }
    Ok(MultiPolygon::new(parts))
}

fn read_polygon(
    rings: &PolygonType,
    part_index: usize,
    label: &str,
    mended: &mut Vec<String>,
) -> Result<Polygon> {
    let mut converted = Vec::with_capacity(rings.len());
    for (ring_index, ring) in rings.iter().enumerate() {
        let mut coords = ring
            .iter()
            .map(|position| read_position(position, label))
            .collect::<Result<Vec<Coord>>>()?;

        if coords.first() != coords.last() {
            if let Some(&first) = coords.first() {
                coords.push(first);
            }
            mended.push(format!(
                "ring {ring_index} of polygon {part_index} was not closed"
            ));
        }
        if coords.len() < 4 {
            return Err(BoundaryError::BadGeometry {
                feature: label.to_string(),
                problem: format!(
                    "ring {ring_index} of polygon {part_index} has {} positions; a ring needs at least 4",
                    coords.len()
                ),
            });
        }
        converted.push(LineString::new(coords));
    }

    let mut rings = converted.into_iter();
    let Some(exterior) = rings.next() else {
        return Err(BoundaryError::BadGeometry {
            feature: label.to_string(),
            problem: format!("polygon {part_index} has no ring"),
        });
    };
    Ok(Polygon::new(exterior, rings.collect()))
}

fn read_position(position: &Position, label: &str) -> Result<Coord> {
    if position.len() < 2 {
        return Err(BoundaryError::BadGeometry {
            feature: label.to_string(),
            problem: format!(
                "position {:?} has fewer than 2 numbers",
                position.as_slice()
            ),
        });
    }

    let (lon, lat) = (position[0], position[1]);
    let in_range =
        |lon: f64, lat: f64| (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat);
    if !in_range(lon, lat) {
        let hint = if in_range(lat, lon) {
            " (it looks like [lat, lon]; GeoJSON positions are [lon, lat])"
        } else {
            ""
        };
        return Err(BoundaryError::CoordinateOutOfRange {
            feature: label.to_string(),
            lon,
            lat,
            hint,
        });
    }
    Ok(Coord { x: lon, y: lat })
}
