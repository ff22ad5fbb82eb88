//! The outbox: callbacks owed, written in the same transaction as the
//! results they report, and handed out to whoever delivers them.
//!
//! A row is written when a request is settled ([`request_settled`], called
//! from `work::settle`) or a conversation reaches a final state
//! ([`conversation_ended`]). Because it commits with the results, a crash
//! can lose neither: either both exist or neither does.
//!
//! Delivery is at least once. A deliverer claims due rows with a lease
//! ([`claim`]): the claim counts the attempt and pushes the row's next
//! attempt to the end of the lease, so a deliverer that dies after sending
//! but before recording leaves the row to be claimed again once the lease
//! runs out. The attempt count doubles as a fencing token: an outcome is
//! recorded only by the holder of the latest claim ([`finish`]).
//!
//! ```text
//!  Pending ──claim──► Pending (leased) ──finish──► Delivered
//!     ▲                    │                  └──► Dead ──replay──► Pending
//!     └── retry at t ◄─────┘ (or lease ran out)
//! ```
//!
//! The rules here are the whole protocol; a backend only supplies the
//! primitives of [`OutboxTx`], so a later multi-node backend claims the
//! same way.

use chrono::{DateTime, Duration, Utc};
use confab_core::call::ObjectCall;
use confab_core::callback::{
    ConversationEnd, Notice, NoticeDetail, NoticeEvent, RequestOutcome, conversation_entries,
    conversation_entry_fires, request_entry_fires,
};
use confab_core::object::ApiObject;
use confab_core::options::{AsyncResponse, RespondWhen, ResponseType};
use confab_core::result::StatusCode;
use confab_core::{AccountId, RequestId};
use serde::Serialize;

use crate::error::StoreError;
use crate::model::{QueuedRequest, RequestState, ResultMessageRecord};
use crate::tx::{OutboxTx, QueueTx};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeliveryState {
    /// Waiting for its next attempt (or leased to a deliverer).
    Pending,
    /// The receiver accepted it.
    Delivered,
    /// Given up; kept for an operator to look at and replay.
    Dead,
}

impl DeliveryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Delivered => "Delivered",
            Self::Dead => "Dead",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "Pending" => Self::Pending,
            "Delivered" => Self::Delivered,
            "Dead" => Self::Dead,
            _ => return None,
        })
    }
}

/// A callback to write to the outbox.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The public id, stable across attempts (`webhook-id`).
    pub delivery_id: String,
    /// The account whose call it reports.
    pub account: AccountId,
    /// The request it reports.
    pub request_id: RequestId,
    /// The conversation, if any.
    pub conversation_id: Option<String>,
    /// HTTP POST or e-mail.
    pub channel: ResponseType,
    /// The URL or e-mail address.
    pub address: String,
    /// What it says.
    pub notice: Notice,
    /// When it was written; also its first attempt's time.
    pub created_at: DateTime<Utc>,
}

/// A callback in the outbox.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The storage row.
    pub row_id: i64,
    /// The public id, stable across attempts (`webhook-id`).
    pub delivery_id: String,
    /// The account whose call it reports.
    pub account: AccountId,
    /// The request it reports.
    pub request_id: RequestId,
    /// The conversation, if any.
    pub conversation_id: Option<String>,
    /// HTTP POST or e-mail.
    pub channel: ResponseType,
    /// The URL or e-mail address.
    pub address: String,
    /// What it says.
    pub notice: Notice,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts started so far, including one that is under way.
    pub attempts: u32,
    /// When it is next due (while Pending).
    pub next_attempt_at: DateTime<Utc>,
    /// Until when the latest claim holds it, if it was ever claimed.
    pub lease_until: Option<DateTime<Utc>>,
    /// Why the latest attempt failed.
    pub last_error: Option<String>,
    /// Since when it has been retried: its creation, or its latest replay.
    /// The retry window is measured from here.
    pub retry_from: DateTime<Utc>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it was delivered or given up.
    pub finished_at: Option<DateTime<Utc>>,
}

/// How an attempt ended, as the deliverer decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver accepted it.
    Delivered,
    /// It failed; try again at this instant.
    RetryAt {
        /// When.
        at: DateTime<Utc>,
        /// What went wrong.
        error: String,
    },
    /// It failed for good.
    Dead {
        /// What went wrong.
        error: String,
    },
}

/// Which deliveries a listing shows.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    /// Only dead letters.
    pub dead_only: bool,
    /// Only this account's.
    pub account: Option<AccountId>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// Writes the callbacks a settled request owes: one per entry of its own
/// `SendResponseTo` whose trigger matches how it ended.
pub fn request_settled(
    tx: &mut dyn QueueTx,
    request: &QueuedRequest,
    call: &ObjectCall,
    message: &ResultMessageRecord,
    state: RequestState,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let outcome = RequestOutcome {
        is_error: message.status_code != StatusCode::Ok.as_str(),
        expired: state == RequestState::Expired,
    };
    let mut written = 0;
    for entry in &call.options.send_response_to {
        if !request_entry_fires(entry, outcome) {
            continue;
        }
        let notice = notice(NoticeEvent::Request, entry, message, &call.objects, None);
        write(tx, request.account, message.request_id, entry, notice, now)?;
        written += 1;
    }
    Ok(written)
}

/// Writes the callbacks a conversation owes when it reaches a final state,
/// and marks its parts finished, for retention to count from.
///
/// Every state change that ends a conversation (`Complete`, `Error`, and a
/// timeout) must call this, in the same transaction, once. `deciding` is
/// the `ResultMessage` of the part that ended it; its `RequestID` and
/// `SequenceCode` go out with the callback. The entries counted are the
/// conversation-level ones of every part, de-duplicated (see
/// [`conversation_entries`]).
pub fn conversation_ended(
    tx: &mut dyn QueueTx,
    account: AccountId,
    conversation_id: &str,
    end: ConversationEnd,
    deciding: &ResultMessageRecord,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    // Only now may retention take the parts, whose entries these callbacks
    // were owed to.
    tx.finish_conversation_parts(account, conversation_id, now)?;
    let mut calls = Vec::new();
    let mut deciding_objects = Vec::new();
    for part in tx.conversation_parts(account, conversation_id)? {
        let call = tx.request_call(part.row_id)?;
        if part.request_id == deciding.request_id {
            deciding_objects.clone_from(&call.objects);
        }
        calls.push(call);
    }

    let entries =
        conversation_entries(calls.iter().flat_map(|call| &call.options.send_response_to));
    let mut written = 0;
    for entry in entries
        .iter()
        .filter(|entry| conversation_entry_fires(entry, end))
    {
        let event = NoticeEvent::Conversation(end);
        let notice = notice(event, entry, deciding, &deciding_objects, Some(end));
        write(tx, account, deciding.request_id, entry, notice, now)?;
        written += 1;
    }
    Ok(written)
}

/// Claims up to `limit` due deliveries for `lease`: each counts an attempt
/// and is not due again before the lease ends.
pub fn claim(
    tx: &mut dyn OutboxTx,
    now: DateTime<Utc>,
    lease: Duration,
    limit: usize,
) -> Result<Vec<Delivery>, StoreError> {
    // A lease past the end of the calendar (an operator's huge timeout)
    // holds until its last instant.
    let lease_until = now
        .checked_add_signed(lease)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut claimed = tx.due_deliveries(now, limit)?;
    for delivery in &mut claimed {
        tx.lease_delivery(delivery.row_id, lease_until)?;
        delivery.attempts += 1;
        delivery.lease_until = Some(lease_until);
        delivery.next_attempt_at = lease_until;
    }
    Ok(claimed)
}

/// Records how the attempt of a claimed delivery ended. Returns false, and
/// records nothing, when the claim is no longer the latest (its lease ran
/// out and another deliverer claimed the row).
pub fn finish(
    tx: &mut dyn OutboxTx,
    claimed: &Delivery,
    outcome: &DeliveryOutcome,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let (state, next_attempt_at, error) = match outcome {
        DeliveryOutcome::Delivered => (DeliveryState::Delivered, now, None),
        DeliveryOutcome::RetryAt { at, error } => (DeliveryState::Pending, *at, Some(error)),
        DeliveryOutcome::Dead { error } => (DeliveryState::Dead, now, Some(error)),
    };
    let finished_at = (state != DeliveryState::Pending).then_some(now);
    tx.set_delivery_outcome(
        claimed.row_id,
        claimed.attempts,
        state,
        next_attempt_at,
        error.map(String::as_str),
        finished_at,
    )
}

/// Puts a delivery back in the queue, due now, with a fresh retry window.
/// Returns it as it now stands, or `None` if there is no such delivery.
pub fn replay(
    tx: &mut dyn OutboxTx,
    delivery_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Delivery>, StoreError> {
    let Some(delivery) = tx.delivery(delivery_id)? else {
        return Ok(None);
    };
    if delivery.state != DeliveryState::Pending {
        tx.reopen_delivery(delivery.row_id, now)?;
    }
    tx.delivery(delivery_id)
}

/// Builds what one entry's callback says about `message`.
fn notice(
    event: NoticeEvent,
    entry: &AsyncResponse,
    message: &ResultMessageRecord,
    objects: &[ApiObject],
    conversation_end: Option<ConversationEnd>,
) -> Notice {
    let succeeded = message.status_code == StatusCode::Ok.as_str();
    // A conversation's callback reports the conversation's outcome as the
    // overall status; a request's, the request's own.
    let overall_status_code = match conversation_end {
        Some(ConversationEnd::Complete) => "OK".to_owned(),
        Some(ConversationEnd::Error) => StatusCode::Error.as_str().to_owned(),
        None => message.overall_status_code.clone(),
    };
    let detail = entry.include_results.then(|| NoticeDetail {
        results: message.results.clone(),
        objects: match entry.include_objects {
            true => objects.to_vec(),
            false => Vec::new(),
        },
        only_include_base: entry.only_include_base,
    });
    Notice {
        event,
        respond_when: entry.respond_when.unwrap_or(RespondWhen::Never),
        request_id: message.request_id.to_string(),
        conversation_id: message
            .part
            .as_ref()
            .map(|part| part.conversation_id.clone()),
        sequence_code: message.part.as_ref().map(|part| part.sequence_code),
        operation: message.operation,
        // The API documents StatusCode as "the same content as
        // OverallStatusCode"; a request where some objects failed says
        // `Has Errors` in both.
        status_code: overall_status_code.clone(),
        overall_status_code,
        // The API leaves StatusMessage and ErrorCode out for successes.
        status_message: match succeeded {
            true => String::new(),
            false => message.status_message.clone(),
        },
        error_code: message.error_code,
        detail,
    }
}

/// Writes one delivery row for `entry`.
fn write(
    tx: &mut dyn QueueTx,
    account: AccountId,
    request_id: RequestId,
    entry: &AsyncResponse,
    notice: Notice,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.insert_delivery(&NewDelivery {
        delivery_id: new_delivery_id(),
        account,
        request_id,
        conversation_id: notice.conversation_id.clone(),
        channel: entry.response_type,
        address: entry.response_address.trim().to_owned(),
        notice,
        created_at: now,
    })
}

/// A fresh public delivery id, in the `msg_` form webhook receivers know.
fn new_delivery_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}
