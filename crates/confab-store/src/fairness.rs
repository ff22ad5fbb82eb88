//! Which due request runs next: higher lanes more often, no lane starved,
//! and within a lane no account able to hold back another.
//!
//! The lanes share the worker by weighted round robin, High : Medium : Low
//! = 4 : 2 : 1, over a fixed cycle of seven turns:
//!
//! ```text
//!  turn   0     1       2     3     4       5     6
//!  lane   High  Medium  High  High  Medium  High  Low
//! ```
//!
//! A turn whose lane has no due work is skipped, so the lanes that have work
//! share the worker in the proportion of their weights (Medium and Low alone
//! run 2 : 1). Low comes last in the cycle so that, from an idle queue, a
//! burst of mixed work starts with its most urgent calls; and the cycle
//! starts over whenever no work at all is due, which keeps the order of a
//! fresh burst independent of what ran before it.
//!
//! A weighted cycle rather than deficit round robin: requests are not
//! weighed by size (a call's cost is unknown until it runs), so the simpler
//! scheme gives the same shares.
//!
//! Within a lane, accounts take turns: each pick goes to the next account,
//! by number, after the one the lane served last, that has due work; and
//! within an account the request that fell due first (by `run_after`, then
//! arrival) runs. One account's flood of calls therefore delays another
//! account's call by at most one call per account with due work.
//!
//! The state is a [`Rotation`] of a few words; the worker keeps it between
//! batches. Every query it makes is one step along an index, whatever the
//! size of the queue: the next account with ready work in a lane, and an
//! account's first due request in a lane.

use chrono::{DateTime, Utc};
use confab_core::AccountId;
use confab_core::options::QueuePriority;

use crate::error::StoreError;
use crate::model::QueuedRequest;
use crate::tx::QueueTx;

/// The lanes in the order one cycle serves them: High four times, Medium
/// twice, Low once.
const CYCLE: [QueuePriority; 7] = [
    QueuePriority::High,
    QueuePriority::Medium,
    QueuePriority::High,
    QueuePriority::High,
    QueuePriority::Medium,
    QueuePriority::High,
    QueuePriority::Low,
];

/// Where the round robin stands: the next turn of the cycle, and the account
/// each lane served last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    turn: usize,
    last_account: [Option<AccountId>; 3],
}

impl Rotation {
    /// The request whose turn it is, among those Ready and due by `now`;
    /// moves the rotation on past it.
    pub fn next_due(
        &mut self,
        tx: &mut dyn QueueTx,
        now: DateTime<Utc>,
    ) -> Result<Option<QueuedRequest>, StoreError> {
        let mut lane_is_dry = [false; 3];
        for step in 0..CYCLE.len() {
            let turn = (self.turn + step) % CYCLE.len();
            let lane = CYCLE[turn];
            if lane_is_dry[lane_index(lane)] {
                continue;
            }
            if let Some(request) = self.next_in_lane(tx, lane, now)? {
                self.turn = (turn + 1) % CYCLE.len();
                return Ok(Some(request));
            }
            lane_is_dry[lane_index(lane)] = true;
        }
        *self = Self::default();
        Ok(None)
    }

    /// The first due request of the next account, after the one `lane`
    /// served last, that has one.
    fn next_in_lane(
        &mut self,
        tx: &mut dyn QueueTx,
        lane: QueuePriority,
        now: DateTime<Utc>,
    ) -> Result<Option<QueuedRequest>, StoreError> {
        let last = self.last_account[lane_index(lane)];
        // First the accounts after the last one served, then, wrapped
        // around, those up to and including it.
        let mut after = last;
        let mut wrapped = last.is_none();
        loop {
            let Some(account) = tx.next_lane_account(lane, after, now)? else {
                if wrapped {
                    return Ok(None);
                }
                (after, wrapped) = (None, true);
                continue;
            };
            if wrapped && last.is_some_and(|last| account > last) {
                return Ok(None);
            }
            if let Some(request) = tx.first_due_in_lane(lane, account, now)? {
                self.last_account[lane_index(lane)] = Some(account);
                return Ok(Some(request));
            }
            after = Some(account);
        }
    }
}

/// The slot of a lane in [`Rotation::last_account`], and in any other
/// table of the three lanes.
pub(crate) fn lane_index(lane: QueuePriority) -> usize {
    match lane {
        QueuePriority::High => 0,
        QueuePriority::Medium => 1,
        QueuePriority::Low => 2,
    }
}
