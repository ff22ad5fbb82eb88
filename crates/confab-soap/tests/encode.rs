//! Golden tests of the responses, faults and documents Confab writes.
//!
//! The expected strings are exact: clients such as sfmc-sdk and fuelsdk-node
//! look up literal prefixes, and zeep and suds check element order, so a
//! change of a single byte here is a change of the wire format.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use confab_core::call::Operation;
use confab_core::data_extension::{DataExtensionObject, Property};
use confab_core::data_extension::{FieldError, RowErrors};
use confab_core::object::{ApiObject, ObjectBase};
use confab_core::options::RequestType;
use confab_core::result::{
    Node, NodeContent, ObjectResult, OverallStatus, RetrieveOutcome, RetrieveStatus,
};
use confab_soap::encode::{
    ObjectEcho, fault_response, fault_status, object_response, result_detail_xml,
    result_detail_xml_with_objects, retrieve_response, version_info_response,
};
use confab_soap::wsdl::{FAULT_SCHEMA_PATH, fault_schema, wsdl_document};
use confab_soap::{Fault, ResponseContext, SoapVersion};
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};

/// The start of every SOAP 1.1 response, up to the body's content.
const SOAP11_HEAD: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?>"#,
    r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
    r#"xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
    "<soap:Body>",
);
/// The end of every response.
const TAIL: &str = "</soap:Body></soap:Envelope>";

fn soap11(action: &str) -> ResponseContext {
    ResponseContext {
        version: SoapVersion::Soap11,
        relates_to: None,
        action: action.to_owned(),
    }
}

fn soap12(action: &str, relates_to: Option<&str>) -> ResponseContext {
    ResponseContext {
        version: SoapVersion::Soap12,
        relates_to: relates_to.map(str::to_owned),
        action: action.to_owned(),
    }
}

fn soap11_response(body: &str) -> String {
    format!("{SOAP11_HEAD}{body}{TAIL}")
}

/// The start of a SOAP 1.2 response whose `MessageID` reads `MESSAGE-ID`.
fn soap12_head(action: &str, relates_to: Option<&str>) -> String {
    let relates_to = relates_to
        .map(|id| format!("<wsa:RelatesTo>{id}</wsa:RelatesTo>"))
        .unwrap_or_default();
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" "#,
            r#"xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
            r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
            r#"xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
            "<soap:Header><wsa:Action>{action}</wsa:Action>",
            "<wsa:MessageID>MESSAGE-ID</wsa:MessageID>{relates_to}",
            "<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>",
            "</soap:Header><soap:Body>",
        ),
        action = action,
        relates_to = relates_to,
    )
}

/// Replaces the random `wsa:MessageID` with `MESSAGE-ID`, after checking
/// that it is a `urn:uuid:` URN.
fn pin_message_id(xml: &str) -> String {
    let open = "<wsa:MessageID>";
    let start = xml.find(open).unwrap() + open.len();
    let end = start + xml[start..].find('<').unwrap();
    let uuid = xml[start..end].strip_prefix("urn:uuid:").unwrap();
    assert_eq!(uuid.len(), 36, "{uuid} is not a hyphenated uuid");
    format!("{}MESSAGE-ID{}", &xml[..start], &xml[end..])
}

/// Reads a document to the end, failing on any syntax error, and returns
/// every element's local name.
fn parse(xml: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let mut names = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(start) | Event::Empty(start) => {
                let local = start.local_name();
                names.push(local.as_ref().to_owned());
            }
            Event::Eof => return names,
            _ => {}
        }
    }
}

/// A receipt for one object of an asynchronous conversation part, as the
/// engine writes it.
fn queued(ordinal_id: i32, request_id: &str, conversation_id: Option<&str>) -> ObjectResult {
    ObjectResult {
        request_id: Some(request_id.to_owned()),
        conversation_id: conversation_id.map(str::to_owned),
        request_type: Some(RequestType::Asynchronous),
        ..ObjectResult::ok(ordinal_id, "Queued")
    }
}

fn field_error(name: &str, error_code: i32, message: &str) -> FieldError {
    FieldError {
        name: name.to_owned(),
        error_code,
        message: message.to_owned(),
    }
}

fn row_errors() -> RowErrors {
    RowErrors {
        key_errors: vec![field_error("OrderKey", 10005, "field OrderKey is missing")],
        value_errors: vec![field_error("Amount", 10003, "field Amount is not a number")],
    }
}

/// A failed data extension row with one key and one value error.
fn failed_row(subtype: &str) -> ObjectResult {
    let errors = row_errors();
    ObjectResult {
        result_subtype: Some(subtype.to_owned()),
        row_errors: Some(errors.clone()),
        ..ObjectResult::error(0, errors.first_code().unwrap(), errors.summary())
    }
}

fn text(name: &str, value: &str) -> Node {
    Node::text(name, value)
}

fn nil(name: &str) -> Node {
    Node {
        name: name.to_owned(),
        xsi_type: None,
        content: NodeContent::Nil,
    }
}

#[test]
fn create_receipt_matches_the_captured_shape() {
    let request_id = "7274ee86-e1e4-49ee-8fdb-442ae2b4ad0f";
    let conversation_id = "5801cdc6-ef21-44b9-b1ea-cfcc305c196f";
    let results = [queued(0, request_id, Some(conversation_id))];
    let xml = object_response(
        &soap11("Create"),
        Operation::Create,
        &results,
        request_id,
        OverallStatus::Ok,
    );

    // The body zeep, suds, node-soap, sfmc-sdk and fuelsdk-node accepted in
    // captures/zeep/05-Create-DataExtensionObject-async-seq2.txt.
    let captured = concat!(
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" "#,
        r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
        r#"xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>"#,
        r#"<CreateResponse xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results>"#,
        "<StatusCode>OK</StatusCode><StatusMessage>Queued</StatusMessage>",
        "<OrdinalID>0</OrdinalID>",
        "<RequestID>7274ee86-e1e4-49ee-8fdb-442ae2b4ad0f</RequestID>",
        "<ConversationID>5801cdc6-ef21-44b9-b1ea-cfcc305c196f</ConversationID>",
        "<RequestType>Asynchronous</RequestType><NewID>0</NewID></Results>",
        "<RequestID>7274ee86-e1e4-49ee-8fdb-442ae2b4ad0f</RequestID>",
        "<OverallStatus>OK</OverallStatus></CreateResponse></soap:Body></soap:Envelope>",
    );
    assert_eq!(xml, captured);
}

#[test]
fn synchronous_create_leaves_out_the_asynchronous_fields() {
    let results = [ObjectResult {
        new_id: 42,
        new_object_id: Some("6f1c".to_owned()),
        correlation_id: Some("not-a-result-field".to_owned()),
        ..ObjectResult::ok(0, "Created DataExtension")
    }];
    let xml = object_response(
        &soap11("Create"),
        Operation::Create,
        &results,
        "req-1",
        OverallStatus::Ok,
    );

    let body = concat!(
        r#"<CreateResponse xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results>"#,
        "<StatusCode>OK</StatusCode><StatusMessage>Created DataExtension</StatusMessage>",
        "<OrdinalID>0</OrdinalID><NewID>42</NewID><NewObjectID>6f1c</NewObjectID></Results>",
        "<RequestID>req-1</RequestID><OverallStatus>OK</OverallStatus></CreateResponse>",
    );
    assert_eq!(xml, soap11_response(body));
}

#[test]
fn data_extension_create_result_carries_key_and_value_errors() {
    let results = [failed_row("DataExtensionCreateResult")];
    let xml = object_response(
        &soap11("Create"),
        Operation::Create,
        &results,
        "req-2",
        OverallStatus::Error,
    );

    let body = concat!(
        r#"<CreateResponse xmlns="http://exacttarget.com/wsdl/partnerAPI">"#,
        r#"<Results xsi:type="DataExtensionCreateResult">"#,
        "<StatusCode>Error</StatusCode>",
        "<StatusMessage>field OrderKey is missing; field Amount is not a number</StatusMessage>",
        "<OrdinalID>0</OrdinalID><ErrorCode>10005</ErrorCode><NewID>0</NewID>",
        "<ErrorMessage>field OrderKey is missing; field Amount is not a number</ErrorMessage>",
        "<KeyErrors><KeyError><Name>OrderKey</Name><ErrorCode>10005</ErrorCode>",
        "<ErrorMessage>field OrderKey is missing</ErrorMessage></KeyError></KeyErrors>",
        "<ValueErrors><ValueError><Name>Amount</Name><ErrorCode>10003</ErrorCode>",
        "<ErrorMessage>field Amount is not a number</ErrorMessage></ValueError></ValueErrors>",
        "</Results><RequestID>req-2</RequestID><OverallStatus>Error</OverallStatus>",
        "</CreateResponse>",
    );
    assert_eq!(xml, soap11_response(body));
}

#[test]
fn update_results_hold_the_object_place_before_row_errors() {
    let results = [
        ObjectResult::ok(0, "Updated DataExtensionObject"),
        failed_row("DataExtensionUpdateResult"),
    ];
    let xml = object_response(
        &soap11("Update"),
        Operation::Update,
        &results,
        "req-3",
        OverallStatus::HasErrors,
    );

    let body = concat!(
        r#"<UpdateResponse xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results>"#,
        "<StatusCode>OK</StatusCode><StatusMessage>Updated DataExtensionObject</StatusMessage>",
        "<OrdinalID>0</OrdinalID></Results>",
        r#"<Results xsi:type="DataExtensionUpdateResult"><StatusCode>Error</StatusCode>"#,
        "<StatusMessage>field OrderKey is missing; field Amount is not a number</StatusMessage>",
        "<OrdinalID>0</OrdinalID><ErrorCode>10005</ErrorCode><Object/>",
        "<ErrorMessage>field OrderKey is missing; field Amount is not a number</ErrorMessage>",
        "<KeyErrors><KeyError><Name>OrderKey</Name><ErrorCode>10005</ErrorCode>",
        "<ErrorMessage>field OrderKey is missing</ErrorMessage></KeyError></KeyErrors>",
        "<ValueErrors><ValueError><Name>Amount</Name><ErrorCode>10003</ErrorCode>",
        "<ErrorMessage>field Amount is not a number</ErrorMessage></ValueError></ValueErrors>",
        "</Results><RequestID>req-3</RequestID><OverallStatus>Has Errors</OverallStatus>",
        "</UpdateResponse>",
    );
    assert_eq!(xml, soap11_response(body));
}

#[test]
fn data_extension_delete_result_has_no_value_errors() {
    let results = [failed_row("DataExtensionDeleteResult")];
    let xml = object_response(
        &soap11("Delete"),
        Operation::Delete,
        &results,
        "req-4",
        OverallStatus::Error,
    );

    assert!(xml.contains(r#"<DeleteResponse xmlns="http://exacttarget.com/wsdl/partnerAPI">"#));
    assert!(xml.contains(r#"<Results xsi:type="DataExtensionDeleteResult">"#));
    assert!(xml.contains("<ErrorCode>10005</ErrorCode><Object/><ErrorMessage>"));
    assert!(xml.contains("</KeyErrors></Results>"));
    assert!(!xml.contains("ValueErrors"));
    assert!(!xml.contains("NewID"));
}

#[test]
fn row_errors_need_a_result_subtype() {
    let results = [ObjectResult {
        row_errors: Some(row_errors()),
        ..ObjectResult::error(0, 10005, "bad row")
    }];
    let xml = object_response(
        &soap11("Create"),
        Operation::Create,
        &results,
        "req-5",
        OverallStatus::Error,
    );

    assert!(!xml.contains("KeyErrors"));
    assert!(!xml.contains("ErrorMessage"));
}

#[test]
fn perform_response_wraps_results_and_reports_the_first_error() {
    let results = [
        queued(0, "req-6", None),
        ObjectResult::error(1, 208, "Async API Sequence Code Duplicate"),
    ];
    let xml = object_response(
        &soap11("Perform"),
        Operation::Perform,
        &results,
        "req-6",
        OverallStatus::HasErrors,
    );

    let body = concat!(
        r#"<PerformResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results>"#,
        "<Result><StatusCode>OK</StatusCode><StatusMessage>Queued</StatusMessage>",
        "<OrdinalID>0</OrdinalID><RequestID>req-6</RequestID>",
        "<RequestType>Asynchronous</RequestType></Result>",
        "<Result><StatusCode>Error</StatusCode>",
        "<StatusMessage>Async API Sequence Code Duplicate</StatusMessage>",
        "<OrdinalID>1</OrdinalID><ErrorCode>208</ErrorCode></Result></Results>",
        "<OverallStatus>Has Errors</OverallStatus>",
        "<OverallStatusMessage>Async API Sequence Code Duplicate</OverallStatusMessage>",
        "<RequestID>req-6</RequestID></PerformResponseMsg>",
    );
    assert_eq!(xml, soap11_response(body));
}

#[test]
fn perform_response_without_errors_has_an_empty_status_message() {
    let results = [ObjectResult::ok(0, "Performed")];
    let xml = object_response(
        &soap11("Perform"),
        Operation::Perform,
        &results,
        "req-7",
        OverallStatus::Ok,
    );
    assert!(xml.contains("<OverallStatusMessage></OverallStatusMessage>"));
}

#[test]
fn retrieve_response_writes_nested_nodes_nil_and_escaped_text() {
    let row = Node::parent(
        "Results",
        vec![
            text("CustomerKey", "DE_SCENARIO"),
            Node::parent(
                "Properties",
                vec![
                    Node::parent(
                        "Property",
                        vec![text("Name", "Status"), text("Value", r#"<"A" & 'B'>"#)],
                    ),
                    Node::parent("Property", vec![text("Name", "Note"), nil("Value")]),
                ],
            ),
        ],
    )
    .typed("DataExtensionObject");
    let outcome = RetrieveOutcome {
        status: RetrieveStatus::Ok,
        request_id: "req-8".to_owned(),
        results: vec![row],
    };
    let xml = retrieve_response(&soap11("Retrieve"), &outcome);

    let body = concat!(
        r#"<RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">"#,
        "<OverallStatus>OK</OverallStatus><RequestID>req-8</RequestID>",
        r#"<Results xsi:type="DataExtensionObject"><CustomerKey>DE_SCENARIO</CustomerKey>"#,
        "<Properties><Property><Name>Status</Name>",
        "<Value>&lt;&quot;A&quot; &amp; &apos;B&apos;&gt;</Value></Property>",
        r#"<Property><Name>Note</Name><Value xsi:nil="true"/></Property></Properties>"#,
        "</Results></RetrieveResponseMsg>",
    );
    assert_eq!(xml, soap11_response(body));
}

#[test]
fn retrieve_response_without_results_matches_the_captured_shape() {
    let outcome = RetrieveOutcome {
        status: RetrieveStatus::Ok,
        request_id: "071001fe-ff5d-4e7b-9028-e6b759b3b663".to_owned(),
        results: Vec::new(),
    };
    let xml = retrieve_response(&soap11("Retrieve"), &outcome);

    // captures/zeep/07-Retrieve-ResultItem.txt.
    let body = concat!(
        r#"<RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">"#,
        "<OverallStatus>OK</OverallStatus>",
        "<RequestID>071001fe-ff5d-4e7b-9028-e6b759b3b663</RequestID></RetrieveResponseMsg>",
    );
    assert_eq!(xml, soap11_response(body));
}

#[test]
fn retrieve_status_reports_more_data_available() {
    let outcome = RetrieveOutcome {
        status: RetrieveStatus::MoreDataAvailable,
        request_id: "page-1".to_owned(),
        results: vec![Node::parent("Results", vec![text("RequestID", "r")]).typed("ResultItem")],
    };
    let xml = retrieve_response(&soap11("Retrieve"), &outcome);

    let body = concat!(
        r#"<RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">"#,
        "<OverallStatus>MoreDataAvailable</OverallStatus><RequestID>page-1</RequestID>",
        r#"<Results xsi:type="ResultItem"><RequestID>r</RequestID></Results>"#,
        "</RetrieveResponseMsg>",
    );
    assert_eq!(xml, soap11_response(body));
}

#[test]
fn retrieve_status_reports_an_error_with_its_reason() {
    let outcome = RetrieveOutcome {
        status: RetrieveStatus::Error("unknown object type Nope & co".to_owned()),
        request_id: "req-9".to_owned(),
        results: Vec::new(),
    };
    let xml = retrieve_response(&soap11("Retrieve"), &outcome);

    let body = concat!(
        r#"<RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">"#,
        "<OverallStatus>Error: unknown object type Nope &amp; co</OverallStatus>",
        "<RequestID>req-9</RequestID></RetrieveResponseMsg>",
    );
    assert_eq!(xml, soap11_response(body));
}

#[test]
fn version_info_names_confab_and_its_version() {
    let xml = version_info_response(&soap11("VersionInfo"), "req-10");

    let body = format!(
        concat!(
            r#"<VersionInfoResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">"#,
            "<VersionInfo><Version>{}</Version>",
            "<VersionDate>2026-12-01T00:00:00Z</VersionDate>",
            "<Notes>Confab: a self-hosted implementation of the partnerAPI asynchronous ",
            "layer</Notes></VersionInfo><RequestID>req-10</RequestID></VersionInfoResponseMsg>",
        ),
        env!("CARGO_PKG_VERSION"),
    );
    assert_eq!(xml, soap11_response(&body));
}

#[test]
fn soap12_response_carries_addressing_and_relates_to() {
    let context = soap12("Create", Some("urn:uuid:0f6a3c5e-request"));
    let results = [queued(0, "req-11", None)];
    let xml = object_response(
        &context,
        Operation::Create,
        &results,
        "req-11",
        OverallStatus::Ok,
    );

    let expected = format!(
        "{}{}{TAIL}",
        soap12_head("CreateResponse", Some("urn:uuid:0f6a3c5e-request")),
        concat!(
            r#"<CreateResponse xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results>"#,
            "<StatusCode>OK</StatusCode><StatusMessage>Queued</StatusMessage>",
            "<OrdinalID>0</OrdinalID><RequestID>req-11</RequestID>",
            "<RequestType>Asynchronous</RequestType><NewID>0</NewID></Results>",
            "<RequestID>req-11</RequestID><OverallStatus>OK</OverallStatus></CreateResponse>",
        ),
    );
    assert_eq!(pin_message_id(&xml), expected);
    assert_eq!(
        context.content_type(),
        "application/soap+xml; charset=utf-8"
    );
}

#[test]
fn soap12_responses_get_a_new_message_id_each_time() {
    let context = soap12("VersionInfo", None);
    let first = version_info_response(&context, "req-12");
    let second = version_info_response(&context, "req-12");
    assert_ne!(first, second);
    assert_eq!(pin_message_id(&first), pin_message_id(&second));
}

#[test]
fn soap11_client_fault() {
    let xml = fault_response(&soap11("Nope"), &Fault::client("unknown action Nope"));

    let body = concat!(
        "<soap:Fault><faultcode>soap:Client</faultcode>",
        "<faultstring>unknown action Nope</faultstring><faultactor>Confab</faultactor>",
        "<detail/></soap:Fault>",
    );
    assert_eq!(xml, soap11_response(body));
}

#[test]
fn soap11_server_fault_carries_an_apifault() {
    let xml = fault_response(&soap11("Create"), &Fault::server("store <unavailable>"));

    let body = concat!(
        "<soap:Fault><faultcode>soap:Server</faultcode>",
        "<faultstring>store &lt;unavailable&gt;</faultstring><faultactor>Confab</faultactor>",
        r#"<detail><apifault xmlns="urn:fault.partner.exacttarget.com"><Code>2</Code>"#,
        "<Message>store &lt;unavailable&gt;</Message></apifault></detail></soap:Fault>",
    );
    assert_eq!(xml, soap11_response(body));
}

#[test]
fn soap11_security_fault_uses_the_wsse_code() {
    let xml = fault_response(&soap11("Create"), &Fault::token_expired());

    let body = concat!(
        r#"<soap:Fault><faultcode xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/"#,
        r#"oasis-200401-wss-wssecurity-secext-1.0.xsd">wsse:Security</faultcode>"#,
        "<faultstring>Token Expired</faultstring><faultactor>Confab</faultactor>",
        "</soap:Fault>",
    );
    assert_eq!(xml, soap11_response(body));
}

#[test]
fn soap12_client_fault() {
    let context = soap12("Nope", Some("urn:uuid:request"));
    let xml = fault_response(&context, &Fault::client("unknown action Nope"));

    let expected = format!(
        "{}{}{TAIL}",
        soap12_head(
            "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault",
            Some("urn:uuid:request"),
        ),
        concat!(
            "<soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value></soap:Code>",
            r#"<soap:Reason><soap:Text xml:lang="en">unknown action Nope</soap:Text>"#,
            "</soap:Reason><soap:Detail/></soap:Fault>",
        ),
    );
    assert_eq!(pin_message_id(&xml), expected);
}

#[test]
fn soap12_server_fault_carries_an_apifault() {
    let context = soap12("Create", None);
    let fault = Fault {
        api_code: Some(9),
        ..Fault::server("in maintenance")
    };
    let xml = fault_response(&context, &fault);

    let expected = format!(
        "{}{}{TAIL}",
        soap12_head(
            "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault",
            None
        ),
        concat!(
            "<soap:Fault><soap:Code><soap:Value>soap:Receiver</soap:Value></soap:Code>",
            r#"<soap:Reason><soap:Text xml:lang="en">in maintenance</soap:Text></soap:Reason>"#,
            r#"<soap:Detail><apifault xmlns="urn:fault.partner.exacttarget.com">"#,
            "<Code>9</Code><Message>in maintenance</Message></apifault></soap:Detail>",
            "</soap:Fault>",
        ),
    );
    assert_eq!(pin_message_id(&xml), expected);
}

#[test]
fn soap12_security_fault_puts_the_wsse_code_in_a_subcode() {
    let context = soap12("Create", Some("urn:uuid:request"));
    let xml = fault_response(&context, &Fault::login_failed());

    let expected = format!(
        "{}{}{TAIL}",
        soap12_head(
            "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault",
            Some("urn:uuid:request"),
        ),
        concat!(
            "<soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value><soap:Subcode>",
            r#"<soap:Value xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/"#,
            r#"oasis-200401-wss-wssecurity-secext-1.0.xsd">wsse:Security</soap:Value>"#,
            "</soap:Subcode></soap:Code>",
            r#"<soap:Reason><soap:Text xml:lang="en">Login failed</soap:Text></soap:Reason>"#,
            "</soap:Fault>",
        ),
    );
    assert_eq!(pin_message_id(&xml), expected);
}

#[test]
fn every_fault_is_sent_with_status_500() {
    for fault in [
        Fault::client("x"),
        Fault::server("x"),
        Fault::login_failed(),
    ] {
        assert_eq!(fault_status(&fault), 500);
    }
}

#[test]
fn result_detail_xml_types_each_result() {
    let results = [
        queued(0, "req-13", Some("conv-1")),
        failed_row("DataExtensionCreateResult"),
    ];
    let xml = result_detail_xml(Operation::Create, &results);

    let expected = concat!(
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        r#"<Results xmlns="http://exacttarget.com/wsdl/partnerAPI" "#,
        r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
        r#"<Result xsi:type="CreateResult"><StatusCode>OK</StatusCode>"#,
        "<StatusMessage>Queued</StatusMessage><OrdinalID>0</OrdinalID>",
        "<RequestID>req-13</RequestID><ConversationID>conv-1</ConversationID>",
        "<RequestType>Asynchronous</RequestType><NewID>0</NewID></Result>",
        r#"<Result xsi:type="DataExtensionCreateResult"><StatusCode>Error</StatusCode>"#,
        "<StatusMessage>field OrderKey is missing; field Amount is not a number</StatusMessage>",
        "<OrdinalID>0</OrdinalID><ErrorCode>10005</ErrorCode><NewID>0</NewID>",
        "<ErrorMessage>field OrderKey is missing; field Amount is not a number</ErrorMessage>",
        "<KeyErrors><KeyError><Name>OrderKey</Name><ErrorCode>10005</ErrorCode>",
        "<ErrorMessage>field OrderKey is missing</ErrorMessage></KeyError></KeyErrors>",
        "<ValueErrors><ValueError><Name>Amount</Name><ErrorCode>10003</ErrorCode>",
        "<ErrorMessage>field Amount is not a number</ErrorMessage></ValueError></ValueErrors>",
        "</Result></Results>",
    );
    assert_eq!(xml, expected);
}

/// A `DataExtensionObject` with a key, a correlation id and two values.
fn echoed_row() -> ApiObject {
    ApiObject::DataExtensionObject(DataExtensionObject {
        base: ObjectBase {
            customer_key: Some("Orders".to_owned()),
            correlation_id: Some("c-1".to_owned()),
            ..ObjectBase::default()
        },
        name: None,
        properties: vec![
            Property {
                name: "OrderKey".to_owned(),
                value: Some("1".to_owned()),
            },
            Property {
                name: "Note".to_owned(),
                value: None,
            },
        ],
        keys: Vec::new(),
    })
}

#[test]
fn result_detail_xml_echoes_each_object_after_the_create_fields() {
    let objects = [echoed_row()];
    let results = [ObjectResult::ok(0, "Created")];
    let xml =
        result_detail_xml_with_objects(Operation::Create, &results, &ObjectEcho::Full(&objects));
    let expected = concat!(
        r#"<Result xsi:type="CreateResult"><StatusCode>OK</StatusCode>"#,
        "<StatusMessage>Created</StatusMessage><OrdinalID>0</OrdinalID><NewID>0</NewID>",
        r#"<Object xsi:type="DataExtensionObject"><CustomerKey>Orders</CustomerKey>"#,
        "<CorrelationID>c-1</CorrelationID><Properties><Property><Name>OrderKey</Name>",
        "<Value>1</Value></Property><Property><Name>Note</Name></Property></Properties>",
        "</Object></Result>",
    );
    assert!(xml.contains(expected), "{xml}");
    parse(&xml);
}

#[test]
fn result_detail_xml_echoes_only_the_base_when_asked() {
    let objects = [echoed_row()];
    let results = [ObjectResult::ok(0, "Updated")];
    let xml = result_detail_xml_with_objects(
        Operation::Update,
        &results,
        &ObjectEcho::BaseOnly(&objects),
    );
    let expected = concat!(
        r#"<Object xsi:type="DataExtensionObject"><CustomerKey>Orders</CustomerKey>"#,
        "<CorrelationID>c-1</CorrelationID></Object></Result>",
    );
    assert!(xml.contains(expected), "{xml}");
    assert!(!xml.contains("Properties"));
}

#[test]
fn result_detail_xml_uses_the_operation_result_type() {
    let results = [ObjectResult::ok(0, "Deleted")];
    let xml = result_detail_xml(Operation::Delete, &results);
    assert!(xml.contains(r#"<Result xsi:type="DeleteResult">"#));
    parse(&xml);
}

#[test]
fn every_response_is_well_formed() {
    let results = [failed_row("DataExtensionCreateResult")];
    let outcome = RetrieveOutcome {
        status: RetrieveStatus::Error("<&>".to_owned()),
        request_id: "r".to_owned(),
        results: vec![Node::parent("Results", vec![nil("ObjectID")]).typed("ResultItem")],
    };
    for context in [soap11("Create"), soap12("Create", Some("urn:uuid:x&y"))] {
        let documents = [
            object_response(
                &context,
                Operation::Create,
                &results,
                "r",
                OverallStatus::Error,
            ),
            object_response(
                &context,
                Operation::Perform,
                &results,
                "r",
                OverallStatus::Error,
            ),
            retrieve_response(&context, &outcome),
            version_info_response(&context, "r"),
            fault_response(&context, &Fault::client("<&>")),
            fault_response(&context, &Fault::server("<&>")),
            fault_response(&context, &Fault::login_failed()),
        ];
        for document in documents {
            let names = parse(&document);
            assert_eq!(names[0], "Envelope");
            assert!(names.iter().any(|name| name == "Body"));
        }
    }
}

/// Whether XML 1.0 allows a character (its `Char` production).
fn is_xml_char(character: char) -> bool {
    matches!(
        character,
        '\u{9}' | '\u{A}' | '\u{D}'
            | '\u{20}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}'
            | '\u{10000}'..
    )
}

/// Decoding refuses forbidden characters, but what the engine stored or wrote
/// reaches responses by other ways; none of it may make a response
/// unparseable.
#[test]
fn forbidden_characters_never_reach_a_response() {
    let mut result = queued(0, "req\u{1}", Some("conv\u{FFFE}"));
    result.status_message = "bad\u{0}value".to_owned();
    result.result_subtype = Some("Sub\u{B}type".to_owned());
    let outcome = RetrieveOutcome {
        status: RetrieveStatus::Error("broken \u{1F}".to_owned()),
        request_id: "r\u{FFFF}".to_owned(),
        results: vec![
            Node::parent("Results", vec![text("Name", "a\u{2}b"), nil("Value\u{3}")])
                .typed("Data\u{4}ExtensionObject"),
        ],
    };
    for context in [
        soap11("Create\u{5}"),
        soap12("Create\u{5}", Some("urn:\u{6}")),
    ] {
        let documents = [
            object_response(
                &context,
                Operation::Create,
                std::slice::from_ref(&result),
                "r\u{7}",
                OverallStatus::Error,
            ),
            object_response(
                &context,
                Operation::Perform,
                std::slice::from_ref(&result),
                "r",
                OverallStatus::Error,
            ),
            retrieve_response(&context, &outcome),
            version_info_response(&context, "r\u{8}"),
            fault_response(&context, &Fault::client("quoting \u{1}")),
            fault_response(&context, &Fault::server("quoting \u{FFFF}")),
            result_detail_xml(Operation::Create, std::slice::from_ref(&result)),
        ];
        for document in documents {
            assert!(document.chars().all(is_xml_char), "{document:?}");
            assert!(document.contains('\u{FFFD}'), "{document:?}");
            parse(&document);
        }
    }
}

#[test]
fn wsdl_is_well_formed_and_points_at_the_base_address() {
    let wsdl = wsdl_document("https://confab.example:8443");
    parse(&wsdl);

    assert!(
        wsdl.contains(r#"<soap:address location="https://confab.example:8443/Service.asmx"/>"#)
    );
    let import = format!(r#"schemaLocation="https://confab.example:8443{FAULT_SCHEMA_PATH}""#);
    assert!(wsdl.contains(&import));
    assert!(!wsdl.contains("{{"));
    assert!(!wsdl.contains("exacttarget.com/Service.asmx"));
}

#[test]
fn wsdl_declares_the_real_operations_and_actions() {
    let wsdl = wsdl_document("http://confab.test");
    let operations = [
        ("Create", "CreateRequest", "CreateResponse"),
        ("Retrieve", "RetrieveRequestMsg", "RetrieveResponseMsg"),
        ("Update", "UpdateRequest", "UpdateResponse"),
        ("Delete", "DeleteRequest", "DeleteResponse"),
        ("Perform", "PerformRequestMsg", "PerformResponseMsg"),
        (
            "VersionInfo",
            "VersionInfoRequestMsg",
            "VersionInfoResponseMsg",
        ),
    ];
    for (operation, request, response) in operations {
        assert!(wsdl.contains(&format!(r#"<soap:operation soapAction="{operation}""#)));
        assert!(wsdl.contains(&format!(r#"<xsd:element name="{request}">"#)));
        assert!(wsdl.contains(&format!(r#"<xsd:element name="{response}">"#)));
    }
    assert!(wsdl.contains(r#"targetNamespace="http://exacttarget.com/wsdl/partnerAPI""#));
    assert!(wsdl.contains(r#"elementFormDefault="qualified""#));
    assert!(wsdl.contains(r#"<wsdl:binding name="SoapBinding" type="tns:Soap">"#));
    assert!(wsdl.contains(r#"<wsdl:service name="PartnerAPI">"#));
    assert!(wsdl.contains(r#"<wsdl:port name="Soap" binding="tns:SoapBinding">"#));
    assert!(wsdl.contains(r#"element="fault:apifault""#));
}

/// Every `tns:` reference in the WSDL names a type, element or message the
/// WSDL defines, so a client never meets a dangling reference.
#[test]
fn wsdl_references_resolve() {
    let wsdl = wsdl_document("http://confab.test");
    let mut defined = BTreeSet::new();
    let mut referenced = BTreeSet::new();
    let mut reader = Reader::from_str(&wsdl);
    let mut depth_of_schema_children = None;
    let mut depth = 0;
    loop {
        let event = reader.read_event().unwrap();
        let (start, is_empty) = match &event {
            Event::Start(start) => (start, false),
            Event::Empty(start) => (start, true),
            Event::End(end) => {
                depth -= 1;
                if end.local_name().as_ref() == "schema" {
                    depth_of_schema_children = None;
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let local = start.local_name().as_ref().to_owned();
        let top_level_in_schema = depth_of_schema_children == Some(depth);
        let is_wsdl_definition = depth == 1 && matches!(local.as_str(), "message" | "portType");
        for attribute in start.attributes() {
            let attribute = attribute.unwrap();
            let key = attribute.key.as_ref().to_owned();
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .unwrap()
                .into_owned();
            if key == "name" && (top_level_in_schema || is_wsdl_definition) {
                defined.insert(value.clone());
            }
            let refers = matches!(key.as_str(), "type" | "base" | "element" | "message");
            if let Some(name) = value.strip_prefix("tns:").filter(|_| refers) {
                referenced.insert(name.to_owned());
            }
        }
        if local == "schema" {
            depth_of_schema_children = Some(depth + 1);
        }
        if !is_empty {
            depth += 1;
        }
    }

    assert!(referenced.len() > 40, "the walk found too few references");
    let missing: Vec<_> = referenced.difference(&defined).collect();
    assert!(missing.is_empty(), "undefined references: {missing:?}");
    for name in [
        "APIObject",
        "ClientID",
        "APIProperty",
        "Owner",
        "Options",
        "CreateOptions",
        "UpdateOptions",
        "DeleteOptions",
        "PerformOptions",
        "RetrieveOptions",
        "AsyncResponse",
        "SaveOption",
        "SaveAction",
        "Priority",
        "RequestType",
        "RespondWhen",
        "AsyncResponseType",
        "Result",
        "CreateResult",
        "UpdateResult",
        "DeleteResult",
        "PerformResult",
        "TaskResult",
        "DataExtensionCreateResult",
        "DataExtensionUpdateResult",
        "DataExtensionDeleteResult",
        "DataExtensionError",
        "ResultMessage",
        "ResultItem",
        "ScheduledRequest",
        "ScheduledConversation",
        "ObjectExtension",
        "DataExtensionObject",
        "DataExtension",
        "DataExtensionField",
        "DataExtensionFieldType",
        "Subscriber",
        "Attribute",
        "SubscriberStatus",
        "RetrieveRequest",
        "FilterPart",
        "SimpleFilterPart",
        "ComplexFilterPart",
        "SimpleOperators",
        "LogicalOperators",
        "VersionInfoResponse",
    ] {
        assert!(defined.contains(name), "{name} is not defined");
    }
}

#[test]
fn wsdl_lists_every_simple_operator() {
    let wsdl = wsdl_document("http://confab.test");
    let start = wsdl
        .find(r#"<xsd:simpleType name="SimpleOperators">"#)
        .unwrap();
    let end = start + wsdl[start..].find("</xsd:simpleType>").unwrap();
    let values = wsdl[start..end].matches("<xsd:enumeration ").count();
    assert_eq!(values, 22);
}

#[test]
fn fault_schema_is_well_formed_and_declares_apifault() {
    let schema = fault_schema();
    let names = parse(schema);
    assert_eq!(names.first().map(String::as_str), Some("schema"));
    assert!(schema.contains(r#"targetNamespace="urn:fault.partner.exacttarget.com""#));
    assert!(schema.contains(r#"<xsd:element name="apifault" type="tns:APIFault"/>"#));
    for field in ["Code", "Message", "LogID", "Params", "Param"] {
        assert!(
            schema.contains(&format!(r#"name="{field}""#)),
            "{field} missing"
        );
    }
}
