//! Conversations that stop receiving parts: after five minutes without a
//! part (or the configured gap) they time out, never run, report 203 for
//! the parts they received, and refuse later parts with 203. The server runs
//! on its test clock; moving it runs a housekeeping pass before it answers.

use crate::support::{Client, Field, Options, Server, part, request, row, unique};

/// The data extension the conversations write to.
const LOG: &str = "Log";

/// The default gap, in seconds.
const FIVE_MINUTES: i64 = 5 * 60;

/// A server on its test clock (with extra `serve` arguments) and a client
/// whose account has the `Log` data extension.
async fn setup(extra_args: &[&str]) -> (Server, Client) {
    let server = Server::start_with_test_clock(extra_args);
    let client = server.client().await;
    client.create_data_extension(LOG, &[Field::key("Id")]).await;
    (server, client)
}

/// A Create of one `Log` row, as part of a conversation.
fn create(options: &Options) -> String {
    request("Create", &options.xml(), &row(LOG, &[("Id", &unique("r"))]))
}

/// Sends a part that must be queued; returns its `RequestID`.
async fn send(client: &Client, options: &Options) -> String {
    client
        .send_queued("Create", options, &row(LOG, &[("Id", &unique("r"))]))
        .await
}

#[tokio::test]
async fn a_conversation_missing_a_part_times_out_after_five_quiet_minutes() {
    let (server, client) = setup(&[]).await;
    let conversation = unique("c");
    send(&client, &part(&conversation, 1, 3)).await;
    send(&client, &part(&conversation, 2, 3)).await;

    server.advance_clock(FIVE_MINUTES + 1).await;
    let late = client
        .soap("Create", &create(&part(&conversation, 3, 3)))
        .await;
    assert_eq!(late.refusal_code(), 203);

    let messages = client
        .result_messages("ConversationID", &conversation)
        .await;
    assert_eq!(messages.len(), 2);
    for message in &messages {
        assert_eq!(message.field("StatusCode"), "Error");
        assert_eq!(message.number("ErrorCode"), Some(203));
        assert!(message.field("StatusMessage").contains("Timeout"));
    }
    assert!(client.rows(LOG, &["Id"]).await.is_empty(), "it never ran");
}

#[tokio::test]
async fn a_conversation_whose_parts_keep_arriving_does_not_time_out() {
    let (server, client) = setup(&[]).await;
    let conversation = unique("c");
    // Eight minutes in all, but never five without a part: the gap counts
    // from the last part received.
    send(&client, &part(&conversation, 1, 3)).await;
    server.advance_clock(4 * 60).await;
    send(&client, &part(&conversation, 2, 3)).await;
    server.advance_clock(4 * 60).await;
    send(&client, &part(&conversation, 3, 3)).await;

    let messages = client
        .wait_for_result_messages("ConversationID", &conversation, 3)
        .await;
    assert!(
        messages
            .iter()
            .all(|message| message.field("StatusCode") == "OK")
    );
    assert_eq!(client.rows(LOG, &["Id"]).await.len(), 3);
}

#[tokio::test]
async fn the_gap_is_a_setting() {
    let (server, client) = setup(&["--conversation-timeout-secs", "60"]).await;
    let conversation = unique("c");
    send(&client, &part(&conversation, 1, 2)).await;

    server.advance_clock(61).await;
    let late = client
        .soap("Create", &create(&part(&conversation, 2, 2)))
        .await;
    assert_eq!(late.refusal_code(), 203);
}
