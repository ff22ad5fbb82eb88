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

/// A running worker; dropping it does not stop it, [`WorkerHandle::stop`]
/// does.
#[derive(Debug)]
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Asks the worker to stop after its current batch and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            warn!(error = %error, "worker task ended abnormally");
        }
    }
}

impl Engine {
    /// Starts the background worker. Work queued by other nodes sharing
    /// the store wakes it too, where the store can tell.
    pub fn start_worker(&self) -> WorkerHandle {
        let (stop, stopped) = watch::channel(false);
        let wake = self.wake.clone();
        self.store
            .watch_new_work(Arc::new(move || wake.notify_one()));
        let engine = self.clone();
        let task = tokio::spawn(async move { engine.work_until(stopped).await });
        WorkerHandle { stop, task }
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

    /// The worker loop. It keeps the queue's [`Rotation`] from batch to
    /// batch, so that the lanes and accounts take turns across batches too.
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
