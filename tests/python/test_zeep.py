"""Python `zeep`, loaded with the real Marketing Cloud WSDL, drives Confab.

This is the product's headline promise: a user's unmodified SOAP client,
built from Salesforce's own `etframework.wsdl`, only pointed at Confab. The
scenario sends a three-part asynchronous conversation out of order (parts
3, 1, 2) and proves Confab applied the parts in SequenceCode order: part 3
updates the row that part 1 creates, so the row only ends up updated if
part 1 ran first.

The same scenario runs a second time with zeep loaded from the WSDL Confab
serves itself (`GET /etframework.wsdl`), which must describe what Confab
implements well enough for a generated client to work.

The real WSDL imports https://webservice.exacttarget.com/ETFrameworkFault.xsd.
The test never fetches it: the transport maps that URL to the local copy in
the shared reference folder and refuses any other remote URL.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
import zeep
from lxml import etree
from zeep.transports import Transport

from confab_support import (
    HTTP_TIMEOUT_S,
    ConfabServer,
    poll,
)

FAULT_SCHEMA_URL = "https://webservice.exacttarget.com/ETFrameworkFault.xsd"
BINDING = "{http://exacttarget.com/wsdl/partnerAPI}SoapBinding"
FUELOAUTH = "{http://exacttarget.com}fueloauth"


class OfflineTransport(Transport):
    """A zeep transport that serves the fault schema from a local file and
    refuses to load anything else from the network while building the
    client (SOAP calls themselves go through `post`, not `load`)."""

    def __init__(self, local_documents: dict[str, Path], **kwargs):
        super().__init__(**kwargs)
        self._local_documents = local_documents

    def load(self, url: str) -> bytes:
        if url in self._local_documents:
            return self._local_documents[url].read_bytes()
        if url.startswith(("http://", "https://")):
            raise RuntimeError(f"the test must not fetch {url} from the network")
        return super().load(url)


@pytest.fixture(scope="module")
def zeep_client(shared_reference: Path) -> zeep.Client:
    session = requests.Session()
    transport = OfflineTransport(
        {FAULT_SCHEMA_URL: shared_reference / "ETFrameworkFault.xsd"},
        session=session,
        timeout=HTTP_TIMEOUT_S,
        operation_timeout=HTTP_TIMEOUT_S,
    )
    return zeep.Client(str(shared_reference / "etframework.wsdl"), transport=transport)


@pytest.fixture(scope="module")
def confab_wsdl_client(confab: ConfabServer) -> zeep.Client:
    """zeep loaded with the WSDL Confab serves, which imports its fault schema
    from Confab too: nothing outside the test server is read."""
    transport = Transport(timeout=HTTP_TIMEOUT_S, operation_timeout=HTTP_TIMEOUT_S)
    return zeep.Client(confab.base_url + "/etframework.wsdl", transport=transport)


@pytest.fixture(params=["real WSDL", "Confab's WSDL"])
def any_zeep_client(request, zeep_client, confab_wsdl_client) -> zeep.Client:
    """The scenario runs with both WSDLs: clients generated from either must
    work the same."""
    return zeep_client if request.param == "real WSDL" else confab_wsdl_client


class PartnerApi:
    """The calls of the scenario, written as a zeep user would write them."""

    def __init__(self, client: zeep.Client, soap_instance_url: str, access_token: str):
        self.client = client
        self.service = client.create_service(BINDING, soap_instance_url + "Service.asmx")
        header = etree.Element(FUELOAUTH, nsmap={None: "http://exacttarget.com"})
        header.text = access_token
        self.headers = [header]

    def type(self, name: str):
        return self.client.get_type(f"ns0:{name}")

    def properties(self, **values: str) -> list:
        api_property = self.type("APIProperty")
        return [api_property(Name=name, Value=value) for name, value in values.items()]

    def create_data_extension(self, key: str):
        field = self.type("DataExtensionField")
        data_extension = self.type("DataExtension")(
            CustomerKey=key,
            Name=key,
            Fields={
                "Field": [
                    field(
                        Name="OrderKey",
                        FieldType="Text",
                        MaxLength=50,
                        IsPrimaryKey=True,
                        IsRequired=True,
                    ),
                    field(Name="Status", FieldType="Text", MaxLength=20),
                ]
            },
        )
        return self.service.Create(
            Options=self.type("CreateOptions")(),
            Objects=[data_extension],
            _soapheaders=self.headers,
        )

    def conversation_options(self, kind: str, conversation_id: str, sequence: int, calls: int):
        return self.type(kind)(
            ConversationID=conversation_id,
            SequenceCode=sequence,
            CallsInConversation=calls,
            RequestType="Asynchronous",
        )

    def create_row(self, key: str, options, **values: str):
        row = self.type("DataExtensionObject")(
            CustomerKey=key, Properties={"Property": self.properties(**values)}
        )
        return self.service.Create(Options=options, Objects=[row], _soapheaders=self.headers)

    def update_row(self, key: str, options, keys: dict[str, str], **values: str):
        row = self.type("DataExtensionObject")(
            CustomerKey=key,
            Properties={"Property": self.properties(**values)},
            Keys={"Key": self.properties(**keys)},
        )
        return self.service.Update(Options=options, Objects=[row], _soapheaders=self.headers)

    def retrieve(self, object_type: str, properties: list[str], simple_filter=None):
        request = self.type("RetrieveRequest")(
            ObjectType=object_type, Properties=properties, Filter=simple_filter
        )
        return self.service.Retrieve(RetrieveRequest=request, _soapheaders=self.headers)

    def equals(self, property_name: str, value: str):
        return self.type("SimpleFilterPart")(
            Property=property_name, SimpleOperator="equals", Value=[value]
        )


def test_out_of_order_conversation_applies_parts_in_sequence(
    confab: ConfabServer, any_zeep_client: zeep.Client
):
    token = confab.oauth2_token()
    assert token["soap_instance_url"].endswith("/"), token
    api = PartnerApi(any_zeep_client, token["soap_instance_url"], token["access_token"])
    key = f"zeep_orders_{uuid.uuid4().hex[:8]}"
    conversation_id = str(uuid.uuid4())

    created = api.create_data_extension(key)
    assert created.OverallStatus == "OK", created
    assert created.Results[0].StatusCode == "OK", created

    # Part 3 first: it updates the row part 1 creates.
    part3 = api.update_row(
        key,
        api.conversation_options("UpdateOptions", conversation_id, 3, 3),
        keys={"OrderKey": "O-1"},
        Status="SHIPPED",
    )
    part1 = api.create_row(
        key,
        api.conversation_options("CreateOptions", conversation_id, 1, 3),
        OrderKey="O-1",
        Status="NEW",
    )

    # Two of three parts are in: nothing may run yet.
    early = api.retrieve(f"DataExtensionObject[{key}]", ["OrderKey", "Status"])
    assert early.OverallStatus == "OK", early
    assert early.Results == [], early

    part2 = api.create_row(
        key,
        api.conversation_options("CreateOptions", conversation_id, 2, 3),
        OrderKey="O-2",
        Status="NEW",
    )
    request_ids = {}
    for sequence, answer in ((3, part3), (1, part1), (2, part2)):
        assert answer.OverallStatus == "OK", answer
        assert answer.RequestID, answer
        queued = answer.Results[0]
        assert queued.StatusCode == "OK", queued
        assert queued.ConversationID == conversation_id, queued
        assert queued.RequestType == "Asynchronous", queued
        request_ids[sequence] = answer.RequestID
    assert len(set(request_ids.values())) == 3, request_ids

    def result_items_of(request_id: str):
        answer = api.retrieve(
            "ResultItem",
            ["RequestID", "ConversationID", "StatusCode", "StatusMessage", "OrdinalID"],
            api.equals("RequestID", request_id),
        )
        assert answer.OverallStatus == "OK", answer
        return answer.Results or None

    for sequence in (1, 2, 3):
        items = poll(
            lambda rid=request_ids[sequence]: result_items_of(rid),
            f"the ResultItem of part {sequence}",
        )
        assert [item.StatusCode for item in items] == ["OK"], (sequence, items)
        item = items[0]
        assert item.RequestID.lower() == request_ids[sequence].lower(), item
        assert item.ConversationID == conversation_id, item
        assert item.OrdinalID == 0, item

    rows_answer = api.retrieve(f"DataExtensionObject[{key}]", ["OrderKey", "Status"])
    assert rows_answer.OverallStatus == "OK", rows_answer
    rows = {}
    for row in rows_answer.Results:
        values = {prop.Name: prop.Value for prop in row.Properties.Property}
        rows[values["OrderKey"]] = values["Status"]
    assert rows == {"O-1": "SHIPPED", "O-2": "NEW"}
