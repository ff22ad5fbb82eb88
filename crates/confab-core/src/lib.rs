//! The domain of Confab: what the asynchronous layer of the partnerAPI means,
//! written without any I/O.
//!
//! Everything here is plain data and pure functions. The SOAP crate turns
//! envelopes into these types, the store persists them, the engine drives
//! them; none of those concerns leak back in here.
//!
//! # Layout
//!
//! - Identity: [`ids`] (accounts, requests, conversations).
//! - What a client asks for: [`call`] (the operations), [`options`] (the
//!   `Options` element), [`object`] and its concrete kinds
//!   ([`data_extension`], [`subscriber`]), [`filter`] (Retrieve filters).
//! - The asynchronous rules: [`intake`] (checks on receipt),
//!   [`conversation`] (the conversation state machine), [`error_code`]
//!   (codes 200 to 231).
//! - What Confab answers: [`result`], and what its callbacks say and when
//!   they are owed: [`callback`].
//! - [`time`]: the `xsd:dateTime` reading the API uses.

pub mod call;
pub mod callback;
pub mod conversation;
pub mod data_extension;
pub mod error_code;
pub mod filter;
pub mod ids;
pub mod intake;
pub mod object;
pub mod options;
pub mod result;
pub mod subscriber;
pub mod time;

pub use error_code::AsyncErrorCode;
pub use ids::{AccountId, ConversationId, RequestId};
