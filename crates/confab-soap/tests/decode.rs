//! Every SOAP request a real client library sent, decoded.
//!
//! The captures under `shared/reference/captures` are what Confab must
//! accept (their README says so). Each capture file holds a request line,
//! the headers as sent, a blank line and the body as sent, followed by a
//! re-indented copy of the body (`--- request body re-indented ...`) and the
//! stand-in server's answer (`<<< RESPONSE ...`). This test finds every
//! `POST /Service.asmx` (in either case) among them, decodes it with the
//! headers the client sent, and checks the result against what the scenario
//! in the README did: create `DE_SCENARIO`, write two rows (as a two-part
//! asynchronous conversation where the client can), retrieve `ResultItem`
//! and then the rows.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use confab_core::call::{Call, ObjectCall, Operation, RetrieveCall};
use confab_core::data_extension::{DataExtension, DataExtensionObject, FieldType, Property};
use confab_core::filter::{Filter, SimpleOperator};
use confab_core::object::ApiObject;
use confab_core::options::{RequestOptions, RequestType};
use confab_soap::{Credentials, Envelope, FaultKind, SoapVersion, decode_envelope};

/// One captured SOAP request.
struct Capture {
    /// `folder/file`, for messages.
    name: String,
    /// The client's folder, e.g. `zeep`.
    client: String,
    /// The file name without its number, e.g. `Create-DataExtension`.
    step: String,
    /// Header names in lower case.
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

#[test]
fn every_captured_request_decodes_as_the_scenario_sent_it() {
    let captures = soap_captures();
    assert!(
        captures.len() >= 36,
        "expected at least 36 SOAP requests in the captures, found {}",
        captures.len()
    );

    let mut conversations: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for capture in &captures {
        let envelope = decode(capture);
        assert_eq!(envelope.version, SoapVersion::Soap11, "{}", capture.name);
        assert_eq!(envelope.message_id, None, "{}", capture.name);
        check_credentials(capture, &envelope);

        if let Some(conversation_id) = check_call(capture, &envelope) {
            conversations
                .entry(capture.client.clone())
                .or_default()
                .push(conversation_id);
        }
    }

    // The two parts of each client's conversation share one ID.
    for (client, ids) in &conversations {
        assert_eq!(
            ids.len(),
            2,
            "{client} sent {} conversation parts",
            ids.len()
        );
        assert_eq!(
            ids[0], ids[1],
            "{client}'s parts name different conversations"
        );
    }
    let clients: Vec<&str> = conversations.keys().map(String::as_str).collect();
    assert_eq!(
        clients,
        [
            "fuelsdk-node",
            "fuelsdk-python-suds-async",
            "sfmc-sdk",
            "soap",
            "zeep"
        ]
    );
}

#[test]
fn the_untyped_array_probe_gets_a_clear_fault() {
    let captures = soap_captures();
    let probe = captures
        .iter()
        .find(|capture| capture.client == "sfmc-sdk-array-probe")
        .expect("the sfmc-sdk array probe capture");

    let fault = decode(probe).call.unwrap_err();
    assert_eq!(fault.kind, FaultKind::Client);
    assert!(
        fault
            .message
            .starts_with("object 1 (Objects[1]) has no xsi:type"),
        "{}",
        fault.message
    );
    assert!(fault.message.contains("cannot tell what kind of object"));
    assert!(fault.message.contains("array"));
}

/// The next page as suds (FuelSDK-Python and FuelSDK-PHP) asks for it: the
/// envelope of the captured Retrieve, with the empty `ObjectType` and the
/// `ContinueRequest` suds writes when `getMoreResults()` is called.
#[test]
fn a_suds_continue_request_without_object_type_decodes() {
    let body = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope "#,
        r#"xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" "#,
        r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
        r#"xmlns:etns="http://exacttarget.com" "#,
        r#"xmlns:ns0="http://schemas.xmlsoap.org/soap/envelope/" "#,
        r#"xmlns:ns1="http://exacttarget.com/wsdl/partnerAPI"><SOAP-ENV:Header>"#,
        "<etns:fueloauth>capture-access-token-1</etns:fueloauth></SOAP-ENV:Header>",
        "<ns0:Body><ns1:RetrieveRequestMsg>",
        "<ns1:RetrieveRequest><ns1:ObjectType/>",
        "<ns1:ContinueRequest>0f2d6c5e-8b3a-4f1e-9d7c-6a5b4c3d2e1f</ns1:ContinueRequest>",
        "</ns1:RetrieveRequest>",
        "</ns1:RetrieveRequestMsg></ns0:Body></SOAP-ENV:Envelope>",
    );
    let envelope = decode_envelope(
        body.as_bytes(),
        Some("text/xml; charset=utf-8"),
        Some("\"Retrieve\""),
    )
    .unwrap();

    let Ok(Call::Retrieve(retrieve)) = envelope.call else {
        panic!("not a Retrieve: {:?}", envelope.call);
    };
    assert_eq!(retrieve.object_type, "");
    assert_eq!(
        retrieve.continue_request.as_deref(),
        Some("0f2d6c5e-8b3a-4f1e-9d7c-6a5b4c3d2e1f")
    );
}

/// A captured request with a second credential spliced into its header is
/// refused, whichever kind the second one is; the legacy captures, which
/// carry a token and a `*`/`*` UsernameToken, are the combination that is
/// not (the replay above checks them).
#[test]
fn a_captured_request_with_a_second_credential_is_refused() {
    let captures = soap_captures();
    let capture = captures
        .iter()
        .find(|capture| capture.name == "fuelsdk-python/04-Create-DataExtension")
        .expect("the fuelsdk-python Create capture");
    let body = String::from_utf8(capture.body.clone()).unwrap();
    let header_end = "</SOAP-ENV:Header>";
    assert!(body.contains(header_end), "{}", capture.name);

    let wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    let seconds = [
        "<etns:fueloauth>someone-else</etns:fueloauth>".to_owned(),
        "<etns:oAuth><oAuthToken>someone-else</oAuthToken></etns:oAuth>".to_owned(),
        format!(
            r#"<w:Security xmlns:w="{wsse}"><w:UsernameToken><w:Username>someone</w:Username>
               <w:Password>else</w:Password></w:UsernameToken></w:Security>"#
        ),
    ];
    for second in seconds {
        let spliced = body.replacen(header_end, &format!("{second}{header_end}"), 1);
        let fault = decode_envelope(spliced.as_bytes(), None, Some("Create")).unwrap_err();
        assert_eq!(fault.kind, FaultKind::Client, "{second}");
        assert_eq!(
            fault.message, "the header carries more than one credential",
            "{second}"
        );
    }
}

/// A control character in a captured body is refused before anything is
/// decoded, with a fault that says where it is and never carries it.
#[test]
fn a_forbidden_character_in_a_captured_request_is_refused() {
    let captures = soap_captures();
    let capture = captures
        .iter()
        .find(|capture| capture.name == "zeep/04-Create-DataExtension")
        .expect("the zeep Create capture");
    let body = String::from_utf8(capture.body.clone()).unwrap();
    let name = "DE_SCENARIO</";
    assert!(body.contains(name), "{}", capture.name);

    for bad in ["\u{1}", "\u{0}", "\u{B}", "\u{FFFE}", "&#x1F;", "&#65535;"] {
        let spliced = body.replacen(name, &format!("DE_{bad}SCENARIO</"), 1);
        let fault = decode_envelope(spliced.as_bytes(), None, Some("Create")).unwrap_err();
        assert_eq!(fault.kind, FaultKind::Client, "{bad}");
        assert!(
            fault
                .message
                .starts_with("the request body holds the character U+")
                && fault
                    .message
                    .contains("Envelope/Body/CreateRequest/Objects/"),
            "{bad}: {}",
            fault.message
        );
        let forbidden = |c: char| c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}');
        assert!(
            !fault.message.contains(forbidden),
            "{bad}: {:?}",
            fault.message
        );
    }
}

fn decode(capture: &Capture) -> Envelope {
    let content_type = capture.headers.get("content-type").map(String::as_str);
    let soap_action = capture.headers.get("soapaction").map(String::as_str);
    match decode_envelope(&capture.body, content_type, soap_action) {
        Ok(envelope) => envelope,
        Err(fault) => panic!("{} does not decode: {}", capture.name, fault.message),
    }
}

/// fuelsdk-python-legacy sends its legacy token in `oAuth` (and a `*`/`*`
/// UsernameToken to ignore); fuelsdk-node puts its legacy access token in
/// `fueloauth`; everyone else sends an OAuth2 access token there.
fn check_credentials(capture: &Capture, envelope: &Envelope) {
    let expected_prefix = match capture.client.as_str() {
        "fuelsdk-python-legacy" => "capture-internal-token-",
        "fuelsdk-node" => "capture-legacy-access-",
        _ => "capture-access-token-",
    };
    let token = match &envelope.credentials {
        Credentials::LegacyToken(token) if capture.client == "fuelsdk-python-legacy" => token,
        Credentials::AccessToken(token) if capture.client != "fuelsdk-python-legacy" => token,
        other => panic!("{}: unexpected credentials {other:?}", capture.name),
    };
    assert!(
        token.starts_with(expected_prefix) && !token.contains(char::is_whitespace),
        "{}: token {token:?}",
        capture.name
    );
}

/// Checks the call against the scenario step; returns the conversation ID
/// of an asynchronous part.
fn check_call(capture: &Capture, envelope: &Envelope) -> Option<String> {
    let name = &capture.name;
    let step = capture.step.as_str();
    let expected_action = step.split('-').next().unwrap();
    assert_eq!(envelope.action, expected_action, "{name}");

    if capture.client == "sfmc-sdk-array-probe" {
        assert!(envelope.call.is_err(), "{name}");
        return None;
    }
    let call = match &envelope.call {
        Ok(call) => call,
        Err(fault) => panic!("{name}: the body does not decode: {}", fault.message),
    };

    match step {
        "Create-DataExtension" => {
            check_data_extension(name, call);
            None
        }
        "Create-DataExtensionObject" => {
            let (options, row) = object_call(name, call);
            assert_eq!(options, &RequestOptions::default(), "{name}");
            check_row(name, row);
            None
        }
        "Create-DataExtensionObject-async-seq1" | "Create-DataExtensionObject-async-seq2" => {
            let (options, row) = object_call(name, call);
            let sequence_code = if step.ends_with("seq1") { 1 } else { 2 };
            check_async_part(name, options, sequence_code);
            check_row(name, row);
            let expected_row = if sequence_code == 1 {
                ("O-1", "NEW")
            } else {
                ("O-2", "SHIPPED")
            };
            assert_eq!(row_values(row), expected_row, "{name}");
            options.conversation_id.clone()
        }
        "Retrieve-ResultItem" => {
            check_result_item_retrieve(name, call);
            None
        }
        "Retrieve-DataExtensionObject_DE_SCENARIO" => {
            let retrieve = retrieve_call(name, call);
            assert_eq!(
                retrieve.object_type, "DataExtensionObject[DE_SCENARIO]",
                "{name}"
            );
            assert_eq!(retrieve.properties, ["OrderKey", "Status"], "{name}");
            assert_eq!(retrieve.filter, None, "{name}");
            None
        }
        other => panic!("{name}: no expectation for the step {other}"),
    }
}

fn check_data_extension(name: &str, call: &Call) {
    let Call::Objects(ObjectCall {
        operation: Operation::Create,
        options,
        action: None,
        objects,
    }) = call
    else {
        panic!("{name}: not a Create: {call:?}");
    };
    assert_eq!(options, &RequestOptions::default(), "{name}");
    let [ApiObject::DataExtension(definition)] = objects.as_slice() else {
        panic!("{name}: not one DataExtension: {objects:?}");
    };
    let DataExtension {
        base,
        name: de_name,
        fields,
        is_sendable,
        ..
    } = definition;
    assert_eq!(base.customer_key.as_deref(), Some("DE_SCENARIO"), "{name}");
    assert_eq!(de_name.as_deref(), Some("DE_SCENARIO"), "{name}");
    assert!(!is_sendable, "{name}");

    let described: Vec<_> = fields
        .iter()
        .map(|field| {
            (
                field.name.as_str(),
                field.field_type,
                field.max_length,
                field.is_primary_key,
                field.is_required,
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            ("OrderKey", FieldType::Text, Some(50), true, true),
            ("Status", FieldType::Text, Some(20), false, false),
        ],
        "{name}"
    );
}

fn object_call<'a>(name: &str, call: &'a Call) -> (&'a RequestOptions, &'a DataExtensionObject) {
    let Call::Objects(ObjectCall {
        operation: Operation::Create,
        options,
        action: None,
        objects,
    }) = call
    else {
        panic!("{name}: not a Create: {call:?}");
    };
    let [ApiObject::DataExtensionObject(row)] = objects.as_slice() else {
        panic!("{name}: not one DataExtensionObject: {objects:?}");
    };
    (options, row)
}

fn check_async_part(name: &str, options: &RequestOptions, sequence_code: i32) {
    assert_eq!(
        options.request_type,
        Some(RequestType::Asynchronous),
        "{name}"
    );
    assert_eq!(options.sequence_code, Some(sequence_code), "{name}");
    assert_eq!(options.calls_in_conversation, Some(2), "{name}");
    let conversation_id = options.conversation_id.as_deref().unwrap_or_default();
    assert_eq!(
        conversation_id.len(),
        36,
        "{name}: conversation {conversation_id:?}"
    );

    let unset = RequestOptions {
        request_type: None,
        conversation_id: None,
        sequence_code: None,
        calls_in_conversation: None,
        ..options.clone()
    };
    assert_eq!(
        unset,
        RequestOptions::default(),
        "{name}: other options set"
    );
}

fn check_row(name: &str, row: &DataExtensionObject) {
    assert_eq!(
        row.base.customer_key.as_deref(),
        Some("DE_SCENARIO"),
        "{name}"
    );
    assert!(row.keys.is_empty(), "{name}");
    let names: Vec<&str> = row.properties.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["OrderKey", "Status"], "{name}");
    assert!(
        ["O-1", "O-2"].contains(&row_values(row).0),
        "{name}: {:?}",
        row.properties
    );
}

fn row_values(row: &DataExtensionObject) -> (&str, &str) {
    fn value(property: &Property) -> &str {
        property.value.as_deref().unwrap_or_default()
    }
    match row.properties.as_slice() {
        [order_key, status] => (value(order_key), value(status)),
        other => panic!("two properties expected: {other:?}"),
    }
}

fn check_result_item_retrieve(name: &str, call: &Call) {
    let retrieve = retrieve_call(name, call);
    assert_eq!(retrieve.object_type, "ResultItem", "{name}");
    assert_eq!(
        retrieve.properties,
        [
            "RequestID",
            "ConversationID",
            "StatusCode",
            "StatusMessage",
            "OrdinalID",
            "ErrorCode",
            "RequestType",
            "RequestObjectType",
        ],
        "{name}"
    );
    let Some(Filter::Simple {
        property,
        operator: SimpleOperator::Equals,
        values,
        date_values,
    }) = &retrieve.filter
    else {
        panic!("{name}: not a simple equals filter: {:?}", retrieve.filter);
    };
    assert_eq!(property, "RequestID", "{name}");
    assert!(date_values.is_empty(), "{name}");
    let [request_id] = values.as_slice() else {
        panic!("{name}: one value expected: {values:?}");
    };
    assert_eq!(request_id.len(), 36, "{name}: request id {request_id:?}");
}

fn retrieve_call<'a>(name: &str, call: &'a Call) -> &'a RetrieveCall {
    let Call::Retrieve(retrieve) = call else {
        panic!("{name}: not a Retrieve: {call:?}");
    };
    assert_eq!(retrieve.continue_request, None, "{name}");
    assert_eq!(retrieve.batch_size, None, "{name}");
    assert!(retrieve.client_ids.is_empty(), "{name}");
    retrieve
}

/// Every SOAP request in the captures, in folder and file order.
fn soap_captures() -> Vec<Capture> {
    let root = captures_dir();
    let mut captures = Vec::new();
    for folder in sorted_entries(&root)
        .into_iter()
        .filter(|path| path.is_dir())
    {
        for file in sorted_entries(&folder) {
            if file.extension().is_some_and(|extension| extension == "txt")
                && let Some(capture) = read_capture(&file)
            {
                captures.push(capture);
            }
        }
    }
    captures
}

/// Reads a capture file if its request is a SOAP call, i.e. a
/// `POST /Service.asmx` in either case.
fn read_capture(path: &Path) -> Option<Capture> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.split('\n');
    let request_line = lines.find(|line| line.starts_with("POST ") || line.starts_with("GET "))?;
    let target = request_line.split(' ').nth(1)?;
    if !request_line.starts_with("POST ") || !target.eq_ignore_ascii_case("/service.asmx") {
        return None;
    }

    let mut headers = BTreeMap::new();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }

    // The body runs up to the marker line; the capture format puts a blank
    // line between the two, which is not part of what was sent.
    let body_lines: Vec<&str> = lines
        .take_while(|line| {
            !line.starts_with("--- request body re-indented") && !line.starts_with("<<< RESPONSE")
        })
        .collect();
    let body = body_lines.join("\n");
    let body = body.strip_suffix('\n').unwrap_or(&body);
    if let Some(length) = headers.get("content-length") {
        let length: usize = length.parse().unwrap();
        assert_eq!(body.len(), length, "{}: body length", path.display());
    }

    let folder = path.parent().unwrap();
    let client = folder.file_name().unwrap().to_string_lossy().into_owned();
    let file = path.file_stem().unwrap().to_string_lossy().into_owned();
    let step = file
        .split_once('-')
        .map_or(file.as_str(), |(_, step)| step)
        .to_owned();
    Some(Capture {
        name: format!("{client}/{file}"),
        client,
        step,
        headers,
        body: body.as_bytes().to_vec(),
    })
}

/// Finds `shared/reference/captures`. CI lays the repository out as
/// `<somewhere>/<clone>/` with `shared/` beside the clone, so it is three
/// levels above this crate; when the workspace sits elsewhere, `shared/`
/// beside the workspace root is the next guess.
fn captures_dir() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = vec![manifest_dir.join("../../../shared/reference/captures")];
    if let Some(workspace) = workspace_root(manifest_dir) {
        candidates.push(workspace.join("../shared/reference/captures"));
    }

    match candidates.iter().find(|candidate| candidate.is_dir()) {
        Some(found) => found.clone(),
        None => panic!(
            "the captures directory is missing; looked in {candidates:?}. Check out \
             shared/ beside the repository clone"
        ),
    }
}

fn workspace_root(manifest_dir: &Path) -> Option<PathBuf> {
    manifest_dir
        .ancestors()
        .skip(1)
        .find(|dir| {
            fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|manifest| manifest.contains("[workspace]"))
        })
        .map(Path::to_path_buf)
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    entries
}
