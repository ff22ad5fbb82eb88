//! The engine's error type.

use confab_store::StoreError;

/// Why the engine could not answer a call.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The call cannot be answered as sent; the text says why (a client
    /// fault).
    #[error("{0}")]
    BadRequest(String),
    /// The store failed (a server fault).
    #[error("storage failed")]
    Store(#[from] StoreError),
    /// A blocking task died.
    #[error("a background task failed")]
    Task(#[from] tokio::task::JoinError),
}
