//! The shipped classifier, `models/street_classifier.onnx`, against what the training
//! script measured: identical logits for the reference tensors in `fixtures/classifier/`,
//! close logits for two real photos decoded by Rust, and the model card's macro-F1 when
//! the validation split goes through Rust's own decoding (`photos::model_input`).
//!
//! Needs the ONNX Runtime library (`scripts/fetch-onnxruntime.sh`) and, for the photo
//! tests, `../shared/data/photos`; without them each test says so and returns.
//! Run in release: `cargo test --release --test classifier_model`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use cityfix::classify::{DEFAULT_TRIAGE_THRESHOLD, OnnxModel, default_runtime_path, to_tensor};
use cityfix::incidents::DEFAULT_MIN_PHOTO_SIMILARITY;
use cityfix::photos::{self, PhotoLimits};
use image::RgbImage;
use ndarray::{Array4, ArrayView1};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Logits of the same tensor through the same runtime version: bit-for-bit in practice.
const TENSOR_TOLERANCE: f32 = 1e-3;
/// Rust's JPEG decoder (jpeg-decoder) and resize (image) against Pillow's libjpeg and
/// resize: a few grey levels on some pixels, which moves logits a little.
const PHOTO_LOGIT_TOLERANCE: f32 = 0.35;
const PHOTO_MEAN_PIXEL_TOLERANCE: f64 = 1.5;
/// The card's macro-F1 must hold within one point through Rust's decoding.
const MACRO_F1_TOLERANCE: f64 = 0.01;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The model, or `None` (with the reason on stderr) when ONNX Runtime is not installed.
fn load_model() -> Option<OnnxModel> {
    let runtime = default_runtime_path();
    if !runtime.exists() {
        eprintln!(
            "skipped: ONNX Runtime not found at {}, run scripts/fetch-onnxruntime.sh",
            runtime.display()
        );
        return None;
    }
    let models = root().join("models");
    let model = OnnxModel::load(
        &models.join("street_classifier.onnx"),
        &models.join("labels.csv"),
        2,
    );
    Some(model.unwrap())
}

/// `../shared/data/photos` (or `$CITYFIX_SHARED_DIR/data/photos`), or `None` when absent.
fn photos_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("CITYFIX_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"));
    let dir = shared.join("data/photos");
    if dir.join("MANIFEST.csv").is_file() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared absent (looked for {})", dir.display());
        None
    }
}

fn floats(value: &Value) -> Vec<f32> {
    let list = value.as_array().expect("a list of numbers");
    list.iter().map(|v| v.as_f64().unwrap() as f32).collect()
}

fn max_abs_diff(a: ArrayView1<'_, f32>, b: &[f32]) -> f32 {
    assert!(
        a.len() >= b.len(),
        "{} values, expected at least {}",
        a.len(),
        b.len()
    );
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A fixture tensor: raw little-endian `u8` or `f32` values, NCHW.
fn fixture_tensor(entry: &Value) -> Array4<f32> {
    let path = root()
        .join("fixtures/classifier")
        .join(entry["file"].as_str().unwrap());
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let values: Vec<f32> = match entry["dtype"].as_str().unwrap() {
        "u8" => bytes.iter().map(|&b| f32::from(b)).collect(),
        "f32" => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        other => panic!("unknown dtype {other}"),
    };
    let shape: Vec<usize> = entry["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    Array4::from_shape_vec((shape[0], shape[1], shape[2], shape[3]), values).unwrap()
}

fn reference() -> Value {
    read_json(&root().join("fixtures/classifier/reference.json"))
}

/// The service's defaults are read off the shipped model's own measurements: after a
/// retraining, the triage threshold and dedup's photo-similarity floor must follow it.
#[test]
fn shipped_defaults_follow_the_model_card() {
    let models = root().join("models");
    let metrics = read_json(&models.join("metrics.json"));
    let onnx = std::fs::read(models.join("street_classifier.onnx")).unwrap();
    let sha256 = hex::encode(Sha256::digest(&onnx));
    assert_eq!(
        metrics["sha256"].as_str(),
        Some(sha256.as_str()),
        "metrics.json describes another model file"
    );

    let threshold = metrics["threshold"].as_f64().unwrap();
    assert!(
        (f64::from(DEFAULT_TRIAGE_THRESHOLD) - threshold).abs() < 5e-4,
        "DEFAULT_TRIAGE_THRESHOLD is {DEFAULT_TRIAGE_THRESHOLD}, the card's threshold {threshold:.3}"
    );

    let similarity = &metrics["embedding_similarity"];
    assert_eq!(
        similarity["sha256"].as_str(),
        Some(sha256.as_str()),
        "embedding similarity was measured on another model: run scripts/embedding_similarity.py --write"
    );
    let floor = similarity["threshold"].as_f64().unwrap();
    assert!(
        (f64::from(DEFAULT_MIN_PHOTO_SIMILARITY) - floor).abs() < 5e-4,
        "DEFAULT_MIN_PHOTO_SIMILARITY is {DEFAULT_MIN_PHOTO_SIMILARITY}, measured {floor:.3}"
    );
}

#[test]
fn fixture_tensors_give_the_python_logits() {
    let Some(mut model) = load_model() else {
        return;
    };
    let reference = reference();
    assert_eq!(model.sha256(), reference["model_sha256"].as_str().unwrap());

    let names = ["pattern", "photo", "noise"];
    let mut batch = Vec::new();
    for name in names {
        let entry = &reference["tensors"][name];
        let tensor = fixture_tensor(entry);
        let outputs = model.run_tensor(tensor.view()).unwrap();

        let expected = floats(&entry["logits"]);
        assert_eq!(
            outputs.logits.ncols(),
            expected.len(),
            "{name}: logit count"
        );
        let logits = max_abs_diff(outputs.logits.row(0), &expected);
        let embedding = outputs.embeddings.row(0);
        // Only the first values are stored; max_abs_diff compares those.
        let head = max_abs_diff(embedding, &floats(&entry["embedding_first16"]));
        let norm = embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
        let expected_norm = entry["embedding_norm"].as_f64().unwrap() as f32;
        eprintln!("{name}: max |Δlogit| {logits:.2e}, max |Δembedding[..16]| {head:.2e}");
        assert!(
            logits <= TENSOR_TOLERANCE,
            "{name}: logits differ by {logits}"
        );
        assert!(
            head <= TENSOR_TOLERANCE,
            "{name}: embedding differs by {head}"
        );
        assert!(
            (norm - expected_norm).abs() <= 1e-3 * expected_norm,
            "{name}: norm {norm}"
        );
        batch.push(tensor);
    }

    // The batch dimension is dynamic: the three tensors in one run give the same logits.
    let views: Vec<_> = batch.iter().map(|t| t.view()).collect();
    let stacked = ndarray::concatenate(ndarray::Axis(0), &views).unwrap();
    let outputs = model.run_tensor(stacked.view()).unwrap();
    let expected = reference["batch"]["logits"].as_array().unwrap();
    for (row, logits) in outputs.logits.rows().into_iter().zip(expected) {
        let diff = max_abs_diff(row, &floats(logits));
        assert!(diff <= TENSOR_TOLERANCE, "batched logits differ by {diff}");
    }
}

fn decode(dir: &Path, file: &str) -> RgbImage {
    let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    photos::model_input(&bytes, &PhotoLimits::default()).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn argmax(values: &[f32]) -> usize {
    let best = values.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1));
    best.map(|(i, _)| i).unwrap_or(0)
}

#[test]
fn rust_decoding_of_real_photos_matches_the_python_pipeline() {
    let Some(dir) = photos_dir() else { return };
    let Some(mut model) = load_model() else {
        return;
    };
    let reference = reference();

    // Pixels: Rust's decode of the photo the `photo` tensor was made from.
    let entry = &reference["tensors"]["photo"];
    let image = decode(&dir, entry["source_file"].as_str().unwrap());
    let python = fixture_tensor(entry);
    let rust = to_tensor(&[&image], model.input_px()).unwrap();
    let mean_diff = (&rust - &python)
        .mapv(|d| f64::from(d.abs()))
        .mean()
        .unwrap();
    eprintln!("pixels: mean |Δ| {mean_diff:.3} grey levels (Rust vs Pillow)");
    assert!(
        mean_diff <= PHOTO_MEAN_PIXEL_TOLERANCE,
        "mean pixel difference {mean_diff}"
    );

    for photo in reference["photos"].as_array().unwrap() {
        let file = photo["file"].as_str().unwrap();
        let tensor = to_tensor(&[&decode(&dir, file)], model.input_px()).unwrap();
        let outputs = model.run_tensor(tensor.view()).unwrap();
        let expected = floats(&photo["logits"]);
        let diff = max_abs_diff(outputs.logits.row(0), &expected);
        eprintln!("{file}: max |Δlogit| {diff:.3} (Rust decode vs Python decode)");
        assert!(
            diff <= PHOTO_LOGIT_TOLERANCE,
            "{file}: logits differ by {diff}"
        );
        let rust_best = argmax(outputs.logits.row(0).as_slice().unwrap());
        assert_eq!(rust_best, argmax(&expected), "{file}: a different label");
    }
}

/// Macro-F1 and per-class F1 from (truth, prediction) index pairs.
fn macro_f1(pairs: &[(usize, usize)], classes: usize) -> (f64, Vec<f64>) {
    let mut f1 = Vec::with_capacity(classes);
    for c in 0..classes {
        let tp = pairs.iter().filter(|&&(t, p)| t == c && p == c).count() as f64;
        let predicted = pairs.iter().filter(|&&(_, p)| p == c).count() as f64;
        let actual = pairs.iter().filter(|&&(t, _)| t == c).count() as f64;
        let precision = if predicted > 0.0 { tp / predicted } else { 0.0 };
        let recall = if actual > 0.0 { tp / actual } else { 0.0 };
        let sum = precision + recall;
        f1.push(if sum > 0.0 {
            2.0 * precision * recall / sum
        } else {
            0.0
        });
    }
    (f1.iter().sum::<f64>() / classes as f64, f1)
}

#[test]
fn validation_split_through_rust_decoding_matches_the_card() {
    let Some(dir) = photos_dir() else { return };
    let Some(mut model) = load_model() else {
        return;
    };
    let metrics = read_json(&root().join("models/metrics.json"));
    let card_f1 = metrics["macro_f1"].as_f64().unwrap();
    let labels: Vec<String> = model.labels().iter().map(|l| l.label.clone()).collect();

    let mut split = csv::Reader::from_path(root().join("models/validation_split.csv")).unwrap();
    let rows: Vec<(String, usize)> = split
        .records()
        .map(|r| {
            let r = r.unwrap();
            let class = labels.iter().position(|l| l == &r[1]);
            (
                r[0].to_owned(),
                class.unwrap_or_else(|| panic!("unknown class {}", &r[1])),
            )
        })
        .collect();
    assert!(
        rows.len() >= 100,
        "validation split has {} photos",
        rows.len()
    );

    let started = std::time::Instant::now();
    let mut pairs = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(16) {
        let images: Vec<RgbImage> = chunk.iter().map(|(file, _)| decode(&dir, file)).collect();
        let refs: Vec<&RgbImage> = images.iter().collect();
        let results = model.classify_batch(&refs).unwrap();
        for ((_, truth), result) in chunk.iter().zip(results) {
            let predicted = labels.iter().position(|l| l == &result.label).unwrap();
            pairs.push((*truth, predicted));
        }
    }
    let per_photo_ms = started.elapsed().as_secs_f64() * 1e3 / rows.len() as f64;

    let (rust_f1, per_class) = macro_f1(&pairs, labels.len());
    for (label, f1) in labels.iter().zip(&per_class) {
        eprintln!("  {label:20} F1 {f1:.3}");
    }
    eprintln!(
        "Rust decoding: macro-F1 {rust_f1:.4} over {} photos (card {card_f1:.4}), \
         {per_photo_ms:.1} ms per photo decode + inference",
        rows.len()
    );
    assert!(
        (rust_f1 - card_f1).abs() <= MACRO_F1_TOLERANCE,
        "macro-F1 {rust_f1:.4} through Rust decoding, the card says {card_f1:.4}"
    );
}
