//! Signing callbacks in the shape of the Standard Webhooks headers, so
//! receivers can use the libraries that already verify them.
//!
//! ```text
//! webhook-id:        the delivery's id, the same on every attempt
//! webhook-timestamp: the attempt's time, in Unix seconds
//! webhook-signature: v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>
//! ```
//!
//! The key is the account's secret without its `whsec_` prefix, base64
//! decoded.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The prefix every secret carries, so that it is recognisable as one.
const SECRET_PREFIX: &str = "whsec_";

/// How many random bytes a secret holds.
const SECRET_BYTES: usize = 32;

/// A secret that cannot be used to sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the webhook secret is not whsec_ followed by base64")]
pub struct MalformedSecret;

/// A new random secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0_u8; SECRET_BYTES];
    rand::fill(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` value for one attempt.
///
/// # Errors
///
/// When `secret` is not a `whsec_` secret.
pub fn sign(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, MalformedSecret> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or(MalformedSecret)?;
    let key = STANDARD.decode(encoded).map_err(|_| MalformedSecret)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).map_err(|_| MalformedSecret)?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_base64() {
        let secret = new_secret();
        let encoded = secret.strip_prefix("whsec_").unwrap();
        assert_eq!(STANDARD.decode(encoded).unwrap().len(), SECRET_BYTES);
        assert_ne!(secret, new_secret());
    }

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The worked example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_without_the_prefix_are_refused() {
        assert_eq!(sign("c2VjcmV0", "id", 1, b""), Err(MalformedSecret));
    }
}
