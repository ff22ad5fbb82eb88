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

/// `error` with every error under it, as "outer: inner: innermost": the
/// outermost message of an HTTP or SMTP error seldom says what went wrong
/// ("error sending request"), the innermost does ("invalid peer
/// certificate").
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        cause = inner.source();
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn an_error_says_its_causes() {
        let inner = std::io::Error::other("invalid peer certificate");
        assert_eq!(
            with_causes(&Outer(inner)),
            "error sending request: invalid peer certificate"
        );
    }
}
