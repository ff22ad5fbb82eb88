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
pub use confab_core::time::{Clock, SystemClock};

/// The system clock moved ahead by an offset that tests advance. Never for
/// production: a server on it can be told that a month has passed.
///
/// Time keeps flowing at the system's pace between advances; the offset
/// never shrinks, so the engine never sees time go backwards.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_millis: AtomicI64,
}

/// How far the offset may grow: a century. Every rule adds days to now
/// or subtracts them (226's thirty days, retention, token expiry), and
/// `now()` itself adds the offset to the system clock; an offset of
/// hundreds of millennia made all of them overflow and panic, so one call
/// could bring the server down. A century is more than any test needs.
pub const MAX_TEST_CLOCK_OFFSET: TimeDelta = TimeDelta::days(36_525);

impl TestClock {
    /// Moves the clock `by` ahead and returns the new now, or `None`,
    /// moving nothing, when the offset would exceed
    /// [`MAX_TEST_CLOCK_OFFSET`]. A negative amount moves it nowhere.
    pub fn advance(&self, by: TimeDelta) -> Option<DateTime<Utc>> {
        let millis = by.num_milliseconds().max(0);
        let most = MAX_TEST_CLOCK_OFFSET.num_milliseconds();
        self.offset_millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
                offset.checked_add(millis).filter(|moved| *moved <= most)
            })
            .ok()?;
        Some(self.now())
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_test_clock_runs_ahead_by_what_it_was_advanced() {
        let clock = TestClock::default();
        let before = Utc::now();
        let moved = clock.advance(TimeDelta::minutes(10)).unwrap();
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

    #[test]
    fn the_test_clock_stays_within_a_century() {
        let clock = TestClock::default();
        assert!(clock.advance(MAX_TEST_CLOCK_OFFSET).is_some());
        assert_eq!(clock.advance(TimeDelta::milliseconds(1)), None);
        assert_eq!(clock.offset(), MAX_TEST_CLOCK_OFFSET);

        let other = TestClock::default();
        assert_eq!(other.advance(TimeDelta::MAX), None);
        assert_eq!(other.offset(), TimeDelta::zero());
    }
}
