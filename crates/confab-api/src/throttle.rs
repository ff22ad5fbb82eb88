//! Slows down password guessing on WS-Security logins.
//!
//! Every wrong password already costs the server one Argon2 run, which
//! makes guessing slow but also makes each guess expensive for the server.
//! After [`MAX_FAILURES`] wrong passwords for one user name within
//! [`FAILURE_WINDOW`], the name is locked for [`LOCKOUT`]: every login for
//! it fails at once, right password or not, without running Argon2. A
//! successful login clears the count. Times come from the engine's clock,
//! so tests can let a lockout pass.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// Wrong passwords allowed within [`FAILURE_WINDOW`] before a lockout.
pub(crate) const MAX_FAILURES: u32 = 5;

/// How far back wrong passwords count.
pub(crate) const FAILURE_WINDOW: TimeDelta = TimeDelta::minutes(1);

/// How long a user name stays locked.
pub(crate) const LOCKOUT: TimeDelta = TimeDelta::minutes(1);

/// The most user names tracked; beyond it, names whose failures have aged
/// out are forgotten first.
const CAPACITY: usize = 10_000;

/// Failed logins of one user name.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first_at: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

/// Failed logins by lower-cased user name.
#[derive(Debug, Default)]
pub(crate) struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    /// Whether `username` is locked out at `now`.
    pub(crate) fn is_locked(&self, username: &str, now: DateTime<Utc>) -> bool {
        let failures = self.lock();
        failures
            .get(&username.to_lowercase())
            .and_then(|entry| entry.locked_until)
            .is_some_and(|until| now < until)
    }

    /// Counts a wrong password; returns whether it locked the name.
    pub(crate) fn failed(&self, username: &str, now: DateTime<Utc>) -> bool {
        let mut failures = self.lock();
        if failures.len() >= CAPACITY {
            failures.retain(|_, entry| !is_stale(entry, now));
            if failures.len() >= CAPACITY {
                failures.clear();
            }
        }
        let entry = failures.entry(username.to_lowercase()).or_insert(Failures {
            count: 0,
            first_at: now,
            locked_until: None,
        });
        if is_stale(entry, now) {
            *entry = Failures {
                count: 0,
                first_at: now,
                locked_until: None,
            };
        }
        entry.count += 1;
        if entry.count >= MAX_FAILURES {
            entry.locked_until = Some(now + LOCKOUT);
            return true;
        }
        false
    }

    /// Forgets the failures of a name that just logged in.
    pub(crate) fn succeeded(&self, username: &str) {
        self.lock().remove(&username.to_lowercase());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether an entry no longer counts: its window and any lockout are over.
fn is_stale(entry: &Failures, now: DateTime<Utc>) -> bool {
    let window_over = now >= entry.first_at + FAILURE_WINDOW;
    let lock_over = entry.locked_until.is_none_or(|until| now >= until);
    window_over && lock_over
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn the_fifth_wrong_password_locks_the_name_for_a_minute() {
        let throttle = LoginThrottle::default();
        for attempt in 1..MAX_FAILURES {
            assert!(!throttle.failed("Ann", t0()), "attempt {attempt}");
        }
        assert!(throttle.failed("ann", t0()));
        assert!(throttle.is_locked("ANN", t0() + TimeDelta::seconds(59)));
        assert!(!throttle.is_locked("ann", t0() + LOCKOUT));
        assert!(!throttle.is_locked("bob", t0()));
    }

    #[test]
    fn failures_age_out_and_a_success_clears_them() {
        let throttle = LoginThrottle::default();
        for _ in 1..MAX_FAILURES {
            throttle.failed("ann", t0());
        }
        assert!(!throttle.failed("ann", t0() + FAILURE_WINDOW));
        for _ in 2..MAX_FAILURES {
            throttle.failed("ann", t0() + FAILURE_WINDOW);
        }
        throttle.succeeded("ann");
        assert!(!throttle.failed("ann", t0() + FAILURE_WINDOW));
    }
}
