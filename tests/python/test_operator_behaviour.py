"""Operator-facing behaviour found wrong once and fixed: a caller's mistake
must not log at ERROR, and the WSDL answers HEAD with Last-Modified the way
FuelSDK-Python checks for a newer copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from captures import Replayer, read_folder
from confab_support import HTTP_TIMEOUT_S, ConfabServer


def test_a_callers_mistake_is_not_logged_as_an_error(
    fresh_confab: ConfabServer, shared_reference: Path
):
    # A token Confab never issued: the answer is the security fault
    # "Login failed".
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soap:Header><fueloauth xmlns="http://exacttarget.com">not-a-token</fueloauth>'
        "</soap:Header><soap:Body>"
        '<VersionInfoRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">'
        "<IncludeVersionHistory>false</IncludeVersionHistory></VersionInfoRequestMsg>"
        "</soap:Body></soap:Envelope>"
    )
    answer = requests.post(
        fresh_confab.soap_url,
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "VersionInfo"},
        timeout=HTTP_TIMEOUT_S,
    )
    assert answer.status_code == 500, answer.text
    assert "Login failed" in answer.text, answer.text

    # sfmc-sdk's create() given an array: objects without xsi:type.
    replayer = Replayer(fresh_confab.address)
    token = fresh_confab.oauth2_token()["access_token"]
    for request in read_folder(shared_reference / "captures" / "sfmc-sdk-array-probe"):
        if request.route == "/v2/token":
            replayer.learn(request.captured_json_answer()["access_token"], token)
        elif request.is_soap:
            assert replayer.send(request).status == 500

    fresh_confab.stop()
    assert fresh_confab.error_logs() == []


def test_the_wsdl_answers_head(confab: ConfabServer):
    answer = requests.head(f"{confab.base_url}/etframework.wsdl", timeout=HTTP_TIMEOUT_S)
    assert answer.status_code == 200
