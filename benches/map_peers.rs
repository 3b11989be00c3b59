//! Heatmap and cluster building over the points of one file, timed the same
//! way as the peers in `scripts/bench-peers.sh` (h3-py for hexagon counts,
//! supercluster for clusters), which runs this binary and prints the ratios.
//!
//! Reads `CITYFIX_BENCH_POINTS` (a `lon,lat` CSV without header); prints one
//! JSON line per task with the median of five runs in milliseconds. Without the
//! variable it says so and exits, so `cargo bench` alone stays quick.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use cityfix::clusters::{ClusterIndex, ClusterOptions, ClusterPoint};
use cityfix::heatmap::{Bbox, HeatFilter, HeatIndex, HeatRecord, aggregate_positions};
use geo::Point;
use h3o::Resolution;
use jiff::Timestamp;

const RUNS: usize = 5;

/// The deepest zoom each cluster build goes to: a city, a district, streets.
const CLUSTER_MAX_ZOOMS: [u8; 3] = [10, 13, 16];

fn main() {
    let Ok(path) = std::env::var("CITYFIX_BENCH_POINTS") else {
        println!("map_peers: set CITYFIX_BENCH_POINTS (scripts/bench-peers.sh does)");
        return;
    };
    let positions = read_points(&path);

    let heat = median_ms(|| {
        aggregate_positions(&positions, Resolution::Eight)
            .unwrap()
            .cells
            .len()
    });
    report("h3_counts_res8", positions.len(), heat);

    let records = heat_records(&positions);
    let build = median_ms(|| HeatIndex::build(records.clone()).unwrap().len());
    report("heat_index_build", positions.len(), build);
    let index = HeatIndex::build(records).unwrap();
    index.warm(&[Resolution::Eight]);
    let boston = HeatFilter {
        bbox: Some(Bbox::new(-71.2, 42.2, -70.9, 42.45).unwrap()),
        ..HeatFilter::default()
    };
    let query = median_ms(|| {
        index
            .aggregate(Resolution::Eight, &boston)
            .unwrap()
            .cells
            .len()
    });
    report("heat_index_query_res8", positions.len(), query);

    let points: Vec<ClusterPoint> = positions
        .iter()
        .enumerate()
        .map(|(id, &position)| ClusterPoint {
            id: id as i64,
            position,
        })
        .collect();
    for max_zoom in CLUSTER_MAX_ZOOMS {
        let options = ClusterOptions {
            max_zoom,
            ..ClusterOptions::default()
        };
        let ms = median_ms(|| ClusterIndex::build(&points, options).unwrap().len());
        report(&format!("clusters_build_z{max_zoom}"), positions.len(), ms);
    }
}

fn read_points(path: &str) -> Vec<Point<f64>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let (lon, lat) = line.split_once(',').unwrap();
            Point::new(lon.parse().unwrap(), lat.parse().unwrap())
        })
        .collect()
}

fn heat_records(positions: &[Point<f64>]) -> Vec<HeatRecord> {
    let start = Timestamp::from_second(1_700_000_000).unwrap();
    positions
        .iter()
        .enumerate()
        .map(|(id, &position)| HeatRecord {
            id: id as i64,
            position,
            category: ["pothole", "graffiti", "streetlight"][id % 3].into(),
            status: ["assigned", "resolved"][id % 2].into(),
            jurisdiction_id: Some((id % 12) as i64),
            created_at: start + jiff::SignedDuration::from_secs((id % 31_536_000) as i64),
        })
        .collect()
}

/// Median wall time of [`RUNS`] runs; the result is kept so the work is not elided.
fn median_ms<T>(mut work: impl FnMut() -> T) -> f64 {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(work());
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

fn report(task: &str, points: usize, ms: f64) {
    println!("{{\"task\":\"{task}\",\"points\":{points},\"ms\":{ms:.1}}}");
}
