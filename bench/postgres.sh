#!/usr/bin/env bash
# Measures one node on PostgreSQL under steady load: how many calls a
# second it accepts and how many its worker runs, every ten seconds, and
# (with `old-snapshot`) whether a long transaction elsewhere in the
# database slows the worker down as the run goes on.
#
#   bench/postgres.sh [seconds] [connections] [plain|old-snapshot]
#
# The node runs on a fresh schema of the database at BENCH_DATABASE_URL
# (by default the local test database), which is dropped at the end. With
# `old-snapshot`, a psql session holds a REPEATABLE READ transaction open
# from before the first call to the end: PostgreSQL then keeps every row
# version the queue leaves dead, as it would for a long report or a
# forgotten session. Needs wrk and psql.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/setup.sh
seconds=${1:-60}
connections=${2:-32}
mode=${3:-plain}
port=${BENCH_PORT:-18556}
server_url=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}

for tool in wrk psql; do
  command -v "$tool" >/dev/null || { echo "bench/postgres.sh needs $tool" >&2; exit 1; }
done
cargo build --release --locked --bin confab >/dev/null
schema="confab_bench_$$"
psql -q "$server_url" -c "CREATE SCHEMA $schema"
url="$server_url?options=-csearch_path%3D$schema"
log=$(mktemp)
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  [ -n "${holder:-}" ] && kill "$holder" 2>/dev/null
  psql -q "$server_url" -c "DROP SCHEMA $schema CASCADE" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

client=$(target/release/confab --database-url "$url" clients create)
RUST_LOG=${BENCH_LOG:-warn} target/release/confab --database-url "$url" serve \
  --listen "127.0.0.1:$port" ${BENCH_SERVE_FLAGS:-} >/dev/null 2>"$log" &
server=$!
wait_for_server "$port"
token=$(bench_token "$client" "$port")
create_bench_table "$port" "$token"

if [ "$mode" = old-snapshot ]; then
  psql -q "$url" -c "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM requests; \
    SELECT pg_sleep($seconds + 60);" >/dev/null 2>&1 &
  holder=$!
  sleep 1
fi

count() { psql -At "$url" -c "SELECT count(*) FILTER (WHERE state = 'Done'), \
  count(*) FILTER (WHERE state = 'Ready') FROM requests"; }
echo "mode=$mode connections=$connections seconds=$seconds"
echo "elapsed_s  accepted_total  run_per_s  ready_backlog"
TOKEN=$token MODE=single wrk -t1 -c"$connections" -d"${seconds}s" -s bench/intake.lua \
  "http://127.0.0.1:$port/Service.asmx" >"$log.wrk" &
load=$!
done_before=0
for elapsed in $(seq 10 10 "$seconds"); do
  sleep 10
  IFS='|' read -r done ready <<<"$(count)"
  printf '%9s  %14s  %9s  %13s\n' "$elapsed" "$((done + ready))" \
    "$(((done - done_before) / 10))" "$ready"
  done_before=$done
done
wait "$load"
grep -E 'requests in|Requests/sec' "$log.wrk"
rm -f "$log.wrk"
