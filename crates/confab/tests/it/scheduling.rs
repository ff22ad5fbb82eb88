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
    let due = from_now(1_500);
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
    let before_due = tags(&client).await;
    // What was seen before the due time must not include the scheduled
    // call. (On a machine so slow that the due time has already passed,
    // the checks below still hold.)
    if Utc::now() < due {
        assert_eq!(before_due, ["now"]);
    }

    let messages = client
        .wait_for_result_messages("RequestID", &scheduled, 1)
        .await;
    let ran_at: DateTime<Utc> = messages[0].field("CreatedDate").parse().unwrap();
    assert!(ran_at >= due, "ran at {ran_at}, due at {due}");
    let mut all = tags(&client).await;
    all.sort();
    assert_eq!(all, ["later", "now"]);
}

#[tokio::test]
async fn high_priority_runs_before_low_once_both_are_due() {
    let (_server, client) = setup().await;
    let due = from_now(1_500);
    let low = asynchronous().with("QueuePriority", "Low").scheduled(due);
    let high = asynchronous().with("QueuePriority", "High").scheduled(due);
    let low_id = client
        .send_queued("Create", &low, &journal_row("low"))
        .await;
    client
        .send_queued("Create", &high, &journal_row("high"))
        .await;

    assert!(
        Utc::now() < due,
        "the test needs both calls queued before they fall due"
    );

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
    assert!(
        Utc::now() < due,
        "the test needs the server down before the call falls due"
    );
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
    assert!(messages[0].field("StatusMessage").starts_with("Expired"));
    let items = client.result_items("RequestID", &request_id).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].field("StatusCode"), "Error");
    assert!(tags(&client).await.is_empty());
}
