"""Fine-tuning the last stages of the EfficientNet-Lite0 backbone on cached trunk outputs.

On two CPU cores a forward and backward pass of the whole network costs about 210 ms per
photo at 224 px; the last two stages and the head convolution (the "tail") cost about
13 ms. So the frozen trunk (stem and stages 1–5, ImageNet weights) runs once for a few
augmented views of each training photo, its outputs are cached, and every epoch draws one
cached view per photo and trains only the tail and a softmax head on it.

View 0 of a photo is exactly the model input the service computes, view 1 its mirror
image; the others are random crops (half to all of the frame), mirrored half of the time,
with brightness, contrast and saturation jitter.
"""

import copy
import math
import random

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageOps
from torch import nn
from torch.nn import functional as F

import classifier_data as data

# First block of stage 6 (112 → 192 channels, stride 2): blocks from here on are trained.
TAIL_START = 11
TRUNK_CHANNELS, TRUNK_SIDE = 112, 14


def augmented_views(path, n_views, size, seed):
    """`n_views` uint8 HWC arrays of one photo: the model input, its mirror, then random views."""
    base = data.load_pixels(path, size)
    views = [base, base[:, ::-1].copy()][:n_views]
    if n_views <= 2:
        return views
    rng = random.Random(f"{seed}:augment:{path.parent.name}/{path.name}")
    with Image.open(path) as img:
        if img.format == "JPEG":
            # Crops keep detail when decoded at twice the input side.
            img.draft("RGB", (2 * size, 2 * size))
        img = ImageOps.exif_transpose(img).convert("RGB")
        w, h = img.size
        for _ in range(n_views - 2):
            area = rng.uniform(0.5, 1.0)
            ratio = math.exp(rng.uniform(math.log(0.8), math.log(1.25)))
            cw = max(1, min(w, round(w * math.sqrt(area * ratio))))
            ch = max(1, min(h, round(h * math.sqrt(area / ratio))))
            x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
            view = img.crop((x0, y0, x0 + cw, y0 + ch)).resize((size, size), Image.BILINEAR)
            if rng.random() < 0.5:
                view = ImageOps.mirror(view)
            view = ImageEnhance.Brightness(view).enhance(rng.uniform(0.75, 1.25))
            view = ImageEnhance.Contrast(view).enhance(rng.uniform(0.75, 1.25))
            view = ImageEnhance.Color(view).enhance(rng.uniform(0.7, 1.3))
            views.append(np.asarray(view, dtype=np.uint8))
    return views


class TrunkCache:
    """Trunk outputs `x` [views, photos, 112, 14, 14] (float16) and the trunk's stage
    averages `mids` [views, photos, 192] (float32) of a list of photos."""

    def __init__(self, x, mids):
        self.x = x
        self.mids = mids

    @property
    def n_views(self):
        return self.x.shape[0]

    def batch(self, views, photos):
        x = torch.from_numpy(np.asarray(self.x[views, photos], dtype=np.float32))
        return x, torch.from_numpy(np.asarray(self.mids[views, photos]))

    @classmethod
    def build(cls, backbone, paths, n_views, size, seed, photos_per_batch=4):
        x = np.zeros((n_views, len(paths), TRUNK_CHANNELS, TRUNK_SIDE, TRUNK_SIDE), dtype=np.float16)
        mids = None
        with torch.no_grad():
            for start in range(0, len(paths), photos_per_batch):
                chunk = paths[start : start + photos_per_batch]
                views = [v for p in chunk for v in augmented_views(p, n_views, size, seed)]
                pixels = torch.from_numpy(np.stack(views)).permute(0, 3, 1, 2).float()
                out, mid = backbone.trunk(pixels)
                out = out.numpy().reshape(len(chunk), n_views, *out.shape[1:])
                mid = mid.numpy().reshape(len(chunk), n_views, -1)
                if mids is None:
                    mids = np.zeros((n_views, len(paths), mid.shape[-1]), dtype=np.float32)
                x[:, start : start + len(chunk)] = out.transpose(1, 0, 2, 3, 4)
                mids[:, start : start + len(chunk)] = mid.transpose(1, 0, 2)
                if start % 200 == 0:
                    print(f"  trunk {start}/{len(paths)}", flush=True)
        return cls(x, mids)


def tail_parameters(backbone):
    net = backbone.net
    modules = list(net._blocks[TAIL_START:]) + [net._conv_head, net._bn1]
    return [p for m in modules for p in m.parameters()]


def fine_tune(backbone, cache, photos, labels, n_classes, cfg, seed):
    """A copy of `backbone` whose tail was trained on the cached views of `photos`, and the
    softmax head (on the tail's global average) it was trained with.

    Batch-norm statistics stay those of ImageNet (the network runs in eval mode; their
    scale and shift are trained): batches of 32 photos of seven classes are too few to
    estimate them again.
    """
    torch.manual_seed(seed)
    model = copy.deepcopy(backbone).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    trained = tail_parameters(model)
    for p in trained:
        p.requires_grad_(True)
    head = nn.Linear(1280, n_classes)
    optimiser = torch.optim.AdamW(
        [{"params": trained, "lr": cfg["lr"]}, {"params": head.parameters(), "lr": cfg["lr"] * cfg["head_lr_factor"]}],
        weight_decay=cfg["weight_decay"],
    )
    counts = np.bincount(labels, minlength=n_classes)
    class_weight = torch.tensor(len(labels) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32)
    loss_of = nn.CrossEntropyLoss(weight=class_weight, label_smoothing=cfg["label_smoothing"])
    steps_per_epoch = math.ceil(len(photos) / cfg["batch"])
    total = steps_per_epoch * cfg["epochs"]
    # One epoch of linear warm-up, then cosine decay to zero.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / steps_per_epoch) * 0.5 * (1 + math.cos(math.pi * s / total))
    )
    rng = np.random.default_rng(seed)
    y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    for epoch in range(cfg["epochs"]):
        order = rng.permutation(len(photos))
        views = rng.integers(0, cache.n_views, len(photos))
        running = 0.0
        for b in range(0, len(order), cfg["batch"]):
            at = order[b : b + cfg["batch"]]
            x, mids = cache.batch(views[at], photos[at])
            maps, _ = model.tail(x, mids)
            pooled = F.dropout(maps.mean(dim=(2, 3)), p=cfg["dropout"], training=True)
            loss = loss_of(head(pooled), y_all[at])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            running += float(loss) * len(at)
        print(f"    epoch {epoch + 1}/{cfg['epochs']} loss {running / len(photos):.3f}", flush=True)
    for p in model.parameters():
        p.requires_grad_(False)
    return model, head.eval()


def tail_outputs(model, cache, photos, views, batch=64):
    """Per view in `views`: the tail's last feature maps [n, 1280, 7, 7] (float16) and its four
    stage averages [n, 704] (float32), for `photos`."""
    maps_out, mids_out = [], []
    with torch.no_grad():
        for v in views:
            m_parts, mid_parts = [], []
            for b in range(0, len(photos), batch):
                at = photos[b : b + batch]
                x, mids = cache.batch(np.full(len(at), v), at)
                maps, mid = model.tail(x, mids)
                m_parts.append(maps.numpy().astype(np.float16))
                mid_parts.append(mid.numpy())
            maps_out.append(np.concatenate(m_parts))
            mids_out.append(np.concatenate(mid_parts))
    return maps_out, mids_out
