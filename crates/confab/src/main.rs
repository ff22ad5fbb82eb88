//! The `confab` command: runs the server and manages accounts, API clients
//! and users.
//!
//! ```text
//! confab serve                          # SQLite under ./confab-data, 127.0.0.1:8080
//! confab --database-url postgres://… serve   # PostgreSQL, several nodes
//! confab clients create [--account MID] # prints a new client as JSON
//! confab users create --account MID --username U --password P
//! confab accounts create --name NAME
//! confab accounts webhook-secret --account MID [--rotate]
//! confab deliveries list [--dead] [--account MID]
//! confab deliveries replay ID
//! ```

mod cli;
mod deliveries;
mod serve;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use confab_core::AccountId;
use confab_store::Store;
use confab_store::postgres::{PostgresSettings, PostgresStore};
use confab_store::sqlite::SqliteStore;

use cli::{AccountCommand, Cli, ClientCommand, Command, UserCommand};

/// mimalloc instead of the system allocator: parsing and answering a SOAP
/// call makes many small allocations, and glibc's allocator was a sixth of
/// the request path's time in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _log_writer = cli::init_tracing(cli.log_format);
    let postgres = PostgresSettings {
        stalled_session: Duration::from_secs(cli.stalled_node_secs.max(1)),
        ..PostgresSettings::default()
    };
    let database = Database::named_by(&cli.data_dir, cli.database_url.as_deref(), postgres);
    match cli.command {
        Command::Serve(args) => serve::run(&database, *args),
        Command::Clients {
            command: ClientCommand::Create { account },
        } => {
            let store = open_store(&database)?;
            let client = match account {
                Some(account) => store.create_client(AccountId(account)),
                // On a fresh data directory the first client is made with
                // the first account; show that one rather than a second.
                None => match store.bootstrap().context("create the first account")? {
                    Some(first) => Ok(first),
                    None => store.create_client(AccountId(confab_store::FIRST_ACCOUNT_ID)),
                },
            }
            .context("create the API client")?;
            println!("{}", serde_json::to_string_pretty(&client)?);
            Ok(())
        }
        Command::Users {
            command:
                UserCommand::Create {
                    account,
                    username,
                    password,
                },
        } => {
            anyhow::ensure!(
                !username.trim().is_empty(),
                "the username must not be empty"
            );
            anyhow::ensure!(!password.is_empty(), "the password must not be empty");
            let store = open_store(&database)?;
            store
                .create_user(AccountId(account), &username, &password)
                .with_context(|| format!("create user {username} in account {account}"))?;
            let created = serde_json::json!({ "username": username, "account_id": account });
            println!("{}", serde_json::to_string_pretty(&created)?);
            Ok(())
        }
        Command::Accounts {
            command: AccountCommand::Create { name },
        } => {
            let store = open_store(&database)?;
            let account = store.create_account(&name).context("create the account")?;
            let created = serde_json::json!({ "account_id": account.0, "name": name });
            println!("{}", serde_json::to_string_pretty(&created)?);
            Ok(())
        }
        Command::Accounts {
            command: AccountCommand::WebhookSecret { account, rotate },
        } => deliveries::webhook_secret(&database, account, rotate),
        Command::Deliveries { command } => deliveries::run(&database, command),
    }
}

/// Where the data lives.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Database<'a> {
    /// The embedded SQLite file in this directory.
    Embedded(&'a Path),
    /// A PostgreSQL database at this URL.
    Postgres(&'a str, PostgresSettings),
}

impl<'a> Database<'a> {
    /// The database the flags name.
    fn named_by(
        data_dir: &'a Path,
        database_url: Option<&'a str>,
        postgres: PostgresSettings,
    ) -> Self {
        match database_url {
            Some(url) => Self::Postgres(url, postgres),
            None => Self::Embedded(data_dir),
        }
    }
}

impl Database<'_> {
    /// The same database, with a PostgreSQL pool large enough for
    /// `workers` workers besides the writers and everything else a node
    /// does (reads, callbacks, housekeeping), so that a node told to run
    /// many workers does not starve its own intake of connections.
    pub(crate) fn with_room_for_workers(self, workers: usize) -> Self {
        match self {
            Self::Postgres(url, mut settings) => {
                let wanted = settings.writers + workers + OTHER_CONNECTIONS;
                let wanted = u32::try_from(wanted).unwrap_or(u32::MAX);
                settings.max_connections = settings.max_connections.max(wanted);
                Self::Postgres(url, settings)
            }
            embedded => embedded,
        }
    }
}

/// The connections a PostgreSQL node keeps for other than its writers and
/// workers: Retrieves and logins, callbacks, housekeeping.
const OTHER_CONNECTIONS: usize = 6;

impl std::fmt::Display for Database<'_> {
    /// Where the data lives, without the password a URL may carry.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded(dir) => write!(f, "sqlite in {}", dir.display()),
            Self::Postgres(url, _) => {
                let host = url.rsplit_once('@').map_or(*url, |(_, host)| host);
                write!(f, "postgresql at {host}")
            }
        }
    }
}

/// Opens the store.
pub(crate) fn open_store(database: &Database<'_>) -> anyhow::Result<Arc<dyn Store>> {
    let opened: Result<Arc<dyn Store>, _> = match database {
        Database::Embedded(dir) => SqliteStore::open(dir).map(|store| Arc::new(store) as _),
        Database::Postgres(url, settings) => {
            PostgresStore::open(url, *settings).map(|store| Arc::new(store) as _)
        }
    };
    opened.with_context(|| format!("open the database ({database})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool_size(database: Database<'_>) -> u32 {
        match database {
            Database::Postgres(_, settings) => settings.max_connections,
            Database::Embedded(_) => 0,
        }
    }

    #[test]
    fn a_node_with_many_workers_gets_a_pool_to_match() {
        let postgres = Database::Postgres("postgres://db/confab", PostgresSettings::default());
        // Two writers, four workers and six others: the default pool.
        assert_eq!(pool_size(postgres.with_room_for_workers(4)), 12);
        assert_eq!(pool_size(postgres.with_room_for_workers(1)), 12);
        assert_eq!(pool_size(postgres.with_room_for_workers(32)), 40);
    }
}
