//! Building the cluster levels once and answering box queries from them.

use geo::Point;

use super::grid::{SortedGrid, x_of_lon, y_of_lat};
use super::{ClusterError, Result};

/// Marks "no expansion zoom": the node is a single point.
pub(super) const NO_EXPANSION: u8 = u8::MAX;

/// The deepest zoom a web map asks for.
pub(super) const MAX_QUERY_ZOOM: u8 = 24;

/// One incident to cluster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterPoint {
    pub id: i64,
    /// WGS84, x = lon, y = lat.
    pub position: Point<f64>,
}

/// Screen geometry of the clustering; the defaults are supercluster's, so the two
/// can be compared on the same points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterOptions {
    /// Points closer than this many pixels merge.
    pub radius_px: f64,
    /// Pixel width of one map tile.
    pub extent_px: f64,
    /// Coarsest zoom with its own level.
    pub min_zoom: u8,
    /// Deepest zoom that still clusters; deeper zooms show single points.
    pub max_zoom: u8,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            radius_px: 40.0,
            extent_px: 512.0,
            min_zoom: 0,
            max_zoom: 16,
        }
    }
}

impl ClusterOptions {
    fn validate(&self) -> Result<()> {
        let invalid = |reason: &str| Err(ClusterError::InvalidOptions(reason.to_owned()));
        if !(self.radius_px > 0.0 && self.radius_px.is_finite()) {
            return invalid("radius_px must be a positive number");
        }
        if !(self.extent_px > 0.0 && self.extent_px.is_finite()) {
            return invalid("extent_px must be a positive number");
        }
        if self.min_zoom > self.max_zoom || self.max_zoom >= MAX_QUERY_ZOOM {
            return invalid("zooms must satisfy min_zoom <= max_zoom < 24");
        }
        Ok(())
    }

    /// The merge radius at `zoom`, in Web Mercator units (the world is 1 wide).
    pub(super) fn radius_at(&self, zoom: i32) -> f64 {
        self.radius_px / (self.extent_px * 2f64.powi(zoom))
    }
}

/// A group of incidents as drawn at one zoom, or a single incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Weighted centre of the members (in Web Mercator, like the merging).
    pub position: Point<f64>,
    pub count: u32,
    /// The incident's id when `count` is 1.
    pub id: Option<i64>,
    /// Up to five member ids, to preview the cluster.
    pub sample_ids: Vec<i64>,
    /// The zoom at which this cluster splits; `None` for a single incident.
    pub expansion_zoom: Option<u8>,
}

/// A node of one level: a point or a cluster, with the box of all its points.
#[derive(Debug, Clone, Copy)]
pub(super) struct Node {
    pub x: f64,
    pub y: f64,
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
    pub count: u32,
    pub expansion_zoom: u8,
}

impl Node {
    fn point(x: f64, y: f64) -> Self {
        Self {
            x,
            y,
            min_x: x,
            min_y: y,
            max_x: x,
            max_y: y,
            count: 1,
            expansion_zoom: NO_EXPANSION,
        }
    }

    /// How far its points reach from its centre, along either axis.
    fn reach(&self) -> f64 {
        (self.x - self.min_x)
            .max(self.max_x - self.x)
            .max(self.y - self.min_y)
            .max(self.max_y - self.y)
    }
}

/// Nodes merged at one zoom: `members[starts[i]..starts[i + 1]]` made node `i`.
pub(super) struct Gathered {
    pub nodes: Vec<Node>,
    pub starts: Vec<u32>,
    pub members: Vec<u32>,
}

impl Gathered {
    pub fn members_of(&self, node: usize) -> &[u32] {
        &self.members[self.starts[node] as usize..self.starts[node + 1] as usize]
    }
}

/// Greedy merge: each node not yet taken, in grid order, takes every untaken node
/// within `radius` of it. `grid` must be built over `nodes` with a cell of at least
/// `radius`.
pub(super) fn gather(nodes: &[Node], grid: &SortedGrid, radius: f64, zoom: u8) -> Gathered {
    let radius_sq = radius * radius;
    let mut taken = vec![false; nodes.len()];
    let mut gathered = Gathered {
        nodes: Vec::new(),
        starts: vec![0],
        members: Vec::with_capacity(nodes.len()),
    };

    for seed in 0..nodes.len() {
        if taken[seed] {
            continue;
        }
        taken[seed] = true;
        let first = gathered.members.len();
        gathered.members.push(seed as u32);

        let (x, y) = (nodes[seed].x, nodes[seed].y);
        grid.for_each_near(x, y, |at| {
            let other = &nodes[at];
            let distance_sq = (other.x - x).powi(2) + (other.y - y).powi(2);
            if !taken[at] && distance_sq <= radius_sq {
                taken[at] = true;
                gathered.members.push(at as u32);
            }
        });

        let merged = merge(nodes, &gathered.members[first..], zoom);
        gathered.nodes.push(merged);
        gathered.starts.push(gathered.members.len() as u32);
    }
    gathered
}

/// One node from its members: weighted centre, summed count, joined box.
fn merge(nodes: &[Node], members: &[u32], zoom: u8) -> Node {
    let seed = nodes[members[0] as usize];
    if members.len() == 1 {
        return seed;
    }

    let mut merged = Node {
        x: 0.0,
        y: 0.0,
        count: 0,
        expansion_zoom: zoom.saturating_add(1),
        ..seed
    };
    for &member in members {
        let node = &nodes[member as usize];
        let weight = f64::from(node.count);
        merged.x += node.x * weight;
        merged.y += node.y * weight;
        merged.count += node.count;
        merged.min_x = merged.min_x.min(node.min_x);
        merged.min_y = merged.min_y.min(node.min_y);
        merged.max_x = merged.max_x.max(node.max_x);
        merged.max_y = merged.max_y.max(node.max_y);
    }
    merged.x /= f64::from(merged.count);
    merged.y /= f64::from(merged.count);
    merged
}

/// The nodes of one zoom, sorted by grid key, with links to their children.
#[derive(Debug, Clone)]
pub(super) struct Level {
    pub nodes: Vec<Node>,
    pub grid: SortedGrid,
    /// Children of node `i` (positions in the next finer level):
    /// `children[child_starts[i]..child_starts[i + 1]]`. Empty for the points.
    child_starts: Vec<u32>,
    children: Vec<u32>,
    /// The largest [`Node::reach`] of the level, to widen box searches.
    pub reach: f64,
}

impl Level {
    /// Sorts the gathered nodes by grid key; returns the level and, for each
    /// sorted position, the node's position before sorting.
    fn sorted(gathered: Gathered, cell_size: f64) -> (Self, Vec<u32>) {
        let mut grid = SortedGrid {
            cell_size,
            keys: Vec::new(),
        };
        let keys: Vec<u64> = gathered
            .nodes
            .iter()
            .map(|node| grid.key_of(node.x, node.y))
            .collect();
        let mut order: Vec<u32> = (0..gathered.nodes.len() as u32).collect();
        order.sort_unstable_by_key(|&at| keys[at as usize]);

        grid.keys = order.iter().map(|&at| keys[at as usize]).collect();
        let nodes: Vec<Node> = order
            .iter()
            .map(|&at| gathered.nodes[at as usize])
            .collect();

        let mut child_starts = vec![0];
        let mut children = Vec::new();
        if !gathered.members.is_empty() {
            for &at in &order {
                children.extend_from_slice(gathered.members_of(at as usize));
                child_starts.push(children.len() as u32);
            }
        }

        let reach = nodes.iter().map(Node::reach).fold(0.0, f64::max);
        let level = Self {
            nodes,
            grid,
            child_starts,
            children,
            reach,
        };
        (level, order)
    }

    pub fn children_of(&self, node: usize) -> &[u32] {
        match (self.child_starts.get(node), self.child_starts.get(node + 1)) {
            (Some(&start), Some(&end)) => &self.children[start as usize..end as usize],
            _ => &[],
        }
    }
}

/// Incidents clustered at every zoom from `min_zoom` to `max_zoom`, built once.
#[derive(Debug, Clone)]
pub struct ClusterIndex {
    pub(super) options: ClusterOptions,
    /// `levels[z - min_zoom]` for each zoom; the last level holds the points.
    pub(super) levels: Vec<Level>,
    /// Incident id of each point, aligned with the last level.
    pub(super) point_ids: Vec<i64>,
}

impl ClusterIndex {
    /// Projects the points and clusters them at every zoom, deepest first.
    pub fn build(points: &[ClusterPoint], options: ClusterOptions) -> Result<Self> {
        options.validate()?;
        let mut nodes = Vec::with_capacity(points.len());
        for point in points {
            let (lon, lat) = (point.position.x(), point.position.y());
            if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                return Err(ClusterError::InvalidPosition {
                    id: point.id,
                    lon,
                    lat,
                });
            }
            nodes.push(Node::point(x_of_lon(lon), y_of_lat(lat)));
        }

        let as_points = Gathered {
            nodes,
            starts: vec![0],
            members: Vec::new(),
        };
        let point_zoom = i32::from(options.max_zoom) + 1;
        let (point_level, order) = Level::sorted(as_points, options.radius_at(point_zoom - 1));
        let point_ids = order.iter().map(|&at| points[at as usize].id).collect();

        let mut levels = vec![point_level];
        for zoom in (options.min_zoom..=options.max_zoom).rev() {
            let finer = levels.last().map_or(&[][..], |level| &level.nodes[..]);
            let finer_grid = levels.last().map(|level| &level.grid);
            let Some(finer_grid) = finer_grid else { break };

            let radius = options.radius_at(i32::from(zoom));
            let gathered = gather(finer, finer_grid, radius, zoom);
            let (level, _) = Level::sorted(gathered, options.radius_at(i32::from(zoom) - 1));
            levels.push(level);
        }
        levels.reverse();

        Ok(Self {
            options,
            levels,
            point_ids,
        })
    }

    /// Number of incidents indexed.
    pub fn len(&self) -> usize {
        self.point_ids.len()
    }

    /// Whether no incident is indexed.
    pub fn is_empty(&self) -> bool {
        self.point_ids.is_empty()
    }

    /// The options the index was built with.
    pub fn options(&self) -> ClusterOptions {
        self.options
    }
}
