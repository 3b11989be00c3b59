#!/usr/bin/env bash
# Runs the PostGIS-against-embedded bench (benches/postgis.rs) on the local
# PostgreSQL at 127.0.0.1:5432: makes database cityfix_bench with PostGIS if it
# is missing, then prints the tables. CITYFIX_BENCH_RECORDS sets how many Boston
# records the ingest part replays (default 40,000).
set -euo pipefail
cd "$(dirname "$0")/.."

psql -h 127.0.0.1 -U postgres -d postgres -qtAc \
  "SELECT 1 FROM pg_database WHERE datname = 'cityfix_bench'" | grep -q 1 ||
  psql -h 127.0.0.1 -U postgres -d postgres -qtAc "CREATE DATABASE cityfix_bench"
psql -h 127.0.0.1 -U postgres -d cityfix_bench -qtAc "CREATE EXTENSION IF NOT EXISTS postgis"

export CITYFIX_BENCH_DATABASE_URL=${CITYFIX_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cityfix_bench}
cargo bench --bench postgis
