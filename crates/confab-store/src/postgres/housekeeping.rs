//! The housekeeping primitives on PostgreSQL: finding silent conversations
//! and deleting old rows, each in one indexed statement.
//!
//! Any node may run housekeeping; [`HOUSEKEEPING_LOCK`] makes one node at a
//! time do it without a fixed leader. A node that finds the lock taken
//! waits for it rather than skipping its pass, so that a pass that returns
//! has really been done (the test clock relies on that); by then the other
//! node has usually left it nothing to do. A node that dies releases the
//! lock with its connection, and the next node takes over.

use std::time::Instant;

use chrono::{DateTime, Utc};
use confab_core::AccountId;

use crate::columns::millis;
use crate::error::StoreError;
use crate::model::ConversationKey;
use crate::postgres::db::PgDb;
use crate::tx::HousekeepingTx;

/// The advisory lock a housekeeping transaction holds (with the schema's
/// hash as its second half).
pub(crate) const HOUSEKEEPING_LOCK: i32 = 266_323;

/// Takes the housekeeping lock for the rest of the transaction, waiting
/// while another node holds it. It is the transaction's first lock, so the
/// wait cannot deadlock.
pub(crate) fn lock(db: &mut PgDb<'_, '_>) -> Result<(), StoreError> {
    // Keyed by schema too: deployments in different schemas of one
    // database must not wait for each other's housekeeping.
    db.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&HOUSEKEEPING_LOCK],
    )?;
    Ok(())
}

/// Conversations still collecting parts whose last part is from the floor
/// `$3` to before `$1`, at most `$2`, along the `conversations_open` index.
pub(crate) const STALE_OPEN_CONVERSATIONS: &str = "SELECT account_id, conversation_id, \
     last_part_at FROM conversations \
     WHERE state = 'Open' AND last_part_at >= $3 AND last_part_at < $1 \
     ORDER BY last_part_at LIMIT $2";

/// The statement that deletes the oldest rows of `table` whose `column` is
/// from the floor `$3` to before `$1`, at most `$2` of them, and returns
/// their `column`.
pub(crate) fn delete_oldest_sql(table: &str, column: &str) -> String {
    format!(
        "DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} \
         WHERE {column} >= $3 AND {column} < $1 ORDER BY {column} LIMIT $2) \
         RETURNING {column}"
    )
}

/// Deletes the oldest rows of `table` whose `column` is before `cutoff`, at
/// most `limit` of them, along the index on `column` from the range's floor
/// (see [`crate::postgres::floors`]): what earlier batches deleted stays in
/// the index while an old snapshot is open, and is not walked again.
fn delete_oldest(
    db: &mut PgDb<'_, '_>,
    table: &'static str,
    column: &str,
    cutoff: DateTime<Utc>,
    limit: usize,
) -> Result<usize, StoreError> {
    let sql = delete_oldest_sql(table, column);
    let cutoff = millis(cutoff);
    let deleted = scan_from_floor(db, table, |db, floor| {
        let rows = db.query(&sql, &[&cutoff, &(limit as i64), &floor])?;
        let keys = rows.iter().map(|row| row.try_get::<_, i64>(0));
        keys.collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::from)
    })?;
    // Nothing older than the cutoff is written later, so the floor rises
    // to the cutoff once a batch came up short.
    let reached = match deleted.iter().max() {
        Some(&last) if deleted.len() >= limit => last,
        _ => cutoff,
    };
    db.floors
        .housekeeping(table, |floor| floor.raise(reached, i64::MAX));
    Ok(deleted.len())
}

/// Runs `scan` from the floor of the housekeeping range `range`, and
/// records what it cost when it started from the front.
fn scan_from_floor<T>(
    db: &mut PgDb<'_, '_>,
    range: &'static str,
    scan: impl FnOnce(&mut PgDb<'_, '_>, i64) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let start = db.floors.housekeeping(range, |floor| floor.start());
    db.notes.raised_housekeeping();
    let started = Instant::now();
    let found = scan(db, start.unwrap_or(i64::MIN))?;
    if start.is_none() {
        let cost = started.elapsed();
        db.floors
            .housekeeping(range, |floor| floor.scanned_from_front(cost));
    }
    Ok(found)
}

impl HousekeepingTx for PgDb<'_, '_> {
    fn stale_open_conversations(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ConversationKey>, StoreError> {
        let cutoff = millis(cutoff);
        let stale = scan_from_floor(self, "conversations", |db, floor| {
            let rows = db.query(
                STALE_OPEN_CONVERSATIONS,
                &[&cutoff, &(limit as i64), &floor],
            )?;
            rows.iter()
                .map(|row| {
                    let key = ConversationKey {
                        account: AccountId(row.try_get(0)?),
                        conversation_id: row.try_get(1)?,
                    };
                    Ok((key, row.try_get::<_, i64>(2)?))
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        // A conversation's last part only moves later, so none can fall
        // below what this scan passed, but for a part committed later than
        // it was stamped: the floor keeps the margin below the cutoff.
        let reached = match stale.last() {
            Some((_, last)) if stale.len() >= limit => *last,
            _ => cutoff,
        };
        self.floors
            .housekeeping("conversations", |floor| floor.raise(reached, cutoff));
        Ok(stale.into_iter().map(|(key, _)| key).collect())
    }

    fn purge_result_items(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        delete_oldest(self, "result_items", "created_at", cutoff, limit)
    }

    fn purge_result_messages(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        delete_oldest(self, "result_messages", "created_at", cutoff, limit)
    }

    fn purge_finished_requests(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        // A request that has not run has no finished_at, and neither has a
        // part of a conversation that has not ended, so neither matches.
        delete_oldest(self, "requests", "finished_at", cutoff, limit)
    }

    fn purge_cursors(&mut self, cutoff: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        delete_oldest(self, "retrieve_cursors", "created_at", cutoff, limit)
    }

    fn purge_finished_deliveries(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        // A delivery still Pending has no finished_at, so it never matches.
        delete_oldest(self, "deliveries", "finished_at", cutoff, limit)
    }
}
