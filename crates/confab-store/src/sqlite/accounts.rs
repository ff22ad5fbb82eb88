//! Accounts, API clients and API users in SQLite. How secrets and
//! passwords are kept is in [`crate::credentials`].

use chrono::Utc;
use confab_core::AccountId;
use rusqlite::{Connection, OptionalExtension, params};

use crate::credentials::{
    FIRST_ACCOUNT_ID, FIRST_ACCOUNT_NAME, hash_password, new_client_credentials, new_signing_key,
    secret_digest, secret_matches,
};
use crate::error::StoreError;
use crate::model::NewClient;
use crate::sqlite::db::{Db, millis};

/// Creates the first account and client when there is no account yet.
pub(crate) fn bootstrap(db: &mut Db<'_>) -> Result<Option<NewClient>, StoreError> {
    let accounts: i64 = db
        .conn
        .query_row("SELECT COUNT(*) FROM accounts", [], |row| row.get(0))?;
    if accounts > 0 {
        return Ok(None);
    }
    let account = create_account(db, FIRST_ACCOUNT_NAME)?;
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
    let (client_id, client_secret) = new_client_credentials();
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
    Ok(secret_matches(&digest, secret).then_some(AccountId(account)))
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
    let hash = hash_password(password)?;
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
    let key = new_signing_key();
    db.conn.execute(
        "INSERT INTO meta (key, value) VALUES ('signing_key', ?1)",
        params![key],
    )?;
    Ok(key)
}
