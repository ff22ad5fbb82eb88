//! The WSDL and fault schema Confab serves.
//!
//! Both documents are Confab's own, kept as files next to this module
//! (`wsdl/confab.wsdl`, `wsdl/fault.xsd`) so they read as XML. The WSDL
//! uses the real service's names everywhere a client can see them, so code
//! generated from either description works against Confab, but covers only
//! the operations and types the asynchronous layer needs.
//!
//! The served WSDL points its service address and its fault-schema import at
//! Confab itself. Without that, suds (FuelSDK-Python) reaches for the
//! internet on its first run to fetch the schema the real WSDL imports
//! (captures README, item 20).

use quick_xml::escape::escape;

/// The WSDL, with a placeholder wherever the base address goes.
const WSDL_TEMPLATE: &str = include_str!("wsdl/confab.wsdl");
/// The placeholder in [`WSDL_TEMPLATE`].
const BASE_URL_PLACEHOLDER: &str = "{{BASE_URL}}";
/// The fault schema.
const FAULT_SCHEMA: &str = include_str!("wsdl/fault.xsd");

/// The path, under the base address, the WSDL imports the fault schema
/// from. It is the file name the real WSDL uses, so routes and client-side
/// mappings written for the real service keep working.
pub const FAULT_SCHEMA_PATH: &str = "/ETFrameworkFault.xsd";

/// The WSDL, with its service address and fault-schema import pointing at
/// `base_url` (no trailing slash).
///
/// A trailing slash is dropped anyway, since the paths appended start with
/// one. The address is escaped because it lands in attribute values.
pub fn wsdl_document(base_url: &str) -> String {
    let base_url = base_url.trim_end_matches('/');
    WSDL_TEMPLATE.replace(BASE_URL_PLACEHOLDER, &escape(base_url))
}

/// The fault schema the WSDL imports.
pub fn fault_schema() -> &'static str {
    FAULT_SCHEMA
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_replaced() {
        let wsdl = wsdl_document("http://confab.test/");
        assert!(!wsdl.contains(BASE_URL_PLACEHOLDER));
        assert!(wsdl.contains(r#"location="http://confab.test/Service.asmx""#));
        let import = format!(r#"schemaLocation="http://confab.test{FAULT_SCHEMA_PATH}""#);
        assert!(wsdl.contains(&import));
    }

    #[test]
    fn the_base_address_is_escaped() {
        let wsdl = wsdl_document("http://confab.test/a&b");
        assert!(wsdl.contains(r#"location="http://confab.test/a&amp;b/Service.asmx""#));
    }
}
