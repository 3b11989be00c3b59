//! The heatmap index: records kept in H3 order, with each resolution's exact cells
//! computed once, on first use, and cached.
//!
//! Why not index once at resolution 15 and roll up with `parent()`? H3 children do
//! not nest exactly inside their parent hexagon, so the logical ancestor of a fine
//! cell is not always the cell that contains the point: near hexagon edges a rollup
//! would count records in the neighbouring hexagon (the unit tests caught it against
//! h3-py's values). Counting must match the hexagon drawn, so each resolution gets
//! its own exact column instead; the resolution-15 order still makes equal cells
//! appear in long runs, which keeps the scan cheap.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use geo::Point;
use h3o::{CellIndex, LatLng, Resolution};
use jiff::Timestamp;

use super::filter::{CompiledFilter, code_table};
use super::{CellCount, HeatFilter, Heatmap, HeatmapError, Result};

/// The resolution that orders the records (spatial locality for every coarser one).
const BASE_RESOLUTION: Resolution = Resolution::Fifteen;

/// Stands for "not routed to any jurisdiction" in the jurisdiction column.
const NO_JURISDICTION: i64 = i64::MIN;

const SECONDS_PER_DAY: i64 = 86_400;

/// One report or incident as the heatmap sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatRecord {
    pub id: i64,
    /// WGS84, x = lon, y = lat.
    pub position: Point<f64>,
    pub category: String,
    pub status: String,
    pub jurisdiction_id: Option<i64>,
    pub created_at: Timestamp,
}

/// One indexed record: everything the scan reads, side by side in memory.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Resolution-15 cell: the sort key.
    cell: u64,
    latlng: LatLng,
    lon: f64,
    lat: f64,
    created_s: i64,
    jurisdiction_id: i64,
    id: i64,
    category: u16,
    status: u16,
}

/// Small integer codes for the strings of one column (categories, statuses).
#[derive(Debug, Default, Clone)]
struct Interner {
    names: Vec<String>,
    codes: HashMap<String, u16>,
}

impl Interner {
    fn code(&mut self, name: &str, what: &'static str) -> Result<u16> {
        if let Some(&code) = self.codes.get(name) {
            return Ok(code);
        }

        let code = u16::try_from(self.names.len()).map_err(|_| HeatmapError::TooManyValues {
            what,
            max: usize::from(u16::MAX),
        })?;
        self.names.push(name.to_owned());
        self.codes.insert(name.to_owned(), code);
        Ok(code)
    }
}

/// Records indexed for heatmaps at any resolution, with filters.
///
/// Built once from the store's history, then kept current with [`HeatIndex::insert`]
/// and [`HeatIndex::set_status`].
#[derive(Debug, Default, Clone)]
pub struct HeatIndex {
    /// Sorted by `cell`, so every coarser cell's records are contiguous.
    rows: Vec<Row>,
    categories: Interner,
    statuses: Interner,
    /// Records per UTC day number, to tell days without any data (gaps in the source).
    records_per_day: BTreeMap<i64, u32>,
    /// Per resolution, each row's exact cell, aligned with `rows`; filled on first use.
    exact_cells: [OnceLock<Vec<u64>>; 16],
}

impl HeatIndex {
    /// Indexes the records; fails on the first one whose position is not WGS84.
    pub fn build(records: impl IntoIterator<Item = HeatRecord>) -> Result<Self> {
        let mut index = Self::default();
        for record in records {
            let row = index.row_for(&record)?;
            index.rows.push(row);
        }

        index.rows.sort_unstable_by_key(|row| (row.cell, row.id));
        for row in &index.rows {
            *index
                .records_per_day
                .entry(day_of(row.created_s))
                .or_default() += 1;
        }
        Ok(index)
    }

    /// Adds one record, keeping the order (a memmove of the rows after it).
    pub fn insert(&mut self, record: &HeatRecord) -> Result<()> {
        let row = self.row_for(record)?;
        let at = self
            .rows
            .partition_point(|other| (other.cell, other.id) <= (row.cell, row.id));
        self.rows.insert(at, row);
        for (level, column) in self.exact_cells.iter_mut().enumerate() {
            if let (Some(cells), Ok(resolution)) =
                (column.get_mut(), Resolution::try_from(level as u8))
            {
                cells.insert(at, u64::from(row.latlng.to_cell(resolution)));
            }
        }
        *self
            .records_per_day
            .entry(day_of(row.created_s))
            .or_default() += 1;
        Ok(())
    }

    /// Changes the status of the record `id`; returns whether it was found.
    /// A linear search: status changes are rare next to heatmap queries.
    pub fn set_status(&mut self, id: i64, status: &str) -> Result<bool> {
        let code = self.statuses.code(status, "status")?;
        let found = self.rows.iter_mut().find(|row| row.id == id);
        Ok(found.map(|row| row.status = code).is_some())
    }

    /// Changes the status of every record whose id is in `ids` (an incident's
    /// reports) in one pass; returns how many were found.
    pub fn set_status_of(&mut self, ids: &HashSet<i64>, status: &str) -> Result<usize> {
        let code = self.statuses.code(status, "status")?;
        let mut found = 0;
        for row in self.rows.iter_mut().filter(|row| ids.contains(&row.id)) {
            row.status = code;
            found += 1;
        }
        Ok(found)
    }

    /// Number of records indexed.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no record is indexed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every category seen, in first-seen order (for the dashboard's filter lists).
    pub fn categories(&self) -> &[String] {
        &self.categories.names
    }

    /// Every status seen, in first-seen order.
    pub fn statuses(&self) -> &[String] {
        &self.statuses.names
    }

    /// Counts the records passing `filter` per H3 cell at `resolution`.
    ///
    /// Cells come out in H3 index order; cells with no matching record are absent.
    /// The first query at a resolution also computes that resolution's cells for
    /// every record (see [`HeatIndex::warm`]).
    pub fn aggregate(&self, resolution: Resolution, filter: &HeatFilter) -> Result<Heatmap> {
        filter.validate()?;
        let compiled = self.compile(filter);
        let cells = self.cells_at(resolution);

        // Runs of equal cells, merged afterwards: the H3 order makes runs long.
        let mut runs: Vec<(u64, u32)> = Vec::new();
        for (row, &cell) in self.rows.iter().zip(cells) {
            let accepted = compiled.accepts(
                row.lon,
                row.lat,
                row.created_s,
                row.category,
                row.status,
                row.jurisdiction_id,
            );
            if !accepted {
                continue;
            }
            match runs.last_mut() {
                Some((run_cell, count)) if *run_cell == cell => *count += 1,
                _ => runs.push((cell, 1)),
            }
        }

        Ok(Heatmap::new(resolution, merge_runs(runs)))
    }

    /// Computes the cells of these resolutions now rather than on the first query
    /// (about 0.1 µs per record and resolution).
    pub fn warm(&self, resolutions: &[Resolution]) {
        for &resolution in resolutions {
            self.cells_at(resolution);
        }
    }

    fn cells_at(&self, resolution: Resolution) -> &[u64] {
        self.exact_cells[usize::from(u8::from(resolution))].get_or_init(|| {
            self.rows
                .iter()
                .map(|row| u64::from(row.latlng.to_cell(resolution)))
                .collect()
        })
    }

    /// Number of UTC days in `[from, to)` on which at least one record was created,
    /// whatever its position or category: how much of the period the data covers.
    pub fn days_with_data(&self, from: Timestamp, to: Timestamp) -> u32 {
        let first_day = day_of(from.as_second());
        let end_day = day_of(to.as_second() - 1);
        let days = self.records_per_day.range(first_day..=end_day).count();
        u32::try_from(days).unwrap_or(u32::MAX)
    }

    fn compile(&self, filter: &HeatFilter) -> CompiledFilter {
        CompiledFilter {
            bbox: filter.bbox,
            categories: code_table(filter.categories.as_ref(), &self.categories.names),
            statuses: code_table(filter.statuses.as_ref(), &self.statuses.names),
            jurisdiction_id: filter.jurisdiction_id,
            from_s: filter.from.map_or(i64::MIN, |from| from.as_second()),
            to_s: filter.to.map_or(i64::MAX, |to| to.as_second()),
        }
    }

    fn row_for(&mut self, record: &HeatRecord) -> Result<Row> {
        let latlng = latlng_of(record.id, record.position)?;
        Ok(Row {
            cell: u64::from(latlng.to_cell(BASE_RESOLUTION)),
            latlng,
            lon: record.position.x(),
            lat: record.position.y(),
            created_s: record.created_at.as_second(),
            jurisdiction_id: record.jurisdiction_id.unwrap_or(NO_JURISDICTION),
            id: record.id,
            category: self.categories.code(&record.category, "category")?,
            status: self.statuses.code(&record.status, "status")?,
        })
    }
}

/// Counts positions per cell at `resolution`, computing each cell from scratch: the
/// path without an index, and the reference the index is tested against.
/// An invalid position is reported with its place in the slice as `id`.
pub fn aggregate_positions(positions: &[Point<f64>], resolution: Resolution) -> Result<Heatmap> {
    let mut cells = Vec::with_capacity(positions.len());
    for (place, position) in positions.iter().enumerate() {
        let id = i64::try_from(place).unwrap_or(i64::MAX);
        cells.push(u64::from(latlng_of(id, *position)?.to_cell(resolution)));
    }
    cells.sort_unstable();

    let mut counts: Vec<CellCount> = Vec::new();
    for cell in cells {
        match counts.last_mut() {
            Some(last) if u64::from(last.cell) == cell => last.count += 1,
            _ => {
                if let Ok(cell) = CellIndex::try_from(cell) {
                    counts.push(CellCount { cell, count: 1 });
                }
            }
        }
    }
    Ok(Heatmap::new(resolution, counts))
}

fn latlng_of(id: i64, position: Point<f64>) -> Result<LatLng> {
    let (lon, lat) = (position.x(), position.y());
    let invalid = || HeatmapError::InvalidPosition { id, lon, lat };
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(invalid());
    }

    LatLng::new(lat, lon).map_err(|_| invalid())
}

/// Sorts runs of `(cell, count)` and adds up those of the same cell.
fn merge_runs(mut runs: Vec<(u64, u32)>) -> Vec<CellCount> {
    runs.sort_unstable_by_key(|&(cell, _)| cell);

    let mut merged: Vec<CellCount> = Vec::with_capacity(runs.len());
    for (cell, count) in runs {
        match merged.last_mut() {
            Some(last) if u64::from(last.cell) == cell => last.count += count,
            _ => {
                if let Ok(cell) = CellIndex::try_from(cell) {
                    merged.push(CellCount { cell, count });
                }
            }
        }
    }
    merged
}

fn day_of(second: i64) -> i64 {
    second.div_euclid(SECONDS_PER_DAY)
}
