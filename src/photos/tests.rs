#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};

use super::*;

/// A small photo-like test image: a red left half and a blue right half.
fn halves(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    })
}

fn encode(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose IHDR claims `width`×`height` but carries only a tiny image's data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = encode(&halves(4, 4), ImageFormat::Png);
    // IHDR data starts after the signature (8), length (4) and type (4).
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

#[test]
fn zero_bytes_is_empty() {
    let err = process(&[], &PhotoLimits::default()).unwrap_err();
    assert!(matches!(err, PhotoError::Empty), "{err}");
    assert!(err.to_string().contains("empty"));
}

#[test]
fn text_is_not_an_image() {
    let err = process(b"lat,lon\n42.3,-71.0\n", &PhotoLimits::default()).unwrap_err();
    assert!(matches!(err, PhotoError::NotAnImage), "{err}");
}

#[test]
fn heic_is_named_as_unsupported() {
    let mut bytes = vec![0, 0, 0, 24];
    bytes.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    let err = process(&bytes, &PhotoLimits::default()).unwrap_err();
    assert!(err.to_string().contains("HEIC"), "{err}");
}

#[test]
fn truncated_jpeg_is_reported_as_truncated() {
    let jpeg = encode(&halves(640, 480), ImageFormat::Jpeg);
    let cut = &jpeg[..jpeg.len() / 2];
    let err = process(cut, &PhotoLimits::default()).unwrap_err();
    assert!(matches!(err, PhotoError::Truncated("JPEG")), "{err}");

    let header_only = &jpeg[..40];
    assert!(process(header_only, &PhotoLimits::default()).is_err());
}

#[test]
fn huge_png_is_rejected_from_its_header() {
    let png = png_claiming(20_000, 20_000);
    assert!(png.len() < 200, "the test input must stay tiny");
    let err = process(&png, &PhotoLimits::default()).unwrap_err();
    assert!(matches!(err, PhotoError::TooLarge(_)), "{err}");
    assert!(err.to_string().contains("20000×20000"), "{err}");
}

#[test]
fn byte_limit_is_checked_first() {
    let limits = PhotoLimits {
        max_bytes: 10,
        ..PhotoLimits::default()
    };
    let err = process(&encode(&halves(8, 8), ImageFormat::Png), &limits).unwrap_err();
    assert!(matches!(err, PhotoError::TooLarge(_)), "{err}");
}

#[test]
fn processed_photo_is_stripped_hashed_and_sized() {
    let jpeg = encode(&halves(3200, 1800), ImageFormat::Jpeg);
    let photo = process(&jpeg, &PhotoLimits::default()).unwrap();

    assert_eq!((photo.width_px, photo.height_px), (1600, 900));
    assert_eq!(photo.original_size_px, (3200, 1800));
    assert_eq!(photo.sha256, hex::encode(Sha256::digest(&photo.bytes)));
    assert!(read_exif(&photo.bytes).position.is_none());
    assert!(
        !photo.bytes.windows(4).any(|w| w == b"Exif"),
        "stored copy carries EXIF"
    );
    assert_eq!(photo.model_input.dimensions(), (224, 224));

    // The halves survive the reduced-scale decode and the square resize.
    let left = photo.model_input.get_pixel(20, 112);
    let right = photo.model_input.get_pixel(200, 112);
    assert!(left[0] > 180 && left[2] < 70, "{left:?}");
    assert!(right[2] > 180 && right[0] < 70, "{right:?}");
}

#[test]
fn same_content_gives_same_address() {
    let png = encode(&halves(64, 48), ImageFormat::Png);
    let a = process(&png, &PhotoLimits::default()).unwrap();
    let b = process(&png, &PhotoLimits::default()).unwrap();
    assert_eq!(a.sha256, b.sha256);
}

#[test]
fn dct_scale_keeps_both_sides_above_the_target() {
    assert_eq!(decode::dct_scale_denominator(4000, 3000, (224, 224)), 8);
    assert_eq!(decode::dct_scale_denominator(1920, 1080, (224, 224)), 4);
    assert_eq!(decode::dct_scale_denominator(640, 640, (224, 224)), 2);
    assert_eq!(decode::dct_scale_denominator(400, 400, (224, 224)), 1);
    assert_eq!(decode::dct_scale_denominator(100, 80, (224, 224)), 1);
    assert_eq!(decode::dct_scale_denominator(4032, 3024, (1600, 1200)), 2);
}

#[test]
fn orientation_six_rotates_clockwise() {
    // Left half red: after a 90° clockwise turn, red is on top.
    let rotated = decode::apply_orientation(halves(40, 20), 6);
    assert_eq!(rotated.dimensions(), (20, 40));
    assert_eq!(rotated.get_pixel(10, 5)[0], 220);
    assert_eq!(rotated.get_pixel(10, 35)[2], 220);
}

#[tokio::test]
async fn dir_store_round_trips_and_rejects_bad_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirPhotoStore::new(dir.path());
    let bytes = b"stored bytes".to_vec();
    let id = hex::encode(Sha256::digest(&bytes));

    assert_eq!(store.get(&id).await.unwrap(), None);
    store.put(&id, &bytes).await.unwrap();
    store.put(&id, &bytes).await.unwrap();
    assert_eq!(store.get(&id).await.unwrap(), Some(bytes));
    assert!(
        store
            .path_of(&id)
            .unwrap()
            .starts_with(dir.path().join(&id[0..2]).join(&id[2..4]))
    );

    let leftovers: Vec<_> = std::fs::read_dir(store.path_of(&id).unwrap().parent().unwrap())
        .unwrap()
        .collect();
    assert_eq!(leftovers.len(), 1, "temp files left behind");

    let err = store.get("../../etc/passwd").await.unwrap_err();
    assert!(matches!(err, PhotoError::InvalidId(_)), "{err}");
}

#[test]
fn cmyk_jpegs_keep_their_colours() {
    let bytes = include_bytes!("../../fixtures/photos/cmyk_halves.jpg");
    let photo = process(bytes, &PhotoLimits::default()).unwrap();
    let side = photo.model_input.width();
    let left = photo.model_input.get_pixel(side / 4, side / 2).0;
    let right = photo.model_input.get_pixel(3 * side / 4, side / 2).0;
    let near = |got: [u8; 3], want: [u8; 3]| {
        got.iter()
            .zip(want)
            .all(|(&g, w)| (i16::from(g) - i16::from(w)).abs() <= 12)
    };
    assert!(near(left, [220, 20, 20]), "left half {left:?}");
    assert!(near(right, [20, 20, 220]), "right half {right:?}");
}

#[test]
fn a_photo_too_small_to_show_anything_is_refused() {
    let err = process(
        &encode(&halves(16, 480), ImageFormat::Png),
        &PhotoLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, PhotoError::TooSmall(_)), "{err}");
    assert!(err.to_string().contains("16×480"), "{err}");
    assert!(
        process(
            &encode(&halves(32, 32), ImageFormat::Png),
            &PhotoLimits::default()
        )
        .is_ok()
    );
}
