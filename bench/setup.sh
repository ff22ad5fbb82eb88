# Sourced by the benchmarks: what they share once a server is started.
#
#   wait_for_server PORT         until the server answers
#   bench_token CLIENT_JSON PORT prints an access token for the client
#   create_bench_table PORT TOKEN  the data extension BENCH the load writes to

wait_for_server() {
  for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$1/etframework.wsdl" >/dev/null && return
    sleep 0.1
  done
}

bench_token() {
  python3 - "$1" "$2" <<'PY'
import json, sys, urllib.request
client = json.loads(sys.argv[1])
body = json.dumps({"grant_type": "client_credentials", "client_id": client["client_id"],
                   "client_secret": client["client_secret"]}).encode()
request = urllib.request.Request(f"http://127.0.0.1:{sys.argv[2]}/v2/token", data=body,
                                 headers={"content-type": "application/json"})
print(json.load(urllib.request.urlopen(request))["access_token"])
PY
}

create_bench_table() {
  curl -s -o /dev/null "http://127.0.0.1:$1/Service.asmx" -H 'SOAPAction: Create' \
    -H 'Content-Type: text/xml' --data-binary @- <<XML
<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Header><fueloauth xmlns="http://exacttarget.com">$2</fueloauth></Header><Body><CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="DataExtension"><CustomerKey>BENCH</CustomerKey><Fields><Field><Name>Value</Name><FieldType>Text</FieldType><MaxLength>100</MaxLength></Field></Fields></Objects></CreateRequest></Body></Envelope>
XML
}
