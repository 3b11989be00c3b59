use super::*;
use geo::{MultiPolygon, Polygon, point, wkt};

fn shape(id: i64, level_rank: u32, polygon: Polygon<f64>) -> JurisdictionShape {
    JurisdictionShape {
        id,
        level_rank,
        geometry: MultiPolygon::new(vec![polygon]),
    }
}

fn reversed(polygon: &Polygon<f64>) -> Polygon<f64> {
    let mut polygon = polygon.clone();
    polygon.exterior_mut(|ring| ring.0.reverse());
    polygon.interiors_mut(|rings| rings.iter_mut().for_each(|ring| ring.0.reverse()));
    polygon
}

/// Starts the exterior ring at another vertex (same ring, same direction).
fn rotated(polygon: &Polygon<f64>) -> Polygon<f64> {
    let mut polygon = polygon.clone();
    polygon.exterior_mut(|ring| {
        ring.0.pop();
        ring.0.rotate_left(1);
        ring.0.push(ring.0[0]);
    });
    polygon
}

fn routed(outcome: RouteOutcome) -> Routing {
    match outcome {
        RouteOutcome::Routed(routing) => routing,
        RouteOutcome::Outside { .. } => panic!("expected the point to be routed"),
    }
}

// Two neighbours sharing the border lon = 10.01; the west one is smaller.
fn west() -> Polygon<f64> {
    wkt!(POLYGON((10. 50., 10.01 50., 10.01 50.01, 10. 50.01, 10. 50.)))
}
fn east() -> Polygon<f64> {
    wkt!(POLYGON((10.01 50., 10.03 50., 10.03 50.01, 10.01 50.01, 10.01 50.)))
}

#[test]
fn a_point_inside_one_jurisdiction_is_routed_to_it() {
    let router = Router::new(vec![shape(1, 0, west()), shape(2, 0, east())]);
    let routing = routed(router.route(point!(x: 10.02, y: 50.005), None));
    assert_eq!(routing.jurisdiction_id, 2);
    assert!(!routing.overlap);
    assert!(routing.containing.is_empty());
}

#[test]
fn a_point_in_a_hole_belongs_to_the_jurisdiction_filling_it() {
    let ring: Polygon<f64> =
        wkt!(POLYGON((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.),(4. 4., 6. 4., 6. 6., 4. 6., 4. 4.)));
    let island: Polygon<f64> = wkt!(POLYGON((4. 4., 6. 4., 6. 6., 4. 6., 4. 4.)));
    let router = Router::new(vec![shape(7, 0, ring.clone())]);
    assert_eq!(
        router.route(point!(x: 5., y: 5.), None),
        RouteOutcome::Outside {
            likely_swapped: false
        }
    );

    let router = Router::new(vec![shape(7, 0, ring), shape(8, 0, island)]);
    assert_eq!(
        routed(router.route(point!(x: 5., y: 5.), None)).jurisdiction_id,
        8
    );
    let routing = routed(router.route(point!(x: 2., y: 5.), None));
    assert_eq!((routing.jurisdiction_id, routing.overlap), (7, false));
}

#[test]
fn both_windings_give_the_same_answer() {
    for polygon in [west(), reversed(&west())] {
        let router = Router::new(vec![shape(1, 0, polygon)]);
        assert_eq!(
            routed(router.route(point!(x: 10.005, y: 50.005), None)).jurisdiction_id,
            1
        );
        assert!(matches!(
            router.route(point!(x: 10.02, y: 50.005), None),
            RouteOutcome::Outside { .. }
        ));
    }
}

#[test]
fn a_border_point_goes_to_the_smaller_jurisdiction_whatever_the_vertex_order() {
    let on_border = point!(x: 10.01, y: 50.005);
    let variants = [
        (west(), east()),
        (reversed(&west()), east()),
        (west(), reversed(&east())),
        (rotated(&west()), rotated(&reversed(&east()))),
    ];
    for (west, east) in variants {
        // The larger one gets the lower id, so only the area rule can pick the west.
        for shapes in [
            vec![shape(1, 0, east.clone()), shape(2, 0, west.clone())],
            vec![shape(2, 0, west), shape(1, 0, east)],
        ] {
            let routing = routed(Router::new(shapes).route(on_border, None));
            assert_eq!(routing.jurisdiction_id, 2);
            assert!(routing.overlap);
        }
    }
}

#[test]
fn equal_areas_on_a_border_go_to_the_lower_id() {
    let south: Polygon<f64> = wkt!(POLYGON((10. 50., 10.01 50., 10.01 50.01, 10. 50.01, 10. 50.)));
    let mirrored: Polygon<f64> =
        wkt!(POLYGON((10.01 50., 10.02 50., 10.02 50.01, 10.01 50.01, 10.01 50.)));
    for (first, second) in [(5, 9), (9, 5)] {
        let router = Router::new(vec![
            shape(first, 0, south.clone()),
            shape(second, 0, mirrored.clone()),
        ]);
        let routing = routed(router.route(point!(x: 10.01, y: 50.002), None));
        assert_eq!(routing.jurisdiction_id, 5);
        assert!(routing.overlap);
    }
}

#[test]
fn overlapping_jurisdictions_set_the_overlap_flag() {
    let a: Polygon<f64> = wkt!(POLYGON((0. 0., 2. 0., 2. 2., 0. 2., 0. 0.)));
    let b: Polygon<f64> = wkt!(POLYGON((1. 1., 4. 1., 4. 4., 1. 4., 1. 1.)));
    let router = Router::new(vec![shape(1, 0, b), shape(2, 0, a)]);
    let routing = routed(router.route(point!(x: 1.5, y: 1.5), None));
    assert_eq!((routing.jurisdiction_id, routing.overlap), (2, true));
    let routing = routed(router.route(point!(x: 3., y: 3.), None));
    assert_eq!((routing.jurisdiction_id, routing.overlap), (1, false));
}

#[test]
fn the_most_specific_level_wins_and_the_others_are_kept() {
    let region: Polygon<f64> = wkt!(POLYGON((9. 49., 11. 49., 11. 51., 9. 51., 9. 49.)));
    let city: Polygon<f64> = wkt!(POLYGON((9.9 49.9, 10.1 49.9, 10.1 50.1, 9.9 50.1, 9.9 49.9)));
    let router = Router::new(vec![
        shape(100, 0, region),
        shape(50, 1, city),
        shape(1, 2, west()),
        shape(2, 2, east()),
    ]);

    let routing = routed(router.route(point!(x: 10.005, y: 50.005), None));
    assert_eq!(routing.jurisdiction_id, 1);
    assert_eq!(routing.containing, vec![50, 100]);
    assert!(!routing.overlap);

    let routing = routed(router.route(point!(x: 9.95, y: 49.95), None));
    assert_eq!(
        (routing.jurisdiction_id, routing.containing),
        (50, vec![100])
    );
}

#[test]
fn near_boundary_compares_the_border_distance_with_the_accuracy() {
    let router = Router::new(vec![shape(1, 0, west())]);
    // 0.001° of longitude at 50° N is about 71.5 m from the west border.
    let point = point!(x: 10.001, y: 50.005);
    assert!(routed(router.route(point, Some(100.0))).near_boundary);
    assert!(!routed(router.route(point, Some(50.0))).near_boundary);
    assert!(!routed(router.route(point, None)).near_boundary);
    assert!(!routed(router.route(point, Some(f64::NAN))).near_boundary);
}

#[test]
fn swapped_coordinates_are_detected() {
    let router = Router::new(vec![shape(1, 0, west())]);
    assert_eq!(
        router.route(point!(x: 50.005, y: 10.005), None),
        RouteOutcome::Outside {
            likely_swapped: true
        }
    );
    assert_eq!(
        router.route(point!(x: 20.0, y: 10.005), None),
        RouteOutcome::Outside {
            likely_swapped: false
        }
    );
    assert_eq!(
        router.route(point!(x: f64::NAN, y: 50.0), None),
        RouteOutcome::Outside {
            likely_swapped: false
        }
    );
}

#[test]
fn multipolygon_parts_are_all_searched() {
    let parts = MultiPolygon::new(vec![
        west(),
        wkt!(POLYGON((20. 20., 21. 20., 21. 21., 20. 20.))),
    ]);
    let router = Router::new(vec![JurisdictionShape {
        id: 3,
        level_rank: 0,
        geometry: parts,
    }]);
    assert_eq!(
        routed(router.route(point!(x: 20.9, y: 20.5), None)).jurisdiction_id,
        3
    );
    assert_eq!(router.containing_ids(point!(x: 10.005, y: 50.005)), vec![3]);
    assert_eq!(router.len(), 1);
}
