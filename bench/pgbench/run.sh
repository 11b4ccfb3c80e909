#!/usr/bin/env bash
# The database's share of register, measured alone: pgbench runs the register function and the
# floor's INSERT on a fresh, migrated database (dropped at the end), alternating, and prints
# each one's tps and their ratio, with the bound of a register that writes the fewest rows
# (lean-bound.schema.sql). Needs pgbench, psql and the local PostgreSQL; builds nothing
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
psql "$server/$database" -q -v ON_ERROR_STOP=1 -f bench/pgbench/lean-bound.schema.sql

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "?" }'; }
# One pgbench run of bench/pgbench/<script>.sql: its tps, or its errors and the script stops.
tps() {
  local out
  if ! out="$(pgbench -n -M prepared -c 8 -j 2 -T "$seconds" -f "bench/pgbench/$1.sql" \
    "$server/$database" 2>&1)"; then
    echo "pgbench $1 failed:" >&2
    echo "$out" | grep -iE 'error|abort' | sort | uniq -c | head -5 >&2
    return 1
  fi
  echo "$out" | awk '/^tps/ { printf "%d", $3 }'
}
# A fresh install first: load right after the migrations, no ANALYZE, the plans made on empty
# tables (a plan that reads a growing table slows down as it grows, so the last of the first
# seconds tells). Then fresh statistics, and the steady rounds.
cold="$(tps register)"
lean_cold="$(tps lean-bound)"
echo "fresh database, first $seconds s, no ANALYZE: register function $cold tps," \
  "lean bound $lean_cold tps"
psql "$server/$database" -qc "VACUUM (ANALYZE)"
for round in 1 2 3; do
  floor="$(tps floor)"
  register="$(tps register)"
  lean="$(tps lean-bound)"
  echo "round $round: floor $floor tps, register function $register tps ($(ratio "$register" "$floor")x)," \
    "lean bound $lean tps ($(ratio "$lean" "$floor")x)"
done
