//! The asynchronous error codes 200–231 as a caller sees them: the number in
//! `ErrorCode` of the immediate answer (or, for the deletes of scheduled
//! items, of the Delete's result), one test per code and cause.

use chrono::{Duration, Utc};

use crate::support::{Client, Field, Options, Server, asynchronous, part, request, row, unique};

/// The data extension most tests write rows to.
const LOG: &str = "Log";

/// A server and a client whose account has the `Log` data extension.
async fn setup() -> (Server, Client) {
    let server = Server::start();
    let client = server.client().await;
    client
        .create_data_extension(LOG, &[Field::key("Id"), Field::text("V")])
        .await;
    (server, client)
}

/// One row for `Log`.
fn log_row(id: &str) -> String {
    row(LOG, &[("Id", id), ("V", "x")])
}

/// Sends a Create of one `Log` row with `options`; returns the code every
/// result carries, or panics when the call was not refused.
async fn refusal(client: &Client, options: &Options) -> i64 {
    let response = client
        .soap(
            "Create",
            &request("Create", &options.xml(), &log_row(&unique("r"))),
        )
        .await;
    response.refusal_code()
}

/// Sends a Create of one `Log` row that must be queued.
async fn queue(client: &Client, options: &Options) -> String {
    client
        .send_queued("Create", options, &log_row(&unique("r")))
        .await
}

/// Sends both parts of a two-part conversation and waits until both ran.
async fn complete_conversation(client: &Client, conversation: &str) {
    queue(client, &part(conversation, 1, 2)).await;
    queue(client, &part(conversation, 2, 2)).await;
    client
        .wait_for_result_messages("ConversationID", conversation, 2)
        .await;
}

#[tokio::test]
async fn a_part_with_another_total_gets_200() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    queue(&client, &part(&conversation, 1, 3)).await;
    assert_eq!(refusal(&client, &part(&conversation, 2, 4)).await, 200);
}

#[tokio::test]
async fn calls_in_conversation_without_sequence_code_gets_202() {
    let (_server, client) = setup().await;
    let options = asynchronous()
        .with("ConversationID", &unique("c"))
        .with("CallsInConversation", "2");
    assert_eq!(refusal(&client, &options).await, 202);
}

#[tokio::test]
async fn sequence_code_above_the_total_gets_205() {
    let (_server, client) = setup().await;
    assert_eq!(refusal(&client, &part(&unique("c"), 3, 2)).await, 205);
}

#[tokio::test]
async fn sequence_code_zero_gets_205() {
    let (_server, client) = setup().await;
    assert_eq!(refusal(&client, &part(&unique("c"), 0, 2)).await, 205);
}

#[tokio::test]
async fn a_total_of_zero_gets_206() {
    let (_server, client) = setup().await;
    assert_eq!(refusal(&client, &part(&unique("c"), 1, 0)).await, 206);
}

#[tokio::test]
async fn conversation_numbers_without_conversation_id_get_207() {
    let (_server, client) = setup().await;
    let options = asynchronous()
        .with("SequenceCode", "1")
        .with("CallsInConversation", "2");
    assert_eq!(refusal(&client, &options).await, 207);
}

#[tokio::test]
async fn sequence_code_without_calls_in_conversation_gets_208() {
    let (_server, client) = setup().await;
    let options = asynchronous()
        .with("ConversationID", &unique("c"))
        .with("SequenceCode", "1");
    assert_eq!(refusal(&client, &options).await, 208);
}

#[tokio::test]
async fn conversation_fields_on_a_synchronous_call_get_209() {
    let (_server, client) = setup().await;
    let options = Options::none().with("ConversationID", &unique("c"));
    assert_eq!(refusal(&client, &options).await, 209);
    let options = Options::none()
        .with("RequestType", "Synchronous")
        .with("ConversationID", &unique("c"));
    assert_eq!(refusal(&client, &options).await, 209);
}

#[tokio::test]
async fn reusing_a_completed_conversation_id_gets_211() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    complete_conversation(&client, &conversation).await;
    assert_eq!(refusal(&client, &part(&conversation, 1, 2)).await, 211);
}

#[tokio::test]
async fn a_conversation_with_a_lost_part_gets_201_when_it_closes() {
    let (server, client) = setup().await;
    let conversation = unique("c");
    queue(&client, &part(&conversation, 1, 3)).await;
    queue(&client, &part(&conversation, 2, 3)).await;

    let deleted = server.sql_execute(
        "DELETE FROM requests WHERE conversation_id = $1 AND sequence_code = 2",
        &[&conversation],
    );
    assert_eq!(deleted, 1);

    assert_eq!(refusal(&client, &part(&conversation, 3, 3)).await, 201);
}

#[tokio::test]
async fn a_conversation_in_an_unknown_state_gets_212() {
    let (server, client) = setup().await;
    let conversation = unique("c");
    queue(&client, &part(&conversation, 1, 2)).await;

    let updated = server.sql_execute(
        "UPDATE conversations SET state = 'Bewildered' WHERE conversation_id = $1",
        &[&conversation],
    );
    assert_eq!(updated, 1);

    assert_eq!(refusal(&client, &part(&conversation, 2, 2)).await, 212);
}

#[tokio::test]
async fn a_part_for_an_invalidated_conversation_gets_213() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    queue(&client, &part(&conversation, 1, 3)).await;
    assert_eq!(refusal(&client, &part(&conversation, 1, 3)).await, 214);
    assert_eq!(refusal(&client, &part(&conversation, 2, 3)).await, 213);
}

#[tokio::test]
async fn a_repeated_sequence_code_gets_214() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    queue(&client, &part(&conversation, 2, 3)).await;
    assert_eq!(refusal(&client, &part(&conversation, 2, 3)).await, 214);
}

#[tokio::test]
async fn a_part_for_a_closed_conversation_gets_215() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    // Scheduled an hour ahead, the closed conversation cannot start running
    // (and so become Complete) before the late part arrives.
    let later = Utc::now() + Duration::hours(1);
    queue(&client, &part(&conversation, 1, 2).scheduled(later)).await;
    queue(&client, &part(&conversation, 2, 2).scheduled(later)).await;
    assert_eq!(refusal(&client, &part(&conversation, 2, 2)).await, 215);
}

/// A Create with `count` minimal `DataExtensionObject`s.
fn many_objects(options: &Options, count: usize) -> String {
    let object =
        r#"<Objects xsi:type="DataExtensionObject"><CustomerKey>Log</CustomerKey></Objects>"#;
    request("Create", &options.xml(), &object.repeat(count))
}

#[tokio::test]
async fn a_request_with_32767_objects_gets_218() {
    let (_server, client) = setup().await;
    let response = client
        .soap("Create", &many_objects(&asynchronous(), 32_767))
        .await;
    assert_eq!(response.results().len(), 32_767);
    assert_eq!(response.refusal_code(), 218);
}

#[tokio::test]
async fn a_request_with_32766_objects_is_queued() {
    let (_server, client) = setup().await;
    // Scheduled ahead so that the test does not wait for 32,766 failures.
    let options = asynchronous().scheduled(Utc::now() + Duration::days(1));
    let response = client.soap("Create", &many_objects(&options, 32_766)).await;
    assert_eq!(response.overall_status(), "OK", "{}", &response.text[..500]);
    assert_eq!(response.results().len(), 32_766);
}

#[tokio::test]
async fn a_scheduled_time_more_than_30_days_ahead_gets_226() {
    let (_server, client) = setup().await;
    let options = asynchronous().scheduled(Utc::now() + Duration::days(31));
    assert_eq!(refusal(&client, &options).await, 226);
}

#[tokio::test]
async fn an_http_callback_address_gets_227() {
    let (_server, client) = setup().await;
    let options = asynchronous().raw(
        "<SendResponseTo><ResponseType>HTTPPost</ResponseType>\
         <ResponseAddress>http://127.0.0.1:9/hook</ResponseAddress>\
         <RespondWhen>OnCallComplete</RespondWhen></SendResponseTo>",
    );
    assert_eq!(refusal(&client, &options).await, 227);
}

#[tokio::test]
async fn an_http_callback_to_an_allowed_host_is_accepted() {
    let server = Server::start_with(&["--allow-http-callback-host", "127.0.0.1"]);
    let client = server.client().await;
    client
        .create_data_extension(LOG, &[Field::key("Id"), Field::text("V")])
        .await;
    let options = asynchronous().raw(
        "<SendResponseTo><ResponseType>HTTPPost</ResponseType>\
         <ResponseAddress>http://127.0.0.1:9/hook</ResponseAddress>\
         <RespondWhen>OnCallComplete</RespondWhen></SendResponseTo>",
    );
    queue(&client, &options).await;
}

#[tokio::test]
async fn an_expiration_time_in_the_past_gets_228() {
    let (_server, client) = setup().await;
    let options = asynchronous().expires(Utc::now() - Duration::minutes(1));
    assert_eq!(refusal(&client, &options).await, 228);
}

#[tokio::test]
async fn an_expiration_time_before_the_scheduled_time_gets_229() {
    let (_server, client) = setup().await;
    let now = Utc::now();
    let options = asynchronous()
        .scheduled(now + Duration::hours(2))
        .expires(now + Duration::hours(1));
    assert_eq!(refusal(&client, &options).await, 229);
}

#[tokio::test]
async fn an_expiration_time_on_a_multi_part_conversation_gets_231() {
    let (_server, client) = setup().await;
    let options = part(&unique("c"), 1, 2).expires(Utc::now() + Duration::hours(1));
    assert_eq!(refusal(&client, &options).await, 231);
}

/// A synchronous Delete of one scheduled item; returns its one result's
/// status code, message and error code.
async fn delete_scheduled(client: &Client, object: &str) -> (String, String, Option<i64>) {
    let response = client.soap("Delete", &request("Delete", "", object)).await;
    let results = response.results();
    assert_eq!(results.len(), 1, "{}", response.text);
    let result = &results[0];
    (
        result.field("StatusCode").to_owned(),
        result.get("StatusMessage").unwrap_or_default().to_owned(),
        result.number("ErrorCode"),
    )
}

/// A `ScheduledConversation` to delete.
fn scheduled_conversation(conversation: &str) -> String {
    format!(
        concat!(
            r#"<Objects xsi:type="ScheduledConversation">"#,
            "<ConversationID>{conversation}</ConversationID></Objects>",
        ),
        conversation = conversation,
    )
}

/// A `ScheduledRequest` to delete.
fn scheduled_request(request_id: &str) -> String {
    format!(r#"<Objects xsi:type="ScheduledRequest"><RequestID>{request_id}</RequestID></Objects>"#)
}

#[tokio::test]
async fn deleting_an_unknown_scheduled_conversation_gets_220() {
    let (_server, client) = setup().await;
    let (status, _, code) = delete_scheduled(&client, &scheduled_conversation(&unique("c"))).await;
    assert_eq!((status.as_str(), code), ("Error", Some(220)));
}

#[tokio::test]
async fn deleting_an_unknown_scheduled_request_gets_220() {
    let (_server, client) = setup().await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let (status, _, code) = delete_scheduled(&client, &scheduled_request(&request_id)).await;
    assert_eq!((status.as_str(), code), ("Error", Some(220)));
}

#[tokio::test]
async fn deleting_a_completed_conversation_gets_222() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    complete_conversation(&client, &conversation).await;
    let (status, _, code) = delete_scheduled(&client, &scheduled_conversation(&conversation)).await;
    assert_eq!((status.as_str(), code), ("Error", Some(222)));
}

#[tokio::test]
async fn deleting_a_request_that_already_ran_gets_222() {
    let (_server, client) = setup().await;
    let request_id = queue(&client, &asynchronous()).await;
    client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
    let (status, _, code) = delete_scheduled(&client, &scheduled_request(&request_id)).await;
    assert_eq!((status.as_str(), code), ("Error", Some(222)));
}

#[tokio::test]
async fn deleting_an_open_conversation_refuses_its_later_parts_with_213() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    let first = queue(&client, &part(&conversation, 1, 2)).await;

    let deleted = delete_scheduled(&client, &scheduled_conversation(&conversation)).await;
    assert_eq!(deleted, ("OK".to_owned(), "Deleted".to_owned(), None));

    assert_eq!(refusal(&client, &part(&conversation, 2, 2)).await, 213);
    // The deleted part never runs: its row is not written.
    let rows = client.rows(LOG, &["Id"]).await;
    assert!(rows.is_empty(), "{rows:?}; first part {first}");
}

#[tokio::test]
async fn a_deleted_scheduled_request_never_runs() {
    let (_server, client) = setup().await;
    let id = unique("r");
    let soon = Utc::now() + Duration::seconds(2);
    let options = asynchronous().scheduled(soon);
    let request_id = client.send_queued("Create", &options, &log_row(&id)).await;

    let deleted = delete_scheduled(&client, &scheduled_request(&request_id)).await;
    assert!(
        Utc::now() < soon,
        "the test needs the delete before the due time"
    );
    assert_eq!(deleted, ("OK".to_owned(), "Deleted".to_owned(), None));

    // Proof that the worker has passed the scheduled time: a call queued
    // behind it, due at the same time, has run.
    let witness = client
        .send_queued(
            "Create",
            &asynchronous().scheduled(soon),
            &log_row("witness"),
        )
        .await;
    client
        .wait_for_result_messages("RequestID", &witness, 1)
        .await;
    let rows = client.rows(LOG, &["Id"]).await;
    let ids: Vec<&str> = rows.iter().map(|row| row["Id"].as_str()).collect();
    assert_eq!(ids, ["witness"]);

    // The cancelled request reports that it was cancelled, so a client
    // polling for its results is not left waiting.
    let messages = client.result_messages("RequestID", &request_id).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].field("StatusCode"), "Error");
    assert!(messages[0].field("StatusMessage").starts_with("Cancelled"));
}
