//! The objects a call carries, typed by their `xsi:type`.
//!
//! Every object extends the WSDL's `APIObject`, whose properties are kept in
//! [`ObjectBase`]. Confab acts on the kinds listed in [`ApiObject`]; anything
//! else the WSDL describes is carried as [`ApiObject::Unsupported`] so that a
//! call can be answered per object instead of failing whole.

use serde::{Deserialize, Serialize};

use crate::data_extension::{DataExtension, DataExtensionObject};
use crate::subscriber::Subscriber;

/// The `APIObject` properties Confab reads from any object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectBase {
    /// `CustomerKey`: the caller's key for the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_key: Option<String>,
    /// `CorrelationID`: the caller's tag for this object in this call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// `ObjectID`: the server's GUID for the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// `ID`: the server's integer id for the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// `Client/ID`: the account the object means to live in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<i64>,
}

/// One object of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ApiObject {
    /// A data extension definition.
    DataExtension(DataExtension),
    /// A row of a data extension.
    DataExtensionObject(DataExtensionObject),
    /// A subscriber.
    Subscriber(Subscriber),
    /// A queued request to cancel (Delete only).
    ScheduledRequest {
        /// The common properties.
        base: ObjectBase,
        /// The request to cancel.
        request_id: String,
    },
    /// A queued conversation to cancel (Delete only).
    ScheduledConversation {
        /// The common properties.
        base: ObjectBase,
        /// The conversation to cancel.
        conversation_id: String,
    },
    /// A type from the WSDL that Confab does not act on.
    Unsupported {
        /// The common properties.
        base: ObjectBase,
        /// The `xsi:type` local name.
        type_name: String,
    },
}

impl ApiObject {
    /// The `xsi:type` local name of the object.
    pub fn type_name(&self) -> &str {
        match self {
            Self::DataExtension(_) => "DataExtension",
            Self::DataExtensionObject(_) => "DataExtensionObject",
            Self::Subscriber(_) => "Subscriber",
            Self::ScheduledRequest { .. } => "ScheduledRequest",
            Self::ScheduledConversation { .. } => "ScheduledConversation",
            Self::Unsupported { type_name, .. } => type_name,
        }
    }

    /// The `APIObject` properties of the object.
    pub fn base(&self) -> &ObjectBase {
        match self {
            Self::DataExtension(object) => &object.base,
            Self::DataExtensionObject(object) => &object.base,
            Self::Subscriber(object) => &object.base,
            Self::ScheduledRequest { base, .. }
            | Self::ScheduledConversation { base, .. }
            | Self::Unsupported { base, .. } => base,
        }
    }
}
