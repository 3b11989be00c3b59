#!/usr/bin/env bash
# The main job on the embedded store, from a fresh clone: builds cityfix, fetches
# ONNX Runtime for the photo classifier, imports real Boston boundaries, applies
# Boston's set-up, replays Boston's real service requests through the intake
# pipeline, prints a supervisor token, then serves the API on 127.0.0.1:8080.
# Without ../shared it does the same with the project's small sample city.
# Safe to run again: imports, set-up and replay are idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }

export CITYFIX_DATA_DIR="${CITYFIX_DATA_DIR:-./cityfix-data}"
shared=../shared/data/cities

log "building cityfix (release)"
cargo build --release --locked --bin cityfix
bin=target/release/cityfix

log "ONNX Runtime for the photo classifier"
if ! bash scripts/fetch-onnxruntime.sh; then
  echo "warning: no ONNX Runtime; cityfix serves without the classifier (the citizen's category is used)" >&2
fi

if [[ -f "$shared/boston/reports_normalized.csv.gz" ]]; then
  log "Boston: boundaries"
  "$bin" boundaries import "$shared/boston/boundaries/boston_police_districts.geojson" \
    --level police_district --id-field DISTRICT --name-field DISTRICT --tz America/New_York
  "$bin" boundaries import "$shared/boston/boundaries/boston_neighborhoods.geojson" \
    --level neighborhood --id-field name --name-field name --tz America/New_York
  log "Boston: set-up"
  "$bin" setup apply fixtures/boston/setup.toml
  log "Boston: replaying 161k real service requests (a few minutes on 2 cores)"
  "$bin" replay "$shared/boston/reports_normalized.csv.gz" --categories fixtures/boston/categories.csv
else
  log "../shared is absent: using the project's own small sample city (fixtures/sample)"
  "$bin" boundaries import fixtures/boundaries/sample_districts.geojson \
    --level district --id-field code --name-field name --tz America/New_York
  "$bin" setup apply fixtures/sample/setup.toml
  "$bin" replay fixtures/sample/reports.csv --categories fixtures/sample/categories.csv
fi

# Jurisdiction ids follow the import order: in Boston, 3 is police district A1
# (downtown, with City Hall and the README's examples); in the sample city, 1 is North.
supervised=1
[[ -f "$shared/boston/reports_normalized.csv.gz" ]] && supervised=3
log "a supervisor token for jurisdiction $supervised (shown once; ids: GET /api/v1/jurisdictions)"
"$bin" token create --role supervisor --jurisdiction "$supervised"

log "serving on http://${CITYFIX_LISTEN:-127.0.0.1:8080} (Ctrl-C stops)"
exec "$bin" serve
