//! `cityfix export-training-data DIR`: supervisors' corrections as training photos.
//!
//! Each corrected report with a photo becomes `DIR/<label>/<sha256>.jpg` (the stored,
//! metadata-free copy), where the label is the model label of the corrected category
//! in `labels.csv`, or the category slug itself when the model has no label for it
//! (a class the model may learn once enough examples exist). `DIR/MANIFEST.csv` gets
//! one row per photo in the columns of `../shared/data/photos/MANIFEST.csv`, so
//! `scripts/train_classifier.py --photos DIR` reads it; rows already in an existing
//! manifest are kept, which lets DIR be a copy of the shared photo folder.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::Label;
use crate::photos::PhotoStore;
use crate::store::{Store, TrainingExample};

/// Columns of the photo manifest the training script reads.
const MANIFEST_COLUMNS: [&str; 10] = [
    "file",
    "class",
    "source_repo",
    "source_commit",
    "source_path",
    "license",
    "width",
    "height",
    "bytes",
    "has_exif_gps",
];

/// The `source_repo` of exported rows; the training script takes the owner part
/// (`cityfix`) as the source for its per-source figures.
pub const EXPORT_SOURCE: &str = "cityfix/corrections";

/// Errors of the export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Photo(#[from] crate::photos::PhotoError),
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Photos written now, per label.
    pub written: BTreeMap<String, usize>,
    /// Examples already in the manifest.
    pub already_listed: usize,
    /// Corrected reports whose photo is missing from the photo store.
    pub missing_photos: Vec<i64>,
}

/// The folder name of a category: its model label, else the slug.
pub fn label_for_category<'a>(labels: &'a [Label], category: &'a str) -> &'a str {
    labels
        .iter()
        .find(|label| label.category.as_deref() == Some(category))
        .map_or(category, |label| label.label.as_str())
}

/// Writes every labelled example under `dir`; see the module docs.
pub async fn export_training_data(
    store: &dyn Store,
    photos: &dyn PhotoStore,
    labels: &[Label],
    dir: &Path,
) -> Result<ExportSummary, ExportError> {
    let manifest_path = dir.join("MANIFEST.csv");
    let mut rows = read_manifest(&manifest_path)?;
    let listed: HashSet<String> = rows.iter().map(|row| row[0].clone()).collect();
    let mut summary = ExportSummary::default();

    for example in store.training_examples().await? {
        let label = label_for_category(labels, &example.category).to_string();
        let file = format!("{label}/{}.jpg", example.photo_sha256);
        if listed.contains(&file) {
            summary.already_listed += 1;
            continue;
        }
        let Some(bytes) = photos.get(&example.photo_sha256).await? else {
            summary.missing_photos.push(example.report_id);
            continue;
        };
        let path = dir.join(&file);
        write_file(&path, &bytes)?;
        rows.push(manifest_row(&file, &label, &example, &bytes));
        *summary.written.entry(label).or_default() += 1;
    }
    write_manifest(&manifest_path, &rows)?;
    Ok(summary)
}

fn manifest_row(file: &str, label: &str, example: &TrainingExample, bytes: &[u8]) -> Vec<String> {
    // The stored copy is a JPEG cityfix wrote itself; unreadable dimensions stay empty.
    let (width, height) = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|reader| reader.into_dimensions().ok())
        .map_or((String::new(), String::new()), |(w, h)| {
            (w.to_string(), h.to_string())
        });
    vec![
        file.to_string(),
        label.to_string(),
        EXPORT_SOURCE.to_string(),
        String::new(),
        format!("report {}", example.report_id),
        format!(
            "the city's own report, category set by a supervisor at {}",
            example.corrected_at
        ),
        width,
        height,
        bytes.len().to_string(),
        // Stored copies carry no metadata at all.
        "false".to_string(),
    ]
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> ExportError {
    ExportError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| file_error(parent, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| file_error(path, e))
}

/// The rows of an existing manifest, reordered to [`MANIFEST_COLUMNS`]; none when absent.
fn read_manifest(path: &Path) -> Result<Vec<Vec<String>>, ExportError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut reader = csv::Reader::from_path(path).map_err(|e| file_error(path, e))?;
    let headers = reader.headers().map_err(|e| file_error(path, e))?.clone();
    let positions: Vec<Option<usize>> = MANIFEST_COLUMNS
        .iter()
        .map(|column| headers.iter().position(|h| h == *column))
        .collect();
    if positions[0].is_none() || positions[1].is_none() {
        return Err(file_error(
            path,
            "not a photo manifest: it needs `file` and `class` columns",
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| file_error(path, e))?;
        rows.push(
            positions
                .iter()
                .map(|p| p.and_then(|i| record.get(i)).unwrap_or("").to_string())
                .collect(),
        );
    }
    Ok(rows)
}

fn write_manifest(path: &Path, rows: &[Vec<String>]) -> Result<(), ExportError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| file_error(parent, e))?;
    }
    let mut writer = csv::Writer::from_path(path).map_err(|e| file_error(path, e))?;
    writer
        .write_record(MANIFEST_COLUMNS)
        .map_err(|e| file_error(path, e))?;
    for row in rows {
        writer.write_record(row).map_err(|e| file_error(path, e))?;
    }
    writer.flush().map_err(|e| file_error(path, e))
}
