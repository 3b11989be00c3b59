#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

#[test]
fn cosine_similarity_of_known_vectors() {
    assert!((cosine_similarity(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
    assert!(cosine_similarity(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
    assert!((cosine_similarity(&[1.0, 1.0], &[-1.0, -1.0]) + 1.0).abs() < 1e-6);
    assert_eq!(cosine_similarity(&[], &[]), 0.0);
    assert_eq!(cosine_similarity(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
}

#[test]
fn softmax_sums_to_one_and_keeps_order() {
    let p = softmax(&[1000.0, 999.0, -5.0]);
    assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    assert!(p[0] > p[1] && p[1] > p[2]);
    assert!((p[0] - 1.0 / (1.0 + (-1.0f32).exp())).abs() < 1e-3);
}

#[test]
fn labels_file_maps_labels_to_categories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.csv");
    std::fs::write(
        &path,
        "index,label,category\n0,clean_street,\n1,cluttered_sidewalk,sidewalk\n",
    )
    .unwrap();
    let labels = read_labels(&path).unwrap();
    assert_eq!(
        labels[0],
        Label {
            label: "clean_street".into(),
            category: None
        }
    );
    assert_eq!(labels[1].category.as_deref(), Some("sidewalk"));

    std::fs::write(&path, "index,label,category\n1,pothole,pothole\n").unwrap();
    let err = read_labels(&path).unwrap_err();
    assert!(err.to_string().contains("expected 0"), "{err}");
}

#[test]
fn project_labels_file_uses_team_categories() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/labels.csv");
    let labels = read_labels(&path).unwrap();
    let allowed = [
        "pothole",
        "garbage",
        "graffiti",
        "sidewalk",
        "billboard",
        "road_works",
        "signage",
    ];
    for label in &labels {
        match &label.category {
            Some(c) => assert!(allowed.contains(&c.as_str()), "{c}"),
            None => assert_eq!(label.label, "clean_street"),
        }
    }
    assert!(labels.iter().any(|l| l.label == "clean_street"));
}

#[test]
fn tensor_is_nchw_in_0_to_255() {
    let mut image = image::RgbImage::new(2, 2);
    image.put_pixel(1, 0, image::Rgb([10, 20, 255]));
    let tensor = to_tensor(&[&image], 2).unwrap();
    assert_eq!(tensor.shape(), &[1, 3, 2, 2]);
    assert_eq!(tensor[[0, 0, 0, 1]], 10.0);
    assert_eq!(tensor[[0, 2, 0, 1]], 255.0);
    assert!(to_tensor(&[&image], 3).is_err());
}

#[test]
fn missing_runtime_error_names_the_fix() {
    let err = ClassifyError::Runtime {
        path: "x.so".into(),
        message: "file not found".into(),
    };
    let text = err.to_string();
    assert!(
        text.contains("fetch-onnxruntime.sh") && text.contains("ORT_DYLIB_PATH"),
        "{text}"
    );
}

#[test]
fn a_missing_relative_model_path_says_where_it_was_looked_for() {
    let err = super::OnnxModel::load(
        std::path::Path::new("no/such/model.onnx"),
        std::path::Path::new("no/such/labels.csv"),
        1,
    )
    .err()
    .expect("no model there");
    let text = err.to_string();
    assert!(text.contains("no/such/model.onnx"), "{text}");
    assert!(text.contains("working directory"), "{text}");
}
