//! Durable storage for Confab: accounts, the request queue, conversations,
//! results, and the objects calls act on.
//!
//! This crate is the only place that knows SQL. Its shape is two layers:
//!
//! - Primitive, backend-specific operations inside one transaction
//!   ([`tx::ObjectTx`] for objects, [`tx::QueueTx`] for the queue and
//!   results), implemented once per database ([`sqlite`], [`postgres`]).
//! - The queue's rules written once over those primitives: what happens when
//!   a request arrives ([`intake`]), which due request runs next
//!   ([`fairness`]), what happens when it runs ([`work`]), and which
//!   callbacks are owed and how they are handed out ([`outbox`]).
//!
//! - Housekeeping, also written once over the primitives
//!   ([`tx::HousekeepingTx`]): conversations that stopped receiving parts
//!   time out ([`timeout`]) and old results are purged ([`retention`]). Each
//!   step takes `now` and a batch limit, is idempotent, and stands alone.
//!
//! Callers see the [`Store`] facade. Every method blocks; the engine calls
//! them from blocking threads. The SQLite backend funnels every write
//! through one writer thread that commits many callers' work with one disk
//! flush (group commit); the PostgreSQL backend does the same on a few
//! writer threads per node.

mod columns;
pub mod credentials;
pub mod error;
pub mod fairness;
pub mod intake;
pub mod model;
pub mod outbox;
pub mod postgres;
pub mod retention;
pub mod sqlite;
pub mod timeout;
pub mod tx;
pub mod work;

use chrono::{DateTime, TimeDelta, Utc};
use confab_core::AccountId;
use confab_core::call::ObjectCall;
use confab_core::result::ObjectResult;
use confab_core::time::Clock;

pub use credentials::FIRST_ACCOUNT_ID;
pub use error::StoreError;
pub use fairness::Rotation;
pub use model::*;
pub use tx::{Executor, HousekeepingTx, ObjectTx, OutboxTx, QueueTx, ReadTx};

/// What the engine and the API need of storage.
pub trait Store: Send + Sync + 'static {
    /// Creates the first account and API client when the store holds none,
    /// returning the client (with its secret) so it can be shown once.
    fn bootstrap(&self) -> Result<Option<NewClient>, StoreError>;

    /// Creates an account.
    fn create_account(&self, name: &str) -> Result<AccountId, StoreError>;

    /// Whether an account exists.
    fn account_exists(&self, account: AccountId) -> Result<bool, StoreError>;

    /// Creates an API client in `account`; the secret is returned once and
    /// stored only as a hash.
    fn create_client(&self, account: AccountId) -> Result<NewClient, StoreError>;

    /// The account of a client whose id and secret match.
    fn verify_client(&self, client_id: &str, secret: &str)
    -> Result<Option<AccountId>, StoreError>;

    /// Creates an API user for WS-Security in `account`.
    fn create_user(
        &self,
        account: AccountId,
        username: &str,
        password: &str,
    ) -> Result<(), StoreError>;

    /// The account of a user whose name and password match.
    fn verify_user(&self, username: &str, password: &str) -> Result<Option<AccountId>, StoreError>;

    /// The server's secret key for signing access tokens, created on first
    /// use.
    fn signing_key(&self) -> Result<Vec<u8>, StoreError>;

    /// Stores an asynchronous call after the conversation checks. The answer
    /// arrives only once the call is durable (or refused); it can be awaited
    /// without tying up a thread, which is what keeps intake fast.
    fn enqueue(&self, submission: Submission) -> Pending<IntakeOutcome>;

    /// Runs queued work that is due, at most `limit` requests and for about
    /// [`work::BATCH_TIME`], each with its object changes and results in one
    /// transaction, in the order `rotation` gives (see [`fairness`]). Each
    /// request is picked up at the time `clock` says then, which decides
    /// whether it is due and whether it expired. Returns the requests that
    /// ran and the rotation to pass to the next call.
    fn run_due(
        &self,
        executor: std::sync::Arc<dyn Executor>,
        clock: std::sync::Arc<dyn Clock>,
        limit: usize,
        rotation: Rotation,
    ) -> Result<(Vec<RanRequest>, Rotation), StoreError>;

    /// Runs a synchronous call in one transaction at `now` and returns its
    /// results.
    fn run_now(
        &self,
        executor: std::sync::Arc<dyn Executor>,
        account: AccountId,
        call: ObjectCall,
        now: DateTime<Utc>,
    ) -> Result<Vec<ObjectResult>, StoreError>;

    /// Runs `read` against a consistent snapshot.
    fn read(
        &self,
        read: &mut dyn FnMut(&mut dyn ReadTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Saves where a paged Retrieve stopped, under the page's request id.
    fn save_cursor(&self, cursor: RetrieveCursor) -> Result<(), StoreError>;

    /// Calls `wake` whenever another process may have queued work, so that
    /// an idle worker starts at once rather than at its next poll. A
    /// backend that only one process uses (SQLite) has nothing to watch:
    /// its own intake wakes the worker.
    fn watch_new_work(&self, wake: std::sync::Arc<dyn Fn() + Send + Sync>) {
        let _ = wake;
    }
    /// Times out, in one transaction, at most `limit` conversations still
    /// `Open` that received no part for longer than `gap` before `now` (see
    /// [`timeout`]). Returns the ones it moved.
    fn time_out_conversations(
        &self,
        now: DateTime<Utc>,
        gap: TimeDelta,
        limit: usize,
    ) -> Result<Vec<ConversationKey>, StoreError>;

    /// Deletes, in one transaction, at most `limit` rows that fell out of
    /// the `retention` window before `now` (see [`retention`]). Returns how
    /// many; fewer than `limit` means nothing older is left.
    fn purge_expired(
        &self,
        now: DateTime<Utc>,
        retention: TimeDelta,
        limit: usize,
    ) -> Result<usize, StoreError>;

    /// Raised after a batch of [`Store::run_due`] wrote deliveries to the
    /// outbox, so the deliverer need not wait for its next poll.
    fn outbox_wake(&self) -> std::sync::Arc<tokio::sync::Notify>;

    /// Claims due deliveries for `lease` (see [`outbox::claim`]).
    fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<outbox::Delivery>, StoreError>;

    /// Records how a claimed delivery's attempt ended (see
    /// [`outbox::finish`]).
    fn finish_delivery(
        &self,
        claimed: outbox::Delivery,
        outcome: outbox::DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deliveries, newest first.
    fn deliveries(&self, query: outbox::DeliveryQuery)
    -> Result<Vec<outbox::Delivery>, StoreError>;

    /// Puts a delivery back in the queue (see [`outbox::replay`]).
    fn replay_delivery(
        &self,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<outbox::Delivery>, StoreError>;

    /// An account's webhook signing secret; `fresh` becomes it when the
    /// account has none yet.
    fn webhook_secret(&self, account: AccountId, fresh: String) -> Result<String, StoreError>;

    /// Replaces an account's webhook signing secret with `fresh`.
    fn rotate_webhook_secret(&self, account: AccountId, fresh: String) -> Result<(), StoreError>;
}
