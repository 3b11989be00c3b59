//! Boundary import and routing on the real city data of `../shared/data/cities`,
//! checked against the validation figures of each city's PROVENANCE.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/real_data.rs"]
mod real_data;

use std::collections::BTreeSet;

use cityfix::boundaries::{BoundaryError, ImportOptions, parse_boundaries};
use cityfix::routing::{RouteOutcome, Router};
use geo::{Intersects, MultiPolygon, Point, point};
use real_data::{ReportPoint, boundaries, report_points, shapes, shared_dir};

macro_rules! shared_or_skip {
    () => {
        match shared_dir() {
            Some(shared) => shared,
            None => {
                eprintln!("skipped: ../shared/data not found");
                return;
            }
        }
    };
}

/// The ids of every polygon containing `point`, by geo's plain `Intersects`
/// (which counts the border as inside, like the router).
fn brute_force(geometries: &[MultiPolygon<f64>], point: Point<f64>) -> Vec<i64> {
    (0..geometries.len())
        .filter(|&index| geometries[index].intersects(&point))
        .map(|index| index as i64)
        .collect()
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

#[test]
fn boston_police_districts_are_valid_and_hold_the_report_points() {
    let shared = shared_or_skip!();
    let parsed = boundaries(
        &shared,
        "boston",
        "boston_police_districts.geojson",
        "DISTRICT",
        "DISTRICT",
    );
    // PROVENANCE: 12 features, invalid 0 (the file carries a CRS84 `crs` member).
    assert_eq!(parsed.features.len(), 12);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);

    let names: Vec<String> = parsed.features.iter().map(|f| f.name.clone()).collect();
    let geometries: Vec<MultiPolygon<f64>> =
        parsed.features.iter().map(|f| f.geometry.clone()).collect();
    let router = Router::new(shapes(&parsed, 0));
    let points = report_points(&shared, "boston");
    assert_eq!(points.len(), 161_456);

    let (mut inside, mut multiple, mut agree, mut both) = (0usize, 0usize, 0usize, 0usize);
    for (n, report) in points.iter().enumerate() {
        let point = Point::new(report.lon, report.lat);
        let ids = router.containing_ids(point);
        if n % 40 == 0 {
            assert_eq!(
                sorted(ids.clone()),
                brute_force(&geometries, point),
                "{}",
                report.id
            );
        }
        match router.route(point, None) {
            RouteOutcome::Routed(routing) => {
                inside += 1;
                multiple += usize::from(routing.overlap);
                assert_eq!(routing.jurisdiction_id, ids[0]);
                if !report.district.is_empty() {
                    both += 1;
                    agree +=
                        usize::from(names[routing.jurisdiction_id as usize] == report.district);
                }
            }
            RouteOutcome::Outside { likely_swapped } => assert!(!likely_swapped),
        }
    }

    // PROVENANCE (all 179,396 rows): 99.978 % inside, 39 outside, none in >1
    // polygon; district field equals the polygon for 95.39 % of rows having both.
    let share_inside = inside as f64 / points.len() as f64;
    let outside = points.len() - inside;
    eprintln!(
        "boston police: inside {inside}/{} ({:.4} %), outside {outside}, in >1 {multiple}, district agrees {agree}/{both}",
        points.len(),
        share_inside * 100.0
    );
    assert!((share_inside - 0.99978).abs() < 0.0001, "{share_inside}");
    assert!(outside <= 39, "{outside}");
    assert_eq!(multiple, 0);
    let share_agree = agree as f64 / both as f64;
    assert!((share_agree - 0.9539).abs() < 0.003, "{share_agree}");
}

#[test]
fn boston_neighbourhoods_are_repaired_with_warnings_naming_them() {
    let shared = shared_or_skip!();
    let parsed = boundaries(
        &shared,
        "boston",
        "boston_neighborhoods.geojson",
        "name",
        "name",
    );
    assert_eq!(parsed.features.len(), 26);

    // PROVENANCE: GEOS finds these four invalid (self-intersections).
    let warned: BTreeSet<&str> = parsed.warnings.iter().map(|w| w.name.as_str()).collect();
    let expected = BTreeSet::from(["Beacon Hill", "Downtown", "East Boston", "Hyde Park"]);
    assert_eq!(warned, expected, "{:#?}", parsed.warnings);
    for warning in &parsed.warnings {
        assert!(warning.what.contains("repaired: area"), "{warning:?}");
    }

    let router = Router::new(shapes(&parsed, 0));
    let points = report_points(&shared, "boston");
    let outside = points
        .iter()
        .filter(|report| {
            router
                .containing_ids(Point::new(report.lon, report.lat))
                .is_empty()
        })
        .count();
    // PROVENANCE: 99.978 % inside (40 of 179,396 outside).
    let share_inside: f64 = 1.0 - outside as f64 / points.len() as f64;
    eprintln!(
        "boston neighbourhoods: outside {outside} ({:.4} % inside)",
        share_inside * 100.0
    );
    assert!((share_inside - 0.99978).abs() < 0.0001, "{share_inside}");
}

#[test]
fn strict_import_refuses_the_invalid_boston_neighbourhoods() {
    let shared = shared_or_skip!();
    let path = shared.join("data/cities/boston/boundaries/boston_neighborhoods.geojson");
    let text = std::fs::read_to_string(path).unwrap();
    let options = ImportOptions {
        id_field: "name".to_string(),
        name_field: "name".to_string(),
        strict: true,
    };
    let err = parse_boundaries(&text, &options).unwrap_err();
    assert!(matches!(err, BoundaryError::InvalidFeature { .. }), "{err}");
    let message = err.to_string();
    let named = ["Hyde Park", "East Boston", "Downtown", "Beacon Hill"];
    assert!(named.iter().any(|name| message.contains(name)), "{message}");
}

#[test]
fn saudi_districts_repair_696_and_1332_and_route_like_geo() {
    let shared = shared_or_skip!();
    let parsed = boundaries(
        &shared,
        "riyadh",
        "sau_districts_usefksa_decoded.geojson",
        "id",
        "district_name_ar",
    );
    assert_eq!(parsed.features.len(), 2092);
    let warned: BTreeSet<&str> = parsed
        .warnings
        .iter()
        .map(|w| w.external_id.as_str())
        .collect();
    assert_eq!(
        warned,
        BTreeSet::from(["1332", "696"]),
        "{:#?}",
        parsed.warnings
    );

    let geometries: Vec<MultiPolygon<f64>> =
        parsed.features.iter().map(|f| f.geometry.clone()).collect();
    let router = Router::new(shapes(&parsed, 0));
    for (index, geometry) in geometries.iter().enumerate().step_by(7) {
        for polygon in geometry.iter() {
            for coord in polygon.exterior().coords().step_by(3) {
                // A vertex, and a point a little off it in each direction.
                for (dx, dy) in [(0.0, 0.0), (3e-5, 1e-5), (-2e-5, -3e-5)] {
                    let point = point!(x: coord.x + dx, y: coord.y + dy);
                    let ids = sorted(router.containing_ids(point));
                    assert_eq!(ids, brute_force(&geometries, point), "district #{index}");
                }
            }
        }
    }
}

#[test]
fn riyadh_overlapping_districts_set_the_overlap_flag() {
    let shared = shared_or_skip!();
    let parsed = boundaries(
        &shared,
        "riyadh",
        "riyadh_city_districts.geojson",
        "id",
        "district_name_ar",
    );
    assert_eq!(parsed.features.len(), 166);
    let router = Router::new(shapes(&parsed, 0));

    // A 200 × 200 grid over the Riyadh bbox of PROVENANCE.
    let (mut overlaps, mut routed) = (0usize, 0usize);
    for i in 0..200 {
        for j in 0..200 {
            let lon = 46.41664 + (47.05745 - 46.41664) * (i as f64 + 0.5) / 200.0;
            let lat = 24.31112 + (25.12042 - 24.31112) * (j as f64 + 0.5) / 200.0;
            let point = Point::new(lon, lat);
            let ids = router.containing_ids(point);
            if let RouteOutcome::Routed(routing) = router.route(point, None) {
                routed += 1;
                assert_eq!(routing.overlap, ids.len() > 1);
                overlaps += usize::from(routing.overlap);
            }
        }
    }
    // PROVENANCE: 54 pairs of Riyadh districts overlap.
    eprintln!("riyadh grid: routed {routed}, overlap {overlaps}");
    assert!(
        overlaps > 0 && overlaps < routed / 10,
        "{overlaps} of {routed}"
    );
}

#[test]
fn a_boston_report_with_swapped_coordinates_is_flagged() {
    let shared = shared_or_skip!();
    let parsed = boundaries(
        &shared,
        "boston",
        "boston_police_districts.geojson",
        "DISTRICT",
        "DISTRICT",
    );
    let router = Router::new(shapes(&parsed, 0));
    let report: &ReportPoint = &report_points(&shared, "boston")[0];
    assert!(matches!(
        router.route(Point::new(report.lon, report.lat), None),
        RouteOutcome::Routed(_)
    ));
    assert_eq!(
        router.route(Point::new(report.lat, report.lon), None),
        RouteOutcome::Outside {
            likely_swapped: true
        }
    );
}
