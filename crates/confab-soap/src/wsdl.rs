//! The WSDL and fault schema Confab serves.

/// The WSDL, with its service address and fault-schema import pointing at
/// `base_url` (no trailing slash).
pub fn wsdl_document(base_url: &str) -> String {
    let _ = base_url;
    String::new()
}

/// The fault schema the WSDL imports.
pub fn fault_schema() -> &'static str {
    ""
}
