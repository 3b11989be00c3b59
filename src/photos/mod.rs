//! Citizens' photos: checked, decoded once, oriented, stripped of metadata and stored.
//!
//! [`process`] is the single entry point of the request path. It sniffs the format,
//! reads the dimensions from the header and refuses oversized images before any pixel is
//! decoded, decodes (JPEG at a reduced DCT scale when the stored size allows), applies the
//! EXIF Orientation, re-encodes a metadata-free JPEG (privacy: no GPS, camera or time
//! left in what we serve), hashes it for content addressing and keeps a small oriented
//! RGB copy for the classifier so nothing is decoded twice.

mod decode;
mod metadata;
mod store;

use std::sync::Arc;

use geo::Point;
use image::RgbImage;
use sha2::{Digest, Sha256};

pub use decode::{ImageKind, sniff};
pub use metadata::{ExifInfo, read_exif};
pub use store::{DirPhotoStore, PhotoStore, is_sha256_hex};

/// Errors of the photo layer; every message says what was wrong with the upload.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// Zero-length upload.
    #[error("the photo is empty (0 bytes)")]
    Empty,
    /// The bytes do not start like any image format.
    #[error("the file is not an image (unrecognised content)")]
    NotAnImage,
    /// A recognised image format that cityfix does not decode.
    #[error("unsupported image format {0}: send a JPEG, PNG, WebP or GIF")]
    UnsupportedFormat(String),
    /// Over a byte, pixel or dimension limit; raised before decoding.
    #[error("the photo is too large: {0}")]
    TooLarge(String),
    /// Under the smallest side a photo of a street problem can have.
    #[error("the photo is too small to show anything: {0}")]
    TooSmall(String),
    /// The file ends before the image data does.
    #[error("the {0} file is truncated (the image data ends early)")]
    Truncated(&'static str),
    /// Corrupt image data.
    #[error("the {kind} image could not be decoded: {message}")]
    Corrupt { kind: &'static str, message: String },
    /// Re-encoding the stripped copy failed.
    #[error("could not re-encode the photo: {0}")]
    Encode(String),
    /// Reading or writing the photo store failed.
    #[error("photo store I/O error at {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A store key that is not a lowercase hex sha256.
    #[error("invalid photo id {0:?}: expected 64 lowercase hex characters")]
    InvalidId(String),
}

/// Result alias of the photo layer.
pub type Result<T, E = PhotoError> = std::result::Result<T, E>;

/// Bounds checked before decoding, plus the sizes `process` produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Largest accepted upload.
    pub max_bytes: usize,
    /// Largest accepted width × height, read from the header (bounds decode memory).
    pub max_pixels: u64,
    /// Largest accepted width or height.
    pub max_dimension_px: u32,
    /// Smallest accepted width or height.
    pub min_dimension_px: u32,
    /// Above this many pixels, a file must hold at least
    /// `min_bytes_per_megapixel` bytes per million declared pixels.
    pub dense_check_above_pixels: u64,
    /// Real photos never compress below this (phone JPEGs hold 150 000 or more).
    pub min_bytes_per_megapixel: u64,
    /// Long side of the stored, stripped copy; larger photos are reduced to it.
    pub stored_max_dimension_px: u32,
    /// Side of the square RGB image handed to the classifier; a pipeline with a
    /// classifier takes it from the model.
    pub model_input_px: u32,
    /// JPEG quality of the stored copy (1–100).
    pub stored_jpeg_quality: u8,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        Self {
            max_bytes: 25 * 1024 * 1024,
            // 64 MP covers every phone camera sold today at full resolution.
            max_pixels: 64_000_000,
            max_dimension_px: 16_384,
            // Smaller shows nothing a crew could act on, and the model would
            // still give it a confident label.
            min_dimension_px: 32,
            dense_check_above_pixels: 4_000_000,
            min_bytes_per_megapixel: 5_000,
            // 1600 lets 12 MP phone JPEGs decode at half scale and still shows detail.
            stored_max_dimension_px: 1600,
            model_input_px: 224,
            stored_jpeg_quality: 85,
        }
    }
}

/// An accepted photo: the bytes to store and what the rest of intake needs from it.
#[derive(Debug, Clone)]
pub struct ProcessedPhoto {
    /// Lowercase hex sha256 of `bytes`: the photo's content address.
    pub sha256: String,
    /// Oriented JPEG without any metadata, long side at most `stored_max_dimension_px`.
    pub bytes: Vec<u8>,
    /// MIME type of `bytes` (always JPEG today).
    pub content_type: &'static str,
    /// Width of the stored copy, after orientation.
    pub width_px: u32,
    /// Height of the stored copy, after orientation.
    pub height_px: u32,
    /// Width and height of the upload as its header declares them (before orientation).
    pub original_size_px: (u32, u32),
    /// Format of the upload.
    pub original_kind: ImageKind,
    /// EXIF GPS position (x = lon, y = lat), refs N/S/E/W applied; `None` when absent or invalid.
    pub exif_position: Option<Point<f64>>,
    /// Why the EXIF GPS tags, when there are some, gave no position.
    pub exif_gps_problem: Option<&'static str>,
    /// EXIF Orientation that was applied (1 when absent or invalid).
    pub exif_orientation: u8,
    /// Oriented RGB image, `model_input_px` square, ready for the classifier.
    pub model_input: Arc<RgbImage>,
}

/// Checks, decodes, orients, strips and hashes an uploaded photo.
pub fn process(bytes: &[u8], limits: &PhotoLimits) -> Result<ProcessedPhoto> {
    let header = decode::check_header(bytes, limits)?;
    let exif = read_exif(bytes);

    let stored_size = decode::fitted_size(
        header.width_px,
        header.height_px,
        limits.stored_max_dimension_px,
    );
    let mut image = decode::decode_rgb(bytes, &header, stored_size)?;
    image = decode::apply_orientation(image, exif.orientation);
    image = decode::fit_within(image, limits.stored_max_dimension_px);

    let model_input = decode::square_resize(&image, limits.model_input_px);
    let stored = decode::encode_jpeg(&image, limits.stored_jpeg_quality)?;
    let sha256 = hex::encode(Sha256::digest(&stored));

    Ok(ProcessedPhoto {
        sha256,
        width_px: image.width(),
        height_px: image.height(),
        bytes: stored,
        content_type: "image/jpeg",
        original_size_px: (header.width_px, header.height_px),
        original_kind: header.kind,
        exif_position: exif.position,
        exif_gps_problem: exif.gps_problem,
        exif_orientation: exif.orientation,
        model_input: Arc::new(model_input),
    })
}

/// The classifier's input alone: the fast path for `cityfix classify`, benches and evaluation.
///
/// Same checks as [`process`], but JPEGs decode at the smallest DCT scale that still
/// covers the model input and nothing is re-encoded.
pub fn model_input(bytes: &[u8], limits: &PhotoLimits) -> Result<RgbImage> {
    let header = decode::check_header(bytes, limits)?;
    let orientation = read_exif(bytes).orientation;
    let side = limits.model_input_px;
    let image = decode::decode_rgb(bytes, &header, (side, side))?;
    let image = decode::apply_orientation(image, orientation);
    Ok(decode::square_resize(&image, limits.model_input_px))
}

#[cfg(test)]
mod tests;
