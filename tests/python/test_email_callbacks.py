"""E-mail callbacks against a real SMTP server on loopback (aiosmtpd): the
message goes to the address `SendResponseTo` names, says what happened, and
with `IncludeResults` carries `results.zip` holding `results.xml` with the
results. Without a relay, an e-mail callback is kept as a dead letter that
says why.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import io
import socket
import ssl
import time
import zipfile
from dataclasses import dataclass, field

import pytest
import requests
import trustme
from aiosmtpd.controller import Controller
from lxml import etree

from confab_support import (
    HTTP_TIMEOUT_S,
    PARTNER_NS,
    XSI_NS,
    ConfabServer,
    ServerPool,
    child_text,
    poll,
    run_cli,
    soap_body_child,
)

RECIPIENT = "results@example.test"


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    envelopes: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_relay():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def mailing_confab(server_pool: ServerPool, smtp_relay, request: pytest.FixtureRequest):
    controller, _ = smtp_relay
    relay = f"{controller.hostname}:{controller.port}"
    server = server_pool.start(
        ("--smtp-relay", relay, "--smtp-tls", "none", "--smtp-from", "confab@example.test")
    )
    yield server
    server.stop()
    request.node.add_report_section("teardown", "confab log", server.log_text(80))


def soap(server: ConfabServer, action: str, body: str) -> etree._Element:
    """Posts `body` in a SOAP 1.1 envelope with a fresh token and returns
    the body's response element."""
    token = server.oauth2_token()["access_token"]
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:xsi="{XSI_NS}">'
        f'<soap:Header><fueloauth xmlns="http://exacttarget.com">{token}</fueloauth>'
        f"</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
    answer = requests.post(
        server.soap_url,
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action},
        timeout=HTTP_TIMEOUT_S,
    )
    assert answer.status_code == 200, answer.text
    return soap_body_child(answer.content)


def create_log(server: ConfabServer) -> None:
    soap(
        server,
        "Create",
        f'<CreateRequest xmlns="{PARTNER_NS}"><Options/>'
        '<Objects xsi:type="DataExtension"><CustomerKey>Log</CustomerKey><Name>Log</Name>'
        "<Fields><Field><Name>Id</Name><FieldType>Text</FieldType>"
        "<MaxLength>50</MaxLength><IsPrimaryKey>true</IsPrimaryKey></Field></Fields>"
        "</Objects></CreateRequest>",
    )


def queue_row(server: ConfabServer, row_id: str, include_results: bool, key: str = "Log") -> str:
    """Queues a Create of a row of the data extension `key` (XML-escaped
    already; `Log` by default) with an e-mail callback; its RequestID."""
    response = soap(
        server,
        "Create",
        f'<CreateRequest xmlns="{PARTNER_NS}"><Options>'
        "<RequestType>Asynchronous</RequestType>"
        "<SendResponseTo><ResponseType>email</ResponseType>"
        f"<ResponseAddress>{RECIPIENT}</ResponseAddress>"
        "<RespondWhen>OnCallComplete</RespondWhen>"
        f"<IncludeResults>{str(include_results).lower()}</IncludeResults>"
        "</SendResponseTo></Options>"
        f'<Objects xsi:type="DataExtensionObject"><CustomerKey>{key}</CustomerKey>'
        f"<Properties><Property><Name>Id</Name><Value>{row_id}</Value></Property>"
        "</Properties></Objects></CreateRequest>",
    )
    assert child_text(response, "OverallStatus") == "OK", etree.tostring(response)
    request_id = child_text(response, "RequestID")
    assert request_id
    return request_id


def dead_letters(server: ConfabServer) -> list | None:
    """The server's dead letters, or None while there are none."""
    dead = run_cli(server.binary, server.data_dir, "deliveries", "list", "--dead")
    return dead or None


def test_an_email_callback_carries_the_results_as_a_zip(mailing_confab, smtp_relay):
    _, inbox = smtp_relay
    create_log(mailing_confab)
    request_id = queue_row(mailing_confab, "1", include_results=True)

    envelope = poll(lambda: inbox.envelopes[0] if inbox.envelopes else None, "the e-mail")
    assert envelope.rcpt_tos == [RECIPIENT]
    assert envelope.mail_from == "confab@example.test"
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["To"] == RECIPIENT
    assert request_id in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"RequestID: {request_id}" in text
    assert "StatusCode: OK" in text

    attachments = list(message.iter_attachments())
    assert [part.get_filename() for part in attachments] == ["results.zip"]
    zipped = attachments[0].get_content()
    digest = base64.b64encode(hashlib.sha256(zipped).digest()).decode()
    assert f"ResultsSHA256: {digest}" in text
    assert_signed(mailing_confab, message, text)

    archive = zipfile.ZipFile(io.BytesIO(zipped))
    assert archive.namelist() == ["results.xml"]
    results = etree.fromstring(archive.read("results.xml"))
    assert etree.QName(results).localname == "Results"
    result = results.find(f"{{{PARTNER_NS}}}Result")
    assert child_text(result, "StatusCode") == "OK"
    assert child_text(result, "RequestID") == request_id


def assert_signed(server: ConfabServer, message, text: str) -> None:
    """Asserts that `message` carries the Standard Webhooks headers, signed
    over its text (line endings as `\\n`) with the account's secret."""
    key, signed = assert_signature_verifies(server, message, text)
    forged = signed.replace(b"StatusCode: OK", b"StatusCode: Error")
    assert forged != signed
    forged_signature = hmac.new(key, forged, hashlib.sha256).digest()
    assert message["Webhook-Signature"] != "v1," + base64.b64encode(forged_signature).decode()


def assert_signature_verifies(server: ConfabServer, message, text: str) -> tuple[bytes, bytes]:
    """Checks `message`'s signature as the README tells a receiver to; the
    key and the signed bytes."""
    answer = run_cli(
        server.binary,
        server.data_dir,
        "accounts",
        "webhook-secret",
        "--account",
        str(server.client.account_id),
    )
    key = base64.b64decode(answer["webhook_secret"].removeprefix("whsec_"))
    webhook_id, timestamp = message["Webhook-Id"], message["Webhook-Timestamp"]
    assert webhook_id and abs(time.time() - int(timestamp)) < 300
    signed = f"{webhook_id}.{timestamp}.".encode() + text.replace("\r\n", "\n").encode()
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert message["Webhook-Signature"] == expected
    return key, signed


def test_an_email_callback_without_results_has_no_attachment(mailing_confab, smtp_relay):
    _, inbox = smtp_relay
    create_log(mailing_confab)
    request_id = queue_row(mailing_confab, "2", include_results=False)

    envelope = poll(lambda: inbox.envelopes[0] if inbox.envelopes else None, "the e-mail")
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert request_id in message["Subject"]
    assert list(message.iter_attachments()) == []
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "ResultsSHA256" not in text
    assert_signed(mailing_confab, message, text)


def test_an_email_callback_without_a_relay_is_a_dead_letter(server_pool: ServerPool):
    server = server_pool.start()
    create_log(server)
    request_id = queue_row(server, "3", include_results=True)

    dead = poll(lambda: dead_letters(server), "the dead letter")
    assert dead[0]["request_id"] == request_id
    assert dead[0]["channel"] == "email"
    assert "no SMTP relay" in dead[0]["last_error"]


class Refusing(Inbox):
    """An aiosmtpd handler that refuses every recipient for good."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        return "550 5.1.1 No such user"


def test_an_email_the_relay_refuses_for_good_is_a_dead_letter_at_once(server_pool: ServerPool):
    # Regression: a 550 was retried for a day, as if it could pass later.
    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    relay = f"{controller.hostname}:{controller.port}"
    server = server_pool.start(("--smtp-relay", relay, "--smtp-tls", "none"))
    try:
        create_log(server)
        request_id = queue_row(server, "4", include_results=False)

        dead = poll(lambda: dead_letters(server), "the dead letter")
        assert dead[0]["request_id"] == request_id
        assert dead[0]["attempts"] == 1
        assert "550" in dead[0]["last_error"]
    finally:
        server.stop()
        controller.stop()


@dataclass
class TlsInbox(Inbox):
    """An inbox that also notes whether each message came over TLS."""

    over_tls: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.over_tls.append(session.ssl is not None)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def starttls_relay(tmp_path):
    """A relay that refuses mail until STARTTLS, with a certificate that a
    private authority issued; yields it, its inbox and the authority's PEM
    file."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    inbox = TlsInbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
    )
    controller.start()
    ca_file = tmp_path / "relay-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    yield controller, inbox, ca_file
    controller.stop()


def test_an_email_goes_over_starttls_to_a_relay_a_private_authority_vouches_for(
    server_pool: ServerPool, starttls_relay
):
    controller, inbox, ca_file = starttls_relay
    relay = f"{controller.hostname}:{controller.port}"
    server = server_pool.start(("--smtp-relay", relay, "--smtp-ca-file", str(ca_file)))
    try:
        create_log(server)
        request_id = queue_row(server, "5", include_results=False)

        envelope = poll(lambda: inbox.envelopes[0] if inbox.envelopes else None, "the e-mail")
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert request_id in message["Subject"]
        assert inbox.over_tls == [True]
    finally:
        server.stop()


def test_a_relay_whose_certificate_is_not_trusted_gets_nothing(
    server_pool: ServerPool, starttls_relay
):
    controller, inbox, _ = starttls_relay
    relay = f"{controller.hostname}:{controller.port}"
    server = server_pool.start(("--smtp-relay", relay))
    try:
        create_log(server)
        request_id = queue_row(server, "6", include_results=False)

        def failed_attempt():
            listed = run_cli(server.binary, server.data_dir, "deliveries", "list")
            failed = [d for d in listed if d["request_id"] == request_id and d["last_error"]]
            return failed or None

        failed = poll(failed_attempt, "a failed attempt")
        assert failed[0]["state"] == "Pending", failed
        assert "certificate" in failed[0]["last_error"].lower(), failed
        assert inbox.envelopes == []
    finally:
        server.stop()


@pytest.mark.parametrize(
    "key",
    [
        # Non-ASCII: lettre sends the text quoted-printable or base64.
        "Bestellungen-\u00e4\u00f6\u00fc",
        # A line longer than 76 characters: quoted-printable.
        "K" * 120,
        # A line break of the client's own inside a value.
        "Two&#13;&#10;Lines",
        "Two&#10;Lines",
        "Lone&#13;Return",
    ],
    ids=["non-ascii", "long-line", "crlf", "lf", "cr"],
)
def test_an_email_callback_verifies_whatever_its_text_holds(mailing_confab, smtp_relay, key):
    # The request fails with "data extension {key} does not exist", so the
    # client's key is in the signed StatusMessage line.
    _, inbox = smtp_relay
    request_id = queue_row(mailing_confab, "1", include_results=False, key=key)
    envelope = poll(lambda: inbox.envelopes[0] if inbox.envelopes else None, "the e-mail")
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert request_id in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert_signature_verifies(mailing_confab, message, text)
    lines = text.replace("\r\n", "\n").split("\n")
    assert f"RequestID: {request_id}" in lines
    assert [line for line in lines if line.startswith("StatusMessage: ")] == [
        next(line for line in lines if "does not exist" in line)
    ], "the client's value stays on its field's line"
