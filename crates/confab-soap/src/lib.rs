//! The SOAP front of Confab, without I/O: envelopes in, envelopes out.
//!
//! This crate is the only place that knows XML. It reads what real clients
//! send (every capture under `shared/reference/captures` must decode), turns
//! it into the calls of `confab-core`, and writes responses byte for byte the
//! way picky clients expect them (the `soap` prefix on SOAP 1.1, response
//! elements unprefixed in the partnerAPI namespace).
//!
//! # Layout
//!
//! - [`envelope`]: finds version, action, credentials and body.
//! - [`decode`]: turns the body into a [`confab_core::call::Call`].
//! - [`encode`]: writes responses; `echo` writes the objects a callback's
//!   `ResultDetailXML` echoes.
//! - [`fault`]: the three fault shapes the service uses.
//! - [`wsdl`]: the WSDL and fault schema Confab serves.

pub mod decode;
mod echo;
pub mod encode;
pub mod envelope;
pub mod fault;
pub mod wsdl;
mod xml;

pub use encode::ResponseContext;
pub use envelope::{Credentials, Envelope, SoapVersion, decode_envelope};
pub use fault::{Fault, FaultKind};

/// The partnerAPI namespace every body element lives in.
pub const PARTNER_NS: &str = "http://exacttarget.com/wsdl/partnerAPI";
/// The SOAP 1.1 envelope namespace.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The SOAP 1.2 envelope namespace.
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// The XML Schema instance namespace (`xsi:type`, `xsi:nil`).
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
