//! The `confab` command: runs the server and manages accounts, API clients
//! and users.
//!
//! ```text
//! confab serve                          # SQLite under ./confab-data, 127.0.0.1:8080
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

use anyhow::Context;
use clap::Parser;
use confab_core::AccountId;
use confab_store::Store;
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
    match cli.command {
        Command::Serve(args) => serve::run(&cli.data_dir, args),
        Command::Clients {
            command: ClientCommand::Create { account },
        } => {
            let store = open_store(&cli.data_dir)?;
            let client = match account {
                Some(account) => store.create_client(AccountId(account)),
                // On a fresh data directory the first client is made with
                // the first account; show that one rather than a second.
                None => match store.bootstrap().context("create the first account")? {
                    Some(first) => Ok(first),
                    None => store.create_client(AccountId(confab_store::sqlite::FIRST_ACCOUNT_ID)),
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
            let store = open_store(&cli.data_dir)?;
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
            let store = open_store(&cli.data_dir)?;
            let account = store.create_account(&name).context("create the account")?;
            let created = serde_json::json!({ "account_id": account.0, "name": name });
            println!("{}", serde_json::to_string_pretty(&created)?);
            Ok(())
        }
        Command::Accounts {
            command: AccountCommand::WebhookSecret { account, rotate },
        } => deliveries::webhook_secret(&cli.data_dir, account, rotate),
        Command::Deliveries { command } => deliveries::run(&cli.data_dir, command),
    }
}

/// Opens the store in the data directory.
pub(crate) fn open_store(data_dir: &Path) -> anyhow::Result<Arc<SqliteStore>> {
    let store = SqliteStore::open(data_dir)
        .with_context(|| format!("open the database in {}", data_dir.display()))?;
    Ok(Arc::new(store))
}
