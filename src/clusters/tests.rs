use geo::Point;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::grid::{x_of_lon, y_of_lat};
use super::*;
use crate::heatmap::Bbox;

/// Incidents over Boston: dense blobs plus a uniform background, reproducible.
fn incidents(count: usize, seed: u64) -> Vec<ClusterPoint> {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres = [(-71.06, 42.36), (-71.10, 42.33), (-71.03, 42.30)];
    (0..count)
        .map(|i| {
            let (lon, lat) = if i % 3 == 0 {
                (
                    rng.random_range(-71.19..-70.99),
                    rng.random_range(42.23..42.40),
                )
            } else {
                let (lon, lat) = centres[i % centres.len()];
                (
                    lon + rng.random_range(-0.01..0.01),
                    lat + rng.random_range(-0.01..0.01),
                )
            };
            ClusterPoint {
                id: i as i64 * 10,
                position: Point::new(lon, lat),
            }
        })
        .collect()
}

fn inside(bbox: &Bbox, point: &ClusterPoint) -> bool {
    bbox.contains(point.position.x(), point.position.y())
}

fn total(clusters: &[Cluster]) -> u64 {
    clusters
        .iter()
        .map(|cluster| u64::from(cluster.count))
        .sum()
}

#[test]
fn every_incident_in_the_box_is_counted_once_at_every_zoom() {
    let points = incidents(6_000, 1);
    let index = ClusterIndex::build(&points, ClusterOptions::default()).unwrap();
    let mut rng = StdRng::seed_from_u64(2);

    let mut boxes = vec![Bbox::WORLD, Bbox::new(-71.2, 42.2, -70.9, 42.45).unwrap()];
    for _ in 0..12 {
        let (west, south) = (
            rng.random_range(-71.2..-71.0),
            rng.random_range(42.22..42.38),
        );
        let size = rng.random_range(0.003..0.1);
        boxes.push(Bbox::new(west, south, west + size, south + size * 0.7).unwrap());
    }

    for bbox in &boxes {
        let expected = points.iter().filter(|point| inside(bbox, point)).count() as u64;
        for zoom in 0..=18 {
            let clusters = index.clusters(bbox, zoom).unwrap();
            assert_eq!(total(&clusters), expected, "zoom {zoom}, {bbox:?}");

            let singles: Vec<i64> = clusters.iter().filter_map(|cluster| cluster.id).collect();
            let mut unique = singles.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(
                unique.len(),
                singles.len(),
                "a single incident appears twice"
            );
            for id in singles {
                let point = points.iter().find(|point| point.id == id).unwrap();
                assert!(inside(bbox, point), "incident {id} is outside the box");
            }
        }
    }
}

#[test]
fn clusters_shrink_as_the_map_zooms_in() {
    let points = incidents(3_000, 4);
    let index = ClusterIndex::build(&points, ClusterOptions::default()).unwrap();
    let city = Bbox::new(-71.2, 42.2, -70.9, 42.45).unwrap();

    let counts: Vec<usize> = [8, 11, 14, 17]
        .iter()
        .map(|&zoom| index.clusters(&city, zoom).unwrap().len())
        .collect();
    assert!(
        counts.windows(2).all(|pair| pair[0] < pair[1]),
        "{counts:?}"
    );
    assert_eq!(
        counts[3], 3_000,
        "past max_zoom every incident stands alone"
    );
}

#[test]
fn close_points_merge_at_their_weighted_centre_and_split_at_the_expansion_zoom() {
    // Three incidents a few metres apart and one far away.
    let points = [
        ClusterPoint {
            id: 1,
            position: Point::new(-71.0600, 42.3600),
        },
        ClusterPoint {
            id: 2,
            position: Point::new(-71.0601, 42.3600),
        },
        ClusterPoint {
            id: 3,
            position: Point::new(-71.0600, 42.3601),
        },
        ClusterPoint {
            id: 4,
            position: Point::new(-70.9000, 42.2000),
        },
    ];
    let index = ClusterIndex::build(&points, ClusterOptions::default()).unwrap();

    let clusters = index.clusters(&Bbox::WORLD, 10).unwrap();
    assert_eq!(clusters.len(), 2);
    let group = clusters.iter().find(|cluster| cluster.count == 3).unwrap();
    let mut sample = group.sample_ids.clone();
    sample.sort_unstable();
    assert_eq!(sample, vec![1, 2, 3]);
    assert_eq!(group.id, None);

    let centre_x = (2.0 * x_of_lon(-71.06) + x_of_lon(-71.0601)) / 3.0;
    let centre_y = (2.0 * y_of_lat(42.36) + y_of_lat(42.3601)) / 3.0;
    assert!((x_of_lon(group.position.x()) - centre_x).abs() < 1e-12);
    assert!((y_of_lat(group.position.y()) - centre_y).abs() < 1e-12);

    let lonely = clusters.iter().find(|cluster| cluster.count == 1).unwrap();
    assert_eq!((lonely.id, lonely.expansion_zoom), (Some(4), None));

    // The trio splits exactly at its expansion zoom, not before.
    let split_at = group.expansion_zoom.unwrap();
    assert!(split_at > 10);
    let before = index.clusters(&Bbox::WORLD, split_at - 1).unwrap();
    let after = index.clusters(&Bbox::WORLD, split_at).unwrap();
    assert_eq!(before.len(), 2);
    assert!(after.len() > 2);
}

#[test]
fn a_box_cutting_a_cluster_counts_only_the_part_inside() {
    let points: Vec<ClusterPoint> = (0..10)
        .map(|i| ClusterPoint {
            id: i,
            position: Point::new(-71.0600 + i as f64 * 0.0001, 42.3600),
        })
        .collect();
    let index = ClusterIndex::build(&points, ClusterOptions::default()).unwrap();
    assert_eq!(index.clusters(&Bbox::WORLD, 12).unwrap().len(), 1);

    let left_half = Bbox::new(-71.1, 42.3, -71.05955, 42.4).unwrap();
    let clusters = index.clusters(&left_half, 12).unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].count, 5);
    assert!(clusters[0].sample_ids.iter().all(|&id| id < 5));
}

#[test]
fn empty_indexes_and_empty_boxes_give_no_clusters() {
    let empty = ClusterIndex::build(&[], ClusterOptions::default()).unwrap();
    assert!(empty.is_empty());
    assert!(empty.clusters(&Bbox::WORLD, 5).unwrap().is_empty());

    let index = ClusterIndex::build(&incidents(100, 9), ClusterOptions::default()).unwrap();
    let ocean = Bbox::new(-40.0, 30.0, -39.0, 31.0).unwrap();
    for zoom in [0, 9, 17, 24] {
        assert!(index.clusters(&ocean, zoom).unwrap().is_empty());
    }
}

#[test]
fn bad_input_is_rejected_with_the_reason() {
    let bad = [ClusterPoint {
        id: 7,
        position: Point::new(10.0, 95.0),
    }];
    let error = ClusterIndex::build(&bad, ClusterOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid position for incident 7: lon 10, lat 95 is not a WGS84 position"
    );

    let index = ClusterIndex::build(&incidents(10, 3), ClusterOptions::default()).unwrap();
    assert!(matches!(
        index.clusters(&Bbox::WORLD, 25),
        Err(ClusterError::InvalidZoom(25))
    ));

    let options = ClusterOptions {
        radius_px: 0.0,
        ..ClusterOptions::default()
    };
    assert!(matches!(
        ClusterIndex::build(&[], options),
        Err(ClusterError::InvalidOptions(_))
    ));
}

#[test]
fn feature_collection_reports_the_total() {
    let index = ClusterIndex::build(&incidents(500, 5), ClusterOptions::default()).unwrap();
    let clusters = index.clusters(&Bbox::WORLD, 12).unwrap();
    let collection = to_feature_collection(&clusters, 12);

    assert_eq!(collection.features.len(), clusters.len());
    assert_eq!(collection.foreign_members.unwrap()["total"], 500);
    let first = serde_json::to_value(&collection.features[0]).unwrap();
    assert_eq!(first["geometry"]["type"], "Point");
    assert!(first["properties"]["count"].as_u64().unwrap() >= 1);
}
