"""Evaluation of the exported ONNX classifier and the files written next to it.

Every figure in the model card comes from `evaluate`, which runs the .onnx file itself
through onnxruntime (not the torch model), so the card describes what cityfix ships.
"""

import hashlib
import json
import platform
import time
from collections import defaultdict

import numpy as np

import classifier_data as data


def write_labels(path, classes, category_of_label):
    """`index,label,category` rows; an empty category means "no problem visible"."""
    with open(path, "w") as f:
        f.write("index,label,category\n")
        for i, c in enumerate(classes):
            f.write(f"{i},{c},{category_of_label.get(c, 'other')}\n")


def softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def per_class(confusion):
    """Precision, recall and F1 per class from a confusion matrix (rows = truth)."""
    out = []
    for i in range(len(confusion)):
        tp = confusion[i, i]
        predicted = confusion[:, i].sum()
        actual = confusion[i, :].sum()
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        out.append({"precision": float(p), "recall": float(r), "f1": float(f1), "support": int(actual)})
    return out


def choose_threshold(confidence, correct, target_precision):
    """Lowest confidence whose accepted predictions reach the target precision.

    Reports below the threshold go to triage; the rule keeps as many automatic
    decisions as possible while the accepted ones stay at least that precise.
    """
    best = 1.0
    confidence = np.asarray(confidence)
    for t in sorted(set(np.round(confidence, 3).tolist())):
        accepted = confidence >= t
        if accepted.sum() == 0:
            continue
        if correct[accepted].mean() >= target_precision:
            best = t
            break
    accepted = confidence >= best
    return float(best), float(accepted.mean()), float(correct[accepted].mean()) if accepted.any() else 0.0


def latency_ms(session, threads_label, input_px, runs=20, batch=1):
    """Median milliseconds per call (the build machine is shared, so the median)."""
    x = np.repeat(data.synthetic_tensor(input_px), batch, axis=0)
    session.run(None, {"pixels": x})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        session.run(None, {"pixels": x})
        times.append((time.perf_counter() - t0) * 1000)
    return {threads_label: float(np.median(times))}


def session(onnx_path, threads):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])


def evaluate(onnx_path, val_pixels, val_labels, val_rows, classes, args):
    import onnxruntime as ort

    sess = session(onnx_path, args.threads)
    logits = []
    for i in range(0, len(val_pixels), 16):
        batch = val_pixels[i : i + 16].transpose(0, 3, 1, 2).astype(np.float32)
        logits.append(sess.run(["logits"], {"pixels": batch})[0])
    logits = np.concatenate(logits)
    probs = softmax(logits)
    pred = probs.argmax(axis=1)
    truth = np.array(val_labels)
    n = len(classes)
    confusion = np.zeros((n, n), dtype=int)
    for t, p in zip(truth, pred):
        confusion[t, p] += 1
    stats = per_class(confusion)
    by_source = defaultdict(lambda: [0, 0])
    for row, t, p in zip(val_rows, truth, pred):
        key = f"{row['label']} / {row['source']}"
        by_source[key][0] += int(t == p)
        by_source[key][1] += 1
    confidence = probs.max(axis=1)
    threshold, coverage, accepted_precision = choose_threshold(confidence, pred == truth, args.target_precision)
    synthetic_logits, synthetic_embedding = sess.run(None, {"pixels": data.synthetic_tensor(args.input_px)})
    lat = {}
    for threads in (1, 2):
        lat.update(latency_ms(session(onnx_path, threads), f"{threads}_thread", args.input_px))
    lat.update(latency_ms(session(onnx_path, 2), "batch8_2_thread", args.input_px, runs=5, batch=8))
    return {
        "macro_f1": float(np.mean([s["f1"] for s in stats])),
        "accuracy": float((pred == truth).mean()),
        "per_class": {c: s for c, s in zip(classes, stats)},
        "confusion": confusion.tolist(),
        "per_source": {k: {"correct": v[0], "total": v[1]} for k, v in sorted(by_source.items())},
        "threshold": threshold,
        "threshold_coverage": coverage,
        "threshold_precision": accepted_precision,
        "latency_ms": lat,
        "embedding_len": int(synthetic_embedding.shape[1]),
        "synthetic_logits": synthetic_logits,
        "versions": versions(ort.__version__),
    }


def versions(ort_version):
    import PIL
    import torch
    import torchvision

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "onnxruntime": ort_version,
    }


def public(metrics):
    """Metrics without the raw tensors (those go to the parity fixture)."""
    return {k: v for k, v in metrics.items() if not k.startswith("synthetic_")}


def _tensor_reference(sess, name, tensor, dtype, fixture_dir):
    """Write one [1,3,S,S] tensor (raw little-endian) and return its reference outputs."""
    raw = tensor.astype("<u1" if dtype == "u8" else "<f4")
    assert np.array_equal(raw.astype(np.float32), tensor), f"{name} does not survive {dtype}"
    (fixture_dir / f"{name}.{dtype}").write_bytes(raw.tobytes())
    logits, embedding = sess.run(None, {"pixels": tensor})
    return {
        "file": f"{name}.{dtype}",
        "dtype": dtype,
        "shape": list(tensor.shape),
        "logits": [float(v) for v in logits[0]],
        "embedding_first16": [float(v) for v in embedding[0][:16]],
        "embedding_norm": float(np.linalg.norm(embedding[0])),
    }


def write_fixtures(fixture_dir, onnx_path, pixels, rows, val_rows, photos_dir, args):
    """Reference tensors and the onnxruntime outputs for them, for the Rust parity tests.

    Three input tensors (NCHW, 0–255): the synthetic pattern, one validation photo as the
    Python pipeline preprocesses it (so Rust can compare its own decode pixel by pixel),
    and seeded uniform noise with fractional values. Plus two validation photos by path,
    with the logits of the Python pipeline, for Rust's decode path end to end.
    """
    sess = session(onnx_path, 1)
    at = {r["file"]: i for i, r in enumerate(rows)}
    # One dashcam frame (1024×576, decoded at 1/2 DCT scale) and one 640² Roboflow square.
    picks = [next(r for r in val_rows if r["source"] == s) for s in ("kalthommusa", "Krizhneel")]
    photo = pixels[at[picks[0]["file"]]].transpose(2, 0, 1)[None].astype(np.float32)
    noise = np.random.default_rng(args.seed).uniform(0, 255, photo.shape).astype(np.float32)
    tensors = {
        "pattern": _tensor_reference(sess, "pattern", data.synthetic_tensor(args.input_px), "u8", fixture_dir),
        "photo": _tensor_reference(sess, "photo", photo, "u8", fixture_dir),
        "noise": _tensor_reference(sess, "noise", noise, "f32", fixture_dir),
    }
    tensors["photo"]["source_file"] = picks[0]["file"]
    batch = np.concatenate([data.synthetic_tensor(args.input_px), photo, noise])
    batch_logits = sess.run(["logits"], {"pixels": batch})[0]
    photos = []
    for r in picks:
        x = pixels[at[r["file"]]].transpose(2, 0, 1)[None].astype(np.float32)
        logits = sess.run(["logits"], {"pixels": x})[0][0]
        photos.append({"file": r["file"], "class": r["label"], "logits": [float(v) for v in logits]})
    reference = {
        "about": "onnxruntime outputs of models/street_classifier.onnx for the tensors in this folder "
        "(raw little-endian, NCHW [1,3,S,S], RGB 0-255) and for photos under ../shared/data/photos "
        "preprocessed by scripts/classifier_data.load_pixels; written by scripts/train_classifier.py",
        "model_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "input_px": args.input_px,
        "onnxruntime": __import__("onnxruntime").__version__,
        "tensors": tensors,
        "batch": {"order": ["pattern", "photo", "noise"], "logits": batch_logits.tolist()},
        "photos": photos,
    }
    (fixture_dir / "reference.json").write_text(json.dumps(reference, indent=2) + "\n")
    return {"dir": str(fixture_dir.name), "photos": [p["file"] for p in photos]}


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_card(path, m, classes):
    from classifier_card import render

    path.write_text(render(m, classes, table))
