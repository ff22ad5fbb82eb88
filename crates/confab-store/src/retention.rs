//! Forgetting old outcomes: results and stored calls are kept for a
//! retention window (30 days by default, the time the documentation keeps
//! asynchronous results), then deleted.
//!
//! What goes: `ResultMessage`s and `ResultItem`s written before the window,
//! requests that finished before it (their stored call with them),
//! callbacks delivered or given up on before it (dead letters, and the
//! copies of results they carry), and Retrieve cursors older than a day or
//! the window, whichever is shorter. What stays: every request that has not
//! run, however old; every part of a conversation that has not ended, since
//! its end callbacks are owed to the entries of every part; callbacks still
//! being tried; and every conversation row, so that a used `ConversationID`
//! is refused with 211 forever.
//!
//! Deleting happens in small batches, each its own short write, so that
//! purging months of results never holds up the queue.

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::StoreError;
use crate::tx::HousekeepingTx;

/// How long a saved Retrieve cursor lives at most. Clients page through a
/// result within minutes; a day is generous.
pub const CURSOR_LIFETIME: TimeDelta = TimeDelta::days(1);

/// Deletes at most `limit` rows that fell out of the `retention` window
/// before `now`: result items first, then result messages, then finished
/// requests, then finished callbacks, then stale cursors. Returns how many it deleted; fewer than
/// `limit` means nothing older is left.
pub fn purge_batch(
    tx: &mut dyn HousekeepingTx,
    now: DateTime<Utc>,
    retention: TimeDelta,
    limit: usize,
) -> Result<usize, StoreError> {
    let mut deleted = 0;
    // A window reaching back before the first representable instant (an
    // operator's "keep for ever") leaves no result old enough to purge.
    if let Some(cutoff) = now.checked_sub_signed(retention) {
        deleted += tx.purge_result_items(cutoff, limit)?;
        if deleted < limit {
            deleted += tx.purge_result_messages(cutoff, limit - deleted)?;
        }
        if deleted < limit {
            deleted += tx.purge_finished_requests(cutoff, limit - deleted)?;
        }
        if deleted < limit {
            deleted += tx.purge_finished_deliveries(cutoff, limit - deleted)?;
        }
    }
    if deleted < limit {
        let cursor_cutoff = now - retention.min(CURSOR_LIFETIME);
        deleted += tx.purge_cursors(cursor_cutoff, limit - deleted)?;
    }
    Ok(deleted)
}
