//! The background task that empties the outbox.
//!
//! It claims due deliveries with a lease, makes one attempt at each
//! (concurrently), records each outcome, and goes again. With nothing due
//! it sleeps until the store says a batch of work wrote deliveries, or until
//! the poll interval passes (retries come due without anything waking it).
//! The request queue never waits for it: the two meet only in the store.

use std::sync::Arc;

use chrono::Utc;
use confab_core::options::ResponseType;
use confab_store::Store;
use confab_store::outbox::{Delivery, DeliveryOutcome};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{Instrument, debug, info, info_span, warn};

use crate::error::{AttemptError, StartError};
use crate::http::{HttpTarget, post};
use crate::signature::new_secret;
use crate::{DeliverySettings, email::Mailer};

/// A running deliverer; [`DelivererHandle::stop`] stops it.
#[derive(Debug)]
pub struct DelivererHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DelivererHandle {
    /// Asks the deliverer to stop after its current batch and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            warn!(error = %error, "deliverer task ended abnormally");
        }
    }
}

/// What every attempt shares.
struct Deliverer {
    store: Arc<dyn Store>,
    settings: DeliverySettings,
    mailer: Option<Mailer>,
}

/// Starts delivering from `store`'s outbox.
///
/// # Errors
///
/// When the SMTP relay settings are unusable.
pub fn start(
    store: Arc<dyn Store>,
    settings: DeliverySettings,
) -> Result<DelivererHandle, StartError> {
    // reqwest is built without a default TLS provider (ring builds much
    // faster than aws-lc-rs); another part of the process may have set one
    // already, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mailer = settings.smtp.as_ref().map(Mailer::new).transpose()?;
    if mailer.is_none() {
        warn!("no SMTP relay is configured (--smtp-relay): e-mail callbacks become dead letters");
    }
    let deliverer = Arc::new(Deliverer {
        store,
        settings,
        mailer,
    });
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(async move { deliverer.run_until(stopped).await });
    Ok(DelivererHandle { stop, task })
}

impl Deliverer {
    /// The loop: claim, deliver, record; sleep when nothing is due.
    async fn run_until(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let wake = self.store.outbox_wake();
        loop {
            if *stopped.borrow() {
                return;
            }
            let claimed = match self.claim().await {
                Ok(claimed) => claimed,
                Err(error) => {
                    warn!(error = %error, "claiming deliveries failed; trying again later");
                    Vec::new()
                }
            };
            let full = claimed.len() >= self.settings.batch_size;
            self.deliver_all(claimed).await;
            if full {
                continue;
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = stopped.changed() => return,
            }
        }
    }

    /// Claims a batch of due deliveries.
    async fn claim(&self) -> Result<Vec<Delivery>, confab_store::StoreError> {
        let store = self.store.clone();
        let lease = self.settings.lease();
        let limit = self.settings.batch_size;
        let claim = move || store.claim_deliveries(Utc::now(), lease, limit);
        tokio::task::spawn_blocking(claim)
            .await
            .map_err(|_| confab_store::StoreError::Closed)?
    }

    /// Makes one attempt at each delivery, all at once, and records each.
    async fn deliver_all(self: &Arc<Self>, claimed: Vec<Delivery>) {
        let mut attempts = JoinSet::new();
        for delivery in claimed {
            let span = info_span!(
                "delivery",
                delivery_id = %delivery.delivery_id,
                request_id = %delivery.request_id,
                conversation_id = delivery.conversation_id.as_deref().unwrap_or_default(),
                attempt = delivery.attempts,
            );
            let deliverer = self.clone();
            attempts.spawn(async move { deliverer.deliver_one(delivery).await }.instrument(span));
        }
        while attempts.join_next().await.is_some() {}
    }

    /// One attempt at one delivery, and its outcome recorded.
    async fn deliver_one(&self, delivery: Delivery) {
        let result = self.attempt(&delivery).await;
        let outcome = self.outcome(&delivery, result);
        match &outcome {
            DeliveryOutcome::Delivered => info!("callback delivered"),
            DeliveryOutcome::RetryAt { at, error } => {
                warn!(%error, retry_at = %at, "callback failed; it will be retried");
            }
            DeliveryOutcome::Dead { error } => {
                warn!(%error, "callback failed for good; kept as a dead letter");
            }
        }
        let store = self.store.clone();
        let record = move || store.finish_delivery(delivery, outcome, Utc::now());
        match tokio::task::spawn_blocking(record).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => debug!("the lease ran out first; the newer attempt records"),
            Ok(Err(error)) => warn!(error = %error, "recording a delivery outcome failed"),
            Err(error) => warn!(error = %error, "recording a delivery outcome failed"),
        }
    }

    /// Sends by the delivery's channel.
    async fn attempt(&self, delivery: &Delivery) -> Result<(), AttemptError> {
        match delivery.channel {
            ResponseType::HttpPost => {
                let secret = self.secret(delivery).await?;
                let target = HttpTarget {
                    policy: &self.settings.policy,
                    timeout: self.settings.timeout,
                    secret: &secret,
                };
                post(delivery, &target).await
            }
            ResponseType::Email => match &self.mailer {
                Some(mailer) => mailer.send(delivery).await,
                None => Err(AttemptError::Permanent(
                    "no SMTP relay is configured (--smtp-relay)".to_owned(),
                )),
            },
            ResponseType::None | ResponseType::Ftp => Err(AttemptError::Permanent(
                "the channel delivers nothing".to_owned(),
            )),
        }
    }

    /// The account's signing secret, made on first use.
    async fn secret(&self, delivery: &Delivery) -> Result<String, AttemptError> {
        let store = self.store.clone();
        let account = delivery.account;
        let read = move || store.webhook_secret(account, new_secret());
        match tokio::task::spawn_blocking(read).await {
            Ok(Ok(secret)) => Ok(secret),
            Ok(Err(error)) => Err(AttemptError::Transient(format!("read the secret: {error}"))),
            Err(error) => Err(AttemptError::Transient(format!("read the secret: {error}"))),
        }
    }

    /// What to record after an attempt.
    fn outcome(&self, delivery: &Delivery, result: Result<(), AttemptError>) -> DeliveryOutcome {
        let error = match result {
            Ok(()) => return DeliveryOutcome::Delivered,
            Err(AttemptError::Permanent(error)) => return DeliveryOutcome::Dead { error },
            Err(AttemptError::Transient(error)) => error,
        };
        let jitter: f64 = rand::random();
        let retry = &self.settings.retry;
        match retry.next_attempt(delivery.attempts, delivery.retry_from, Utc::now(), jitter) {
            Some(at) => DeliveryOutcome::RetryAt { at, error },
            None => DeliveryOutcome::Dead {
                error: format!("gave up after {} attempts: {error}", delivery.attempts),
            },
        }
    }
}
