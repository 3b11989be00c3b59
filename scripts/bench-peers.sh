#!/usr/bin/env bash
# Heatmap counts and cluster building, cityfix against well-known peers on the
# same points in the same run: h3-py (PyPI `h3`) for hexagon counts at H3
# resolution 8, supercluster (npm) for cluster levels built to zooms 10, 13, 16.
# Writes the points once, runs the Rust bench binary and the peers, prints ratios
# (peer time / cityfix time: above 1 means cityfix is faster).
#
# Usage: bash scripts/bench-peers.sh [POINTS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."

count="${1:-1000000}"
work=target/bench-peers
mkdir -p "$work"
points="$work/points_${count}.csv"

python3 -c "import h3" 2>/dev/null || pip install --quiet h3
if [[ ! -d "$work/node_modules/supercluster" ]]; then
  (cd "$work" && npm install --silent --no-audit --no-fund supercluster@8 >/dev/null)
fi
cp scripts/bench-peers/supercluster.mjs "$work/"

[[ -f "$points" ]] || python3 scripts/bench-peers/points.py "$count" "$points"

CITYFIX_BENCH_POINTS="$points" cargo bench --quiet --bench map_peers > "$work/cityfix.jsonl"
python3 scripts/bench-peers/h3_counts.py "$points" > "$work/peers.jsonl"
node "$work/supercluster.mjs" "$points" >> "$work/peers.jsonl"

python3 - "$work/cityfix.jsonl" "$work/peers.jsonl" <<'PY'
import json, sys
ours = {r["task"]: r for r in map(json.loads, open(sys.argv[1]))}
peers = [json.loads(line) for line in open(sys.argv[2])]
print(f"{'task':<24}{'points':>9}{'cityfix ms':>12}{'peer ms':>10}  ratio  peer")
for peer in peers:
    mine = ours[peer["task"]]
    print(f"{peer['task']:<24}{peer['points']:>9}{mine['ms']:>12.1f}{peer['ms']:>10.1f}"
          f"  {peer['ms'] / mine['ms']:5.1f}x  {peer['peer']}")
for task, mine in ours.items():
    if task not in {p["task"] for p in peers}:
        print(f"{task:<24}{mine['points']:>9}{mine['ms']:>12.1f}{'':>10}  (cityfix only)")
PY
