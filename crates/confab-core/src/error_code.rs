//! The error codes of the asynchronous layer, 200 to 231.
//!
//! These are not SOAP faults: they come back inside a normal response, as
//! `StatusCode` `Error` with the number in `ErrorCode`. The texts are Confab's
//! own wording of what the public documentation says each code means.

use serde::{Deserialize, Serialize};

/// One documented asynchronous error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AsyncErrorCode {
    /// 200: `CallsInConversation` differs from the conversation's first part.
    ReceivedTotalMismatch,
    /// 201: the parts stored for a conversation disagree with its total.
    CollectionTotalMismatch,
    /// 202: `CallsInConversation` without a `SequenceCode`.
    MissingSequenceCode,
    /// 203: the conversation timed out waiting for its parts.
    Timeout,
    /// 204: the request could not be processed.
    AsyncError,
    /// 205: `SequenceCode` outside `1..=CallsInConversation`.
    SequenceCodeOutOfRange,
    /// 206: `CallsInConversation` is not a positive number.
    InvalidCallsInConversation,
    /// 207: conversation fields without a `ConversationID`.
    MissingConversationId,
    /// 208: `SequenceCode` without `CallsInConversation`.
    MissingCallsInConversation,
    /// 209: asynchronous fields on a call that is not asynchronous.
    RequestTypeNotAsynchronous,
    /// 211: the `ConversationID` was used before.
    ConversationIdReused,
    /// 212: the stored conversation is in no known state.
    InvalidConversation,
    /// 213: the conversation is in error and takes no more parts.
    ConversationInError,
    /// 214: the `SequenceCode` was already used in this conversation.
    SequenceCodeReused,
    /// 215: the conversation has all its parts and takes no more.
    ConversationClosed,
    /// 218: too many objects in one request.
    TooManyObjects,
    /// 220: the scheduled request or conversation to delete does not exist.
    ItemNotFound,
    /// 222: the scheduled item has already been processed.
    InvalidStatusToDelete,
    /// 226: `ScheduledTime` more than 30 days ahead.
    ScheduledTimeTooFar,
    /// 227: a callback address that is not HTTPS.
    InsecureResponseAddress,
    /// 228: `RequestExpirationTime` already passed.
    ExpirationInPast,
    /// 229: `RequestExpirationTime` not after `ScheduledTime`.
    ExpirationBeforeSchedule,
    /// 231: `RequestExpirationTime` on a multi-part conversation.
    ExpirationNotSupported,
}

impl AsyncErrorCode {
    /// The number clients see in `ErrorCode`.
    pub fn number(self) -> i32 {
        use AsyncErrorCode::*;
        match self {
            ReceivedTotalMismatch => 200,
            CollectionTotalMismatch => 201,
            MissingSequenceCode => 202,
            Timeout => 203,
            AsyncError => 204,
            SequenceCodeOutOfRange => 205,
            InvalidCallsInConversation => 206,
            MissingConversationId => 207,
            MissingCallsInConversation => 208,
            RequestTypeNotAsynchronous => 209,
            ConversationIdReused => 211,
            InvalidConversation => 212,
            ConversationInError => 213,
            SequenceCodeReused => 214,
            ConversationClosed => 215,
            TooManyObjects => 218,
            ItemNotFound => 220,
            InvalidStatusToDelete => 222,
            ScheduledTimeTooFar => 226,
            InsecureResponseAddress => 227,
            ExpirationInPast => 228,
            ExpirationBeforeSchedule => 229,
            ExpirationNotSupported => 231,
        }
    }

    /// The code for a number, if Confab knows it.
    pub fn from_number(number: i32) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|code| code.number() == number)
    }

    /// Every code, in numeric order.
    pub const ALL: [AsyncErrorCode; 23] = {
        use AsyncErrorCode::*;
        [
            ReceivedTotalMismatch,
            CollectionTotalMismatch,
            MissingSequenceCode,
            Timeout,
            AsyncError,
            SequenceCodeOutOfRange,
            InvalidCallsInConversation,
            MissingConversationId,
            MissingCallsInConversation,
            RequestTypeNotAsynchronous,
            ConversationIdReused,
            InvalidConversation,
            ConversationInError,
            SequenceCodeReused,
            ConversationClosed,
            TooManyObjects,
            ItemNotFound,
            InvalidStatusToDelete,
            ScheduledTimeTooFar,
            InsecureResponseAddress,
            ExpirationInPast,
            ExpirationBeforeSchedule,
            ExpirationNotSupported,
        ]
    };

    /// The `StatusMessage` that goes with the code.
    pub fn message(self) -> &'static str {
        use AsyncErrorCode::*;
        match self {
            ReceivedTotalMismatch => {
                "Async API Received Total Mismatch: CallsInConversation differs from the \
                 conversation's first part; the conversation is invalidated"
            }
            CollectionTotalMismatch => {
                "Async API Collection Total Mismatch: the parts collected do not match \
                 CallsInConversation"
            }
            MissingSequenceCode => "SequenceCode is required when CallsInConversation is given",
            Timeout => "Async API Timeout: the conversation timed out waiting for its parts",
            AsyncError => "Async API Error: the request could not be processed",
            SequenceCodeOutOfRange => "SequenceCode must be between 1 and CallsInConversation",
            InvalidCallsInConversation => "CallsInConversation must be a positive number",
            MissingConversationId => {
                "ConversationID must not be empty; it is required when SequenceCode or \
                 CallsInConversation is given"
            }
            MissingCallsInConversation => {
                "CallsInConversation is required when SequenceCode is given"
            }
            RequestTypeNotAsynchronous => {
                "RequestType must be Asynchronous when ConversationID, SequenceCode or \
                 CallsInConversation is given"
            }
            ConversationIdReused => "ConversationID has already been used",
            InvalidConversation => "Invalid Conversation: the conversation is in no known state",
            ConversationInError => {
                "The conversation is in an error state and accepts no more parts"
            }
            SequenceCodeReused => {
                "SequenceCode has already been used in this conversation; the conversation \
                 is invalidated"
            }
            ConversationClosed => "The conversation has received all its parts and accepts no more",
            TooManyObjects => "A request must have fewer than 32767 objects",
            ItemNotFound => "The scheduled item to delete was not found",
            InvalidStatusToDelete => {
                "The scheduled item has already been processed and cannot be deleted"
            }
            ScheduledTimeTooFar => "ScheduledTime cannot be more than 30 days in the future",
            InsecureResponseAddress => "SendResponseTo addresses must use HTTPS",
            ExpirationInPast => "RequestExpirationTime is in the past",
            ExpirationBeforeSchedule => "RequestExpirationTime must be later than ScheduledTime",
            ExpirationNotSupported => {
                "RequestExpirationTime is supported only for single-part conversations"
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_and_round_trip() {
        for code in AsyncErrorCode::ALL {
            assert_eq!(AsyncErrorCode::from_number(code.number()), Some(code));
        }
        assert_eq!(AsyncErrorCode::from_number(210), None);
    }
}
