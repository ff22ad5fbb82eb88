//! The housekeeping primitives on SQLite: finding silent conversations and
//! deleting old rows, each in one indexed statement.

use chrono::{DateTime, Utc};
use confab_core::AccountId;
use rusqlite::params;

use crate::error::StoreError;
use crate::model::ConversationKey;
use crate::sqlite::db::{Db, millis};
use crate::tx::HousekeepingTx;

/// Conversations still collecting parts whose last part is older than ?1,
/// along the `conversations_open` index.
pub(crate) const STALE_OPEN_CONVERSATIONS: &str = "SELECT account_id, conversation_id \
     FROM conversations WHERE state = 'Open' AND last_part_at < ?1 \
     ORDER BY last_part_at LIMIT ?2";

/// The statement that deletes the oldest rows of `table` whose `column` is
/// before ?1, at most ?2 of them. The inner query walks the table's index
/// on that column, so a batch costs the same however large the table is.
pub(crate) fn delete_oldest_sql(table: &str, column: &str) -> String {
    format!(
        "DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} \
         WHERE {column} < ?1 ORDER BY {column} LIMIT ?2)"
    )
}

/// Runs [`delete_oldest_sql`].
fn delete_oldest(
    db: &Db<'_>,
    table: &str,
    column: &str,
    cutoff: DateTime<Utc>,
    limit: usize,
) -> Result<usize, StoreError> {
    let sql = delete_oldest_sql(table, column);
    let deleted = db
        .conn
        .prepare_cached(&sql)?
        .execute(params![millis(cutoff), limit as i64])?;
    Ok(deleted)
}

impl HousekeepingTx for Db<'_> {
    fn stale_open_conversations(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ConversationKey>, StoreError> {
        let mut statement = self.conn.prepare_cached(STALE_OPEN_CONVERSATIONS)?;
        let rows = statement.query_map(params![millis(cutoff), limit as i64], |row| {
            Ok(ConversationKey {
                account: AccountId(row.get(0)?),
                conversation_id: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
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
