//! The HTTP front of Confab: the token endpoints SDKs call, the SOAP
//! endpoint, and the WSDL.
//!
//! This crate is the only place that knows HTTP. It authenticates the
//! caller, hands the decoded call to the engine, and writes the engine's
//! answer back through `confab-soap`.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /v2/token` | OAuth 2 client credentials |
//! | `POST /v1/requestToken` | the legacy token, with `legacyToken` on `?legacy=1` |
//! | `GET /platform/v1/endpoints/soap` | SOAP endpoint discovery |
//! | `POST /Service.asmx` (any case) | the SOAP API |
//! | `GET /etframework.wsdl`, `GET /ETFrameworkFault.xsd` | Confab's WSDL |
//! | `POST /_confab/clock` | moves the test clock; only with `--test-clock` |

mod auth;
mod server;
mod soap;
mod test_clock;
mod throttle;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, Uri};
use axum::routing::{get, post};
use confab_engine::{Engine, TestClock};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

pub use server::{HEADER_READ_TIMEOUT, ServerLimits, serve};
pub use token::{TokenKind, Tokens};

/// The largest request body accepted. A request may carry up to 32,766
/// objects, which takes a few megabytes; the limit leaves room for large
/// objects without letting one unauthenticated request take much memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// How long a client may pause while sending a request body: the timeout
/// starts again with each piece that arrives, so it does not bound the
/// body as a whole (tower-http's `TimeoutBody`).
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Settings of the HTTP front.
#[derive(Debug, Clone, Default)]
pub struct ApiSettings {
    /// The base URL clients should use (`soap_instance_url` and the WSDL's
    /// address). When unset, it is built from each request's `Host`.
    pub public_url: Option<String>,
    /// The clock `POST /_confab/clock` moves. The route exists only when
    /// this is set, which must never be the case in production.
    pub test_clock: Option<Arc<TestClock>>,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    engine: Engine,
    tokens: Arc<Tokens>,
    users: Arc<auth::UserCache>,
    /// Wrong-password counts, for locking out guessed user names.
    logins: Arc<throttle::LoginThrottle>,
    settings: Arc<ApiSettings>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `engine`, signing tokens with `signing_key`.
    pub fn new(engine: Engine, signing_key: Vec<u8>, settings: ApiSettings) -> Self {
        Self {
            engine,
            tokens: Arc::new(Tokens::new(signing_key)),
            users: Arc::new(auth::UserCache::default()),
            logins: Arc::new(throttle::LoginThrottle::default()),
            settings: Arc::new(settings),
        }
    }

    /// The base URL for a request, without a trailing slash.
    fn base_url(&self, headers: &HeaderMap, uri: &Uri) -> String {
        if let Some(url) = &self.settings.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|value| value.to_str().ok())
            .or_else(|| uri.authority().map(|authority| authority.as_str()))
            .unwrap_or("127.0.0.1");
        format!("http://{host}")
    }
}

/// The router with every route.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    if state.settings.test_clock.is_some() {
        router = router.route(test_clock::CLOCK_PATH, post(test_clock::advance));
    }
    router
        .route("/v2/token", post(auth::oauth2_token))
        .route("/v1/requestToken", post(auth::legacy_token))
        .route("/platform/v1/endpoints/soap", get(auth::soap_endpoint))
        .fallback(soap::fallback)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        .layer(
            // Every SOAP fault is an HTTP 500, as SOAP 1.1 over HTTP requires;
            // most are the caller's mistake, so they must not log at ERROR.
            // Confab logs each refusal itself at the level it deserves.
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
}
