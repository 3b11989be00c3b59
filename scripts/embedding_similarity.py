"""How alike the classifier's embeddings are for photos of the same class and of different
classes: the evidence behind dedup's "is this the same thing?" threshold.

Dedup only compares reports filed under the same category, so the question it asks of two
photos is "do these show the same kind of thing at all?". Pairs of photos of one class
stand in for true duplicates (two citizens photographing one pothole are at least as alike
as two photos of different potholes); pairs of different classes stand in for a photo
that shows something else. The threshold is read off the training photos only (the
`quantile` of same-class pairs, default 1 %: at most about one true duplicate in a
hundred is kept apart), then checked on the validation split.

Embeddings are computed exactly as cityfix stores them: the model's `embedding` output,
L2-normalised. Run with the training environment:

    .venv-train/bin/python scripts/embedding_similarity.py
"""

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
import classifier_data as data  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def embeddings(session, photos_dir, files, batch=16):
    out = []
    for start in range(0, len(files), batch):
        pixels = np.stack([data.load_pixels(photos_dir / f) for f in files[start : start + batch]])
        tensor = pixels.transpose(0, 3, 1, 2).astype(np.float32)
        (emb,) = session.run(["embedding"], {"pixels": tensor})
        out.append(emb / np.linalg.norm(emb, axis=1, keepdims=True))
    return np.concatenate(out)


def pair_similarities(emb, labels):
    sims = emb @ emb.T
    upper = np.triu_indices(len(labels), k=1)
    same = labels[:, None] == labels[None, :]
    return sims[upper][same[upper]], sims[upper][~same[upper]]


def describe(name, values):
    q = np.quantile(values, [0.01, 0.05, 0.5, 0.95])
    print(f"{name}: {len(values)} pairs, p1 {q[0]:.3f}, p5 {q[1]:.3f}, median {q[2]:.3f}, p95 {q[3]:.3f}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--photos", type=Path, default=None, help="default: ../shared/data/photos")
    p.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "street_classifier.onnx")
    p.add_argument("--quantile", type=float, default=0.01)
    p.add_argument("--write", action="store_true", help="record the figures in models/metrics.json and re-render the card")
    args = p.parse_args()

    photos_dir = args.photos or data.shared_photos_dir(PROJECT_ROOT)
    with open(PROJECT_ROOT / "models" / "validation_split.csv", newline="") as f:
        val = {r["file"]: r["class"] for r in csv.DictReader(f)}
    kept = set(val.values())
    rows = [r for r in data.read_manifest(photos_dir) if r["label"] in kept]
    train = [r for r in rows if r["file"] not in val]

    session = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"])
    splits = [
        ("training", [r["file"] for r in train], [r["label"] for r in train]),
        ("validation", list(val), list(val.values())),
    ]
    emb = {name: embeddings(session, photos_dir, files) for name, files, _ in splits}
    labels = {name: np.array(labels) for name, _, labels in splits}
    stored = report("stored embedding (what cityfix compares)", emb, labels, args.quantile)
    # For comparison only: the same vectors centred on the training mean, which cityfix
    # would need to ship beside the model.
    mean = emb["training"].mean(axis=0)
    centred = {}
    for name, e in emb.items():
        c = e - mean
        centred[name] = c / np.linalg.norm(c, axis=1, keepdims=True)
    centred_result = report("centred on the training mean (not used)", centred, labels, args.quantile)
    if args.write:
        record(args.model, stored, centred_result, args.quantile)


def record(model_path, stored, centred, quantile):
    """Writes the figures into models/metrics.json (keyed by the model's sha256) and re-renders the card."""
    import hashlib
    import json

    import classifier_card

    metrics_path = PROJECT_ROOT / "models" / "metrics.json"
    m = json.loads(metrics_path.read_text())
    m["embedding_similarity"] = {
        "sha256": hashlib.sha256(Path(model_path).read_bytes()).hexdigest(),
        "quantile": quantile,
        "threshold": round(stored["threshold"], 3),
        "rows": stored["rows"],
        "centred_different_below": centred["different_below"],
    }
    metrics_path.write_text(json.dumps(m, indent=2) + "\n")
    classifier_card.main()
    print(f"recorded in {metrics_path}; set DEFAULT_MIN_PHOTO_SIMILARITY = {stored['threshold']:.3f}")


def report(title, emb, labels, quantile):
    print(f"== {title}")
    results = {name: pair_similarities(emb[name], labels[name]) for name in emb}
    same, different = results["training"]
    threshold = float(np.quantile(same, quantile))
    print(f"threshold (training same-class quantile {quantile}): {threshold:.3f}")
    for split, (same, different) in results.items():
        describe(f"{split} same class", same)
        describe(f"{split} different classes", different)
        print(
            f"{split}: below {threshold:.3f}: same class {np.mean(same < threshold):.1%}, "
            f"different classes {np.mean(different < threshold):.1%}"
        )
    rows = []
    for split, (same, different) in results.items():
        for kind, values in (("same class", same), ("different classes", different)):
            q = np.quantile(values, [0.01, 0.05, 0.5, 0.95])
            rows.append(
                {
                    "pairs": f"{split}, {kind}",
                    "count": int(len(values)),
                    "p1": float(q[0]),
                    "p5": float(q[1]),
                    "median": float(q[2]),
                    "p95": float(q[3]),
                    "below": float(np.mean(values < threshold)),
                }
            )
    return {"threshold": threshold, "rows": rows, "different_below": float(np.mean(results["training"][1] < threshold))}


if __name__ == "__main__":
    main()
