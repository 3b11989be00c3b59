"""Photo loading, class mapping and the validation split for the cityfix classifier.

The preprocessing here mirrors `photos::model_input` in Rust on purpose: JPEG DCT-scaled
decode (the strongest of the 1/8, 1/4, 1/2 or 1/1 scales that keeps both sides at least the
model input), EXIF orientation, RGB, then one bilinear (triangle) resize of the whole frame
to the model's square input. No crop: dashcam frames are wide and the problem can sit at
the edge.

The validation split keeps near-duplicates together: photos of one class whose 64-bit
dHash differs by a few bits, or dashcam frames taken within `NEAR_GPS_M` metres of each
other (the Smartathon drives are continuous), form one group, and a group is either all
in training or all in validation.
"""

import csv
import math
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

# Near-duplicate rules for the split (PROVENANCE.md clustered 2–3 bit dHash neighbours).
NEAR_DHASH_BITS = 4
NEAR_GPS_M = 25.0

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


def dhash(pixels):
    """64-bit difference hash of an HWC uint8 image (9×8 grey, left/right comparisons)."""
    grey = Image.fromarray(pixels).convert("L").resize((9, 8), Image.BILINEAR)
    g = np.asarray(grey, dtype=np.int16)
    bits = (g[:, 1:] > g[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def gps_of(path):
    """(lat, lon) in degrees from EXIF GPS, or None."""
    with Image.open(path) as img:
        gps = img.getexif().get_ifd(0x8825)
    try:
        lat = sum(float(v) / 60**i for i, v in enumerate(gps[2]))
        lon = sum(float(v) / 60**i for i, v in enumerate(gps[4]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    lat = -lat if gps.get(1) == "S" else lat
    lon = -lon if gps.get(3) == "W" else lon
    return lat, lon


def metres_between(a, b):
    """Equirectangular distance, fine at the scale of a few hundred metres."""
    k = math.pi / 180
    x = (b[1] - a[1]) * k * math.cos((a[0] + b[0]) / 2 * k)
    y = (b[0] - a[0]) * k
    return 6_371_000 * math.hypot(x, y)


def leak_groups(rows, hashes, positions):
    """Group id per row: same class and (near-identical dHash or GPS within NEAR_GPS_M)."""
    parent = list(range(len(rows)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            if rows[i]["label"] != rows[j]["label"]:
                continue
            close = bin(hashes[i] ^ hashes[j]).count("1") <= NEAR_DHASH_BITS
            if not close and positions[i] and positions[j]:
                close = metres_between(positions[i], positions[j]) <= NEAR_GPS_M
            if close:
                parent[find(i)] = find(j)
    return [find(i) for i in range(len(rows))]


def stratified_split(rows, groups, val_fraction, seed):
    """Split per (label, source) stratum, whole leak groups at a time.

    Each stratum's groups are shuffled with their own seeded generator and sent to
    validation until it holds about `val_fraction` of the stratum's photos (at least one
    group when the stratum has two or more).
    """
    strata = defaultdict(lambda: defaultdict(list))
    for r, g in zip(rows, groups):
        strata[(r["label"], r["source"])][g].append(r)
    train, val = [], []
    for key in sorted(strata):
        members = [sorted(m, key=lambda r: r["file"]) for m in strata[key].values()]
        members.sort(key=lambda m: m[0]["file"])
        random.Random(f"{seed}:{key[0]}:{key[1]}").shuffle(members)
        total = sum(len(m) for m in members)
        target = max(1, round(total * val_fraction)) if len(members) >= 2 else 0
        taken = 0
        for m in members:
            # A big group may overshoot the target by half, or fill an empty validation side.
            fits = taken == 0 or taken + len(m) <= target * 1.5
            if taken < target and fits:
                val.extend(m)
                taken += len(m)
            else:
                train.extend(m)
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
    """Write `file,class,source` rows (the validation list Rust re-evaluates); `file` is
    relative to the photos folder and `class` is the model label (after merges)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "class", "source"])
        for r in rows:
            w.writerow([r["file"], r["label"], r["source"]])


def shared_photos_dir(project_root):
    """The shared photo folder, honouring CITYFIX_SHARED_DIR like the Rust side."""
    import os

    root = os.environ.get("CITYFIX_SHARED_DIR")
    base = Path(root) if root else project_root.parent / "shared"
    return base / "data" / "photos"
