//! Writing responses.

use confab_core::call::Operation;
use confab_core::result::{ObjectResult, OverallStatus, RetrieveOutcome};

use crate::envelope::SoapVersion;
use crate::fault::Fault;

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

/// Writes the response to a Create, Update, Delete or Perform.
pub fn object_response(
    context: &ResponseContext,
    operation: Operation,
    results: &[ObjectResult],
    request_id: &str,
    overall: OverallStatus,
) -> String {
    let _ = (context, operation, results, request_id, overall);
    String::new()
}

/// Writes the response to a Retrieve.
pub fn retrieve_response(context: &ResponseContext, outcome: &RetrieveOutcome) -> String {
    let _ = (context, outcome);
    String::new()
}

/// Writes the response to VersionInfo.
pub fn version_info_response(context: &ResponseContext, request_id: &str) -> String {
    let _ = (context, request_id);
    String::new()
}

/// Writes a fault.
pub fn fault_response(context: &ResponseContext, fault: &Fault) -> String {
    let _ = (context, fault);
    String::new()
}
