//! A polygon prepared for fast exact point location.
//!
//! The polygon's edges (all rings together) are sorted into horizontal bands of
//! equal height; each band lists every edge whose latitude range touches it. A
//! point is located by a crossing-number test (a ray towards +lon) over the edges of
//! its own band only: a few edges instead of the thousands a real district has.
//! Crossings use the half-open rule on each edge and geo's robust orientation
//! predicate, so the answer is exact, does not depend on ring direction or start
//! vertex, and a point exactly on an edge is reported as on the boundary.

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{Coord, Distance, Haversine, Point, Polygon};

/// Metres per degree of latitude on geo's mean earth radius (the haversine sphere).
const METRES_PER_DEGREE: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// Where a point lies relative to a polygon (holes honoured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointPosition {
    Outside,
    OnBoundary,
    Inside,
}

#[derive(Debug, Clone, Copy)]
struct Edge {
    a: Coord<f64>,
    b: Coord<f64>,
}

impl Edge {
    fn min_y(&self) -> f64 {
        self.a.y.min(self.b.y)
    }

    fn max_y(&self) -> f64 {
        self.a.y.max(self.b.y)
    }
}

/// A polygon's edges bucketed by latitude band; see the module docs.
#[derive(Debug, Clone)]
pub struct PolygonIndex {
    min_y: f64,
    bands_per_degree: f64,
    last_band: usize,
    /// `band_starts[i]..band_starts[i + 1]` is band `i`'s slice of `edges`.
    band_starts: Vec<u32>,
    edges: Vec<Edge>,
}

impl PolygonIndex {
    /// Prepares `polygon`; cost and memory are linear in its vertices for
    /// real-world shapes (an edge spanning many bands is stored in each).
    pub fn new(polygon: &Polygon<f64>) -> Self {
        let edges: Vec<Edge> = std::iter::once(polygon.exterior())
            .chain(polygon.interiors())
            .flat_map(|ring| ring.lines())
            .filter(|line| line.start != line.end)
            .map(|line| Edge {
                a: line.start,
                b: line.end,
            })
            .collect();

        let min_y = edges.iter().map(Edge::min_y).fold(f64::INFINITY, f64::min);
        let max_y = edges
            .iter()
            .map(Edge::max_y)
            .fold(f64::NEG_INFINITY, f64::max);
        let height = max_y - min_y;
        // About one band per two edges keeps a band's list short without letting
        // long edges (copied into every band they cross) blow up memory.
        let band_count = (edges.len() / 2).clamp(1, 1 << 16);
        let bands_per_degree = if height > 0.0 {
            band_count as f64 / height
        } else {
            0.0
        };

        let mut index = PolygonIndex {
            min_y: if min_y.is_finite() { min_y } else { 0.0 },
            bands_per_degree,
            last_band: band_count - 1,
            band_starts: Vec::new(),
            edges: Vec::new(),
        };
        index.fill_bands(&edges, band_count);
        index
    }

    /// Counting sort of the edges into their bands.
    fn fill_bands(&mut self, edges: &[Edge], band_count: usize) {
        let mut counts = vec![0u32; band_count + 1];
        for edge in edges {
            for band in self.band_of(edge.min_y())..=self.band_of(edge.max_y()) {
                counts[band + 1] += 1;
            }
        }
        for band in 0..band_count {
            counts[band + 1] += counts[band];
        }

        let mut next = counts.clone();
        let placeholder = Edge {
            a: Coord::zero(),
            b: Coord::zero(),
        };
        self.edges = vec![placeholder; counts[band_count] as usize];
        for edge in edges {
            let bands = self.band_of(edge.min_y())..=self.band_of(edge.max_y());
            for slot in &mut next[bands] {
                self.edges[*slot as usize] = *edge;
                *slot += 1;
            }
        }
        self.band_starts = counts;
    }

    /// The band holding latitude `y`; values outside the polygon's range clamp to
    /// the first or last band (callers check the bounding box first).
    fn band_of(&self, y: f64) -> usize {
        // A float-to-int cast saturates: below the range (or NaN) gives band 0.
        (((y - self.min_y) * self.bands_per_degree) as usize).min(self.last_band)
    }

    fn band_edges(&self, band: usize) -> &[Edge] {
        let start = self.band_starts[band] as usize;
        let end = self.band_starts[band + 1] as usize;
        &self.edges[start..end]
    }

    /// Exact location of `point`: inside, on an edge, or outside.
    pub fn locate(&self, point: Coord<f64>) -> PointPosition {
        let mut inside = false;
        for edge in self.band_edges(self.band_of(point.y)) {
            if point.y < edge.min_y() || point.y > edge.max_y() {
                continue;
            }

            if (edge.a.y > point.y) != (edge.b.y > point.y) {
                let (low, high) = if edge.a.y < edge.b.y {
                    (edge.a, edge.b)
                } else {
                    (edge.b, edge.a)
                };
                match RobustKernel::orient2d(low, high, point) {
                    Orientation::Collinear => return PointPosition::OnBoundary,
                    // Left of an upward edge: the ray towards +lon crosses it.
                    Orientation::CounterClockwise => inside = !inside,
                    Orientation::Clockwise => {}
                }
            } else if point.x >= edge.a.x.min(edge.b.x)
                && point.x <= edge.a.x.max(edge.b.x)
                && RobustKernel::orient2d(edge.a, edge.b, point) == Orientation::Collinear
            {
                // A vertex at the point's latitude, or a horizontal edge through it.
                return PointPosition::OnBoundary;
            }
        }

        if inside {
            PointPosition::Inside
        } else {
            PointPosition::Outside
        }
    }

    /// Haversine distance in metres from `point` to the nearest point of the
    /// polygon's border, when that is at most `within_m`; `None` when farther.
    ///
    /// The nearest point of each edge is found in a local equirectangular frame
    /// around `point`, which is exact enough (well under 1 %) for the GPS
    /// accuracies this serves (metres to a few kilometres).
    pub fn distance_to_border_m(&self, point: Coord<f64>, within_m: f64) -> Option<f64> {
        let reach_lat = within_m / METRES_PER_DEGREE * 1.01;
        let cos_lat = point.y.to_radians().cos().max(1e-6);
        let reach_lon = reach_lat / cos_lat;

        let first_band = self.band_of(point.y - reach_lat);
        let last_band = self.band_of(point.y + reach_lat);
        let mut nearest_m: Option<f64> = None;
        for band in first_band..=last_band {
            for edge in self.band_edges(band) {
                let beyond_lon = edge.a.x.min(edge.b.x) > point.x + reach_lon
                    || edge.a.x.max(edge.b.x) < point.x - reach_lon;
                let beyond_lat =
                    edge.min_y() > point.y + reach_lat || edge.max_y() < point.y - reach_lat;
                if beyond_lon || beyond_lat {
                    continue;
                }
                let closest = closest_on_edge(edge, point, cos_lat);
                let distance_m = Haversine.distance(Point(point), Point(closest));
                if distance_m <= within_m && nearest_m.is_none_or(|best| distance_m < best) {
                    nearest_m = Some(distance_m);
                }
            }
        }
        nearest_m
    }
}

/// Nearest point of `edge` to `point`, in a frame where a degree of longitude is
/// shrunk by `cos_lat` so that both axes measure alike.
fn closest_on_edge(edge: &Edge, point: Coord<f64>, cos_lat: f64) -> Coord<f64> {
    let ab = Coord {
        x: (edge.b.x - edge.a.x) * cos_lat,
        y: edge.b.y - edge.a.y,
    };
    let ap = Coord {
        x: (point.x - edge.a.x) * cos_lat,
        y: point.y - edge.a.y,
    };
    let length_sq = ab.x * ab.x + ab.y * ab.y;
    let t = if length_sq > 0.0 {
        ((ap.x * ab.x + ap.y * ab.y) / length_sq).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Coord {
        x: edge.a.x + t * (edge.b.x - edge.a.x),
        y: edge.a.y + t * (edge.b.y - edge.a.y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::wkt;

    fn square_with_hole() -> Polygon<f64> {
        wkt!(POLYGON((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.),(4. 4., 6. 4., 6. 6., 4. 6., 4. 4.)))
    }

    fn at(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn holes_are_outside() {
        let index = PolygonIndex::new(&square_with_hole());
        assert_eq!(index.locate(at(2.0, 2.0)), PointPosition::Inside);
        assert_eq!(index.locate(at(5.0, 5.0)), PointPosition::Outside);
        assert_eq!(index.locate(at(11.0, 5.0)), PointPosition::Outside);
        assert_eq!(index.locate(at(4.0, 5.0)), PointPosition::OnBoundary);
    }

    #[test]
    fn vertices_and_horizontal_edges_are_boundary() {
        let index = PolygonIndex::new(&square_with_hole());
        assert_eq!(index.locate(at(0.0, 0.0)), PointPosition::OnBoundary);
        assert_eq!(index.locate(at(7.0, 10.0)), PointPosition::OnBoundary);
        assert_eq!(index.locate(at(10.0, 3.0)), PointPosition::OnBoundary);
        assert_eq!(index.locate(at(-1.0, 0.0)), PointPosition::Outside);
        assert_eq!(index.locate(at(-1.0, 10.0)), PointPosition::Outside);
    }

    #[test]
    fn ray_through_a_vertex_counts_once() {
        // A diamond: the ray from (0, 0) passes exactly through the vertex (2, 0).
        let diamond: Polygon<f64> = wkt!(POLYGON((-2. 0., 0. -2., 2. 0., 0. 2., -2. 0.)));
        let index = PolygonIndex::new(&diamond);
        assert_eq!(index.locate(at(0.0, 0.0)), PointPosition::Inside);
        assert_eq!(index.locate(at(-3.0, 0.0)), PointPosition::Outside);
    }

    #[test]
    fn distance_to_border_in_metres() {
        // 0.001° of longitude at the equator is about 111.2 m.
        let square: Polygon<f64> = wkt!(POLYGON((0. 0., 0.01 0., 0.01 0.01, 0. 0.01, 0. 0.)));
        let index = PolygonIndex::new(&square);
        let distance_m = index.distance_to_border_m(at(0.001, 0.005), 500.0);
        let distance_m = distance_m.expect("within 500 m");
        assert!((distance_m - 111.2).abs() < 0.5, "{distance_m}");
        assert_eq!(index.distance_to_border_m(at(0.005, 0.005), 100.0), None);
    }
}
