#!/usr/bin/env bash
# Sends the example SOAP envelopes in this folder to a Confab server with
# curl, and prints every response.
#
#   examples/send.sh [BASE_URL [CLIENT_ID CLIENT_SECRET]]
#
# BASE_URL defaults to $CONFAB_URL, then http://127.0.0.1:8080. The client
# credentials default to $CONFAB_CLIENT_ID and $CONFAB_CLIENT_SECRET; make
# them with `confab clients create`. Needs bash, curl and python3 (for JSON
# and XML) and nothing else.
#
# What it does, in order:
#   1. gets an access token from POST /v2/token;
#   2. creates the data extension Orders (01-create-data-extension.xml);
#   3. sends the three parts of one asynchronous conversation, in the order
#      3, 1, 2, under a fresh ConversationID: Confab holds them until all
#      three are in, then runs them in SequenceCode order;
#   4. retrieves the conversation's ResultItems (03-…) until every part has
#      been processed;
#   5. retrieves the rows of Orders (04-…).
#
# Each envelope holds the placeholders TOKEN and CONVERSATION_ID, replaced
# here before sending. Exits non-zero when a call fails. The data extension
# and rows have fixed names, so a second run against the same server fails
# at step 2: use a server with a fresh data directory.
#
# CONFAB_WAIT_SECONDS (default 30) bounds how long step 4 waits.

set -euo pipefail

examples_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
base_url=${1:-${CONFAB_URL:-http://127.0.0.1:8080}}
base_url=${base_url%/}
client_id=${2:-${CONFAB_CLIENT_ID:-}}
client_secret=${3:-${CONFAB_CLIENT_SECRET:-}}
wait_seconds=${CONFAB_WAIT_SECONDS:-30}

if [[ -z $client_id || -z $client_secret ]]; then
  echo "usage: $0 [BASE_URL [CLIENT_ID CLIENT_SECRET]]" >&2
  echo "  (or set CONFAB_CLIENT_ID and CONFAB_CLIENT_SECRET)" >&2
  exit 2
fi

work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT
response_file=$work_dir/response.xml

# Reads SOAP answers. Subcommands:
#   show FILE               pretty-prints FILE; fails on a fault or a status
#                           other than OK
#   request-id FILE         prints the answer's RequestID
#   processed FILE ID...    succeeds when every RequestID ID has
#                           ResultItems in FILE; exits 3 if one is not OK
read -r -d '' soap_tool <<'PYTHON' || true
import sys
import xml.dom.minidom
import xml.etree.ElementTree as ET

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
API = "{http://exacttarget.com/wsdl/partnerAPI}"

command, path, *request_ids = sys.argv[1:]
with open(path, "rb") as answer_file:
    raw = answer_file.read()
try:
    body = ET.fromstring(raw).find(SOAP + "Body")[0]
except (ET.ParseError, TypeError, IndexError):
    sys.exit("not a SOAP answer:\n" + raw.decode("utf-8", "replace"))

if command == "show":
    pretty = xml.dom.minidom.parseString(raw).toprettyxml(indent="  ")
    print(pretty.split("\n", 1)[1].rstrip())
    if body.tag == SOAP + "Fault":
        sys.exit("SOAP fault: " + (body.findtext("faultstring") or ""))
    status = body.findtext(API + "OverallStatus")
    if status not in ("OK", "MoreDataAvailable"):
        messages = [m.text for m in body.iter(API + "StatusMessage") if m.text]
        sys.exit(f"OverallStatus is {status!r}: " + "; ".join(messages))
elif command == "request-id":
    print(body.findtext(API + "RequestID"))
elif command == "processed":
    seen = set()
    for item in body.iter(API + "Results"):
        if item.findtext(API + "StatusCode") != "OK":
            print(ET.tostring(item, encoding="unicode"), file=sys.stderr)
            sys.exit(3)
        seen.add((item.findtext(API + "RequestID") or "").lower())
    sys.exit(0 if {r.lower() for r in request_ids} <= seen else 1)
PYTHON

soap() { python3 -c "$soap_tool" "$@"; }

# json_field FILE NAME: prints one field of the JSON object in FILE.
json_field() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# post_envelope FILE ACTION: sends FILE with its placeholders filled in;
# the answer lands in $response_file, the HTTP status on stdout.
post_envelope() {
  local envelope
  envelope=$(<"$examples_dir/$1")
  envelope=${envelope//TOKEN/"$access_token"}
  envelope=${envelope//CONVERSATION_ID/"$conversation_id"}
  curl --silent --show-error --output "$response_file" --write-out '%{http_code}' \
    --header 'Content-Type: text/xml; charset=utf-8' \
    --header "SOAPAction: \"$2\"" \
    --data-binary "$envelope" "$soap_url"
}

# send FILE ACTION: sends FILE and prints the answer; stops on a failure.
send() {
  local status
  status=$(post_envelope "$1" "$2")
  echo "== $1 ($2): HTTP $status"
  soap show "$response_file"
}

echo "== POST $base_url/v2/token"
token_request=$(python3 -c 'import json, sys
print(json.dumps({"grant_type": "client_credentials",
                  "client_id": sys.argv[1], "client_secret": sys.argv[2]}))' \
  "$client_id" "$client_secret")
token_file=$work_dir/token.json
token_status=$(curl --silent --show-error --output "$token_file" --write-out '%{http_code}' \
  --header 'Content-Type: application/json' --data "$token_request" \
  "$base_url/v2/token")
if [[ $token_status != 200 ]]; then
  echo "the token request failed with HTTP $token_status: $(<"$token_file")" >&2
  exit 1
fi
access_token=$(json_field "$token_file" access_token)
soap_instance_url=$(json_field "$token_file" soap_instance_url)
soap_url=${soap_instance_url}Service.asmx
conversation_id=$(python3 -c 'import uuid; print(uuid.uuid4())')
echo "access token received; SOAP endpoint $soap_url"
echo "ConversationID $conversation_id"
echo

send 01-create-data-extension.xml Create
echo

# The parts go out of order on purpose.
part_ids=()
for part in 3 1 2; do
  action=Create
  [[ $part == 3 ]] && action=Update
  send "02-conversation-part-$part.xml" "$action"
  part_ids+=("$(soap request-id "$response_file")")
  echo
done

echo "== waiting up to ${wait_seconds}s for the conversation's ResultItems"
deadline=$((SECONDS + wait_seconds))
while :; do
  status=$(post_envelope 03-retrieve-result-items.xml Retrieve)
  if [[ $status == 200 ]]; then
    outcome=0
    soap processed "$response_file" "${part_ids[@]}" || outcome=$?
    if [[ $outcome == 0 ]]; then
      break
    elif [[ $outcome == 3 ]]; then
      echo "a part of the conversation failed:" >&2
      soap show "$response_file" >&2 || true
      exit 1
    fi
  fi
  if ((SECONDS >= deadline)); then
    echo "gave up: the conversation was not processed within ${wait_seconds}s" >&2
    soap show "$response_file" >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo "== 03-retrieve-result-items.xml (Retrieve): HTTP $status"
soap show "$response_file"
echo

send 04-retrieve-rows.xml Retrieve
