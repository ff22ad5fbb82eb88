//! What Confab answers: per-object results, overall statuses, and the
//! generic object trees Retrieve returns.

use serde::{Deserialize, Serialize};

use crate::data_extension::RowErrors;
use crate::error_code::AsyncErrorCode;
use crate::options::RequestType;

/// `StatusCode` of one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusCode {
    /// It worked (or, for an asynchronous receipt, it was queued).
    Ok,
    /// It did not.
    Error,
}

impl StatusCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Error => "Error",
        }
    }
}

/// The outcome for one object of a Create, Update, Delete or Perform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectResult {
    /// OK or Error.
    pub status_code: StatusCode,
    /// What happened, for a person.
    pub status_message: String,
    /// The index of the object in the call.
    pub ordinal_id: i32,
    /// The error number, when there was an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i32>,
    /// `NewID` (Create): the integer id of a new object, or 0.
    pub new_id: i64,
    /// `NewObjectID` (Create): the GUID of a new object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_object_id: Option<String>,
    /// The object's `CorrelationID`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The `xsi:type` of the result when it is a subtype, such as
    /// `DataExtensionCreateResult`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_subtype: Option<String>,
    /// Per-field problems of a data extension row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_errors: Option<RowErrors>,
    /// The request the result belongs to (asynchronous results only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The conversation the result belongs to (asynchronous results only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// `Asynchronous` on asynchronous results; absent on synchronous ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_type: Option<RequestType>,
}

impl ObjectResult {
    /// A successful result.
    pub fn ok(ordinal_id: i32, message: impl Into<String>) -> Self {
        Self {
            status_code: StatusCode::Ok,
            status_message: message.into(),
            ordinal_id,
            error_code: None,
            new_id: 0,
            new_object_id: None,
            correlation_id: None,
            result_subtype: None,
            row_errors: None,
            request_id: None,
            conversation_id: None,
            request_type: None,
        }
    }

    /// A failed result.
    pub fn error(ordinal_id: i32, code: i32, message: impl Into<String>) -> Self {
        Self {
            status_code: StatusCode::Error,
            error_code: Some(code),
            ..Self::ok(ordinal_id, message)
        }
    }

    /// A result that fails with an asynchronous error code and its text.
    pub fn async_error(ordinal_id: i32, code: AsyncErrorCode) -> Self {
        Self::error(ordinal_id, code.number(), code.message())
    }
}

/// `OverallStatus` of a Create, Update, Delete or Perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverallStatus {
    /// Every result is OK.
    Ok,
    /// Some results are errors.
    HasErrors,
    /// Every result is an error.
    Error,
}

impl OverallStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::HasErrors => "Has Errors",
            Self::Error => "Error",
        }
    }

    /// The overall status of a set of results.
    pub fn of(results: &[ObjectResult]) -> Self {
        let errors = results
            .iter()
            .filter(|result| result.status_code == StatusCode::Error)
            .count();
        match errors {
            0 => Self::Ok,
            n if n == results.len() => Self::Error,
            _ => Self::HasErrors,
        }
    }

    /// Reads the wire spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "OK" => Self::Ok,
            "Has Errors" => Self::HasErrors,
            "Error" => Self::Error,
            _ => return None,
        })
    }
}

/// A piece of a returned object: an element with text, nothing, or children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// The element's local name (in the partnerAPI namespace).
    pub name: String,
    /// The `xsi:type` to write on it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xsi_type: Option<String>,
    /// What it holds.
    pub content: NodeContent,
}

/// What a [`Node`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeContent {
    /// Text (escaped when written).
    Text(String),
    /// `xsi:nil="true"`.
    Nil,
    /// Child elements, in order.
    Children(Vec<Node>),
}

impl Node {
    /// An element holding text.
    pub fn text(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            xsi_type: None,
            content: NodeContent::Text(text.into()),
        }
    }

    /// An element holding children.
    pub fn parent(name: impl Into<String>, children: Vec<Node>) -> Self {
        Self {
            name: name.into(),
            xsi_type: None,
            content: NodeContent::Children(children),
        }
    }

    /// The same node with an `xsi:type`.
    pub fn typed(mut self, xsi_type: impl Into<String>) -> Self {
        self.xsi_type = Some(xsi_type.into());
        self
    }
}

/// `OverallStatus` of a Retrieve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetrieveStatus {
    /// Everything was returned.
    Ok,
    /// More pages follow; ask again with `ContinueRequest`.
    MoreDataAvailable,
    /// The Retrieve failed; the text says why (written `Error: <text>`).
    Error(String),
}

/// The answer to a Retrieve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrieveOutcome {
    /// The overall status.
    pub status: RetrieveStatus,
    /// This page's id; pass it as `ContinueRequest` for the next page.
    pub request_id: String,
    /// The objects, each a `Results` node with its `xsi:type`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<Node>,
}
