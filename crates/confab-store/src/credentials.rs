//! Secrets and passwords, the same for every backend.
//!
//! Client secrets are long random strings Confab generates, so a SHA-256 of
//! them is enough to store. User passwords are chosen by people and may be
//! weak, so they are stored as Argon2id hashes.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use confab_core::AccountId;
use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// Where account numbers start, so that MIDs look like the seven-digit
/// numbers clients are used to.
pub const FIRST_ACCOUNT_ID: i64 = 7_000_001;

/// The name of the account `bootstrap` creates.
pub(crate) const FIRST_ACCOUNT_NAME: &str = "Default account";

/// Random hex from the operating system's generator, by way of v4 UUIDs
/// (each carries 122 random bits).
pub(crate) fn random_hex(uuids: usize) -> String {
    (0..uuids)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect()
}

/// A new client id and secret.
pub(crate) fn new_client_credentials() -> (String, String) {
    (
        random_hex(1)[..24].to_owned(),
        random_hex(2)[..48].to_owned(),
    )
}

/// A new key for signing access tokens.
pub(crate) fn new_signing_key() -> Vec<u8> {
    random_hex(2).into_bytes()
}

/// The stored form of a client secret.
pub(crate) fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` matches a stored digest.
pub(crate) fn secret_matches(digest: &str, secret: &str) -> bool {
    digest.len() == 64 && digest == secret_digest(secret)
}

/// The stored form of a user's password: an Argon2id hash.
pub(crate) fn hash_password(password: &str) -> Result<String, StoreError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| StoreError::Corrupt(format!("hash password: {error}")))
}

/// Checks a password against a stored hash, or against a fixed hash when
/// the user does not exist: either way the check costs one Argon2 run, so
/// the time taken does not tell which user names exist.
pub(crate) fn verify_password(
    stored: Option<(String, AccountId)>,
    password: &str,
) -> Result<Option<AccountId>, StoreError> {
    static UNKNOWN_USER_HASH: OnceLock<String> = OnceLock::new();
    let (hash, account) = match stored {
        Some((hash, account)) => (hash, Some(account)),
        None => {
            let hash = UNKNOWN_USER_HASH
                .get_or_init(|| hash_password("no user has this password").unwrap_or_default());
            (hash.clone(), None)
        }
    };
    let parsed = PasswordHash::new(&hash)
        .map_err(|error| StoreError::Corrupt(format!("stored password hash: {error}")))?;
    let verified = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    Ok(account.filter(|_| verified))
}
