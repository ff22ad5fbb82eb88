//! Reading the envelope: version, action, credentials, body.
//!
//! [`decode_envelope`] takes a request apart in this order:
//!
//! ```text
//! bytes ─ xml::parse ─> Envelope ── its namespace ─────────────> version
//!                         ├─ Header, before or after Body
//!                         │    ├─ fueloauth, oAuth, Security ─> credentials
//!                         │    └─ MessageID ──────────────────> message_id
//!                         └─ Body: exactly one request element ─┐
//! SOAPAction header,                                            │
//!   else wsa:Action in the Header,                              │
//!   else action="..." in the content type ─> action ─ decode ───┴─> call
//! ```
//!
//! Failures come in two kinds. What makes a message unreadable as a call at
//! all (not XML, not a SOAP envelope, no Body, no action, a header entry
//! marked `mustUnderstand` that Confab does not understand, more than one
//! credential) fails [`decode_envelope`] itself. Anything wrong with the body
//! is kept in [`Envelope::call`] instead, so that the caller is
//! authenticated before it is told what is wrong with its request.
//!
//! A header carries one credential. The one combination of two that clients
//! send on purpose is the legacy `oAuth` token with a `*`/`*` UsernameToken
//! (spec §3.3), where the UsernameToken is a placeholder; a `*`/`*`
//! UsernameToken next to a `fueloauth` token is read the same way. Anything
//! else with two credentials, even two of the same kind, is refused rather
//! than resolved by picking one: the two may name different accounts, and
//! the call would run as whichever Confab happened to prefer.
//!
//! Everything is found by namespace and local name, never by prefix
//! (captures README item 5). The header entries Confab reads are matched by
//! local name in any namespace, because clients disagree on theirs:
//! `fueloauth` arrives in `http://exacttarget.com` or in none, `oAuthToken`
//! in no namespace (spec §3).

use confab_core::call::Call;

use crate::decode::{canonical_action, decode_call};
use crate::fault::Fault;
use crate::xml::{self, Element};
use crate::{SOAP11_NS, SOAP12_NS};

/// The header entries Confab understands, in the sense of SOAP's
/// `mustUnderstand`: its credentials and the WS-Addressing headers. Like
/// every header entry Confab reads, they are matched by local name in any
/// namespace.
const UNDERSTOOD_HEADERS: [&str; 10] = [
    "fueloauth",
    "oAuth",
    "Security",
    "Action",
    "MessageID",
    "To",
    "ReplyTo",
    "From",
    "FaultTo",
    "RelatesTo",
];

/// The SOAP 1.1 `actor` that targets whichever node reads the message next,
/// Confab included.
const SOAP11_ACTOR_NEXT: &str = "http://schemas.xmlsoap.org/soap/actor/next";
/// The SOAP 1.2 roles Confab plays: the next node and the ultimate receiver.
const SOAP12_ROLES: [&str; 2] = [
    "http://www.w3.org/2003/05/soap-envelope/role/next",
    "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver",
];

/// The SOAP version of a request; the response uses the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapVersion {
    /// SOAP 1.1 (`text/xml`).
    Soap11,
    /// SOAP 1.2 (`application/soap+xml`), usually with WS-Addressing.
    Soap12,
}

/// How the caller authenticates, as found in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials at all.
    None,
    /// `fueloauth` (any namespace, nested or not): an access token. A
    /// `*`/`*` UsernameToken that comes with it is ignored.
    AccessToken(String),
    /// `oAuth/oAuthToken`: a legacy token. A `*`/`*` UsernameToken that
    /// comes with it is ignored.
    LegacyToken(String),
    /// WS-Security `UsernameToken` with a plain-text password.
    UsernameToken {
        /// `Username`.
        username: String,
        /// `Password`.
        password: String,
    },
}

/// A request envelope, read.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// SOAP 1.1 or 1.2.
    pub version: SoapVersion,
    /// The operation name (`Create`, `Retrieve`, ...), from `SOAPAction`,
    /// `wsa:Action` or the SOAP 1.2 content type's `action` parameter. A
    /// partnerAPI operation is spelled canonically whatever case the client
    /// used; any other name is kept as sent (and [`Envelope::call`] is a
    /// fault).
    pub action: String,
    /// `wsa:MessageID`, echoed as `wsa:RelatesTo` in the response.
    pub message_id: Option<String>,
    /// The caller's credentials.
    pub credentials: Credentials,
    /// The call in the body, or the client fault that says why it cannot
    /// be read. Kept apart so that a caller is authenticated before being
    /// told what is wrong with the body.
    pub call: Result<Call, Fault>,
}

impl SoapVersion {
    /// The envelope namespace of this version.
    pub fn namespace(self) -> &'static str {
        match self {
            Self::Soap11 => SOAP11_NS,
            Self::Soap12 => SOAP12_NS,
        }
    }

    /// The version a `Content-Type` header announces: `application/soap+xml`
    /// is SOAP 1.2, anything else 1.1. The envelope decides for a request
    /// that decodes; this is for answering one that does not.
    pub fn from_content_type(content_type: Option<&str>) -> Self {
        let media_type = content_type
            .and_then(|value| value.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        if media_type.eq_ignore_ascii_case("application/soap+xml") {
            Self::Soap12
        } else {
            Self::Soap11
        }
    }
}

/// Reads a request.
///
/// `content_type` and `soap_action` are the raw HTTP header values, if the
/// request had them.
///
/// # Errors
///
/// A client fault when the body is not UTF-8 XML (or holds a character XML
/// 1.0 forbids), its root is not a SOAP 1.1 or 1.2 `Envelope`, the envelope
/// has no `Body` (or two of `Header` or `Body`), a header entry Confab does
/// not understand is marked `mustUnderstand`, neither `SOAPAction`, a
/// WS-Addressing `Action` header nor the content type names an operation,
/// or the header carries more than one credential.
pub fn decode_envelope(
    body: &[u8],
    content_type: Option<&str>,
    soap_action: Option<&str>,
) -> Result<Envelope, Fault> {
    let root = xml::parse(body).map_err(|error| Fault::client(error.to_string()))?;
    let version = envelope_version(&root)?;
    let (header, body) = envelope_parts(&root, version)?;
    if let Some(header) = header {
        check_must_understand(header, version)?;
    }

    let Some(action) = find_action(soap_action, header, content_type) else {
        return Err(Fault::client(
            "the request names no operation: send a SOAPAction header (for example \
             SOAPAction: Create) or a WS-Addressing Action header",
        ));
    };
    let action = canonical_action(&action).map_or(action, str::to_owned);

    let message_id = header
        .and_then(|header| header_entry(header, "MessageID"))
        .map(|entry| entry.text.trim().to_owned())
        .filter(|id| !id.is_empty());
    let credentials = match header {
        Some(header) => read_credentials(header)?,
        None => Credentials::None,
    };
    let call = decode_body(&action, body);

    Ok(Envelope {
        version,
        action,
        message_id,
        credentials,
        call,
    })
}

/// The SOAP version, from the namespace of the root `Envelope`.
fn envelope_version(root: &Element) -> Result<SoapVersion, Fault> {
    if root.is(SOAP11_NS, "Envelope") {
        return Ok(SoapVersion::Soap11);
    }
    if root.is(SOAP12_NS, "Envelope") {
        return Ok(SoapVersion::Soap12);
    }

    let message = if root.name.local == "Envelope" {
        format!(
            "the request is not a SOAP envelope: {} is in neither the SOAP 1.1 namespace \
             {SOAP11_NS} nor the SOAP 1.2 namespace {SOAP12_NS}",
            root.name
        )
    } else {
        format!(
            "the request is not a SOAP envelope: its root element is {} instead of Envelope",
            root.name
        )
    };
    Err(Fault::client(message))
}

/// Finds `Header` (optional) and `Body` among the envelope's children. They
/// are looked for anywhere, since sfmc-sdk and fuelsdk-node put the header
/// after the body (captures README item 4).
fn envelope_parts(
    root: &Element,
    version: SoapVersion,
) -> Result<(Option<&Element>, &Element), Fault> {
    let namespace = version.namespace();
    let mut header = None;
    let mut body = None;
    for child in &root.children {
        let slot = if child.is(namespace, "Header") {
            &mut header
        } else if child.is(namespace, "Body") {
            &mut body
        } else {
            continue;
        };
        if slot.replace(child).is_some() {
            return Err(Fault::client(format!(
                "the envelope holds more than one {}",
                child.name.local
            )));
        }
    }

    match body {
        Some(body) => Ok((header, body)),
        None => Err(Fault::client(format!(
            "the envelope has no Body in the namespace {namespace}"
        ))),
    }
}

/// The operation name: from `SOAPAction`, else from a WS-Addressing `Action`
/// header entry, else from the `action` parameter a SOAP 1.2 content type
/// may carry.
fn find_action(
    soap_action: Option<&str>,
    header: Option<&Element>,
    content_type: Option<&str>,
) -> Option<String> {
    let from_header = || {
        header
            .and_then(|header| header_entry(header, "Action"))
            .and_then(|entry| action_name(&entry.text))
    };
    let from_content_type = || {
        content_type
            .and_then(content_type_action)
            .and_then(action_name)
    };

    soap_action
        .and_then(action_name)
        .or_else(from_header)
        .or_else(from_content_type)
}

/// The operation an action value names. Values arrive quoted (`"Create"`)
/// or bare, and may be a URI whose last segment is the name. An empty value
/// names nothing: SOAP 1.1 allows `SOAPAction: ""`.
fn action_name(raw: &str) -> Option<String> {
    let unquoted = unquote(raw);
    let name = unquoted.rsplit('/').next().unwrap_or(unquoted).trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The `action` parameter of a content type such as
/// `application/soap+xml; charset=utf-8; action="Create"`.
fn content_type_action(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim().eq_ignore_ascii_case("action").then_some(value)
    })
}

fn unquote(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(value)
        .trim()
}

/// Refuses a header entry that is marked `mustUnderstand` and meant for
/// Confab but that Confab does not understand, as SOAP requires (1.1 §4.2.3,
/// 1.2 part 1 §5.2.3). SOAP calls that a `MustUnderstand` fault; Confab's
/// faults have no such code, so it is a client fault.
///
/// Only the attribute in the envelope's own namespace is `mustUnderstand`.
/// suds writes an unqualified one on `Security` (the legacy captures), which
/// SOAP does not count; Confab understands `Security` anyway.
fn check_must_understand(header: &Element, version: SoapVersion) -> Result<(), Fault> {
    let namespace = version.namespace();
    for entry in &header.children {
        let must_understand = entry
            .attribute(Some(namespace), "mustUnderstand")
            .is_some_and(|value| matches!(value.trim(), "1" | "true"));
        let understood = UNDERSTOOD_HEADERS.contains(&entry.name.local.as_str());
        if must_understand && !understood && is_for_confab(entry, version) {
            return Err(Fault::client(format!(
                "header {} must be understood, and Confab does not understand it",
                entry.name
            )));
        }
    }
    Ok(())
}

/// Whether a header entry is meant for Confab, the ultimate receiver. An
/// entry that SOAP 1.1's `actor` or SOAP 1.2's `role` targets at some other
/// node is not Confab's to understand.
fn is_for_confab(entry: &Element, version: SoapVersion) -> bool {
    let namespace = version.namespace();
    let (target, roles): (_, &[&str]) = match version {
        SoapVersion::Soap11 => (
            entry.attribute(Some(namespace), "actor"),
            &[SOAP11_ACTOR_NEXT],
        ),
        SoapVersion::Soap12 => (entry.attribute(Some(namespace), "role"), &SOAP12_ROLES),
    };
    target
        .map(str::trim)
        .is_none_or(|target| target.is_empty() || roles.contains(&target))
}

/// The credential in the header: a `fueloauth` token, a legacy
/// `oAuth/oAuthToken` or a WS-Security UsernameToken.
///
/// Every entry is read, not just the first of a kind, so that a second
/// credential is found and refused (see the module documentation). A `*`/`*`
/// UsernameToken next to a token is the placeholder of spec §3.3 and means
/// nothing.
fn read_credentials(header: &Element) -> Result<Credentials, Fault> {
    // Ruby's savon nests the token in a second fueloauth element, and
    // some clients put it on its own indented line, hence the trimmed text
    // of all descendants.
    let access_tokens = local_children(header, "fueloauth")
        .map(|entry| entry.deep_text().trim().to_owned())
        .filter(|token| !token.is_empty())
        .map(Credentials::AccessToken);
    let legacy_tokens = local_children(header, "oAuth")
        .flat_map(|entry| local_children(entry, "oAuthToken"))
        .map(|token| token.deep_text().trim().to_owned())
        .filter(|token| !token.is_empty())
        .map(Credentials::LegacyToken);
    let mut tokens: Vec<Credentials> = access_tokens.chain(legacy_tokens).collect();
    let mut username_tokens: Vec<Credentials> = local_children(header, "Security")
        .flat_map(|security| local_children(security, "UsernameToken"))
        .filter_map(username_token)
        .collect();

    let ambiguous = || Fault::client("the header carries more than one credential");
    if tokens.len() > 1 || username_tokens.len() > 1 {
        return Err(ambiguous());
    }
    match (tokens.pop(), username_tokens.pop()) {
        (Some(token), Some(username_token)) if is_placeholder(&username_token) => Ok(token),
        (Some(_), Some(_)) => Err(ambiguous()),
        (Some(credentials), None) | (None, Some(credentials)) => Ok(credentials),
        (None, None) => Ok(Credentials::None),
    }
}

/// Whether a UsernameToken is the `*`/`*` placeholder legacy clients send
/// next to their token.
fn is_placeholder(credentials: &Credentials) -> bool {
    matches!(
        credentials,
        Credentials::UsernameToken { username, password }
            if username == "*" && password.trim() == "*"
    )
}

/// Reads a `UsernameToken`. Its `Password` is taken as plain text whatever
/// its `Type` attribute says; a digest simply fails to log in.
fn username_token(token: &Element) -> Option<Credentials> {
    let username = local_children(token, "Username")
        .next()?
        .text
        .trim()
        .to_owned();
    if username.is_empty() {
        return None;
    }
    let password = local_children(token, "Password")
        .next()
        .map(|password| password.text.clone())
        .unwrap_or_default();
    Some(Credentials::UsernameToken { username, password })
}

fn header_entry<'a>(header: &'a Element, local: &'a str) -> Option<&'a Element> {
    local_children(header, local).next()
}

/// Children by local name in any namespace.
fn local_children<'a>(
    parent: &'a Element,
    local: &'a str,
) -> impl Iterator<Item = &'a Element> + 'a {
    parent
        .children
        .iter()
        .filter(move |child| child.name.local == local)
}

/// The call in the SOAP Body, which must hold exactly one element.
fn decode_body(action: &str, body: &Element) -> Result<Call, Fault> {
    match body.children.as_slice() {
        [request] => decode_call(action, request),
        [] => Err(Fault::client("the SOAP Body is empty")),
        elements => Err(Fault::client(format!(
            "the SOAP Body holds {} elements; Confab reads exactly one request element",
            elements.len()
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fault::FaultKind;
    use crate::{PARTNER_NS, XSI_NS};

    const WSA_NS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
    const WSSE_NS: &str =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    const PASSWORD_TEXT: &str = concat!(
        "http://docs.oasis-open.org/wss/2004/01/",
        "oasis-200401-wss-username-token-profile-1.0#PasswordText"
    );
    const VERSION_INFO: &str = concat!(
        r#"<VersionInfoRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">"#,
        "<IncludeVersionHistory>false</IncludeVersionHistory></VersionInfoRequestMsg>"
    );

    /// A SOAP 1.1 envelope with `header` entries (if any) and `body`.
    fn soap11(header: &str, body: &str) -> String {
        format!(
            r#"<e:Envelope xmlns:e="{SOAP11_NS}" xmlns:xsi="{XSI_NS}"><e:Header>{header}</e:Header>
               <e:Body>{body}</e:Body></e:Envelope>"#
        )
    }

    fn decode(xml: &str, content_type: Option<&str>, action: Option<&str>) -> Envelope {
        decode_envelope(xml.as_bytes(), content_type, action).unwrap()
    }

    fn credentials_of(header: &str) -> Credentials {
        decode(&soap11(header, VERSION_INFO), None, Some("VersionInfo")).credentials
    }

    fn envelope_fault(xml: &[u8], action: Option<&str>) -> String {
        let fault = decode_envelope(xml, Some("text/xml"), action).unwrap_err();
        assert_eq!(fault.kind, FaultKind::Client);
        fault.message
    }

    fn call_fault(envelope: &Envelope) -> String {
        let fault = envelope.call.clone().unwrap_err();
        assert_eq!(fault.kind, FaultKind::Client);
        fault.message
    }

    #[test]
    fn soap12_takes_the_action_from_ws_addressing_without_soap_action() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="{SOAP12_NS}" xmlns:a="{WSA_NS}">
                 <s:Header>
                   <a:Action s:mustUnderstand="1">Retrieve</a:Action>
                   <a:MessageID>urn:uuid:6f1c1e4a-1f55-4c1b-9d55-0e8e2a7d2c11</a:MessageID>
                   <a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address>
                     </a:ReplyTo>
                   <fueloauth xmlns="http://exacttarget.com">TOKEN</fueloauth>
                 </s:Header>
                 <s:Body>
                   <RetrieveRequestMsg xmlns="{PARTNER_NS}">
                     <RetrieveRequest><ObjectType>Subscriber</ObjectType></RetrieveRequest>
                   </RetrieveRequestMsg>
                 </s:Body>
               </s:Envelope>"#
        );
        let envelope = decode(&xml, Some("application/soap+xml; charset=utf-8"), None);

        assert_eq!(envelope.version, SoapVersion::Soap12);
        assert_eq!(envelope.action, "Retrieve");
        assert_eq!(
            envelope.message_id.as_deref(),
            Some("urn:uuid:6f1c1e4a-1f55-4c1b-9d55-0e8e2a7d2c11")
        );
        assert_eq!(
            envelope.credentials,
            Credentials::AccessToken("TOKEN".into())
        );
        let Ok(Call::Retrieve(retrieve)) = envelope.call else {
            panic!("not a Retrieve: {:?}", envelope.call);
        };
        assert_eq!(retrieve.object_type, "Subscriber");
    }

    #[test]
    fn soap12_takes_the_action_from_the_content_type() {
        let xml =
            format!(r#"<Envelope xmlns="{SOAP12_NS}"><Body>{VERSION_INFO}</Body></Envelope>"#);
        let content_type = "application/soap+xml; charset=utf-8; \
                            action=\"http://exacttarget.com/wsdl/partnerAPI/VersionInfo\"";
        let envelope = decode(&xml, Some(content_type), None);

        assert_eq!(envelope.version, SoapVersion::Soap12);
        assert_eq!(envelope.action, "VersionInfo");
        assert_eq!(envelope.call, Ok(Call::VersionInfo));
        assert_eq!(envelope.credentials, Credentials::None);
    }

    #[test]
    fn soap_action_spellings_are_normalised() {
        let xml = soap11("", VERSION_INFO);
        for action in [
            "VersionInfo",
            "\"VersionInfo\"",
            "  \"versioninfo\" ",
            "VERSIONINFO",
            "\"http://exacttarget.com/wsdl/partnerAPI/VersionInfo\"",
        ] {
            let envelope = decode(&xml, Some("text/xml"), Some(action));
            assert_eq!(envelope.action, "VersionInfo", "{action}");
            assert_eq!(envelope.call, Ok(Call::VersionInfo), "{action}");
        }
    }

    #[test]
    fn soap_action_comes_before_ws_addressing() {
        let header = format!(r#"<a:Action xmlns:a="{WSA_NS}">Create</a:Action>"#);
        let envelope = decode(&soap11(&header, VERSION_INFO), None, Some("VersionInfo"));
        assert_eq!(envelope.action, "VersionInfo");

        // An empty SOAPAction names nothing, so the header decides.
        let envelope = decode(&soap11(&header, VERSION_INFO), None, Some("\"\""));
        assert_eq!(envelope.action, "Create");
        assert!(call_fault(&envelope).contains("the SOAP action is Create"));
    }

    #[test]
    fn header_after_body_is_found() {
        let xml = format!(
            r#"<Envelope xmlns="{SOAP11_NS}">
                 <Body>{VERSION_INFO}</Body>
                 <Header><fueloauth xmlns="http://exacttarget.com">after</fueloauth></Header>
               </Envelope>"#
        );
        let envelope = decode(&xml, Some("text/xml"), Some("VersionInfo"));
        assert_eq!(
            envelope.credentials,
            Credentials::AccessToken("after".into())
        );
        assert_eq!(envelope.call, Ok(Call::VersionInfo));
    }

    #[test]
    fn fueloauth_is_read_nested_padded_or_without_namespace() {
        let nested = r#"<fueloauth xmlns="http://exacttarget.com"><fueloauth>NESTED</fueloauth>
                        </fueloauth>"#;
        let padded = "<h:fueloauth xmlns=\"http://exacttarget.com\" \
                      xmlns:h=\"http://exacttarget.com\">\n      PADDED\n    </h:fueloauth>";
        let bare = "<fueloauth>BARE</fueloauth>";
        assert_eq!(
            credentials_of(nested),
            Credentials::AccessToken("NESTED".into())
        );
        assert_eq!(
            credentials_of(padded),
            Credentials::AccessToken("PADDED".into())
        );
        assert_eq!(
            credentials_of(bare),
            Credentials::AccessToken("BARE".into())
        );
    }

    #[test]
    fn legacy_token_wins_over_the_star_username_token() {
        let header = format!(
            r#"<wsse:Security xmlns:wsse="{WSSE_NS}" mustUnderstand="true"><wsse:UsernameToken>
               <wsse:Username>*</wsse:Username><wsse:Password>*</wsse:Password></wsse:UsernameToken>
               </wsse:Security><etns:oAuth xmlns:etns="http://exacttarget.com">
               <oAuthToken>LEGACY</oAuthToken></etns:oAuth>"#
        );
        assert_eq!(
            credentials_of(&header),
            Credentials::LegacyToken("LEGACY".into())
        );
    }

    #[test]
    fn username_token_reads_a_cdata_password_whatever_its_type() {
        let header = format!(
            r#"<o:Security xmlns:o="{WSSE_NS}" s:mustUnderstand="1" xmlns:s="{SOAP11_NS}">
                 <o:UsernameToken>
                   <o:Username> api.user </o:Username>
                   <o:Password><![CDATA[p<a>ss&word]]></o:Password>
                 </o:UsernameToken>
               </o:Security>"#
        );
        let expected = Credentials::UsernameToken {
            username: "api.user".into(),
            password: "p<a>ss&word".into(),
        };
        assert_eq!(credentials_of(&header), expected);

        let typed = format!(
            r#"<Security xmlns="{WSSE_NS}"><UsernameToken><Username>u</Username>
               <Password Type="{PASSWORD_TEXT}">p</Password></UsernameToken></Security>"#
        );
        let expected = Credentials::UsernameToken {
            username: "u".into(),
            password: "p".into(),
        };
        assert_eq!(credentials_of(&typed), expected);
    }

    #[test]
    fn no_header_means_no_credentials() {
        let xml =
            format!(r#"<Envelope xmlns="{SOAP11_NS}"><Body>{VERSION_INFO}</Body></Envelope>"#);
        let envelope = decode(&xml, None, Some("VersionInfo"));
        assert_eq!(envelope.credentials, Credentials::None);
        assert_eq!(envelope.message_id, None);
    }

    #[test]
    fn a_missing_action_fails_the_envelope() {
        let xml = soap11("", VERSION_INFO);
        let message = envelope_fault(xml.as_bytes(), None);
        assert!(
            message.starts_with("the request names no operation"),
            "{message}"
        );
        assert_eq!(envelope_fault(xml.as_bytes(), Some(" \"\" ")), message);
    }

    #[test]
    fn bytes_that_are_no_envelope_fail() {
        let not_xml = envelope_fault(b"action=Create&token=abc", Some("Create"));
        assert!(not_xml.contains("not well-formed XML"), "{not_xml}");

        let empty = envelope_fault(b"", Some("Create"));
        assert_eq!(empty, "the request body is empty");

        let html = envelope_fault(b"<html><body/></html>", Some("Create"));
        assert_eq!(
            html,
            "the request is not a SOAP envelope: its root element is html instead of Envelope"
        );

        let wrong_namespace = envelope_fault(br#"<Envelope xmlns="urn:x"/>"#, Some("Create"));
        assert!(
            wrong_namespace.contains("{urn:x}Envelope is in neither"),
            "{wrong_namespace}"
        );
    }

    #[test]
    fn the_envelope_needs_one_body() {
        let no_body = format!(r#"<Envelope xmlns="{SOAP11_NS}"><Header/></Envelope>"#);
        let message = envelope_fault(no_body.as_bytes(), Some("Create"));
        assert_eq!(
            message,
            format!("the envelope has no Body in the namespace {SOAP11_NS}")
        );

        // A Body in the other version's namespace is not this envelope's.
        let mixed =
            format!(r#"<Envelope xmlns="{SOAP11_NS}"><b:Body xmlns:b="{SOAP12_NS}"/></Envelope>"#);
        assert!(envelope_fault(mixed.as_bytes(), Some("Create")).contains("has no Body"));

        let two = format!(r#"<Envelope xmlns="{SOAP11_NS}"><Body/><Body/></Envelope>"#);
        let message = envelope_fault(two.as_bytes(), Some("Create"));
        assert_eq!(message, "the envelope holds more than one Body");
    }

    #[test]
    fn the_body_must_hold_exactly_one_element() {
        let empty = decode(&soap11("", "  "), None, Some("Create"));
        assert_eq!(call_fault(&empty), "the SOAP Body is empty");

        let two = decode(
            &soap11("", &VERSION_INFO.repeat(2)),
            None,
            Some("VersionInfo"),
        );
        assert!(call_fault(&two).starts_with("the SOAP Body holds 2 elements"));
    }

    #[test]
    fn action_and_body_must_agree() {
        let retrieve = format!(r#"<RetrieveRequestMsg xmlns="{PARTNER_NS}"/>"#);
        let envelope = decode(&soap11("", &retrieve), None, Some("Create"));
        assert_eq!(envelope.action, "Create");
        assert_eq!(
            call_fault(&envelope),
            "the SOAP action is Create but the body holds RetrieveRequestMsg; a Create call \
             carries CreateRequest"
        );
    }

    #[test]
    fn the_body_element_must_be_a_partner_api_element() {
        let foreign = r#"<CreateRequest xmlns="urn:other"/>"#;
        let envelope = decode(&soap11("", foreign), None, Some("Create"));
        assert_eq!(
            call_fault(&envelope),
            format!(
                "the body element {{urn:other}}CreateRequest is not in the partnerAPI \
                 namespace {PARTNER_NS}"
            )
        );
    }

    #[test]
    fn unimplemented_operations_fault_after_credentials_are_read() {
        let header = r#"<fueloauth xmlns="http://exacttarget.com">T</fueloauth>"#;
        let query = format!(r#"<QueryRequestMsg xmlns="{PARTNER_NS}"/>"#);
        let envelope = decode(&soap11(header, &query), None, Some("\"query\""));

        assert_eq!(envelope.action, "Query");
        assert_eq!(envelope.credentials, Credentials::AccessToken("T".into()));
        assert_eq!(
            call_fault(&envelope),
            "Confab does not implement the Query operation"
        );

        for (action, element) in [
            ("Describe", "DefinitionRequestMsg"),
            ("Execute", "ExecuteRequestMsg"),
            ("Configure", "ConfigureRequestMsg"),
            ("Schedule", "ScheduleRequestMsg"),
            ("Extract", "ExtractRequestMsg"),
            ("GetSystemStatus", "SystemStatusRequestMsg"),
        ] {
            let body = format!(r#"<{element} xmlns="{PARTNER_NS}"/>"#);
            let envelope = decode(&soap11("", &body), None, Some(action));
            let expected = format!("Confab does not implement the {action} operation");
            assert_eq!(call_fault(&envelope), expected);
        }
    }

    #[test]
    fn an_unknown_action_is_kept_and_refused() {
        let envelope = decode(&soap11("", VERSION_INFO), None, Some("Frobnicate"));
        assert_eq!(envelope.action, "Frobnicate");
        assert_eq!(
            call_fault(&envelope),
            "'Frobnicate' is not an operation of the partnerAPI"
        );
    }

    #[test]
    fn the_content_type_tells_the_version_for_faults() {
        let soap12 = Some("Application/SOAP+XML; charset=utf-8; action=\"Create\"");
        assert_eq!(SoapVersion::from_content_type(soap12), SoapVersion::Soap12);
        let soap11 = Some("text/xml; charset=utf-8");
        assert_eq!(SoapVersion::from_content_type(soap11), SoapVersion::Soap11);
        assert_eq!(SoapVersion::from_content_type(None), SoapVersion::Soap11);
    }

    /// The fault `header` gets, which must fail the envelope.
    fn header_fault(header: &str) -> String {
        let xml = soap11(header, VERSION_INFO);
        envelope_fault(xml.as_bytes(), Some("VersionInfo"))
    }

    fn username_token(username: &str, password: &str) -> String {
        format!(
            r#"<wsse:Security xmlns:wsse="{WSSE_NS}"><wsse:UsernameToken>
               <wsse:Username>{username}</wsse:Username><wsse:Password>{password}</wsse:Password>
               </wsse:UsernameToken></wsse:Security>"#
        )
    }

    const AMBIGUOUS: &str = "the header carries more than one credential";

    #[test]
    fn more_than_one_credential_is_refused() {
        let access = |token: &str| {
            format!(r#"<fueloauth xmlns="http://exacttarget.com">{token}</fueloauth>"#)
        };
        let legacy = |token: &str| {
            format!(
                r#"<oAuth xmlns="http://exacttarget.com"><oAuthToken>{token}</oAuthToken></oAuth>"#
            )
        };
        let two_in_one_security = format!(
            r#"<Security xmlns="{WSSE_NS}"><UsernameToken><Username>a</Username>
               <Password>p</Password></UsernameToken><UsernameToken><Username>b</Username>
               <Password>q</Password></UsernameToken></Security>"#
        );
        let two_legacy_in_one = r#"<oAuth><oAuthToken>A</oAuthToken><oAuthToken>B</oAuthToken>
                                   </oAuth>"#;
        let cases = [
            format!("{}{}", access("A"), access("B")),
            format!("{}{}", access("A"), access("A")),
            format!("{}{}", access("A"), legacy("B")),
            format!("{}{}", legacy("A"), legacy("B")),
            two_legacy_in_one.to_owned(),
            format!("{}{}", username_token("a", "p"), username_token("b", "q")),
            two_in_one_security,
            format!("{}{}", username_token("*", "*"), username_token("*", "*")),
            format!("{}{}", access("A"), username_token("user", "secret")),
            format!("{}{}", legacy("A"), username_token("user", "secret")),
            format!("{}{}{}", access("A"), legacy("B"), username_token("*", "*")),
        ];
        for header in &cases {
            assert_eq!(header_fault(header), AMBIGUOUS, "{header}");
        }
    }

    #[test]
    fn a_star_username_token_next_to_a_token_is_a_placeholder() {
        let star = username_token("*", "*");
        let legacy = format!(
            r#"{star}<etns:oAuth xmlns:etns="http://exacttarget.com">
               <oAuthToken>LEGACY</oAuthToken></etns:oAuth>"#
        );
        assert_eq!(
            credentials_of(&legacy),
            Credentials::LegacyToken("LEGACY".into())
        );

        let access = format!(r#"<fueloauth>TOKEN</fueloauth>{star}"#);
        assert_eq!(
            credentials_of(&access),
            Credentials::AccessToken("TOKEN".into())
        );

        // On its own it is what it is, and fails to log in.
        let alone = Credentials::UsernameToken {
            username: "*".into(),
            password: "*".into(),
        };
        assert_eq!(credentials_of(&star), alone);
    }

    #[test]
    fn empty_credential_entries_do_not_count() {
        let header = format!(
            "<fueloauth> </fueloauth><oAuth><oAuthToken/></oAuth>{}",
            username_token("user", "secret")
        );
        let expected = Credentials::UsernameToken {
            username: "user".into(),
            password: "secret".into(),
        };
        assert_eq!(credentials_of(&header), expected);
    }

    #[test]
    fn an_unknown_header_that_must_be_understood_is_refused() {
        for value in ["1", "true", " true "] {
            let header = format!(
                r#"<x:Session xmlns:x="urn:session" e:mustUnderstand="{value}">s</x:Session>"#
            );
            assert_eq!(
                header_fault(&header),
                "header {urn:session}Session must be understood, and Confab does not \
                 understand it",
                "{value}"
            );
        }

        // SOAP 1.2 takes the attribute from its own namespace.
        let xml = format!(
            r#"<s:Envelope xmlns:s="{SOAP12_NS}"><s:Header>
                 <Trace xmlns="urn:trace" s:mustUnderstand="true"/></s:Header>
                 <s:Body>{VERSION_INFO}</s:Body></s:Envelope>"#
        );
        assert_eq!(
            envelope_fault(xml.as_bytes(), Some("VersionInfo")),
            "header {urn:trace}Trace must be understood, and Confab does not understand it"
        );
    }

    #[test]
    fn headers_that_need_no_understanding_are_ignored() {
        let cases = [
            r#"<x:Session xmlns:x="urn:x">s</x:Session>"#.to_owned(),
            r#"<x:Session xmlns:x="urn:x" e:mustUnderstand="0">s</x:Session>"#.to_owned(),
            r#"<x:Session xmlns:x="urn:x" e:mustUnderstand="false">s</x:Session>"#.to_owned(),
            // Unqualified, the attribute is not SOAP's (suds writes one so).
            r#"<x:Session xmlns:x="urn:x" mustUnderstand="1">s</x:Session>"#.to_owned(),
            // Meant for another node.
            r#"<x:Session xmlns:x="urn:x" e:mustUnderstand="1" e:actor="urn:proxy"/>"#.to_owned(),
            // Understood, in whatever namespace.
            format!(
                r#"<a:Action xmlns:a="{WSA_NS}" e:mustUnderstand="1">VersionInfo</a:Action>
                   <a:To e:mustUnderstand="1" xmlns:a="{WSA_NS}">https://confab</a:To>
                   <b:ReplyTo e:mustUnderstand="1" xmlns:b="http://www.w3.org/2005/08/addressing"
                     ><b:Address>anonymous</b:Address></b:ReplyTo>"#
            ),
            format!(
                r#"{}<fueloauth e:mustUnderstand="1">T</fueloauth>"#,
                username_token("*", "*")
                    .replace("<wsse:Security ", r#"<wsse:Security e:mustUnderstand="1" "#)
            ),
        ];
        for header in &cases {
            let xml = soap11(header, VERSION_INFO);
            let envelope = decode_envelope(xml.as_bytes(), None, Some("VersionInfo"));
            assert!(envelope.is_ok(), "{header}: {envelope:?}");
        }

        let next = r#"<x:Session xmlns:x="urn:x" e:mustUnderstand="1"
                      e:actor="http://schemas.xmlsoap.org/soap/actor/next"/>"#;
        assert!(header_fault(next).starts_with("header {urn:x}Session must be understood"));
    }

    #[test]
    fn a_forbidden_character_fails_the_envelope_and_is_named_not_sent() {
        let body = format!(
            r#"<CreateRequest xmlns="{PARTNER_NS}"><Objects xsi:type="DataExtensionObject">
               <CustomerKey>a&#x1;b</CustomerKey></Objects></CreateRequest>"#
        );
        let message = envelope_fault(soap11("", &body).as_bytes(), Some("Create"));
        assert_eq!(
            message,
            "the request body holds the character U+0001, which XML 1.0 does not allow, in \
             the text of Envelope/Body/CreateRequest/Objects/CustomerKey"
        );
    }
}
