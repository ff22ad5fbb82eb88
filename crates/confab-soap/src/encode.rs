//! Writing responses.
//!
//! Every response is written in one pass with `quick-xml`, without
//! whitespace between elements, in exactly the shape the captures show real
//! clients accept. Two clients make that shape strict: sfmc-sdk and
//! fuelsdk-node parse with xml2js and no namespace processing, so they look
//! up the literal keys `soap:Envelope` and `soap:Body`, and the response
//! element must be unprefixed with the partnerAPI namespace as its default
//! (captures README, item 17). Any other prefix breaks them.
//!
//! Children are written in WSDL schema order, because zeep and suds validate
//! the order of a `sequence`. Optional fields are left out when they are
//! `None` rather than written empty.
//!
//! Every name, text and attribute value goes out through one filter,
//! `xml_safe`, which replaces any character XML 1.0 forbids with U+FFFD.
//! Decoding already refuses such characters, but responses also carry what
//! the engine stored and wrote, and one control character in them would make
//! the whole response unparseable for every client.
//!
//! SOAP 1.2 requests (WCF) are answered in SOAP 1.2 with a WS-Addressing
//! header, since WCF refuses a 1.1 reply and correlates by `RelatesTo`.
//!
//! ```text
//! SOAP 1.1:  Envelope ─ Body ─ <Operation>Response
//! SOAP 1.2:  Envelope ┬ Header ─ Action, MessageID, RelatesTo?, To
//!                     └ Body ─ <Operation>Response
//! ```

use confab_core::call::Operation;
use confab_core::data_extension::{FieldError, RowErrors};
use confab_core::object::ApiObject;
use confab_core::result::{
    Node, NodeContent, ObjectResult, OverallStatus, RetrieveOutcome, RetrieveStatus, StatusCode,
};
use std::borrow::Cow;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use uuid::Uuid;

use crate::echo::write_object;
use crate::envelope::SoapVersion;
use crate::fault::{Fault, FaultKind};
use crate::xml::is_xml_char;
use crate::{PARTNER_NS, SOAP11_NS, SOAP12_NS, XSI_NS};

/// The XML Schema namespace, declared on every envelope as `xsd`.
const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";
/// The WS-Addressing (August 2004) namespace WCF clients speak.
const WSA_NS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// The `wsa:To` of every SOAP 1.2 response: the anonymous reply address.
const WSA_ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
/// The `wsa:Action` WS-Addressing prescribes for faults.
const WSA_FAULT_ACTION: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault";
/// The WS-Security namespace that qualifies the `Security` fault code.
const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// The namespace of `apifault`, the detail of Server faults.
const FAULT_NS: &str = "urn:fault.partner.exacttarget.com";
/// Who raised a fault, as `faultactor` names it.
const FAULT_ACTOR: &str = "Confab";
/// `apifault/Code` for a Server fault that carries none: `UnexpectedError`.
const UNEXPECTED_ERROR_CODE: i32 = 2;
/// `VersionInfo/VersionDate`: the day this response format was settled.
/// Clients only use VersionInfo as a ping, so a fixed date is enough.
const VERSION_DATE: &str = "2026-12-01T00:00:00Z";
/// `VersionInfo/Notes`.
const VERSION_NOTES: &str =
    "Confab: a self-hosted implementation of the partnerAPI asynchronous layer";

/// What a response needs to know of its request.
#[derive(Debug, Clone)]
pub struct ResponseContext {
    /// Answer in the request's version.
    pub version: SoapVersion,
    /// The request's `wsa:MessageID`, echoed as `wsa:RelatesTo`.
    pub relates_to: Option<String>,
    /// The operation name, for `wsa:Action` (`<action>Response`).
    pub action: String,
}

impl ResponseContext {
    /// The HTTP `Content-Type` of a response in this version.
    pub fn content_type(&self) -> &'static str {
        match self.version {
            SoapVersion::Soap11 => "text/xml; charset=utf-8",
            SoapVersion::Soap12 => "application/soap+xml; charset=utf-8",
        }
    }
}

/// A `quick-xml` writer over a byte buffer.
///
/// Writing into a `Vec` cannot fail, so the methods swallow the `io::Result`
/// with an `expect` instead of making every caller handle an error that
/// never happens.
pub(crate) struct XmlOut {
    writer: Writer<Vec<u8>>,
}

/// Why the `expect`s of [`XmlOut`] hold.
const VEC_WRITE: &str = "writing into a Vec cannot fail";

impl XmlOut {
    fn new() -> Self {
        Self {
            writer: Writer::new(Vec::new()),
        }
    }

    fn event(&mut self, event: Event<'_>) {
        self.writer.write_event(event).expect(VEC_WRITE);
    }

    fn declaration(&mut self) {
        self.event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)));
    }

    pub(crate) fn open(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.event(Event::Start(start_tag(name, attributes)));
    }

    pub(crate) fn close(&mut self, name: &str) {
        self.event(Event::End(BytesEnd::new(xml_safe(name))));
    }

    pub(crate) fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.event(Event::Empty(start_tag(name, attributes)));
    }

    fn text(&mut self, text: &str) {
        self.event(Event::Text(BytesText::new(&xml_safe(text))));
    }

    /// An element holding only text; empty text gives `<name></name>`.
    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.open(name, &[]);
        self.text(text);
        self.close(name);
    }

    fn finish(self) -> String {
        String::from_utf8(self.writer.into_inner()).expect("only str data is written")
    }
}

/// A start tag, its name and attributes passed through [`xml_safe`].
fn start_tag<'a>(name: &'a str, attributes: &[(&str, &str)]) -> BytesStart<'a> {
    let mut start = BytesStart::new(xml_safe(name));
    for (key, value) in attributes {
        start.push_attribute((xml_safe(key).as_ref(), xml_safe(value).as_ref()));
    }
    start
}

/// `text` with every character XML 1.0 forbids (see [`is_xml_char`])
/// replaced by U+FFFD, the replacement character. It borrows in the usual
/// case of nothing to replace.
fn xml_safe(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_xml_char) {
        return Cow::Borrowed(text);
    }
    let replace = |character| {
        if is_xml_char(character) {
            character
        } else {
            char::REPLACEMENT_CHARACTER
        }
    };
    Cow::Owned(text.chars().map(replace).collect())
}

/// Writes the response to a Create, Update, Delete or Perform.
///
/// Create, Update and Delete answer with one `Results` per result, then
/// `RequestID` and `OverallStatus`; Perform wraps its results in
/// `Results/Result` and adds `OverallStatusMessage`, as the schema orders
/// them.
pub fn object_response(
    context: &ResponseContext,
    operation: Operation,
    results: &[ObjectResult],
    request_id: &str,
    overall: OverallStatus,
) -> String {
    let action = response_action(context);
    envelope(context, &action, |out| {
        if operation == Operation::Perform {
            write_perform_body(out, results, request_id, overall);
        } else {
            write_object_body(out, operation, results, request_id, overall);
        }
    })
}

/// Writes the response to a Retrieve.
///
/// Each node of the outcome becomes one element, normally `Results` with an
/// `xsi:type`; its content is written as it is, so the node's child order is
/// the order on the wire.
pub fn retrieve_response(context: &ResponseContext, outcome: &RetrieveOutcome) -> String {
    let action = response_action(context);
    envelope(context, &action, |out| {
        out.open("RetrieveResponseMsg", &[("xmlns", PARTNER_NS)]);
        out.leaf("OverallStatus", &retrieve_status_text(&outcome.status));
        out.leaf("RequestID", &outcome.request_id);
        for node in &outcome.results {
            write_node(out, node);
        }
        out.close("RetrieveResponseMsg");
    })
}

/// Writes the response to VersionInfo.
pub fn version_info_response(context: &ResponseContext, request_id: &str) -> String {
    let action = response_action(context);
    envelope(context, &action, |out| {
        out.open("VersionInfoResponseMsg", &[("xmlns", PARTNER_NS)]);
        out.open("VersionInfo", &[]);
        out.leaf("Version", env!("CARGO_PKG_VERSION"));
        out.leaf("VersionDate", VERSION_DATE);
        out.leaf("Notes", VERSION_NOTES);
        out.close("VersionInfo");
        out.leaf("RequestID", request_id);
        out.close("VersionInfoResponseMsg");
    })
}

/// Writes a fault.
///
/// Only Server faults carry an `apifault` detail, as the real service does;
/// Client faults carry an empty detail and Security faults none. In SOAP
/// 1.2 the `wsa:Action` is the WS-Addressing fault action rather than
/// `<action>Response`, because a fault is not the operation's output.
pub fn fault_response(context: &ResponseContext, fault: &Fault) -> String {
    envelope(context, WSA_FAULT_ACTION, |out| match context.version {
        SoapVersion::Soap11 => write_fault_11(out, fault),
        SoapVersion::Soap12 => write_fault_12(out, fault),
    })
}

/// The HTTP status of a fault response.
///
/// Always 500: the SOAP 1.1 HTTP binding sends every fault with it, and
/// zeep, for one, only looks for a fault in a 500 response. The fault is
/// taken anyway so that callers need not change should a kind of fault ever
/// need a status of its own.
pub fn fault_status(_fault: &Fault) -> u16 {
    500
}

/// Writes the per-object results of a call as a standalone document, for
/// `ResultDetailXML`.
///
/// The real format of this field is unpublished (spec §5.5), so Confab picks
/// the shape a .NET `XmlSerializer` would give an array of results: a root
/// `Results` element in the partnerAPI namespace holding one `Result` per
/// object, each with an `xsi:type` naming its WSDL type (the result's
/// subtype when it has one, else `CreateResult`, `UpdateResult`,
/// `DeleteResult` or `PerformResult`) and the same children as in a SOAP
/// response. A client can deserialise each `Result` into its generated
/// result class without knowing the root.
pub fn result_detail_xml(operation: Operation, results: &[ObjectResult]) -> String {
    result_detail_xml_with_objects(operation, results, &ObjectEcho::None)
}

/// Which objects a `ResultDetailXML` echoes in its results' `Object`.
#[derive(Debug, Clone, Copy)]
pub enum ObjectEcho<'a> {
    /// None (`IncludeObjects` false).
    None,
    /// Each result's object, whole; one per result, in order.
    Full(&'a [ApiObject]),
    /// Each result's object cut down to the `APIObject` properties
    /// (`OnlyIncludeBase`).
    BaseOnly(&'a [ApiObject]),
}

/// [`result_detail_xml`] with each result's object echoed as `echo` says,
/// the shape a callback's `ResultDetailXML` takes with `IncludeObjects`.
pub fn result_detail_xml_with_objects(
    operation: Operation,
    results: &[ObjectResult],
    echo: &ObjectEcho<'_>,
) -> String {
    let mut out = XmlOut::new();
    out.declaration();
    out.open("Results", &[("xmlns", PARTNER_NS), ("xmlns:xsi", XSI_NS)]);
    for result in results {
        let xsi_type = result
            .result_subtype
            .as_deref()
            .unwrap_or(operation.result_type());
        out.open("Result", &[("xsi:type", xsi_type)]);
        let ordinal = usize::try_from(result.ordinal_id).unwrap_or(usize::MAX);
        let object = match echo {
            ObjectEcho::None => None,
            ObjectEcho::Full(objects) => objects.get(ordinal).map(|object| (object, false)),
            ObjectEcho::BaseOnly(objects) => objects.get(ordinal).map(|object| (object, true)),
        };
        write_result_fields_with(&mut out, operation, result, object);
        out.close("Result");
    }
    out.close("Results");
    out.finish()
}

/// The `wsa:Action` of a successful response.
fn response_action(context: &ResponseContext) -> String {
    format!("{}Response", context.action)
}

/// A fresh `wsa:MessageID`.
fn new_message_id() -> String {
    format!("urn:uuid:{}", Uuid::new_v4())
}

/// Writes a whole response document around the body `write_body` fills in.
fn envelope(
    context: &ResponseContext,
    action: &str,
    write_body: impl FnOnce(&mut XmlOut),
) -> String {
    envelope_with_id(context, action, &new_message_id(), write_body)
}

/// [`envelope`] with a chosen `wsa:MessageID`, so tests can pin it.
fn envelope_with_id(
    context: &ResponseContext,
    action: &str,
    message_id: &str,
    write_body: impl FnOnce(&mut XmlOut),
) -> String {
    let mut out = XmlOut::new();
    out.declaration();

    let soap_ns = match context.version {
        SoapVersion::Soap11 => SOAP11_NS,
        SoapVersion::Soap12 => SOAP12_NS,
    };
    let mut namespaces = vec![("xmlns:soap", soap_ns)];
    if context.version == SoapVersion::Soap12 {
        namespaces.push(("xmlns:wsa", WSA_NS));
    }
    namespaces.extend([("xmlns:xsi", XSI_NS), ("xmlns:xsd", XSD_NS)]);
    out.open("soap:Envelope", &namespaces);

    // SOAP 1.1 clients neither send nor expect WS-Addressing, and the
    // captured 1.1 responses they accept have no Header at all.
    if context.version == SoapVersion::Soap12 {
        write_addressing_header(&mut out, context, action, message_id);
    }

    out.open("soap:Body", &[]);
    write_body(&mut out);
    out.close("soap:Body");
    out.close("soap:Envelope");
    out.finish()
}

/// Writes the SOAP 1.2 `Header` with the WS-Addressing reply fields.
fn write_addressing_header(
    out: &mut XmlOut,
    context: &ResponseContext,
    action: &str,
    message_id: &str,
) {
    out.open("soap:Header", &[]);
    out.leaf("wsa:Action", action);
    out.leaf("wsa:MessageID", message_id);
    if let Some(relates_to) = &context.relates_to {
        out.leaf("wsa:RelatesTo", relates_to);
    }
    out.leaf("wsa:To", WSA_ANONYMOUS);
    out.close("soap:Header");
}

/// Writes `CreateResponse`, `UpdateResponse` or `DeleteResponse`.
fn write_object_body(
    out: &mut XmlOut,
    operation: Operation,
    results: &[ObjectResult],
    request_id: &str,
    overall: OverallStatus,
) {
    let element = format!("{}Response", operation.as_str());
    out.open(&element, &[("xmlns", PARTNER_NS)]);
    for result in results {
        write_result(out, "Results", operation, result);
    }
    out.leaf("RequestID", request_id);
    out.leaf("OverallStatus", overall.as_str());
    out.close(&element);
}

/// Writes `PerformResponseMsg`.
fn write_perform_body(
    out: &mut XmlOut,
    results: &[ObjectResult],
    request_id: &str,
    overall: OverallStatus,
) {
    out.open("PerformResponseMsg", &[("xmlns", PARTNER_NS)]);
    out.open("Results", &[]);
    for result in results {
        write_result(out, "Result", Operation::Perform, result);
    }
    out.close("Results");
    out.leaf("OverallStatus", overall.as_str());
    out.leaf("OverallStatusMessage", overall_status_message(results));
    out.leaf("RequestID", request_id);
    out.close("PerformResponseMsg");
}

/// `OverallStatusMessage` of a Perform: the first error's message, so that
/// a caller who reads only the overall fields still learns what went wrong;
/// empty when everything worked.
fn overall_status_message(results: &[ObjectResult]) -> &str {
    results
        .iter()
        .find(|result| result.status_code == StatusCode::Error)
        .map_or("", |result| result.status_message.as_str())
}

/// Writes one result element, typed with `xsi:type` when it is a subtype.
fn write_result(out: &mut XmlOut, element: &str, operation: Operation, result: &ObjectResult) {
    match &result.result_subtype {
        Some(subtype) => out.open(element, &[("xsi:type", subtype)]),
        None => out.open(element, &[]),
    }
    write_result_fields(out, operation, result);
    out.close(element);
}

/// Writes the children of a result in schema order: the `Result` base,
/// then what `CreateResult` adds, then the data extension row errors.
///
/// `Object` is left out although `UpdateResult`, `DeleteResult` and
/// `PerformResult` declare it required: Confab does not echo objects, and
/// clients tolerate a required element missing at the end of a result.
/// `CorrelationID` is not a `Result` field, so it is not written either.
fn write_result_fields(out: &mut XmlOut, operation: Operation, result: &ObjectResult) {
    write_result_fields_with(out, operation, result, None);
}

/// [`write_result_fields`] with an echoed object (and whether only its base
/// properties go out) in the place the schema gives `Object`.
fn write_result_fields_with(
    out: &mut XmlOut,
    operation: Operation,
    result: &ObjectResult,
    object: Option<(&ApiObject, bool)>,
) {
    out.leaf("StatusCode", result.status_code.as_str());
    out.leaf("StatusMessage", &result.status_message);
    out.leaf("OrdinalID", &result.ordinal_id.to_string());
    if let Some(error_code) = result.error_code {
        out.leaf("ErrorCode", &error_code.to_string());
    }
    if let Some(request_id) = &result.request_id {
        out.leaf("RequestID", request_id);
    }
    if let Some(conversation_id) = &result.conversation_id {
        out.leaf("ConversationID", conversation_id);
    }
    if let Some(request_type) = result.request_type {
        out.leaf("RequestType", request_type.as_str());
    }

    if operation == Operation::Create {
        out.leaf("NewID", &result.new_id.to_string());
        if let Some(new_object_id) = &result.new_object_id {
            out.leaf("NewObjectID", new_object_id);
        }
    }
    if let Some((object, base_only)) = object {
        write_object(out, object, base_only);
    }

    // Only the DataExtension result subtypes declare the error lists, so
    // they go out only on a typed result.
    let Some(errors) = &result.row_errors else {
        return;
    };
    if result.result_subtype.is_some() && !errors.is_empty() {
        write_row_errors(out, operation, errors, object.is_some());
    }
}

/// Writes `ErrorMessage`, `KeyErrors` and `ValueErrors` of a data extension
/// result.
///
/// On update and delete results the required `Object` comes before these
/// fields. A missing `Object` followed by `ErrorMessage` makes zeep (strict,
/// with the real WSDL) refuse the whole response, so an empty `Object` holds
/// its place: `APIObject` has only optional children, and zeep reads it as
/// no object.
///
/// `DataExtensionDeleteResult` declares no `ValueErrors`; a delete only
/// checks keys, so nothing is lost by leaving them out there.
fn write_row_errors(out: &mut XmlOut, operation: Operation, errors: &RowErrors, echoed: bool) {
    if !echoed && matches!(operation, Operation::Update | Operation::Delete) {
        out.empty("Object", &[]);
    }
    out.leaf("ErrorMessage", &errors.summary());
    write_error_list(out, "KeyErrors", "KeyError", &errors.key_errors);
    if operation != Operation::Delete {
        write_error_list(out, "ValueErrors", "ValueError", &errors.value_errors);
    }
}

/// Writes one list of `DataExtensionError`s, or nothing when it is empty.
fn write_error_list(out: &mut XmlOut, list: &str, item: &str, errors: &[FieldError]) {
    if errors.is_empty() {
        return;
    }
    out.open(list, &[]);
    for error in errors {
        out.open(item, &[]);
        out.leaf("Name", &error.name);
        out.leaf("ErrorCode", &error.error_code.to_string());
        out.leaf("ErrorMessage", &error.message);
        out.close(item);
    }
    out.close(list);
}

/// The wire text of a Retrieve's `OverallStatus`. Clients split an error on
/// the first `:` to get the message, so the prefix is fixed.
fn retrieve_status_text(status: &RetrieveStatus) -> String {
    match status {
        RetrieveStatus::Ok => "OK".to_owned(),
        RetrieveStatus::MoreDataAvailable => "MoreDataAvailable".to_owned(),
        RetrieveStatus::Error(message) => format!("Error: {message}"),
    }
}

/// Writes a returned object, and its children, as they are.
fn write_node(out: &mut XmlOut, node: &Node) {
    let mut attributes = Vec::new();
    if let Some(xsi_type) = &node.xsi_type {
        attributes.push(("xsi:type", xsi_type.as_str()));
    }

    match &node.content {
        NodeContent::Text(text) => {
            out.open(&node.name, &attributes);
            out.text(text);
            out.close(&node.name);
        }
        NodeContent::Nil => {
            attributes.push(("xsi:nil", "true"));
            out.empty(&node.name, &attributes);
        }
        NodeContent::Children(children) => {
            out.open(&node.name, &attributes);
            for child in children {
                write_node(out, child);
            }
            out.close(&node.name);
        }
    }
}

/// Writes a SOAP 1.1 `Fault`. Its children are unqualified, as SOAP 1.1
/// declares them.
fn write_fault_11(out: &mut XmlOut, fault: &Fault) {
    out.open("soap:Fault", &[]);
    match fault.kind {
        FaultKind::Client => out.leaf("faultcode", "soap:Client"),
        FaultKind::Server => out.leaf("faultcode", "soap:Server"),
        FaultKind::Security => write_security_code(out, "faultcode"),
    }
    out.leaf("faultstring", &fault.message);
    out.leaf("faultactor", FAULT_ACTOR);
    match fault.kind {
        FaultKind::Client => out.empty("detail", &[]),
        FaultKind::Server => {
            out.open("detail", &[]);
            write_api_fault(out, fault);
            out.close("detail");
        }
        FaultKind::Security => {}
    }
    out.close("soap:Fault");
}

/// Writes a SOAP 1.2 `Fault`. The security code has no SOAP 1.2 value of
/// its own, so it becomes the subcode of `Sender`.
fn write_fault_12(out: &mut XmlOut, fault: &Fault) {
    out.open("soap:Fault", &[]);
    out.open("soap:Code", &[]);
    match fault.kind {
        FaultKind::Client => out.leaf("soap:Value", "soap:Sender"),
        FaultKind::Server => out.leaf("soap:Value", "soap:Receiver"),
        FaultKind::Security => {
            out.leaf("soap:Value", "soap:Sender");
            out.open("soap:Subcode", &[]);
            write_security_code(out, "soap:Value");
            out.close("soap:Subcode");
        }
    }
    out.close("soap:Code");

    out.open("soap:Reason", &[]);
    out.open("soap:Text", &[("xml:lang", "en")]);
    out.text(&fault.message);
    out.close("soap:Text");
    out.close("soap:Reason");

    match fault.kind {
        FaultKind::Client => out.empty("soap:Detail", &[]),
        FaultKind::Server => {
            out.open("soap:Detail", &[]);
            write_api_fault(out, fault);
            out.close("soap:Detail");
        }
        FaultKind::Security => {}
    }
    out.close("soap:Fault");
}

/// Writes the `wsse:Security` QName as the text of `element`, declaring the
/// prefix on the element itself so the QName resolves wherever it sits.
fn write_security_code(out: &mut XmlOut, element: &str) {
    out.open(element, &[("xmlns:wsse", WSSE_NS)]);
    out.text("wsse:Security");
    out.close(element);
}

/// Writes the `apifault` detail of a Server fault.
fn write_api_fault(out: &mut XmlOut, fault: &Fault) {
    let code = fault.api_code.unwrap_or(UNEXPECTED_ERROR_CODE);
    out.open("apifault", &[("xmlns", FAULT_NS)]);
    out.leaf("Code", &code.to_string());
    out.leaf("Message", &fault.message);
    out.close("apifault");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn soap12(relates_to: Option<&str>) -> ResponseContext {
        ResponseContext {
            version: SoapVersion::Soap12,
            relates_to: relates_to.map(str::to_owned),
            action: "Create".to_owned(),
        }
    }

    #[test]
    fn soap12_header_echoes_the_request_message_id() {
        let context = soap12(Some("urn:uuid:request"));
        let xml = envelope_with_id(&context, "CreateResponse", "urn:uuid:reply", |_| {});
        let expected = concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" "#,
            r#"xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
            r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
            r#"xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
            "<soap:Header><wsa:Action>CreateResponse</wsa:Action>",
            "<wsa:MessageID>urn:uuid:reply</wsa:MessageID>",
            "<wsa:RelatesTo>urn:uuid:request</wsa:RelatesTo>",
            "<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>",
            "</soap:Header><soap:Body></soap:Body></soap:Envelope>",
        );
        assert_eq!(xml, expected);
    }

    #[test]
    fn soap12_header_leaves_out_relates_to_when_unknown() {
        let xml = envelope_with_id(&soap12(None), "CreateResponse", "urn:uuid:reply", |_| {});
        assert!(!xml.contains("RelatesTo"));
        assert!(xml.contains("<wsa:MessageID>urn:uuid:reply</wsa:MessageID><wsa:To>"));
    }

    #[test]
    fn message_ids_are_fresh_uuid_urns() {
        let first = new_message_id();
        let uuid = first.strip_prefix("urn:uuid:").unwrap();
        assert!(Uuid::parse_str(uuid).is_ok());
        assert_ne!(first, new_message_id());
    }

    #[test]
    fn perform_status_message_is_the_first_error() {
        let results = vec![
            ObjectResult::ok(0, "fine"),
            ObjectResult::error(1, 5, "first"),
            ObjectResult::error(2, 6, "second"),
        ];
        assert_eq!(overall_status_message(&results), "first");
        assert_eq!(overall_status_message(&results[..1]), "");
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        let mut out = XmlOut::new();
        out.open("a", &[("b", "\"<&>'")]);
        out.text("<&>\"'");
        out.close("a");
        assert_eq!(
            out.finish(),
            r#"<a b="&quot;&lt;&amp;&gt;&apos;">&lt;&amp;&gt;&quot;&apos;</a>"#
        );
    }

    #[test]
    fn forbidden_characters_never_reach_the_output() {
        let mut out = XmlOut::new();
        out.open("a\u{1}", &[("b\u{2}", "x\u{0}y\u{FFFE}")]);
        out.text("one\u{B}two\u{FFFF}three\u{1F}");
        out.close("a\u{1}");
        out.empty("c", &[("d", "\u{7}")]);
        assert_eq!(
            out.finish(),
            "<a\u{FFFD} b\u{FFFD}=\"x\u{FFFD}y\u{FFFD}\">one\u{FFFD}two\u{FFFD}three\u{FFFD}\
             </a\u{FFFD}><c d=\"\u{FFFD}\"/>"
        );
    }

    #[test]
    fn xml_safe_keeps_every_allowed_character_and_borrows() {
        let allowed = "\t\n\r plain € \u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}";
        assert!(matches!(xml_safe(allowed), Cow::Borrowed(text) if text == allowed));
        assert_eq!(xml_safe("\u{0}a\u{FFFF}"), "\u{FFFD}a\u{FFFD}");
    }
}
