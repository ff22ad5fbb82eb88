//! When queued work runs: not before its `ScheduledTime`, `High` priority
//! before `Low` once both are due, and not at all once its
//! `RequestExpirationTime` has passed.
//!
//! The tests named for minutes run the server on its test clock and move it
//! ahead instead of waiting.

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};

use crate::support::{Client, Field, Server, WAIT, asynchronous, row, wait_until};

/// The data extension the tests write to; without a primary key, rows come
/// back in the order they were written.
const JOURNAL: &str = "Journal";

/// The order in which independent calls run (and the witness below) is
/// defined for one worker; several workers, like several nodes, run calls
/// that fall due together side by side.
const ONE_WORKER: &[&str] = &["--workers", "1"];

/// A server and a client whose account has the `Journal` data extension.
async fn setup() -> (Server, Client) {
    setup_on(Server::start_with(ONE_WORKER)).await
}

/// [`setup`] on a server whose clock the test moves.
async fn setup_with_clock() -> (Server, Client) {
    setup_on(Server::start_with_test_clock(ONE_WORKER)).await
}

/// Gives the first account of `server` the `Journal` data extension.
async fn setup_on(server: Server) -> (Server, Client) {
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

/// The server's now plus `minutes`, to the millisecond.
async fn minutes_ahead(server: &Server, minutes: i64) -> DateTime<Utc> {
    let at = server.now().await + Duration::minutes(minutes);
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap()
}

/// Moves the server's clock to `margin` before `at` (if it is not there yet).
async fn advance_to(server: &Server, at: DateTime<Utc>, margin: Duration) {
    let seconds = (at - margin - server.now().await).num_seconds().max(0);
    server.advance_clock(seconds).await;
}

/// Proof that the worker has run at the clock's current time: a call queued
/// now, in the same lane and account as the calls under test, has run. Any of
/// those calls that was due has run before it, since a lane runs an
/// account's calls in the order they fell due.
async fn witness(client: &Client, tag: &str) {
    let request_id = client
        .send_queued("Create", &asynchronous(), &journal_row(tag))
        .await;
    client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
}

/// How far before a due time the tests look for calls that ran too early.
/// Generous, because the test clock keeps running while the test works.
fn margin() -> Duration {
    Duration::seconds(60)
}

#[tokio::test]
async fn a_call_scheduled_ten_minutes_ahead_runs_once_the_clock_gets_there() {
    let (server, client) = setup_with_clock().await;
    let due = minutes_ahead(&server, 10).await;
    let scheduled = client
        .send_queued(
            "Create",
            &asynchronous().scheduled(due),
            &journal_row("later"),
        )
        .await;

    advance_to(&server, due, margin()).await;
    witness(&client, "witness").await;
    assert!(
        client
            .result_messages("RequestID", &scheduled)
            .await
            .is_empty()
    );
    assert_eq!(tags(&client).await, ["witness"]);

    server.advance_clock(2 * margin().num_seconds()).await;
    let messages = client
        .wait_for_result_messages("RequestID", &scheduled, 1)
        .await;
    assert_eq!(messages[0].field("StatusCode"), "OK");
    let ran_at: DateTime<Utc> = messages[0].field("CreatedDate").parse().unwrap();
    assert!(ran_at >= due, "ran at {ran_at}, due at {due}");
    assert_eq!(tags(&client).await, ["witness", "later"]);
}

#[tokio::test]
async fn scheduled_times_with_z_an_offset_or_none_fall_due_at_the_instant_they_name() {
    let (server, client) = setup_with_clock().await;
    let due = minutes_ahead(&server, 10).await;
    let plus_two = FixedOffset::east_opt(2 * 3600).unwrap();
    // Without an offset, a time is read as US Central Standard Time, UTC-6.
    let bare = (due - Duration::hours(6))
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.3f");
    let forms = [
        ("zulu", due.to_rfc3339_opts(SecondsFormat::Millis, true)),
        (
            "plus-two",
            due.with_timezone(&plus_two)
                .to_rfc3339_opts(SecondsFormat::Millis, false),
        ),
        ("bare", bare.to_string()),
    ];
    let mut request_ids = Vec::new();
    for (tag, at) in &forms {
        let options = asynchronous().with("ScheduledTime", at);
        request_ids.push(
            client
                .send_queued("Create", &options, &journal_row(tag))
                .await,
        );
    }

    advance_to(&server, due, margin()).await;
    witness(&client, "witness").await;
    assert_eq!(tags(&client).await, ["witness"], "none is due before {due}");

    server.advance_clock(2 * margin().num_seconds()).await;
    for request_id in &request_ids {
        client
            .wait_for_result_messages("RequestID", request_id, 1)
            .await;
    }
    let mut ran = tags(&client).await;
    ran.sort();
    assert_eq!(ran, ["bare", "plus-two", "witness", "zulu"]);
}

#[tokio::test]
async fn a_call_whose_expiry_passes_before_the_worker_reaches_it_is_reported_expired() {
    let (server, client) = setup_with_clock().await;
    let due = minutes_ahead(&server, 10).await;
    let options = asynchronous()
        .scheduled(due)
        .expires(due + Duration::minutes(1));
    let request_id = client
        .send_queued("Create", &options, &journal_row("stale"))
        .await;

    // One jump takes the clock past both the due time and the expiry.
    server.advance_clock(12 * 60).await;
    let messages = client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
    assert_eq!(messages[0].field("StatusCode"), "Error");
    assert!(messages[0].field("StatusMessage").starts_with("Expired"));
    let items = client.result_items("RequestID", &request_id).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].field("StatusCode"), "Error");
    assert!(tags(&client).await.is_empty(), "its row is never written");
}

#[tokio::test]
async fn the_legacy_priority_byte_orders_work_as_the_lane_it_names() {
    let (server, client) = setup_with_clock().await;
    let due = minutes_ahead(&server, 10).await;
    // Sent from the lowest lane up, so that arrival order alone, or a byte
    // read as the default Medium, would run them in another order. All
    // four fall due at once, when the clock jumps.
    let calls = [
        ("legacy-low", asynchronous().with("Priority", "1")),
        ("low", asynchronous().with("QueuePriority", "Low")),
        ("medium", asynchronous().with("QueuePriority", "Medium")),
        ("legacy-high", asynchronous().with("Priority", "3")),
    ];
    let mut request_ids = Vec::new();
    for (tag, options) in calls {
        let options = options.scheduled(due);
        request_ids.push(
            client
                .send_queued("Create", &options, &journal_row(tag))
                .await,
        );
    }

    server.advance_clock(11 * 60).await;
    for request_id in &request_ids {
        client
            .wait_for_result_messages("RequestID", request_id, 1)
            .await;
    }
    // A burst starts with High, then Medium; the two Low calls share a lane
    // and run in the order they arrived.
    assert_eq!(
        tags(&client).await,
        ["legacy-high", "medium", "legacy-low", "low"]
    );
}
