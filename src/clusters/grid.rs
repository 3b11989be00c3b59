//! Web Mercator projection and the sorted grid used to find neighbours.

use std::f64::consts::PI;

/// Longitude in degrees to Web Mercator x in [0, 1], west to east.
pub(super) fn x_of_lon(lon: f64) -> f64 {
    lon / 360.0 + 0.5
}

/// Latitude in degrees to Web Mercator y in [0, 1], north to south; the poles are
/// clamped to the square, as web maps do.
pub(super) fn y_of_lat(lat: f64) -> f64 {
    let sin = lat.to_radians().sin();
    let y = 0.5 - 0.25 * ((1.0 + sin) / (1.0 - sin)).ln() / PI;
    y.clamp(0.0, 1.0)
}

pub(super) fn lon_of_x(x: f64) -> f64 {
    (x - 0.5) * 360.0
}

pub(super) fn lat_of_y(y: f64) -> f64 {
    let angle = (180.0 - y * 360.0).to_radians();
    360.0 * angle.exp().atan() / PI - 90.0
}

/// Node positions bucketed into square cells and sorted by (row, column), so the
/// three cells of one row next to each other form one contiguous key range.
#[derive(Debug, Clone, Default)]
pub(super) struct SortedGrid {
    pub cell_size: f64,
    /// Key of each node, ascending; aligned with the level's nodes.
    pub keys: Vec<u64>,
}

impl SortedGrid {
    /// The column or row of a coordinate in [0, 1].
    pub fn slot(&self, coordinate: f64) -> i64 {
        (coordinate / self.cell_size).floor() as i64
    }

    pub fn key(column: i64, row: i64) -> u64 {
        let column = column.clamp(0, i64::from(u32::MAX)) as u64;
        let row = row.clamp(0, i64::from(u32::MAX)) as u64;
        (row << 32) | column
    }

    /// Key of the cell holding (x, y).
    pub fn key_of(&self, x: f64, y: f64) -> u64 {
        Self::key(self.slot(x), self.slot(y))
    }

    /// Node positions (indices into the level) whose cell lies in the given columns
    /// of one row.
    pub fn row_range(
        &self,
        row: i64,
        first_column: i64,
        last_column: i64,
    ) -> std::ops::Range<usize> {
        if row < 0 || last_column < 0 {
            return 0..0;
        }
        let low = Self::key(first_column.max(0), row);
        let high = Self::key(last_column, row);
        let start = self.keys.partition_point(|&key| key < low);
        let end = self.keys.partition_point(|&key| key <= high);
        start..end.max(start)
    }

    /// Calls `visit` with every node position whose cell is within one cell of (x, y):
    /// a superset of the nodes within `cell_size` of it.
    pub fn for_each_near(&self, x: f64, y: f64, mut visit: impl FnMut(usize)) {
        let (column, row) = (self.slot(x), self.slot(y));
        for near_row in row - 1..=row + 1 {
            for at in self.row_range(near_row, column - 1, column + 1) {
                visit(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_round_trips() {
        for (lon, lat) in [
            (-71.0587, 42.3594),
            (0.0, 0.0),
            (151.2, -33.9),
            (179.9, 84.0),
        ] {
            let (x, y) = (x_of_lon(lon), y_of_lat(lat));
            assert!((lon_of_x(x) - lon).abs() < 1e-9);
            assert!((lat_of_y(y) - lat).abs() < 1e-9);
        }
        assert_eq!(y_of_lat(0.0), 0.5);
        assert!(y_of_lat(60.0) < y_of_lat(10.0), "north is up: smaller y");
    }

    #[test]
    fn near_cells_cover_the_radius() {
        let mut grid = SortedGrid {
            cell_size: 0.1,
            keys: Vec::new(),
        };
        let points = [
            (0.05, 0.05),
            (0.14, 0.05),
            (0.31, 0.05),
            (0.05, 0.19),
            (0.25, 0.25),
        ];
        grid.keys = points.iter().map(|&(x, y)| grid.key_of(x, y)).collect();
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by_key(|&at| grid.keys[at]);
        grid.keys.sort_unstable();

        let mut found = Vec::new();
        grid.for_each_near(0.12, 0.12, |at| found.push(points[order[at]]));
        found.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(
            found,
            vec![(0.05, 0.05), (0.05, 0.19), (0.14, 0.05), (0.25, 0.25)]
        );
    }
}
