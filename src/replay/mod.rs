//! Replay: real service-request records fed through the very pipeline the API
//! uses, on the records' own clock.
//!
//! Records (`id,lat,lon,category,created_at,closed_at,status,district`, gzip or
//! plain) are sorted by `created_at` and submitted in batches. Each record's
//! `id` is its idempotency key, so a second replay of the same file adds
//! nothing. The city's own category names map to cityfix categories through a
//! two-column CSV (`source_category,category`); unmapped ones go to `other`.
//! A closed record closes its work order at `closed_at` in the source's name;
//! history raises no escalation and calls no webhook.

mod records;
mod summary;

pub use records::{
    CategoryMap, RecordFile, ReplayRecord, UnreadableRow, read_category_map, read_records,
};
pub use summary::ReplaySummary;

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::pipeline::Pipeline;
use crate::reports::Submission;
use crate::setup::OTHER_CATEGORY;

/// Records submitted to the store together.
pub const BATCH_SIZE: usize = 500;

/// Errors that stop a replay before it starts.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: String, message: String },
    #[error("no city is set up: apply a set-up file before replaying")]
    NotSetUp,
}

/// Replays `records` (already read) through `pipeline` as source `source`.
pub async fn replay(
    pipeline: &Pipeline,
    source: &str,
    mut records: Vec<ReplayRecord>,
    map: &CategoryMap,
    progress: bool,
) -> Result<ReplaySummary, ReplayError> {
    let city = pipeline.city();
    let setup = city.setup().ok_or(ReplayError::NotSetUp)?;
    records.sort_by_key(|record| record.created_at);

    let bar = if progress {
        ProgressBar::new(records.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let mut summary = ReplaySummary::new(records.len());
    for chunk in records.chunks(BATCH_SIZE) {
        let submissions = chunk
            .iter()
            .map(|record| {
                let category = map.category_of(&record.category, setup);
                if category == OTHER_CATEGORY && !map.maps(&record.category, setup) {
                    summary.count_unmapped(&record.category);
                }
                submission_of(source, record, category)
            })
            .collect();
        let answers = pipeline.submit_batch(submissions).await;
        for (record, answer) in chunk.iter().zip(answers) {
            summary.count(record, answer, &city);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    summary.finish();
    Ok(summary)
}

fn submission_of(source: &str, record: &ReplayRecord, category: String) -> Submission {
    Submission {
        lat: record.lat,
        lon: record.lon,
        category: Some(category),
        source_category: Some(record.category.clone()),
        source: source.to_string(),
        source_id: Some(record.id.clone()),
        received_at: Some(record.created_at),
        source_closed_at: record
            .closed_at
            .filter(|closed| *closed >= record.created_at),
        ..Submission::default()
    }
}

/// Reads the records and the category map, then replays.
pub async fn replay_file(
    pipeline: &Pipeline,
    source: &str,
    records_path: &Path,
    map_path: Option<&Path>,
    progress: bool,
) -> Result<ReplaySummary, ReplayError> {
    let file = read_records(records_path)?;
    let map = match map_path {
        Some(path) => read_category_map(path)?,
        None => CategoryMap::default(),
    };
    let mut summary = replay(pipeline, source, file.records, &map, progress).await?;
    summary.count_unreadable(&file.unreadable);
    Ok(summary)
}

#[cfg(test)]
mod tests;
