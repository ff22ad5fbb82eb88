//! Getting results back with Retrieve: `ResultMessage` and `ResultItem` by
//! `RequestID` (in any case), `ConversationID` and `CorrelationID`; one
//! `ResultItem` per object; `ResultDetailXML` only on request; and paging
//! of large answers with `MoreDataAvailable` and `ContinueRequest`.

use std::collections::BTreeSet;

use crate::support::{
    Client, Field, Server, Soap, asynchronous, part, request, retrieve, retrieve_continue, row,
    unique,
};

/// The data extension the tests write to.
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

/// A `Log` row with a `CorrelationID`.
fn correlated_row(id: &str, correlation_id: &str) -> String {
    format!(
        concat!(
            r#"<Objects xsi:type="DataExtensionObject">"#,
            "<CorrelationID>{correlation_id}</CorrelationID><CustomerKey>{key}</CustomerKey>",
            "<Properties><Property><Name>Id</Name><Value>{id}</Value></Property></Properties>",
            "</Objects>",
        ),
        correlation_id = correlation_id,
        key = LOG,
        id = id,
    )
}

/// Queues one asynchronous row and waits until it ran.
async fn run_one(client: &Client) -> String {
    let request_id = client
        .send_queued(
            "Create",
            &asynchronous(),
            &row(LOG, &[("Id", &unique("r"))]),
        )
        .await;
    client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
    request_id
}

#[tokio::test]
async fn the_result_message_is_found_by_request_id_in_upper_case() {
    let (_server, client) = setup().await;
    let request_id = run_one(&client).await;
    run_one(&client).await;

    let upper = request_id.to_uppercase();
    assert_ne!(upper, request_id, "the test needs a RequestID with letters");
    let messages = client.result_messages("RequestID", &upper).await;
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0]
            .field("RequestID")
            .eq_ignore_ascii_case(&request_id)
    );
    assert_eq!(messages[0].field("StatusCode"), "OK");
}

#[tokio::test]
async fn result_items_are_found_by_request_id_in_upper_case() {
    let (_server, client) = setup().await;
    let request_id = run_one(&client).await;
    run_one(&client).await;

    let items = client
        .result_items("RequestID", &request_id.to_uppercase())
        .await;
    assert_eq!(items.len(), 1);
    assert!(
        items[0]
            .field("RequestID")
            .eq_ignore_ascii_case(&request_id)
    );
}

#[tokio::test]
async fn results_are_found_by_conversation_id() {
    let (_server, client) = setup().await;
    let conversation = unique("c");
    let first = client
        .send_queued(
            "Create",
            &part(&conversation, 1, 2),
            &row(LOG, &[("Id", "a")]),
        )
        .await;
    let second = client
        .send_queued(
            "Create",
            &part(&conversation, 2, 2),
            &row(LOG, &[("Id", "b")]),
        )
        .await;
    run_one(&client).await;

    let messages = client
        .wait_for_result_messages("ConversationID", &conversation, 2)
        .await;
    let ids: BTreeSet<String> = messages
        .iter()
        .map(|message| message.field("RequestID").to_owned())
        .collect();
    assert_eq!(ids, BTreeSet::from([first.clone(), second.clone()]));

    let items = client.result_items("ConversationID", &conversation).await;
    let ids: BTreeSet<String> = items
        .iter()
        .map(|item| item.field("RequestID").to_owned())
        .collect();
    assert_eq!(ids, BTreeSet::from([first, second]));
    assert!(
        items
            .iter()
            .all(|item| item.field("ConversationID") == conversation)
    );

    // Text filters ignore case, and so does this one.
    let shouted = client
        .result_items("ConversationID", &conversation.to_uppercase())
        .await;
    assert_eq!(shouted.len(), 2);
}

#[tokio::test]
async fn a_correlation_id_given_twice_in_one_call_is_a_client_fault() {
    let (_server, client) = setup().await;
    let objects = [
        correlated_row("a", "same"),
        correlated_row("b", "other"),
        correlated_row("c", "same"),
    ]
    .concat();
    let body = request("Create", &asynchronous().xml(), &objects);
    let (code, message) = client.soap("Create", &body).await.expect_fault();
    assert!(code.ends_with(":Client"), "{code}");
    assert!(message.contains("\"same\""), "{message}");
    // Across calls the same id is fine.
    client
        .send_queued("Create", &asynchronous(), &correlated_row("d", "same"))
        .await;
}

#[tokio::test]
async fn result_items_are_found_by_correlation_id() {
    let (_server, client) = setup().await;
    let objects = [
        correlated_row("a", "corr-a"),
        correlated_row("b", "corr-b"),
        correlated_row("c", "corr-c"),
    ]
    .concat();
    let request_id = client
        .send_queued("Create", &asynchronous(), &objects)
        .await;
    client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;

    let items = client.result_items("CorrelationID", "corr-b").await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].field("CorrelationID"), "corr-b");
    assert_eq!(items[0].number("OrdinalID"), Some(1));
    assert_eq!(items[0].field("RequestID"), request_id);
}

/// The README promises `ResultMessage` by `CorrelationID` as well; with one
/// object per request the match is unambiguous.
#[tokio::test]
async fn the_result_message_is_found_by_correlation_id() {
    let (_server, client) = setup().await;
    let request_id = client
        .send_queued("Create", &asynchronous(), &correlated_row("a", "corr-a"))
        .await;
    client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
    run_one(&client).await;

    let body = retrieve("ResultMessage", &[], Some(("CorrelationID", "corr-a")));
    let response = client.soap("Retrieve", &body).await;
    assert_eq!(response.overall_status(), "OK", "{}", response.text);
    let messages = response.results();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].field("RequestID"), request_id);
}

#[tokio::test]
async fn a_request_gets_one_result_item_per_object() {
    let (_server, client) = setup().await;
    let objects = [
        row(LOG, &[("Id", "a")]),
        row(LOG, &[("Id", "b")]),
        row(LOG, &[("Id", "c")]),
    ]
    .concat();
    let request_id = client
        .send_queued("Create", &asynchronous(), &objects)
        .await;

    let items = client
        .wait_for_result_items("RequestID", &request_id, 3)
        .await;
    let mut ordinals: Vec<Option<i64>> =
        items.iter().map(|item| item.number("OrdinalID")).collect();
    ordinals.sort();
    assert_eq!(ordinals, [Some(0), Some(1), Some(2)]);
    for item in &items {
        assert_eq!(item.xsi_type.as_deref(), Some("ResultItem"));
        assert_eq!(item.field("RequestObjectType"), "DataExtensionObject");
        assert_eq!(item.field("StatusCode"), "OK");
        assert_eq!(item.field("RequestType"), "Asynchronous");
    }
}

#[tokio::test]
async fn a_failed_object_has_an_error_result_item_beside_the_others() {
    let (_server, client) = setup().await;
    let objects = [
        row(LOG, &[("Id", "a")]),
        row(LOG, &[("Id", "a")]),
        row(LOG, &[("Id", "c")]),
    ]
    .concat();
    let request_id = client
        .send_queued("Create", &asynchronous(), &objects)
        .await;

    let mut items = client
        .wait_for_result_items("RequestID", &request_id, 3)
        .await;
    items.sort_by_key(|item| item.number("OrdinalID"));
    let statuses: Vec<&str> = items.iter().map(|item| item.field("StatusCode")).collect();
    assert_eq!(statuses, ["OK", "Error", "OK"]);
    assert!(items[1].number("ErrorCode").is_some());

    let messages = client.result_messages("RequestID", &request_id).await;
    assert_eq!(messages[0].field("StatusCode"), "Error");
    assert_eq!(
        messages[0].number("ErrorCode"),
        items[1].number("ErrorCode")
    );
}

#[tokio::test]
async fn result_detail_xml_comes_only_when_asked_for() {
    let (_server, client) = setup().await;
    let request_id = run_one(&client).await;
    let filter = Some(("RequestID", request_id.as_str()));

    let plain = client
        .retrieve(&retrieve(
            "ResultMessage",
            &["RequestID", "StatusCode"],
            filter,
        ))
        .await;
    assert_eq!(plain.results()[0].get("ResultDetailXML"), None);
    let everything = client
        .retrieve(&retrieve("ResultMessage", &[], filter))
        .await;
    assert_eq!(everything.results()[0].get("ResultDetailXML"), None);

    let detailed = client
        .retrieve(&retrieve(
            "ResultMessage",
            &["RequestID", "ResultDetailXML"],
            filter,
        ))
        .await;
    let detail = detailed.results()[0].field("ResultDetailXML").to_owned();
    let document = roxmltree::Document::parse(&detail).unwrap();
    let result = document
        .descendants()
        .find(|node| node.tag_name().name() == "RequestID")
        .unwrap();
    assert_eq!(result.text(), Some(request_id.as_str()));
}

#[tokio::test]
async fn a_large_retrieve_comes_in_pages_of_2500() {
    let (_server, client) = setup().await;
    let rows_per_call = 2_000;
    for call in 0..3 {
        let objects: String = (0..rows_per_call)
            .map(|index| row(LOG, &[("Id", &format!("r{call}-{index}"))]))
            .collect();
        let response = client
            .soap("Create", &request("Create", "", &objects))
            .await;
        assert_eq!(response.overall_status(), "OK");
    }
    let object_type = format!("DataExtensionObject[{LOG}]");

    let first = client
        .retrieve(&retrieve(&object_type, &["Id"], None))
        .await;
    assert_eq!(first.overall_status(), "MoreDataAvailable");
    assert_eq!(first.results().len(), 2_500);

    let next_page = |page: &Soap| retrieve_continue(&object_type, &page.request_id());
    let second = client.retrieve(&next_page(&first)).await;
    assert_eq!(second.overall_status(), "MoreDataAvailable");
    assert_eq!(second.results().len(), 2_500);
    let third = client.retrieve(&next_page(&second)).await;
    assert_eq!(third.overall_status(), "OK");
    assert_eq!(third.results().len(), 1_000);

    let ids: BTreeSet<String> = [first, second, third]
        .iter()
        .flat_map(|page| page.results())
        .map(|item| item.properties["Id"].clone())
        .collect();
    assert_eq!(ids.len(), 6_000, "every row once, none twice");
}

/// `ResultMessage` extends `APIObject` in the WSDL, so its base properties
/// are valid in `Properties`; FuelSDK-Java's `ETResultMessage` asks for
/// `ObjectID`, `CustomerKey`, `CorrelationID` and `ModifiedDate` on every
/// retrieve (spec §6.1, §6.2).
#[tokio::test]
async fn a_result_message_retrieve_may_name_its_api_object_properties() {
    let (_server, client) = setup().await;
    let request_id = run_one(&client).await;
    let properties = [
        "ObjectID",
        "CustomerKey",
        "RequestID",
        "CorrelationID",
        "StatusCode",
        "CreatedDate",
        "ModifiedDate",
    ];
    let response = client
        .soap(
            "Retrieve",
            &retrieve(
                "ResultMessage",
                &properties,
                Some(("RequestID", &request_id)),
            ),
        )
        .await;
    assert_eq!(response.overall_status(), "OK", "{}", response.text);
    assert_eq!(response.results().len(), 1);
}
