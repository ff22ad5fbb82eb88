//! Accounts, API clients and API users in PostgreSQL. How secrets and
//! passwords are kept is in [`crate::credentials`].
//!
//! Two nodes may create the first account, or the signing key, at the same
//! moment; the loser's insert fails with a unique violation and the writer
//! runs its work again, which then finds the winner's row.

use chrono::Utc;
use confab_core::AccountId;

use crate::columns::millis;
use crate::credentials::{
    FIRST_ACCOUNT_ID, FIRST_ACCOUNT_NAME, hash_password, new_client_credentials, new_signing_key,
    secret_digest, secret_matches,
};
use crate::error::StoreError;
use crate::model::NewClient;
use crate::postgres::db::PgDb;

/// Creates the first account and client when there is no account yet.
pub(crate) fn bootstrap(db: &mut PgDb<'_, '_>) -> Result<Option<NewClient>, StoreError> {
    if db
        .query_opt("SELECT 1 FROM accounts LIMIT 1", &[])?
        .is_some()
    {
        return Ok(None);
    }
    let account = create_account(db, FIRST_ACCOUNT_NAME)?;
    create_client(db, account).map(Some)
}

/// Creates an account with the next free number.
pub(crate) fn create_account(db: &mut PgDb<'_, '_>, name: &str) -> Result<AccountId, StoreError> {
    let row = db.query_opt(
        "INSERT INTO accounts (id, name, created_at) \
         SELECT COALESCE(MAX(id) + 1, $1), $2, $3 FROM accounts RETURNING id",
        &[&FIRST_ACCOUNT_ID, &name, &millis(Utc::now())],
    )?;
    let row = row.ok_or_else(|| StoreError::Corrupt("account insert returned nothing".into()))?;
    Ok(AccountId(row.try_get(0)?))
}

/// Whether an account exists.
pub(crate) fn account_exists(
    db: &mut PgDb<'_, '_>,
    account: AccountId,
) -> Result<bool, StoreError> {
    let found = db.query_opt("SELECT 1 FROM accounts WHERE id = $1", &[&account.0])?;
    Ok(found.is_some())
}

/// Creates an API client and returns its secret, which is stored only as a
/// digest.
pub(crate) fn create_client(
    db: &mut PgDb<'_, '_>,
    account: AccountId,
) -> Result<NewClient, StoreError> {
    if !account_exists(db, account)? {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    let (client_id, client_secret) = new_client_credentials();
    db.execute(
        "INSERT INTO api_clients (client_id, secret_sha256, account_id, created_at) \
         VALUES ($1, $2, $3, $4)",
        &[
            &client_id,
            &secret_digest(&client_secret),
            &account.0,
            &millis(Utc::now()),
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
    db: &mut PgDb<'_, '_>,
    client_id: &str,
    secret: &str,
) -> Result<Option<AccountId>, StoreError> {
    let row = db.query_opt(
        "SELECT secret_sha256, account_id FROM api_clients WHERE client_id = $1",
        &[&client_id],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let digest: String = row.try_get(0)?;
    let account: i64 = row.try_get(1)?;
    Ok(secret_matches(&digest, secret).then_some(AccountId(account)))
}

/// Creates an API user with an Argon2id password hash.
pub(crate) fn create_user(
    db: &mut PgDb<'_, '_>,
    account: AccountId,
    username: &str,
    password: &str,
) -> Result<(), StoreError> {
    if !account_exists(db, account)? {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    let hash = hash_password(password)?;
    let inserted = db.execute(
        "INSERT INTO api_users (username, password_hash, account_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[&username, &hash, &account.0, &millis(Utc::now())],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!("user {username}")));
    }
    Ok(())
}

/// A user's stored password hash and account, if the user exists.
pub(crate) fn user_hash(
    db: &mut PgDb<'_, '_>,
    username: &str,
) -> Result<Option<(String, AccountId)>, StoreError> {
    let row = db.query_opt(
        "SELECT password_hash, account_id FROM api_users WHERE lower(username) = lower($1)",
        &[&username],
    )?;
    row.map(|row| Ok((row.try_get(0)?, AccountId(row.try_get(1)?))))
        .transpose()
}

/// The token signing key, created on first use.
pub(crate) fn signing_key(db: &mut PgDb<'_, '_>) -> Result<Vec<u8>, StoreError> {
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('signing_key', $1) ON CONFLICT DO NOTHING",
        &[&new_signing_key()],
    )?;
    let row = db.query_opt("SELECT value FROM meta WHERE key = 'signing_key'", &[])?;
    let row = row.ok_or_else(|| StoreError::Corrupt("no signing key after insert".into()))?;
    Ok(row.try_get(0)?)
}
