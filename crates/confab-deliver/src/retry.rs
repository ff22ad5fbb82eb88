//! When to try a failed delivery again: exponential backoff with full
//! jitter, within a window, after which the delivery is a dead letter.
//!
//! Full jitter (a delay drawn uniformly between zero and the exponential
//! bound) spreads the retries of many deliveries that failed together, so a
//! receiver that comes back is not hit by all of them at once.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The bound on the first retry's delay; it doubles with each attempt.
    pub initial_backoff: Duration,
    /// The most the bound grows to.
    pub max_backoff: Duration,
    /// How long after its first attempt (or its replay) a delivery is
    /// retried before it becomes a dead letter.
    pub window: Duration,
    /// The API's own behaviour: one attempt, never a retry.
    pub single_attempt: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60 * 60),
            window: Duration::from_secs(24 * 60 * 60),
            single_attempt: false,
        }
    }
}

impl RetryPolicy {
    /// When to try again after attempt number `attempts` (counting from 1)
    /// failed, or `None` to give up. `jitter` is a random number in
    /// `[0, 1)` that picks the delay below the bound. A delay that would
    /// end past the window gives one last attempt as the window ends.
    pub fn next_attempt(
        &self,
        attempts: u32,
        retry_from: DateTime<Utc>,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> Option<DateTime<Utc>> {
        if self.single_attempt {
            return None;
        }
        let bound = self.bound(attempts);
        let delay = bound.mul_f64(jitter.clamp(0.0, 1.0));
        // Settings too large for the calendar (an operator's "for ever")
        // saturate: such a window never ends, and such a delay lands at
        // the last instant there is. Failing the conversion used to give
        // up at once, the opposite of what was asked; overflowing the
        // addition panicked the attempt, which then ran again each lease.
        let at = chrono::Duration::from_std(delay)
            .ok()
            .and_then(|delay| now.checked_add_signed(delay))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let window_ends = chrono::Duration::from_std(self.window)
            .ok()
            .and_then(|window| retry_from.checked_add_signed(window));
        match window_ends {
            Some(window_ends) if at > window_ends => (now < window_ends).then_some(window_ends),
            _ => Some(at),
        }
    }

    /// The exponential bound after `attempts` failures, capped.
    fn bound(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(32);
        let factor = 2_u32.saturating_pow(doublings);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn start() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_bound_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let bounds: Vec<u64> = (1..=6).map(|n| policy.bound(n).as_secs()).collect();
        assert_eq!(bounds, [1, 2, 4, 8, 10, 10]);
        assert_eq!(policy.bound(u32::MAX).as_secs(), 10);
    }

    #[test]
    fn jitter_picks_a_delay_below_the_bound() {
        let policy = RetryPolicy::default();
        let now = start();
        let at = policy.next_attempt(3, now, now, 0.5).unwrap();
        assert_eq!((at - now).num_seconds(), 10);
        assert_eq!(policy.next_attempt(3, now, now, 0.0), Some(now));
    }

    #[test]
    fn nothing_is_retried_past_the_window() {
        let policy = RetryPolicy::default();
        let ends = start() + chrono::Duration::hours(24);
        assert_eq!(policy.next_attempt(20, start(), ends, 0.0), Some(ends));
        assert_eq!(policy.next_attempt(20, start(), ends, 0.9), None);
        let later = ends + chrono::Duration::seconds(1);
        assert_eq!(policy.next_attempt(20, start(), later, 0.0), None);
    }

    #[test]
    fn a_delay_past_the_window_gives_a_last_attempt_as_it_ends() {
        // Regression: a callback whose next delay was drawn past the
        // window's end was given up on at once, hours before the end.
        let policy = RetryPolicy::default();
        let ends = start() + chrono::Duration::hours(24);
        let half_an_hour_before = ends - chrono::Duration::minutes(30);
        let last = policy.next_attempt(20, start(), half_an_hour_before, 0.99);
        assert_eq!(last, Some(ends));
    }

    #[test]
    fn windows_and_delays_beyond_the_calendar_mean_for_ever() {
        let endless = RetryPolicy {
            window: Duration::from_secs(u64::MAX),
            ..RetryPolicy::default()
        };
        assert!(endless.next_attempt(1, start(), start(), 0.5).is_some());
        let far = RetryPolicy {
            window: Duration::from_secs(10_000_000_000_000),
            ..RetryPolicy::default()
        };
        assert!(far.next_attempt(1, start(), start(), 0.5).is_some());

        let patient = RetryPolicy {
            initial_backoff: Duration::from_secs(10_000_000_000_000),
            max_backoff: Duration::from_secs(u64::MAX),
            window: Duration::from_secs(u64::MAX),
            single_attempt: false,
        };
        assert_eq!(
            patient.next_attempt(40, start(), start(), 0.99),
            Some(DateTime::<Utc>::MAX_UTC)
        );
    }

    #[test]
    fn single_attempt_never_retries() {
        let policy = RetryPolicy {
            single_attempt: true,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.next_attempt(1, start(), start(), 0.0), None);
    }
}
