//! Copies the write-ahead log back into the database file, off the writer's
//! thread.
//!
//! SQLite normally checkpoints inside the commit that crosses the log's size
//! threshold, which stalls every caller waiting on that commit. Here the
//! writer never checkpoints; this thread does, with its own connection, in
//! `PASSIVE` mode so it never waits for the writer or blocks it. Once a
//! checkpoint has caught up, SQLite starts the log over from its beginning,
//! so the log stays small.

use std::path::Path;
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::time::Duration;

use rusqlite::Connection;

/// How often the log is checkpointed.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Keeps the checkpoint thread alive; the thread ends when the last clone
/// of this is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Checkpointer {
    _alive: std::sync::Arc<Sender<()>>,
}

/// Starts the checkpoint thread for the database at `path`.
pub(crate) fn start(path: &Path) -> std::io::Result<Checkpointer> {
    let path = path.to_path_buf();
    let (alive, stopped) = channel::<()>();
    std::thread::Builder::new()
        .name("confab-sqlite-checkpoint".to_owned())
        .spawn(move || {
            let conn = match Connection::open(&path) {
                Ok(conn) => conn,
                Err(error) => {
                    tracing::error!(error = %error, "checkpoint thread cannot open the database");
                    return;
                }
            };
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_INTERVAL) {
                let outcome = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                    Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
                });
                match outcome {
                    Ok((log_pages, copied)) => {
                        tracing::trace!(log_pages, copied, "checkpointed the write-ahead log");
                    }
                    Err(error) => tracing::warn!(error = %error, "checkpoint failed; retrying"),
                }
            }
        })?;
    Ok(Checkpointer {
        _alive: std::sync::Arc::new(alive),
    })
}
