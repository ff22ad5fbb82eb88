//! Where the engine reads the time from, so that tests can move it.
//!
//! Production runs on [`SystemClock`]. [`TestClock`] is the system clock
//! plus an offset that only ever grows; the binary uses it when started
//! with `--test-clock`, so that tests of the real server can jump minutes
//! or days ahead without waiting. Everything time-based reads the engine's
//! clock: the receipt checks, when queued work falls due and expires,
//! conversation time-outs, retention and token expiry.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock moved ahead by an offset that tests advance. Never for
/// production: a server on it can be told that a month has passed.
///
/// Time keeps flowing at the system's pace between advances; the offset
/// never shrinks, so the engine never sees time go backwards.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_millis: AtomicI64,
}

impl TestClock {
    /// Moves the clock `by` ahead and returns the new now. A negative
    /// amount moves it nowhere.
    pub fn advance(&self, by: TimeDelta) -> DateTime<Utc> {
        let millis = by.num_milliseconds().max(0);
        self.offset_millis.fetch_add(millis, Ordering::SeqCst);
        self.now()
    }

    /// How far ahead of the system clock this clock is.
    pub fn offset(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.offset_millis.load(Ordering::SeqCst))
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_clock_runs_ahead_by_what_it_was_advanced() {
        let clock = TestClock::default();
        let before = Utc::now();
        let moved = clock.advance(TimeDelta::minutes(10));
        assert!(moved >= before + TimeDelta::minutes(10));
        assert_eq!(clock.offset(), TimeDelta::minutes(10));
    }

    #[test]
    fn the_test_clock_never_goes_back() {
        let clock = TestClock::default();
        clock.advance(TimeDelta::seconds(5));
        clock.advance(TimeDelta::seconds(-60));
        assert_eq!(clock.offset(), TimeDelta::seconds(5));
    }
}
