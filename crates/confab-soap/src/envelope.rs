//! Reading the envelope: version, action, credentials, body.

use confab_core::call::Call;

use crate::fault::Fault;

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
    /// `fueloauth` (any namespace, nested or not): an access token.
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
    /// `wsa:Action` or the SOAP 1.2 content type's `action` parameter.
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

/// Reads a request.
///
/// `content_type` and `soap_action` are the raw HTTP header values. Fails
/// with a client fault when the bytes are not a SOAP envelope at all or no
/// action can be found.
pub fn decode_envelope(
    body: &[u8],
    content_type: Option<&str>,
    soap_action: Option<&str>,
) -> Result<Envelope, Fault> {
    let _ = (body, content_type, soap_action);
    Err(Fault::client("SOAP decoding is not written yet"))
}
