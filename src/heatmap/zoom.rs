//! Which H3 resolution to draw at a given web-map zoom.
//!
//! Rule: a hexagon should be about 30 screen pixels across, so its edge is about
//! 15 px. At zoom `z` a 256-px tile spans the equator's 40,075 km / 2^z; at 45° of
//! latitude (the middle of the cities we serve) the ground per pixel shrinks by
//! cos 45°. The table picks, per zoom, the resolution whose average edge length is
//! nearest to that target on a log scale (a unit test recomputes it):
//!
//! | zoom | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19+ |
//! |------|---|---|---|---|---|---|---|---|---|---|----|----|----|----|----|----|----|----|----|-----|
//! | res  | 0 | 0 | 1 | 2 | 3 | 3 | 4 | 5 | 5 | 6 | 7  | 8  | 8  | 9  | 10 | 10 | 11 | 12 | 13 | 13  |
//!
//! Zoom 12 (a whole city on a laptop screen) gives resolution 8, hexagons of
//! about 0.7 km².

use h3o::Resolution;

use super::{HeatmapError, Result};

/// H3 resolution per zoom level 0..=19; deeper zooms use the last entry.
pub const MAX_ZOOM_TABLE: [u8; 20] = [
    0, 0, 1, 2, 3, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10, 10, 11, 12, 13, 13,
];

/// The deepest zoom a web map asks for.
const MAX_ZOOM: u8 = 24;

/// The H3 resolution to draw at web-map `zoom` (0 to 24), following the table above.
pub fn resolution_for_zoom(zoom: u8) -> Result<Resolution> {
    if zoom > MAX_ZOOM {
        return Err(HeatmapError::InvalidZoom(zoom));
    }

    let last = MAX_ZOOM_TABLE.len() - 1;
    let level = MAX_ZOOM_TABLE[usize::from(zoom).min(last)];
    Resolution::try_from(level).map_err(|_| HeatmapError::InvalidResolution(level))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recomputes the table from the rule in the module docs.
    fn nearest_resolution(zoom: u8) -> u8 {
        let metres_per_px = 40_075_016.7 / (256.0 * 2f64.powi(i32::from(zoom)));
        let target_edge_m = 15.0 * metres_per_px * 45f64.to_radians().cos();

        (0..=15u8)
            .min_by(|&a, &b| {
                let distance = |level: u8| {
                    let edge_m = Resolution::try_from(level).unwrap().edge_length_m();
                    (edge_m / target_edge_m).ln().abs()
                };
                distance(a).total_cmp(&distance(b))
            })
            .unwrap()
    }

    #[test]
    fn table_follows_the_documented_rule() {
        let computed: Vec<u8> = (0..20).map(nearest_resolution).collect();
        assert_eq!(computed, MAX_ZOOM_TABLE.to_vec());
    }

    #[test]
    fn zoom_maps_to_resolution_and_clamps() {
        assert_eq!(resolution_for_zoom(12).unwrap(), Resolution::Eight);
        assert_eq!(resolution_for_zoom(22).unwrap(), Resolution::Thirteen);
        assert!(matches!(
            resolution_for_zoom(25),
            Err(HeatmapError::InvalidZoom(25))
        ));
    }
}
