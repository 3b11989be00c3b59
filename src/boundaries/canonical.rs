//! A canonical form of boundary geometry: the same area drawn with another ring
//! direction, another starting vertex or another order of parts becomes the very
//! same sequence of coordinates.
//!
//! Two things rely on it: the content hash of an imported file (an unchanged file
//! re-imported, even re-serialised, is recognised) and the routing tie-break, whose
//! geodesic areas must not depend on vertex order down to the last bit.

use std::cmp::Ordering;

use geo::{Coord, GeodesicArea, LineString, MultiPolygon, Polygon, Winding};
use sha2::{Digest, Sha256};

/// Returns `geometry` with exteriors counter-clockwise, holes clockwise, every ring
/// starting at its smallest (lon, lat) vertex, and holes and parts sorted.
pub fn canonical_multi_polygon(geometry: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let mut polygons: Vec<Polygon<f64>> = geometry.iter().map(canonical_polygon).collect();
    polygons.sort_by(|a, b| compare_rings(a.exterior(), b.exterior()));
    MultiPolygon::new(polygons)
}

/// Geodesic area in square metres, computed on the canonical form so that it is
/// bit-for-bit the same whatever the input's vertex order or winding.
pub fn canonical_area_m2(geometry: &MultiPolygon<f64>) -> f64 {
    canonical_multi_polygon(geometry)
        .iter()
        .map(|polygon| polygon.geodesic_area_signed().abs())
        .sum()
}

/// Feeds one feature (id, name, canonical geometry) into a running content hash.
pub fn hash_feature(hasher: &mut Sha256, external_id: &str, name: &str, geometry: &MultiPolygon) {
    hash_text(hasher, external_id);
    hash_text(hasher, name);

    let canonical = canonical_multi_polygon(geometry);
    hasher.update((canonical.0.len() as u64).to_le_bytes());
    for polygon in canonical.iter() {
        hasher.update((polygon.interiors().len() as u64 + 1).to_le_bytes());
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            hasher.update((ring.0.len() as u64).to_le_bytes());
            for coord in ring.coords() {
                // 0.0 and -0.0 are the same position; hash them alike.
                hasher.update((coord.x + 0.0).to_bits().to_le_bytes());
                hasher.update((coord.y + 0.0).to_bits().to_le_bytes());
            }
        }
    }
}

fn hash_text(hasher: &mut Sha256, text: &str) {
    hasher.update((text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
}

fn canonical_polygon(polygon: &Polygon<f64>) -> Polygon<f64> {
    let exterior = canonical_ring(polygon.exterior(), true);
    let mut interiors: Vec<LineString<f64>> = polygon
        .interiors()
        .iter()
        .map(|ring| canonical_ring(ring, false))
        .collect();
    interiors.sort_by(compare_rings);
    Polygon::new(exterior, interiors)
}

/// Rotates a closed ring to start at its smallest vertex and orients it.
fn canonical_ring(ring: &LineString<f64>, counter_clockwise: bool) -> LineString<f64> {
    let mut coords: Vec<Coord<f64>> = ring.0.clone();
    if coords.len() > 1 && coords.first() == coords.last() {
        coords.pop();
    }
    if coords.is_empty() {
        return LineString::new(coords);
    }

    let start = (0..coords.len())
        .min_by(|&a, &b| compare_coords(&coords[a], &coords[b]))
        .unwrap_or(0);
    coords.rotate_left(start);

    let mut closed = coords.clone();
    closed.push(coords[0]);
    let is_ccw = match LineString::new(closed).winding_order() {
        Some(order) => order == geo::winding_order::WindingOrder::CounterClockwise,
        // Degenerate (collinear) ring: no winding, so pick the direction whose
        // second vertex is the smaller one; still independent of input order.
        None => {
            compare_coords(&coords[1.min(coords.len() - 1)], &coords[coords.len() - 1])
                != Ordering::Greater
        }
    };
    if is_ccw != counter_clockwise {
        coords[1..].reverse();
    }

    coords.push(coords[0]);
    LineString::new(coords)
}

fn compare_coords(a: &Coord<f64>, b: &Coord<f64>) -> Ordering {
    a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y))
}

fn compare_rings(a: &LineString<f64>, b: &LineString<f64>) -> Ordering {
    for (ca, cb) in a.0.iter().zip(b.0.iter()) {
        let order = compare_coords(ca, cb);
        if order != Ordering::Equal {
            return order;
        }
    }
    a.0.len().cmp(&b.0.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, wkt};

    #[test]
    fn reversed_and_rotated_rings_become_identical() {
        let a: Polygon<f64> =
            wkt!(POLYGON((0. 0., 4. 0., 4. 3., 0. 3., 0. 0.),(1. 1., 1. 2., 2. 2., 1. 1.)));
        let b: Polygon<f64> = polygon![
            exterior: [(x: 4., y: 3.), (x: 4., y: 0.), (x: 0., y: 0.), (x: 0., y: 3.), (x: 4., y: 3.)],
            interiors: [[(x: 2., y: 2.), (x: 1., y: 2.), (x: 1., y: 1.), (x: 2., y: 2.)]],
        ];
        let ca = canonical_multi_polygon(&MultiPolygon::new(vec![a]));
        let cb = canonical_multi_polygon(&MultiPolygon::new(vec![b]));
        assert_eq!(ca, cb);
        assert!(ca.0[0].exterior().is_ccw());
        assert!(ca.0[0].interiors()[0].is_cw());
    }

    #[test]
    fn area_is_identical_for_both_windings() {
        let a: Polygon<f64> = wkt!(POLYGON((10. 50., 10.01 50., 10.01 50.01, 10. 50.01, 10. 50.)));
        let mut b = a.clone();
        b.exterior_mut(|ring| ring.0.reverse());
        let area_a = canonical_area_m2(&MultiPolygon::new(vec![a]));
        let area_b = canonical_area_m2(&MultiPolygon::new(vec![b]));
        assert_eq!(area_a.to_bits(), area_b.to_bits());
        // 0.01° × 0.01° at 50° N is about 1.11 km × 0.715 km.
        assert!((area_a - 795_000.0).abs() < 5_000.0, "{area_a}");
    }
}
