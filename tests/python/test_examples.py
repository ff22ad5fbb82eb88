"""`examples/send.sh` and the envelopes it sends, run against a fresh server,
so that the examples in the repository keep working.

The script's output is only a convenience for people; the test checks the
outcome by reading the rows from Confab itself, with the example's own
Retrieve envelope.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from confab_support import (
    HTTP_TIMEOUT_S,
    REPO_ROOT,
    ConfabServer,
    child_text,
    children_named,
    row_properties,
    soap_body_child,
)

EXAMPLES_DIR = REPO_ROOT / "examples"
SEND_SCRIPT = EXAMPLES_DIR / "send.sh"


def run_send_script(arguments: list[str], environment: dict[str, str]):
    # The script calls `python3` a dozen times; the test's own interpreter
    # comes first on PATH because a version manager's shim (pyenv) can cost
    # half a second per call.
    interpreter_dir = str(Path(sys.executable).parent)
    path = os.pathsep.join([interpreter_dir, os.environ.get("PATH", "")])
    return subprocess.run(
        ["bash", str(SEND_SCRIPT), *arguments],
        env={**os.environ, "PATH": path, **environment},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_send_script_runs_the_conversation_out_of_order(fresh_confab: ConfabServer):
    # The URL as an argument, the credentials from the environment.
    completed = run_send_script(
        [fresh_confab.base_url],
        {
            "CONFAB_CLIENT_ID": fresh_confab.client.client_id,
            "CONFAB_CLIENT_SECRET": fresh_confab.client.client_secret,
        },
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    sent = [line for line in completed.stdout.splitlines() if line.startswith("== 0")]
    assert [line.split()[1] for line in sent] == [
        "01-create-data-extension.xml",
        "02-conversation-part-3.xml",
        "02-conversation-part-1.xml",
        "02-conversation-part-2.xml",
        "03-retrieve-result-items.xml",
        "04-retrieve-rows.xml",
    ]
    assert all(line.endswith("HTTP 200") for line in sent), sent

    envelope = (EXAMPLES_DIR / "04-retrieve-rows.xml").read_text()
    token = fresh_confab.oauth2_token()["access_token"]
    answer = requests.post(
        fresh_confab.soap_url,
        data=envelope.replace("TOKEN", token).encode("utf-8"),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Retrieve"'},
        timeout=HTTP_TIMEOUT_S,
    )
    assert answer.status_code == 200, answer.text
    response = soap_body_child(answer.content)
    assert child_text(response, "OverallStatus") == "OK", answer.text
    rows = {}
    for result in children_named(response, "Results"):
        values = row_properties(result)
        rows[values.pop("OrderKey")] = values
    assert rows == {
        "O-1": {"Status": "SHIPPED", "Amount": "19.99", "OrderDate": "5/1/2024 12:00:00 AM"},
        "O-2": {"Status": "NEW", "Amount": "5.00", "OrderDate": "5/2/2024 12:00:00 AM"},
        "O-3": {"Status": "NEW", "Amount": "42.50", "OrderDate": "5/3/2024 12:00:00 AM"},
    }


def test_send_script_without_credentials_explains_its_usage():
    completed = run_send_script([], {"CONFAB_CLIENT_ID": "", "CONFAB_CLIENT_SECRET": ""})
    assert completed.returncode == 2
    assert "usage:" in completed.stderr


def test_every_example_envelope_has_the_token_placeholder():
    envelopes = sorted(EXAMPLES_DIR.glob("*.xml"))
    assert [path.name for path in envelopes] == [
        "01-create-data-extension.xml",
        "02-conversation-part-1.xml",
        "02-conversation-part-2.xml",
        "02-conversation-part-3.xml",
        "03-retrieve-result-items.xml",
        "04-retrieve-rows.xml",
    ]
    for path in envelopes:
        assert ">TOKEN</fueloauth>" in path.read_text(), path.name
