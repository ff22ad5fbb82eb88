//! Queued requests that touch the same row while several workers run
//! (PostgreSQL runs four per node by default): each must act on the row as
//! the requests committed before it left it, as one worker running them one
//! after another would.

use crate::support::{Client, Field, Server, asynchronous, keyed_row, request, row};

/// The data extension the requests share.
const SHARED: &str = "Shared";

/// Its columns besides the key, one per request of
/// [`updates_of_one_row_by_several_workers_are_all_kept`].
const COLUMNS: [&str; 16] = [
    "C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09", "C10", "C11", "C12", "C13",
    "C14", "C15", "C16",
];

/// A server whose workers look for due work every few milliseconds, so
/// that requests falling due together are claimed by several of them at
/// once; and a client with the shared data extension.
async fn setup() -> (Server, Client) {
    let server = Server::start_with(&["--poll-interval-ms", "5"]);
    let client = server.client().await;
    let mut fields = vec![Field::key("Id")];
    fields.extend(COLUMNS.map(Field::text));
    client.create_data_extension(SHARED, &fields).await;
    (server, client)
}

/// The `Options` that make a call an upsert (insert what is missing,
/// update what is there).
const UPSERT: &str = "<SaveOptions><SaveOption><PropertyName>*</PropertyName>\
                      <SaveAction>UpdateAdd</SaveAction></SaveOption></SaveOptions>";

/// The columns of the shared data extension's one row that are not `set`
/// (all of them when there is not exactly one row).
async fn columns_not_set(client: &Client) -> Vec<String> {
    let rows = client.rows(SHARED, &COLUMNS).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    COLUMNS
        .iter()
        .filter(|column| rows[0].get(**column).map(String::as_str) != Some("set"))
        .map(|column| (*column).to_owned())
        .collect()
}

/// Queues one request per object, all due a moment from now, waits until
/// every one of them has settled, and returns the `StatusMessage`s of those
/// that did not succeed.
async fn run_together(
    client: &Client,
    operation: &str,
    options: &str,
    objects: &[String],
) -> Vec<String> {
    let due = chrono::Utc::now() + chrono::Duration::seconds(2);
    let options = asynchronous().scheduled(due).raw(options);
    let mut request_ids = Vec::new();
    for object in objects {
        request_ids.push(client.send_queued(operation, &options, object).await);
    }
    let mut failed = Vec::new();
    for request_id in &request_ids {
        for message in client
            .wait_for_result_messages("RequestID", request_id, 1)
            .await
        {
            if message.field("StatusCode") != "OK" {
                failed.push(message.field("StatusMessage").to_owned());
            }
        }
    }
    failed
}

#[tokio::test]
async fn updates_of_one_row_by_several_workers_are_all_kept() {
    let (_server, client) = setup().await;
    let created = client
        .soap(
            "Create",
            &request("Create", "", &row(SHARED, &[("Id", "r")])),
        )
        .await;
    assert_eq!(created.status_codes(), ["OK"], "{}", created.text);
    let updates: Vec<String> = COLUMNS
        .iter()
        .map(|column| keyed_row(SHARED, &[("Id", "r")], &[(column, "set")]))
        .collect();
    let failed = run_together(&client, "Update", "", &updates).await;
    assert!(failed.is_empty(), "updates failed: {failed:?}");

    let lost = columns_not_set(&client).await;
    assert!(lost.is_empty(), "updates lost: {lost:?}");
}

#[tokio::test]
async fn upserts_of_one_new_row_by_several_workers_all_succeed() {
    let (_server, client) = setup().await;
    let upserts: Vec<String> = COLUMNS
        .iter()
        .map(|column| row(SHARED, &[("Id", "new"), (column, "set")]))
        .collect();
    let failed = run_together(&client, "Create", UPSERT, &upserts).await;
    assert!(failed.is_empty(), "upserts failed: {failed:?}");
    let lost = columns_not_set(&client).await;
    assert!(lost.is_empty(), "upserts lost: {lost:?}");
}

#[tokio::test]
async fn upserting_updates_of_one_new_subscriber_by_several_workers_all_succeed() {
    let (_server, client) = setup().await;
    // Update with UpdateAdd: each worker that finds no subscriber inserts
    // one, and all but the first must then update it instead.
    let subscriber = "<Objects xsi:type=\"Subscriber\">\
                      <EmailAddress>new@example.test</EmailAddress>\
                      <SubscriberKey>new</SubscriberKey></Objects>"
        .to_owned();
    let upserts = vec![subscriber; COLUMNS.len()];
    let failed = run_together(&client, "Update", UPSERT, &upserts).await;
    assert!(failed.is_empty(), "upserts failed: {failed:?}");
}
