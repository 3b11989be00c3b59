//! The bounding box of a map query, validated once.

use std::str::FromStr;

use super::{HeatmapError, Result};

/// A WGS84 bounding box `west, south, east, north` in degrees.
///
/// Boxes crossing the antimeridian are not supported: `west` must be less than
/// `east`, which is what a web map over one city always sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl Bbox {
    /// The whole world, for queries without a box.
    pub const WORLD: Bbox = Bbox {
        west: -180.0,
        south: -90.0,
        east: 180.0,
        north: 90.0,
    };

    /// Checks the corners and builds the box; the error says which rule failed.
    pub fn new(west: f64, south: f64, east: f64, north: f64) -> Result<Self> {
        let corners = [west, south, east, north];
        if corners.iter().any(|value| !value.is_finite()) {
            return Err(invalid("every corner must be a finite number"));
        }

        if !(-180.0..=180.0).contains(&west) || !(-180.0..=180.0).contains(&east) {
            return Err(invalid("longitudes must lie in [-180, 180]"));
        }
        if !(-90.0..=90.0).contains(&south) || !(-90.0..=90.0).contains(&north) {
            return Err(invalid("latitudes must lie in [-90, 90]"));
        }

        if west >= east {
            return Err(invalid(
                "west must be less than east (boxes across the antimeridian are not supported)",
            ));
        }
        if south >= north {
            return Err(invalid("south must be less than north"));
        }

        Ok(Self {
            west,
            south,
            east,
            north,
        })
    }

    /// Whether the position lies inside the box, edges included.
    #[inline]
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        lon >= self.west && lon <= self.east && lat >= self.south && lat <= self.north
    }
}

impl FromStr for Bbox {
    type Err = HeatmapError;

    /// Parses `west,south,east,north`, the order of GeoJSON and of most web maps.
    fn from_str(text: &str) -> Result<Self> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if parts.len() != 4 {
            return Err(invalid(&format!(
                "expected 4 comma-separated numbers west,south,east,north, got {}",
                parts.len()
            )));
        }

        let mut corners = [0.0_f64; 4];
        for (corner, part) in corners.iter_mut().zip(&parts) {
            *corner = part
                .parse()
                .map_err(|_| invalid(&format!("`{part}` is not a number")))?;
        }

        let [west, south, east, north] = corners;
        Bbox::new(west, south, east, north)
    }
}

fn invalid(reason: &str) -> HeatmapError {
    HeatmapError::InvalidBbox(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_west_south_east_north() {
        let bbox: Bbox = "-71.2, 42.2,-70.9,42.4".parse().unwrap();
        assert_eq!(bbox, Bbox::new(-71.2, 42.2, -70.9, 42.4).unwrap());
        assert!(bbox.contains(-71.0, 42.3));
        assert!(bbox.contains(-71.2, 42.4));
        assert!(!bbox.contains(-70.0, 42.3));
    }

    #[test]
    fn rejects_malformed_boxes_with_the_reason() {
        let cases = [
            ("1,2,3", "expected 4"),
            ("a,2,3,4", "`a` is not a number"),
            ("10,0,5,1", "antimeridian"),
            ("0,5,1,5", "south must be less than north"),
            ("-190,0,1,1", "longitudes"),
            ("0,-91,1,1", "latitudes"),
            ("0,0,NaN,1", "finite"),
        ];
        for (text, expected) in cases {
            let error = text.parse::<Bbox>().unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
