//! The primitive operations each database backend implements, inside one
//! transaction.
//!
//! The queue's rules ([`crate::intake`], [`crate::work`]) and the engine's
//! object logic are written against these traits, so a new backend only has
//! to implement them to behave exactly like the others.

use chrono::{DateTime, Utc};
use confab_core::call::ObjectCall;
use confab_core::conversation::ConversationState;
use confab_core::data_extension::{DataExtension, RowValues};
use confab_core::options::QueuePriority;
use confab_core::result::ObjectResult;
use confab_core::subscriber::StoredSubscriber;
use confab_core::{AccountId, RequestId};

use crate::error::StoreError;
use crate::model::{
    ConversationKey, ConversationRecord, NewRequest, QueuedRequest, RequestState, ResultItemRecord,
    ResultMessageRecord, ResultScope, RetrieveCursor, StoredDataExtension, StoredResultItem,
    StoredResultMessage, StoredRow, SubscriberRecord,
};
use crate::outbox::{Delivery, DeliveryQuery, DeliveryState, NewDelivery};

/// Reads that Retrieve needs. Every method is scoped to one account and
/// returns rows in storage order after `after_id`, at most `limit`.
pub trait ReadTx {
    /// A data extension by `CustomerKey` or, failing that, by `Name`
    /// (both without regard to case).
    fn data_extension(
        &mut self,
        account: AccountId,
        key_or_name: &str,
    ) -> Result<Option<StoredDataExtension>, StoreError>;

    /// Data extensions of the account.
    fn data_extensions(
        &mut self,
        account: AccountId,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredDataExtension>, StoreError>;

    /// Rows of a data extension.
    fn rows(
        &mut self,
        data_extension_id: i64,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredRow>, StoreError>;

    /// Subscribers of the account.
    fn subscribers(
        &mut self,
        account: AccountId,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<SubscriberRecord>, StoreError>;

    /// `ResultMessage`s of the account.
    fn result_messages(
        &mut self,
        account: AccountId,
        scope: &ResultScope,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredResultMessage>, StoreError>;

    /// `ResultItem`s of the account.
    fn result_items(
        &mut self,
        account: AccountId,
        scope: &ResultScope,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredResultItem>, StoreError>;

    /// A saved Retrieve cursor.
    fn cursor(&mut self, request_id: &str) -> Result<Option<RetrieveCursor>, StoreError>;
}

/// What object operations need, inside a writing transaction.
pub trait ObjectTx: ReadTx {
    /// Stores a new data extension; `Conflict` when the key is taken.
    fn insert_data_extension(
        &mut self,
        account: AccountId,
        definition: &DataExtension,
        now: DateTime<Utc>,
    ) -> Result<StoredDataExtension, StoreError>;

    /// Deletes a data extension and all its rows.
    fn delete_data_extension(&mut self, data_extension_id: i64) -> Result<(), StoreError>;

    /// Deletes every row of a data extension; returns how many.
    fn clear_rows(&mut self, data_extension_id: i64) -> Result<usize, StoreError>;

    /// A row by its primary key identity.
    fn row_by_key(
        &mut self,
        data_extension_id: i64,
        row_key: &str,
    ) -> Result<Option<StoredRow>, StoreError>;

    /// Stores a new row; `Conflict` when the key is taken.
    fn insert_row(
        &mut self,
        data_extension_id: i64,
        row_key: Option<&str>,
        values: &RowValues,
    ) -> Result<i64, StoreError>;

    /// Replaces a row's values.
    fn update_row(&mut self, row_id: i64, values: &RowValues) -> Result<(), StoreError>;

    /// Deletes a row.
    fn delete_row(&mut self, row_id: i64) -> Result<(), StoreError>;

    /// A subscriber by key, without regard to case.
    fn subscriber(
        &mut self,
        account: AccountId,
        subscriber_key: &str,
    ) -> Result<Option<SubscriberRecord>, StoreError>;

    /// Stores a new subscriber; `Conflict` when the key is taken.
    fn insert_subscriber(
        &mut self,
        account: AccountId,
        subscriber: &StoredSubscriber,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;

    /// Replaces a subscriber.
    fn update_subscriber(
        &mut self,
        id: i64,
        subscriber: &StoredSubscriber,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Deletes a subscriber.
    fn delete_subscriber(&mut self, id: i64) -> Result<(), StoreError>;

    /// The queue, for cancelling scheduled work from inside a call.
    fn queue(&mut self) -> &mut dyn QueueTx;
}

/// What the outbox needs, inside a writing transaction. The rules over these
/// primitives are in [`crate::outbox`].
pub trait OutboxTx {
    /// Writes a delivery, Pending and due at its creation.
    fn insert_delivery(&mut self, delivery: &NewDelivery) -> Result<(), StoreError>;

    /// Pending deliveries due by `now`, soonest first, at most `limit`. A
    /// delivery is stamped by the clock of the worker that wrote it, which
    /// is the deliverer's (one clock per node; nodes' clocks agree).
    fn due_deliveries(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Leases a delivery until `lease_until`: counts an attempt and makes it
    /// due again only then.
    fn lease_delivery(&mut self, row_id: i64, lease_until: DateTime<Utc>)
    -> Result<(), StoreError>;

    /// Records an attempt's outcome if `attempts` is still the row's
    /// attempt count; returns whether it was.
    fn set_delivery_outcome(
        &mut self,
        row_id: i64,
        attempts: u32,
        state: DeliveryState,
        next_attempt_at: DateTime<Utc>,
        last_error: Option<&str>,
        finished_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError>;

    /// Makes a delivery Pending again, due at `now`, retried from `now`.
    fn reopen_delivery(&mut self, row_id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// A delivery by its public id.
    fn delivery(&mut self, delivery_id: &str) -> Result<Option<Delivery>, StoreError>;

    /// Deliveries, newest first.
    fn deliveries(&mut self, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError>;

    /// The storage row of the newest delivery, 0 when there is none. Lets a
    /// caller see cheaply whether a transaction wrote any.
    fn last_delivery_row(&mut self) -> Result<i64, StoreError>;

    /// An account's webhook signing secret, if it has one.
    fn webhook_secret(&mut self, account: AccountId) -> Result<Option<String>, StoreError>;

    /// Sets an account's webhook signing secret.
    fn set_webhook_secret(
        &mut self,
        account: AccountId,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// What the queue needs, inside a writing transaction.
pub trait QueueTx: OutboxTx {
    /// A conversation of the account.
    fn conversation(
        &mut self,
        account: AccountId,
        conversation_id: &str,
    ) -> Result<Option<ConversationRecord>, StoreError>;

    /// The sequence codes stored for a conversation.
    fn conversation_sequence_codes(
        &mut self,
        account: AccountId,
        conversation_id: &str,
    ) -> Result<Vec<i32>, StoreError>;

    /// Creates a conversation.
    fn insert_conversation(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        calls_in_conversation: i32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Moves a conversation to `state`, recording the error that did it.
    fn set_conversation_state(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        state: ConversationState,
        error_code: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Sets the sequence code that runs next.
    fn set_next_sequence(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        next_sequence: i32,
    ) -> Result<(), StoreError>;

    /// Records that a part arrived now and counts it in.
    fn touch_conversation(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Stores a request.
    fn insert_request(&mut self, request: &NewRequest<'_>) -> Result<(), StoreError>;

    /// A request of the account by id.
    fn request(
        &mut self,
        account: AccountId,
        request_id: RequestId,
    ) -> Result<Option<QueuedRequest>, StoreError>;

    /// The call a request carries.
    fn request_call(&mut self, row_id: i64) -> Result<ObjectCall, StoreError>;

    /// Every part of a conversation, by sequence code.
    fn conversation_parts(
        &mut self,
        account: AccountId,
        conversation_id: &str,
    ) -> Result<Vec<QueuedRequest>, StoreError>;

    /// Marks every part of a conversation that ended as finished at `now`,
    /// which is when retention starts to count for them. A part that ran
    /// is not finished before its conversation is: the conversation's end
    /// callbacks are owed to the `SendResponseTo` entries of every part.
    fn finish_conversation_parts(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Moves a request to `state`; a final state finishes a request outside
    /// a conversation (see [`QueueTx::finish_conversation_parts`] for the
    /// parts of one). A request that becomes `Ready` falls due
    /// no earlier than `now`: a conversation part released by the part
    /// before it takes its turn from its release, not from its arrival.
    fn set_request_state(
        &mut self,
        row_id: i64,
        state: RequestState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The lowest-numbered account above `after` (any account when `None`)
    /// with a Ready request in `lane` that may be due by `now`. An account
    /// whose Ready requests all fall due later may be named or left out;
    /// the caller asks [`QueueTx::first_due_in_lane`] either way.
    fn next_lane_account(
        &mut self,
        lane: QueuePriority,
        after: Option<AccountId>,
        now: DateTime<Utc>,
    ) -> Result<Option<AccountId>, StoreError>;

    /// The account's Ready request in `lane` that fell due first (by
    /// `run_after`, then arrival), if one is due by `now`.
    fn first_due_in_lane(
        &mut self,
        lane: QueuePriority,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Option<QueuedRequest>, StoreError>;

    /// Stores a request's outcome.
    fn insert_result_message(&mut self, message: &ResultMessageRecord) -> Result<(), StoreError>;

    /// Stores the outcomes of a request's objects.
    fn insert_result_items(&mut self, items: &[ResultItemRecord]) -> Result<(), StoreError>;

    /// The objects, for the executor.
    fn objects(&mut self) -> &mut dyn ObjectTx;
}

/// Runs the objects of a call against the store; the engine implements it.
pub trait Executor: Send + Sync {
    /// Runs every object of `call` and returns one result per object. An
    /// `Err` means the store failed, not an object: the caller rolls back
    /// and the call is tried again later.
    fn execute(
        &self,
        tx: &mut dyn ObjectTx,
        account: AccountId,
        call: &ObjectCall,
        now: DateTime<Utc>,
    ) -> Result<Vec<ObjectResult>, StoreError>;
}

/// What housekeeping needs, inside a writing transaction: finding
/// conversations that stopped receiving parts, and deleting what fell out of
/// the retention window in small batches.
pub trait HousekeepingTx: QueueTx {
    /// Conversations still `Open` whose last part arrived before `cutoff`,
    /// the longest silent first, at most `limit`.
    fn stale_open_conversations(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ConversationKey>, StoreError>;

    /// Deletes at most `limit` `ResultItem`s written before `cutoff`;
    /// returns how many.
    fn purge_result_items(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError>;

    /// Deletes at most `limit` `ResultMessage`s written before `cutoff`;
    /// returns how many.
    fn purge_result_messages(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError>;

    /// Deletes at most `limit` requests that finished before `cutoff`, with
    /// their stored calls; never one that has not finished. Returns how many.
    fn purge_finished_requests(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError>;

    /// Deletes at most `limit` Retrieve cursors saved before `cutoff`;
    /// returns how many.
    fn purge_cursors(&mut self, cutoff: DateTime<Utc>, limit: usize) -> Result<usize, StoreError>;

    /// Deletes at most `limit` deliveries (with the copies of results they
    /// carry) that were delivered or became dead letters before `cutoff`;
    /// returns how many.
    fn purge_finished_deliveries(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError>;
}
