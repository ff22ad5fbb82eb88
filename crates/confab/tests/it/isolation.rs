//! Accounts are walled off from each other: what one account stores, runs
//! and gets back is invisible to another, and beyond its reach to cancel;
//! conversation ids are reserved per account, credentials act only in their
//! own account, and each of the three ways to log in lands in the right one.

use serde_json::json;

use crate::support::{
    Auth, Client, ClientCredentials, Field, Server, asynchronous, part, request, retrieve,
    retrieve_continue, row, unique,
};

/// Account A's data extension.
const SECRET: &str = "Secret";

/// Two accounts on one server, each with its own client; A has the
/// `Secret` data extension with one row.
struct TwoAccounts {
    server: Server,
    a: Client,
    b: Client,
    b_credentials: ClientCredentials,
}

async fn setup() -> TwoAccounts {
    setup_on(Server::start()).await
}

/// [`setup`] on a server whose clock the test moves.
async fn setup_with_clock() -> TwoAccounts {
    setup_on(Server::start_with_test_clock(&[])).await
}

/// Makes account B on `server` and gives A its `Secret` row.
async fn setup_on(server: Server) -> TwoAccounts {
    let a = server.client().await;
    let b_account = server.create_account("B");
    let b_credentials = server.create_client(b_account);
    let b = server.client_for(&b_credentials).await;
    a.create_data_extension(SECRET, &[Field::key("Id"), Field::text("V")])
        .await;
    let response = a
        .soap(
            "Create",
            &request("Create", "", &row(SECRET, &[("Id", "a1"), ("V", "A's")])),
        )
        .await;
    assert_eq!(response.overall_status(), "OK");
    TwoAccounts {
        server,
        a,
        b,
        b_credentials,
    }
}

/// The `CustomerKey`s of the data extensions a client sees.
async fn data_extension_keys(client: &Client) -> Vec<String> {
    client
        .retrieve_all("DataExtension", &["CustomerKey"], None)
        .await
        .iter()
        .map(|item| item.field("CustomerKey").to_owned())
        .collect()
}

#[tokio::test]
async fn an_account_does_not_see_another_accounts_data_extensions() {
    let accounts = setup().await;
    assert_eq!(data_extension_keys(&accounts.a).await, [SECRET]);
    assert!(data_extension_keys(&accounts.b).await.is_empty());
    let fields = accounts
        .b
        .retrieve_all("DataExtensionField", &["Name"], None)
        .await;
    assert!(fields.is_empty(), "{fields:?}");
}

#[tokio::test]
async fn an_account_cannot_read_another_accounts_rows() {
    let accounts = setup().await;
    let body = retrieve(&format!("DataExtensionObject[{SECRET}]"), &["Id"], None);
    let response = accounts.b.soap("Retrieve", &body).await;
    assert!(
        response.overall_status().starts_with("Error"),
        "{}",
        response.text
    );
    assert!(response.results().is_empty());
}

#[tokio::test]
async fn an_account_cannot_write_into_another_accounts_data_extension() {
    let accounts = setup().await;
    let response = accounts
        .b
        .soap(
            "Create",
            &request("Create", "", &row(SECRET, &[("Id", "b1"), ("V", "B's")])),
        )
        .await;
    assert_eq!(response.status_codes(), ["Error"]);
    let rows = accounts.a.rows(SECRET, &["Id"]).await;
    let ids: Vec<&str> = rows.iter().map(|row| row["Id"].as_str()).collect();
    assert_eq!(ids, ["a1"]);
}

#[tokio::test]
async fn an_account_does_not_see_another_accounts_results() {
    let accounts = setup().await;
    let request_id = accounts
        .a
        .send_queued("Create", &asynchronous(), &row(SECRET, &[("Id", "a2")]))
        .await;
    accounts
        .a
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;

    let b = &accounts.b;
    assert!(b.result_items("RequestID", &request_id).await.is_empty());
    assert!(b.result_messages("RequestID", &request_id).await.is_empty());
    assert!(b.retrieve_all("ResultItem", &[], None).await.is_empty());
    assert!(b.retrieve_all("ResultMessage", &[], None).await.is_empty());
}

#[tokio::test]
async fn accounts_may_use_the_same_conversation_id() {
    let accounts = setup().await;
    let conversation = unique("shared");
    accounts
        .a
        .send_queued(
            "Create",
            &part(&conversation, 1, 1),
            &row(SECRET, &[("Id", "a3")]),
        )
        .await;
    accounts
        .a
        .wait_for_result_messages("ConversationID", &conversation, 1)
        .await;

    let b = &accounts.b;
    b.create_data_extension("Mine", &[Field::key("Id")]).await;
    b.send_queued(
        "Create",
        &part(&conversation, 1, 1),
        &row("Mine", &[("Id", "b3")]),
    )
    .await;
    let messages = b
        .wait_for_result_messages("ConversationID", &conversation, 1)
        .await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].field("StatusCode"), "OK");
}

#[tokio::test]
async fn a_token_cannot_act_in_another_account_through_client_id() {
    let accounts = setup().await;
    let b_account = accounts.b_credentials.account_id;
    let options = format!("<Client><ID>{b_account}</ID></Client>");
    let response = accounts
        .a
        .soap(
            "Create",
            &request("Create", &options, &row(SECRET, &[("Id", "a4")])),
        )
        .await;
    let (code, _) = response.expect_fault();
    assert_eq!(code, "soap:Client");
    let ids: Vec<String> = accounts
        .a
        .rows(SECRET, &["Id"])
        .await
        .into_iter()
        .map(|row| row["Id"].clone())
        .collect();
    assert_eq!(ids, ["a1"]);
}

#[tokio::test]
async fn a_token_cannot_read_another_account_through_client_ids() {
    let accounts = setup().await;
    let b_account = accounts.b_credentials.account_id;
    let body = format!(
        concat!(
            r#"<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">"#,
            "<RetrieveRequest><ClientIDs><ID>{b_account}</ID></ClientIDs>",
            "<ObjectType>DataExtension</ObjectType><Properties>CustomerKey</Properties>",
            "</RetrieveRequest></RetrieveRequestMsg>",
        ),
        b_account = b_account,
    );
    let response = accounts.a.soap("Retrieve", &body).await;
    let (code, _) = response.expect_fault();
    assert_eq!(code, "soap:Client");
}

#[tokio::test]
async fn a_username_token_logs_into_its_own_account() {
    let accounts = setup().await;
    let b_account = accounts.b_credentials.account_id;
    accounts.server.create_user(b_account, "b-user", "b-secret");
    accounts
        .b
        .create_data_extension("Mine", &[Field::key("Id")])
        .await;

    let user = accounts.a.with_auth(Auth::WsSecurity {
        username: "b-user".into(),
        password: "b-secret".into(),
    });
    assert_eq!(data_extension_keys(&user).await, ["Mine"]);
}

#[tokio::test]
async fn a_wrong_password_gets_login_failed() {
    let accounts = setup().await;
    let b_account = accounts.b_credentials.account_id;
    accounts.server.create_user(b_account, "b-user", "b-secret");

    let user = accounts.a.with_auth(Auth::WsSecurity {
        username: "b-user".into(),
        password: "wrong".into(),
    });
    let response = user
        .soap(
            "Retrieve",
            &retrieve("DataExtension", &["CustomerKey"], None),
        )
        .await;
    let (code, message) = response.expect_fault();
    assert!(code.ends_with(":Security"), "{code}");
    assert_eq!(message, "Login failed");
}

#[tokio::test]
async fn a_legacy_token_logs_into_its_own_account() {
    let accounts = setup().await;
    accounts
        .b
        .create_data_extension("Mine", &[Field::key("Id")])
        .await;
    let credentials = &accounts.b_credentials;
    let (status, answer) = accounts
        .a
        .post_json(
            "/v1/requestToken?legacy=1",
            &json!({
                "clientId": credentials.client_id,
                "clientSecret": credentials.client_secret,
            }),
        )
        .await;
    assert_eq!(status, 200);
    let legacy_token = answer["legacyToken"].as_str().unwrap().to_owned();
    let access_token = answer["accessToken"].as_str().unwrap().to_owned();

    let legacy = accounts.a.with_auth(Auth::OAuthToken(legacy_token));
    assert_eq!(data_extension_keys(&legacy).await, ["Mine"]);
    let access = accounts.a.with_auth(Auth::Fueloauth(access_token));
    assert_eq!(data_extension_keys(&access).await, ["Mine"]);
}

#[tokio::test]
async fn a_bad_token_gets_login_failed() {
    let accounts = setup().await;
    let garbage = accounts.a.with_auth(Auth::Fueloauth("not-a-token".into()));
    let response = garbage
        .soap(
            "Retrieve",
            &retrieve("DataExtension", &["CustomerKey"], None),
        )
        .await;
    let (code, message) = response.expect_fault();
    assert!(code.ends_with(":Security"), "{code}");
    assert_eq!(message, "Login failed");

    // A's token with its account number changed fails its signature.
    let forged = accounts.a.token().replacen(
        &format!(".{}.", accounts.server.credentials.account_id),
        &format!(".{}.", accounts.b_credentials.account_id),
        1,
    );
    assert_ne!(forged, accounts.a.token());
    let response = accounts
        .a
        .with_auth(Auth::Fueloauth(forged))
        .soap(
            "Retrieve",
            &retrieve("DataExtension", &["CustomerKey"], None),
        )
        .await;
    assert_eq!(response.expect_fault().1, "Login failed");
}

#[tokio::test]
async fn an_account_cannot_continue_another_accounts_retrieve() {
    let accounts = setup().await;
    let objects: String = (0..2_600)
        .map(|index| row(SECRET, &[("Id", &format!("bulk-{index}"))]))
        .collect();
    let response = accounts
        .a
        .soap("Create", &request("Create", "", &objects))
        .await;
    assert_eq!(response.overall_status(), "OK");
    let object_type = format!("DataExtensionObject[{SECRET}]");
    let first_page = accounts
        .a
        .retrieve(&retrieve(&object_type, &["Id"], None))
        .await;
    assert_eq!(first_page.overall_status(), "MoreDataAvailable");

    let body = retrieve_continue(&object_type, &first_page.request_id());
    let response = accounts.b.soap("Retrieve", &body).await;
    assert!(
        response.overall_status().starts_with("Error"),
        "{}",
        response.text
    );
    assert!(response.results().is_empty());
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_user_name_for_a_minute() {
    let server = Server::start_with_test_clock(&[]);
    let client = server.client().await;
    let account = server.credentials.account_id;
    server.create_user(account, "guessed", "right password");
    let login = |password: &str| {
        client.with_auth(Auth::WsSecurity {
            username: "Guessed".into(),
            password: password.into(),
        })
    };
    let body = retrieve("DataExtension", &["CustomerKey"], None);

    for _ in 0..5 {
        let (_, message) = login("wrong").soap("Retrieve", &body).await.expect_fault();
        assert_eq!(message, "Login failed");
    }
    // Locked: even the right password fails, without a word of why.
    let (code, message) = login("right password")
        .soap("Retrieve", &body)
        .await
        .expect_fault();
    assert!(code.ends_with(":Security"), "{code}");
    assert_eq!(message, "Login failed");

    server.advance_clock(61).await;
    let response = login("right password").soap("Retrieve", &body).await;
    assert_eq!(response.overall_status(), "OK");
}

/// A synchronous Delete of one scheduled item by `client`; returns its one
/// result's status code and error code.
async fn delete_scheduled(client: &Client, object: &str) -> (String, Option<i64>) {
    let response = client.soap("Delete", &request("Delete", "", object)).await;
    let results = response.results();
    assert_eq!(results.len(), 1, "{}", response.text);
    (
        results[0].field("StatusCode").to_owned(),
        results[0].number("ErrorCode"),
    )
}

/// The `Id`s of A's `Secret` rows, sorted.
async fn secret_ids(accounts: &TwoAccounts) -> Vec<String> {
    let mut ids: Vec<String> = accounts
        .a
        .rows(SECRET, &["Id"])
        .await
        .into_iter()
        .map(|row| row["Id"].clone())
        .collect();
    ids.sort();
    ids
}

/// Moves the clock past A's work scheduled ten minutes ahead and waits
/// until `request_id` has run; checks that it ran as its owner asked.
async fn run_for_its_owner(accounts: &TwoAccounts, request_id: &str) {
    accounts.server.advance_clock(11 * 60).await;
    let messages = accounts
        .a
        .wait_for_result_messages("RequestID", request_id, 1)
        .await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].field("StatusCode"), "OK", "{messages:?}");
}

#[tokio::test]
async fn an_account_cannot_cancel_another_accounts_scheduled_request() {
    let accounts = setup_with_clock().await;
    let due = accounts.server.now().await + chrono::Duration::minutes(10);
    let options = asynchronous().scheduled(due);
    let request_id = accounts
        .a
        .send_queued("Create", &options, &row(SECRET, &[("Id", "a5")]))
        .await;

    let object = format!(
        r#"<Objects xsi:type="ScheduledRequest"><RequestID>{request_id}</RequestID></Objects>"#
    );
    let deleted = delete_scheduled(&accounts.b, &object).await;
    assert_eq!(deleted, ("Error".to_owned(), Some(220)));
    let messages = accounts.a.result_messages("RequestID", &request_id).await;
    assert!(messages.is_empty(), "still scheduled: {messages:?}");

    run_for_its_owner(&accounts, &request_id).await;
    assert_eq!(secret_ids(&accounts).await, ["a1", "a5"]);
}

#[tokio::test]
async fn an_account_cannot_cancel_another_accounts_scheduled_conversation() {
    let accounts = setup_with_clock().await;
    let conversation = unique("c");
    let due = accounts.server.now().await + chrono::Duration::minutes(10);
    let options = part(&conversation, 1, 1).scheduled(due);
    let request_id = accounts
        .a
        .send_queued("Create", &options, &row(SECRET, &[("Id", "a6")]))
        .await;

    // Conversation ids are the account's own: in B's, this one is unknown.
    let object = format!(
        concat!(
            r#"<Objects xsi:type="ScheduledConversation">"#,
            "<ConversationID>{conversation}</ConversationID></Objects>",
        ),
        conversation = conversation,
    );
    let deleted = delete_scheduled(&accounts.b, &object).await;
    assert_eq!(deleted, ("Error".to_owned(), Some(220)));
    let messages = accounts.a.result_messages("RequestID", &request_id).await;
    assert!(messages.is_empty(), "still scheduled: {messages:?}");

    run_for_its_owner(&accounts, &request_id).await;
    assert_eq!(secret_ids(&accounts).await, ["a1", "a6"]);
}
