//! The PostgreSQL backend, for when one machine is not enough: several
//! Confab nodes share one database and none of them is special.
//!
//! Writes go through a few writer threads per node with group commit (see
//! [`writer`]); due work is claimed with `FOR UPDATE SKIP LOCKED` and run
//! inside the claiming transaction, so a node that dies mid-run has its
//! claim released with its connection and never commits half of anything.
//! Each commit that queued work sends a `NOTIFY`, which wakes the workers
//! of every node at once (see [`PostgresStore::watch_new_work`]).

mod accounts;
mod db;
mod floors;
mod housekeeping;
mod outbox;
#[cfg(test)]
mod query_plans;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use confab_core::AccountId;
use confab_core::call::ObjectCall;
use confab_core::result::ObjectResult;
use confab_core::time::Clock;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config, IsolationLevel, NoTls};
use sha2::{Digest, Sha256};

use crate::columns::millis;
use crate::error::StoreError;
use crate::model::{IntakeOutcome, NewClient, Pending, RanRequest, RetrieveCursor, Submission};
use crate::outbox::{Delivery, DeliveryOutcome, DeliveryQuery};
use crate::tx::OutboxTx;
use crate::tx::{Executor, ReadTx};
use crate::{ConversationKey, Rotation, Store, intake, outbox as rules, retention, timeout, work};
use db::{PgDb, StatementCache};
use floors::{Floors, Note, Notes, TransactionNotes};
use writer::Writer;

/// The schema, applied idempotently at every start.
const SCHEMA: &str = include_str!("schema.sql");

/// The advisory lock held while the schema is applied, so that nodes
/// starting together apply it one at a time. Any fixed number will do;
/// this one spells "confab" on a phone keypad.
const MIGRATION_LOCK: i64 = 266_322;

/// The `meta` key under which the SHA-256 of the applied schema is kept.
const SCHEMA_DIGEST_KEY: &str = "schema_sha256";

/// How often the schema is applied again after losing a deadlock to nodes
/// that are running.
const MAX_MIGRATION_ATTEMPTS: u32 = 5;

/// How long a pool waits for a connection before giving up.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// How a node uses its database.
#[derive(Debug, Clone, Copy)]
pub struct PostgresSettings {
    /// Connections this node may open at most.
    pub max_connections: u32,
    /// Writer threads, each holding one connection while it commits.
    pub writers: usize,
    /// How long one of this node's sessions may wait inside a transaction
    /// for the node before PostgreSQL ends it. A node that stops answering
    /// (hung, paused, cut off from the database) keeps the work it claimed,
    /// locked, for this long at most; then its transaction is rolled back
    /// and the other nodes take the work over, and the node, should it come
    /// back, cannot commit it.
    pub stalled_session: Duration,
}

impl Default for PostgresSettings {
    fn default() -> Self {
        Self {
            max_connections: 12,
            writers: 2,
            stalled_session: Duration::from_secs(60),
        }
    }
}

/// One connection and the statements prepared on it.
pub(crate) struct PgConnection {
    pub(crate) client: Client,
    pub(crate) cache: StatementCache,
}

/// Opens connections for the pool.
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    config: Config,
    stalled_session: Duration,
}

impl r2d2::ManageConnection for Connector {
    type Connection = PgConnection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConnection, postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        let (required, best_effort) = stalled_session_settings(self.stalled_session);
        client.batch_execute(&required)?;
        for setting in best_effort {
            if let Err(error) = client.batch_execute(&setting) {
                warn_refused_setting(&setting, &error);
            }
        }
        Ok(PgConnection {
            client,
            cache: StatementCache::default(),
        })
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        conn.client.is_closed()
    }
}

/// The settings that let PostgreSQL end the session of a node that stopped
/// answering, after about `stalled`: a claim is a row lock held by an open
/// transaction, which such a node would otherwise hold for ever.
///
/// A node can stop between statements (hung, paused), which
/// `idle_in_transaction_session_timeout` ends: that one is required. Or it
/// can be cut off while the server runs a statement for it or sends it the
/// answer, which only the network can tell: keepalives for an idle socket,
/// `tcp_user_timeout` for data that is never acknowledged, and a check of
/// the socket while a statement runs. Those are asked for each on its own
/// and may be refused: PostgreSQL before 14 lacks the last, and some
/// platforms support only some of them.
fn stalled_session_settings(stalled: Duration) -> (String, Vec<String>) {
    let stalled_ms = stalled.as_millis().clamp(1_000, i32::MAX as u128);
    let keepalive_idle_s = (stalled_ms / 2_000).max(1);
    let keepalive_interval_s = (stalled_ms / 8_000).max(1);
    let check_ms = (stalled_ms / 4).max(1_000);
    let required = format!("SET idle_in_transaction_session_timeout = {stalled_ms}");
    let best_effort = vec![
        format!("SET tcp_keepalives_idle = {keepalive_idle_s}"),
        format!("SET tcp_keepalives_interval = {keepalive_interval_s}"),
        "SET tcp_keepalives_count = 4".to_owned(),
        format!("SET tcp_user_timeout = {stalled_ms}"),
        format!("SET client_connection_check_interval = {check_ms}"),
    ];
    (required, best_effort)
}

/// Says that PostgreSQL refused a stalled-session setting: at warning level
/// the first time in this process, since the operator should know that a
/// node cut off in the middle of a statement keeps its claims longer; at
/// debug level after that, since every new connection is refused alike.
fn warn_refused_setting(setting: &str, error: &postgres::Error) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let error = crate::error::describe_postgres(error);
    if WARNED.swap(true, Ordering::Relaxed) {
        tracing::debug!(%setting, %error, "postgresql refused a session setting");
    } else {
        tracing::warn!(
            %setting,
            %error,
            "postgresql refused a session setting: a node cut off in the middle of a \
             statement may keep its claims until the operating system gives up on the \
             connection"
        );
    }
}

/// The connection pool of a node.
pub(crate) type Pool = r2d2::Pool<Connector>;

/// Logs the pool's failures to connect, with PostgreSQL's own message. They
/// are expected while the server restarts, and each caller sees the error
/// too, so a warning is enough.
#[derive(Debug)]
struct LogPoolErrors;

impl r2d2::HandleError<postgres::Error> for LogPoolErrors {
    fn handle_error(&self, error: postgres::Error) {
        let error = crate::error::describe_postgres(&error);
        tracing::warn!(%error, "a postgresql connection failed");
    }
}

/// What this node's connections share: where its scans start, and the
/// channel on which the nodes of one deployment tell each other of work.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) floors: Floors,
    /// Named after the schema, so that deployments sharing a database (in
    /// schemas of their own) do not wake each other.
    channel: String,
}

impl Node {
    /// Sends, with the transaction's commit, what it made ready to every
    /// node listening (this one's listener included).
    pub(crate) fn notify(
        &self,
        tx: &mut postgres::Transaction<'_>,
        notes: &Notes,
    ) -> Result<(), StoreError> {
        let payloads = notes.payloads();
        if !payloads.is_empty() {
            tx.execute(
                "SELECT pg_notify($1, payload) FROM unnest($2::TEXT[]) AS payload",
                &[&self.channel, &payloads],
            )?;
        }
        Ok(())
    }
}

/// How the worker's and housekeeping's transactions plan (see
/// [`Purpose::Queue`]): one generic plan per statement, and one that reads
/// an index in order rather than sorting what a bitmap of it found or
/// scanning the table. Every statement these transactions run has an index
/// that gives it its order; the planner, from statistics a busy queue
/// outruns, could believe a range of it tiny and sort it whole instead.
/// (The few that must sort a row or two still do, at a cost the planner
/// then believes huge; `jit = off`, or it compiles each such statement,
/// which took a hundred milliseconds each time.)
pub(crate) const QUEUE_PLANS: &str = "SET LOCAL plan_cache_mode = force_generic_plan; \
     SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; \
     SET LOCAL enable_seqscan = off; SET LOCAL jit = off";

/// What a transaction of [`PostgresStore::with_transaction`] is for.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    /// Reading, with statements planned for their values: Retrieve pages
    /// through a data extension's rows or a request's results best with a
    /// plan made for that data extension or that request.
    Read(IsolationLevel),
    /// The worker's and housekeeping's scans of the queue, oldest first,
    /// with the plans of [`QUEUE_PLANS`], which `query_plans.rs` checks read
    /// their index in order whatever the statistics say: planned otherwise,
    /// a scan could read and sort a whole range for each batch.
    Queue,
}

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    writer: Writer,
    node: Arc<Node>,
    config: Config,
    stopped: Arc<AtomicBool>,
    outbox_wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .finish()
    }
}

impl PostgresStore {
    /// Connects to `url` (a `postgres://` URL or key=value string), brings
    /// the schema up to date and starts the writers.
    pub fn open(url: &str, settings: PostgresSettings) -> Result<Self, StoreError> {
        let mut config: Config = url.parse()?;
        // So that an operator can tell Confab's sessions apart.
        if config.get_application_name().is_none() {
            config.application_name("confab");
        }
        let schema = migrate(&config)?;
        let node = Arc::new(Node {
            floors: Floors::default(),
            channel: work_channel(&schema),
        });
        let pool = r2d2::Pool::builder()
            .max_size(settings.max_connections.max(settings.writers as u32 + 2))
            .min_idle(Some(1))
            .connection_timeout(CONNECTION_TIMEOUT)
            .error_handler(Box::new(LogPoolErrors))
            .build(Connector {
                config: config.clone(),
                stalled_session: settings.stalled_session,
            })?;
        let writer =
            Writer::start(pool.clone(), node.clone(), settings.writers).map_err(|source| {
                StoreError::Open {
                    path: "postgresql writer threads".to_owned(),
                    source,
                }
            })?;
        Ok(Self {
            pool,
            writer,
            node,
            config,
            stopped: Arc::new(AtomicBool::new(false)),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Runs `work` in a transaction of its own on a pooled connection. What
    /// it wrote is told to every node with the commit; the floors it raised
    /// are forgotten if it does not commit.
    fn with_transaction<T>(
        &self,
        purpose: Purpose,
        work: impl FnOnce(&mut PgDb<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let floors = &self.node.floors;
        let mut pending = TransactionNotes::new(floors);
        let mut conn = self.pool.get()?;
        let PgConnection { client, cache } = &mut *conn;
        let (isolation, read_only) = match purpose {
            Purpose::Read(isolation) => (isolation, true),
            Purpose::Queue => (IsolationLevel::ReadCommitted, false),
        };
        let mut tx = client
            .build_transaction()
            .isolation_level(isolation)
            .read_only(read_only)
            .start()?;
        if matches!(purpose, Purpose::Queue) {
            tx.batch_execute(QUEUE_PLANS)?;
        }
        let value = work(&mut PgDb {
            tx: &mut tx,
            cache,
            floors,
            notes: &mut pending.notes,
        })?;
        self.node.notify(&mut tx, &pending.notes)?;
        tx.commit()?;
        pending.committed();
        Ok(value)
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Only the last clone stops the listener.
        if Arc::strong_count(&self.stopped) == 1 {
            self.stopped.store(true, Ordering::Relaxed);
        }
    }
}

/// Brings the schema up to date under an advisory lock held on its own
/// connection, and returns the name of the schema Confab's tables are in.
fn migrate(config: &Config) -> Result<String, StoreError> {
    let mut client = config.connect(NoTls)?;
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let applied = apply_schema(&mut client);
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    applied?;
    let schema: Option<String> = client.query_one("SELECT current_schema()", &[])?.get(0);
    Ok(schema.unwrap_or_default())
}

/// The `NOTIFY` channel of the deployment whose tables are in `schema`: a
/// name of the schema's digest, since a channel is an identifier of at
/// most 63 bytes and a schema's name may be as long.
fn work_channel(schema: &str) -> String {
    let digest = Sha256::digest(schema.as_bytes());
    format!("confab_work_{}", hex::encode(&digest[..8]))
}

/// Applies the schema unless this very schema was applied before, which
/// its digest in `meta` tells.
///
/// The schema is not simply applied at every start, idempotent as it is:
/// `CREATE INDEX IF NOT EXISTS` locks its table against writes before it
/// finds that the index exists, so a node starting beside busy nodes would
/// wait for their transactions, hold up their next ones, and could
/// deadlock with them. When the schema did change, nodes of the old
/// version may be running, so a deadlock lost to them is retried.
fn apply_schema(client: &mut Client) -> Result<(), StoreError> {
    let digest = Sha256::digest(SCHEMA.as_bytes()).to_vec();
    if applied_schema_digest(client)?.as_ref() == Some(&digest) {
        return Ok(());
    }
    let mut attempt = 1;
    loop {
        let applied = client.transaction().and_then(|mut tx| {
            tx.batch_execute(SCHEMA)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&SCHEMA_DIGEST_KEY, &digest],
            )?;
            tx.commit()
        });
        match applied.map_err(StoreError::from) {
            Ok(()) => return Ok(()),
            Err(error) if error.is_retryable() && attempt < MAX_MIGRATION_ATTEMPTS => {
                tracing::warn!(error = %error, attempt, "applying the schema lost a deadlock; \
                     applying it again");
                std::thread::sleep(Duration::from_millis(100 * u64::from(attempt)));
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// The digest of the schema last applied, if any was.
fn applied_schema_digest(client: &mut Client) -> Result<Option<Vec<u8>>, StoreError> {
    // Before the first start there is no meta table to ask.
    let has_meta: bool = client
        .query_one("SELECT to_regclass('meta') IS NOT NULL", &[])?
        .get(0);
    if !has_meta {
        return Ok(None);
    }
    let row = client.query_opt(
        "SELECT value FROM meta WHERE key = $1",
        &[&SCHEMA_DIGEST_KEY],
    )?;
    Ok(row.map(|row| row.get(0)))
}

impl Store for PostgresStore {
    fn bootstrap(&self) -> Result<Option<NewClient>, StoreError> {
        self.writer.submit_blocking(accounts::bootstrap)
    }

    fn create_account(&self, name: &str) -> Result<AccountId, StoreError> {
        let name = name.to_owned();
        self.writer
            .submit_blocking(move |db| accounts::create_account(db, &name))
    }

    fn account_exists(&self, account: AccountId) -> Result<bool, StoreError> {
        self.with_transaction(Purpose::Read(IsolationLevel::ReadCommitted), |db| {
            accounts::account_exists(db, account)
        })
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
        self.with_transaction(Purpose::Read(IsolationLevel::ReadCommitted), |db| {
            accounts::verify_client(db, client_id, secret)
        })
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
        // check.
        let stored = self.with_transaction(Purpose::Read(IsolationLevel::ReadCommitted), |db| {
            accounts::user_hash(db, username)
        })?;
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
        // An idle node polls often; it need not open a transaction to learn
        // that no account it knows of has work due.
        let now = millis(clock.now());
        if !self
            .node
            .floors
            .ready_queue_with_notes()
            .may_have_due_work(now)
        {
            return Ok((Vec::new(), Rotation::default()));
        }
        let (ran, wrote_deliveries) = self.with_transaction(Purpose::Queue, |db| {
            let deliveries_before = db.last_delivery_row()?;
            let ran = run_due_in(db, executor.as_ref(), &mut rotation, clock.as_ref(), limit)?;
            Ok((ran, db.last_delivery_row()? != deliveries_before))
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
        // Repeatable read gives every statement the same snapshot.
        self.with_transaction(Purpose::Read(IsolationLevel::RepeatableRead), |db| read(db))
    }

    fn save_cursor(&self, cursor: RetrieveCursor) -> Result<(), StoreError> {
        self.writer.submit_blocking(move |db| {
            db.execute(
                "INSERT INTO retrieve_cursors (request_id, account_id, query, after_id, \
                 created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (request_id) DO UPDATE SET query = EXCLUDED.query, \
                 after_id = EXCLUDED.after_id, created_at = EXCLUDED.created_at",
                &[
                    &cursor.request_id,
                    &cursor.account.0,
                    &cursor.query,
                    &cursor.after_id,
                    &millis(cursor.created_at),
                ],
            )?;
            Ok(())
        })
    }

    fn time_out_conversations(
        &self,
        now: DateTime<Utc>,
        gap: TimeDelta,
        limit: usize,
    ) -> Result<Vec<ConversationKey>, StoreError> {
        self.with_transaction(Purpose::Queue, |db| {
            housekeeping::lock(db)?;
            timeout::time_out_stale_conversations(db, now, gap, limit)
        })
    }

    fn purge_expired(
        &self,
        now: DateTime<Utc>,
        retention: TimeDelta,
        limit: usize,
    ) -> Result<usize, StoreError> {
        self.with_transaction(Purpose::Queue, |db| {
            housekeeping::lock(db)?;
            retention::purge_batch(db, now, retention, limit)
        })
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
        self.with_transaction(Purpose::Read(IsolationLevel::ReadCommitted), |db| {
            db.deliveries(&query)
        })
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
        let stored = self.with_transaction(Purpose::Read(IsolationLevel::ReadCommitted), |db| {
            db.webhook_secret(account)
        })?;
        if let Some(secret) = stored {
            return Ok(secret);
        }
        // Two nodes may create it at once; the insert keeps the first.
        self.writer.submit_blocking(move |db| {
            db.execute(
                "INSERT INTO webhook_secrets (account_id, secret, created_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (account_id) DO NOTHING",
                &[&account.0, &fresh, &millis(Utc::now())],
            )?;
            db.webhook_secret(account)?
                .ok_or_else(|| StoreError::Corrupt("no webhook secret after insert".into()))
        })
    }

    fn rotate_webhook_secret(&self, account: AccountId, fresh: String) -> Result<(), StoreError> {
        self.writer
            .submit_blocking(move |db| db.set_webhook_secret(account, &fresh, Utc::now()))
    }

    fn watch_new_work(&self, wake: Arc<dyn Fn() + Send + Sync>) {
        let (config, stopped) = (self.config.clone(), self.stopped.clone());
        let node = self.node.clone();
        let spawned = std::thread::Builder::new()
            .name("confab-pg-listener".to_owned())
            .spawn(move || listen(&node, &config, &stopped, wake.as_ref()));
        if let Err(error) = spawned {
            tracing::warn!(error = %error, "could not start the postgresql listener; \
                 workers will find new work at their next poll");
        }
    }
}

/// Runs due requests, each in its own savepoint of one transaction, until
/// the batch is full (see [`work::batch_has_room`]) or none is left. A
/// request another node holds is skipped.
fn run_due_in(
    db: &mut PgDb<'_, '_>,
    executor: &dyn Executor,
    rotation: &mut Rotation,
    clock: &dyn Clock,
    limit: usize,
) -> Result<Vec<RanRequest>, StoreError> {
    let mut ran = Vec::new();
    let started = Instant::now();
    while work::batch_has_room(started, ran.len(), limit) {
        let now = clock.now();
        let mut savepoint = db.tx.savepoint("unit")?;
        let next = work::run_next(
            &mut PgDb {
                tx: &mut savepoint,
                cache: db.cache,
                floors: db.floors,
                notes: db.notes,
            },
            executor,
            rotation,
            now,
        );
        match next {
            Ok(Some(request)) => {
                savepoint.commit()?;
                ran.push(request);
            }
            Ok(None) => break,
            Err(error) if error.is_connection_lost() || ran.is_empty() => return Err(error),
            Err(error) => {
                savepoint.rollback()?;
                // Its claim was undone, so it may lie below a floor now.
                db.floors.forget_ready();
                let message = "a queued request failed to run; it stays queued";
                tracing::warn!(error = %error, "{message}");
                break;
            }
        }
    }
    Ok(ran)
}

/// Listens for new-work notifications and calls `wake` for each, opening
/// the connection again (with a growing pause) whenever it breaks.
fn listen(node: &Node, config: &Config, stopped: &AtomicBool, wake: &(dyn Fn() + Send + Sync)) {
    let mut pause = Duration::from_millis(100);
    while !stopped.load(Ordering::Relaxed) {
        match listen_once(node, config, stopped, wake) {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(error = %error, ?pause, "postgresql listener lost its connection");
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// One listening connection's life. Each notification names a lane and an
/// account that have new ready work, which the ready queue's floors take
/// note of before the worker is woken.
fn listen_once(
    node: &Node,
    config: &Config,
    stopped: &AtomicBool,
    wake: &(dyn Fn() + Send + Sync),
) -> Result<(), StoreError> {
    let mut client = config.connect(NoTls)?;
    client.batch_execute(&format!("LISTEN {}", node.channel))?;
    // Work may have been queued while nobody listened, in accounts the
    // floors do not know of: they are found again from the index.
    node.floors.forget_ready();
    wake();
    while !stopped.load(Ordering::Relaxed) {
        // The timeout only bounds how long a stop request waits.
        let mut notifications = client.notifications();
        let mut arrived = notifications.timeout_iter(Duration::from_secs(1));
        while let Some(notification) = arrived.next()? {
            if let Some(note) = Note::parse(notification.payload()) {
                node.floors.post([note]);
            }
            wake();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_session_is_ended_by_every_means_the_server_has() {
        let (required, best_effort) = stalled_session_settings(Duration::from_secs(60));
        assert_eq!(required, "SET idle_in_transaction_session_timeout = 60000");
        assert_eq!(
            best_effort,
            [
                "SET tcp_keepalives_idle = 30",
                "SET tcp_keepalives_interval = 7",
                "SET tcp_keepalives_count = 4",
                "SET tcp_user_timeout = 60000",
                "SET client_connection_check_interval = 15000",
            ]
        );
    }
}
