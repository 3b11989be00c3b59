//! One ONNX Runtime session of the street classifier and the tensors around it.

use std::path::Path;

use image::RgbImage;
use ndarray::{Array2, Array4, ArrayView4, Axis};
use ort::session::Session;
use ort::value::TensorRef;
use sha2::{Digest, Sha256};

use super::labels::{Label, read_labels};
use super::runtime::init_runtime;
use super::{Classification, ClassifyError, Result};

/// Raw model outputs for a batch: logits `[n, classes]` and embeddings `[n, dims]`.
#[derive(Debug, Clone)]
pub struct ModelOutputs {
    /// Unnormalised class scores.
    pub logits: Array2<f32>,
    /// Penultimate-layer vectors (as the model emits them, not normalised).
    pub embeddings: Array2<f32>,
}

/// A loaded model: a session plus the labels of its outputs. Not shared between threads
/// (a run needs `&mut`); the pool in [`super::OnnxClassifier`] gives each worker its own.
pub struct OnnxModel {
    session: Session,
    labels: Vec<Label>,
    input_px: u32,
    sha256: String,
}

impl OnnxModel {
    /// Loads the model and its labels; checks that the input is `[n, 3, S, S]` and that
    /// the label count matches the logits.
    pub fn load(model_path: &Path, labels_path: &Path, intra_threads: usize) -> Result<Self> {
        let model_error = |message: String| ClassifyError::Model {
            path: model_path.display().to_string(),
            message,
        };
        let bytes = std::fs::read(model_path).map_err(|e| {
            let hint = if model_path.is_relative() && e.kind() == std::io::ErrorKind::NotFound {
                " (a relative path is read from the working directory: run from the checkout \
                 or pass --model and --labels)"
            } else {
                ""
            };
            model_error(format!("{e}{hint}"))
        })?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let labels = read_labels(labels_path)?;

        let environment = init_runtime()?;
        let session = Session::builder(&environment)
            .and_then(|b| {
                b.with_intra_threads(intra_threads.max(1))
                    .map_err(Into::into)
            })
            .and_then(|b| b.with_inter_threads(1).map_err(Into::into))
            .and_then(|mut b| b.commit_from_memory(&bytes))
            .map_err(|e| model_error(e.to_string()))?;

        let input_px = square_input_side(&session)
            .ok_or_else(|| model_error("input is not [n, 3, S, S] float".into()))?;
        let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        if !outputs.contains(&"logits") || !outputs.contains(&"embedding") {
            return Err(model_error(format!(
                "expected outputs logits and embedding, found {outputs:?}"
            )));
        }
        tracing::info!(
            model = %model_path.display(), sha256 = %sha256, input_px, classes = labels.len(), intra_threads,
            "classifier model loaded"
        );
        Ok(Self {
            session,
            labels,
            input_px,
            sha256,
        })
    }

    /// Side of the square RGB input the model expects.
    pub fn input_px(&self) -> u32 {
        self.input_px
    }

    /// The model's labels, in output order.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// Lowercase hex sha256 of the model file.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Runs the model on an NCHW float tensor of 0–255 RGB values.
    pub fn run_tensor(&mut self, pixels: ArrayView4<'_, f32>) -> Result<ModelOutputs> {
        let inference = |e: ort::Error| ClassifyError::Inference(e.to_string());
        let input = TensorRef::from_array_view(pixels).map_err(inference)?;
        let outputs = self
            .session
            .run(ort::inputs!["pixels" => input])
            .map_err(inference)?;
        let extract = |name: &str| -> Result<Array2<f32>> {
            let value = outputs
                .get(name)
                .ok_or_else(|| ClassifyError::Inference(format!("no output {name}")))?;
            let array = value.try_extract_array::<f32>().map_err(inference)?;
            array
                .into_dimensionality::<ndarray::Ix2>()
                .map(|a| a.to_owned())
                .map_err(|e| ClassifyError::Inference(format!("output {name}: {e}")))
        };
        Ok(ModelOutputs {
            logits: extract("logits")?,
            embeddings: extract("embedding")?,
        })
    }

    /// Classifies a batch of RGB images already resized to `input_px` square.
    pub fn classify_batch(&mut self, images: &[&RgbImage]) -> Result<Vec<Classification>> {
        let tensor = to_tensor(images, self.input_px)?;
        let outputs = self.run_tensor(tensor.view())?;
        Ok(outputs
            .logits
            .axis_iter(Axis(0))
            .zip(outputs.embeddings.axis_iter(Axis(0)))
            .map(|(logits, embedding)| {
                self.classification(logits.as_slice().unwrap_or(&[]), embedding.to_vec())
            })
            .collect())
    }

    fn classification(&self, logits: &[f32], embedding: Vec<f32>) -> Classification {
        let probabilities = softmax(logits);
        let (best, confidence) =
            probabilities
                .iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f32::MIN),
                    |acc, (i, p)| if p > acc.1 { (i, p) } else { acc },
                );
        let label = self.labels.get(best).cloned().unwrap_or(Label {
            label: format!("class_{best}"),
            category: None,
        });
        Classification {
            label: label.label,
            category: label.category,
            confidence,
            embedding: l2_normalised(embedding),
            model_sha256: self.sha256.clone(),
        }
    }
}

fn square_input_side(session: &Session) -> Option<u32> {
    let input = session.inputs().first()?;
    let shape = input.dtype().tensor_shape()?;
    match shape.iter().as_slice() {
        [_, 3, h, w] if h == w && *h > 0 => u32::try_from(*h).ok(),
        _ => None,
    }
}

/// Packs images into an NCHW tensor of 0–255 floats (the model normalises internally).
pub fn to_tensor(images: &[&RgbImage], side_px: u32) -> Result<Array4<f32>> {
    let side = side_px as usize;
    let mut tensor = Array4::<f32>::zeros((images.len(), 3, side, side));
    for (n, image) in images.iter().enumerate() {
        if image.dimensions() != (side_px, side_px) {
            let (w, h) = image.dimensions();
            return Err(ClassifyError::Inference(format!(
                "image is {w}×{h}, the model takes {side_px}×{side_px}"
            )));
        }
        for (x, y, pixel) in image.enumerate_pixels() {
            for c in 0..3 {
                tensor[[n, c, y as usize, x as usize]] = f32::from(pixel[c]);
            }
        }
    }
    Ok(tensor)
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

fn l2_normalised(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}
