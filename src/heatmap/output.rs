//! A heatmap's counts and their GeoJSON form.

use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject};
use h3o::{CellIndex, Resolution};
use serde_json::json;

/// The number of matching records in one H3 cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellCount {
    pub cell: CellIndex,
    pub count: u32,
}

/// Counts per H3 cell at one resolution, in H3 index order.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub resolution: Resolution,
    pub cells: Vec<CellCount>,
    /// Sum of all cell counts: the number of matching records.
    pub total: u64,
}

impl Heatmap {
    /// Wraps counts already aggregated at `resolution`.
    pub fn new(resolution: Resolution, cells: Vec<CellCount>) -> Self {
        let total = cells.iter().map(|cell| u64::from(cell.count)).sum();
        Self {
            resolution,
            cells,
            total,
        }
    }

    /// The count of one cell, zero when absent.
    pub fn count_of(&self, cell: CellIndex) -> u32 {
        self.cells
            .binary_search_by_key(&cell, |entry| entry.cell)
            .map_or(0, |at| self.cells[at].count)
    }

    /// One hexagon polygon per cell with properties `cell` (H3 index, hex string),
    /// `count` and `resolution`; the collection carries `resolution`, `total` and
    /// `max_count` as foreign members so a map can scale its colours.
    pub fn to_feature_collection(&self) -> FeatureCollection {
        let features = self
            .cells
            .iter()
            .map(|entry| cell_feature(*entry))
            .collect();
        let max_count = self
            .cells
            .iter()
            .map(|entry| entry.count)
            .max()
            .unwrap_or(0);

        let mut foreign = JsonObject::new();
        foreign.insert("resolution".into(), json!(u8::from(self.resolution)));
        foreign.insert("total".into(), json!(self.total));
        foreign.insert("max_count".into(), json!(max_count));

        FeatureCollection {
            bbox: None,
            features,
            foreign_members: Some(foreign),
        }
    }
}

/// A closed ring of the cell's vertices, lon/lat order.
pub(crate) fn cell_ring(cell: CellIndex) -> Vec<Vec<f64>> {
    let mut ring: Vec<Vec<f64>> = cell
        .boundary()
        .iter()
        .map(|vertex| vec![vertex.lng(), vertex.lat()])
        .collect();
    if let Some(first) = ring.first().cloned() {
        ring.push(first);
    }
    ring
}

fn cell_feature(entry: CellCount) -> Feature {
    let geometry = Geometry::new(GeometryValue::new_polygon([cell_ring(entry.cell)]));

    let mut properties = JsonObject::new();
    properties.insert("cell".into(), json!(entry.cell.to_string()));
    properties.insert("count".into(), json!(entry.count));
    properties.insert(
        "resolution".into(),
        json!(u8::from(entry.cell.resolution())),
    );

    Feature {
        bbox: None,
        geometry: Some(geometry),
        id: None,
        properties: Some(properties),
        foreign_members: None,
    }
}
