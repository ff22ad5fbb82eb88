//! The fault shapes the service answers with.

/// Which fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The request is wrong (`soap:Client`, or `Sender` in SOAP 1.2).
    Client,
    /// Confab failed (`soap:Server`, or `Receiver`), with an `apifault`.
    Server,
    /// Authentication failed (`wsse:Security` code), no detail.
    Security,
}

/// A SOAP fault to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Which fault.
    pub kind: FaultKind,
    /// `faultstring`: what is wrong, for a person.
    pub message: String,
    /// `apifault/Code` (Server faults only).
    pub api_code: Option<i32>,
}

impl Fault {
    /// A client fault.
    pub fn client(message: impl Into<String>) -> Self {
        Self {
            kind: FaultKind::Client,
            message: message.into(),
            api_code: None,
        }
    }

    /// A server fault with the API's `UnexpectedError` code (2).
    pub fn server(message: impl Into<String>) -> Self {
        Self {
            kind: FaultKind::Server,
            message: message.into(),
            api_code: Some(2),
        }
    }

    /// The security fault for bad credentials.
    pub fn login_failed() -> Self {
        Self {
            kind: FaultKind::Security,
            message: "Login failed".to_owned(),
            api_code: None,
        }
    }

    /// The security fault for an expired token. Its text is exactly what
    /// FuelSDK-Node compares against before it fetches a new token.
    pub fn token_expired() -> Self {
        Self {
            kind: FaultKind::Security,
            message: "Token Expired".to_owned(),
            api_code: None,
        }
    }
}
