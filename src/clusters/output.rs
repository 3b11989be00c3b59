//! Clusters as GeoJSON points for the map.

use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject};
use serde_json::json;

use super::Cluster;

impl Cluster {
    /// A GeoJSON point with `count`, `cluster` (whether it groups several incidents),
    /// `expansion_zoom`, `sample_ids`, and `id` for a single incident.
    pub fn to_feature(&self) -> Feature {
        let geometry = Geometry::new(GeometryValue::new_point([
            self.position.x(),
            self.position.y(),
        ]));

        let mut properties = JsonObject::new();
        properties.insert("cluster".into(), json!(self.count > 1));
        properties.insert("count".into(), json!(self.count));
        properties.insert("expansion_zoom".into(), json!(self.expansion_zoom));
        properties.insert("sample_ids".into(), json!(self.sample_ids));
        if let Some(id) = self.id {
            properties.insert("id".into(), json!(id));
        }

        Feature {
            bbox: None,
            geometry: Some(geometry),
            id: None,
            properties: Some(properties),
            foreign_members: None,
        }
    }
}

/// The clusters of one query, with the zoom and the total they add up to.
pub fn to_feature_collection(clusters: &[Cluster], zoom: u8) -> FeatureCollection {
    let total: u64 = clusters
        .iter()
        .map(|cluster| u64::from(cluster.count))
        .sum();
    let mut foreign = JsonObject::new();
    foreign.insert("zoom".into(), json!(zoom));
    foreign.insert("total".into(), json!(total));

    FeatureCollection {
        bbox: None,
        features: clusters.iter().map(Cluster::to_feature).collect(),
        foreign_members: Some(foreign),
    }
}
