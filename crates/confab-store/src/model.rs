//! The records the store reads and writes.

use chrono::{DateTime, TimeDelta, Utc};
use confab_core::call::{ObjectCall, Operation};
use confab_core::conversation::ConversationState;
use confab_core::data_extension::{DataExtension, RowValues};
use confab_core::intake::{AsyncPlan, ConversationPart};
use confab_core::options::QueuePriority;
use confab_core::result::ObjectResult;
use confab_core::subscriber::StoredSubscriber;
use confab_core::{AccountId, AsyncErrorCode, RequestId};
use serde::{Deserialize, Serialize};

/// An API client as created: the secret is shown once and never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewClient {
    /// The `client_id` for `/v2/token`.
    pub client_id: String,
    /// The `client_secret` for `/v2/token`.
    pub client_secret: String,
    /// The account (MID) the client acts in.
    pub account_id: i64,
}

/// An asynchronous call that passed the receipt checks and is to be queued.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The id the caller will get back.
    pub request_id: RequestId,
    /// The caller's account.
    pub account: AccountId,
    /// How to queue it.
    pub plan: AsyncPlan,
    /// The operation, for reporting.
    pub operation: Operation,
    /// The call itself as JSON, replayed verbatim when it runs. Serialised
    /// by the caller, so that the store's single writer does not spend its
    /// time on it.
    pub payload: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// The inter-part gap after which an `Open` conversation times out. A
    /// part that arrives after it refuses itself with 203 and times its
    /// conversation out, even if housekeeping has not got there yet. `None`
    /// leaves time-outs to housekeeping alone.
    pub conversation_timeout: Option<TimeDelta>,
}

/// What became of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Durably queued.
    Queued,
    /// Refused by the conversation checks; nothing of it was stored.
    Refused(AsyncErrorCode),
}

/// Where a queued request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RequestState {
    /// A conversation part waiting for its conversation or its turn.
    Waiting,
    /// Runs once its time has come.
    Ready,
    /// Ran; its results are stored.
    Done,
    /// Never ran because its conversation failed; reported as an error.
    Failed,
    /// Cancelled by a Delete of ScheduledRequest or ScheduledConversation.
    Cancelled,
    /// Dropped because it was still queued after its expiration time.
    Expired,
}

impl RequestState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "Waiting",
            Self::Ready => "Ready",
            Self::Done => "Done",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
            Self::Expired => "Expired",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "Waiting" => Self::Waiting,
            "Ready" => Self::Ready,
            "Done" => Self::Done,
            "Failed" => Self::Failed,
            "Cancelled" => Self::Cancelled,
            "Expired" => Self::Expired,
            _ => return None,
        })
    }

    /// Whether the request has been dealt with for good.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Waiting | Self::Ready)
    }
}

/// A request as the queue holds it.
#[derive(Debug, Clone)]
pub struct QueuedRequest {
    /// The storage row, which also gives arrival order.
    pub row_id: i64,
    /// The caller's request id.
    pub request_id: RequestId,
    /// The caller's account.
    pub account: AccountId,
    /// The conversation part, if any.
    pub part: Option<ConversationPart>,
    /// The operation, for reporting.
    pub operation: Operation,
    /// The lane.
    pub priority: QueuePriority,
    /// Not before this instant.
    pub run_after: DateTime<Utc>,
    /// Dropped when picked up after this instant.
    pub expires_at: Option<DateTime<Utc>>,
    /// Where it stands.
    pub state: RequestState,
}

impl QueuedRequest {
    /// The conversation the request is a part of, if any.
    pub fn conversation_id(&self) -> Option<String> {
        self.part.as_ref().map(|part| part.conversation_id.clone())
    }
}

/// A new request row.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    /// The request's queue fields.
    pub request: QueuedRequest,
    /// The call, as JSON.
    pub payload: &'a str,
    /// When it arrived, by the engine's clock.
    pub received_at: DateTime<Utc>,
}

/// A conversation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRecord {
    /// The state as stored; `Err` when the text is unknown (212).
    pub state: Result<ConversationState, AsyncErrorCode>,
    /// `CallsInConversation` as the first part gave it.
    pub calls_in_conversation: i32,
    /// How many parts have been accepted.
    pub received_count: i32,
    /// The sequence code that runs next.
    pub next_sequence: i32,
    /// The error that stopped it, if any.
    pub error_code: Option<i32>,
    /// When its last part arrived.
    pub last_part_at: DateTime<Utc>,
}

/// Names one conversation: the account and its `ConversationID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationKey {
    /// The account.
    pub account: AccountId,
    /// The client's id for it.
    pub conversation_id: String,
}

/// One `ResultMessage`: the outcome of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultMessageRecord {
    /// The caller's account.
    pub account: AccountId,
    /// The request.
    pub request_id: RequestId,
    /// The conversation part, if any.
    pub part: Option<ConversationPart>,
    /// The operation.
    pub operation: Operation,
    /// `OverallStatusCode`: OK, Has Errors or Error.
    pub overall_status_code: String,
    /// `StatusCode`: OK or Error.
    pub status_code: String,
    /// `StatusMessage`.
    pub status_message: String,
    /// `ErrorCode`: the first error among the results.
    pub error_code: Option<i32>,
    /// Every object's result, for `ResultDetailXML`.
    pub results: Vec<ObjectResult>,
    /// When the outcome was written.
    pub created_at: DateTime<Utc>,
}

/// One `ResultItem`: the outcome for one object of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultItemRecord {
    /// The caller's account.
    pub account: AccountId,
    /// The request.
    pub request_id: RequestId,
    /// The conversation, if any.
    pub conversation_id: Option<String>,
    /// The object's index in the call.
    pub ordinal_id: i32,
    /// OK or Error.
    pub status_code: String,
    /// What happened.
    pub status_message: String,
    /// The error number, if any.
    pub error_code: Option<i32>,
    /// The `xsi:type` of the object submitted.
    pub request_object_type: String,
    /// The object's `CorrelationID`.
    pub correlation_id: Option<String>,
    /// When the outcome was written.
    pub created_at: DateTime<Utc>,
}

/// A request that ran (or was settled without running) during `run_due`.
#[derive(Debug, Clone)]
pub struct RanRequest {
    /// The request.
    pub request: QueuedRequest,
    /// Its final state.
    pub state: RequestState,
    /// The outcome written for it.
    pub message: ResultMessageRecord,
}

/// A data extension as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDataExtension {
    /// The storage id (also `ID` in Retrieve).
    pub id: i64,
    /// The GUID (`ObjectID`).
    pub object_id: String,
    /// The definition, normalised.
    pub definition: DataExtension,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A stored row of a data extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// The storage id; rows are returned in this order.
    pub id: i64,
    /// The values.
    pub values: RowValues,
}

/// A stored subscriber with its storage id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberRecord {
    /// The storage id (`ID`).
    pub id: i64,
    /// The subscriber.
    pub subscriber: StoredSubscriber,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// What Delete of a ScheduledRequest or ScheduledConversation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// It was queued and is now cancelled.
    Cancelled,
    /// Nothing of that id exists in the account (220).
    NotFound,
    /// It already ran or is running (222).
    AlreadyProcessed,
}

/// A Retrieve that has more pages, saved under the id of the page that was
/// returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrieveCursor {
    /// The id given to the caller as `RequestID`.
    pub request_id: String,
    /// The caller's account; a cursor is only valid in it.
    pub account: AccountId,
    /// The query, serialised by the engine.
    pub query: String,
    /// The storage id after which the next page starts.
    pub after_id: i64,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
}

/// Narrows a scan of results to one request or conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultScope {
    /// Only this request.
    pub request_id: Option<String>,
    /// Only this conversation.
    pub conversation_id: Option<String>,
}

/// A stored `ResultMessage` with its storage id.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResultMessage {
    /// The storage id.
    pub id: i64,
    /// The record.
    pub record: ResultMessageRecord,
}

/// A stored `ResultItem` with its storage id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResultItem {
    /// The storage id.
    pub id: i64,
    /// The record.
    pub record: ResultItemRecord,
}

/// An answer from the store that is not there yet: await it from async code
/// or wait for it on a blocking thread.
#[derive(Debug)]
pub struct Pending<T> {
    answer: Result<tokio::sync::oneshot::Receiver<Result<T, crate::StoreError>>, crate::StoreError>,
}

impl Submission {
    /// A submission of `call`, serialising it for storage.
    ///
    /// # Errors
    ///
    /// When the call cannot be serialised, which would be a bug.
    pub fn new(
        request_id: RequestId,
        account: AccountId,
        plan: AsyncPlan,
        call: &ObjectCall,
        received_at: DateTime<Utc>,
    ) -> Result<Self, crate::StoreError> {
        let payload = serde_json::to_string(call)?;
        Ok(Self {
            request_id,
            account,
            plan,
            operation: call.operation,
            payload,
            received_at,
            conversation_timeout: None,
        })
    }

    /// The same submission, timing its conversation out on arrival when the
    /// conversation has been silent for longer than `gap`.
    pub fn with_conversation_timeout(self, gap: TimeDelta) -> Self {
        Self {
            conversation_timeout: Some(gap),
            ..self
        }
    }
}

impl<T> Pending<T> {
    /// An answer that will arrive on `answer`.
    pub fn new(answer: tokio::sync::oneshot::Receiver<Result<T, crate::StoreError>>) -> Self {
        Self { answer: Ok(answer) }
    }

    /// An answer that is already a failure.
    pub fn failed(error: crate::StoreError) -> Self {
        Self { answer: Err(error) }
    }

    /// Waits for the answer without blocking a thread.
    pub async fn wait(self) -> Result<T, crate::StoreError> {
        self.answer?.await.map_err(|_| crate::StoreError::Closed)?
    }

    /// Waits for the answer on this thread. Must not be called from async
    /// code.
    pub fn blocking_wait(self) -> Result<T, crate::StoreError> {
        self.answer?
            .blocking_recv()
            .map_err(|_| crate::StoreError::Closed)?
    }
}
