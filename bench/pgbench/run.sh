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

# Where a register's database time goes, statement by statement (the nested ones inside the
# functions too): one client, so that the times are the statements' own and not a queue's. Needs
# pg_stat_statements loaded by the server (shared_preload_libraries), which a default install is
# not.
preloaded="$(psql "$server/$database" -Atc "SHOW shared_preload_libraries")"
if [[ ",${preloaded// /}," != *,pg_stat_statements,* ]]; then
  echo "statement breakdown skipped: add pg_stat_statements to shared_preload_libraries for it"
  exit 0
fi
psql "$server/$database" -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
tracked=(env PGOPTIONS="-c pg_stat_statements.track=all")
"${tracked[@]}" psql "$server/$database" -qAtc "SELECT pg_stat_statements_reset()" >/dev/null
"${tracked[@]}" pgbench -n -M prepared -c 1 -j 1 -T "$seconds" -f bench/pgbench/register.sql \
  "$server/$database" >/dev/null
echo "register, one client, $seconds s: each statement's time per register (µs), and its share" \
  "of the register function's"
psql "$server/$database" -P footer=off -c "
  WITH mine AS (
    SELECT s.* FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
     WHERE d.datname = current_database()),
  register AS (
    SELECT calls, total_exec_time FROM mine
     WHERE query LIKE 'SELECT * FROM phone_link_request_code(%')
  SELECT round((m.total_exec_time / r.calls * 1000)::numeric, 1) AS us,
         round((100 * m.total_exec_time / r.total_exec_time)::numeric) AS pct,
         round(m.calls::numeric / r.calls, 2) AS per_register,
         left(regexp_replace(m.query, '\s+', ' ', 'g'), 80) AS statement
    FROM mine m, register r
   WHERE m.calls >= r.calls / 10
   ORDER BY m.total_exec_time DESC
   LIMIT 20"
