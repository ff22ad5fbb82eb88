//! Access tokens: stateless, signed with the server's key, so checking one
//! costs a hash and no database read.
//!
//! A token is `<kind>.<account>.<expires>.<nonce>.<signature>`, the signature
//! an HMAC-SHA256 over everything before it. The nonce makes every token
//! unique. Tokens survive a restart because the key lives in the store.

use chrono::{DateTime, Duration, Utc};
use confab_core::AccountId;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// What a token was issued as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An OAuth 2 access token from `/v2/token`; goes in `fueloauth`.
    Access,
    /// A legacy access token from `/v1/requestToken`; goes in `fueloauth`.
    LegacyAccess,
    /// A legacy internal token (`legacyToken`); goes in `oAuth/oAuthToken`.
    Legacy,
}

impl TokenKind {
    fn tag(self) -> &'static str {
        match self {
            Self::Access => "v2",
            Self::LegacyAccess => "la",
            Self::Legacy => "lg",
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        Some(match tag {
            "v2" => Self::Access,
            "la" => Self::LegacyAccess,
            "lg" => Self::Legacy,
            _ => return None,
        })
    }
}

/// How long an OAuth 2 token lives; `expires_in` says 1079, as real
/// responses do, a second under the 18 minutes documented.
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 1080;
/// How long legacy tokens live.
pub const LEGACY_TOKEN_LIFETIME_SECS: i64 = 3600;

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token Confab issued, or tampered with.
    Invalid,
    /// Issued by Confab but past its lifetime.
    Expired,
}

/// Issues and checks tokens.
pub struct Tokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens { .. }")
    }
}

impl Tokens {
    /// Tokens signed with `key`.
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    /// Issues a token of `kind` for `account`, valid for `lifetime`.
    pub fn issue(
        &self,
        kind: TokenKind,
        account: AccountId,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> String {
        let expires = (now + lifetime).timestamp();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let body = format!("{}.{}.{expires}.{nonce}", kind.tag(), account.0);
        let signature = hex::encode(self.sign(&body));
        format!("{body}.{signature}")
    }

    /// Checks a token and returns its kind and account.
    pub fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(TokenKind, AccountId), TokenError> {
        let token = token.trim();
        let (body, signature) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let signature = hex::decode(signature).map_err(|_| TokenError::Invalid)?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::Invalid)?;

        let mut parts = body.split('.');
        let kind = parts
            .next()
            .and_then(TokenKind::from_tag)
            .ok_or(TokenError::Invalid)?;
        let account: i64 = parts
            .next()
            .and_then(|part| part.parse().ok())
            .ok_or(TokenError::Invalid)?;
        let expires: i64 = parts
            .next()
            .and_then(|part| part.parse().ok())
            .ok_or(TokenError::Invalid)?;
        if now.timestamp() >= expires {
            return Err(TokenError::Expired);
        }
        Ok((kind, AccountId(account)))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length, so this cannot fail.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
    }

    fn sign(&self, body: &str) -> Vec<u8> {
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let tokens = Tokens::new(b"key".to_vec());
        let token = tokens.issue(
            TokenKind::Access,
            AccountId(7),
            now(),
            Duration::seconds(60),
        );
        assert_eq!(
            tokens.verify(&token, now()),
            Ok((TokenKind::Access, AccountId(7)))
        );
        let later = now() + Duration::seconds(61);
        assert_eq!(tokens.verify(&token, later), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_or_foreign_tokens_are_invalid() {
        let tokens = Tokens::new(b"key".to_vec());
        let token = tokens.issue(
            TokenKind::Access,
            AccountId(7),
            now(),
            Duration::seconds(60),
        );
        let tampered = token.replacen(".7.", ".8.", 1);
        assert_eq!(tokens.verify(&tampered, now()), Err(TokenError::Invalid));
        let other = Tokens::new(b"other".to_vec());
        assert_eq!(other.verify(&token, now()), Err(TokenError::Invalid));
        assert_eq!(tokens.verify("garbage", now()), Err(TokenError::Invalid));
    }
}
