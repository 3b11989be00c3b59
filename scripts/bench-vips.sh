#!/usr/bin/env bash
# Times cityfix's shrink of a full-size phone JPEG to the classifier's 224 px input
# against libvips' `vipsthumbnail` doing the same job, in the same run.
#
# Both are whole processes that read the file, apply the EXIF orientation, shrink it to
# 224×224 (vips: `-s 224x224!`, the aspect ratio not kept, as cityfix does) and write a
# JPEG: cityfix through `examples/thumbnail.rs` (photos::model_input: JPEG decoded at a
# reduced DCT scale, oriented, resized), vips through its own shrink-on-load. The two
# run in turn, A B A B …, so a machine that slows down mid-run slows both; the script
# prints each one's median wall time and the ratio of the medians.
#
# Usage: scripts/bench-vips.sh [PHOTO] [RUNS]
#   PHOTO defaults to ../shared/data/photos/exif/ianare_mobile_HMD_Nokia_8.3_5G.jpg
#   (4608×1976, 2.2 MB), RUNS to 30. Needs vipsthumbnail (Debian: libvips-tools).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
photo="${1:-$root/../shared/data/photos/exif/ianare_mobile_HMD_Nokia_8.3_5G.jpg}"
runs="${2:-30}"

if [[ ! -f "$photo" ]]; then
    echo "skipped: $photo not found (the default needs ../shared/data/photos/exif)" >&2
    exit 0
fi
if ! command -v vipsthumbnail >/dev/null; then
    echo "error: vipsthumbnail not found: apt-get install libvips-tools" >&2
    exit 1
fi

(cd "$root" && cargo build --release --quiet --example thumbnail)
thumbnail="$root/target/release/examples/thumbnail"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Nanoseconds one run of the command takes.
time_ns() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    echo $((end - start))
}

median_ms() {
    sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1e6 }'
}

cityfix_cmd=("$thumbnail" "$photo" "$work/cityfix.jpg" 224)
vips_cmd=(vipsthumbnail "$photo" -s "224x224!" -o "$work/vips.jpg")

# One warm-up each (page cache, dynamic loader), and a check that both produce 224×224.
"${cityfix_cmd[@]}"
"${vips_cmd[@]}"
for out in cityfix vips; do
    size=$(vipsheader -f width "$work/$out.jpg")x$(vipsheader -f height "$work/$out.jpg")
    if [[ "$size" != "224x224" ]]; then
        echo "error: $out wrote $size, expected 224x224" >&2
        exit 1
    fi
done

: >"$work/cityfix.ns"
: >"$work/vips.ns"
for _ in $(seq "$runs"); do
    time_ns "${cityfix_cmd[@]}" >>"$work/cityfix.ns"
    time_ns "${vips_cmd[@]}" >>"$work/vips.ns"
done

cityfix_ms=$(median_ms <"$work/cityfix.ns")
vips_ms=$(median_ms <"$work/vips.ns")
echo "photo: $photo"
echo "runs: $runs each, alternating; whole-process wall time, median"
echo "cityfix decode+orient+resize (examples/thumbnail): ${cityfix_ms} ms"
echo "vipsthumbnail -s 224x224!:                          ${vips_ms} ms"
awk -v a="$cityfix_ms" -v b="$vips_ms" 'BEGIN { printf "ratio cityfix / vips: %.2f\n", a / b }'
