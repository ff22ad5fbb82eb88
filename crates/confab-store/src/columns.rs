//! Stored column values turned back into records, the same for every
//! backend: each backend reads its rows into these plain structs and the
//! parsing (and its corruption checks) lives here once.

use chrono::{DateTime, TimeZone, Utc};
use confab_core::call::Operation;
use confab_core::callback::Notice;
use confab_core::intake::ConversationPart;
use confab_core::options::{QueuePriority, ResponseType};
use confab_core::{AccountId, RequestId};

use crate::error::StoreError;
use crate::model::{QueuedRequest, RequestState};
use crate::outbox::{Delivery, DeliveryState};

/// The columns of `requests` that make a [`QueuedRequest`], in the order
/// [`RequestColumns`] reads them.
pub(crate) const REQUEST_COLUMNS: &str = "id, request_id, account_id, conversation_id, \
     sequence_code, calls_in_conversation, operation, priority, run_after, expires_at, state";

/// Milliseconds since the epoch, as stored.
pub(crate) fn millis(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_millis()
}

/// An instant from stored milliseconds.
pub(crate) fn instant(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .unwrap_or_default()
}

/// A request row as read, before its text columns are checked.
pub(crate) struct RequestColumns {
    pub(crate) row_id: i64,
    pub(crate) request_id: String,
    pub(crate) account_id: i64,
    pub(crate) conversation_id: Option<String>,
    pub(crate) sequence_code: Option<i32>,
    pub(crate) calls_in_conversation: Option<i32>,
    pub(crate) operation: String,
    pub(crate) priority: i32,
    pub(crate) run_after: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) state: String,
}

impl RequestColumns {
    /// The request, or `Corrupt` when a stored text is not one Confab
    /// writes.
    pub(crate) fn into_request(self) -> Result<QueuedRequest, StoreError> {
        let part = match (
            self.conversation_id,
            self.sequence_code,
            self.calls_in_conversation,
        ) {
            (Some(conversation_id), Some(sequence_code), Some(calls_in_conversation)) => {
                Some(ConversationPart {
                    conversation_id,
                    sequence_code,
                    calls_in_conversation,
                })
            }
            _ => None,
        };
        let request_id = self.request_id;
        let operation = self.operation;
        let state = self.state;
        Ok(QueuedRequest {
            row_id: self.row_id,
            request_id: request_id
                .parse::<RequestId>()
                .map_err(|_| StoreError::Corrupt(format!("request id {request_id}")))?,
            account: AccountId(self.account_id),
            part,
            operation: Operation::parse(&operation)
                .ok_or_else(|| StoreError::Corrupt(format!("operation {operation}")))?,
            priority: QueuePriority::from_rank(self.priority),
            run_after: instant(self.run_after),
            expires_at: self.expires_at.map(instant),
            state: RequestState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("request state {state}")))?,
        })
    }
}

/// The columns of `deliveries` that make a [`Delivery`], in the order
/// [`DeliveryColumns`] reads them.
pub(crate) const DELIVERY_COLUMNS: &str = "id, delivery_id, account_id, request_id, \
     conversation_id, channel, address, notice, state, attempts, next_attempt_at, lease_until, \
     last_error, retry_from, created_at, finished_at";

/// The stored name of a delivery channel.
pub(crate) fn channel_name(channel: ResponseType) -> &'static str {
    match channel {
        ResponseType::HttpPost => "HTTPPost",
        ResponseType::Email => "email",
        ResponseType::Ftp => "FTP",
        ResponseType::None => "None",
    }
}

/// Reads a stored channel name.
fn parse_channel(text: &str) -> Option<ResponseType> {
    Some(match text {
        "HTTPPost" => ResponseType::HttpPost,
        "email" => ResponseType::Email,
        "FTP" => ResponseType::Ftp,
        "None" => ResponseType::None,
        _ => return None,
    })
}

/// A delivery row as read, before its text columns are checked.
pub(crate) struct DeliveryColumns {
    pub(crate) row_id: i64,
    pub(crate) delivery_id: String,
    pub(crate) account_id: i64,
    pub(crate) request_id: String,
    pub(crate) conversation_id: Option<String>,
    pub(crate) channel: String,
    pub(crate) address: String,
    pub(crate) notice: String,
    pub(crate) state: String,
    pub(crate) attempts: u32,
    pub(crate) next_attempt_at: i64,
    pub(crate) lease_until: Option<i64>,
    pub(crate) last_error: Option<String>,
    pub(crate) retry_from: i64,
    pub(crate) created_at: i64,
    pub(crate) finished_at: Option<i64>,
}

impl DeliveryColumns {
    /// The delivery, or `Corrupt` when a stored text is not one Confab
    /// writes.
    pub(crate) fn into_delivery(self) -> Result<Delivery, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("delivery {what}"));
        Ok(Delivery {
            row_id: self.row_id,
            delivery_id: self.delivery_id,
            account: AccountId(self.account_id),
            request_id: self
                .request_id
                .parse::<RequestId>()
                .map_err(|_| corrupt("request id"))?,
            conversation_id: self.conversation_id,
            channel: parse_channel(&self.channel).ok_or_else(|| corrupt("channel"))?,
            address: self.address,
            notice: serde_json::from_str::<Notice>(&self.notice)?,
            state: DeliveryState::parse(&self.state).ok_or_else(|| corrupt("state"))?,
            attempts: self.attempts,
            next_attempt_at: instant(self.next_attempt_at),
            lease_until: self.lease_until.map(instant),
            last_error: self.last_error,
            retry_from: instant(self.retry_from),
            created_at: instant(self.created_at),
            finished_at: self.finished_at.map(instant),
        })
    }
}
