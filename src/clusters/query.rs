//! Answering "which clusters are in this box at this zoom", counting exactly.

use geo::Point;

use super::grid::{SortedGrid, lat_of_y, lon_of_x, x_of_lon, y_of_lat};
use super::index::{Gathered, MAX_QUERY_ZOOM, NO_EXPANSION, Node, gather};
use super::{Cluster, ClusterError, ClusterIndex, Result};
use crate::heatmap::Bbox;

/// How many member ids a cluster shows as a sample.
const SAMPLE_SIZE: usize = 5;

/// A query box in Web Mercator units (y grows southwards).
#[derive(Debug, Clone, Copy)]
struct MercatorBox {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
}

impl MercatorBox {
    fn of(bbox: &Bbox) -> Self {
        Self {
            min_x: x_of_lon(bbox.west),
            min_y: y_of_lat(bbox.north),
            max_x: x_of_lon(bbox.east),
            max_y: y_of_lat(bbox.south),
        }
    }

    fn holds(&self, node: &Node) -> bool {
        node.min_x >= self.min_x
            && node.max_x <= self.max_x
            && node.min_y >= self.min_y
            && node.max_y <= self.max_y
    }

    fn misses(&self, node: &Node) -> bool {
        node.max_x < self.min_x
            || node.min_x > self.max_x
            || node.max_y < self.min_y
            || node.min_y > self.max_y
    }
}

impl ClusterIndex {
    /// The clusters and single incidents in `bbox` at web-map `zoom` (0 to 24).
    ///
    /// Their counts add up to the number of incidents in the box: clusters cut by
    /// the box edge are rebuilt from their incidents inside it.
    pub fn clusters(&self, bbox: &Bbox, zoom: u8) -> Result<Vec<Cluster>> {
        if zoom > MAX_QUERY_ZOOM {
            return Err(ClusterError::InvalidZoom(zoom));
        }
        let top = self.options.max_zoom.saturating_add(1);
        let level_at = usize::from(zoom.clamp(self.options.min_zoom, top) - self.options.min_zoom);
        let query = MercatorBox::of(bbox);

        let mut clusters = Vec::new();
        let mut cut_points = Vec::new();
        for node_at in self.candidates(level_at, &query) {
            let node = &self.levels[level_at].nodes[node_at];
            if query.holds(node) {
                clusters.push(self.cluster_of(level_at, node_at));
            } else if !query.misses(node) {
                self.points_inside(level_at, node_at, &query, &mut cut_points);
            }
        }

        if !cut_points.is_empty() {
            clusters.extend(self.recluster(&cut_points, zoom.min(top)));
        }
        Ok(clusters)
    }

    /// Positions of the level's nodes whose centre lies within the box widened by
    /// the level's reach: every node that may hold a point of the box.
    fn candidates(&self, level_at: usize, query: &MercatorBox) -> Vec<usize> {
        let level = &self.levels[level_at];
        let grid = &level.grid;
        let (first_row, last_row) = (
            grid.slot(query.min_y - level.reach),
            grid.slot(query.max_y + level.reach),
        );
        let (first_column, last_column) = (
            grid.slot(query.min_x - level.reach),
            grid.slot(query.max_x + level.reach),
        );

        // A box spanning many rows at a deep zoom is cheaper to scan whole.
        let rows = last_row.saturating_sub(first_row).saturating_add(1);
        if rows.saturating_mul(32) > level.nodes.len() as i64 {
            return (0..level.nodes.len()).collect();
        }
        (first_row..=last_row)
            .flat_map(|row| grid.row_range(row, first_column, last_column))
            .collect()
    }

    /// Collects the points of a node that lie inside the box (positions in the point
    /// level), opening only the children that touch the box.
    fn points_inside(
        &self,
        level_at: usize,
        node_at: usize,
        query: &MercatorBox,
        out: &mut Vec<u32>,
    ) {
        let point_level = self.levels.len() - 1;
        let mut stack = vec![(level_at, node_at)];

        while let Some((level_at, node_at)) = stack.pop() {
            let node = &self.levels[level_at].nodes[node_at];
            if query.misses(node) {
                continue;
            }
            if level_at == point_level {
                out.push(node_at as u32);
                continue;
            }
            for &child in self.levels[level_at].children_of(node_at) {
                stack.push((level_at + 1, child as usize));
            }
        }
    }

    /// Clusters the given points afresh at `zoom`, as the build would.
    fn recluster(&self, points: &[u32], zoom: u8) -> Vec<Cluster> {
        let point_nodes = &self.levels[self.levels.len() - 1].nodes;
        let radius = self.options.radius_at(i32::from(zoom));
        let mut grid = SortedGrid {
            cell_size: radius,
            keys: Vec::new(),
        };

        let mut sorted: Vec<u32> = points.to_vec();
        sorted.sort_unstable_by_key(|&at| {
            let node = &point_nodes[at as usize];
            grid.key_of(node.x, node.y)
        });
        let nodes: Vec<Node> = sorted.iter().map(|&at| point_nodes[at as usize]).collect();
        grid.keys = nodes
            .iter()
            .map(|node| grid.key_of(node.x, node.y))
            .collect();

        let gathered: Gathered = gather(&nodes, &grid, radius, zoom);
        (0..gathered.nodes.len())
            .map(|at| {
                let ids = gathered
                    .members_of(at)
                    .iter()
                    .map(|&member| self.point_ids[sorted[member as usize] as usize]);
                view(&gathered.nodes[at], ids)
            })
            .collect()
    }

    /// The public view of one built node.
    fn cluster_of(&self, level_at: usize, node_at: usize) -> Cluster {
        let node = &self.levels[level_at].nodes[node_at];
        view(node, self.sample_ids(level_at, node_at).into_iter())
    }

    /// The first few point ids under a node, found by walking down its first children.
    fn sample_ids(&self, level_at: usize, node_at: usize) -> Vec<i64> {
        let point_level = self.levels.len() - 1;
        let mut ids = Vec::with_capacity(SAMPLE_SIZE);
        let mut stack = vec![(level_at, node_at)];

        while let Some((level_at, node_at)) = stack.pop() {
            if ids.len() == SAMPLE_SIZE {
                break;
            }
            if level_at == point_level {
                ids.push(self.point_ids[node_at]);
                continue;
            }
            for &child in self.levels[level_at].children_of(node_at).iter().rev() {
                stack.push((level_at + 1, child as usize));
            }
        }
        ids
    }
}

fn view(node: &Node, ids: impl Iterator<Item = i64>) -> Cluster {
    let sample_ids: Vec<i64> = ids.take(SAMPLE_SIZE).collect();
    let single = node.count == 1;
    Cluster {
        position: Point::new(lon_of_x(node.x), lat_of_y(node.y)),
        count: node.count,
        id: if single {
            sample_ids.first().copied()
        } else {
            None
        },
        sample_ids,
        expansion_zoom: (node.expansion_zoom != NO_EXPANSION && !single)
            .then_some(node.expansion_zoom),
    }
}
