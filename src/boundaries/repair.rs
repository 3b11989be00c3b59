//! Validity check and repair of one boundary feature.
//!
//! The repair treats each exterior ring as "everything it encloses, counted with a
//! non-zero winding" (so both lobes of a self-crossing ring survive), removes the
//! holes the same way, and unions the parts (so overlapping or line-touching parts
//! merge). It relies on geo's boolean operations, which produce OGC-valid output;
//! the result is validated again and refused if it still is not valid.

use geo::algorithm::bool_ops::FillRule;
use geo::{Area, BooleanOps, MultiPolygon, Orient, Polygon, Validation, orient::Direction};

use super::canonical::canonical_area_m2;
use super::read::RawFeature;
use super::{BoundaryError, Result};

/// A feature's geometry ready to use, and what was changed to get it (if anything).
#[derive(Debug, Clone, PartialEq)]
pub struct RepairOutcome {
    /// Valid geometry, exteriors counter-clockwise, holes clockwise.
    pub geometry: MultiPolygon<f64>,
    /// `None` when the feature was valid as given.
    pub what_changed: Option<String>,
}

/// Returns the feature's geometry if valid; otherwise repairs it (refused when
/// `strict`) or fails naming it.
pub(super) fn check_and_repair(raw: &RawFeature, strict: bool) -> Result<RepairOutcome> {
    let mut problems: Vec<String> = raw
        .geometry
        .validation_errors()
        .iter()
        .map(ToString::to_string)
        .collect();
    problems.dedup();
    problems.extend(zero_area_polygons(&raw.geometry));
    let geometry_valid = problems.is_empty();
    problems.extend(raw.mended.iter().cloned());

    if problems.is_empty() {
        return Ok(RepairOutcome {
            geometry: raw.geometry.orient(Direction::Default),
            what_changed: None,
        });
    }

    let reason = problems.join("; ");
    if strict {
        return Err(BoundaryError::InvalidFeature {
            feature: raw.label.clone(),
            reason,
        });
    }
    if geometry_valid {
        // Only mended while reading (a ring closed): nothing geometric to redo.
        return Ok(RepairOutcome {
            geometry: raw.geometry.orient(Direction::Default),
            what_changed: Some(reason),
        });
    }

    let repaired = repair_geometry(&raw.geometry);
    verify_repaired(raw, &reason, &repaired)?;
    let what_changed = describe_change(&reason, &raw.geometry, &repaired);
    Ok(RepairOutcome {
        geometry: repaired,
        what_changed: Some(what_changed),
    })
}

/// geo's validation accepts a ring whose vertices all lie on one line; such a
/// polygon encloses nothing and can only be an error in the source.
fn zero_area_polygons(geometry: &MultiPolygon<f64>) -> Vec<String> {
    geometry
        .iter()
        .enumerate()
        .filter(|(_, polygon)| polygon.exterior().0.len() >= 4 && polygon.unsigned_area() == 0.0)
        .map(|(index, _)| format!("polygon at index {index} encloses no area"))
        .collect()
}

/// Rebuilds a valid multipolygon covering what the invalid one meant to cover.
pub(super) fn repair_geometry(geometry: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let nothing = MultiPolygon::<f64>::new(Vec::new());
    let mut pieces: Vec<Polygon<f64>> = Vec::new();

    for polygon in geometry.iter() {
        let shell = Polygon::new(polygon.exterior().clone(), Vec::new())
            .union_with_fill_rule(&nothing, FillRule::NonZero);
        if polygon.interiors().is_empty() {
            pieces.extend(shell);
            continue;
        }
        let holes: Vec<Polygon<f64>> = polygon
            .interiors()
            .iter()
            .map(|ring| Polygon::new(ring.clone(), Vec::new()))
            .collect();
        let holes = MultiPolygon::new(holes).union_with_fill_rule(&nothing, FillRule::NonZero);
        pieces.extend(shell.difference(&holes));
    }

    // Every piece is valid now; with consistent winding a non-zero union merges
    // overlapping parts while keeping each piece's holes.
    let pieces = MultiPolygon::new(pieces).orient(Direction::Default);
    pieces
        .union_with_fill_rule(&nothing, FillRule::NonZero)
        .orient(Direction::Default)
}

fn verify_repaired(raw: &RawFeature, reason: &str, repaired: &MultiPolygon<f64>) -> Result<()> {
    let failure = if repaired.0.is_empty() {
        Some("nothing of positive area is left".to_string())
    } else {
        repaired
            .validation_errors()
            .first()
            .map(|problem| format!("still invalid after repair: {problem}"))
    };
    match failure {
        None => Ok(()),
        Some(failure) => Err(BoundaryError::Unrepairable {
            feature: raw.label.clone(),
            reason: reason.to_string(),
            failure,
        }),
    }
}

fn describe_change(reason: &str, before: &MultiPolygon<f64>, after: &MultiPolygon<f64>) -> String {
    let km2 = |m2: f64| m2 / 1.0e6;
    format!(
        "{reason}; repaired: area {:.4} km² as drawn → {:.4} km², polygons {} → {}",
        km2(canonical_area_m2(before)),
        km2(canonical_area_m2(after)),
        before.0.len(),
        after.0.len(),
    )
}
