#!/usr/bin/env bash
# Measures how many asynchronous calls a second Confab accepts: starts a
# release build on a fresh SQLite directory, makes a data extension, and
# drives it with wrk (Debian package `wrk`) over loopback.
#
#   bench/intake.sh [seconds] [connections] [static|single|conversation]
#
# Every acknowledged call is durably queued (the answer waits for the disk
# flush); the worker runs the queued calls at the same time unless
# BENCH_SERVE_FLAGS=--no-worker. At the end the server is stopped and the
# queue is counted: it must hold at least as many calls as wrk saw answered.
# It also prints the server's CPU time per call, the figure that does not
# depend on how much of the two cores the load generator takes.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/setup.sh
seconds=${1:-10}
connections=${2:-128}
mode=${3:-static}
port=${BENCH_PORT:-18555}

command -v wrk >/dev/null || { echo "bench/intake.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release --locked --bin confab >/dev/null
data=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT

client=$(target/release/confab --data-dir "$data" clients create)
RUST_LOG=${BENCH_LOG:-warn} target/release/confab --data-dir "$data" serve --listen "127.0.0.1:$port" ${BENCH_SERVE_FLAGS:-} \
  >/dev/null 2>"$data/server.log" &
server=$!
wait_for_server "$port"
token=$(bench_token "$client" "$port")
create_bench_table "$port" "$token"

# The server's CPU time (user + system, in clock ticks) so far: with the
# load generator on the same cores, calls a second depend on how much CPU
# wrk takes; CPU per call does not.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }

echo "mode=$mode connections=$connections seconds=$seconds"
before=$(cpu_ticks)
TOKEN=$token MODE=$mode /usr/bin/time -f "wrk CPU: %U s user, %S s system" wrk -t2 -c"$connections" -d"${seconds}s" -s bench/intake.lua \
  "http://127.0.0.1:$port/Service.asmx" | tee "$data/wrk.out"
after=$(cpu_ticks)
calls=$(awk '/requests in/ { print $1 }' "$data/wrk.out")
if grep -q 'Non-2xx' "$data/wrk.out"; then echo "some calls were not answered 200" >&2; exit 1; fi
awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" -v calls="$calls" \
  'BEGIN { printf "server CPU per call: %.1f µs\n", ticks / hz / calls * 1e6 }'

kill -TERM "$server"
wait "$server" || true
python3 - "$data/confab.sqlite3" "$calls" "$mode" <<'PY'
import sqlite3, sys
path, answered, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
stored = sqlite3.connect(path).execute("SELECT count(*) FROM requests").fetchone()[0]
print(f"answered: {answered}, stored: {stored}")
if stored < answered:
    sys.exit("fewer calls stored than answered")
PY
