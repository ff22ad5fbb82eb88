//! When queued work runs: not before its `ScheduledTime`, `High` priority
//! before `Low` once both are due, and not at all once its
//! `RequestExpirationTime` has passed.

use chrono::{DateTime, Duration, Utc};

use crate::support::{Client, Field, Server, WAIT, asynchronous, row, wait_until};

/// The data extension the tests write to; without a primary key, rows come
/// back in the order they were written.
const JOURNAL: &str = "Journal";

/// A server and a client whose account has the `Journal` data extension.
async fn setup() -> (Server, Client) {
    let server = Server::start();
    let client = server.client().await;
    client
        .create_data_extension(JOURNAL, &[Field::text("Tag")])
        .await;
    (server, client)
}

fn journal_row(tag: &str) -> String {
    row(JOURNAL, &[("Tag", tag)])
}

/// The tags of every `Journal` row, in the order they were written.
async fn tags(client: &Client) -> Vec<String> {
    client
        .rows(JOURNAL, &["Tag"])
        .await
        .into_iter()
        .map(|row| row["Tag"].clone())
        .collect()
}

/// An instant `millis` from now, to the millisecond (the precision the
/// requests carry).
fn from_now(millis: i64) -> DateTime<Utc> {
    let at = Utc::now() + Duration::milliseconds(millis);
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap()
}

#[tokio::test]
async fn a_scheduled_call_waits_for_its_time() {
    let (_server, client) = setup().await;
    let due = from_now(1_000);
    let scheduled = client
        .send_queued(
            "Create",
            &asynchronous().scheduled(due),
            &journal_row("later"),
        )
        .await;
    let witness = client
        .send_queued("Create", &asynchronous(), &journal_row("now"))
        .await;
    client
        .wait_for_result_messages("RequestID", &witness, 1)
        .await;
    assert_eq!(tags(&client).await, ["now"]);

    let messages = client
        .wait_for_result_messages("RequestID", &scheduled, 1)
        .await;
    assert!(Utc::now() >= due);
    let ran_at: DateTime<Utc> = messages[0].field("CreatedDate").parse().unwrap();
    assert!(ran_at >= due, "ran at {ran_at}, due at {due}");
    assert_eq!(tags(&client).await, ["now", "later"]);
}

#[tokio::test]
async fn high_priority_runs_before_low_once_both_are_due() {
    let (_server, client) = setup().await;
    let due = from_now(700);
    let low = asynchronous().with("QueuePriority", "Low").scheduled(due);
    let high = asynchronous().with("QueuePriority", "High").scheduled(due);
    let low_id = client
        .send_queued("Create", &low, &journal_row("low"))
        .await;
    client
        .send_queued("Create", &high, &journal_row("high"))
        .await;

    client
        .wait_for_result_messages("RequestID", &low_id, 1)
        .await;
    assert_eq!(tags(&client).await, ["high", "low"]);
}

#[tokio::test]
async fn a_call_still_queued_after_its_expiration_time_is_dropped_unrun() {
    let (mut server, client) = setup().await;
    let due = from_now(1_000);
    let expires = due + Duration::milliseconds(200);
    let options = asynchronous().scheduled(due).expires(expires);
    let request_id = client
        .send_queued("Create", &options, &journal_row("stale"))
        .await;

    // The server is down while the call falls due and expires.
    server.kill();
    wait_until(WAIT, "the expiration time", async || {
        (Utc::now() > expires).then_some(())
    })
    .await;
    server.restart();
    let client = client.rebased(&server);

    let messages = client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
    assert_eq!(messages[0].field("StatusCode"), "Error");
    let items = client.result_items("RequestID", &request_id).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].field("StatusCode"), "Error");
    assert!(tags(&client).await.is_empty());
}
