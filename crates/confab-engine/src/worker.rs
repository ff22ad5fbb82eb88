//! The background worker that runs queued requests.
//!
//! It sleeps until woken by an arriving request or until the poll interval
//! passes (scheduled requests become due with nobody arriving), then runs
//! due work in batches until none is left. Running is exactly-once by
//! construction of the store (see `confab_store::work`); the worker only
//! decides when to ask.

use std::sync::Arc;

use confab_store::{RanRequest, Rotation};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::{Engine, EngineError};

/// The running workers; dropping the handle does not stop them,
/// [`WorkerHandle::stop`] does.
#[derive(Debug)]
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Asks the workers to stop after their current batch and waits for
    /// them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                warn!(error = %error, "worker task ended abnormally");
            }
        }
    }
}

impl Engine {
    /// Starts the background workers (as many as the settings say). Work
    /// queued by other nodes sharing the store wakes them too, where the
    /// store can tell.
    pub fn start_worker(&self) -> WorkerHandle {
        let (stop, stopped) = watch::channel(false);
        let wake = self.wake.clone();
        self.store
            .watch_new_work(Arc::new(move || wake.notify_one()));
        let tasks = (0..self.settings.workers.max(1))
            .map(|_| {
                let (engine, stopped) = (self.clone(), stopped.clone());
                tokio::spawn(async move { engine.work_until(stopped).await })
            })
            .collect();
        WorkerHandle { stop, tasks }
    }

    /// Runs one batch of due work now, in the order `rotation` gives, and
    /// returns what ran. The rotation moves on past what ran.
    ///
    /// # Errors
    ///
    /// `Store` when the store failed; nothing of the failed request was
    /// written and it stays queued.
    pub async fn run_due_batch(
        &self,
        rotation: &mut Rotation,
    ) -> Result<Vec<RanRequest>, EngineError> {
        let store = self.store.clone();
        let executor: Arc<dyn confab_store::Executor> = self.executor.clone();
        let clock = self.clock.clone();
        let limit = self.settings.batch_size;
        let current = *rotation;
        let (ran, next) =
            tokio::task::spawn_blocking(move || store.run_due(executor, clock, limit, current))
                .await??;
        *rotation = next;
        for request in &ran {
            let conversation_id = request
                .request
                .part
                .as_ref()
                .map(|part| part.conversation_id.as_str())
                .unwrap_or_default();
            info!(
                request_id = %request.request.request_id,
                conversation_id,
                state = request.state.as_str(),
                status = request.message.overall_status_code.as_str(),
                "queued request settled"
            );
        }
        Ok(ran)
    }

    /// One worker's loop. It keeps the queue's [`Rotation`] from batch to
    /// batch, so that the lanes and accounts take turns across batches too.
    ///
    /// A wake-up goes to one sleeping worker; one whose batch found work
    /// passes a wake-up on, so that a burst of work reaches every worker
    /// without waiting for the poll.
    async fn work_until(&self, mut stopped: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        let mut rotation = Rotation::default();
        loop {
            if *stopped.borrow() {
                return;
            }
            let pause = match self.run_due_batch(&mut rotation).await {
                // A batch that ran anything may have stopped for time rather
                // than for want of work (see `confab_store::work::BATCH_TIME`):
                // only an empty one means the queue has nothing due.
                Ok(ran) if !ran.is_empty() => {
                    failures = 0;
                    if self.settings.workers > 1 {
                        self.wake.notify_one();
                    }
                    continue;
                }
                Ok(_) => {
                    failures = 0;
                    self.settings.poll_interval
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    warn!(error = %error, failures, "running due work failed; backing off");
                    self.settings.poll_interval * failures.min(20)
                }
            };
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => return,
            }
        }
    }
}
