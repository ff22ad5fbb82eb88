//! The `Options` element that rides on Create, Update, Delete and Perform, as
//! far as Confab reads it.
//!
//! The SOAP layer fills these in from whatever order the client wrote them;
//! values that do not parse are refused there, so everything here is already
//! well-typed. Absent fields stay `None`: the difference between "absent" and
//! "default" matters to the checks in [`crate::intake`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `Options/RequestType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestType {
    /// The call runs now and its results come back in the response.
    Synchronous,
    /// The call is queued; the response only confirms receipt.
    Asynchronous,
}

impl RequestType {
    /// The WSDL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Synchronous => "Synchronous",
            Self::Asynchronous => "Asynchronous",
        }
    }
}

/// `Options/QueuePriority`: the lane a queued request waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum QueuePriority {
    /// Runs after everything else that is ready.
    Low,
    /// The default lane.
    Medium,
    /// Runs before everything else that is ready.
    High,
}

impl QueuePriority {
    /// The WSDL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
        }
    }

    /// A number that sorts the lanes, highest first when sorted descending.
    pub fn rank(self) -> i32 {
        match self {
            Self::Low => 1,
            Self::Medium => 2,
            Self::High => 3,
        }
    }

    /// The lane for a stored rank; unknown ranks read as the default lane.
    pub fn from_rank(rank: i32) -> Self {
        match rank {
            1 => Self::Low,
            3 => Self::High,
            _ => Self::Medium,
        }
    }

    /// Reads the legacy `Priority` byte. The documentation describes it with
    /// the same three words as `QueuePriority` although its type is a byte, so
    /// Confab maps small numbers onto the lanes: 1 and below Low, 2 Medium,
    /// 3 and above High.
    pub fn from_legacy_byte(value: i8) -> Self {
        match value {
            i8::MIN..=1 => Self::Low,
            2 => Self::Medium,
            _ => Self::High,
        }
    }
}

/// `AsyncResponse/ResponseType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseType {
    /// Nothing is pushed; the caller retrieves results.
    None,
    /// A mail to the response address.
    Email,
    /// Reserved by the API and never used.
    Ftp,
    /// A form-encoded POST to the response address.
    HttpPost,
}

/// `AsyncResponse/RespondWhen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RespondWhen {
    /// Never (the default).
    Never,
    /// When the call finished with an error.
    OnError,
    /// When the call finished, however it went (deprecated spelling).
    Always,
    /// When the conversation hit an error.
    OnConversationError,
    /// When every part of the conversation has finished.
    OnConversationComplete,
    /// When the call finished, however it went.
    OnCallComplete,
    /// When the call was dropped because it expired in the queue.
    OnExpired,
}

/// One `SendResponseTo` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncResponse {
    /// The channel.
    pub response_type: ResponseType,
    /// A URL or an e-mail address, depending on the channel.
    pub response_address: String,
    /// The event that triggers it; absent means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond_when: Option<RespondWhen>,
    /// Whether the serialised results go along.
    pub include_results: bool,
    /// Whether each result echoes its object.
    pub include_objects: bool,
    /// Whether echoed objects are cut down to the base properties.
    pub only_include_base: bool,
}

/// `SaveOption/SaveAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaveAction {
    /// Insert only; an existing key is an error.
    AddOnly,
    /// What the operation does without a save option.
    Default,
    /// Do nothing with the object.
    Nothing,
    /// Update when the key exists, insert otherwise (an upsert).
    UpdateAdd,
    /// Update only; a missing key is an error.
    UpdateOnly,
    /// Delete.
    Delete,
}

/// One `SaveOptions/SaveOption`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveOption {
    /// The property it applies to; `*` means every property.
    pub property_name: String,
    /// What to do.
    pub save_action: SaveAction,
}

/// Everything Confab reads from an `Options` element.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestOptions {
    /// `RequestType`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_type: Option<RequestType>,
    /// `ConversationID`, if given. An empty element reads as `Some("")`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// `SequenceCode`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_code: Option<i32>,
    /// `CallsInConversation`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls_in_conversation: Option<i32>,
    /// `ScheduledTime`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_time: Option<DateTime<Utc>>,
    /// `RequestExpirationTime`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_expiration_time: Option<DateTime<Utc>>,
    /// `QueuePriority`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_priority: Option<QueuePriority>,
    /// The legacy `Priority` byte, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i8>,
    /// Every `SendResponseTo` entry, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub send_response_to: Vec<AsyncResponse>,
    /// Every `SaveOptions/SaveOption` entry, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub save_options: Vec<SaveOption>,
    /// `Options/Client/ID`, the account the call means to act in, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<i64>,
}

impl RequestOptions {
    /// The lane this request waits in: `QueuePriority`, else the legacy byte,
    /// else Medium.
    pub fn effective_priority(&self) -> QueuePriority {
        self.queue_priority
            .or(self.priority.map(QueuePriority::from_legacy_byte))
            .unwrap_or(QueuePriority::Medium)
    }

    /// The save action that applies to the whole object, if one is given for
    /// `*` (the only form Confab honours; per-property actions are ignored).
    pub fn object_save_action(&self) -> Option<SaveAction> {
        self.save_options
            .iter()
            .find(|option| option.property_name == "*")
            .map(|option| option.save_action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legacy_byte_maps_small_numbers_onto_the_lanes() {
        use QueuePriority::{High, Low, Medium};
        let lanes: Vec<QueuePriority> = [i8::MIN, -1, 0, 1, 2, 3, 4, i8::MAX]
            .into_iter()
            .map(QueuePriority::from_legacy_byte)
            .collect();
        assert_eq!(lanes, [Low, Low, Low, Low, Medium, High, High, High]);
    }

    #[test]
    fn queue_priority_wins_over_the_legacy_byte_which_wins_over_the_default() {
        let both = RequestOptions {
            queue_priority: Some(QueuePriority::Low),
            priority: Some(3),
            ..RequestOptions::default()
        };
        assert_eq!(both.effective_priority(), QueuePriority::Low);
        let byte_only = RequestOptions {
            priority: Some(3),
            ..RequestOptions::default()
        };
        assert_eq!(byte_only.effective_priority(), QueuePriority::High);
        let neither = RequestOptions::default();
        assert_eq!(neither.effective_priority(), QueuePriority::Medium);
    }
}
