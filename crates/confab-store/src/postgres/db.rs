//! The primitive operations on one PostgreSQL transaction.
//!
//! [`PgDb`] wraps a transaction (a writer's, the worker's, or a reader's
//! snapshot) and implements the backend traits with plain SQL. Statements
//! are prepared once per connection and kept in its [`StatementCache`]:
//! an unprepared query costs PostgreSQL a second round trip.
//!
//! Several nodes write at once, so the rows that order work are locked
//! when read for writing: a conversation (`FOR UPDATE`) while a part
//! arrives, runs or is cancelled, and a request while it is cancelled or
//! claimed to run (`FOR UPDATE SKIP LOCKED`, so that two nodes never wait
//! for each other's work).

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use confab_core::call::ObjectCall;
use confab_core::conversation::ConversationState;
use confab_core::data_extension::{DataExtension, RowValues};
use confab_core::options::QueuePriority;
use confab_core::subscriber::StoredSubscriber;
use confab_core::{AccountId, RequestId};
use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};

use crate::columns::{REQUEST_COLUMNS, RequestColumns, instant, millis};
use crate::error::StoreError;
use crate::model::{
    ConversationRecord, NewRequest, QueuedRequest, RequestState, ResultItemRecord,
    ResultMessageRecord, ResultScope, RetrieveCursor, StoredDataExtension, StoredResultItem,
    StoredResultMessage, StoredRow, SubscriberRecord,
};
use crate::postgres::floors::{Floors, Note, Notes};
use crate::tx::{ObjectTx, QueueTx, ReadTx};

/// Statements prepared on one connection, by their text.
#[derive(Default)]
pub(crate) struct StatementCache {
    statements: HashMap<String, Statement>,
}

/// Query parameters.
type Params<'p> = [&'p (dyn ToSql + Sync)];

/// A transaction, the statement cache of its connection, and what this
/// node keeps about where its scans start.
pub(crate) struct PgDb<'t, 'c> {
    pub(crate) tx: &'t mut Transaction<'c>,
    pub(crate) cache: &'t mut StatementCache,
    /// This node's floors (see [`super::floors`]).
    pub(crate) floors: &'t Floors,
    /// What the transaction leaves for after its commit.
    pub(crate) notes: &'t mut Notes,
}

impl PgDb<'_, '_> {
    /// The prepared statement for `sql`, preparing it on first use.
    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.cache.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql)?;
        self.cache
            .statements
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Runs a query and returns its rows.
    pub(crate) fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, StoreError> {
        let statement = self.statement(sql)?;
        Ok(self.tx.query(&statement, params)?)
    }

    /// Runs a query that returns at most one row.
    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, StoreError> {
        let statement = self.statement(sql)?;
        Ok(self.tx.query_opt(&statement, params)?)
    }

    /// Runs a statement and returns how many rows it changed.
    pub(crate) fn execute(&mut self, sql: &str, params: &Params<'_>) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        Ok(self.tx.execute(&statement, params)?)
    }

    /// Runs an `INSERT … ON CONFLICT DO NOTHING RETURNING id` and returns
    /// the id, or `Conflict` naming `what` when a unique key was taken. The
    /// conflict is never an error inside PostgreSQL, which would abort the
    /// whole transaction and every other object of the call with it.
    fn insert_returning_id(
        &mut self,
        sql: &str,
        params: &Params<'_>,
        what: impl FnOnce() -> String,
    ) -> Result<i64, StoreError> {
        match self.query_opt(sql, params)? {
            Some(row) => Ok(row.try_get(0)?),
            None => Err(StoreError::Conflict(what())),
        }
    }

    /// Every account with ready work in `lane`, by walking the lane's index.
    fn accounts_with_ready_work(&mut self, lane: QueuePriority) -> Result<Vec<i64>, StoreError> {
        let rows = self.query(ACCOUNTS_WITH_READY_WORK, &[&lane.rank()])?;
        rows.iter()
            .map(|row| row.try_get(0).map_err(StoreError::from))
            .collect()
    }
}

/// Every account with ready work in the lane `$1`, in one statement: a walk
/// of the lane's range of the `requests_ready` index that jumps from each
/// account found to the front of the next one's range (a recursive skip
/// scan), rather than reading every entry. It still crosses the dead
/// entries at the front of each account's range, so it runs only to find
/// the accounts again (see [`super::floors`]).
///
/// Each step is `ORDER BY … LIMIT 1` rather than `MIN(account_id)`: a
/// generic plan made while the table looked small computed the `MIN` by
/// reading every ready row of the lane.
pub(crate) const ACCOUNTS_WITH_READY_WORK: &str = "WITH RECURSIVE found (account_id) AS ( \
     (SELECT account_id FROM requests WHERE state = 'Ready' AND priority = $1 \
      ORDER BY account_id LIMIT 1) \
     UNION ALL \
     SELECT (SELECT next.account_id FROM requests AS next \
             WHERE next.state = 'Ready' AND next.priority = $1 \
             AND next.account_id > found.account_id \
             ORDER BY next.account_id LIMIT 1) \
     FROM found WHERE found.account_id IS NOT NULL) \
     SELECT account_id FROM found WHERE account_id IS NOT NULL";

/// The claim of an account's first due request in a lane, from its floor
/// `$3` to `now` (`$4`): a range of the `requests_ready` index, whose last
/// column is `id` so that no plan needs to sort. `SKIP LOCKED`: a request
/// another node is running is not waited for; the row lock is the claim,
/// and it ends with that node's transaction, committed or not. The last
/// column is when the account's earliest ready request from the floor
/// falls due, whoever holds it.
pub(crate) fn first_due_in_lane_sql() -> String {
    format!(
        "SELECT {REQUEST_COLUMNS}, (SELECT earliest.run_after FROM requests AS earliest \
         WHERE earliest.state = 'Ready' AND earliest.priority = $1 \
         AND earliest.account_id = $2 AND earliest.run_after >= $3 \
         ORDER BY earliest.run_after, earliest.id LIMIT 1) AS earliest_run_after \
         FROM requests WHERE state = 'Ready' AND priority = $1 \
         AND account_id = $2 AND run_after >= $3 AND run_after <= $4 \
         ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED"
    )
}

/// When an account's earliest ready request in a lane, from its floor
/// `$3`, falls due, whether or not another node holds it.
pub(crate) const NEXT_READY_IN_LANE: &str = "SELECT run_after FROM requests \
     WHERE state = 'Ready' AND priority = $1 AND account_id = $2 AND run_after >= $3 \
     ORDER BY run_after, id LIMIT 1";

/// Reads a request row selected with [`REQUEST_COLUMNS`].
fn request_from_row(row: &Row) -> Result<QueuedRequest, StoreError> {
    RequestColumns {
        row_id: row.try_get(0)?,
        request_id: row.try_get(1)?,
        account_id: row.try_get(2)?,
        conversation_id: row.try_get(3)?,
        sequence_code: row.try_get(4)?,
        calls_in_conversation: row.try_get(5)?,
        operation: row.try_get(6)?,
        priority: row.try_get(7)?,
        run_after: row.try_get(8)?,
        expires_at: row.try_get(9)?,
        state: row.try_get(10)?,
    }
    .into_request()
}

/// Reads a data extension row (id, object_id, definition, created_at).
fn data_extension_from_row(row: &Row) -> Result<StoredDataExtension, StoreError> {
    let definition: String = row.try_get(2)?;
    Ok(StoredDataExtension {
        id: row.try_get(0)?,
        object_id: row.try_get(1)?,
        definition: serde_json::from_str::<DataExtension>(&definition)?,
        created_at: instant(row.try_get(3)?),
    })
}

/// Reads a subscriber row (id, record, created_at).
fn subscriber_from_row(row: &Row) -> Result<SubscriberRecord, StoreError> {
    let record: String = row.try_get(1)?;
    Ok(SubscriberRecord {
        id: row.try_get(0)?,
        subscriber: serde_json::from_str::<StoredSubscriber>(&record)?,
        created_at: instant(row.try_get(2)?),
    })
}

/// Reads the JSON records of a results table (`result_messages` or
/// `result_items`) in storage order, narrowed by `scope`.
fn scan_records<T: serde::de::DeserializeOwned>(
    db: &mut PgDb<'_, '_>,
    table: &str,
    account: AccountId,
    scope: &ResultScope,
    after_id: i64,
    limit: usize,
) -> Result<Vec<(i64, T)>, StoreError> {
    let limit = limit as i64;
    let (clause, value) = if let Some(request_id) = &scope.request_id {
        (" AND request_id = $4", Some(request_id))
    } else if let Some(conversation_id) = &scope.conversation_id {
        // Text filters ignore case, and the index is on lower() to match.
        (
            " AND lower(conversation_id) = lower($4)",
            Some(conversation_id),
        )
    } else {
        (" AND $4::TEXT IS NULL", None)
    };
    let sql = format!(
        "SELECT id, record FROM {table} WHERE account_id = $1 AND id > $2{clause} \
         ORDER BY id LIMIT $3"
    );
    let rows = db.query(&sql, &[&account.0, &after_id, &limit, &value])?;
    rows.iter()
        .map(|row| {
            let record: String = row.try_get(1)?;
            Ok((row.try_get(0)?, serde_json::from_str::<T>(&record)?))
        })
        .collect()
}

impl ReadTx for PgDb<'_, '_> {
    fn data_extension(
        &mut self,
        account: AccountId,
        key_or_name: &str,
    ) -> Result<Option<StoredDataExtension>, StoreError> {
        let row = self.query_opt(
            "SELECT id, object_id, definition, created_at FROM data_extensions \
             WHERE account_id = $1 AND (lower(customer_key) = lower($2) \
             OR lower(name) = lower($2)) \
             ORDER BY lower(customer_key) = lower($2) DESC, id LIMIT 1",
            &[&account.0, &key_or_name],
        )?;
        row.as_ref().map(data_extension_from_row).transpose()
    }

    fn data_extensions(
        &mut self,
        account: AccountId,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredDataExtension>, StoreError> {
        let rows = self.query(
            "SELECT id, object_id, definition, created_at FROM data_extensions \
             WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&account.0, &after_id, &(limit as i64)],
        )?;
        rows.iter().map(data_extension_from_row).collect()
    }

    fn rows(
        &mut self,
        data_extension_id: i64,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredRow>, StoreError> {
        let rows = self.query(
            "SELECT id, data FROM data_extension_rows \
             WHERE data_extension_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&data_extension_id, &after_id, &(limit as i64)],
        )?;
        rows.iter()
            .map(|row| {
                let data: String = row.try_get(1)?;
                Ok(StoredRow {
                    id: row.try_get(0)?,
                    values: serde_json::from_str::<RowValues>(&data)?,
                })
            })
            .collect()
    }

    fn subscribers(
        &mut self,
        account: AccountId,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<SubscriberRecord>, StoreError> {
        let rows = self.query(
            "SELECT id, record, created_at FROM subscribers \
             WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&account.0, &after_id, &(limit as i64)],
        )?;
        rows.iter().map(subscriber_from_row).collect()
    }

    fn result_messages(
        &mut self,
        account: AccountId,
        scope: &ResultScope,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<StoredResultMessage>, StoreError> {
        let records = scan_records(self, "result_messages", account, scope, after_id, limit)?;
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
        let records = scan_records(self, "result_items", account, scope, after_id, limit)?;
        Ok(records
            .into_iter()
            .map(|(id, record)| StoredResultItem { id, record })
            .collect())
    }

    fn cursor(&mut self, request_id: &str) -> Result<Option<RetrieveCursor>, StoreError> {
        let row = self.query_opt(
            "SELECT request_id, account_id, query, after_id, created_at FROM retrieve_cursors \
             WHERE request_id = $1",
            &[&request_id],
        )?;
        row.map(|row| {
            Ok(RetrieveCursor {
                request_id: row.try_get(0)?,
                account: AccountId(row.try_get(1)?),
                query: row.try_get(2)?,
                after_id: row.try_get(3)?,
                created_at: instant(row.try_get(4)?),
            })
        })
        .transpose()
    }
}

impl ObjectTx for PgDb<'_, '_> {
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
        let id = self.insert_returning_id(
            "INSERT INTO data_extensions \
             (account_id, customer_key, name, object_id, definition, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
            &[&account.0, &key, &name, &object_id, &json, &millis(now)],
            || format!("data extension {key}"),
        )?;
        Ok(StoredDataExtension {
            id,
            object_id,
            definition: definition.clone(),
            created_at: now,
        })
    }

    fn delete_data_extension(&mut self, data_extension_id: i64) -> Result<(), StoreError> {
        // The rows go with it (ON DELETE CASCADE).
        self.execute(
            "DELETE FROM data_extensions WHERE id = $1",
            &[&data_extension_id],
        )?;
        Ok(())
    }

    fn clear_rows(&mut self, data_extension_id: i64) -> Result<usize, StoreError> {
        let deleted = self.execute(
            "DELETE FROM data_extension_rows WHERE data_extension_id = $1",
            &[&data_extension_id],
        )?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    fn row_by_key(
        &mut self,
        data_extension_id: i64,
        row_key: &str,
    ) -> Result<Option<StoredRow>, StoreError> {
        // Locked: the caller writes the row back with its changes merged
        // in, and a worker beside this one could otherwise write the same
        // row from the same old version, losing one of the two changes.
        let row = self.query_opt(
            "SELECT id, data FROM data_extension_rows \
             WHERE data_extension_id = $1 AND row_key = $2 FOR UPDATE",
            &[&data_extension_id, &row_key],
        )?;
        row.map(|row| {
            let data: String = row.try_get(1)?;
            Ok(StoredRow {
                id: row.try_get(0)?,
                values: serde_json::from_str(&data)?,
            })
        })
        .transpose()
    }

    fn insert_row(
        &mut self,
        data_extension_id: i64,
        row_key: Option<&str>,
        values: &RowValues,
    ) -> Result<i64, StoreError> {
        let data = serde_json::to_string(values)?;
        self.insert_returning_id(
            "INSERT INTO data_extension_rows (data_extension_id, row_key, data) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING id",
            &[&data_extension_id, &row_key, &data],
            || "a row with this primary key".to_owned(),
        )
    }

    fn update_row(&mut self, row_id: i64, values: &RowValues) -> Result<(), StoreError> {
        let data = serde_json::to_string(values)?;
        self.execute(
            "UPDATE data_extension_rows SET data = $2 WHERE id = $1",
            &[&row_id, &data],
        )?;
        Ok(())
    }

    fn delete_row(&mut self, row_id: i64) -> Result<(), StoreError> {
        self.execute("DELETE FROM data_extension_rows WHERE id = $1", &[&row_id])?;
        Ok(())
    }

    fn subscriber(
        &mut self,
        account: AccountId,
        subscriber_key: &str,
    ) -> Result<Option<SubscriberRecord>, StoreError> {
        // Locked, as in `row_by_key`: the caller writes it back changed.
        let row = self.query_opt(
            "SELECT id, record, created_at FROM subscribers \
             WHERE account_id = $1 AND lower(subscriber_key) = lower($2) FOR UPDATE",
            &[&account.0, &subscriber_key],
        )?;
        row.as_ref().map(subscriber_from_row).transpose()
    }

    fn insert_subscriber(
        &mut self,
        account: AccountId,
        subscriber: &StoredSubscriber,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let record = serde_json::to_string(subscriber)?;
        let key = &subscriber.subscriber_key;
        self.insert_returning_id(
            "INSERT INTO subscribers (account_id, subscriber_key, record, created_at, \
             modified_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING RETURNING id",
            &[&account.0, key, &record, &millis(now)],
            || format!("subscriber {key}"),
        )
    }

    fn update_subscriber(
        &mut self,
        id: i64,
        subscriber: &StoredSubscriber,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let record = serde_json::to_string(subscriber)?;
        self.execute(
            "UPDATE subscribers SET record = $2, modified_at = $3 WHERE id = $1",
            &[&id, &record, &millis(now)],
        )?;
        Ok(())
    }

    fn delete_subscriber(&mut self, id: i64) -> Result<(), StoreError> {
        self.execute("DELETE FROM subscribers WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn queue(&mut self) -> &mut dyn QueueTx {
        self
    }
}

impl QueueTx for PgDb<'_, '_> {
    fn conversation(
        &mut self,
        account: AccountId,
        conversation_id: &str,
    ) -> Result<Option<ConversationRecord>, StoreError> {
        // Locked until the transaction ends: whatever happens to a
        // conversation (a part arrives, runs, or is cancelled) happens to it
        // on one node at a time.
        let row = self.query_opt(
            "SELECT state, calls_in_conversation, next_sequence, error_code, received_count, \
             last_part_at FROM conversations \
             WHERE account_id = $1 AND conversation_id = $2 FOR UPDATE",
            &[&account.0, &conversation_id],
        )?;
        row.map(|row| {
            let state: String = row.try_get(0)?;
            Ok(ConversationRecord {
                state: state.parse::<ConversationState>(),
                calls_in_conversation: row.try_get(1)?,
                next_sequence: row.try_get(2)?,
                error_code: row.try_get(3)?,
                received_count: row.try_get(4)?,
                last_part_at: instant(row.try_get(5)?),
            })
        })
        .transpose()
    }

    fn conversation_sequence_codes(
        &mut self,
        account: AccountId,
        conversation_id: &str,
    ) -> Result<Vec<i32>, StoreError> {
        let rows = self.query(
            "SELECT sequence_code FROM requests \
             WHERE account_id = $1 AND conversation_id = $2 AND sequence_code IS NOT NULL",
            &[&account.0, &conversation_id],
        )?;
        rows.iter()
            .map(|row| Ok(row.try_get::<_, i32>(0)?))
            .collect()
    }

    fn insert_conversation(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        calls_in_conversation: i32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Two nodes may receive a conversation's first parts at once; the
        // second insert fails with a unique violation, which the writer
        // treats as "try again", and the retry finds the conversation.
        self.execute(
            "INSERT INTO conversations (account_id, conversation_id, calls_in_conversation, \
             state, received_count, first_part_at, last_part_at, updated_at) \
             VALUES ($1, $2, $3, 'Open', 1, $4, $4, $4)",
            &[
                &account.0,
                &conversation_id,
                &calls_in_conversation,
                &millis(now),
            ],
        )?;
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
        self.execute(
            "UPDATE conversations SET state = $3, error_code = COALESCE($4, error_code), \
             updated_at = $5 WHERE account_id = $1 AND conversation_id = $2",
            &[
                &account.0,
                &conversation_id,
                &state.as_str(),
                &error_code,
                &millis(now),
            ],
        )?;
        Ok(())
    }

    fn set_next_sequence(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        next_sequence: i32,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE conversations SET next_sequence = $3 \
             WHERE account_id = $1 AND conversation_id = $2",
            &[&account.0, &conversation_id, &next_sequence],
        )?;
        Ok(())
    }

    fn touch_conversation(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE conversations SET last_part_at = $3, updated_at = $3, \
             received_count = received_count + 1 \
             WHERE account_id = $1 AND conversation_id = $2",
            &[&account.0, &conversation_id, &millis(now)],
        )?;
        Ok(())
    }

    fn insert_request(&mut self, new: &NewRequest<'_>) -> Result<(), StoreError> {
        let request = &new.request;
        let part = request.part.as_ref();
        self.execute(
            "INSERT INTO requests (request_id, account_id, conversation_id, sequence_code, \
             calls_in_conversation, operation, priority, run_after, expires_at, state, \
             payload, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &request.request_id.to_string(),
                &request.account.0,
                &part.map(|part| part.conversation_id.as_str()),
                &part.map(|part| part.sequence_code),
                &part.map(|part| part.calls_in_conversation),
                &request.operation.as_str(),
                &request.priority.rank(),
                &millis(request.run_after),
                &request.expires_at.map(millis),
                &request.state.as_str(),
                &new.payload,
                &millis(new.received_at),
            ],
        )?;
        if request.state == RequestState::Ready {
            self.notes.add(Note::Ready {
                rank: request.priority.rank(),
                account: request.account.0,
                since_ms: millis(request.run_after),
            });
        }
        Ok(())
    }

    fn request(
        &mut self,
        account: AccountId,
        request_id: RequestId,
    ) -> Result<Option<QueuedRequest>, StoreError> {
        // Locked, so that two nodes cancelling the same request do not
        // both settle it.
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests \
             WHERE request_id = $1 AND account_id = $2 FOR UPDATE"
        );
        let row = self.query_opt(&sql, &[&request_id.to_string(), &account.0])?;
        row.as_ref().map(request_from_row).transpose()
    }

    fn request_call(&mut self, row_id: i64) -> Result<ObjectCall, StoreError> {
        let row = self.query_opt("SELECT payload FROM requests WHERE id = $1", &[&row_id])?;
        let row = row.ok_or_else(|| StoreError::NotFound(format!("request row {row_id}")))?;
        let payload: String = row.try_get(0)?;
        Ok(serde_json::from_str(&payload)?)
    }

    fn conversation_parts(
        &mut self,
        account: AccountId,
        conversation_id: &str,
    ) -> Result<Vec<QueuedRequest>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE account_id = $1 \
             AND conversation_id = $2 AND sequence_code IS NOT NULL ORDER BY sequence_code"
        );
        let rows = self.query(&sql, &[&account.0, &conversation_id])?;
        rows.iter().map(request_from_row).collect()
    }

    fn finish_conversation_parts(
        &mut self,
        account: AccountId,
        conversation_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE requests SET finished_at = $3 WHERE account_id = $1 \
             AND conversation_id = $2 AND sequence_code IS NOT NULL",
            &[&account.0, &conversation_id, &millis(now)],
        )?;
        Ok(())
    }

    fn set_request_state(
        &mut self,
        row_id: i64,
        state: RequestState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if state != RequestState::Ready {
            let finished_at = state.is_final().then(|| millis(now));
            self.execute(
                "UPDATE requests SET state = $2, \
                 finished_at = CASE WHEN sequence_code IS NULL THEN $3::BIGINT \
                 ELSE finished_at END \
                 WHERE id = $1",
                &[&row_id, &state.as_str(), &finished_at],
            )?;
            return Ok(());
        }
        let row = self.query_opt(
            "UPDATE requests SET state = 'Ready', run_after = GREATEST(run_after, $2) \
             WHERE id = $1 RETURNING priority, account_id, run_after",
            &[&row_id, &millis(now)],
        )?;
        if let Some(row) = row {
            self.notes.add(Note::Ready {
                rank: row.try_get(0)?,
                account: row.try_get(1)?,
                since_ms: row.try_get(2)?,
            });
        }
        Ok(())
    }

    fn next_lane_account(
        &mut self,
        lane: QueuePriority,
        after: Option<AccountId>,
        now: DateTime<Utc>,
    ) -> Result<Option<AccountId>, StoreError> {
        let floors = self.floors;
        let mut ready = floors.ready_queue_with_notes();
        if ready.needs_discovery() {
            let started = Instant::now();
            let found = [
                self.accounts_with_ready_work(QueuePriority::High)?,
                self.accounts_with_ready_work(QueuePriority::Medium)?,
                self.accounts_with_ready_work(QueuePriority::Low)?,
            ];
            ready.discovered(found, started.elapsed());
        }
        let after = after.map(|account| account.0);
        Ok(ready.next_account(lane, after, millis(now)).map(AccountId))
    }

    fn first_due_in_lane(
        &mut self,
        lane: QueuePriority,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Option<QueuedRequest>, StoreError> {
        let floors = self.floors;
        let (floor, scan) = {
            let ready = floors.ready_queue();
            let floor = ready.floor(lane, account.0);
            (floor.unwrap_or(i64::MIN), ready.start_scan(lane, account.0))
        };
        let (rank, now_ms) = (lane.rank(), millis(now));
        self.notes.raised_ready();

        let params: &Params<'_> = &[&rank, &account.0, &floor, &now_ms];
        if let Some(row) = self.query_opt(&first_due_in_lane_sql(), params)? {
            let request = request_from_row(&row)?;
            // The earliest ready request may be one another transaction
            // holds; the floor must not pass it, or it would be skipped
            // should that transaction let it go.
            let earliest: Option<i64> = row.try_get(row.len() - 1)?;
            let run_after = millis(request.run_after);
            let earliest = earliest.map_or(run_after, |earliest| earliest.min(run_after));
            floors
                .ready_queue()
                .claimed(lane, account.0, earliest, now_ms, scan);
            return Ok(Some(request));
        }
        let next = self.query_opt(NEXT_READY_IN_LANE, &[&rank, &account.0, &floor])?;
        let next: Option<i64> = next.map(|row| row.try_get(0)).transpose()?;
        floors
            .ready_queue()
            .dry(lane, account.0, next, now_ms, scan);
        Ok(None)
    }

    fn insert_result_message(&mut self, message: &ResultMessageRecord) -> Result<(), StoreError> {
        let record = serde_json::to_string(message)?;
        let conversation_id = message
            .part
            .as_ref()
            .map(|part| part.conversation_id.as_str());
        self.execute(
            "INSERT INTO result_messages (account_id, request_id, conversation_id, record, \
             created_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                &message.account.0,
                &message.request_id.to_string(),
                &conversation_id,
                &record,
                &millis(message.created_at),
            ],
        )?;
        Ok(())
    }

    fn insert_result_items(&mut self, items: &[ResultItemRecord]) -> Result<(), StoreError> {
        for item in items {
            let record = serde_json::to_string(item)?;
            self.execute(
                "INSERT INTO result_items \
                 (account_id, request_id, conversation_id, record, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &item.account.0,
                    &item.request_id.to_string(),
                    &item.conversation_id,
                    &record,
                    &millis(item.created_at),
                ],
            )?;
        }
        Ok(())
    }

    fn objects(&mut self) -> &mut dyn ObjectTx {
        self
    }
}
