//! The housekeeping task: conversations that stopped receiving parts time
//! out, and results older than the retention window are purged.
//!
//! One task per server runs a pass every [`HousekeepingSettings::interval`]
//! and whenever it is woken (the test clock was moved). A pass reads the
//! clock once, then calls the store's housekeeping steps in small batches,
//! yielding between them, so that it never holds the queue up: each batch is
//! one short write among the writer's other jobs. The steps themselves are
//! written in `confab-store` (`timeout`, `retention`); each is idempotent, so
//! a pass that runs twice, or at the same time as another, does no harm.

use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::{Engine, EngineError};

/// What housekeeping does and how often.
#[derive(Debug, Clone)]
pub struct HousekeepingSettings {
    /// How often a pass runs when nothing wakes it.
    pub interval: Duration,
    /// How long a conversation may go without receiving a part before it
    /// times out (203).
    pub conversation_timeout: Duration,
    /// How long results and finished requests are kept.
    pub retention: Duration,
    /// The most rows one batch touches.
    pub batch_size: usize,
}

impl Default for HousekeepingSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            conversation_timeout: Duration::from_secs(5 * 60),
            retention: Duration::from_secs(30 * 24 * 3600),
            batch_size: 200,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HousekeepingReport {
    /// Conversations moved to `Timeout`.
    pub timed_out: usize,
    /// Rows deleted as older than the retention window.
    pub purged: usize,
}

/// The running housekeeping task; [`HousekeepingHandle::stop`] stops it.
#[derive(Debug)]
pub struct HousekeepingHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl HousekeepingHandle {
    /// Asks the task to stop after its current batch and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            warn!(error = %error, "housekeeping task ended abnormally");
        }
    }
}

impl Engine {
    /// Starts the housekeeping task.
    pub fn start_housekeeping(&self) -> HousekeepingHandle {
        let (stop, stopped) = watch::channel(false);
        let engine = self.clone();
        let task = tokio::spawn(async move { engine.housekeep_until(stopped).await });
        HousekeepingHandle { stop, task }
    }

    /// Runs one housekeeping pass at the clock's now.
    ///
    /// # Errors
    ///
    /// `Store` when the store failed; the batches before the failure stay
    /// done, and the next pass carries on from there.
    pub async fn housekeep(&self) -> Result<HousekeepingReport, EngineError> {
        let timed_out = self.time_out_conversations().await?;
        let purged = self.purge_expired().await?;
        if timed_out > 0 || purged > 0 {
            info!(timed_out, purged, "housekeeping pass done");
        }
        Ok(HousekeepingReport { timed_out, purged })
    }

    /// Times out silent conversations, one batch at a time.
    async fn time_out_conversations(&self) -> Result<usize, EngineError> {
        let settings = &self.settings.housekeeping;
        let now = self.clock.now();
        let gap = to_time_delta(settings.conversation_timeout);
        let limit = settings.batch_size.max(1);
        let mut total = 0;
        loop {
            let store = self.store.clone();
            let moved =
                tokio::task::spawn_blocking(move || store.time_out_conversations(now, gap, limit))
                    .await??;
            for key in &moved {
                info!(
                    account = key.account.0,
                    conversation_id = %key.conversation_id,
                    "conversation timed out waiting for its parts"
                );
            }
            total += moved.len();
            if moved.len() < limit {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Purges what fell out of the retention window, one batch at a time.
    async fn purge_expired(&self) -> Result<usize, EngineError> {
        let settings = &self.settings.housekeeping;
        let now = self.clock.now();
        let retention = to_time_delta(settings.retention);
        let limit = settings.batch_size.max(1);
        let mut total = 0;
        loop {
            let store = self.store.clone();
            let deleted =
                tokio::task::spawn_blocking(move || store.purge_expired(now, retention, limit))
                    .await??;
            total += deleted;
            if deleted < limit {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    /// The housekeeping loop.
    async fn housekeep_until(&self, mut stopped: watch::Receiver<bool>) {
        loop {
            if *stopped.borrow() {
                return;
            }
            if let Err(error) = self.housekeep().await {
                warn!(error = %error, "housekeeping failed; trying again later");
            }
            debug!("housekeeping pass finished");
            tokio::select! {
                () = self.housekeeping_wake.notified() => {}
                () = tokio::time::sleep(self.settings.housekeeping.interval) => {}
                _ = stopped.changed() => return,
            }
        }
    }
}

/// A settings duration as a span of clock time; absurdly long ones are
/// capped rather than refused, since they only mean "never".
fn to_time_delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}
