"""Real client libraries, installed from their registries and not modified,
run against Confab.

* FuelSDK-Python (`Salesforce-FuelSDK` 1.3.0 on PyPI), in its OAuth2 mode
  and in its legacy login mode, through its own objects
  (`ET_DataExtension`, `ET_DataExtension_Row`, `ET_Get`) and through the
  suds client it exposes as `soap_client`, which is how its users send
  asynchronous options.
* sfmc-sdk (npm, 2.1.2), through a small node script in `clients/sfmc-sdk/`,
  installed with `npm ci` from the lock file there. Its constructor only
  accepts a production-shaped `auth_url`, so the script sets the URL on the
  SDK's auth object after construction (see the script).

FuelSDK 1.3.0 pins `suds-jurko==0.6`, which no longer builds (its setup.py
uses `use_2to3`, removed from setuptools in 2021), so pip cannot install the
SDK with its dependencies. The SDK's own code needs only the `suds` module,
which `suds-community` (in requirements.txt) provides: the captures' README
(item 5) notes the same SDK run on suds-community, whose envelopes differ
from suds-jurko's only in prefixes. The test installs the SDK itself with
`--no-deps` into pytest's cache directory.

The configuration follows the capture runs (`captures/*/summary.json`): the
WSDL is downloaded from Confab (`defaultwsdl`), tokens come from
`authenticationurl`, and in legacy mode the SOAP endpoint is discovered
through `baseapiurl` + `/platform/v1/endpoints/soap`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from confab_support import ConfabServer, poll

FUELSDK_REQUIREMENT = "Salesforce-FuelSDK==1.3.0"
SFMC_SDK_DIR = Path(__file__).parent / "clients" / "sfmc-sdk"
INSTALL_TIMEOUT_S = 300


def install_dir(request: pytest.FixtureRequest, name: str) -> Path:
    """A folder in pytest's cache, kept between runs; a temporary one when
    the cache is disabled."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir(name))
    return request.getfixturevalue("tmp_path_factory").mktemp(name)


@pytest.fixture(scope="module")
def fuelsdk(request: pytest.FixtureRequest):
    """The FuelSDK package, installed once into pytest's cache."""
    target = install_dir(request, "salesforce-fuelsdk-1.3.0")
    if not (target / "FuelSDK" / "__init__.py").is_file():
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--upgrade",
                "--target",
                str(target),
                FUELSDK_REQUIREMENT,
            ],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
        if completed.returncode != 0:
            pytest.skip(
                f"pip could not install {FUELSDK_REQUIREMENT} from PyPI: "
                f"{completed.stderr.strip()[-500:]}"
            )
    sys.path.insert(0, str(target))
    import FuelSDK  # noqa: PLC0415 - importable only once installed above

    return FuelSDK


def fuelsdk_client(fuelsdk, confab: ConfabServer, workdir: Path, legacy: bool):
    """An `ET_Client` configured as the capture runs configured it."""
    base = confab.base_url
    params = {
        "clientid": confab.client.client_id,
        "clientsecret": confab.client.client_secret,
        "defaultwsdl": f"{base}/etframework.wsdl",
        "wsdl_file_local_loc": str(workdir / "ExactTargetWSDL.xml"),
        "baseapiurl": base,
    }
    if legacy:
        params["authenticationurl"] = f"{base}/v1/requestToken"
        params["useOAuth2Authentication"] = "False"
    else:
        params["authenticationurl"] = base
        params["useOAuth2Authentication"] = "True"
    return fuelsdk.ET_Client(False, False, params)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # FuelSDK reads `config.python` and writes `soap_cache_file.json` in the
    # working directory.
    monkeypatch.chdir(tmp_path)
    return tmp_path


def create_orders_extension(fuelsdk, client, name: str, key: str):
    extension = fuelsdk.ET_DataExtension()
    extension.auth_stub = client
    extension.props = {"Name": name, "CustomerKey": key}
    extension.columns = [
        {
            "Name": "OrderKey",
            "FieldType": "Text",
            "MaxLength": "50",
            "IsPrimaryKey": "true",
            "IsRequired": "true",
        },
        {"Name": "Status", "FieldType": "Text", "MaxLength": "20"},
    ]
    return extension.post()


def rows_by_order_key(results) -> dict[str, str]:
    rows = {}
    for result in results:
        values = {prop.Name: prop.Value for prop in result.Properties.Property}
        rows[values["OrderKey"]] = values["Status"]
    return rows


def assert_ok(response, what: str) -> None:
    """The SDK saw OverallStatus OK, and each result of a create or update
    says OK too."""
    assert response.status, (what, response.code, response.message, response.results)
    for result in response.results:
        if hasattr(result, "StatusCode"):
            assert result.StatusCode == "OK", (what, result)


@pytest.mark.parametrize("legacy", [False, True], ids=["oauth2", "legacy-login"])
def test_fuelsdk_objects_create_update_and_read_rows(
    fuelsdk, confab: ConfabServer, workdir: Path, legacy: bool
):
    client = fuelsdk_client(fuelsdk, confab, workdir, legacy)
    expected_path = "/Service.asmx" if legacy else "/service.asmx"
    assert client.soap_endpoint == confab.base_url + expected_path

    suffix = uuid.uuid4().hex[:8]
    # Name and CustomerKey differ on purpose: the SDK reads rows through
    # DataExtensionObject[<Name>] after looking the Name up by CustomerKey.
    name, key = f"FuelSDK Orders {suffix}", f"fuelsdk_orders_{suffix}"
    assert_ok(create_orders_extension(fuelsdk, client, name, key), "create the data extension")

    row = fuelsdk.ET_DataExtension_Row()
    row.auth_stub = client
    row.CustomerKey = key
    for values in ({"OrderKey": "O-1", "Status": "NEW"}, {"OrderKey": "O-2", "Status": "NEW"}):
        row.props = values
        assert_ok(row.post(), f"create the row {values}")
    row.props = {"OrderKey": "O-1", "Status": "SHIPPED"}
    assert_ok(row.patch(), "update O-1 by its primary key")

    reader = fuelsdk.ET_DataExtension_Row()
    reader.auth_stub = client
    reader.CustomerKey = key
    reader.props = ["OrderKey", "Status"]
    rows = reader.get()
    assert_ok(rows, "read the rows")
    assert reader.Name == name
    assert rows_by_order_key(rows.results) == {"O-1": "SHIPPED", "O-2": "NEW"}


def test_fuelsdk_suds_client_sends_a_conversation_out_of_order(
    fuelsdk, confab: ConfabServer, workdir: Path
):
    client = fuelsdk_client(fuelsdk, confab, workdir, legacy=False)
    key = f"fuelsdk_async_{uuid.uuid4().hex[:8]}"
    assert_ok(create_orders_extension(fuelsdk, client, key, key), "create the data extension")

    factory = client.soap_client.factory
    conversation_id = str(uuid.uuid4())

    def send_part(sequence: int, order_key: str, status: str):
        options = factory.create("CreateOptions")
        options.ConversationID = conversation_id
        options.SequenceCode = sequence
        options.CallsInConversation = 2
        options.RequestType = "Asynchronous"
        row = factory.create("DataExtensionObject")
        row.CustomerKey = key
        properties = []
        for name, value in (("OrderKey", order_key), ("Status", status)):
            api_property = factory.create("APIProperty")
            api_property.Name, api_property.Value = name, value
            properties.append(api_property)
        row.Properties = {"Property": properties}
        status_code, answer = client.soap_client.service.Create(options, [row])
        assert status_code == 200, answer
        assert answer.OverallStatus == "OK", answer
        assert answer.Results[0].StatusCode == "OK", answer
        assert answer.Results[0].ConversationID == conversation_id, answer
        return answer.RequestID

    part2 = send_part(2, "O-2", "SHIPPED")
    part1 = send_part(1, "O-1", "NEW")

    def result_items(request_id: str):
        answer = fuelsdk.ET_Get(
            client,
            "ResultItem",
            ["RequestID", "ConversationID", "StatusCode", "StatusMessage", "OrdinalID"],
            {"Property": "RequestID", "SimpleOperator": "equals", "Value": request_id},
        )
        assert answer.status, (answer.code, answer.message)
        return answer.results or None

    for request_id in (part1, part2):
        items = poll(lambda rid=request_id: result_items(rid), f"the ResultItem of {request_id}")
        assert [item.StatusCode for item in items] == ["OK"], items
        assert items[0].ConversationID == conversation_id, items

    reader = fuelsdk.ET_DataExtension_Row()
    reader.auth_stub = client
    reader.Name = key
    reader.props = ["OrderKey", "Status"]
    rows = reader.get()
    assert_ok(rows, "read the rows")
    assert rows_by_order_key(rows.results) == {"O-1": "NEW", "O-2": "SHIPPED"}


@pytest.fixture(scope="module")
def sfmc_sdk(request: pytest.FixtureRequest) -> Path:
    """A folder with sfmc-sdk installed by `npm ci` and the scenario script."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        pytest.skip("node and npm are not installed, so sfmc-sdk cannot run")
    folder = install_dir(request, "sfmc-sdk-2.1.2")
    lock = (SFMC_SDK_DIR / "package-lock.json").read_bytes()
    installed = folder / "node_modules" / "sfmc-sdk" / "package.json"
    if not installed.is_file() or (folder / "package-lock.json").read_bytes() != lock:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(SFMC_SDK_DIR / name, folder / name)
        completed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
        if completed.returncode != 0:
            pytest.skip(f"npm could not install sfmc-sdk 2.1.2: {completed.stderr.strip()[-500:]}")
    shutil.copyfile(SFMC_SDK_DIR / "scenario.mjs", folder / "scenario.mjs")
    return folder


def test_sfmc_sdk_conversation_and_untyped_array(sfmc_sdk: Path, confab: ConfabServer):
    key = f"sfmc_sdk_orders_{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ,
        "CONFAB_BASE_URL": confab.base_url,
        "CONFAB_CLIENT_ID": confab.client.client_id,
        "CONFAB_CLIENT_SECRET": confab.client.client_secret,
        "CONFAB_ACCOUNT_ID": str(confab.client.account_id),
        "DE_KEY": key,
        "CONVERSATION_ID": str(uuid.uuid4()),
    }
    completed = subprocess.run(
        ["node", "scenario.mjs"],
        cwd=sfmc_sdk,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert "error" not in report, report["error"]

    assert report["createDataExtension"]["OverallStatus"] == "OK", report
    for name in ("part1", "part2", "part3"):
        answer = report[name]
        assert answer["OverallStatus"] == "OK", (name, answer)
        assert answer["Results"][0]["StatusCode"] == "OK", (name, answer)
        items = report["resultItems"][name]["Results"]
        assert [item["StatusCode"] for item in items] == ["OK"], (name, items)
        assert items[0]["RequestID"].lower() == answer["RequestID"].lower(), (name, items)

    rows = {}
    for result in report["rows"]["Results"]:
        values = {prop["Name"]: prop["Value"] for prop in result["Properties"]["Property"]}
        rows[values["OrderKey"]] = values["Status"]
    assert rows == {"O-1": "SHIPPED", "O-2": "NEW"}

    # create() with an array drops xsi:type; Confab refuses it, and the
    # SDK's user sees Confab's explanation as the error message.
    assert "arrayCreate" not in report, report["arrayCreate"]
    error = report["arrayCreateError"]
    assert error["name"] == "SOAPError", error
    assert "no xsi:type" in error["message"], error
