//! The error type of the storage layer.

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database error")]
    Database(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("postgresql error: {}", describe_postgres(.0))]
    Postgres(#[from] postgres::Error),
    /// The connection pool failed.
    #[error("connection pool error")]
    Pool(#[from] r2d2::Error),
    /// A stored payload did not read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A unique key already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// The thing named does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The transaction holding this work did not commit.
    #[error("commit failed: {0}")]
    CommitFailed(String),
    /// The writer thread is gone (the store is shutting down).
    #[error("the store is shut down")]
    Closed,
    /// Creating the data directory or the database file failed.
    #[error("open the database at {path}")]
    Open {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        Self::Corrupt(error.to_string())
    }
}

impl StoreError {
    /// Whether the same work may succeed if tried again from the start:
    /// PostgreSQL gave up one transaction to let another through (a
    /// deadlock or a serialisation failure), or two nodes raced to create
    /// the same row and the loser should read the winner's.
    pub fn is_retryable(&self) -> bool {
        use postgres::error::SqlState;
        let Self::Postgres(error) = self else {
            return false;
        };
        error.code().is_some_and(|code| {
            *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::UNIQUE_VIOLATION
        })
    }

    /// Whether the connection to the database is gone, so that it has to
    /// be opened again before anything else can be done.
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, Self::Postgres(error) if error.is_closed())
    }
}

/// What a PostgreSQL error says, server message included: the driver's own
/// text for a server error is only "db error", which tells an operator
/// nothing.
pub(crate) fn describe_postgres(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.to_string(),
        None => match std::error::Error::source(error) {
            Some(cause) => format!("{error}: {cause}"),
            None => error.to_string(),
        },
    }
}
