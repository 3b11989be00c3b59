"""Evaluation of the exported ONNX classifier and the files written next to it.

Every figure in the model card comes from `evaluate`, which runs the .onnx file itself
through onnxruntime (not the torch model), so the card describes what cityfix ships.
"""

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
    for t in sorted(set(np.round(confidence, 3).tolist())):
        accepted = confidence >= t
        if accepted.sum() == 0:
            continue
        if correct[accepted].mean() >= target_precision:
            best = t
            break
    accepted = confidence >= best
    return float(best), float(accepted.mean()), float(correct[accepted].mean()) if accepted.any() else 0.0


def latency_ms(session, threads_label, input_px, runs=20):
    x = data.synthetic_tensor(input_px)
    session.run(None, {"pixels": x})
    t0 = time.perf_counter()
    for _ in range(runs):
        session.run(None, {"pixels": x})
    return {threads_label: (time.perf_counter() - t0) * 1000 / runs}


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
        "synthetic_logits": synthetic_logits,
        "synthetic_embedding": synthetic_embedding,
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


def write_fixture(path, metrics):
    """Logits and embedding head for the synthetic tensor, checked by the Rust test."""
    fixture = {
        "input": "synthetic: value(c,y,x) = (7x + 13y + 29c + (x*y mod 17)) mod 256, NCHW 1x3xSxS",
        "input_px": metrics["input_px"],
        "logits": [round(float(v), 6) for v in metrics["synthetic_logits"][0]],
        "embedding_first16": [round(float(v), 6) for v in metrics["synthetic_embedding"][0][:16]],
        "embedding_len": int(metrics["synthetic_embedding"].shape[1]),
        "validation_macro_f1": metrics["macro_f1"],
        "threshold": metrics["threshold"],
    }
    path.write_text(json.dumps(fixture, indent=2) + "\n")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_card(path, m, classes):
    from classifier_card import render

    path.write_text(render(m, classes, table))
