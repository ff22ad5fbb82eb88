//! The outbox primitives on SQLite: the `deliveries` and `webhook_secrets`
//! tables.

use chrono::{DateTime, Utc};
use confab_core::AccountId;
use rusqlite::{OptionalExtension, Row, params};

use crate::columns::{DELIVERY_COLUMNS, DeliveryColumns, channel_name};
use crate::error::StoreError;
use crate::outbox::{Delivery, DeliveryQuery, DeliveryState, NewDelivery};
use crate::sqlite::db::{Db, millis};
use crate::tx::OutboxTx;

/// Reads a row selected with [`DELIVERY_COLUMNS`].
fn delivery_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Delivery, StoreError>> {
    let columns = DeliveryColumns {
        row_id: row.get(0)?,
        delivery_id: row.get(1)?,
        account_id: row.get(2)?,
        request_id: row.get(3)?,
        conversation_id: row.get(4)?,
        channel: row.get(5)?,
        address: row.get(6)?,
        notice: row.get(7)?,
        state: row.get(8)?,
        attempts: row.get(9)?,
        next_attempt_at: row.get(10)?,
        lease_until: row.get(11)?,
        last_error: row.get(12)?,
        retry_from: row.get(13)?,
        created_at: row.get(14)?,
        finished_at: row.get(15)?,
    };
    Ok(columns.into_delivery())
}

/// Runs a delivery query and reads every row.
fn select_deliveries(
    db: &Db<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Delivery>, StoreError> {
    let mut statement = db.conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, delivery_from_row)?;
    let mut deliveries = Vec::new();
    for row in rows {
        deliveries.push(row??);
    }
    Ok(deliveries)
}

impl OutboxTx for Db<'_> {
    fn insert_delivery(&mut self, delivery: &NewDelivery) -> Result<(), StoreError> {
        let notice = serde_json::to_string(&delivery.notice)?;
        let created_at = millis(delivery.created_at);
        self.conn
            .prepare_cached(
                "INSERT INTO deliveries (delivery_id, account_id, request_id, conversation_id, \
                 channel, address, notice, state, attempts, next_attempt_at, retry_from, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'Pending', 0, ?8, ?8, ?8)",
            )?
            .execute(params![
                delivery.delivery_id,
                delivery.account.0,
                delivery.request_id.to_string(),
                delivery.conversation_id,
                channel_name(delivery.channel),
                delivery.address,
                notice,
                created_at,
            ])?;
        Ok(())
    }

    fn due_deliveries(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries \
             WHERE state = 'Pending' AND next_attempt_at <= ?1 \
             ORDER BY next_attempt_at, id LIMIT ?2"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        select_deliveries(self, &sql, params![millis(now), limit])
    }

    fn lease_delivery(
        &mut self,
        row_id: i64,
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE deliveries SET attempts = attempts + 1, lease_until = ?2, \
                 next_attempt_at = ?2 WHERE id = ?1",
            )?
            .execute(params![row_id, millis(lease_until)])?;
        Ok(())
    }

    fn set_delivery_outcome(
        &mut self,
        row_id: i64,
        attempts: u32,
        state: DeliveryState,
        next_attempt_at: DateTime<Utc>,
        last_error: Option<&str>,
        finished_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE deliveries SET state = ?3, next_attempt_at = ?4, lease_until = NULL, \
                 last_error = CASE WHEN ?3 = 'Delivered' THEN NULL \
                 ELSE coalesce(?5, last_error) END, \
                 finished_at = ?6 \
                 WHERE id = ?1 AND attempts = ?2 AND state = 'Pending'",
            )?
            .execute(params![
                row_id,
                attempts,
                state.as_str(),
                millis(next_attempt_at),
                last_error,
                finished_at.map(millis),
            ])?;
        Ok(changed == 1)
    }

    fn reopen_delivery(&mut self, row_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE deliveries SET state = 'Pending', next_attempt_at = ?2, \
                 retry_from = ?2, lease_until = NULL, finished_at = NULL WHERE id = ?1",
            )?
            .execute(params![row_id, millis(now)])?;
        Ok(())
    }

    fn delivery(&mut self, delivery_id: &str) -> Result<Option<Delivery>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE delivery_id = ?1");
        let found = select_deliveries(self, &sql, params![delivery_id])?;
        Ok(found.into_iter().next())
    }

    fn deliveries(&mut self, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries \
             WHERE (?1 = 0 OR state = 'Dead') AND (?2 IS NULL OR account_id = ?2) \
             ORDER BY id DESC LIMIT ?3"
        );
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let account = query.account.map(|account| account.0);
        select_deliveries(self, &sql, params![query.dead_only, account, limit])
    }

    fn last_delivery_row(&mut self) -> Result<i64, StoreError> {
        let row = self
            .conn
            .prepare_cached("SELECT coalesce(max(id), 0) FROM deliveries")?
            .query_row([], |row| row.get(0))?;
        Ok(row)
    }

    fn webhook_secret(&mut self, account: AccountId) -> Result<Option<String>, StoreError> {
        let secret = self
            .conn
            .prepare_cached("SELECT secret FROM webhook_secrets WHERE account_id = ?1")?
            .query_row(params![account.0], |row| row.get(0))
            .optional()?;
        Ok(secret)
    }

    fn set_webhook_secret(
        &mut self,
        account: AccountId,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO webhook_secrets (account_id, secret, created_at) \
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![account.0, secret, millis(now)])?;
        Ok(())
    }
}
