//! The conversation state machine end to end: parts wait for each other,
//! run strictly in `SequenceCode` order, stop at the first failure, and are
//! settled without running when the conversation is invalidated on receipt;
//! calls outside conversations run on their own, and synchronous calls run
//! at once without leaving results behind.

use crate::support::{
    Client, Field, Item, Options, Server, asynchronous, keyed_row, part, request, row, unique,
};

/// The data extension the conversations write to: `Id` is the primary key.
const ORDERS: &str = "Orders";

/// A server and a client whose account has the `Orders` data extension.
async fn setup() -> (Server, Client) {
    let server = Server::start();
    let client = server.client().await;
    client
        .create_data_extension(ORDERS, &[Field::key("Id"), Field::text("Status")])
        .await;
    (server, client)
}

/// A new `Orders` row.
fn new_order(id: &str, status: &str) -> String {
    row(ORDERS, &[("Id", id), ("Status", status)])
}

/// A change to an existing `Orders` row.
fn order_update(id: &str, status: &str) -> String {
    keyed_row(ORDERS, &[("Id", id)], &[("Status", status)])
}

/// Every `Orders` row as `(Id, Status)`.
async fn orders(client: &Client) -> Vec<(String, String)> {
    client
        .rows(ORDERS, &["Id", "Status"])
        .await
        .into_iter()
        .map(|row| (row["Id"].clone(), row["Status"].clone()))
        .collect()
}

/// `StatusCode` and `ErrorCode` of a result.
type Outcome = (String, Option<i64>);

/// `(StatusCode, ErrorCode)` of a result.
fn outcome(item: &Item) -> Outcome {
    (
        item.field("StatusCode").to_owned(),
        item.number("ErrorCode"),
    )
}

/// The outcome of each part, by `SequenceCode`, in sequence order.
fn by_sequence(messages: &[Item]) -> Vec<(Option<i64>, Outcome)> {
    let mut settled: Vec<(Option<i64>, Outcome)> = messages
        .iter()
        .map(|message| (message.number("SequenceCode"), outcome(message)))
        .collect();
    settled.sort();
    settled
}

/// Queues an asynchronous call whose only job is to show that the worker
/// has got past everything queued before it, and waits until it ran.
async fn run_witness(client: &Client) {
    let witness = client
        .send_queued(
            "Create",
            &asynchronous(),
            &new_order(&unique("w"), "witness"),
        )
        .await;
    client
        .wait_for_result_messages("RequestID", &witness, 1)
        .await;
}

#[tokio::test]
async fn parts_run_in_sequence_order_whatever_order_they_arrive_in() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    let third = order_update("o1", "shipped");
    let first = new_order("o1", "placed");
    let second = order_update("o1", "paid");
    client
        .send_queued("Update", &part(&conversation, 3, 3), &third)
        .await;
    client
        .send_queued("Create", &part(&conversation, 1, 3), &first)
        .await;
    client
        .send_queued("Update", &part(&conversation, 2, 3), &second)
        .await;

    let messages = client
        .wait_for_result_messages("ConversationID", &conversation, 3)
        .await;
    // ResultMessages come back in the order they were written, which is the
    // order the parts ran in.
    let ran: Vec<(Option<i64>, String)> = messages
        .iter()
        .map(|message| {
            let status = message.field("StatusCode").to_owned();
            (message.number("SequenceCode"), status)
        })
        .collect();
    let ok = || "OK".to_owned();
    assert_eq!(ran, [(Some(1), ok()), (Some(2), ok()), (Some(3), ok())]);
    assert!(
        messages
            .iter()
            .all(|m| m.number("CallsInConversation") == Some(3))
    );
    assert_eq!(orders(&client).await, [("o1".into(), "shipped".into())]);
}

#[tokio::test]
async fn nothing_runs_before_every_part_arrived() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    let first = client
        .send_queued(
            "Create",
            &part(&conversation, 1, 3),
            &new_order("o1", "placed"),
        )
        .await;
    let second = client
        .send_queued(
            "Update",
            &part(&conversation, 2, 3),
            &order_update("o1", "paid"),
        )
        .await;

    run_witness(&client).await;

    let statuses: Vec<String> = orders(&client).await.into_iter().map(|row| row.1).collect();
    assert_eq!(statuses, ["witness"]);
    assert!(client.result_items("RequestID", &first).await.is_empty());
    assert!(client.result_items("RequestID", &second).await.is_empty());
    assert!(
        client
            .result_messages("ConversationID", &conversation)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_last_part_to_arrive_starts_the_conversation() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    client
        .send_queued(
            "Update",
            &part(&conversation, 2, 2),
            &order_update("o1", "paid"),
        )
        .await;
    run_witness(&client).await;
    client
        .send_queued(
            "Create",
            &part(&conversation, 1, 2),
            &new_order("o1", "placed"),
        )
        .await;

    let messages = client
        .wait_for_result_messages("ConversationID", &conversation, 2)
        .await;
    assert!(messages.iter().all(|m| m.field("StatusCode") == "OK"));
    let rows = orders(&client).await;
    assert!(rows.contains(&("o1".into(), "paid".into())), "{rows:?}");
}

#[tokio::test]
async fn a_failing_part_stops_the_conversation() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    let first = client
        .send_queued(
            "Create",
            &part(&conversation, 1, 3),
            &new_order("o1", "placed"),
        )
        .await;
    // The same primary key again: this part fails.
    let second = client
        .send_queued(
            "Create",
            &part(&conversation, 2, 3),
            &new_order("o1", "again"),
        )
        .await;
    let third = client
        .send_queued(
            "Create",
            &part(&conversation, 3, 3),
            &new_order("o3", "never"),
        )
        .await;

    client
        .wait_for_result_messages("ConversationID", &conversation, 3)
        .await;
    let item = |request_id: String| {
        let client = client.clone();
        async move {
            let items = client.result_items("RequestID", &request_id).await;
            assert_eq!(items.len(), 1, "{items:?}");
            outcome(&items[0])
        }
    };
    assert_eq!(item(first).await, ("OK".into(), None));
    let (status, code) = item(second).await;
    assert_eq!(status, "Error");
    assert_ne!(code, Some(204), "the failing part reports its own error");
    assert_eq!(item(third).await, ("Error".into(), Some(204)));
    assert_eq!(orders(&client).await, [("o1".into(), "placed".into())]);
}

#[tokio::test]
async fn the_parts_after_a_failure_get_result_messages_with_204() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    // Part 1 updates a row that does not exist, so it fails.
    client
        .send_queued(
            "Update",
            &part(&conversation, 1, 3),
            &order_update("nope", "x"),
        )
        .await;
    client
        .send_queued(
            "Create",
            &part(&conversation, 2, 3),
            &new_order("o2", "never"),
        )
        .await;
    client
        .send_queued(
            "Create",
            &part(&conversation, 3, 3),
            &new_order("o3", "never"),
        )
        .await;

    let messages = client
        .wait_for_result_messages("ConversationID", &conversation, 3)
        .await;
    let settled = by_sequence(&messages);
    assert_eq!(settled[0].1.0, "Error");
    assert_eq!(settled[1], (Some(2), ("Error".into(), Some(204))));
    assert_eq!(settled[2], (Some(3), ("Error".into(), Some(204))));
    assert!(orders(&client).await.is_empty());
}

/// Sends parts 1 and 2 of a three-part conversation, then `spoiler`, which
/// must be refused with `code`; checks that the two received parts are
/// settled with `code` and never run.
async fn invalidate_with(client: &Client, conversation: &str, spoiler: &Options, code: i64) {
    client
        .send_queued(
            "Create",
            &part(conversation, 1, 3),
            &new_order("o1", "placed"),
        )
        .await;
    client
        .send_queued(
            "Update",
            &part(conversation, 2, 3),
            &order_update("o1", "paid"),
        )
        .await;
    let refused = client
        .soap(
            "Update",
            &request("Update", &spoiler.xml(), &order_update("o1", "x")),
        )
        .await;
    assert_eq!(refused.refusal_code(), code);

    let messages = client
        .wait_for_result_messages("ConversationID", conversation, 2)
        .await;
    let settled = by_sequence(&messages);
    let failed = ("Error".to_owned(), Some(code));
    assert_eq!(settled, [(Some(1), failed.clone()), (Some(2), failed)]);

    // Anything later in the queue has run, and the parts still have not.
    run_witness(client).await;
    assert!(!orders(client).await.iter().any(|row| row.0 == "o1"));
}

#[tokio::test]
async fn a_mismatched_total_settles_the_received_parts_with_200_unrun() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    invalidate_with(&client, &conversation, &part(&conversation, 3, 4), 200).await;
}

#[tokio::test]
async fn a_repeated_sequence_code_settles_the_received_parts_with_214_unrun() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    invalidate_with(&client, &conversation, &part(&conversation, 2, 3), 214).await;
}

#[tokio::test]
async fn a_conversation_id_alone_makes_a_single_part_conversation_that_runs() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    let options = asynchronous().with("ConversationID", &conversation);
    client
        .send_queued("Create", &options, &new_order("o1", "placed"))
        .await;

    let messages = client
        .wait_for_result_messages("ConversationID", &conversation, 1)
        .await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].field("StatusCode"), "OK");
    assert_eq!(messages[0].number("SequenceCode"), Some(1));
    assert_eq!(messages[0].number("CallsInConversation"), Some(1));
    assert_eq!(orders(&client).await, [("o1".into(), "placed".into())]);
}

#[tokio::test]
async fn an_asynchronous_call_outside_a_conversation_runs() {
    let (_server, client) = setup().await;
    let request_id = client
        .send_queued("Create", &asynchronous(), &new_order("o1", "placed"))
        .await;

    let messages = client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
    assert_eq!(messages[0].field("StatusCode"), "OK");
    assert_eq!(messages[0].get("ConversationID"), None);
    assert_eq!(messages[0].get("SequenceCode"), None);
    assert_eq!(orders(&client).await, [("o1".into(), "placed".into())]);
}

#[tokio::test]
async fn a_synchronous_call_answers_with_its_results_and_leaves_no_result_message() {
    let (_server, client) = setup().await;
    let response = client
        .soap("Create", &request("Create", "", &new_order("o1", "placed")))
        .await;
    assert_eq!(response.overall_status(), "OK");
    let results = response.results();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].field("StatusCode"), "OK");
    assert_eq!(
        results[0].field("StatusMessage"),
        "Created DataExtensionObject"
    );
    assert_eq!(results[0].get("RequestType"), None);
    // The row is there as soon as the answer is.
    assert_eq!(orders(&client).await, [("o1".into(), "placed".into())]);

    run_witness(&client).await;
    let messages = client.retrieve_all("ResultMessage", &[], None).await;
    assert_eq!(messages.len(), 1, "only the witness has a ResultMessage");
    assert!(
        client
            .result_messages("RequestID", &response.request_id())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn parts_sent_all_at_once_still_run_in_order() {
    let (_server, client) = setup().await;
    client
        .create_data_extension("Steps", &[Field::text("Step")])
        .await;
    let conversation = unique("c");
    let calls = 20;
    let mut sends = tokio::task::JoinSet::new();
    for sequence_code in (1..=calls).rev() {
        let (client, conversation) = (client.clone(), conversation.clone());
        sends.spawn(async move {
            let step = row("Steps", &[("Step", &sequence_code.to_string())]);
            let options = part(&conversation, sequence_code, calls);
            client.send_queued("Create", &options, &step).await
        });
    }
    let receipts = sends.join_all().await;
    assert_eq!(receipts.len(), 20);

    client
        .wait_for_result_messages("ConversationID", &conversation, 20)
        .await;
    let steps: Vec<String> = client
        .rows("Steps", &["Step"])
        .await
        .into_iter()
        .map(|row| row["Step"].clone())
        .collect();
    let expected: Vec<String> = (1..=calls).map(|step| step.to_string()).collect();
    assert_eq!(steps, expected);
}
