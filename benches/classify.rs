//! Photo classification on a real full-size phone JPEG (`../shared/data/photos/exif/`,
//! a 4608×1976 Nokia 8.3 5G photo, 2.2 MB), one photo per iteration:
//!
//! - `decode_orient_resize`: `photos::model_input` alone (header checks, EXIF orientation,
//!   JPEG decoded at a reduced DCT scale, resize to the model's 224 px square), the part
//!   `scripts/bench-vips.sh` compares with `vipsthumbnail`;
//! - `end_to_end_1_thread` / `end_to_end_2_threads`: the same plus inference;
//! - `infer_1_thread` / `infer_2_threads`: inference alone on the prepared 224 px image
//!   (tensor packing, ONNX Runtime, softmax, embedding normalisation).
//!
//! Needs `../shared/data/photos/exif` and ONNX Runtime (`scripts/fetch-onnxruntime.sh`);
//! without either, the benches say so and do nothing.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use cityfix::classify::{OnnxModel, default_runtime_path};
use cityfix::photos::{self, PhotoLimits};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const PHOTO: &str = "ianare_mobile_HMD_Nokia_8.3_5G.jpg";

fn project(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The phone photo's bytes, or `None` with the reason on stderr.
fn photo_bytes() -> Option<Vec<u8>> {
    let path = project("../shared/data/photos/exif").join(PHOTO);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            eprintln!(
                "classify benches skipped: {} not readable ({e}); they need ../shared/data/photos/exif",
                path.display()
            );
            None
        }
    }
}

/// The shipped model with `threads` intra-op threads, or `None` when ONNX Runtime is absent.
fn model(threads: usize) -> Option<OnnxModel> {
    let runtime = default_runtime_path();
    if !runtime.exists() {
        eprintln!(
            "classify benches skipped: ONNX Runtime not found at {}; run scripts/fetch-onnxruntime.sh",
            runtime.display()
        );
        return None;
    }
    let model = OnnxModel::load(
        &project("models/street_classifier.onnx"),
        &project("models/labels.csv"),
        threads,
    )
    .expect("the shipped model loads");
    Some(model)
}

fn limits(model: &OnnxModel) -> PhotoLimits {
    PhotoLimits {
        model_input_px: model.input_px(),
        ..PhotoLimits::default()
    }
}

fn classify(c: &mut Criterion) {
    let Some(bytes) = photo_bytes() else { return };
    let Some(mut one) = model(1) else { return };
    let Some(mut two) = model(2) else { return };
    let limits = limits(&one);
    let image = photos::model_input(&bytes, &limits).expect("the phone photo decodes");

    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));

    group.bench_function("decode_orient_resize", |b| {
        b.iter(|| photos::model_input(&bytes, &limits).expect("decodes"));
    });
    for (name, model) in [
        ("end_to_end_1_thread", &mut one),
        ("end_to_end_2_threads", &mut two),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let image = photos::model_input(&bytes, &limits).expect("decodes");
                model.classify_batch(&[&image]).expect("classifies")
            });
        });
    }
    for (name, model) in [("infer_1_thread", &mut one), ("infer_2_threads", &mut two)] {
        group.bench_function(name, |b| {
            b.iter(|| model.classify_batch(&[&image]).expect("classifies"));
        });
    }
    group.finish();
}

criterion_group!(benches, classify);
criterion_main!(benches);
