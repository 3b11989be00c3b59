use std::io::Write;

use super::*;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

const HEADER: &str = "id,lat,lon,category,created_at,closed_at,status,district\n";

#[test]
fn records_keep_empty_and_broken_coordinates_apart() {
    let csv = file(&format!(
        "{HEADER}a,42.3,-71.0,Pothole,2015-03-08T01:30:00-05:00,2015-03-09T10:00:00-04:00,Closed,A1\n\
         b,,,Pothole,2015-03-08T01:30:00-05:00,,Open,\n\
         c,north,-71.0,Pothole,2015-03-08T01:30:00-05:00,,Open,\n"
    ));
    let records = read_records(csv.path()).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[0].created_at,
        "2015-03-08T06:30:00Z".parse().unwrap()
    );
    assert_eq!(
        records[0].closed_at,
        Some("2015-03-09T14:00:00Z".parse().unwrap())
    );
    assert_eq!((records[1].lat, records[1].lon), (None, None));
    assert!(
        records[2].lat.unwrap().is_nan(),
        "kept as NaN so intake names it"
    );
}

#[test]
fn an_unreadable_time_stops_the_replay_with_its_line() {
    let csv = file(&format!(
        "{HEADER}a,42.3,-71.0,Pothole,yesterday,,Open,A1\n"
    ));
    let err = read_records(csv.path()).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("yesterday"), "{err}");
}

#[test]
fn the_category_map_trims_and_falls_back_to_other_only_when_unknown() {
    let csv =
        file("source_category,category\n Street Light Outages ,streetlight\nOdd,not_a_category\n");
    let map = read_category_map(csv.path()).unwrap();
    assert!(map.maps("Street Light Outages"));
    assert!(!map.maps("Noise"));
}
