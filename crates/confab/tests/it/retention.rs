//! Retention: results and finished requests older than the window (30 days
//! by default) are purged by housekeeping; fresh ones stay, and a used
//! `ConversationID` stays reserved (211). The server runs on its test
//! clock; access tokens expire by that clock, so the tests fetch a new
//! client after every jump of days.

use crate::support::{Client, Field, Server, asynchronous, part, request, row, unique};

/// The data extension the calls write to.
const LOG: &str = "Log";

/// Seconds in a day.
const DAY_SECS: i64 = 24 * 3600;

/// One `Log` row.
fn log_row() -> String {
    row(LOG, &[("Id", &unique("r"))])
}

/// Queues one call with `options` and waits until it ran.
async fn run(client: &Client, options: &crate::support::Options) -> String {
    let request_id = client.send_queued("Create", options, &log_row()).await;
    client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
    request_id
}

/// How many `requests` rows the server still holds for `request_id`.
fn stored_requests(server: &Server, request_id: &str) -> i64 {
    server.sql_integers(
        "SELECT COUNT(*) FROM requests WHERE request_id = $1",
        &[request_id],
    )[0]
}

#[tokio::test]
async fn results_older_than_thirty_days_are_purged_and_ids_stay_reserved() {
    let server = Server::start_with_test_clock(&[]);
    let client = server.client().await;
    client.create_data_extension(LOG, &[Field::key("Id")]).await;
    let conversation = unique("c");
    let old = run(&client, &part(&conversation, 1, 1)).await;

    server.advance_clock(29 * DAY_SECS).await;
    let client = server.client().await;
    let fresh = run(&client, &asynchronous()).await;

    server.advance_clock(DAY_SECS + 60).await;
    let client = server.client().await;
    assert!(client.result_messages("RequestID", &old).await.is_empty());
    assert!(client.result_items("RequestID", &old).await.is_empty());
    assert_eq!(stored_requests(&server, &old), 0, "its stored call is gone");
    assert_eq!(client.result_messages("RequestID", &fresh).await.len(), 1);
    assert_eq!(client.result_items("RequestID", &fresh).await.len(), 1);

    let body = request("Create", &part(&conversation, 1, 1).xml(), &log_row());
    let reused = client.soap("Create", &body).await;
    assert_eq!(reused.refusal_code(), 211);
}

#[tokio::test]
async fn work_not_yet_run_is_kept_however_old() {
    let server = Server::start_with_test_clock(&["--retention-days", "1"]);
    let client = server.client().await;
    client.create_data_extension(LOG, &[Field::key("Id")]).await;
    let ran = run(&client, &asynchronous()).await;
    let due = server.now().await + chrono::Duration::days(20);
    let waiting = client
        .send_queued("Create", &asynchronous().scheduled(due), &log_row())
        .await;

    server.advance_clock(2 * DAY_SECS).await;
    assert_eq!(stored_requests(&server, &ran), 0, "one day's retention");
    assert_eq!(stored_requests(&server, &waiting), 1);

    server.advance_clock(19 * DAY_SECS).await;
    let client = server.client().await;
    client
        .wait_for_result_messages("RequestID", &waiting, 1)
        .await;
}
