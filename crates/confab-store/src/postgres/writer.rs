//! The writers: a few threads per node, each owning one connection, that
//! commit many callers' work in one transaction.
//!
//! This is the SQLite writer's group commit, carried over: a writer takes
//! whatever jobs are waiting, runs each in its own savepoint, and commits
//! once, so that concurrent callers share one WAL flush and one round trip
//! for the commit. Callers are answered only after the commit.
//!
//! PostgreSQL adds two things SQLite never does. Other nodes write at the
//! same time, so a job can lose a deadlock or a race to create a row; its
//! savepoint is rolled back and the job runs again, which is why jobs here
//! are `FnMut`. And the server can go away: a batch whose connection broke
//! before the commit is run again, whole, on a new connection, after a
//! pause that grows with each failure. A batch whose COMMIT itself failed
//! has an unknown outcome and is answered with an error, never with OK.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::error::StoreError;
use crate::model::Pending;
use crate::postgres::db::PgDb;
use crate::postgres::floors::{Notes, TransactionNotes};
use crate::postgres::{Node, PgConnection, Pool};

/// The most jobs committed together.
const MAX_JOBS_PER_COMMIT: usize = 512;

/// How often a job that lost a deadlock or a race is run again.
const MAX_JOB_ATTEMPTS: usize = 8;

/// How often a batch is run again after its connection broke.
const MAX_BATCH_ATTEMPTS: u32 = 6;

/// What a job says after one run.
enum Step {
    /// Its changes stay.
    Keep,
    /// Its changes are undone; it failed for its own reasons.
    Discard,
    /// Its changes are undone and it should run again.
    Retry,
    /// The connection is gone; the batch must start over elsewhere.
    ConnectionLost,
}

/// A unit of work for a writer, runnable more than once.
trait Job: Send {
    /// Runs the work inside the current savepoint.
    fn run(&mut self, db: &mut PgDb<'_, '_>) -> Step;
    /// Answers the caller once the transaction committed or failed.
    fn complete(self: Box<Self>, commit: Result<(), String>);
}

/// A job with a typed answer.
struct Work<T, F> {
    work: F,
    outcome: Option<Result<T, StoreError>>,
    reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Work<T, F>
where
    T: Send,
    F: FnMut(&mut PgDb<'_, '_>) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, db: &mut PgDb<'_, '_>) -> Step {
        let outcome = (self.work)(db);
        let step = match &outcome {
            Ok(_) => Step::Keep,
            Err(error) if error.is_connection_lost() => Step::ConnectionLost,
            Err(error) if error.is_retryable() => Step::Retry,
            Err(_) => Step::Discard,
        };
        self.outcome = Some(outcome);
        step
    }

    fn complete(self: Box<Self>, commit: Result<(), String>) {
        let answer = match (commit, self.outcome) {
            (Ok(()), Some(outcome)) => outcome,
            (Ok(()), None) => Err(StoreError::CommitFailed("the job never ran".to_owned())),
            (Err(message), _) => Err(StoreError::CommitFailed(message)),
        };
        // The caller may have given up waiting; nothing to do then.
        let _ = self.reply.send(answer);
    }
}

/// The handle callers use to reach the writers.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts `threads` writer threads taking connections from `pool`.
    pub(crate) fn start(pool: Pool, node: Arc<Node>, threads: usize) -> std::io::Result<Self> {
        let (jobs, receiver) = crossbeam_channel::unbounded::<Box<dyn Job>>();
        for index in 0..threads.max(1) {
            let (pool, node, receiver) = (pool.clone(), node.clone(), receiver.clone());
            std::thread::Builder::new()
                .name(format!("confab-pg-writer-{index}"))
                .spawn(move || run(&pool, &node, &receiver))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` in a writer's next transaction; the answer arrives once
    /// that transaction has committed. An `Err` from `work` rolls back only
    /// `work`'s own changes.
    pub(crate) fn submit<T, F>(&self, work: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnMut(&mut PgDb<'_, '_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Box::new(Work {
            work,
            outcome: None,
            reply,
        });
        if self.jobs.send(job).is_err() {
            return Pending::failed(StoreError::Closed);
        }
        Pending::new(answer)
    }

    /// [`Writer::submit`], waiting for the answer on this thread.
    pub(crate) fn submit_blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut PgDb<'_, '_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(work).blocking_wait()
    }
}

/// A writer thread's loop: block for one job, take what else is waiting,
/// run them all in one transaction, commit, answer.
fn run(pool: &Pool, node: &Node, receiver: &Receiver<Box<dyn Job>>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        batch.extend(receiver.try_iter().take(MAX_JOBS_PER_COMMIT - 1));
        run_batch(pool, node, batch);
    }
    tracing::debug!("postgresql writer stopped");
}

/// Runs one batch, starting over on a new connection while the old one
/// broke before the commit, and answers every job.
fn run_batch(pool: &Pool, node: &Node, mut batch: Vec<Box<dyn Job>>) {
    let mut attempt = 0;
    let commit = loop {
        attempt += 1;
        let outcome = pool
            .get()
            .map_err(StoreError::from)
            .and_then(|mut conn| commit_batch(&mut conn, node, &mut batch));
        match outcome {
            Ok(commit) => break commit,
            Err(error) if attempt < MAX_BATCH_ATTEMPTS => {
                let pause = Duration::from_millis(50 << attempt);
                let message = "postgresql unreachable; retrying the batch";
                tracing::warn!(error = %error, ?pause, "{message}");
                std::thread::sleep(pause);
            }
            Err(error) => break Err(format!("postgresql unreachable: {error}")),
        }
    };
    if let Err(message) = &commit {
        tracing::error!(error = %message, "postgresql batch failed to commit");
    }
    for job in batch {
        job.complete(commit.clone());
    }
}

/// Runs every job of `batch` in one transaction and commits it.
///
/// `Err` means the connection broke before COMMIT was sent, so nothing of
/// the batch is stored and it may run again. `Ok(Err(_))` means COMMIT
/// failed or its answer was lost: the outcome is unknown and is reported as
/// a failure. Either way the floors the batch raised are forgotten.
fn commit_batch(
    conn: &mut PgConnection,
    node: &Node,
    batch: &mut [Box<dyn Job>],
) -> Result<Result<(), String>, StoreError> {
    let PgConnection { client, cache } = conn;
    let mut pending = TransactionNotes::new(&node.floors);
    let mut tx = client.transaction()?;
    for job in batch.iter_mut() {
        run_job(&mut tx, cache, node, &mut pending.notes, job.as_mut())?;
    }
    node.notify(&mut tx, &pending.notes)?;
    let committed = tx.commit().map_err(|error| error.to_string());
    if committed.is_ok() {
        pending.committed();
    }
    Ok(committed)
}

/// Runs one job in its own savepoint, again while it asks to. The floors a
/// job raised before its savepoint was rolled back are forgotten.
fn run_job(
    tx: &mut postgres::Transaction<'_>,
    cache: &mut crate::postgres::db::StatementCache,
    node: &Node,
    notes: &mut Notes,
    job: &mut dyn Job,
) -> Result<(), StoreError> {
    // What the jobs before this one raised stays raised whatever this one
    // does; what this one raised goes with its savepoint.
    let before = notes.take_raised();
    for attempt in 1..=MAX_JOB_ATTEMPTS {
        let mut savepoint = tx.savepoint("job")?;
        let step = job.run(&mut PgDb {
            tx: &mut savepoint,
            cache,
            floors: &node.floors,
            notes,
        });
        let raised = notes.take_raised();
        match step {
            Step::Keep => {
                notes.restore_raised(before.union(raised));
                return Ok(savepoint.commit()?);
            }
            Step::ConnectionLost => {
                notes.restore_raised(before.union(raised));
                return Err(StoreError::Closed);
            }
            Step::Discard => {
                savepoint.rollback()?;
                node.floors.forget(raised);
                notes.restore_raised(before);
                return Ok(());
            }
            Step::Retry => {
                savepoint.rollback()?;
                node.floors.forget(raised);
                tracing::debug!(attempt, "a write lost a race with another node");
            }
        }
    }
    notes.restore_raised(before);
    Ok(())
}
