//! Who is calling: the token endpoints the SDKs use, and the three ways a
//! SOAP envelope carries credentials.
//!
//! Every token and user belongs to one account; whatever a caller does
//! happens in that account only.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use confab_core::AccountId;
use confab_soap::{Credentials, Fault};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::AppState;
use crate::token::{ACCESS_TOKEN_LIFETIME_SECS, LEGACY_TOKEN_LIFETIME_SECS, TokenError, TokenKind};

/// How long a verified username and password are remembered. Argon2 is slow
/// on purpose; checking it on every SOAP call would cap throughput, so a
/// successful check is trusted for a short while.
const USER_CACHE_TTL: StdDuration = StdDuration::from_secs(300);

/// The most remembered logins before the cache starts over.
const USER_CACHE_CAPACITY: usize = 10_000;

/// Recently verified WS-Security logins, keyed by user and a hash of the
/// password (the password itself is never kept).
#[derive(Debug, Default)]
pub(crate) struct UserCache {
    entries: Mutex<HashMap<LoginKey, (AccountId, Instant)>>,
}

/// A user name (lower case) and the SHA-256 of a password.
type LoginKey = (String, [u8; 32]);

impl UserCache {
    fn key(username: &str, password: &str) -> LoginKey {
        (
            username.to_lowercase(),
            Sha256::digest(password.as_bytes()).into(),
        )
    }

    fn get(&self, username: &str, password: &str) -> Option<AccountId> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (account, verified_at) = entries.get(&Self::key(username, password))?;
        (verified_at.elapsed() < USER_CACHE_TTL).then_some(*account)
    }

    fn put(&self, username: &str, password: &str, account: AccountId) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= USER_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(Self::key(username, password), (account, Instant::now()));
    }
}

/// The scopes a token reports; Confab grants what its objects need.
const GRANTED_SCOPES: &str = "data_extensions_read data_extensions_write \
                              list_and_subscribers_read list_and_subscribers_write";

/// The body of `POST /v2/token`.
#[derive(Debug, Deserialize)]
pub(crate) struct OAuth2Request {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// Sent as a string by sfmc-sdk and as a number by others.
    account_id: Option<serde_json::Value>,
}

/// A JSON error in the OAuth 2 shape.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description, "error_uri": "" });
    (status, Json(body)).into_response()
}

/// Looks a client up on a blocking thread.
async fn verify_client(
    state: &AppState,
    client_id: String,
    secret: String,
) -> Result<Option<AccountId>, Response> {
    let store = state.engine.store().clone();
    let verified =
        tokio::task::spawn_blocking(move || store.verify_client(&client_id, &secret)).await;
    match verified {
        Ok(Ok(account)) => Ok(account),
        Ok(Err(error)) => {
            warn!(error = %error, "client lookup failed");
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Err(error) => {
            warn!(error = %error, "client lookup task failed");
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

/// `POST /v2/token`: client credentials for an access token.
pub(crate) async fn oauth2_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Response {
    let Ok(request) = serde_json::from_slice::<OAuth2Request>(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a JSON object",
        );
    };
    if request.grant_type.as_deref() != Some("client_credentials") {
        let description = "Confab issues tokens for the client_credentials grant only";
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            description,
        );
    }
    let (Some(client_id), Some(secret)) = (request.client_id, request.client_secret) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and client_secret are required",
        );
    };
    let account = match verify_client(&state, client_id.clone(), secret).await {
        Ok(Some(account)) => account,
        Ok(None) => {
            info!(client_id, "token refused: bad client credentials");
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Invalid client credentials: the client_id is unknown or the client_secret \
                 does not match",
            );
        }
        Err(response) => return response,
    };
    if let Some(asked) = request.account_id.as_ref().and_then(account_number)
        && asked != account.0
    {
        let description = "the client may only act in its own account";
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_grant", description);
    }

    let now = state.engine.clock().now();
    let lifetime = Duration::seconds(ACCESS_TOKEN_LIFETIME_SECS);
    let token = state
        .tokens
        .issue(TokenKind::Access, account, now, lifetime);
    let base = state.base_url(&headers, &uri);
    Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS - 1,
        "scope": GRANTED_SCOPES,
        "soap_instance_url": format!("{base}/"),
        "rest_instance_url": format!("{base}/"),
    }))
    .into_response()
}

/// Reads an `account_id` sent as a number or a string.
fn account_number(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(number) => number.as_i64(),
        serde_json::Value::String(text) if !text.trim().is_empty() => text.trim().parse().ok(),
        _ => None,
    }
}

/// The body of `POST /v1/requestToken`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LegacyRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The query of `POST /v1/requestToken`.
#[derive(Debug, Deserialize)]
pub(crate) struct LegacyQuery {
    legacy: Option<String>,
}

/// `POST /v1/requestToken`: the pre-OAuth 2 token, with the internal
/// `legacyToken` when `?legacy=1`.
pub(crate) async fn legacy_token(
    State(state): State<AppState>,
    Query(query): Query<LegacyQuery>,
    body: axum::body::Bytes,
) -> Response {
    let unauthorized = || {
        let body = json!({ "message": "Unauthorized", "errorcode": 1, "documentation": "" });
        (StatusCode::UNAUTHORIZED, Json(body)).into_response()
    };
    let Ok(request) = serde_json::from_slice::<LegacyRequest>(&body) else {
        return unauthorized();
    };
    let (Some(client_id), Some(secret)) = (request.client_id, request.client_secret) else {
        return unauthorized();
    };
    let account = match verify_client(&state, client_id, secret).await {
        Ok(Some(account)) => account,
        Ok(None) => return unauthorized(),
        Err(response) => return response,
    };

    let now = state.engine.clock().now();
    let lifetime = Duration::seconds(LEGACY_TOKEN_LIFETIME_SECS);
    let access = state
        .tokens
        .issue(TokenKind::LegacyAccess, account, now, lifetime);
    let mut answer = json!({ "accessToken": access, "expiresIn": LEGACY_TOKEN_LIFETIME_SECS });
    if query.legacy.as_deref() == Some("1") {
        answer["legacyToken"] = json!(state.tokens.issue(
            TokenKind::Legacy,
            account,
            now,
            lifetime
        ));
    }
    Json(answer).into_response()
}

/// The query of the endpoint discovery call.
#[derive(Debug, Deserialize)]
pub(crate) struct EndpointQuery {
    access_token: Option<String>,
}

/// `GET /platform/v1/endpoints/soap`: where the SOAP API is.
pub(crate) async fn soap_endpoint(
    State(state): State<AppState>,
    Query(query): Query<EndpointQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::to_owned);
    let Some(token) = bearer.or(query.access_token) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let now = state.engine.clock().now();
    if state.tokens.verify(&token, now).is_err() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let base = state.base_url(&headers, &uri);
    Json(json!({ "url": format!("{base}/Service.asmx") })).into_response()
}

/// The account a SOAP envelope's credentials belong to, or the security
/// fault that refuses them.
pub(crate) async fn authenticate(
    state: &AppState,
    credentials: &Credentials,
) -> Result<AccountId, Fault> {
    let now = state.engine.clock().now();
    let check = |token: &str, accepted: &[TokenKind]| match state.tokens.verify(token, now) {
        Ok((kind, account)) if accepted.contains(&kind) => Ok(account),
        Ok(_) | Err(TokenError::Invalid) => Err(Fault::login_failed()),
        Err(TokenError::Expired) => Err(Fault::token_expired()),
    };
    match credentials {
        Credentials::AccessToken(token) => {
            check(token, &[TokenKind::Access, TokenKind::LegacyAccess])
        }
        Credentials::LegacyToken(token) => check(token, &[TokenKind::Legacy]),
        Credentials::UsernameToken { username, password } => {
            verify_user(state, username, password).await
        }
        Credentials::None => Err(Fault::login_failed()),
    }
}

/// Checks a WS-Security login, through the cache and the throttle.
async fn verify_user(state: &AppState, username: &str, password: &str) -> Result<AccountId, Fault> {
    let now = state.engine.clock().now();
    if state.logins.is_locked(username, now) {
        info!(username, "login refused: too many wrong passwords");
        return Err(Fault::login_failed());
    }
    if let Some(account) = state.users.get(username, password) {
        return Ok(account);
    }
    let store = state.engine.store().clone();
    let (name, secret) = (username.to_owned(), password.to_owned());
    let verified = tokio::task::spawn_blocking(move || store.verify_user(&name, &secret)).await;
    match verified {
        Ok(Ok(Some(account))) => {
            state.logins.succeeded(username);
            state.users.put(username, password, account);
            Ok(account)
        }
        Ok(Ok(None)) => {
            if state.logins.failed(username, now) {
                warn!(
                    username,
                    "too many wrong passwords; the user name is locked for a while"
                );
            }
            Err(Fault::login_failed())
        }
        Ok(Err(error)) => {
            warn!(error = %error, "user lookup failed");
            Err(Fault::server("the login could not be checked"))
        }
        Err(error) => {
            warn!(error = %error, "user lookup task failed");
            Err(Fault::server("the login could not be checked"))
        }
    }
}
