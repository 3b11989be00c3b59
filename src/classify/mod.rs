//! Photo classification: which city issue a citizen's photo shows.
//!
//! The pipeline talks to the [`Classifier`] trait; [`OnnxClassifier`] serves the model
//! trained by `scripts/train_classifier.py` (EfficientNet-Lite0, see `models/MODEL_CARD.md`)
//! through ONNX Runtime, off the async executor on a small pool of worker threads that
//! batch requests waiting at the same time.

mod cli;
mod export;
mod labels;
mod model;
mod onnx;
mod runtime;

use std::path::PathBuf;

use async_trait::async_trait;

use crate::photos::ProcessedPhoto;

pub use cli::run_cli;
pub use export::{
    EXPORT_SOURCE, ExportError, ExportSummary, export_training_data, label_for_category,
};
pub use labels::{Label, read_labels};
pub use model::{ModelOutputs, OnnxModel, softmax, to_tensor};
pub use onnx::OnnxClassifier;
pub use runtime::{FETCHED_RUNTIME_PATH, default_runtime_path, init_runtime};

/// Errors of the classification layer.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// The ONNX Runtime shared library could not be loaded.
    #[error(
        "ONNX Runtime library not loaded from {path}: {message}. \
         Run `scripts/fetch-onnxruntime.sh` (puts it in .onnxruntime/) or set ORT_DYLIB_PATH \
         to a libonnxruntime.so of version 1.31"
    )]
    Runtime { path: String, message: String },
    /// The model file is missing or not a valid ONNX graph for this runtime.
    #[error("cannot load the model {path}: {message}")]
    Model { path: String, message: String },
    /// The labels file is missing or malformed.
    #[error("labels file {path}: {message}")]
    Labels { path: String, message: String },
    /// Inference failed.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The worker pool is gone (the classifier was shut down).
    #[error("the classifier is shut down")]
    Closed,
    /// A photo the classifier was asked about could not be read.
    #[error(transparent)]
    Photo(#[from] crate::photos::PhotoError),
    /// Reading an input file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of the classification layer.
pub type Result<T, E = ClassifyError> = std::result::Result<T, E>;

/// What the model says about one photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Model label, e.g. `pothole` or `clean_street`.
    pub label: String,
    /// cityfix category slug of the label; `None` means "no problem visible".
    pub category: Option<String>,
    /// Softmax probability of `label`, 0–1.
    pub confidence: f32,
    /// Penultimate-layer embedding (L2-normalised), for "same thing?" checks by cosine similarity.
    pub embedding: Vec<f32>,
    /// Lowercase hex sha256 of the model file. Embeddings of two models live in
    /// different spaces, even when their lengths agree: they are compared only
    /// within one model.
    pub model_sha256: String,
}

impl Classification {
    /// True when the model is sure enough to be trusted without a supervisor's look.
    pub fn is_confident(&self, threshold: f32) -> bool {
        self.confidence >= threshold
    }
}

/// Cosine similarity of two embeddings (1 = same direction); 0 when either is empty or zero.
pub fn cosine_similarity(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm_a = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let norm_b = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if a.len() != b.len() || norm_a == 0.0 || norm_b == 0.0 {
        return 0.0;
    }
    dot / (norm_a * norm_b)
}

/// Sorts photos into city-issue labels. Implementations must not block the async executor.
#[async_trait]
pub trait Classifier: Send + Sync {
    /// Classifies a photo already checked and decoded by [`crate::photos::process`].
    async fn classify(&self, photo: &ProcessedPhoto) -> Result<Classification>;

    /// Side of the square image the classifier takes; the pipeline decodes photos to it.
    fn input_px(&self) -> u32;
}

/// Where the model lives and how it runs; part of cityfix's configuration.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ClassifierConfig {
    /// The ONNX model file.
    pub model_path: PathBuf,
    /// `index,label,category` rows for the model's outputs.
    pub labels_path: PathBuf,
    /// Below this confidence a report is marked for triage (chosen on the validation split,
    /// see the model card).
    pub triage_threshold: f32,
    /// Worker threads running inference (each holds one session).
    pub workers: usize,
    /// Intra-op threads per session.
    pub threads_per_worker: usize,
    /// Most photos run through the model in one call when several wait.
    pub max_batch: usize,
    /// Requests allowed to wait for a worker before callers are held back.
    pub queue_capacity: usize,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            model_path: PathBuf::from("models/street_classifier.onnx"),
            labels_path: PathBuf::from("models/labels.csv"),
            triage_threshold: DEFAULT_TRIAGE_THRESHOLD,
            workers: 1,
            threads_per_worker: 2,
            max_batch: 8,
            queue_capacity: 64,
        }
    }
}

/// Threshold picked on the validation split by the training script (see `models/MODEL_CARD.md`).
pub const DEFAULT_TRIAGE_THRESHOLD: f32 = 0.512;

#[cfg(test)]
mod tests;
