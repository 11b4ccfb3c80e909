#!/usr/bin/env bash
# The database's share of register, verify and wrong code, measured alone: pgbench runs their
# functions and the floor's INSERT on a fresh, migrated database (dropped at the end), alternating,
# and prints each one's tps and its ratio to the floor's, with the bound of a register that writes
# the fewest rows (lean-bound.schema.sql). Needs pgbench, psql and the local PostgreSQL; builds
# nothing (run `npx nest build` first if dist/ is missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

server="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
database="otp_link_pgbench_$$"
seconds="${PGBENCH_SECONDS:-10}"
psql "$server/postgres" -qc "CREATE DATABASE $database"
trap 'psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)"' EXIT

DATABASE_URL="$server/$database" NODE_ENV=development node dist/apps/api/src/migrate.js >/dev/null
psql "$server/$database" -q -v ON_ERROR_STOP=1 -f bench/pgbench/floor.schema.sql \
  -f bench/pgbench/lean-bound.schema.sql

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "?" }'; }
# One pgbench run of bench/pgbench/<script>.sql (more pgbench options after it): its tps, or its
# errors and the script stops.
tps() {
  local script="$1" out
  shift
  if ! out="$(pgbench -n -M prepared -c 8 -j 2 -T "$seconds" "$@" -f "bench/pgbench/$script.sql" \
    "$server/$database" 2>&1)"; then
    echo "pgbench $script failed:" >&2
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

# Live challenges for verify and wrong code: a share for each of the 8 clients of the 3 verify
# rounds, 6 shares for the breakdown's one client, then 100 000 for wrong codes. A share holds
# 1 000 verifies a second, 3.5 to 10 times what a client did here: a client past its share would
# verify challenges verified already, and the links count below would tell.
share=$((1000 * seconds))
breakdown_base=$((24 * share))
wrong_first=$((30 * share + 1))
wrong_last=$((30 * share + 100000))
psql "$server/$database" -q -v ON_ERROR_STOP=1 -v count="$wrong_last" \
  -f bench/pgbench/live-challenges.sql
psql "$server/$database" -qc "VACUUM (ANALYZE)"
for round in 1 2 3; do
  floor="$(tps floor)"
  register="$(tps register)"
  lean="$(tps lean-bound)"
  verify="$(tps verify -D base=$(((round - 1) * 8 * share)) -D share="$share" -D i=0)"
  wrong="$(tps wrong -D first="$wrong_first" -D last="$wrong_last")"
  echo "round $round: floor $floor tps, register function $register tps ($(ratio "$register" "$floor")x)," \
    "lean bound $lean tps ($(ratio "$lean" "$floor")x), verify $verify tps" \
    "($(ratio "$verify" "$floor")x), wrong code $wrong tps ($(ratio "$wrong" "$floor")x)"
done
links="$(psql "$server/$database" -Atc "SELECT count(*) FROM links")"
failures="$(psql "$server/$database" -Atc "SELECT count(*) FROM otp_verify_failures")"
echo "(verify and wrong code are two transactions each, a read and a write, as the API's;" \
  "they made $links links and counted $failures wrong codes)"

# Where each one's database time goes, statement by statement (the nested ones inside the
# functions too): one client, so that the times are the statements' own and not a queue's. Needs
# pg_stat_statements loaded by the server (shared_preload_libraries), which a default install is
# not.
preloaded="$(psql "$server/$database" -Atc "SHOW shared_preload_libraries")"
if [[ ",${preloaded// /}," != *,pg_stat_statements,* ]]; then
  echo "statement breakdown skipped: add pg_stat_statements to shared_preload_libraries for it"
  exit 0
fi
psql "$server/$database" -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
# breakdown <title> <the top-level call's start> <script> [pgbench options]
breakdown() {
  local title="$1" top="$2" script="$3"
  shift 3
  local tracked=(env PGOPTIONS="-c pg_stat_statements.track=all")
  "${tracked[@]}" psql "$server/$database" -qAtc "SELECT pg_stat_statements_reset()" >/dev/null
  "${tracked[@]}" pgbench -n -M prepared -c 1 -j 1 -T "$seconds" "$@" \
    -f "bench/pgbench/$script.sql" "$server/$database" >/dev/null
  echo "$title, one client, $seconds s: each statement's time per call of $top… (µs), and its share"
  # From stdin, as psql interpolates its variables (:'top') there and not in -c.
  psql -X "$server/$database" -v ON_ERROR_STOP=1 -P footer=off -v top="$top%" <<'SQL'
WITH mine AS (
  SELECT s.* FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
   WHERE d.datname = current_database()),
main AS (SELECT calls, total_exec_time FROM mine WHERE query LIKE :'top')
SELECT round((m.total_exec_time / r.calls * 1000)::numeric, 1) AS us,
       round((100 * m.total_exec_time / r.total_exec_time)::numeric) AS pct,
       round(m.calls::numeric / r.calls, 2) AS per_call,
       left(regexp_replace(m.query, '\s+', ' ', 'g'), 80) AS statement
  FROM mine m, main r
 WHERE m.calls >= r.calls / 10
 ORDER BY m.total_exec_time DESC
 LIMIT 20;
SQL
}
breakdown register 'SELECT * FROM phone_link_request_code(' register
breakdown "verify's write" 'SELECT v.outcome FROM bench_live b, LATERAL phone_link_verified(' \
  verify -D base="$breakdown_base" -D share=$((6 * share)) -D i=0
breakdown "wrong code's write" 'SELECT w.outcome FROM bench_live b, LATERAL otp_wrong_code(' \
  wrong -D first="$wrong_first" -D last="$wrong_last"
