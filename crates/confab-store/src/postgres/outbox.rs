//! The outbox primitives on PostgreSQL: the `deliveries` and
//! `webhook_secrets` tables.
//!
//! Deliverers on several nodes claim at once, so due deliveries are read
//! with `FOR UPDATE SKIP LOCKED`: a row another node is leasing is skipped,
//! and once that node's lease commits the row is no longer due. The lease
//! counts an attempt, and an outcome is recorded only while the attempt
//! count is still the one the deliverer leased (its fencing token): a
//! deliverer whose lease ran out and was taken over cannot overwrite the
//! newer attempt's outcome.

use std::time::Instant;

use chrono::{DateTime, Utc};
use confab_core::AccountId;
use postgres::Row;

use crate::columns::{DELIVERY_COLUMNS, DeliveryColumns, channel_name, millis};
use crate::error::StoreError;
use crate::outbox::{Delivery, DeliveryQuery, DeliveryState, NewDelivery};
use crate::postgres::db::PgDb;
use crate::postgres::floors::Note;
use crate::tx::OutboxTx;

/// The filter, order and claim of the deliveries due by `$1`, from the
/// outbox's floor `$3` (see `postgres::floors`), at most `$2`: a range of
/// the `deliveries_due` index.
pub(crate) const DUE_DELIVERIES: &str = "WHERE state = 'Pending' \
     AND next_attempt_at >= $3 AND next_attempt_at <= $1 \
     ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED";

/// Reads a row selected with [`DELIVERY_COLUMNS`].
fn delivery_from_row(row: &Row) -> Result<Delivery, StoreError> {
    let attempts: i32 = row.try_get(9)?;
    DeliveryColumns {
        row_id: row.try_get(0)?,
        delivery_id: row.try_get(1)?,
        account_id: row.try_get(2)?,
        request_id: row.try_get(3)?,
        conversation_id: row.try_get(4)?,
        channel: row.try_get(5)?,
        address: row.try_get(6)?,
        notice: row.try_get(7)?,
        state: row.try_get(8)?,
        attempts: u32::try_from(attempts).unwrap_or_default(),
        next_attempt_at: row.try_get(10)?,
        lease_until: row.try_get(11)?,
        last_error: row.try_get(12)?,
        retry_from: row.try_get(13)?,
        created_at: row.try_get(14)?,
        finished_at: row.try_get(15)?,
    }
    .into_delivery()
}

/// An attempt count as stored.
fn stored_attempts(attempts: u32) -> i32 {
    i32::try_from(attempts).unwrap_or(i32::MAX)
}

impl OutboxTx for PgDb<'_, '_> {
    fn insert_delivery(&mut self, delivery: &NewDelivery) -> Result<(), StoreError> {
        let notice = serde_json::to_string(&delivery.notice)?;
        self.execute(
            "INSERT INTO deliveries (delivery_id, account_id, request_id, conversation_id, \
             channel, address, notice, state, attempts, next_attempt_at, retry_from, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'Pending', 0, $8, $8, $8)",
            &[
                &delivery.delivery_id,
                &delivery.account.0,
                &delivery.request_id.to_string(),
                &delivery.conversation_id,
                &channel_name(delivery.channel),
                &delivery.address,
                &notice,
                &millis(delivery.created_at),
            ],
        )?;
        self.notes.add(Note::Deliveries {
            since_ms: millis(delivery.created_at),
        });
        Ok(())
    }

    fn due_deliveries(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let floors = self.floors;
        let start = floors.deliveries_start();
        self.notes.raised_deliveries();
        let (now_ms, started) = (millis(now), Instant::now());
        let wanted = i64::try_from(limit).unwrap_or(i64::MAX);
        let floor = start.unwrap_or(i64::MIN);
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries {DUE_DELIVERIES}");
        let rows = self.query(&sql, &[&now_ms, &wanted, &floor])?;
        let due = rows
            .iter()
            .map(delivery_from_row)
            .collect::<Result<Vec<_>, _>>()?;

        let mut floor = floors.deliveries();
        if start.is_none() {
            floor.scanned_from_front(started.elapsed());
        }
        // Everything due before the last one taken was taken, or is held
        // by another node whose lease moves it later; and when fewer than
        // asked for were due, everything due was.
        let reached = match due.last() {
            Some(last) if due.len() >= limit => millis(last.next_attempt_at),
            _ => now_ms,
        };
        floor.raise(reached, now_ms);
        Ok(due)
    }

    fn lease_delivery(
        &mut self,
        row_id: i64,
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE deliveries SET attempts = attempts + 1, lease_until = $2, \
             next_attempt_at = $2 WHERE id = $1",
            &[&row_id, &millis(lease_until)],
        )?;
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
        let changed = self.execute(
            "UPDATE deliveries SET state = $3, next_attempt_at = $4, lease_until = NULL, \
             last_error = CASE WHEN $3 = 'Delivered' THEN NULL \
             ELSE coalesce($5, last_error) END, \
             finished_at = $6 \
             WHERE id = $1 AND attempts = $2 AND state = 'Pending'",
            &[
                &row_id,
                &stored_attempts(attempts),
                &state.as_str(),
                &millis(next_attempt_at),
                &last_error,
                &finished_at.map(millis),
            ],
        )?;
        Ok(changed == 1)
    }

    fn reopen_delivery(&mut self, row_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.execute(
            "UPDATE deliveries SET state = 'Pending', next_attempt_at = $2, \
             retry_from = $2, lease_until = NULL, finished_at = NULL WHERE id = $1",
            &[&row_id, &millis(now)],
        )?;
        self.notes.add(Note::Deliveries {
            since_ms: millis(now),
        });
        Ok(())
    }

    fn delivery(&mut self, delivery_id: &str) -> Result<Option<Delivery>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE delivery_id = $1");
        let row = self.query_opt(&sql, &[&delivery_id])?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    fn deliveries(&mut self, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries \
             WHERE (NOT $1 OR state = 'Dead') AND ($2::BIGINT IS NULL OR account_id = $2) \
             ORDER BY id DESC LIMIT $3"
        );
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let account = query.account.map(|account| account.0);
        let rows = self.query(&sql, &[&query.dead_only, &account, &limit])?;
        rows.iter().map(delivery_from_row).collect()
    }

    fn last_delivery_row(&mut self) -> Result<i64, StoreError> {
        let row = self.query_opt("SELECT coalesce(max(id), 0) FROM deliveries", &[])?;
        match row {
            Some(row) => Ok(row.try_get(0)?),
            None => Ok(0),
        }
    }

    fn webhook_secret(&mut self, account: AccountId) -> Result<Option<String>, StoreError> {
        let row = self.query_opt(
            "SELECT secret FROM webhook_secrets WHERE account_id = $1",
            &[&account.0],
        )?;
        row.map(|row| Ok(row.try_get(0)?)).transpose()
    }

    fn set_webhook_secret(
        &mut self,
        account: AccountId,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO webhook_secrets (account_id, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO UPDATE SET secret = EXCLUDED.secret, \
             created_at = EXCLUDED.created_at",
            &[&account.0, &secret, &millis(now)],
        )?;
        Ok(())
    }
}
