//! `POST /_confab/clock`: moves the server's test clock ahead. The route
//! exists only when the server runs with `--test-clock`; it is for tests of
//! time-dependent behaviour and must never be reachable in production,
//! where anyone able to call it could expire every token and result.
//!
//! The body is `{"advance_seconds": N}` (N ≥ 0); the answer is the new now,
//! `{"now": "2026-12-03T12:10:00.000Z"}`. Before answering, the engine runs
//! one housekeeping pass at the new time and wakes the worker, so that a
//! test can rely on conversation time-outs and purges being done.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;
use confab_core::time::format_instant;
use serde::Deserialize;
use serde_json::json;
use tracing::{error, warn};

use crate::AppState;

/// The route's path.
pub(crate) const CLOCK_PATH: &str = "/_confab/clock";

/// The request body.
#[derive(Debug, Deserialize)]
struct Advance {
    /// How far to move the clock, in seconds.
    advance_seconds: i64,
}

/// Moves the test clock ahead and lets the engine catch up.
pub(crate) async fn advance(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let Some(clock) = state.settings.test_clock.clone() else {
        return (StatusCode::NOT_FOUND, "the test clock is off\n").into_response();
    };
    let seconds = match serde_json::from_slice::<Advance>(&body) {
        Ok(Advance { advance_seconds }) if advance_seconds >= 0 => advance_seconds,
        _ => {
            let message = "the body must be {\"advance_seconds\": N} with N >= 0\n";
            return (StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    let Some(by) = TimeDelta::try_seconds(seconds) else {
        return (StatusCode::BAD_REQUEST, "advance_seconds is too large\n").into_response();
    };

    let Some(now) = clock.advance(by) else {
        let message = "advance_seconds would move the test clock more than a century ahead\n";
        return (StatusCode::BAD_REQUEST, message).into_response();
    };
    warn!(advance_seconds = seconds, now = %format_instant(now), "test clock advanced");
    if let Err(failure) = state.engine.catch_up().await {
        error!(error = %failure, "catching up with the advanced clock failed");
        return (StatusCode::INTERNAL_SERVER_ERROR, "housekeeping failed\n").into_response();
    }
    Json(json!({ "now": format_instant(now) })).into_response()
}
