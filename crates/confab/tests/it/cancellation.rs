//! Cancelling scheduled work with an asynchronous Delete of
//! `ScheduledRequest` or `ScheduledConversation`: the Delete is queued like
//! any call, and when it runs it cancels (or reports 220 or 222 in its own
//! results). The server runs on its test clock, so the cancelled work's due
//! time can be passed without waiting.

use crate::support::{Client, Field, Item, Server, asynchronous, part, row, unique};

/// The data extension the scheduled calls write to.
const LOG: &str = "Log";

/// A server on its test clock and a client whose account has `Log`.
async fn setup() -> (Server, Client) {
    let server = Server::start_with_test_clock(&[]);
    let client = server.client().await;
    client.create_data_extension(LOG, &[Field::key("Id")]).await;
    (server, client)
}

/// One `Log` row.
fn log_row(id: &str) -> String {
    row(LOG, &[("Id", id)])
}

/// A `ScheduledRequest` to delete.
fn scheduled_request(request_id: &str) -> String {
    format!(r#"<Objects xsi:type="ScheduledRequest"><RequestID>{request_id}</RequestID></Objects>"#)
}

/// A `ScheduledConversation` to delete.
fn scheduled_conversation(conversation: &str) -> String {
    let id = format!("<ConversationID>{conversation}</ConversationID>");
    format!(r#"<Objects xsi:type="ScheduledConversation">{id}</Objects>"#)
}

/// Sends an asynchronous Delete of `object` and returns, once it has run,
/// the `ResultItem` of its one object.
async fn delete_later(client: &Client, object: &str) -> Item {
    let delete_id = client.send_queued("Delete", &asynchronous(), object).await;
    let mut items = client
        .wait_for_result_items("RequestID", &delete_id, 1)
        .await;
    assert_eq!(items.len(), 1);
    items.remove(0)
}

/// Moves the clock past `minutes` and proves that the worker ran after it.
async fn pass_minutes(server: &Server, client: &Client, minutes: i64) {
    server.advance_clock(minutes * 60).await;
    let witness = client
        .send_queued("Create", &asynchronous(), &log_row("witness"))
        .await;
    client
        .wait_for_result_messages("RequestID", &witness, 1)
        .await;
}

#[tokio::test]
async fn an_asynchronous_delete_cancels_a_scheduled_request() {
    let (server, client) = setup().await;
    let due = server.now().await + chrono::Duration::minutes(10);
    let scheduled = client
        .send_queued("Create", &asynchronous().scheduled(due), &log_row("never"))
        .await;

    let deleted = delete_later(&client, &scheduled_request(&scheduled)).await;
    assert_eq!(deleted.field("StatusCode"), "OK");
    assert_eq!(deleted.field("StatusMessage"), "Deleted");

    let messages = client.result_messages("RequestID", &scheduled).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].field("StatusCode"), "Error");
    assert!(messages[0].field("StatusMessage").starts_with("Cancelled"));

    pass_minutes(&server, &client, 11).await;
    let rows = client.rows(LOG, &["Id"]).await;
    let ids: Vec<&str> = rows.iter().map(|row| row["Id"].as_str()).collect();
    assert_eq!(ids, ["witness"], "the cancelled call never ran");
}

#[tokio::test]
async fn an_asynchronous_delete_cancels_a_scheduled_conversation() {
    let (server, client) = setup().await;
    let conversation = unique("c");
    let due = server.now().await + chrono::Duration::minutes(10);
    let options = part(&conversation, 1, 1).scheduled(due);
    let first = client
        .send_queued("Create", &options, &log_row("never"))
        .await;

    let deleted = delete_later(&client, &scheduled_conversation(&conversation)).await;
    assert_eq!(deleted.field("StatusMessage"), "Deleted");
    let messages = client.result_messages("RequestID", &first).await;
    assert!(messages[0].field("StatusMessage").starts_with("Cancelled"));

    pass_minutes(&server, &client, 11).await;
    let rows = client.rows(LOG, &["Id"]).await;
    assert_eq!(rows.len(), 1, "only the witness ran: {rows:?}");
}

#[tokio::test]
async fn an_asynchronous_delete_reports_220_and_222_in_its_results() {
    let (_server, client) = setup().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let missing = delete_later(&client, &scheduled_request(&unknown)).await;
    assert_eq!(missing.field("StatusCode"), "Error");
    assert_eq!(missing.number("ErrorCode"), Some(220));

    let ran = client
        .send_queued("Create", &asynchronous(), &log_row("ran"))
        .await;
    client.wait_for_result_messages("RequestID", &ran, 1).await;
    let too_late = delete_later(&client, &scheduled_request(&ran)).await;
    assert_eq!(too_late.number("ErrorCode"), Some(222));

    let unknown_conversation = delete_later(&client, &scheduled_conversation(&unique("c"))).await;
    assert_eq!(unknown_conversation.number("ErrorCode"), Some(220));
}

#[tokio::test]
async fn an_asynchronous_delete_of_a_conversation_that_already_ran_reports_222() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    for sequence in 1..=2 {
        let options = part(&conversation, sequence, 2);
        let id = format!("ran-{sequence}");
        client.send_queued("Create", &options, &log_row(&id)).await;
    }
    client
        .wait_for_result_messages("ConversationID", &conversation, 2)
        .await;

    let too_late = delete_later(&client, &scheduled_conversation(&conversation)).await;
    assert_eq!(too_late.field("StatusCode"), "Error");
    assert_eq!(too_late.number("ErrorCode"), Some(222));
    let messages = client
        .result_messages("ConversationID", &conversation)
        .await;
    assert_eq!(messages.len(), 2);
    assert!(
        messages
            .iter()
            .all(|message| message.field("StatusCode") == "OK"),
        "{messages:?}"
    );
}
