"""Photo loading, class mapping and the validation split for the cityfix classifier.

The preprocessing here mirrors `src/photos` in Rust on purpose: JPEG DCT-scaled decode
(the smallest 1/1, 1/2, 1/4 or 1/8 scale that still covers the model input), EXIF
orientation, RGB, then one bilinear (triangle) resize of the whole frame to the model's
square input. No crop: dashcam frames are wide and the problem can sit at the edge.
"""

import csv
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

INPUT_SIZE = 224

# Classes of the shared photo collection that are too rare to learn alone (< 60 photos).
# Signage photos merge into one class, the others wait for more data.
MERGES = {"faded_signage": "signage", "broken_signage": "signage"}
MIN_PHOTOS_PER_CLASS = 60

# Classifier label -> cityfix category slug; `clean_street` means no problem visible.
CATEGORY_OF_LABEL = {
    "pothole": "pothole",
    "garbage": "garbage",
    "graffiti": "graffiti",
    "clean_street": "",
    "cluttered_sidewalk": "sidewalk",
    "bad_billboard": "billboard",
    "construction_road": "road_works",
    "signage": "signage",
}


def source_of(repo):
    """Short source name (the repository owner) used for per-source figures."""
    return repo.split("/")[0]


def read_manifest(photos_dir):
    """Rows of MANIFEST.csv whose file exists under `photos_dir`, with merged labels."""
    rows = []
    with open(photos_dir / "MANIFEST.csv", newline="") as f:
        for r in csv.DictReader(f):
            path = photos_dir / r["file"]
            if not path.is_file():
                continue
            label = MERGES.get(r["class"], r["class"])
            rows.append({"file": r["file"], "label": label, "source": source_of(r["source_repo"])})
    return rows


def kept_classes(rows):
    """Labels with enough photos, in a stable order (sorted by name)."""
    counts = defaultdict(int)
    for r in rows:
        counts[r["label"]] += 1
    kept = sorted(label for label, n in counts.items() if n >= MIN_PHOTOS_PER_CLASS)
    dropped = {label: n for label, n in counts.items() if n < MIN_PHOTOS_PER_CLASS}
    return kept, dropped, dict(counts)


def stratified_split(rows, val_fraction, seed):
    """Split per (label, source) group so every source of every class is in validation.

    Each group is shuffled with its own seeded generator; at least one photo of a group
    with two or more goes to validation.
    """
    groups = defaultdict(list)
    for r in rows:
        groups[(r["label"], r["source"])].append(r)
    train, val = [], []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda r: r["file"])
        random.Random(f"{seed}:{key[0]}:{key[1]}").shuffle(members)
        n_val = max(1, round(len(members) * val_fraction)) if len(members) >= 2 else 0
        val.extend(members[:n_val])
        train.extend(members[n_val:])
    return train, val


def load_pixels(path, size=INPUT_SIZE):
    """Decode, orient and resize one photo to a `size`×`size` RGB uint8 array (HWC)."""
    with Image.open(path) as img:
        if img.format == "JPEG":
            # Same rule as the Rust decoder: the smallest DCT scale covering size×size.
            img.draft("RGB", (size, size))
        img = ImageOps.exif_transpose(img)
        img = img.convert("RGB")
        img = img.resize((size, size), Image.BILINEAR)
        return np.asarray(img, dtype=np.uint8)


def synthetic_tensor(size=INPUT_SIZE):
    """Deterministic NCHW float tensor (0–255) shared with the Rust parity test."""
    c = np.arange(3).reshape(3, 1, 1)
    y = np.arange(size).reshape(1, size, 1)
    x = np.arange(size).reshape(1, 1, size)
    values = (x * 7 + y * 13 + c * 29 + (x * y) % 17) % 256
    return values.astype(np.float32)[None, ...]


def write_split(path, rows):
    """Write `file,label,source` rows (the validation list Rust evaluates)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "label", "source"])
        for r in rows:
            w.writerow([r["file"], r["label"], r["source"]])


def shared_photos_dir(project_root):
    """The shared photo folder, honouring CITYFIX_SHARED_DIR like the Rust side."""
    import os

    root = os.environ.get("CITYFIX_SHARED_DIR")
    base = Path(root) if root else project_root.parent / "shared"
    return base / "data" / "photos"
