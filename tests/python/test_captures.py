"""Every request real clients sent in `shared/reference/captures/`, sent
again to Confab byte for byte.

Each capture folder is one client running one scenario: get a token, create
the data extension `DE_SCENARIO`, create two rows (as a two-part
conversation with part 2 sent first, where the client can), retrieve the
`ResultItem` of part 1, retrieve the rows. Each folder runs in order against
a server of its own, so the fixed names in the captured bytes do not clash.

On replay only what has to change changes: `Host` (the port), the body's
`Content-Length`, the client credentials in token requests, and values the
capture's stand-in server issued that the client echoed later (the token in
`fueloauth` or `oAuthToken`, the RequestID filtered on), which become the
ones Confab issued for the same replayed request. Header names, their
spelling (`Soapaction`, bare `Create`), Content-Type and the body bytes are
the client's.

Requests fuelsdk-node sent to hosts Confab is not (`connect-*` proxy
tunnels and the `tunnel-*` requests inside them) are skipped, and the test
checks that exactly those were skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from captures import (
    TOKEN_FIELDS,
    Answer,
    CapturedRequest,
    Replayer,
    read_capture,
    read_folder,
    with_credentials,
)
from confab_support import (
    FAULT_NS,
    PARTNER_NS,
    SOAP_ENV_NS,
    XSI_NS,
    ConfabServer,
    assert_client_readable_envelope,
    assert_unprefixed_partner_element,
    child_text,
    children_named,
    parse_xml,
    poll,
    row_properties,
    shared_reference_dir,
    soap_body_child,
)

CAPTURES_DIR = shared_reference_dir() / "captures"
FOLDERS = (
    sorted(p.name for p in CAPTURES_DIR.iterdir() if p.is_dir()) if CAPTURES_DIR.is_dir() else []
)

# What every scenario leaves in DE_SCENARIO (README of the captures).
EXPECTED_ROWS = {"O-1": "NEW", "O-2": "SHIPPED"}

# Files recording requests to other hosts than the capture server.
OTHER_HOST_FILE = re.compile(r"^\d+-(connect|tunnel)-")

# How tower-http logs any HTTP 500 answer, SOAP faults included.
FAULT_RESPONSE_LOG = '"target":"tower_http::trace::on_failure"'

# A token the capture's stand-in issued.
CAPTURED_TOKEN = re.compile(r"capture-[a-z-]+-\d+-[0-9a-f]{32}")

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"

# The order of the children of each response element in the WSDL.
RESPONSE_ELEMENTS = {
    "Create": ("CreateResponse", re.compile(r"^(Results,)+(RequestID,)?OverallStatus,$")),
    "Retrieve": (
        "RetrieveResponseMsg",
        re.compile(r"^OverallStatus,(RequestID,)?(Results,)*$"),
    ),
}


def test_every_capture_folder_is_replayed(shared_reference: Path):
    folders = sorted(p.name for p in (shared_reference / "captures").iterdir() if p.is_dir())
    assert folders, "no capture folders"
    assert folders == FOLDERS


@pytest.mark.parametrize("folder", FOLDERS)
def test_replay_capture_folder(folder: str, fresh_confab: ConfabServer, shared_reference: Path):
    folder_path = shared_reference / "captures" / folder
    scenario = Scenario(fresh_confab)
    skipped = []
    for request in read_folder(folder_path):
        if request.for_other_host:
            skipped.append(request.path.name)
        elif request.is_soap:
            scenario.replay_soap(request)
        else:
            scenario.replay_own_route(request)

    every_file = sorted(path.name for path in folder_path.glob("*.txt"))
    assert skipped == [name for name in every_file if OTHER_HOST_FILE.match(name)]
    if scenario.expects_rows:
        assert scenario.rows_checked, f"{folder} has no Retrieve of the rows"
    # A SOAP fault is an HTTP 500, which tower-http logs at ERROR whatever
    # the fault (test_known_deviations.py); any other ERROR line is a bug.
    fresh_confab.stop()
    errors = [line for line in fresh_confab.error_logs() if FAULT_RESPONSE_LOG not in line]
    assert errors == []


class Scenario:
    """The state of one folder's replay."""

    def __init__(self, server: ConfabServer):
        self.server = server
        self.replayer = Replayer(server.address)
        self.async_request_ids: set[str] = set()
        self.expects_rows = False
        self.rows_checked = False

    # -- Confab's own routes ---------------------------------------------

    def replay_own_route(self, request: CapturedRequest) -> None:
        route = request.route
        client = self.server.client
        base = self.server.base_url
        if route in ("/v2/token", "/v1/requestToken"):
            body = with_credentials(
                request.body, client.client_id, client.client_secret, client.account_id
            )
            answer = self.replayer.send(request, body)
            assert answer.status == 200, (request.name, answer.status, answer.text)
            issued = answer.json()
            if route == "/v2/token":
                read_by_clients = [
                    "access_token",
                    "expires_in",
                    "soap_instance_url",
                    "rest_instance_url",
                ]
            else:
                read_by_clients = ["accessToken", "expiresIn"]
                if "legacy=1" in request.target:
                    read_by_clients.append("legacyToken")
            missing = [key for key in read_by_clients if not issued.get(key)]
            assert not missing, (request.name, missing, issued)
            if route == "/v2/token":
                assert issued["soap_instance_url"] == f"{base}/", issued
                assert issued["rest_instance_url"] == f"{base}/", issued
                assert isinstance(issued["expires_in"], int), issued
            else:
                assert isinstance(issued["expiresIn"], int), issued
            captured = request.captured_json_answer()
            for key in TOKEN_FIELDS:
                self.replayer.learn(captured.get(key), issued.get(key))
        elif route == "/platform/v1/endpoints/soap":
            answer = self.replayer.send(request)
            assert answer.status == 200, (request.name, answer.status, answer.text)
            assert answer.json().get("url") == f"{base}/Service.asmx", answer.text
        elif route == "/etframework.wsdl":
            answer = self.replayer.send(request)
            assert answer.status == 200, (request.name, answer.status)
            check_served_wsdl(parse_xml(answer.body), base)
        elif route == "/ETFrameworkFault.xsd":
            answer = self.replayer.send(request)
            assert answer.status == 200, (request.name, answer.status)
            schema = parse_xml(answer.body)
            assert schema.tag == f"{{{XSD_NS}}}schema", schema.tag
            assert schema.get("targetNamespace") == FAULT_NS
            names = [element.get("name") for element in schema.iterfind(f"{{{XSD_NS}}}element")]
            assert "apifault" in names, names
        else:
            pytest.fail(f"{request.name}: a route this test does not know: {request.target}")

    # -- SOAP ------------------------------------------------------------

    def replay_soap(self, request: CapturedRequest) -> None:
        tokens = set(CAPTURED_TOKEN.findall(request.body.decode("utf-8")))
        unknown = tokens - self.replayer.substitutions.keys()
        assert tokens and not unknown, (
            f"{request.name}: the token it carries was not issued by a replayed "
            f"token request: {sorted(unknown) or 'no token found'}"
        )
        envelope = parse_xml(request.body)
        if untyped_objects(envelope):
            self.expect_untyped_objects_fault(request)
            return
        object_type = envelope.findtext(
            f".//{{{PARTNER_NS}}}RetrieveRequest/{{{PARTNER_NS}}}ObjectType"
        )
        if object_type == "ResultItem":
            self.check_result_items(request, envelope)
        elif object_type and object_type.startswith("DataExtensionObject["):
            self.check_rows(request)
        else:
            self.replay_call(request, envelope)

    def send_soap(self, request: CapturedRequest) -> etree._Element:
        """Sends a SOAP request and checks the answer is what every client can
        read; returns the response element."""
        answer = self.replayer.send(request)
        assert answer.status == 200, (request.name, answer.status, answer.text)
        assert answer.headers.get("content-type", "").startswith("text/xml"), answer.headers
        assert_client_readable_envelope(answer.text)
        action = request.header("soapaction").strip('"')
        element_name, child_order = RESPONSE_ELEMENTS[action]
        response = soap_body_child(answer.body)
        assert_unprefixed_partner_element(response, element_name)
        assert re.search(rf'<{element_name} xmlns="{re.escape(PARTNER_NS)}"[ >]', answer.text), (
            f"{request.name}: {element_name} is not written unprefixed:\n{answer.text[:400]}"
        )
        order = "".join(f"{etree.QName(child).localname}," for child in response)
        assert child_order.match(order), (request.name, order)
        assert child_text(response, "OverallStatus") == "OK", (request.name, answer.text)
        return response

    def replay_call(self, request: CapturedRequest, envelope: etree._Element) -> None:
        response = self.send_soap(request)
        results = children_named(response, "Results")
        objects = envelope.findall(f".//{{{PARTNER_NS}}}Objects")
        assert len(results) == len(objects), (request.name, len(results), len(objects))
        for result in results:
            assert child_text(result, "StatusCode") == "OK", (request.name, etree.tostring(result))
        request_id = child_text(response, "RequestID")
        assert request_id, request.name
        captured_answer = soap_body_child(request.captured_answer_body)
        self.replayer.learn(child_text(captured_answer, "RequestID"), request_id)

        if is_asynchronous(envelope):
            self.async_request_ids.add(request_id.lower())
            conversation_id = envelope.findtext(f".//{{{PARTNER_NS}}}ConversationID")
            for result in results:
                assert child_text(result, "RequestID") == request_id, request.name
                assert child_text(result, "RequestType") == "Asynchronous", request.name
                if conversation_id:
                    assert child_text(result, "ConversationID") == conversation_id
        if any(obj.get(f"{{{XSI_NS}}}type", "").endswith("DataExtensionObject") for obj in objects):
            self.expects_rows = True

    def check_result_items(self, request: CapturedRequest, envelope: etree._Element) -> None:
        """Replays the Retrieve of part 1's ResultItem until Confab has
        processed the conversation (a synchronous call has none to wait for)."""
        filtered = envelope.findtext(f".//{{{PARTNER_NS}}}Filter/{{{PARTNER_NS}}}Value") or ""
        filtered = self.replayer.substitute(filtered).lower()
        if filtered not in self.async_request_ids:
            self.send_soap(request)
            return

        def processed_items():
            items = children_named(self.send_soap(request), "Results")
            return items or None

        items = poll(processed_items, f"{request.name}: the ResultItem of {filtered}")
        for item in items:
            assert child_text(item, "StatusCode") == "OK", etree.tostring(item)
            assert (child_text(item, "RequestID") or "").lower() == filtered
            assert item.get(f"{{{XSI_NS}}}type", "").endswith("ResultItem"), etree.tostring(item)

    def check_rows(self, request: CapturedRequest) -> None:
        last_seen = {}

        def rows_in_place():
            rows = {}
            for result in children_named(self.send_soap(request), "Results"):
                values = row_properties(result)
                rows[values.get("OrderKey")] = values.get("Status")
            last_seen["rows"] = rows
            return rows if rows == EXPECTED_ROWS else None

        try:
            poll(rows_in_place, f"{request.name}: the rows {EXPECTED_ROWS}")
        except AssertionError as error:
            raise AssertionError(f"{error}; last seen: {last_seen.get('rows')}") from None
        self.rows_checked = True

    def expect_untyped_objects_fault(self, request: CapturedRequest) -> None:
        answer: Answer = self.replayer.send(request)
        assert answer.status == 500, (request.name, answer.status, answer.text)
        assert_client_readable_envelope(answer.text)
        fault = soap_body_child(answer.body)
        assert fault.tag == f"{{{SOAP_ENV_NS}}}Fault", answer.text
        assert fault.findtext("faultcode", "").endswith("Client"), answer.text
        assert "no xsi:type" in fault.findtext("faultstring", ""), answer.text


def untyped_objects(envelope: etree._Element) -> list[etree._Element]:
    return [
        obj
        for obj in envelope.iter(f"{{{PARTNER_NS}}}Objects")
        if obj.get(f"{{{XSI_NS}}}type") is None
    ]


def is_asynchronous(envelope: etree._Element) -> bool:
    return (
        envelope.findtext(f".//{{{PARTNER_NS}}}Options/{{{PARTNER_NS}}}RequestType")
        == "Asynchronous"
    )


def check_served_wsdl(wsdl: etree._Element, base: str) -> None:
    """Confab's WSDL points at Confab: its service address and the fault
    schema it imports (README item 20), so suds never reaches the internet."""
    assert wsdl.tag == f"{{{WSDL_NS}}}definitions", wsdl.tag
    assert wsdl.get("targetNamespace") == PARTNER_NS
    addresses = [a.get("location") for a in wsdl.iter(f"{{{WSDL_SOAP_NS}}}address")]
    assert addresses == [f"{base}/Service.asmx"], addresses
    imports = [i.get("schemaLocation") for i in wsdl.iter(f"{{{XSD_NS}}}import")]
    assert f"{base}/ETFrameworkFault.xsd" in imports, imports
    remote = [
        value
        for node in wsdl.iter()
        if isinstance(node.tag, str)
        for value in (node.get("location"), node.get("schemaLocation"))
        if value and "exacttarget.com" in value
    ]
    assert remote == [], remote


def test_fuelsdk_node_hidden_calls_are_answered_by_confab(
    fresh_confab: ConfabServer, shared_reference: Path
):
    """fuelsdk-node also fetches a legacy token from auth.exacttargetapis.com
    and discovers the SOAP endpoint at www.exacttargetapis.com with the token
    in the query string (README item 19). The folder's replay skips those
    requests, since they went to Marketing Cloud's hosts; sent to Confab
    (only `Host` differs), its own routes must answer them."""
    scenario = Scenario(fresh_confab)
    requests_sent = []
    for request in read_folder(shared_reference / "captures" / "fuelsdk-node"):
        if request.for_other_host and request.method != "CONNECT":
            scenario.replay_own_route(request)
            requests_sent.append(request.route)
    assert "/platform/v1/endpoints/soap" in requests_sent, requests_sent
    assert "/v1/requestToken" in requests_sent, requests_sent


def test_capture_files_frame_their_bodies_exactly(shared_reference: Path):
    """The replay relies on Content-Length framing the body in each file; a
    file whose body does not end where its length says would be replayed
    wrongly."""
    for path in sorted((shared_reference / "captures").glob("*/*.txt")):
        request = read_capture(path)
        if request.body:
            after = path.read_bytes().split(request.body, 1)[1]
            assert after.startswith(b"\n\n"), path
