//! `confab deliveries …` and `confab accounts webhook-secret`: what an
//! operator needs to look after callbacks, printed as JSON for scripts.

use anyhow::Context;
use chrono::Utc;
use confab_core::AccountId;
use confab_core::options::ResponseType;
use confab_store::outbox::{Delivery, DeliveryQuery};
use serde_json::{Value, json};

use crate::cli::DeliveryCommand;
use crate::{Database, open_store};

/// Runs a `deliveries` subcommand and prints its answer.
pub(crate) fn run(database: &Database<'_>, command: DeliveryCommand) -> anyhow::Result<()> {
    let store = open_store(database)?;
    let answer = match command {
        DeliveryCommand::List {
            dead,
            account,
            limit,
        } => {
            let query = DeliveryQuery {
                dead_only: dead,
                account: account.map(AccountId),
                limit,
            };
            let deliveries = store.deliveries(query).context("list the deliveries")?;
            Value::Array(deliveries.iter().map(describe).collect())
        }
        DeliveryCommand::Replay { id } => {
            let delivery = store
                .replay_delivery(&id, Utc::now())
                .with_context(|| format!("replay delivery {id}"))?
                .with_context(|| format!("there is no delivery {id}"))?;
            describe(&delivery)
        }
    };
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}

/// Prints an account's webhook secret, made on first use or replaced when
/// `rotate` is set.
pub(crate) fn webhook_secret(
    database: &Database<'_>,
    account: i64,
    rotate: bool,
) -> anyhow::Result<()> {
    let store = open_store(database)?;
    let account_id = AccountId(account);
    let exists = store
        .account_exists(account_id)
        .context("look the account up")?;
    anyhow::ensure!(exists, "there is no account {account}");
    if rotate {
        store
            .rotate_webhook_secret(account_id, confab_deliver::new_secret())
            .context("replace the webhook secret")?;
    }
    let secret = store
        .webhook_secret(account_id, confab_deliver::new_secret())
        .context("read the webhook secret")?;
    let answer = json!({ "account_id": account, "webhook_secret": secret });
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}

/// A delivery as the commands print it.
fn describe(delivery: &Delivery) -> Value {
    let channel = match delivery.channel {
        ResponseType::HttpPost => "HTTPPost",
        ResponseType::Email => "email",
        ResponseType::Ftp => "FTP",
        ResponseType::None => "None",
    };
    json!({
        "id": delivery.delivery_id,
        "account_id": delivery.account.0,
        "request_id": delivery.request_id.to_string(),
        "conversation_id": delivery.conversation_id,
        "sequence_code": delivery.notice.sequence_code,
        "event": format!("{:?}", delivery.notice.respond_when),
        "channel": channel,
        "address": delivery.address,
        "state": delivery.state.as_str(),
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at.to_rfc3339(),
        "last_error": delivery.last_error,
        "created_at": delivery.created_at.to_rfc3339(),
        "finished_at": delivery.finished_at.map(|at| at.to_rfc3339()),
    })
}
