//! The calls a client makes, as Confab understands them once the envelope is
//! read.

use serde::{Deserialize, Serialize};

use crate::filter::Filter;
use crate::object::ApiObject;
use crate::options::RequestOptions;

/// The operations that act on objects and may run asynchronously.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    /// `Create`.
    Create,
    /// `Update`.
    Update,
    /// `Delete`.
    Delete,
    /// `Perform`.
    Perform,
}

impl Operation {
    /// The SOAP action name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
            Self::Perform => "Perform",
        }
    }

    /// Reads a stored operation name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "Create" => Self::Create,
            "Update" => Self::Update,
            "Delete" => Self::Delete,
            "Perform" => Self::Perform,
            _ => return None,
        })
    }

    /// The WSDL type of one result of this operation.
    pub fn result_type(self) -> &'static str {
        match self {
            Self::Create => "CreateResult",
            Self::Update => "UpdateResult",
            Self::Delete => "DeleteResult",
            Self::Perform => "PerformResult",
        }
    }
}

/// A Create, Update, Delete or Perform call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectCall {
    /// Which operation.
    pub operation: Operation,
    /// The call's options; defaults when the client sent none.
    pub options: RequestOptions,
    /// `Perform`'s `Action`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The objects (`Objects`, or `Definitions/Definition` for Perform).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ApiObject>,
}

impl ObjectCall {
    /// A `CorrelationID` that more than one object of the call carries.
    /// The API requires them to be unique within a call, because each one
    /// names its object's outcome in the results.
    pub fn repeated_correlation_id(&self) -> Option<&str> {
        let mut seen = std::collections::HashSet::new();
        self.objects
            .iter()
            .filter_map(|object| object.base().correlation_id.as_deref())
            .find(|correlation_id| !seen.insert(*correlation_id))
    }
}

/// A Retrieve call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetrieveCall {
    /// `ObjectType`, e.g. `ResultItem` or `DataExtensionObject[Orders]`.
    pub object_type: String,
    /// `Properties`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
    /// `Filter`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// `ContinueRequest`: the RequestID of the page before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_request: Option<String>,
    /// `Options/BatchSize`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<i32>,
    /// `ClientIDs/ID`: accounts the caller asks about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ids: Vec<i64>,
}

/// Any call Confab answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Call {
    /// Create, Update, Delete or Perform.
    Objects(ObjectCall),
    /// Retrieve.
    Retrieve(RetrieveCall),
    /// VersionInfo, which clients use as a ping.
    VersionInfo,
}
