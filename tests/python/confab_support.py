"""Helpers shared by the Python tests: running the real `confab` binary,
getting tokens from it, and reading its SOAP answers.

Nothing here fakes Confab: every test talks to the binary over HTTP on the
loopback interface, exactly as a client library would.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import requests
from lxml import etree

REPO_ROOT = Path(__file__).resolve().parents[2]

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "http://exacttarget.com/wsdl/partnerAPI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
FAULT_NS = "urn:fault.partner.exacttarget.com"

# How long the server may take to say it listens, and a request to answer.
STARTUP_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 15.0

# How long a test waits for queued work to finish. Confab runs with a 20 ms
# poll interval here, so results normally appear within a few hundred ms.
RESULT_DEADLINE_S = 15.0
POLL_PAUSE_S = 0.05

T = TypeVar("T")


def confab_binary() -> Path:
    """The binary under test: `$CONFAB_BIN`, else `target/debug/confab`."""
    configured = os.environ.get("CONFAB_BIN")
    path = Path(configured) if configured else REPO_ROOT / "target" / "debug" / "confab"
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def shared_reference_dir() -> Path:
    """`../shared/reference` beside the repository (CI lays the clone out so)."""
    return REPO_ROOT.parent / "shared" / "reference"


@dataclass(frozen=True)
class ApiClient:
    """An API client as `confab clients create` prints it."""

    client_id: str
    client_secret: str
    account_id: int


@dataclass
class ConfabServer:
    """One `confab serve` process on its own data directory.

    The server listens on a port the kernel picks; its JSON log line
    `confab is listening` says which. A thread keeps reading stderr for the
    whole life of the process so the pipe never fills; the lines are kept
    for failure messages.
    """

    binary: Path
    data_dir: Path
    client: ApiClient
    address: str = ""
    extra_args: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    _process: subprocess.Popen | None = None
    _log_reader: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, without a trailing slash."""
        return f"http://{self.address}"

    @property
    def soap_url(self) -> str:
        return f"{self.base_url}/Service.asmx"

    def start(self) -> None:
        command = [
            str(self.binary),
            "--data-dir",
            str(self.data_dir),
            "--log-format",
            "json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--poll-interval-ms",
            "20",
            *self.extra_args,
        ]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        addresses: queue.Queue[str] = queue.Queue()
        self._log_reader = threading.Thread(
            target=self._drain_stderr, args=(addresses,), daemon=True
        )
        self._log_reader.start()
        try:
            self.address = addresses.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            self.stop()
            raise RuntimeError(
                "confab did not log 'confab is listening' within "
                f"{STARTUP_TIMEOUT_S}s; its log:\n{self.log_text()}"
            ) from None

    def _drain_stderr(self, addresses: queue.Queue[str]) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            self.logs.append(line.rstrip("\n"))
            try:
                fields = json.loads(line).get("fields", {})
            except (json.JSONDecodeError, AttributeError):
                continue
            if fields.get("message") == "confab is listening":
                addresses.put(fields["address"])

    def stop(self) -> None:
        """Stops the server and waits until its whole log has been read."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log_reader is not None:
            self._log_reader.join(timeout=10)

    def log_text(self, last: int = 40) -> str:
        return "\n".join(self.logs[-last:])

    def error_logs(self) -> list[str]:
        """Log lines at ERROR level: Confab logs store failures there."""
        return [line for line in self.logs if '"level":"ERROR"' in line]

    # -- tokens ---------------------------------------------------------

    def oauth2_token(self) -> dict:
        """`POST /v2/token` with the client credentials; the JSON answer."""
        response = requests.post(
            f"{self.base_url}/v2/token",
            json={
                "grant_type": "client_credentials",
                "client_id": self.client.client_id,
                "client_secret": self.client.client_secret,
            },
            timeout=HTTP_TIMEOUT_S,
        )
        response.raise_for_status()
        return response.json()


def run_cli(binary: Path, data_dir: Path, *arguments: str) -> dict:
    """Runs a `confab` management command and parses the JSON it prints."""
    completed = subprocess.run(
        [str(binary), "--data-dir", str(data_dir), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"confab {' '.join(arguments)} failed ({completed.returncode}):\n{completed.stderr}"
        )
    return json.loads(completed.stdout)


def start_server(
    binary: Path, data_dir: Path, extra_args: tuple[str, ...] = ()
) -> ConfabServer:
    """Creates an API client in a fresh data directory and serves it with
    `extra_args` added to `serve`."""
    created = run_cli(binary, data_dir, "clients", "create")
    client = ApiClient(
        client_id=created["client_id"],
        client_secret=created["client_secret"],
        account_id=int(created["account_id"]),
    )
    server = ConfabServer(
        binary=binary, data_dir=data_dir, client=client, extra_args=list(extra_args)
    )
    server.start()
    return server


class ServerPool:
    """Starts servers on demand, each on its own temporary data directory,
    and stops them all at the end."""

    def __init__(self, binary: Path):
        self._binary = binary
        self._servers: list[ConfabServer] = []
        self._root = Path(tempfile.mkdtemp(prefix="confab-pytest-"))

    def start(self, extra_args: tuple[str, ...] = ()) -> ConfabServer:
        data_dir = self._root / f"data-{len(self._servers)}"
        server = start_server(self._binary, data_dir, extra_args)
        self._servers.append(server)
        return server

    def close(self) -> None:
        for server in self._servers:
            server.stop()
        shutil.rmtree(self._root, ignore_errors=True)


def poll(
    probe: Callable[[], T | None],
    what: str,
    deadline_s: float = RESULT_DEADLINE_S,
) -> T:
    """Calls `probe` until it returns something other than None, or fails
    the test after `deadline_s` saying what was awaited."""
    deadline = time.monotonic() + deadline_s
    while True:
        outcome = probe()
        if outcome is not None:
            return outcome
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {deadline_s}s waiting for {what}")
        time.sleep(POLL_PAUSE_S)


# -- reading SOAP answers ---------------------------------------------------


def parse_xml(body: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(body, parser)


def soap_body_child(body: bytes) -> etree._Element:
    """The single element inside `soap:Body` of an answer."""
    envelope = parse_xml(body)
    assert envelope.tag == f"{{{SOAP_ENV_NS}}}Envelope", envelope.tag
    soap_body = envelope.find(f"{{{SOAP_ENV_NS}}}Body")
    assert soap_body is not None, "the answer has no soap:Body"
    children = list(soap_body)
    assert len(children) == 1, f"soap:Body holds {len(children)} elements"
    return children[0]


def assert_client_readable_envelope(text: str) -> None:
    """The literal spellings xml2js-based clients look up (README item 17):
    `soap:Envelope` and `soap:Body` with `soap` bound to SOAP 1.1."""
    assert re.search(
        r'<soap:Envelope\b[^>]*\bxmlns:soap="http://schemas\.xmlsoap\.org/soap/envelope/"',
        text,
    ), f"no literal soap:Envelope binding soap to SOAP 1.1 in:\n{text[:600]}"
    assert "<soap:Body>" in text or "<soap:Body " in text, (
        f"no literal <soap:Body> in:\n{text[:600]}"
    )


def assert_unprefixed_partner_element(element: etree._Element, local_name: str) -> None:
    """`element` is `local_name` in the partnerAPI namespace, written with no
    prefix, and so is every partnerAPI element inside it (README item 17:
    sfmc-sdk and fuelsdk-node look elements up by their literal names)."""
    assert element.tag == f"{{{PARTNER_NS}}}{local_name}", (
        f"expected {local_name} in {PARTNER_NS}, got {element.tag}"
    )
    for node in element.iter():
        if not isinstance(node.tag, str):
            continue  # comments, processing instructions
        if node.tag.startswith(f"{{{PARTNER_NS}}}"):
            assert node.prefix is None, (
                f"<{node.prefix}:{etree.QName(node).localname}> is prefixed; "
                "partnerAPI elements in answers must use the default namespace"
            )


def child_text(element: etree._Element, local_name: str) -> str | None:
    found = element.find(f"{{{PARTNER_NS}}}{local_name}")
    return None if found is None else (found.text or "")


def children_named(element: etree._Element, local_name: str) -> list[etree._Element]:
    return element.findall(f"{{{PARTNER_NS}}}{local_name}")


def row_properties(result: etree._Element) -> dict[str, str]:
    """`{Name: Value}` of a `DataExtensionObject` result's Properties."""
    properties = {}
    for prop in result.iterfind(f"{{{PARTNER_NS}}}Properties/{{{PARTNER_NS}}}Property"):
        properties[child_text(prop, "Name") or ""] = child_text(prop, "Value") or ""
    return properties
