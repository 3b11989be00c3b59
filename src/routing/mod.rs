//! Routing: deciding the jurisdiction of a report's position.
//!
//! An R-tree (`rstar`) over the envelopes of every jurisdiction polygon finds the
//! few candidates whose box holds the point; each candidate is then tested exactly
//! with its [`PolygonIndex`] (a latitude-banded edge index), so the cost per report
//! stays near constant however many vertices a real district has.
//!
//! # Which jurisdiction wins
//! A point on a border counts as inside (covered by) the polygon. Among the
//! jurisdictions that contain it:
//! 1. the most specific level wins (highest `level_rank`);
//! 2. within that level, the smaller geodesic area wins, then the lower id.
//!
//! The area is computed on a canonical form of the geometry, so the answer is the
//! same every run and whatever the vertex order or ring winding of the source.
//! When a second jurisdiction of the winning level also contains the point (a
//! shared border, or overlapping neighbours) the result carries `overlap`.
//! For each other level, the jurisdiction chosen by the same rule is listed in
//! `containing`, most specific level first.

mod polygon_index;

use geo::{BoundingRect, Coord, MultiPolygon, Point};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use crate::boundaries::canonical::canonical_area_m2;

pub use polygon_index::{PointPosition, PolygonIndex};

/// One jurisdiction's boundary as the router needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct JurisdictionShape {
    /// The jurisdiction's database id.
    pub id: i64,
    /// Position of its level in the user's ordering; higher is more specific
    /// (e.g. region 0, municipality 1, district 2).
    pub level_rank: u32,
    /// Its boundary in WGS84 (lon, lat); either ring winding.
    pub geometry: MultiPolygon<f64>,
}

/// The jurisdiction a point was routed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// The winning jurisdiction (most specific level; see the module docs).
    pub jurisdiction_id: i64,
    /// One containing jurisdiction per other level, most specific first.
    pub containing: Vec<i64>,
    /// Another jurisdiction of the winner's level also contains the point (shared
    /// border or overlapping polygons); the tie-break picked the winner.
    pub overlap: bool,
    /// The point is closer to the winner's border than its stated GPS accuracy.
    pub near_boundary: bool,
}

/// What routing a point gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOutcome {
    /// Inside at least one jurisdiction.
    Routed(Routing),
    /// Outside every jurisdiction. `likely_swapped` when the same point with
    /// latitude and longitude exchanged would be inside one: a hint for the user.
    Outside { likely_swapped: bool },
}

#[derive(Debug, Clone)]
struct Jurisdiction {
    id: i64,
    level_rank: u32,
    parts: Vec<PolygonIndex>,
}

/// Envelope of one polygon (one part of a jurisdiction's multipolygon), carrying
/// (jurisdiction index, part index).
type PartEnvelope = GeomWithData<Rectangle<[f64; 2]>, (usize, usize)>;

/// Point-in-polygon router over all jurisdictions of all levels; immutable once
/// built, cheap to share between threads behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Router {
    tree: RTree<PartEnvelope>,
    /// Sorted by precedence (level desc, area asc, id asc): a lower index wins.
    jurisdictions: Vec<Jurisdiction>,
}

impl Router {
    /// Builds the router; cost is linear in the total number of vertices.
    pub fn new(shapes: Vec<JurisdictionShape>) -> Router {
        let mut ranked: Vec<(f64, JurisdictionShape)> = shapes
            .into_iter()
            .map(|shape| (canonical_area_m2(&shape.geometry), shape))
            .collect();
        ranked.sort_by(|(area_a, a), (area_b, b)| {
            b.level_rank
                .cmp(&a.level_rank)
                .then(area_a.total_cmp(area_b))
                .then(a.id.cmp(&b.id))
        });

        let mut envelopes = Vec::new();
        let mut jurisdictions = Vec::with_capacity(ranked.len());
        for (index, (_, shape)) in ranked.into_iter().enumerate() {
            let mut parts = Vec::with_capacity(shape.geometry.0.len());
            for polygon in shape.geometry.iter() {
                let Some(rect) = polygon.bounding_rect() else {
                    continue;
                };
                let corners = Rectangle::from_corners(rect.min().into(), rect.max().into());
                envelopes.push(PartEnvelope::new(corners, (index, parts.len())));
                parts.push(PolygonIndex::new(polygon));
            }
            jurisdictions.push(Jurisdiction {
                id: shape.id,
                level_rank: shape.level_rank,
                parts,
            });
        }

        tracing::debug!(
            jurisdictions = jurisdictions.len(),
            polygons = envelopes.len(),
            "built the routing index"
        );
        Router {
            tree: RTree::bulk_load(envelopes),
            jurisdictions,
        }
    }

    /// Number of jurisdictions the router knows.
    pub fn len(&self) -> usize {
        self.jurisdictions.len()
    }

    /// Whether the router knows no jurisdiction at all.
    pub fn is_empty(&self) -> bool {
        self.jurisdictions.is_empty()
    }

    /// Routes a position (x = lon, y = lat). `accuracy_m` is the report's GPS
    /// accuracy radius; when given, `near_boundary` says whether the border of the
    /// chosen jurisdiction lies within it. Non-finite coordinates are `Outside`.
    pub fn route(&self, point: Point<f64>, accuracy_m: Option<f64>) -> RouteOutcome {
        let hits = self.containing_indices(point.0);
        let Some(&winner_index) = hits.first() else {
            return RouteOutcome::Outside {
                likely_swapped: self.would_route_swapped(point.0),
            };
        };

        let winner = &self.jurisdictions[winner_index];
        let mut containing = Vec::new();
        let mut overlap = false;
        let mut previous_level = winner.level_rank;
        for &index in &hits[1..] {
            let jurisdiction = &self.jurisdictions[index];
            if jurisdiction.level_rank == winner.level_rank {
                overlap = true;
            } else if jurisdiction.level_rank != previous_level {
                // Hits are in precedence order, so the first of each level wins it.
                containing.push(jurisdiction.id);
                previous_level = jurisdiction.level_rank;
            }
        }

        let near_boundary = accuracy_m
            .filter(|accuracy_m| accuracy_m.is_finite() && *accuracy_m > 0.0)
            .is_some_and(|accuracy_m| {
                winner
                    .parts
                    .iter()
                    .any(|part| part.distance_to_border_m(point.0, accuracy_m).is_some())
            });

        RouteOutcome::Routed(Routing {
            jurisdiction_id: winner.id,
            containing,
            overlap,
            near_boundary,
        })
    }

    /// Ids of every jurisdiction (all levels) whose polygon covers the point, in
    /// precedence order: the first is the one [`Router::route`] picks.
    pub fn containing_ids(&self, point: Point<f64>) -> Vec<i64> {
        self.containing_indices(point.0)
            .into_iter()
            .map(|index| self.jurisdictions[index].id)
            .collect()
    }

    /// Indices of the jurisdictions covering `coord`, ascending (= precedence).
    fn containing_indices(&self, coord: Coord<f64>) -> Vec<usize> {
        let mut hits: Vec<usize> = Vec::new();
        if !(coord.x.is_finite() && coord.y.is_finite()) {
            return hits;
        }

        for envelope in self.tree.locate_all_at_point(&[coord.x, coord.y]) {
            let (index, part) = envelope.data;
            if hits.contains(&index) {
                continue;
            }
            if self.jurisdictions[index].parts[part].locate(coord) != PointPosition::Outside {
                hits.push(index);
            }
        }
        hits.sort_unstable();
        hits
    }

    fn would_route_swapped(&self, coord: Coord<f64>) -> bool {
        let swapped = Coord {
            x: coord.y,
            y: coord.x,
        };
        let in_range = swapped.x.abs() <= 180.0 && swapped.y.abs() <= 90.0;
        in_range && swapped != coord && !self.containing_indices(swapped).is_empty()
    }
}

#[cfg(test)]
mod tests;
