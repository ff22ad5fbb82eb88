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
  --listen "127.0.0.1:$port" >/dev/null 2>"$log" &
server=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/etframework.wsdl" >/dev/null && break; sleep 0.1; done

token=$(python3 - "$client" "$port" <<'PY'
import json, sys, urllib.request
client = json.loads(sys.argv[1])
body = json.dumps({"grant_type": "client_credentials", "client_id": client["client_id"],
                   "client_secret": client["client_secret"]}).encode()
request = urllib.request.Request(f"http://127.0.0.1:{sys.argv[2]}/v2/token", data=body,
                                 headers={"content-type": "application/json"})
print(json.load(urllib.request.urlopen(request))["access_token"])
PY
)
curl -s -o /dev/null "http://127.0.0.1:$port/Service.asmx" -H 'SOAPAction: Create' \
  -H 'Content-Type: text/xml' --data-binary @- <<XML
<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Header><fueloauth xmlns="http://exacttarget.com">$token</fueloauth></Header><Body><CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="DataExtension"><CustomerKey>BENCH</CustomerKey><Fields><Field><Name>Value</Name><FieldType>Text</FieldType><MaxLength>100</MaxLength></Field></Fields></Objects></CreateRequest></Body></Envelope>
XML

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
