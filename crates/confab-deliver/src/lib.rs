//! Delivering outcomes: the callbacks of `SendResponseTo`, taken from the
//! store's outbox and sent by HTTP POST or e-mail.
//!
//! This crate is the only one in Confab that opens outbound connections.
//!
//! ```text
//!  store outbox ─claim (lease)─► deliverer ─┬─ http: check address, pin, sign, POST
//!       ▲                                   └─ email: SMTP relay, results.zip
//!       └──────────── finish: Delivered | retry at t | Dead ◄─┘
//! ```
//!
//! # Layout
//!
//! - [`deliverer`]: the background task.
//! - [`http`] and [`email`]: one attempt on each channel; [`render`]: what
//!   a notice looks like on them.
//! - [`address`]: where callbacks may not go; [`signature`]: the Standard
//!   Webhooks signature; [`retry`]: backoff and the retry window.

pub mod address;
pub mod deliverer;
pub mod email;
pub mod error;
pub mod http;
pub mod render;
pub mod retry;
pub mod signature;

use std::sync::Arc;
use std::time::Duration;

use confab_core::intake::IntakePolicy;
use confab_core::time::{Clock, SystemClock};

pub use deliverer::{DelivererHandle, start};
pub use email::{SmtpSettings, SmtpTls};
pub use error::{AttemptError, StartError};
pub use retry::RetryPolicy;
pub use signature::new_secret;

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// When failed deliveries are tried again.
    pub retry: RetryPolicy,
    /// How long one HTTP attempt may take.
    pub timeout: Duration,
    /// How often the outbox is looked at when nothing wakes the deliverer.
    pub poll_interval: Duration,
    /// The most attempts in flight at once.
    pub batch_size: usize,
    /// The hosts allowed over plain HTTP, which may also be on private
    /// addresses.
    pub policy: IntakePolicy,
    /// The SMTP relay for e-mail callbacks, if there is one.
    pub smtp: Option<SmtpSettings>,
    /// The clock that says when a delivery is due, the one that stamped it:
    /// the engine's. (The `webhook-timestamp` a receiver checks against its
    /// own clock is always the system's.)
    pub clock: Arc<dyn Clock>,
}

impl DeliverySettings {
    /// How long a claim holds a delivery: longer than any attempt can take,
    /// so that only a deliverer that died leaves a delivery to be claimed
    /// again.
    pub fn lease(&self) -> chrono::Duration {
        // Saturating: a timeout too large for the calendar must still give
        // a lease at least as long as the attempt, never a panic.
        let longest = self
            .timeout
            .saturating_mul(2)
            .saturating_add(Duration::from_secs(5));
        chrono::Duration::from_std(longest).unwrap_or(chrono::Duration::MAX)
    }
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            batch_size: 32,
            policy: IntakePolicy::default(),
            smtp: None,
            clock: Arc::new(SystemClock),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_outlasts_any_attempt_however_long_the_timeout() {
        let usual = DeliverySettings::default();
        assert_eq!(usual.lease(), chrono::Duration::seconds(25));
        let endless = DeliverySettings {
            timeout: Duration::MAX,
            ..DeliverySettings::default()
        };
        assert_eq!(endless.lease(), chrono::Duration::MAX);
    }
}
