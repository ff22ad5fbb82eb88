//! The background task that empties the outbox.
//!
//! It keeps up to `batch_size` attempts in flight: it claims as many due
//! deliveries as there is room for (each with a lease), starts an attempt
//! for each, and records each outcome when it ends, so a slow receiver holds
//! up only its own deliveries. With no room, or nothing due, it sleeps until
//! an attempt ends, the store says a batch of work wrote deliveries, or the
//! poll interval passes (retries come due without anything waking it). The
//! request queue never waits for it: the two meet only in the store.

use std::sync::Arc;

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
    /// The loop: claim what there is room for, start attempts, and sleep
    /// until something changes. On stop, lets the attempts in flight end.
    async fn run_until(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let wake = self.store.outbox_wake();
        let mut attempts = JoinSet::new();
        while !*stopped.borrow() {
            let room = self.settings.batch_size.saturating_sub(attempts.len());
            let claimed = match room {
                0 => Vec::new(),
                _ => self.claim(room).await.unwrap_or_else(|error| {
                    warn!(error = %error, "claiming deliveries failed; trying again later");
                    Vec::new()
                }),
            };
            let more_due = room > 0 && claimed.len() == room;
            for delivery in claimed {
                self.start_attempt(&mut attempts, delivery);
            }
            if more_due {
                continue;
            }
            tokio::select! {
                Some(ended) = attempts.join_next(), if !attempts.is_empty() => {
                    if let Err(error) = ended {
                        warn!(error = %error, "a delivery attempt ended abnormally");
                    }
                }
                () = wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                changed = stopped.changed() => {
                    // A dropped handle stops the deliverer as `stop` would.
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        while attempts.join_next().await.is_some() {}
    }

    /// Claims up to `limit` due deliveries.
    async fn claim(&self, limit: usize) -> Result<Vec<Delivery>, confab_store::StoreError> {
        let store = self.store.clone();
        let lease = self.settings.lease();
        let now = self.settings.clock.now();
        let claim = move || store.claim_deliveries(now, lease, limit);
        tokio::task::spawn_blocking(claim)
            .await
            .map_err(|_| confab_store::StoreError::Closed)?
    }

    /// Starts one attempt at `delivery` among `attempts`.
    fn start_attempt(self: &Arc<Self>, attempts: &mut JoinSet<()>, delivery: Delivery) {
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

    /// One attempt at one delivery, and its outcome recorded.
    ///
    /// The whole attempt (reading the secret, resolving the name, sending)
    /// is bounded, not only the send: an attempt still running when its
    /// lease runs out would be sent a second time by the next claim. The
    /// bound, the timeout plus five seconds, ends well inside the lease
    /// (twice the timeout plus five seconds).
    async fn deliver_one(&self, delivery: Delivery) {
        let bound = self
            .settings
            .timeout
            .saturating_add(std::time::Duration::from_secs(5));
        let result = match tokio::time::timeout(bound, self.attempt(&delivery)).await {
            Ok(result) => result,
            Err(_) => Err(AttemptError::Transient(format!(
                "the attempt took longer than {bound:?}"
            ))),
        };
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
        let now = self.settings.clock.now();
        let record = move || store.finish_delivery(delivery, outcome, now);
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
                Some(mailer) => mailer.send(delivery, &self.secret(delivery).await?).await,
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
        let now = self.settings.clock.now();
        match retry.next_attempt(delivery.attempts, delivery.retry_from, now, jitter) {
            Some(at) => DeliveryOutcome::RetryAt { at, error },
            None => DeliveryOutcome::Dead {
                error: format!("gave up after {} attempts: {error}", delivery.attempts),
            },
        }
    }
}
