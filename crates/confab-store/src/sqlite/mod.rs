//! The embedded SQLite backend: one file under the data directory, one
//! writer thread (see [`writer`]) and a small pool of reader connections.
//!
//! The file runs in WAL mode with `synchronous=FULL`, so a commit is on disk
//! when it returns and readers never block the writer.

mod accounts;
mod checkpoint;
pub use crate::credentials::FIRST_ACCOUNT_ID;
mod db;
mod housekeeping;
mod outbox;
#[cfg(test)]
mod query_plans;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use confab_core::AccountId;
use confab_core::call::ObjectCall;
use confab_core::result::ObjectResult;
use confab_core::time::Clock;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;
use crate::model::{IntakeOutcome, NewClient, Pending, RanRequest, RetrieveCursor, Submission};
use crate::outbox::{Delivery, DeliveryOutcome, DeliveryQuery};
use crate::tx::OutboxTx;
use crate::tx::{Executor, ReadTx};
use crate::{ConversationKey, Rotation, Store, intake, outbox as rules, retention, timeout, work};
use db::{Db, in_savepoint, millis};
use writer::Writer;

/// The schema, applied idempotently at every start.
const SCHEMA: &str = include_str!("schema.sql");

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "confab.sqlite3";

/// How many reader connections Retrieve may use at once.
const READERS: u32 = 8;

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    readers: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
    _checkpointer: checkpoint::Checkpointer,
    outbox_wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir` and starts its
    /// writer.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let open_error = |source| StoreError::Open {
            path: data_dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(open_error)?;
        let path = data_dir.join(DATABASE_FILE);

        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        tune(&conn)?;
        // Checkpoints run on their own thread (see `checkpoint`), so that the
        // writer never stops to copy the log back into the database.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let writer = Writer::start(conn).map_err(open_error)?;
        let checkpointer = checkpoint::start(&path).map_err(open_error)?;

        let manager = SqliteConnectionManager::file(&path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|conn| {
                tune(conn)?;
                conn.busy_timeout(std::time::Duration::from_secs(5))
            });
        let readers = r2d2::Pool::builder().max_size(READERS).build(manager)?;
        Ok(Self {
            writer,
            readers,
            path,
            _checkpointer: checkpointer,
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Settings every connection gets: savepoint journals in memory rather than
/// temporary files, a larger page cache, and reads through a memory map.
fn tune(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -64 * 1024)?;
    conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
    Ok(())
}

impl Store for SqliteStore {
    fn bootstrap(&self) -> Result<Option<NewClient>, StoreError> {
        self.writer.submit_blocking(accounts::bootstrap)
    }

    fn create_account(&self, name: &str) -> Result<AccountId, StoreError> {
        let name = name.to_owned();
        self.writer
            .submit_blocking(move |db| accounts::create_account(db, &name))
    }

    fn account_exists(&self, account: AccountId) -> Result<bool, StoreError> {
        let conn = self.readers.get()?;
        accounts::account_exists(&conn, account)
    }

    fn create_client(&self, account: AccountId) -> Result<NewClient, StoreError> {
        self.writer
            .submit_blocking(move |db| accounts::create_client(db, account))
    }

    fn verify_client(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<Option<AccountId>, StoreError> {
        let conn = self.readers.get()?;
        accounts::verify_client(&conn, client_id, secret)
    }

    fn create_user(
        &self,
        account: AccountId,
        username: &str,
        password: &str,
    ) -> Result<(), StoreError> {
        let (username, password) = (username.to_owned(), password.to_owned());
        self.writer
            .submit_blocking(move |db| accounts::create_user(db, account, &username, &password))
    }

    fn verify_user(&self, username: &str, password: &str) -> Result<Option<AccountId>, StoreError> {
        // The connection goes back to the pool before the slow password
        // check, so logins never hold up Retrieves.
        let stored = accounts::user_hash(&*self.readers.get()?, username)?;
        crate::credentials::verify_password(stored, password)
    }

    fn signing_key(&self) -> Result<Vec<u8>, StoreError> {
        self.writer.submit_blocking(accounts::signing_key)
    }

    fn enqueue(&self, submission: Submission) -> Pending<IntakeOutcome> {
        self.writer
            .submit(move |db| intake::accept(db, &submission))
    }

    fn run_due(
        &self,
        executor: Arc<dyn Executor>,
        clock: Arc<dyn Clock>,
        limit: usize,
        mut rotation: Rotation,
    ) -> Result<(Vec<RanRequest>, Rotation), StoreError> {
        let (ran, rotation, wrote_deliveries) = self.writer.submit_blocking(move |db| {
            let deliveries_before = db.last_delivery_row()?;
            let mut ran = Vec::new();
            let started = Instant::now();
            while work::batch_has_room(started, ran.len(), limit) {
                // Each request in its own savepoint: a store failure in one
                // leaves the ones before it committed.
                let (conn, now) = (db.conn, clock.now());
                let next = in_savepoint(conn, || {
                    work::run_next(&mut Db { conn }, executor.as_ref(), &mut rotation, now)
                });
                match next {
                    Ok(Some(request)) => ran.push(request),
                    Ok(None) => break,
                    Err(error) if ran.is_empty() => return Err(error),
                    Err(error) => {
                        let message = "a queued request failed to run; it stays queued";
                        tracing::warn!(error = %error, "{message}");
                        break;
                    }
                }
            }
            let wrote_deliveries = db.last_delivery_row()? != deliveries_before;
            Ok((ran, rotation, wrote_deliveries))
        })?;
        // Only now is the batch committed, so the deliverer will find it.
        if wrote_deliveries {
            self.outbox_wake.notify_one();
        }
        Ok((ran, rotation))
    }

    fn run_now(
        &self,
        executor: Arc<dyn Executor>,
        account: AccountId,
        call: ObjectCall,
        now: DateTime<Utc>,
    ) -> Result<Vec<ObjectResult>, StoreError> {
        self.writer
            .submit_blocking(move |db| executor.execute(db, account, &call, now))
    }

    fn read(
        &self,
        read: &mut dyn FnMut(&mut dyn ReadTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.readers.get()?;
        // One read transaction gives every statement the same snapshot.
        let tx = conn.transaction()?;
        read(&mut Db { conn: &tx })?;
        tx.finish()?;
        Ok(())
    }

    fn save_cursor(&self, cursor: RetrieveCursor) -> Result<(), StoreError> {
        self.writer.submit_blocking(move |db| {
            db.conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO retrieve_cursors \
                     (request_id, account_id, query, after_id, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(rusqlite::params![
                    cursor.request_id,
                    cursor.account.0,
                    cursor.query,
                    cursor.after_id,
                    millis(cursor.created_at),
                ])?;
            Ok(())
        })
    }

    fn time_out_conversations(
        &self,
        now: DateTime<Utc>,
        gap: TimeDelta,
        limit: usize,
    ) -> Result<Vec<ConversationKey>, StoreError> {
        self.writer
            .submit_blocking(move |db| timeout::time_out_stale_conversations(db, now, gap, limit))
    }

    fn purge_expired(
        &self,
        now: DateTime<Utc>,
        retention: TimeDelta,
        limit: usize,
    ) -> Result<usize, StoreError> {
        self.writer
            .submit_blocking(move |db| retention::purge_batch(db, now, retention, limit))
    }

    fn outbox_wake(&self) -> Arc<tokio::sync::Notify> {
        self.outbox_wake.clone()
    }

    fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.writer
            .submit_blocking(move |db| rules::claim(db, now, lease, limit))
    }

    fn finish_delivery(
        &self,
        claimed: Delivery,
        outcome: DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.writer
            .submit_blocking(move |db| rules::finish(db, &claimed, &outcome, now))
    }

    fn deliveries(&self, query: DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        let mut conn = self.readers.get()?;
        let tx = conn.transaction()?;
        let deliveries = Db { conn: &tx }.deliveries(&query)?;
        tx.finish()?;
        Ok(deliveries)
    }

    fn replay_delivery(
        &self,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        let delivery_id = delivery_id.to_owned();
        self.writer
            .submit_blocking(move |db| rules::replay(db, &delivery_id, now))
    }

    fn webhook_secret(&self, account: AccountId, fresh: String) -> Result<String, StoreError> {
        // Every HTTP callback reads the secret, so the common case stays
        // off the single writer.
        let mut conn = self.readers.get()?;
        let tx = conn.transaction()?;
        let stored = Db { conn: &tx }.webhook_secret(account)?;
        tx.finish()?;
        if let Some(secret) = stored {
            return Ok(secret);
        }
        self.writer.submit_blocking(move |db| {
            if let Some(secret) = db.webhook_secret(account)? {
                return Ok(secret);
            }
            db.set_webhook_secret(account, &fresh, Utc::now())?;
            Ok(fresh)
        })
    }

    fn rotate_webhook_secret(&self, account: AccountId, fresh: String) -> Result<(), StoreError> {
        self.writer
            .submit_blocking(move |db| db.set_webhook_secret(account, &fresh, Utc::now()))
    }
}
