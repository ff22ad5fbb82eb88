//! The engine: what Confab does with a call once the caller is known.
//!
//! ```text
//!  submit ─► classify (confab-core) ─┬─ synchronous ─► executor, in one store transaction
//!                                    └─ asynchronous ─► store.enqueue (group commit) ─► receipt
//!  worker ─► store.run_due ─► executor ─► results, in the same transaction
//!  retrieve ─► store.read ─► filter, page, shape as nodes
//!  housekeeping ─► store.time_out_conversations, store.purge_expired
//! ```
//!
//! The engine knows neither HTTP nor XML: it takes the calls of
//! `confab-core` and answers with its result types.

pub mod clock;
mod data_extensions;
pub mod error;
mod executor;
pub mod housekeeping;
mod retrieve;
mod rows;
mod submit;
mod subscribers;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use confab_core::intake::IntakePolicy;
use confab_store::Store;
use tokio::sync::Notify;

pub use clock::{Clock, SystemClock, TestClock};
pub use error::EngineError;
pub use executor::ObjectExecutor;
pub use housekeeping::{HousekeepingHandle, HousekeepingReport, HousekeepingSettings};
pub use submit::CallOutcome;
pub use worker::WorkerHandle;

/// Settings the engine runs with.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The receipt checks' operator settings.
    pub intake: IntakePolicy,
    /// How often the worker looks for due work when nothing wakes it
    /// (scheduled requests become due without anyone arriving).
    pub poll_interval: Duration,
    /// How many requests the worker runs per store transaction.
    pub batch_size: usize,
    /// How many workers take batches at once. One suits SQLite, whose
    /// single writer runs every batch anyway; on PostgreSQL a batch spends
    /// most of its time waiting for the database, and several workers
    /// claim different requests (`SKIP LOCKED`) as several nodes do.
    pub workers: usize,
    /// Conversation time-outs and retention.
    pub housekeeping: HousekeepingSettings,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            intake: IntakePolicy::default(),
            poll_interval: Duration::from_millis(250),
            batch_size: 64,
            workers: 1,
            housekeeping: HousekeepingSettings::default(),
        }
    }
}

/// The engine, cheap to clone and share.
#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    executor: Arc<ObjectExecutor>,
    settings: Arc<EngineSettings>,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    housekeeping_wake: Arc<Notify>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `store`, reading time from `clock`.
    pub fn new(store: Arc<dyn Store>, settings: EngineSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            executor: Arc::new(ObjectExecutor),
            settings: Arc::new(settings),
            clock,
            wake: Arc::new(Notify::new()),
            housekeeping_wake: Arc::new(Notify::new()),
        }
    }

    /// The store the engine works on.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Does what the clock's new time makes due, after a test moved it
    /// ahead: runs one housekeeping pass before returning, so that the
    /// caller can rely on time-outs and purges being done, then wakes the
    /// worker and the housekeeping task.
    ///
    /// # Errors
    ///
    /// `Store` when the store failed.
    pub async fn catch_up(&self) -> Result<HousekeepingReport, EngineError> {
        let report = self.housekeep().await?;
        self.wake.notify_one();
        self.housekeeping_wake.notify_one();
        Ok(report)
    }
}
