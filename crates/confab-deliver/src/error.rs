//! Why a delivery attempt failed, and whether trying again can help.

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttemptError {
    /// Trying again cannot help (a refused address, a malformed address,
    /// no relay configured); the delivery becomes a dead letter at once.
    #[error("{0}")]
    Permanent(String),
    /// It may work later (a connection error, a non-2xx answer).
    #[error("{0}")]
    Transient(String),
}

/// Why the deliverer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The SMTP relay settings do not make a transport.
    #[error("set up the SMTP relay {relay}: {reason}")]
    Smtp {
        /// The relay as configured.
        relay: String,
        /// What is wrong.
        reason: String,
    },
}
