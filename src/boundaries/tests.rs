use super::*;
use geo::{Area, Contains, Validation, Winding, point};

const SAMPLE: &str = include_str!("../../fixtures/boundaries/sample_districts.geojson");
const SELF_INTERSECTING: &str = include_str!("../../fixtures/boundaries/self_intersecting.geojson");

fn options(strict: bool) -> ImportOptions {
    ImportOptions {
        id_field: "code".to_string(),
        name_field: "name".to_string(),
        strict,
    }
}

fn parse(text: &str) -> Result<ParsedBoundaries> {
    parse_boundaries(text, &options(false))
}

/// A one-feature collection around the given geometry JSON.
fn single(geometry: &str) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature",
        "properties":{{"code":"X1","name":"Test"}},"geometry":{geometry}}}]}}"#
    )
}

fn error_text(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("expected an error"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn polygons_multipolygons_and_holes_are_read() {
    let parsed = parse(SAMPLE).unwrap();
    assert!(parsed.warnings.is_empty());
    let ids: Vec<&str> = parsed
        .features
        .iter()
        .map(|f| f.external_id.as_str())
        .collect();
    assert_eq!(ids, ["N1", "I1", "3"]);

    let north = &parsed.features[0].geometry;
    assert_eq!(north.0[0].interiors().len(), 1);
    assert!(north.contains(&point!(x: -71.09, y: 42.37)));
    assert!(!north.contains(&point!(x: -71.07, y: 42.37)));
    assert_eq!(parsed.features[2].geometry.0.len(), 2);
}

#[test]
fn rings_come_out_in_rfc7946_winding() {
    let parsed = parse(SAMPLE).unwrap();
    for feature in &parsed.features {
        for polygon in feature.geometry.iter() {
            assert!(polygon.exterior().is_ccw(), "{}", feature.name);
            assert!(polygon.interiors().iter().all(|ring| ring.is_cw()));
        }
    }
}

#[test]
fn crs84_and_epsg_4326_are_tolerated_and_others_refused() {
    for crs in ["urn:ogc:def:crs:EPSG::4326", "EPSG:4326", "OGC:CRS84"] {
        let text = SAMPLE.replace("urn:ogc:def:crs:OGC:1.3:CRS84", crs);
        assert!(parse(&text).is_ok(), "{crs}");
    }
    let text = SAMPLE.replace(
        "urn:ogc:def:crs:OGC:1.3:CRS84",
        "urn:ogc:def:crs:EPSG::3857",
    );
    let message = error_text(&text);
    assert!(
        message.contains("unsupported crs") && message.contains("3857"),
        "{message}"
    );
}

#[test]
fn invalid_geojson_is_refused() {
    assert!(error_text("{\"type\": \"FeatureCollection\", ").starts_with("not valid GeoJSON"));
    assert!(error_text("[1, 2]").starts_with("not valid GeoJSON"));
    let bare = r#"{"type":"Point","coordinates":[1.0,2.0]}"#;
    assert!(error_text(bare).contains("expected a GeoJSON FeatureCollection"));
    let empty = r#"{"type":"FeatureCollection","features":[]}"#;
    assert!(matches!(parse(empty), Err(BoundaryError::NoFeatures)));
}

#[test]
fn missing_properties_name_the_feature() {
    let text = SAMPLE.replace(r#""code": 3, "#, "");
    let message = error_text(&text);
    assert!(
        message.contains("#2") && message.contains("South"),
        "{message}"
    );
    assert!(message.contains("\"code\" is missing"), "{message}");

    let text = SAMPLE.replace(r#""name": "Island""#, r#""name": null"#);
    let message = error_text(&text);
    assert!(
        message.contains("#1 (id \"I1\")") && message.contains("is null"),
        "{message}"
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let text = SAMPLE.replace(r#""code": "I1""#, r#""code": "N1""#);
    assert!(matches!(
        parse(&text),
        Err(BoundaryError::DuplicateId { .. })
    ));
}

#[test]
fn non_polygon_geometries_are_refused() {
    let message = error_text(&single(
        r#"{"type":"LineString","coordinates":[[1,2],[3,4]]}"#,
    ));
    assert!(
        message.contains("X1") && message.contains("LineString"),
        "{message}"
    );
    let message = error_text(&single("null"));
    assert!(message.contains("has no geometry"), "{message}");
    let message = error_text(&single(
        r#"{"type":"Polygon","coordinates":[[[1,2],[3,4],[1,2]]]}"#,
    ));
    assert!(message.contains("at least 4"), "{message}");
}

#[test]
fn out_of_range_coordinates_are_refused_with_a_swap_hint() {
    let swapped = r#"{"type":"Polygon","coordinates":[[[37.7,-122.4],[37.7,-122.3],[37.8,-122.3],[37.7,-122.4]]]}"#;
    let message = error_text(&single(swapped));
    assert!(
        message.contains("[37.7, -122.4]") && message.contains("[lat, lon]"),
        "{message}"
    );

    let wild = r#"{"type":"Polygon","coordinates":[[[200,0],[201,0],[201,1],[200,0]]]}"#;
    let message = error_text(&single(wild));
    assert!(
        message.contains("not a WGS84") && !message.contains("[lat, lon]"),
        "{message}"
    );
}

#[test]
fn unclosed_rings_are_closed_with_a_warning() {
    let open = r#"{"type":"Polygon","coordinates":[[[1,1],[2,1],[2,2],[1,2]]]}"#;
    let parsed = parse(&single(open)).unwrap();
    assert_eq!(parsed.features[0].geometry.0[0].exterior().0.len(), 5);
    assert!(parsed.warnings[0].what.contains("not closed"));
    assert!(parse_boundaries(&single(open), &options(true)).is_err());
}

#[test]
fn self_intersections_and_overlapping_parts_are_repaired_with_warnings() {
    let parsed = parse(SELF_INTERSECTING).unwrap();
    let warned: Vec<&str> = parsed.warnings.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(warned, ["Bowtie", "Overlapping parts"]);
    assert!(
        parsed.warnings[0].what.contains("self-intersection"),
        "{:?}",
        parsed.warnings
    );
    assert!(
        parsed.warnings[0].what.contains("polygons 1 → 2"),
        "{:?}",
        parsed.warnings
    );

    let bowtie = &parsed.features[0].geometry;
    assert!(bowtie.is_valid());
    // Both lobes survive: each is a quarter of the 0.02° square.
    assert!((bowtie.unsigned_area() - 0.0002).abs() < 1e-9);
    assert!(bowtie.contains(&point!(x: 46.605, y: 24.61)));
    assert!(bowtie.contains(&point!(x: 46.615, y: 24.61)));
    assert!(!bowtie.contains(&point!(x: 46.61, y: 24.605)));

    let merged = &parsed.features[1].geometry;
    assert!(merged.is_valid());
    assert_eq!(merged.0.len(), 1);
    assert!((merged.unsigned_area() - 0.0007).abs() < 1e-9);
}

#[test]
fn strict_mode_refuses_invalid_features() {
    let err = parse_boundaries(SELF_INTERSECTING, &options(true)).unwrap_err();
    assert!(matches!(err, BoundaryError::InvalidFeature { .. }));
    assert!(err.to_string().contains("Bowtie"), "{err}");
    assert!(parse_boundaries(SAMPLE, &options(true)).is_ok());
}

#[test]
fn an_unrepairable_feature_fails_the_whole_file() {
    let flat = r#"{"type":"Polygon","coordinates":[[[1,1],[2,1],[3,1],[1,1]]]}"#;
    let err = parse(&single(flat)).unwrap_err();
    assert!(matches!(err, BoundaryError::Unrepairable { .. }), "{err}");
    assert!(err.to_string().contains("X1"), "{err}");
}

#[test]
fn content_hash_ignores_layout_and_sees_changes() {
    let first = parse(SAMPLE).unwrap().content_hash;
    assert_eq!(first.len(), 64);

    // Re-serialised compactly: same content.
    let value: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
    assert_eq!(parse(&value.to_string()).unwrap().content_hash, first);

    // Features in another order and a ring drawn the other way: same content.
    let mut reordered = value.clone();
    let features = reordered["features"].as_array_mut().unwrap();
    features.reverse();
    let ring = features[0]["geometry"]["coordinates"][0][0]
        .as_array_mut()
        .unwrap();
    ring.reverse();
    assert_eq!(parse(&reordered.to_string()).unwrap().content_hash, first);

    let moved = SAMPLE.replacen("-70.97, 42.33", "-70.97, 42.331", 1);
    assert_ne!(parse(&moved).unwrap().content_hash, first);
    let renamed = SAMPLE.replace("\"Island\"", "\"Isle\"");
    assert_ne!(parse(&renamed).unwrap().content_hash, first);
}
