#!/usr/bin/env bash
# The database's share of register, measured alone: pgbench runs the register function and the
# floor's INSERT on a fresh, migrated database (dropped at the end), alternating, and prints
# each one's tps and their ratio. Needs pgbench, psql and the local PostgreSQL; builds nothing
# (run `npx nest build` first if dist/ is missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

server="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
database="otp_link_pgbench_$$"
seconds="${PGBENCH_SECONDS:-10}"
psql "$server/postgres" -qc "CREATE DATABASE $database"
trap 'psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)"' EXIT

DATABASE_URL="$server/$database" NODE_ENV=development node dist/apps/api/src/migrate.js >/dev/null
psql "$server/$database" -qc "CREATE TABLE bench_scratch (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now())"

tps() {
  pgbench -n -M prepared -c 8 -j 2 -T "$seconds" -f "bench/pgbench/$1.sql" "$server/$database" \
    2>/dev/null | awk '/^tps/ { printf "%d", $3 }'
}
# A warm-up, then fresh statistics: plans made while the tables were empty are not the ones a
# live database runs (the API's bench does the same with its warm-up and VACUUM (ANALYZE)).
tps register >/dev/null
psql "$server/$database" -qc "VACUUM (ANALYZE)"
for round in 1 2 3; do
  floor="$(tps floor)"
  register="$(tps register)"
  echo "round $round: floor $floor tps, register function $register tps, ratio $(
    awk -v r="$register" -v f="$floor" 'BEGIN { printf "%.2f", r / f }')x"
done
