//! Dedup's second question: do the photos show the same thing?

use std::collections::HashMap;

use crate::classify::cosine_similarity;

/// Cosine similarity below which a new photo is taken to show something else than
/// an incident's photos. Read off the shipped model's embeddings by
/// `scripts/embedding_similarity.py` (figures in `models/MODEL_CARD.md`): about 1 %
/// of pairs of training photos of one class fall below it, so two photos of one
/// problem are very rarely kept apart, while a clear share of pairs of different
/// classes does. It only vetoes: a high similarity never merges reports that are
/// not close by. A new model needs this re-measured (`tests/classifier_model.rs`
/// fails until it is).
pub const DEFAULT_MIN_PHOTO_SIMILARITY: f32 = 0.305;

/// The embeddings dedup compares: the new report's and those of the photo reports
/// of each spatial candidate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhotoEvidence {
    /// The new report's photo embedding; `None` when it has no photo (or no model ran).
    pub report: Option<Vec<f32>>,
    /// Embeddings of each candidate incident's photo reports, by incident id.
    pub incidents: HashMap<i64, Vec<Vec<f32>>>,
}

impl PhotoEvidence {
    /// No photo on the new report: dedup decides on position and time alone.
    pub fn none() -> Self {
        Self::default()
    }

    /// Evidence for a report with this embedding; an empty one counts as no photo.
    pub fn for_report(embedding: Option<&[f32]>) -> Self {
        Self {
            report: embedding.filter(|e| !e.is_empty()).map(<[f32]>::to_vec),
            incidents: HashMap::new(),
        }
    }

    /// Whether the candidates' photos are worth loading at all.
    pub fn wants_candidates(&self) -> bool {
        self.report.is_some()
    }

    /// Adds one stored photo embedding of incident `incident_id`.
    pub fn add(&mut self, incident_id: i64, embedding: Vec<f32>) {
        if !embedding.is_empty() {
            self.incidents
                .entry(incident_id)
                .or_default()
                .push(embedding);
        }
    }

    /// The highest similarity between the new photo and the incident's photos;
    /// `None` when either side has none.
    pub fn similarity(&self, incident_id: i64) -> Option<f32> {
        let report = self.report.as_deref()?;
        self.incidents
            .get(&incident_id)?
            .iter()
            .map(|photo| cosine_similarity(report, photo))
            .reduce(f32::max)
    }
}

/// Decodes an embedding stored as little-endian f32s; `None` for a length that is
/// not a multiple of four.
pub fn embedding_from_bytes(bytes: &[u8]) -> Option<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}
