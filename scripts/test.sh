#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine, starts PostgreSQL with
# PostGIS, then runs every test. Safe to run again: each step skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

need_apt=()
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need_apt+=(postgresql-15-postgis-3)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

log "ONNX Runtime"
bash scripts/fetch-onnxruntime.sh

log "PostgreSQL + PostGIS"
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
psql -h 127.0.0.1 -U postgres -d postgres -qtAc "DROP DATABASE IF EXISTS cityfix_test WITH (FORCE)"
psql -h 127.0.0.1 -U postgres -d postgres -qtAc "CREATE DATABASE cityfix_test"
psql -h 127.0.0.1 -U postgres -d cityfix_test -qtAc "CREATE EXTENSION postgis"
export CITYFIX_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cityfix_test

log "tests"
cargo test --release --all-targets
