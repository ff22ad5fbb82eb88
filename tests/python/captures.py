"""Reading the capture files under `shared/reference/captures/` and sending
their requests again, byte for byte, to a Confab server.

A capture file records one HTTP request a real client sent: a request line,
the headers as sent, a blank line, then exactly `Content-Length` bytes of
body; after that come a re-indented copy of the body and the answer of the
stand-in server the capture ran against (`<<< RESPONSE`), which shows what
the client accepted.

Only what must differ is changed on replay: the `Host` header (the port),
`Content-Length` (recomputed), and values the stand-in issued that the
client echoed back later (tokens, RequestIDs), which are swapped for the
ones Confab issued when the earlier request was replayed.
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from confab_support import HTTP_TIMEOUT_S

REQUEST_MARK = b">>> REQUEST\n"
RESPONSE_MARK = b"<<< RESPONSE"

# The client credentials every capture run used (see the captures' README).
CAPTURED_CLIENT_ID = "scenario-client-id"
CAPTURED_CLIENT_SECRET = "scenario-client-secret"

# Token fields of the JSON answers of /v2/token and /v1/requestToken.
TOKEN_FIELDS = ("access_token", "accessToken", "legacyToken")


@dataclass
class CapturedRequest:
    """One request of a capture file, as sent."""

    path: Path
    notes: list[str]
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    captured_answer_body: bytes

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def for_other_host(self) -> bool:
        """A proxy tunnel (`CONNECT`), or a request the capture received
        inside one: meant for a Marketing Cloud host, not for the server."""
        inside_tunnel = any("inside an intercepted TLS tunnel" in note for note in self.notes)
        return self.method == "CONNECT" or inside_tunnel

    @property
    def route(self) -> str:
        return urlsplit(self.target).path

    @property
    def is_soap(self) -> bool:
        return self.method == "POST" and self.route in ("/Service.asmx", "/service.asmx")

    def captured_json_answer(self) -> dict:
        try:
            return json.loads(self.captured_answer_body)
        except ValueError:
            return {}


def read_capture(path: Path) -> CapturedRequest:
    data = path.read_bytes()
    start = data.index(REQUEST_MARK) + len(REQUEST_MARK)
    notes = [line.decode("utf-8") for line in data[:start].split(b"\n") if line.startswith(b"#")]
    head, _, rest = data[start:].partition(b"\n\n")
    request_line, *header_lines = head.decode("utf-8").split("\n")
    method, target, _version = request_line.split(" ")
    headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    length = 0
    for name, value in headers:
        if name.lower() == "content-length":
            length = int(value)
    body = rest[:length]

    answer = b""
    if RESPONSE_MARK in rest:
        # The mark's line, then the status line and headers, a blank line,
        # the body.
        response = rest[rest.index(RESPONSE_MARK) :]
        _head, _, answer = response.partition(b"\n\n")
    return CapturedRequest(path, notes, method, target, headers, body, answer.strip())


def read_folder(folder: Path) -> list[CapturedRequest]:
    return [read_capture(path) for path in sorted(folder.glob("*.txt"))]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Replayer:
    """Replays the requests of one folder against one server, keeping the
    map from values the stand-in issued to the values Confab issued."""

    address: str
    substitutions: dict[str, str] = field(default_factory=dict)

    def substitute(self, text: str) -> str:
        for captured, fresh in self.substitutions.items():
            text = text.replace(captured, fresh)
        return text

    def prepare(self, request: CapturedRequest, body: bytes) -> tuple[str, list, bytes]:
        """The target, headers and body to send for `request`."""
        body = self.substitute(body.decode("utf-8")).encode("utf-8")
        target = self.substitute(request.target)
        headers = []
        for name, value in request.headers:
            if name.lower() == "host":
                value = self.address
            elif name.lower() == "content-length":
                value = str(len(body))
            else:
                value = self.substitute(value)
            headers.append((name, value))
        return target, headers, body

    def send(self, request: CapturedRequest, body: bytes | None = None) -> Answer:
        """Sends `request` (with `body` instead of the captured one, if given)
        with the captured header names, spelling and order."""
        target, headers, payload = self.prepare(request, request.body if body is None else body)
        connection = http.client.HTTPConnection(self.address, timeout=HTTP_TIMEOUT_S)
        try:
            connection.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders(payload or None)
            response = connection.getresponse()
            answer_body = response.read()
            answer_headers = {key.lower(): value for key, value in response.getheaders()}
        finally:
            connection.close()
        if answer_headers.get("content-encoding") == "gzip":
            answer_body = gzip.decompress(answer_body)
        return Answer(response.status, answer_headers, answer_body)

    def learn(self, captured: str | None, fresh: str | None) -> None:
        """Remembers that the stand-in issued `captured` where Confab issued
        `fresh`, so later requests echo Confab's value."""
        if captured and fresh and captured != fresh:
            self.substitutions[captured] = fresh


def with_credentials(body: bytes, client_id: str, client_secret: str, account_id: int) -> bytes:
    """A token request body with the server's client credentials in place of
    the captured ones, keeping its JSON spelling."""
    text = body.decode("utf-8")
    text = text.replace(CAPTURED_CLIENT_ID, client_id)
    text = text.replace(CAPTURED_CLIENT_SECRET, client_secret)
    text = re.sub(
        r'("account_id"\s*:\s*)"\d+"', lambda match: f'{match.group(1)}"{account_id}"', text
    )
    text = re.sub(r'("account_id"\s*:\s*)\d+', lambda match: f"{match.group(1)}{account_id}", text)
    return text.encode("utf-8")
