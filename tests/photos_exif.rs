//! Real phone and camera photos from `../shared/data/photos/exif/`: every EXIF
//! Orientation (0–8) comes out upright and GPS positions match `EXIF_TAGS.csv`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use cityfix::photos::{self, PhotoLimits, ProcessedPhoto};
use image::RgbImage;

fn exif_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("CITYFIX_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = shared.join("data/photos/exif");
    if dir.join("EXIF_TAGS.csv").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: ../shared/data not found (looked for {})",
            dir.display()
        );
        None
    }
}

fn process(dir: &std::path::Path, file: &str) -> ProcessedPhoto {
    let bytes = std::fs::read(dir.join(file)).unwrap();
    photos::process(&bytes, &PhotoLimits::default()).unwrap()
}

/// Mean absolute difference of two images after shrinking both to 64×64 grey.
fn difference(a: &RgbImage, b: &RgbImage) -> f64 {
    let small = |i: &RgbImage| image::imageops::grayscale(&image::imageops::thumbnail(i, 64, 64));
    let (a, b) = (small(a), small(b));
    let total: f64 = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| (f64::from(p[0]) - f64::from(q[0])).abs())
        .sum();
    total / f64::from(a.width() * a.height())
}

fn decoded(photo: &ProcessedPhoto) -> RgbImage {
    image::load_from_memory(&photo.bytes).unwrap().into_rgb8()
}

#[test]
fn all_landscape_orientations_come_out_upright() {
    let Some(dir) = exif_dir() else { return };
    let upright = process(&dir, "recurser_Landscape_1.jpg");
    let reference = decoded(&upright);
    assert_eq!((upright.width_px, upright.height_px), (1600, 1066));

    for n in 0..=8 {
        let photo = process(&dir, &format!("recurser_Landscape_{n}.jpg"));
        assert_eq!(
            photo.exif_orientation,
            if n == 0 { 1 } else { n },
            "Landscape_{n}"
        );
        assert_eq!(
            (photo.width_px, photo.height_px),
            (1600, 1066),
            "Landscape_{n} size"
        );
        let diff = difference(&decoded(&photo), &reference);
        assert!(
            diff < 6.0,
            "Landscape_{n} differs from the upright photo by {diff:.1}"
        );
        let model_diff = difference(&photo.model_input, &upright.model_input);
        assert!(
            model_diff < 6.0,
            "Landscape_{n} model input differs by {model_diff:.1}"
        );
    }
}

#[test]
fn unoriented_copy_would_be_detected() {
    let Some(dir) = exif_dir() else { return };
    // Guards the test above: a mirrored upright photo is far from the upright one.
    let upright = decoded(&process(&dir, "recurser_Landscape_1.jpg"));
    let mirrored = image::imageops::flip_horizontal(&upright);
    assert!(difference(&mirrored, &upright) > 15.0);
}

#[test]
fn portrait_orientations_agree() {
    let Some(dir) = exif_dir() else { return };
    let six = process(&dir, "recurser_Portrait_6.jpg");
    let eight = process(&dir, "recurser_Portrait_8.jpg");
    assert!(
        six.height_px > six.width_px,
        "Portrait_6 is {}×{}",
        six.width_px,
        six.height_px
    );
    assert_eq!(
        (six.width_px, six.height_px),
        (eight.width_px, eight.height_px)
    );
    let diff = difference(&decoded(&six), &decoded(&eight));
    assert!(diff < 6.0, "Portrait_6 and Portrait_8 differ by {diff:.1}");
}

#[test]
fn camera_orientation_six_turns_portrait() {
    let Some(dir) = exif_dir() else { return };
    let photo = process(&dir, "ianare_hdr_canon_hdr_NO.jpg");
    assert_eq!(photo.original_size_px, (2048, 1536));
    assert_eq!(photo.exif_orientation, 6);
    assert_eq!((photo.width_px, photo.height_px), (1200, 1600));
}

#[test]
fn gps_positions_match_the_tag_table() {
    let Some(dir) = exif_dir() else { return };
    let mut reader = csv::Reader::from_path(dir.join("EXIF_TAGS.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (file_col, lat_col, lon_col) = (column("file"), column("gps_lat"), column("gps_lon"));
    let mut with_gps = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let file = &record[file_col];
        let photo = process(&dir, file);
        assert!(
            !photo.bytes.windows(4).any(|w| w == b"Exif"),
            "{file}: stored copy keeps EXIF"
        );
        match (
            record[lat_col].parse::<f64>(),
            record[lon_col].parse::<f64>(),
        ) {
            (Ok(lat), Ok(lon)) => {
                with_gps += 1;
                let p = photo
                    .exif_position
                    .unwrap_or_else(|| panic!("{file}: no GPS read"));
                assert!((p.y() - lat).abs() < 1e-6, "{file}: lat {} vs {lat}", p.y());
                assert!((p.x() - lon).abs() < 1e-6, "{file}: lon {} vs {lon}", p.x());
                assert!(
                    photos::read_exif(&photo.bytes).position.is_none(),
                    "{file}: GPS survived"
                );
            }
            _ => assert!(photo.exif_position.is_none(), "{file}: unexpected GPS"),
        }
    }
    // Includes Madrid's western longitude (W ref) and the northern sites.
    assert_eq!(with_gps, 7);
}

#[test]
fn full_size_phone_photo_fast_path_matches_full_path() {
    let Some(dir) = exif_dir() else { return };
    let bytes = std::fs::read(dir.join("ianare_mobile_HMD_Nokia_8.3_5G.jpg")).unwrap();
    let limits = PhotoLimits::default();
    let fast = photos::model_input(&bytes, &limits).unwrap();
    let full = photos::process(&bytes, &limits).unwrap();
    assert_eq!(fast.dimensions(), (224, 224));
    let diff = difference(&fast, &full.model_input);
    assert!(diff < 4.0, "reduced-scale decode differs by {diff:.1}");
}

/// The classifier's input as `cityfix classify`, the benches and the evaluation make
/// it (`photos::model_input`: reduced-scale decode, then orientation).
fn model_input(dir: &std::path::Path, file: &str) -> RgbImage {
    let bytes = std::fs::read(dir.join(file)).unwrap();
    photos::model_input(&bytes, &PhotoLimits::default()).unwrap()
}

#[test]
fn every_orientation_reaches_the_classifier_upright() {
    let Some(dir) = exif_dir() else { return };
    let upright = model_input(&dir, "recurser_Landscape_1.jpg");
    for n in 0..=8 {
        let file = format!("recurser_Landscape_{n}.jpg");
        let input = model_input(&dir, &file);
        assert_eq!(input.dimensions(), (224, 224), "{file}");
        let diff = difference(&input, &upright);
        assert!(
            diff < 6.0,
            "{file}: classifier input differs from upright by {diff:.1}"
        );
    }
    // The portrait pair: same upright scene whichever way the camera stored it.
    let six = model_input(&dir, "recurser_Portrait_6.jpg");
    let eight = model_input(&dir, "recurser_Portrait_8.jpg");
    let diff = difference(&six, &eight);
    assert!(
        diff < 6.0,
        "Portrait_6 and Portrait_8 inputs differ by {diff:.1}"
    );
    // Guard: each transposing orientation left unapplied would be far off.
    for n in 2..=8 {
        let bytes = std::fs::read(dir.join(format!("recurser_Landscape_{n}.jpg"))).unwrap();
        let raw = image::load_from_memory(&bytes).unwrap().into_rgb8();
        let raw = image::imageops::resize(&raw, 224, 224, image::imageops::FilterType::Triangle);
        let diff = difference(&raw, &upright);
        assert!(
            diff > 15.0,
            "Landscape_{n} unoriented is only {diff:.1} away"
        );
    }
}

#[test]
fn every_photo_gets_the_same_classifier_input_on_both_paths() {
    let Some(dir) = exif_dir() else { return };
    let mut reader = csv::Reader::from_path(dir.join("EXIF_TAGS.csv")).unwrap();
    let files: Vec<String> = reader
        .records()
        .map(|record| record.unwrap()[0].to_string())
        .collect();
    assert_eq!(files.len(), 19);
    for file in &files {
        let fast = model_input(&dir, file);
        let full = process(&dir, file);
        assert_eq!(fast.dimensions(), (224, 224), "{file}");
        // The intake path orients the full-size copy, then shrinks; the fast path
        // shrinks in the decoder, then orients: the same picture either way.
        let diff = difference(&fast, &full.model_input);
        assert!(diff < 4.0, "{file}: the two paths differ by {diff:.1}");
    }
    // The camera photo stored sideways (Orientation 6) reaches the model turned.
    let canon = model_input(&dir, "ianare_hdr_canon_hdr_NO.jpg");
    let bytes = std::fs::read(dir.join("ianare_hdr_canon_hdr_NO.jpg")).unwrap();
    let sideways = image::load_from_memory(&bytes).unwrap().into_rgb8();
    let sideways =
        image::imageops::resize(&sideways, 224, 224, image::imageops::FilterType::Triangle);
    let turned = image::imageops::rotate90(&sideways);
    assert!(difference(&canon, &turned) < 6.0);
    assert!(difference(&canon, &sideways) > difference(&canon, &turned) + 5.0);
}
