//! The ONNX classifier served by a bounded pool of worker threads that batch requests.
//!
//! Inference is CPU-bound and takes milliseconds, so it never runs on the async executor:
//! callers put a job on a bounded channel (a full channel makes them wait, which bounds
//! memory) and await a one-shot reply. Each worker owns one session, takes the first
//! waiting job, then whatever else is already waiting up to `max_batch`, and runs them
//! as one batch.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use async_trait::async_trait;
use image::RgbImage;
use tokio::sync::{mpsc, oneshot};

use super::model::OnnxModel;
use super::{Classification, Classifier, ClassifierConfig, ClassifyError, Result};
use crate::photos::ProcessedPhoto;

struct Job {
    image: Arc<RgbImage>,
    reply: oneshot::Sender<Result<Classification>>,
}

type SharedReceiver = Arc<Mutex<mpsc::Receiver<Job>>>;

/// [`Classifier`] backed by `models/*.onnx` through ONNX Runtime.
pub struct OnnxClassifier {
    jobs: mpsc::Sender<Job>,
    input_px: u32,
    sha256: String,
    triage_threshold: f32,
    workers: Vec<JoinHandle<()>>,
}

impl OnnxClassifier {
    /// Loads one session per worker and starts the workers.
    pub fn load(config: &ClassifierConfig) -> Result<Self> {
        let (jobs, receiver) = mpsc::channel(config.queue_capacity.max(1));
        let receiver: SharedReceiver = Arc::new(Mutex::new(receiver));
        let mut workers = Vec::new();
        let mut first: Option<(u32, String)> = None;
        for index in 0..config.workers.max(1) {
            let model = OnnxModel::load(
                &config.model_path,
                &config.labels_path,
                config.threads_per_worker,
            )?;
            first.get_or_insert_with(|| (model.input_px(), model.sha256().to_owned()));
            let receiver = Arc::clone(&receiver);
            let max_batch = config.max_batch.max(1);
            let handle = std::thread::Builder::new()
                .name(format!("classify-{index}"))
                .spawn(move || worker(model, &receiver, max_batch))
                .map_err(|e| ClassifyError::Inference(format!("cannot start worker: {e}")))?;
            workers.push(handle);
        }
        let (input_px, sha256) = first.unwrap_or_default();
        Ok(Self {
            jobs,
            input_px,
            sha256,
            triage_threshold: config.triage_threshold,
            workers,
        })
    }

    /// Side of the square input the model takes (the photo layer's `model_input_px`).
    pub fn input_px(&self) -> u32 {
        self.input_px
    }

    /// sha256 of the model file, for logs and stored classifications.
    pub fn model_sha256(&self) -> &str {
        &self.sha256
    }

    /// The configured triage threshold.
    pub fn triage_threshold(&self) -> f32 {
        self.triage_threshold
    }

    /// Classifies an oriented RGB image of `input_px` square.
    pub async fn classify_image(&self, image: Arc<RgbImage>) -> Result<Classification> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { image, reply })
            .await
            .map_err(|_| ClassifyError::Closed)?;
        answer.await.map_err(|_| ClassifyError::Closed)?
    }

    /// Blocking variant for callers outside the async runtime (CLI, tests).
    pub fn classify_image_blocking(&self, image: Arc<RgbImage>) -> Result<Classification> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .blocking_send(Job { image, reply })
            .map_err(|_| ClassifyError::Closed)?;
        answer.blocking_recv().map_err(|_| ClassifyError::Closed)?
    }

    /// Number of worker threads still running.
    pub fn live_workers(&self) -> usize {
        self.workers.iter().filter(|w| !w.is_finished()).count()
    }
}

#[async_trait]
impl Classifier for OnnxClassifier {
    async fn classify(&self, photo: &ProcessedPhoto) -> Result<Classification> {
        self.classify_image(Arc::clone(&photo.model_input)).await
    }

    fn input_px(&self) -> u32 {
        self.input_px
    }
}

/// Takes the first job (blocking), then everything already waiting up to `max_batch`.
fn next_batch(receiver: &SharedReceiver, max_batch: usize) -> Option<Vec<Job>> {
    let mut guard = receiver.lock().ok()?;
    let first = guard.blocking_recv()?;
    let mut batch = vec![first];
    while batch.len() < max_batch {
        match guard.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

fn worker(mut model: OnnxModel, receiver: &SharedReceiver, max_batch: usize) {
    while let Some(batch) = next_batch(receiver, max_batch) {
        let images: Vec<&RgbImage> = batch.iter().map(|job| job.image.as_ref()).collect();
        let started = std::time::Instant::now();
        match model.classify_batch(&images) {
            Ok(results) => {
                tracing::debug!(
                    batch = batch.len(),
                    elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
                    "classified"
                );
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, batch = batch.len(), "classification failed");
                let message = e.to_string();
                for job in batch {
                    let _ = job
                        .reply
                        .send(Err(ClassifyError::Inference(message.clone())));
                }
            }
        }
    }
}
