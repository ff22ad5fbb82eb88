//! The housekeeping primitives on PostgreSQL: finding silent conversations
//! and deleting old rows, each in one indexed statement.
//!
//! Any node may run housekeeping; [`HOUSEKEEPING_LOCK`] makes one node at a
//! time do it without a fixed leader. A node that finds the lock taken
//! waits for it rather than skipping its pass, so that a pass that returns
//! has really been done (the test clock relies on that); by then the other
//! node has usually left it nothing to do. A node that dies releases the
//! lock with its connection, and the next node takes over.

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

/// Deletes the oldest rows of `table` whose `column` is before `cutoff`, at
/// most `limit` of them, along the index on `column`.
fn delete_oldest(
    db: &mut PgDb<'_, '_>,
    table: &str,
    column: &str,
    cutoff: DateTime<Utc>,
    limit: usize,
) -> Result<usize, StoreError> {
    let sql = format!(
        "DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} \
         WHERE {column} < $1 ORDER BY {column} LIMIT $2)"
    );
    let deleted = db.execute(&sql, &[&millis(cutoff), &(limit as i64)])?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}

impl HousekeepingTx for PgDb<'_, '_> {
    fn stale_open_conversations(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ConversationKey>, StoreError> {
        let rows = self.query(
            "SELECT account_id, conversation_id FROM conversations \
             WHERE state = 'Open' AND last_part_at < $1 ORDER BY last_part_at LIMIT $2",
            &[&millis(cutoff), &(limit as i64)],
        )?;
        rows.iter()
            .map(|row| {
                Ok(ConversationKey {
                    account: AccountId(row.try_get(0)?),
                    conversation_id: row.try_get(1)?,
                })
            })
            .collect()
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
        // A request that has not run has no finished_at, so it never
        // matches.
        delete_oldest(self, "requests", "finished_at", cutoff, limit)
    }

    fn purge_cursors(&mut self, cutoff: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        delete_oldest(self, "retrieve_cursors", "created_at", cutoff, limit)
    }
}
