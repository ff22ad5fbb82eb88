//! The single writer: every write to the SQLite file goes through one thread
//! that owns the write connection.
//!
//! SQLite allows one writer at a time anyway; funnelling writes through one
//! thread turns that limit into an advantage. The thread takes whatever jobs
//! are waiting, runs each in its own savepoint inside one transaction, and
//! commits once: a hundred concurrent callers share one disk flush (group
//! commit). Callers are answered only after the commit, so an answer always
//! means the data is on disk.
//!
//! ```text
//!  callers ──job──►  channel  ──► writer thread
//!                                  BEGIN
//!                                    SAVEPOINT job 1 … RELEASE (or ROLLBACK TO)
//!                                    SAVEPOINT job 2 … RELEASE
//!                                  COMMIT (one fsync)
//!  callers ◄─reply── after COMMIT
//! ```

use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

use rusqlite::Connection;

use crate::error::StoreError;
use crate::model::Pending;
use crate::sqlite::db::Db;

/// The most jobs committed together. Large enough to amortise the flush,
/// small enough that one commit never holds callers for long.
const MAX_JOBS_PER_COMMIT: usize = 1024;

/// What a job tells the writer after it ran.
pub(crate) struct JobOutcome {
    /// Whether the job's changes stay (else its savepoint is rolled back).
    pub(crate) keep: bool,
    /// Called once the transaction committed or failed.
    pub(crate) complete: Box<dyn FnOnce(Result<(), String>) + Send>,
}

/// A unit of work for the writer.
pub(crate) type Job = Box<dyn FnOnce(&mut Db<'_>) -> JobOutcome + Send>;

/// The handle callers use to reach the writer.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(crate) fn start(conn: Connection) -> std::io::Result<Self> {
        // Unbounded: callers never block on the hand-over, and the number of
        // waiting jobs is bounded by the callers (HTTP connections) anyway.
        let (jobs, receiver) = channel::<Job>();
        std::thread::Builder::new()
            .name("confab-sqlite-writer".to_owned())
            .spawn(move || run(conn, receiver))?;
        Ok(Self { jobs })
    }

    /// Runs `work` in the writer's next transaction; the answer arrives once
    /// that transaction has committed. An `Err` from `work` rolls back only
    /// `work`'s own changes.
    pub(crate) fn submit<T, F>(&self, work: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |db| {
            let outcome = work(db);
            let keep = outcome.is_ok();
            let complete = Box::new(move |commit: Result<(), String>| {
                let answer = match commit {
                    Ok(()) => outcome,
                    Err(message) => Err(StoreError::CommitFailed(message)),
                };
                // The caller may have given up waiting; nothing to do then.
                let _ = reply.send(answer);
            });
            JobOutcome { keep, complete }
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
        F: FnOnce(&mut Db<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(work).blocking_wait()
    }
}

/// The writer thread's loop: block for one job, take what else is waiting,
/// run them all in one transaction, commit, answer.
fn run(mut conn: Connection, receiver: Receiver<Job>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_JOBS_PER_COMMIT {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let jobs = batch.len();
        run_batch(&mut conn, batch);
        tracing::trace!(jobs, "writer committed a batch");
    }
    tracing::debug!("sqlite writer stopped");
}

/// Runs one batch and answers every job with the commit's outcome.
fn run_batch(conn: &mut Connection, batch: Vec<Job>) {
    let mut completions = Vec::with_capacity(batch.len());
    let commit = (|| -> Result<(), rusqlite::Error> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Savepoint statements are prepared once and reused: at thousands
        // of jobs a second, parsing them anew for every job shows.
        for job in batch {
            tx.prepare_cached("SAVEPOINT job")?.execute([])?;
            let outcome = job(&mut Db { conn: &tx });
            if !outcome.keep {
                tx.prepare_cached("ROLLBACK TO job")?.execute([])?;
            }
            tx.prepare_cached("RELEASE job")?.execute([])?;
            completions.push(outcome.complete);
        }
        tx.commit()
    })();

    let result = commit.map_err(|error| error.to_string());
    if let Err(message) = &result {
        tracing::error!(error = %message, "sqlite batch failed to commit");
    }
    for complete in completions {
        complete(result.clone());
    }
}
