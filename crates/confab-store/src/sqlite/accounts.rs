//! Accounts, API clients and API users in SQLite.
//!
//! Client secrets are long random strings Confab generates, so a SHA-256 of
//! them is enough to store. User passwords are chosen by people and may be
//! weak, so they are stored as Argon2id hashes.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::Utc;
use confab_core::AccountId;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::model::NewClient;
use crate::sqlite::db::{Db, millis};

/// Where account numbers start, so that MIDs look like the seven-digit
/// numbers clients are used to.
/// The MID of the first account.
pub const FIRST_ACCOUNT_ID: i64 = 7_000_001;

/// Random hex from the operating system's generator, by way of v4 UUIDs
/// (each carries 122 random bits).
fn random_hex(uuids: usize) -> String {
    (0..uuids)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect()
}

/// The stored form of a client secret.
fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates the first account and client when there is no account yet.
pub(crate) fn bootstrap(db: &mut Db<'_>) -> Result<Option<NewClient>, StoreError> {
    let accounts: i64 = db
        .conn
        .query_row("SELECT COUNT(*) FROM accounts", [], |row| row.get(0))?;
    if accounts > 0 {
        return Ok(None);
    }
    let account = create_account(db, "Default account")?;
    create_client(db, account).map(Some)
}

/// Creates an account with the next free number.
pub(crate) fn create_account(db: &mut Db<'_>, name: &str) -> Result<AccountId, StoreError> {
    let id: i64 = db.conn.query_row(
        "SELECT COALESCE(MAX(id) + 1, ?1) FROM accounts",
        params![FIRST_ACCOUNT_ID],
        |row| row.get(0),
    )?;
    db.conn.execute(
        "INSERT INTO accounts (id, name, created_at) VALUES (?1, ?2, ?3)",
        params![id, name, millis(Utc::now())],
    )?;
    Ok(AccountId(id))
}

/// Whether an account exists.
pub(crate) fn account_exists(conn: &Connection, account: AccountId) -> Result<bool, StoreError> {
    let found = conn
        .query_row(
            "SELECT 1 FROM accounts WHERE id = ?1",
            params![account.0],
            |_| Ok(()),
        )
        .optional()?;
    Ok(found.is_some())
}

/// Creates an API client and returns its secret, which is stored only as a
/// digest.
pub(crate) fn create_client(db: &mut Db<'_>, account: AccountId) -> Result<NewClient, StoreError> {
    if !account_exists(db.conn, account)? {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    let client_id = random_hex(1)[..24].to_owned();
    let client_secret = random_hex(2)[..48].to_owned();
    db.conn.execute(
        "INSERT INTO api_clients (client_id, secret_sha256, account_id, created_at) \
         VALUES (?1, ?2, ?3, ?4)",
        params![
            client_id,
            secret_digest(&client_secret),
            account.0,
            millis(Utc::now())
        ],
    )?;
    Ok(NewClient {
        client_id,
        client_secret,
        account_id: account.0,
    })
}

/// The account of a client whose secret matches.
pub(crate) fn verify_client(
    conn: &Connection,
    client_id: &str,
    secret: &str,
) -> Result<Option<AccountId>, StoreError> {
    let found: Option<(String, i64)> = conn
        .query_row(
            "SELECT secret_sha256, account_id FROM api_clients WHERE client_id = ?1",
            params![client_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((digest, account)) = found else {
        return Ok(None);
    };
    let matches = digest.len() == 64 && digest == secret_digest(secret);
    Ok(matches.then_some(AccountId(account)))
}

/// Creates an API user with an Argon2id password hash.
pub(crate) fn create_user(
    db: &mut Db<'_>,
    account: AccountId,
    username: &str,
    password: &str,
) -> Result<(), StoreError> {
    if !account_exists(db.conn, account)? {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|error| StoreError::Corrupt(format!("hash password: {error}")))?
        .to_string();
    let inserted = db.conn.execute(
        "INSERT INTO api_users (username, password_hash, account_id, created_at) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (username) DO NOTHING",
        params![username, hash, account.0, millis(Utc::now())],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!("user {username}")));
    }
    Ok(())
}

/// A user's stored password hash and account, if the user exists.
pub(crate) fn user_hash(
    conn: &Connection,
    username: &str,
) -> Result<Option<(String, AccountId)>, StoreError> {
    let found: Option<(String, i64)> = conn
        .query_row(
            "SELECT password_hash, account_id FROM api_users WHERE username = ?1",
            params![username],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    Ok(found.map(|(hash, account)| (hash, AccountId(account))))
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
            let hash = UNKNOWN_USER_HASH.get_or_init(|| {
                Argon2::default()
                    .hash_password(b"no user has this password")
                    .map(|hash| hash.to_string())
                    .unwrap_or_default()
            });
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

/// The token signing key, created on first use.
pub(crate) fn signing_key(db: &mut Db<'_>) -> Result<Vec<u8>, StoreError> {
    let existing: Option<Vec<u8>> = db
        .conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'signing_key'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(key) = existing {
        return Ok(key);
    }
    let key = random_hex(2).into_bytes();
    db.conn.execute(
        "INSERT INTO meta (key, value) VALUES ('signing_key', ?1)",
        params![key],
    )?;
    Ok(key)
}
