//! HTTP callbacks: a signed, form-encoded POST to the client's address,
//! over a connection pinned to the address that passed the checks.

use std::time::Duration;

use chrono::Utc;
use confab_core::intake::IntakePolicy;
use confab_store::outbox::Delivery;
use reqwest::Url;
use reqwest::header::CONTENT_TYPE;

use crate::address::resolve_checked;
use crate::error::{AttemptError, with_causes};
use crate::render::form_body;
use crate::signature::sign;

/// The `Content-Type` of every callback.
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// What an HTTP attempt needs besides the delivery.
#[derive(Debug, Clone)]
pub struct HttpTarget<'a> {
    /// The hosts the operator allowed over plain HTTP and on private
    /// addresses.
    pub policy: &'a IntakePolicy,
    /// How long one attempt may take, connection included.
    pub timeout: Duration,
    /// The account's signing secret.
    pub secret: &'a str,
}

/// Makes one attempt to POST `delivery`.
///
/// # Errors
///
/// Permanent for an address that may not be reached; transient for a
/// connection failure or an answer other than 2xx.
pub async fn post(delivery: &Delivery, target: &HttpTarget<'_>) -> Result<(), AttemptError> {
    let url = Url::parse(&delivery.address)
        .map_err(|error| AttemptError::Permanent(format!("bad callback URL: {error}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| AttemptError::Permanent("callback URL without host".to_owned()))?
        .to_owned();
    let port = url
        .port_or_known_default()
        .filter(|port| *port != 0)
        .ok_or_else(|| AttemptError::Permanent("callback URL without a port".to_owned()))?;
    // Checked again here, not only on receipt: a replayed or old delivery
    // must meet today's settings.
    if !target.policy.allows_callback_address(&delivery.address) {
        return Err(AttemptError::Permanent(format!(
            "refused: {host} may only be reached over HTTPS"
        )));
    }
    let host_allowed = target.policy.allows_host(&host);
    let address = resolve_checked(&host, port, host_allowed).await?;

    // No proxy, whatever HTTP_PROXY and its kind say: a proxy would resolve
    // the name again and connect where it likes, past the address check.
    let client = reqwest::Client::builder()
        .no_proxy()
        .resolve(&host, address)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(target.timeout)
        .build()
        .map_err(|error| AttemptError::Transient(format!("build the HTTP client: {error}")))?;
    let body = form_body(&delivery.notice);
    let timestamp = Utc::now().timestamp();
    let signature = sign(
        target.secret,
        &delivery.delivery_id,
        timestamp,
        body.as_bytes(),
    )
    .map_err(|error| AttemptError::Permanent(error.to_string()))?;
    let response = client
        .post(url)
        .header(CONTENT_TYPE, FORM_CONTENT_TYPE)
        .header("webhook-id", &delivery.delivery_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|error| {
            let message = format!("POST to {host}: {}", with_causes(&error));
            // A request that cannot even be built will never be.
            match error.is_builder() {
                true => AttemptError::Permanent(message),
                false => AttemptError::Transient(message),
            }
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(AttemptError::Transient(format!("{host} answered {status}")));
    }
    Ok(())
}
