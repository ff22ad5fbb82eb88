//! The objects calls act on: subscribers, typed data extension columns with
//! per-field errors, upserts through `SaveOptions`, row and data extension
//! deletes, `Perform ClearData` queued like any call, `DataExtensionField`
//! retrieves, and object types Confab does not implement.

use crate::support::{
    Client, Field, Server, asynchronous, keyed_row, request, retrieve, row, unique,
};

/// A server and a client of its first account.
async fn setup() -> (Server, Client) {
    let server = Server::start();
    let client = server.client().await;
    (server, client)
}

/// A `Subscriber` object.
fn subscriber(key: &str, email: &str, extra: &str) -> String {
    format!(
        concat!(
            r#"<Objects xsi:type="Subscriber"><EmailAddress>{email}</EmailAddress>"#,
            "<SubscriberKey>{key}</SubscriberKey>{extra}</Objects>",
        ),
        email = email,
        key = key,
        extra = extra,
    )
}

#[tokio::test]
async fn subscribers_are_created_updated_retrieved_and_deleted() {
    let (_server, client) = setup().await;
    let key = unique("sub");
    let attribute = "<Attributes><Name>First</Name><Value>Ann</Value></Attributes>";
    let created = client
        .soap(
            "Create",
            &request(
                "Create",
                "",
                &subscriber(&key, "ann@example.test", attribute),
            ),
        )
        .await;
    assert_eq!(created.status_codes(), ["OK"], "{}", created.text);

    let again = client
        .soap(
            "Create",
            &request("Create", "", &subscriber(&key, "ann@example.test", "")),
        )
        .await;
    assert_eq!(again.error_codes(), [Some(12014)], "{}", again.text);
    let invalid = client
        .soap(
            "Create",
            &request(
                "Create",
                "",
                &subscriber(&unique("s"), "not-an-address", ""),
            ),
        )
        .await;
    assert_eq!(invalid.error_codes(), [Some(12002)], "{}", invalid.text);

    let unsubscribe = subscriber(&key, "ann@example.test", "<Status>Unsubscribed</Status>");
    let updated = client
        .soap("Update", &request("Update", "", &unsubscribe))
        .await;
    assert_eq!(updated.status_codes(), ["OK"], "{}", updated.text);
    let found = client
        .retrieve(&retrieve(
            "Subscriber",
            &["EmailAddress", "SubscriberKey", "Status"],
            Some(("SubscriberKey", &key)),
        ))
        .await;
    let results = found.results();
    assert_eq!(results.len(), 1, "{}", found.text);
    assert_eq!(results[0].field("Status"), "Unsubscribed");
    assert_eq!(results[0].field("EmailAddress"), "ann@example.test");

    let deleted = client
        .soap(
            "Delete",
            &request("Delete", "", &subscriber(&key, "ann@example.test", "")),
        )
        .await;
    assert_eq!(deleted.status_codes(), ["OK"], "{}", deleted.text);
    let gone = client
        .retrieve(&retrieve(
            "Subscriber",
            &["SubscriberKey"],
            Some(("SubscriberKey", &key)),
        ))
        .await;
    assert!(gone.results().is_empty(), "{}", gone.text);
}

#[tokio::test]
async fn typed_columns_refuse_bad_values_with_key_and_value_errors() {
    let (_server, client) = setup().await;
    let definition = concat!(
        r#"<Objects xsi:type="DataExtension"><CustomerKey>Typed</CustomerKey><Fields>"#,
        "<Field><Name>Id</Name><FieldType>Number</FieldType><IsPrimaryKey>true</IsPrimaryKey>",
        "</Field><Field><Name>When</Name><FieldType>Date</FieldType></Field>",
        "<Field><Name>Flag</Name><FieldType>Boolean</FieldType></Field>",
        "<Field><Name>Mail</Name><FieldType>EmailAddress</FieldType></Field>",
        "<Field><Name>Price</Name><FieldType>Decimal</FieldType><MaxLength>6</MaxLength>",
        "<Scale>2</Scale></Field></Fields></Objects>",
    );
    let created = client
        .soap("Create", &request("Create", "", definition))
        .await;
    assert_eq!(created.status_codes(), ["OK"], "{}", created.text);

    let bad = row(
        "Typed",
        &[
            ("Id", "one"),
            ("When", "someday"),
            ("Flag", "maybe"),
            ("Mail", "x"),
            ("Price", "1.234"),
        ],
    );
    let refused = client.soap("Create", &request("Create", "", &bad)).await;
    assert_eq!(refused.status_codes(), ["Error"], "{}", refused.text);
    let document = refused.document();
    let errors = |list: &str| -> Vec<String> {
        document
            .descendants()
            .filter(|node| node.tag_name().name() == list)
            .flat_map(|node| node.children().filter(|child| child.is_element()))
            .map(|error| {
                let name = error
                    .children()
                    .find(|node| node.tag_name().name() == "Name");
                name.and_then(|node| node.text())
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(errors("KeyErrors"), ["Id"], "{}", refused.text);
    assert_eq!(
        errors("ValueErrors"),
        ["When", "Flag", "Mail", "Price"],
        "{}",
        refused.text
    );

    let good = row(
        "Typed",
        &[
            ("Id", "1"),
            ("When", "2026-12-03"),
            ("Flag", "1"),
            ("Mail", "a@b.test"),
            ("Price", "9.5"),
        ],
    );
    let stored = client.soap("Create", &request("Create", "", &good)).await;
    assert_eq!(stored.status_codes(), ["OK"], "{}", stored.text);
    let rows = client.rows("Typed", &["Id", "When", "Flag", "Price"]).await;
    assert_eq!(rows[0]["When"], "12/3/2026 12:00:00 AM");
    assert_eq!(rows[0]["Flag"], "True");
    assert_eq!(rows[0]["Price"], "9.50");
}

#[tokio::test]
async fn save_options_turn_a_create_into_an_upsert() {
    let (_server, client) = setup().await;
    client
        .create_data_extension("Orders", &[Field::key("Id"), Field::text("Status")])
        .await;
    let first = row("Orders", &[("Id", "A"), ("Status", "NEW")]);
    client.soap("Create", &request("Create", "", &first)).await;

    let again = row("Orders", &[("Id", "a"), ("Status", "SHIPPED")]);
    let duplicate = client.soap("Create", &request("Create", "", &again)).await;
    assert_eq!(duplicate.error_codes(), [Some(10006)], "{}", duplicate.text);

    let upsert = "<SaveOptions><SaveOption><PropertyName>*</PropertyName>\
                  <SaveAction>UpdateAdd</SaveAction></SaveOption></SaveOptions>";
    let updated = client
        .soap("Create", &request("Create", upsert, &again))
        .await;
    assert_eq!(updated.status_codes(), ["OK"], "{}", updated.text);
    let rows = client.rows("Orders", &["Id", "Status"]).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Status"], "SHIPPED");
}

#[tokio::test]
async fn rows_and_data_extensions_are_deleted_by_key() {
    let (_server, client) = setup().await;
    client
        .create_data_extension("Orders", &[Field::key("Id"), Field::text("Status")])
        .await;
    client
        .soap(
            "Create",
            &request("Create", "", &row("Orders", &[("Id", "A")])),
        )
        .await;

    let delete_row = keyed_row("Orders", &[("Id", "A")], &[]);
    let deleted = client
        .soap("Delete", &request("Delete", "", &delete_row))
        .await;
    assert_eq!(deleted.status_codes(), ["OK"], "{}", deleted.text);
    let missing = client
        .soap("Delete", &request("Delete", "", &delete_row))
        .await;
    assert_eq!(missing.error_codes(), [Some(10007)], "{}", missing.text);

    let definition =
        r#"<Objects xsi:type="DataExtension"><CustomerKey>Orders</CustomerKey></Objects>"#;
    let dropped = client
        .soap("Delete", &request("Delete", "", definition))
        .await;
    assert_eq!(dropped.status_codes(), ["OK"], "{}", dropped.text);
    let rows = client
        .soap(
            "Retrieve",
            &retrieve("DataExtensionObject[Orders]", &["Id"], None),
        )
        .await;
    assert!(rows.overall_status().starts_with("Error"), "{}", rows.text);
}

#[tokio::test]
async fn perform_clear_data_is_queued_and_empties_the_data_extension() {
    let (_server, client) = setup().await;
    client
        .create_data_extension("Orders", &[Field::key("Id")])
        .await;
    for id in ["A", "B"] {
        client
            .soap(
                "Create",
                &request("Create", "", &row("Orders", &[("Id", id)])),
            )
            .await;
    }

    let perform = format!(
        concat!(
            r#"<PerformRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">"#,
            "<Options>{options}</Options><Action>ClearData</Action><Definitions>",
            r#"<Definition xsi:type="DataExtension"><CustomerKey>Orders</CustomerKey>"#,
            "</Definition></Definitions></PerformRequestMsg>",
        ),
        options = asynchronous().xml(),
    );
    let queued = client.soap("Perform", &perform).await;
    assert!(
        queued
            .text
            .contains("<StatusMessage>Queued</StatusMessage>"),
        "{}",
        queued.text
    );
    let request_id = queued.request_id();
    let messages = client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
    assert_eq!(messages[0].field("StatusCode"), "OK");
    assert!(client.rows("Orders", &["Id"]).await.is_empty());
}

#[tokio::test]
async fn data_extension_fields_are_retrieved_by_their_data_extension() {
    let (_server, client) = setup().await;
    client
        .create_data_extension("Orders", &[Field::key("Id"), Field::text("Status")])
        .await;
    client
        .create_data_extension("Other", &[Field::key("X")])
        .await;

    let fields = client
        .retrieve(&retrieve(
            "DataExtensionField",
            &["Name", "FieldType", "IsPrimaryKey"],
            Some(("DataExtension.CustomerKey", "Orders")),
        ))
        .await;
    let found: Vec<(String, String)> = fields
        .results()
        .iter()
        .map(|field| {
            (
                field.field("Name").to_owned(),
                field.field("IsPrimaryKey").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("Id".to_owned(), "true".to_owned()),
            ("Status".to_owned(), "false".to_owned())
        ],
        "{}",
        fields.text
    );
}

#[tokio::test]
async fn object_types_confab_does_not_implement_are_answered_per_object() {
    let (_server, client) = setup().await;
    let objects = format!(
        "{}{}",
        r#"<Objects xsi:type="List"><ListName>Newsletter</ListName></Objects>"#,
        subscriber(&unique("s"), "bo@example.test", ""),
    );
    let answer = client
        .soap("Create", &request("Create", "", &objects))
        .await;
    assert_eq!(answer.overall_status(), "Has Errors", "{}", answer.text);
    assert_eq!(answer.error_codes(), [Some(2), None]);
    assert!(
        answer.status_messages()[0].contains("List"),
        "{}",
        answer.text
    );
}
