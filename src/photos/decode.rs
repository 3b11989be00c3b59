//! Format sniffing, header checks and bounded decoding to oriented RGB.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::metadata::Orientation;
use image::{DynamicImage, ImageFormat, ImageReader, RgbImage};
use jpeg_decoder::PixelFormat;

use super::{PhotoError, PhotoLimits, Result};

/// Image formats cityfix accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    WebP,
    Gif,
}

impl ImageKind {
    /// Short name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::WebP => "WebP",
            Self::Gif => "GIF",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::WebP => ImageFormat::WebP,
            Self::Gif => ImageFormat::Gif,
        }
    }
}

/// What the header says, checked against the limits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    pub kind: ImageKind,
    pub width_px: u32,
    pub height_px: u32,
}

/// Identifies the format from the magic bytes alone.
pub fn sniff(bytes: &[u8]) -> Result<ImageKind> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    // HEIC/AVIF are what many phones produce; name them instead of "not an image".
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = String::from_utf8_lossy(&bytes[8..12]).trim().to_uppercase();
        return Err(PhotoError::UnsupportedFormat(brand));
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(ImageKind::Jpeg),
        Ok(ImageFormat::Png) => Ok(ImageKind::Png),
        Ok(ImageFormat::WebP) => Ok(ImageKind::WebP),
        Ok(ImageFormat::Gif) => Ok(ImageKind::Gif),
        Ok(other) => Err(PhotoError::UnsupportedFormat(
            format!("{other:?}").to_uppercase(),
        )),
        Err(_) => Err(PhotoError::NotAnImage),
    }
}

/// Sniffs the format and checks size limits from the header only (no pixel decoded).
pub(super) fn check_header(bytes: &[u8], limits: &PhotoLimits) -> Result<Header> {
    if bytes.len() > limits.max_bytes {
        return Err(PhotoError::TooLarge(format!(
            "{} bytes, the limit is {} bytes",
            bytes.len(),
            limits.max_bytes
        )));
    }
    let kind = sniff(bytes)?;
    let (width_px, height_px) = header_dimensions(bytes, kind)?;

    let pixels = u64::from(width_px) * u64::from(height_px);
    if width_px.max(height_px) > limits.max_dimension_px || pixels > limits.max_pixels {
        return Err(PhotoError::TooLarge(format!(
            "{width_px}×{height_px} pixels, the limits are {} pixels per side and {} pixels in all",
            limits.max_dimension_px, limits.max_pixels
        )));
    }
    if pixels == 0 {
        return Err(corrupt(
            kind,
            "the header declares a zero-sized image".into(),
        ));
    }
    if width_px.min(height_px) < limits.min_dimension_px {
        return Err(PhotoError::TooSmall(format!(
            "{width_px}×{height_px} pixels, at least {} pixels per side",
            limits.min_dimension_px
        )));
    }
    if pixels > limits.dense_check_above_pixels
        && (bytes.len() as u64).saturating_mul(1_000_000) < pixels * limits.min_bytes_per_megapixel
    {
        // A real photo of this size cannot compress this far: the header
        // lies (a decompression bomb, or data for a smaller image).
        return Err(PhotoError::TooLarge(format!(
            "{width_px}×{height_px} pixels declared in only {} bytes; a photo that large \
             needs at least {} bytes",
            bytes.len(),
            pixels * limits.min_bytes_per_megapixel / 1_000_000
        )));
    }
    Ok(Header {
        kind,
        width_px,
        height_px,
    })
}

fn header_dimensions(bytes: &[u8], kind: ImageKind) -> Result<(u32, u32)> {
    if kind == ImageKind::Jpeg {
        let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
        decoder.read_info().map_err(|e| jpeg_error(&e))?;
        let info = decoder.info().ok_or(PhotoError::Truncated("JPEG"))?;
        return Ok((u32::from(info.width), u32::from(info.height)));
    }
    ImageReader::with_format(Cursor::new(bytes), kind.format())
        .into_dimensions()
        .map_err(|e| image_error(kind, e))
}

/// Decodes to RGB. JPEGs use the largest DCT downscale (1/2, 1/4, 1/8) that keeps the
/// width and height at least `min_size_px` (or the whole image when it is smaller), the
/// same rule as Pillow's `draft` used by the training script.
pub(super) fn decode_rgb(
    bytes: &[u8],
    header: &Header,
    min_size_px: (u32, u32),
) -> Result<RgbImage> {
    if header.kind == ImageKind::Jpeg {
        return decode_jpeg(bytes, header, min_size_px);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), header.kind.format());
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(header.width_px);
    limits.max_image_height = Some(header.height_px);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| image_error(header.kind, e))?;
    Ok(image.into_rgb8())
}

/// Denominator of the DCT scale (1, 2, 4 or 8) for decoding `width`×`height` so that the
/// result stays at least `min_size_px` (width, height).
pub(super) fn dct_scale_denominator(width_px: u32, height_px: u32, min_size_px: (u32, u32)) -> u32 {
    let ratio = (width_px / min_size_px.0.max(1)).min(height_px / min_size_px.1.max(1));
    [8, 4, 2, 1].into_iter().find(|s| ratio >= *s).unwrap_or(1)
}

/// The size a `width`×`height` image has once its long side is cut to `max_side_px`.
pub(super) fn fitted_size(width_px: u32, height_px: u32, max_side_px: u32) -> (u32, u32) {
    let long = width_px.max(height_px).max(1);
    if long <= max_side_px {
        return (width_px, height_px);
    }
    let scale =
        |side: u32| (u64::from(side) * u64::from(max_side_px) / u64::from(long)).max(1) as u32;
    (scale(width_px), scale(height_px))
}

fn decode_jpeg(bytes: &[u8], header: &Header, min_size_px: (u32, u32)) -> Result<RgbImage> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    let scale = dct_scale_denominator(header.width_px, header.height_px, min_size_px);
    let request_w = header.width_px.div_ceil(scale);
    let request_h = header.height_px.div_ceil(scale);
    // The header check bounded both sides by max_dimension_px, which fits u16 here.
    let request = (u16::try_from(request_w), u16::try_from(request_h));
    let (Ok(rw), Ok(rh)) = request else {
        return Err(corrupt(ImageKind::Jpeg, "dimensions exceed 65535".into()));
    };
    decoder.scale(rw, rh).map_err(|e| jpeg_error(&e))?;
    let pixels = decoder.decode().map_err(|e| jpeg_error(&e))?;
    let info = decoder.info().ok_or(PhotoError::Truncated("JPEG"))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));

    let rgb = match info.pixel_format {
        PixelFormat::RGB24 => pixels,
        PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        PixelFormat::L16 => pixels.chunks_exact(2).flat_map(|p| [p[0]; 3]).collect(),
        PixelFormat::CMYK32 => pixels.chunks_exact(4).flat_map(cmyk_to_rgb).collect(),
    };
    RgbImage::from_raw(w, h, rgb)
        .ok_or_else(|| corrupt(ImageKind::Jpeg, "pixel buffer size mismatch".into()))
}

/// jpeg-decoder undoes the Adobe inversion of stored CMYK (as Photoshop and
/// Pillow write it) and hands out ink amounts: 0 is no ink, 255 full ink.
fn cmyk_to_rgb(p: &[u8]) -> [u8; 3] {
    let white = |ink: u8| u16::from(255 - ink);
    let k = white(p[3]);
    let channel = |ink: u8| ((white(ink) * k) / 255) as u8;
    [channel(p[0]), channel(p[1]), channel(p[2])]
}

/// Applies an EXIF Orientation value (1–8; anything else leaves the image as is).
pub(super) fn apply_orientation(image: RgbImage, exif_orientation: u8) -> RgbImage {
    match Orientation::from_exif(exif_orientation) {
        Some(Orientation::NoTransforms) | None => image,
        Some(orientation) => {
            let mut dynamic = DynamicImage::ImageRgb8(image);
            dynamic.apply_orientation(orientation);
            dynamic.into_rgb8()
        }
    }
}

/// Shrinks so that the long side is at most `max_side_px`; smaller images are untouched.
pub(super) fn fit_within(image: RgbImage, max_side_px: u32) -> RgbImage {
    let (w, h) = fitted_size(image.width(), image.height(), max_side_px);
    if (w, h) == (image.width(), image.height()) {
        return image;
    }
    imageops::resize(&image, w, h, FilterType::Triangle)
}

/// The whole frame resized (not cropped) to `side_px` square, as in training.
pub(super) fn square_resize(image: &RgbImage, side_px: u32) -> RgbImage {
    if image.width() == side_px && image.height() == side_px {
        return image.clone();
    }
    imageops::resize(image, side_px, side_px, FilterType::Triangle)
}

/// Encodes as baseline JPEG; the encoder writes no EXIF, XMP or ICC segments.
pub(super) fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(image.as_raw().len() / 8);
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    Ok(out)
}

fn corrupt(kind: ImageKind, message: String) -> PhotoError {
    PhotoError::Corrupt {
        kind: kind.name(),
        message,
    }
}

fn jpeg_error(e: &jpeg_decoder::Error) -> PhotoError {
    match e {
        jpeg_decoder::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Truncated("JPEG")
        }
        other => corrupt(ImageKind::Jpeg, other.to_string()),
    }
}

fn image_error(kind: ImageKind, e: image::ImageError) -> PhotoError {
    match e {
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Truncated(kind.name())
        }
        image::ImageError::Limits(l) => PhotoError::TooLarge(l.to_string()),
        other => {
            let message = other.to_string();
            if message.to_lowercase().contains("eof") || message.contains("end of file") {
                PhotoError::Truncated(kind.name())
            } else {
                corrupt(kind, message)
            }
        }
    }
}
