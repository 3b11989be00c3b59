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
    let records = read_records(csv.path()).unwrap().records;
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
fn unreadable_rows_are_set_aside_with_their_line_and_the_rest_is_read() {
    let csv = file(&format!(
        "{HEADER}a,42.3,-71.0,Pothole,yesterday,,Open,A1\n\
         b,42.3,-71.0,Pothole,2015-03-08T01:30:00-05:00,,Open,A1\n\
         c,42.3\n"
    ));
    let file = read_records(csv.path()).unwrap();
    assert_eq!(file.records.len(), 1);
    assert_eq!(file.records[0].id, "b");
    let lines: Vec<u64> = file.unreadable.iter().map(|row| row.line).collect();
    assert_eq!(lines, [2, 4]);
    assert!(file.unreadable[0].problem.contains("yesterday"));
}

#[test]
fn a_file_without_the_header_is_refused_naming_the_columns() {
    let csv = file("a,42.3,-71.0,Pothole,2015-03-08T01:30:00-05:00,,Open,A1\n");
    let err = read_records(csv.path()).unwrap_err().to_string();
    assert!(err.contains("missing: id, lat"), "{err}");
}

#[test]
fn gzip_is_told_by_its_content_not_its_name() {
    let text = format!("{HEADER}b,42.3,-71.0,Pothole,2015-03-08T01:30:00-05:00,,Open,A1\n");
    let plain_named_gz = tempfile::Builder::new()
        .suffix(".csv.gz")
        .tempfile()
        .unwrap();
    std::fs::write(plain_named_gz.path(), &text).unwrap();
    assert_eq!(
        read_records(plain_named_gz.path()).unwrap().records.len(),
        1
    );

    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    let gz_named_csv = file("");
    std::fs::write(gz_named_csv.path(), encoder.finish().unwrap()).unwrap();
    assert_eq!(read_records(gz_named_csv.path()).unwrap().records.len(), 1);
}

#[test]
fn category_names_map_to_slugs_and_slugs_map_to_themselves() {
    let csv =
        file("source_category,category\n Street Light Outages ,streetlight\nOdd,not_a_category\n");
    let map = read_category_map(csv.path()).unwrap();
    let text = "city = \"T\"\n[[categories]]\nslug = \"streetlight\"\nname = \"Light\"\ndedup_radius_m = 1\ndedup_window_days = 1\ndefault_priority = \"normal\"\n\n[sla.calendar]\ntime_zone = \"UTC\"\nworking_days = [\"mon\"]\nworking_hours = [\"08:00-16:00\"]\nholidays_known_from = \"2024-01-01\"\nholidays_known_until = \"2024-12-31\"\n\n[[sla.policies]]\ncategory = \"*\"\npriority = \"normal\"\nresponse = { working = \"8h\" }\nresolution = { working = \"40h\" }\n";
    let setup = crate::setup::CitySetup::parse(text, &[]).unwrap();
    assert_eq!(
        map.category_of("Street Light Outages", &setup),
        "streetlight"
    );
    assert_eq!(map.category_of("streetlight", &setup), "streetlight");
    assert_eq!(map.category_of("Odd", &setup), "other");
    assert_eq!(map.category_of("Noise", &setup), "other");
    assert!(map.maps("streetlight", &setup) && !map.maps("Noise", &setup));
}
