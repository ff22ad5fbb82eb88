//! The primitive operations on one SQLite connection.
//!
//! [`Db`] wraps a connection that is inside a transaction (the writer's, or
//! a reader's snapshot) and implements the backend traits with plain SQL.
//! Statements are cached per connection, which matters on the hot intake
//! path.

use chrono::{DateTime, Utc};
use confab_core::call::ObjectCall;
use confab_core::conversation::ConversationState;
use confab_core::data_extension::{DataExtension, RowValues};
use confab_core::options::QueuePriority;
use confab_core::subscriber::StoredSubscriber;
use confab_core::{AccountId, RequestId};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::columns::{REQUEST_COLUMNS, RequestColumns};
use crate::error::StoreError;
use crate::model::{
    ConversationRecord, NewRequest, QueuedRequest, RequestState, ResultItemRecord,
    ResultMessageRecord, ResultScope, RetrieveCursor, StoredDataExtension, StoredResultItem,
    StoredResultMessage, StoredRow, SubscriberRecord,
};
use crate::tx::{ObjectTx, QueueTx, ReadTx};

/// A connection inside a transaction.
pub(crate) struct Db<'c> {
    pub(crate) conn: &'c Connection,
}

pub(crate) use crate::columns::{instant, millis};

/// Whether a SQLite error is a unique-constraint violation.
fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// The next account with ready work in a lane: one step along the
/// `requests_lane` index.
pub(crate) const NEXT_LANE_ACCOUNT: &str = "SELECT MIN(account_id) FROM requests \
     WHERE state = 'Ready' AND priority = ?1 AND account_id > ?2";

/// The filter and order of an account's first due request in a lane, read
/// from the front of its range of the `requests_lane` index.
pub(crate) const FIRST_DUE_IN_LANE: &str = "WHERE state = 'Ready' AND priority = ?1 \
     AND account_id = ?2 AND run_after <= ?3 ORDER BY run_after, id LIMIT 1";

/// Reads a request row selected with [`REQUEST_COLUMNS`].
fn request_from_row(row: &Row<'_>) -> rusqlite::Result<Result<QueuedRequest, StoreError>> {
    let columns = RequestColumns {
        row_id: row.get(0)?,
        request_id: row.get(1)?,
        account_id: row.get(2)?,
        conversation_id: row.get(3)?,
        sequence_code: row.get(4)?,
        calls_in_conversation: row.get(5)?,
        operation: row.get(6)?,
        priority: row.get(7)?,
        run_after: row.get(8)?,
        expires_at: row.get(9)?,
        state: row.get(10)?,
    };
    Ok(columns.into_request())
}

/// Collects rows of `Result<T, StoreError>` produced by a mapping closure.
fn collect<T>(
    rows: impl Iterator<Item = rusqlite::Result<Result<T, StoreError>>>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

/// Reads a data extension row (id, object_id, definition, created_at).
fn data_extension_from_row(
    row: &Row<'_>,
) -> rusqlite::Result<Result<StoredDataExtension, StoreError>> {
    let definition: String = row.get(2)?;
    let id: i64 = row.get(0)?;
    let object_id: String = row.get(1)?;
    let created_at: i64 = row.get(3)?;
    Ok(serde_json::from_str::<DataExtension>(&definition)
        .map_err(StoreError::from)
        .map(|definition| StoredDataExtension {
            id,
            object_id,
            definition,
            created_at: instant(created_at),
        }))
}

/// Reads a subscriber row (id, record, created_at).
fn subscriber_from_row(row: &Row<'_>) -> rusqlite::Result<Result<SubscriberRecord, StoreError>> {
    let id: i64 = row.get(0)?;
    let record: String = row.get(1)?;
    let created_at: i64 = row.get(2)?;
    Ok(serde_json::from_str::<StoredSubscriber>(&record)
        .map_err(StoreError::from)
        .map(|subscriber| SubscriberRecord {
            id,
            subscriber,
            created_at: instant(created_at),
        }))
}

/// The `WHERE` clause and parameter that narrow a result scan.
fn scope_clause(scope: &ResultScope) -> (&'static str, Option<String>) {
    if let Some(request_id) = &scope.request_id {
        return (" AND request_id = ?2", Some(request_id.clone()));
    }
    if let Some(conversation_id) = &scope.conversation_id {
        // Text filters ignore case, so this one does too; the index is
        // built with the same collation so that it is still used.
        return (
            " AND conversation_id = ?2 COLLATE NOCASE",
            Some(conversation_id.clone()),
        );
    }
    (" AND ?2 IS NULL", None)
}

/// Reads the JSON records of a results table (`result_messages` or
/// `result_items`) in storage order, narrowed by `scope`.
fn scan_records<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    table: &str,
    account: AccountId,
    scope: &ResultScope,
    after_id: i64,
    limit: usize,
) -> Result<Vec<(i64, T)>, StoreError> {
    let (clause, value) = scope_clause(scope);
    let sql = format!(
        "SELECT id, record FROM {table} WHERE account_id = ?1{clause} \
         AND id > ?3 ORDER BY id LIMIT ?4"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params![account.0, value, after_id, limit as i64], |row| {
        let id: i64 = row.get(0)?;
        let record: String = row.get(1)?;
        Ok(serde_json::from_str::<T>(&record)
            .map_err(StoreError::from)
            .map(|record| (id, record)))
    })?;
    collect(rows)
}

impl ReadTx for Db<'_> {
    fn data_extension(
        &mut self,
        account: AccountId,
        key_or_name: &str,
    ) -> Result<Option<StoredDataExtension>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, object_id, definition, created_at FROM data_extensions \
             WHERE account_id = ?1 AND (customer_key = ?2 OR name = ?2) \
             ORDER BY customer_key = ?2 DESC, id LIMIT 1",
        )?;
        let found = statement
            .query_row(params![account.0, key_or_name], data_extension_from_row)
            .optional()?;
        found.transpose()
    }

    fn data_extensions(
        &mut self,
        account: AccountId,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredDataExtension>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, object_id, definition, created_at FROM data_extensions \
             WHERE account_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )?;
        let rows = statement.query_map(
            params![account.0, after_id, limit as i64],
            data_extension_from_row,
        )?;
        collect(rows)
    }

    fn rows(
        &mut self,
        data_extension_id: i64,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredRow>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, data FROM data_extension_rows \
             WHERE data_extension_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )?;
        let rows =
            statement.query_map(params![data_extension_id, after_id, limit as i64], |row| {
                let id: i64 = row.get(0)?;
                let data: String = row.get(1)?;
                Ok(serde_json::from_str::<RowValues>(&data)
                    .map_err(StoreError::from)
                    .map(|values| StoredRow { id, values }))
            })?;
        collect(rows)
    }

    fn subscribers(
        &mut self,
        account: AccountId,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<SubscriberRecord>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, record, created_at FROM subscribers \
             WHERE account_id = ?1 AND id > ?3 ORDER BY id LIMIT ?2",
        )?;
        let rows = statement.query_map(
            params![account.0, limit as i64, after_id],
            subscriber_from_row,
        )?;
        collect(rows)
    }

    fn result_messages(
        &mut self,
        account: AccountId,
        scope: &ResultScope,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredResultMessage>, StoreError> {
        let records = scan_records(
            self.conn,
            "result_messages",
            account,
            scope,
            after_id,
            limit,
        )?;
        Ok(records
            .into_iter()
            .map(|(id, record)| StoredResultMessage { id, record })
            .collect())
    }

    fn result_items(
        &mut self,
        account: AccountId,
        scope: &ResultScope,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredResultItem>, StoreError> {
        let records = scan_records(self.conn, "result_items", account, scope, after_id, limit)?;
        Ok(records
            .into_iter()
            .map(|(id, record)| StoredResultItem { id, record })
            .collect())
    }

    fn cursor(&mut self, request_id: &str) -> Result<Option<RetrieveCursor>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT request_id, account_id, query, after_id, created_at FROM retrieve_cursors \
             WHERE request_id = ?1",
        )?;
        let cursor = statement
            .query_row(params![request_id], |row| {
                Ok(RetrieveCursor {
                    request_id: row.get(0)?,
                    account: AccountId(row.get(1)?),
                    query: row.get(2)?,
                    after_id: row.get(3)?,
                    created_at: instant(row.get(4)?),
                })
            })
            .optional()?;
        Ok(cursor)
    }
}

impl ObjectTx for Db<'_> {
    fn insert_data_extension(
        &mut self,
        account: AccountId,
        definition: &DataExtension,
        now: DateTime<Utc>,
    ) -> Result<StoredDataExtension, StoreError> {
        let key = definition.key().unwrap_or_default().to_owned();
        let name = definition.name.clone().unwrap_or_else(|| key.clone());
        let object_id = uuid::Uuid::new_v4().to_string();
        let json = serde_json::to_string(definition)?;
        let mut statement = self.conn.prepare_cached(
            "INSERT INTO data_extensions \
             (account_id, customer_key, name, object_id, definition, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        match statement.execute(params![account.0, key, name, object_id, json, millis(now)]) {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => {
                return Err(StoreError::Conflict(format!("data extension {key}")));
            }
            Err(error) => return Err(error.into()),
        }
        Ok(StoredDataExtension {
            id: self.conn.last_insert_rowid(),
            object_id,
            definition: definition.clone(),
            created_at: now,
        })
    }

    fn delete_data_extension(&mut self, data_extension_id: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM data_extension_rows WHERE data_extension_id = ?1")?
            .execute(params![data_extension_id])?;
        self.conn
            .prepare_cached("DELETE FROM data_extensions WHERE id = ?1")?
            .execute(params![data_extension_id])?;
        Ok(())
    }

    fn clear_rows(&mut self, data_extension_id: i64) -> Result<usize, StoreError> {
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM data_extension_rows WHERE data_extension_id = ?1")?
            .execute(params![data_extension_id])?;
        Ok(deleted)
    }

    fn row_by_key(
        &mut self,
        data_extension_id: i64,
        row_key: &str,
    ) -> Result<Option<StoredRow>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, data FROM data_extension_rows \
             WHERE data_extension_id = ?1 AND row_key = ?2",
        )?;
        let found = statement
            .query_row(params![data_extension_id, row_key], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .optional()?;
        let Some((id, data)) = found else {
            return Ok(None);
        };
        Ok(Some(StoredRow {
            id,
            values: serde_json::from_str(&data)?,
        }))
    }

    fn insert_row(
        &mut self,
        data_extension_id: i64,
        row_key: Option<&str>,
        values: &RowValues,
    ) -> Result<i64, StoreError> {
        let data = serde_json::to_string(values)?;
        let mut statement = self.conn.prepare_cached(
            "INSERT INTO data_extension_rows (data_extension_id, row_key, data) \
             VALUES (?1, ?2, ?3)",
        )?;
        match statement.execute(params![data_extension_id, row_key, data]) {
            Ok(_) => Ok(self.conn.last_insert_rowid()),
            Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict(
                "a row with this primary key".to_owned(),
            )),
            Err(error) => Err(error.into()),
        }
    }

    fn update_row(&mut self, row_id: i64, values: &RowValues) -> Result<(), StoreError> {
        let data = serde_json::to_string(values)?;
        self.conn
            .prepare_cached("UPDATE data_extension_rows SET data = ?2 WHERE id = ?1")?
            .execute(params![row_id, data])?;
        Ok(())
    }

    fn delete_row(&mut self, row_id: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM data_extension_rows WHERE id = ?1")?
            .execute(params![row_id])?;
        Ok(())
    }

    fn subscriber(
        &mut self,
        account: AccountId,
        subscriber_key: &str,
    ) -> Result<Option<SubscriberRecord>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, record, created_at FROM subscribers \
             WHERE account_id = ?1 AND subscriber_key = ?2",
        )?;
        let found = statement
            .query_row(params![account.0, subscriber_key], subscriber_from_row)
            .optional()?;
        found.transpose()
    }

    fn insert_subscriber(
        &mut self,
        account: AccountId,
        subscriber: &StoredSubscriber,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let record = serde_json::to_string(subscriber)?;
        let mut statement = self.conn.prepare_cached(
            "INSERT INTO subscribers (account_id, subscriber_key, record, created_at, modified_at) \
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )?;
        let key = &subscriber.subscriber_key;
        match statement.execute(params![account.0, key, record, millis(now)]) {
            Ok(_) => Ok(self.conn.last_insert_rowid()),
            Err(error) if is_unique_violation(&error) => {
                Err(StoreError::Conflict(format!("subscriber {key}")))
            }
            Err(error) => Err(error.into()),
        }
    }

    fn update_subscriber(
        &mut self,
        id: i64,
        subscriber: &StoredSubscriber,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let record = serde_json::to_string(subscriber)?;
        self.conn
            .prepare_cached("UPDATE subscribers SET record = ?2, modified_at = ?3 WHERE id = ?1")?
            .execute(params![id, record, millis(now)])?;
        Ok(())
    }

    fn delete_subscriber(&mut self, id: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM subscribers WHERE id = ?1")?
            .execute(params![id])?;
        Ok(())
    }

    fn queue(&mut self) -> &mut dyn QueueTx {
        self
    }
}

impl QueueTx for Db<'_> {
    fn conversation(
        &mut self,
        account: AccountId,
        conversation_id: &str,
    ) -> Result<Option<ConversationRecord>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT state, calls_in_conversation, next_sequence, error_code, received_count, \
             last_part_at FROM conversations \
             WHERE account_id = ?1 AND conversation_id = ?2",
        )?;
        let record = statement
            .query_row(params![account.0, conversation_id], |row| {
                let state: String = row.get(0)?;
                Ok(ConversationRecord {
                    state: state.parse::<ConversationState>(),
                    calls_in_conversation: row.get(1)?,
                    next_sequence: row.get(2)?,
                    error_code: row.get(3)?,
                    received_count: row.get(4)?,
                    last_part_at: instant(row.get(5)?),
                })
            })
            .optional()?;
        Ok(record)
    }

    fn conversation_sequence_codes(
        &mut self,
        account: AccountId,
        conversation_id: &str,
    ) -> Result<Vec<i32>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT sequence_code FROM requests \
             WHERE account_id = ?1 AND conversation_id = ?2 AND sequence_code IS NOT NULL",
        )?;
        let codes = statement
            .query_map(params![account.0, conversation_id], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<i32>>>()?;
        Ok(codes)
    }

    fn insert_conversation(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        calls_in_conversation: i32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO conversations (account_id, conversation_id, calls_in_conversation, \
                 state, received_count, first_part_at, last_part_at, updated_at) \
                 VALUES (?1, ?2, ?3, 'Open', 1, ?4, ?4, ?4)",
            )?
            .execute(params![
                account.0,
                conversation_id,
                calls_in_conversation,
                millis(now)
            ])?;
        Ok(())
    }

    fn set_conversation_state(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        state: ConversationState,
        error_code: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE conversations SET state = ?3, error_code = COALESCE(?4, error_code), \
                 updated_at = ?5 WHERE account_id = ?1 AND conversation_id = ?2",
            )?
            .execute(params![
                account.0,
                conversation_id,
                state.as_str(),
                error_code,
                millis(now)
            ])?;
        Ok(())
    }

    fn set_next_sequence(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        next_sequence: i32,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE conversations SET next_sequence = ?3 \
                 WHERE account_id = ?1 AND conversation_id = ?2",
            )?
            .execute(params![account.0, conversation_id, next_sequence])?;
        Ok(())
    }

    fn touch_conversation(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE conversations SET last_part_at = ?3, updated_at = ?3, \
                 received_count = received_count + 1 \
                 WHERE account_id = ?1 AND conversation_id = ?2",
            )?
            .execute(params![account.0, conversation_id, millis(now)])?;
        Ok(())
    }

    fn insert_request(&mut self, new: &NewRequest<'_>) -> Result<(), StoreError> {
        let request = &new.request;
        let payload = new.payload;
        let part = request.part.as_ref();
        self.conn
            .prepare_cached(
                "INSERT INTO requests (request_id, account_id, conversation_id, sequence_code, \
                 calls_in_conversation, operation, priority, run_after, expires_at, state, \
                 payload, received_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                request.request_id.to_string(),
                request.account.0,
                part.map(|part| part.conversation_id.as_str()),
                part.map(|part| part.sequence_code),
                part.map(|part| part.calls_in_conversation),
                request.operation.as_str(),
                request.priority.rank(),
                millis(request.run_after),
                request.expires_at.map(millis),
                request.state.as_str(),
                payload,
                millis(new.received_at),
            ])?;
        Ok(())
    }

    fn request(
        &mut self,
        account: AccountId,
        request_id: RequestId,
    ) -> Result<Option<QueuedRequest>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE request_id = ?1 AND account_id = ?2"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let found = statement
            .query_row(params![request_id.to_string(), account.0], request_from_row)
            .optional()?;
        found.transpose()
    }

    fn request_call(&mut self, row_id: i64) -> Result<ObjectCall, StoreError> {
        let payload: String = self
            .conn
            .prepare_cached("SELECT payload FROM requests WHERE id = ?1")?
            .query_row(params![row_id], |row| row.get(0))?;
        Ok(serde_json::from_str(&payload)?)
    }

    fn conversation_parts(
        &mut self,
        account: AccountId,
        conversation_id: &str,
    ) -> Result<Vec<QueuedRequest>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE account_id = ?1 \
             AND conversation_id = ?2 AND sequence_code IS NOT NULL ORDER BY sequence_code"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(params![account.0, conversation_id], request_from_row)?;
        collect(rows)
    }

    fn finish_conversation_parts(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE requests SET finished_at = ?3 WHERE account_id = ?1 \
                 AND conversation_id = ?2 AND sequence_code IS NOT NULL",
            )?
            .execute(params![account.0, conversation_id, millis(now)])?;
        Ok(())
    }

    fn set_request_state(
        &mut self,
        row_id: i64,
        state: RequestState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let finished_at = state.is_final().then(|| millis(now));
        self.conn
            .prepare_cached(
                "UPDATE requests SET state = ?2, \
                 finished_at = CASE WHEN sequence_code IS NULL THEN ?3 ELSE finished_at END, \
                 run_after = CASE WHEN ?2 = 'Ready' THEN MAX(run_after, ?4) ELSE run_after END \
                 WHERE id = ?1",
            )?
            .execute(params![row_id, state.as_str(), finished_at, millis(now)])?;
        Ok(())
    }

    fn next_lane_account(
        &mut self,
        lane: QueuePriority,
        after: Option<AccountId>,
        _now: DateTime<Utc>,
    ) -> Result<Option<AccountId>, StoreError> {
        let after = after.map_or(i64::MIN, |account| account.0);
        let account: Option<i64> = self
            .conn
            .prepare_cached(NEXT_LANE_ACCOUNT)?
            .query_row(params![lane.rank(), after], |row| row.get(0))?;
        Ok(account.map(AccountId))
    }

    fn first_due_in_lane(
        &mut self,
        lane: QueuePriority,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Option<QueuedRequest>, StoreError> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests {FIRST_DUE_IN_LANE}");
        let mut statement = self.conn.prepare_cached(&sql)?;
        let found = statement
            .query_row(
                params![lane.rank(), account.0, millis(now)],
                request_from_row,
            )
            .optional()?;
        found.transpose()
    }

    fn insert_result_message(&mut self, message: &ResultMessageRecord) -> Result<(), StoreError> {
        let record = serde_json::to_string(message)?;
        let conversation_id = message
            .part
            .as_ref()
            .map(|part| part.conversation_id.as_str());
        self.conn
            .prepare_cached(
                "INSERT INTO result_messages (account_id, request_id, conversation_id, record, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                message.account.0,
                message.request_id.to_string(),
                conversation_id,
                record,
                millis(message.created_at),
            ])?;
        Ok(())
    }

    fn insert_result_items(&mut self, items: &[ResultItemRecord]) -> Result<(), StoreError> {
        let mut statement = self.conn.prepare_cached(
            "INSERT INTO result_items \
             (account_id, request_id, conversation_id, record, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for item in items {
            let record = serde_json::to_string(item)?;
            statement.execute(params![
                item.account.0,
                item.request_id.to_string(),
                item.conversation_id,
                record,
                millis(item.created_at),
            ])?;
        }
        Ok(())
    }

    fn objects(&mut self) -> &mut dyn ObjectTx {
        self
    }
}

/// Runs `work` inside a named savepoint on a connection that is already in
/// a transaction: its changes stay if it succeeds and are undone if it
/// fails, without touching the rest of the transaction.
pub(crate) fn in_savepoint<T>(
    conn: &Connection,
    work: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.prepare_cached("SAVEPOINT unit")?.execute([])?;
    match work() {
        Ok(value) => {
            conn.prepare_cached("RELEASE unit")?.execute([])?;
            Ok(value)
        }
        Err(error) => {
            conn.prepare_cached("ROLLBACK TO unit")?.execute([])?;
            conn.prepare_cached("RELEASE unit")?.execute([])?;
            Err(error)
        }
    }
}
