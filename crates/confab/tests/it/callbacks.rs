//! Delivering outcomes: `SendResponseTo` callbacks posted to a receiver on
//! loopback, their ten form fields, which `RespondWhen` fires when, the
//! results they carry, their signature, retries, dead letters and replay,
//! the refusal of private addresses, and delivery across a crash.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, Utc};
use hmac::{KeyInit, Mac};
use serde_json::Value;

use crate::receiver::{Received, Receiver};
use crate::support::{
    Client, Field, Server, WAIT, asynchronous, part, request, row, unique, wait_until,
};

/// The data extension the tests write to.
const LOG: &str = "Log";

/// Settings that let the loopback receiver in and keep retries quick.
const FAST_CALLBACKS: &[&str] = &[
    "--allow-http-callback-host",
    "127.0.0.1",
    "--callback-backoff-ms",
    "100",
    "--callback-max-backoff-ms",
    "400",
    "--callback-poll-interval-ms",
    "50",
];

/// A server with `extra` flags besides [`FAST_CALLBACKS`], a receiver and a
/// client whose account has the `Log` data extension.
async fn setup_with(extra: &[&str]) -> (Server, Receiver, Client) {
    let flags: Vec<&str> = FAST_CALLBACKS.iter().chain(extra).copied().collect();
    setup_on(Server::start_with(&flags)).await
}

/// [`setup`] on a server whose clock the test moves.
async fn setup_with_test_clock() -> (Server, Receiver, Client) {
    setup_on(Server::start_with_test_clock(FAST_CALLBACKS)).await
}

/// A receiver, and a client of `server` whose account has the `Log` data
/// extension.
async fn setup_on(server: Server) -> (Server, Receiver, Client) {
    let client = server.client().await;
    client
        .create_data_extension(LOG, &[Field::key("Id"), Field::text("V")])
        .await;
    (server, Receiver::start().await, client)
}

/// [`setup_with`] without extra flags.
async fn setup() -> (Server, Receiver, Client) {
    setup_with(&[]).await
}

/// The two conversation-level entries, to the receiver's paths `complete`
/// (`OnConversationComplete`) and `conv-error` (`OnConversationError`).
fn conversation_entries(receiver: &Receiver) -> String {
    let complete = send_to(&receiver.url("complete"), "OnConversationComplete", &[]);
    let error = send_to(&receiver.url("conv-error"), "OnConversationError", &[]);
    complete + &error
}

/// One `SendResponseTo` entry; `include` lists `IncludeResults`,
/// `IncludeObjects`, `OnlyIncludeBase` to set.
fn send_to(address: &str, when: &str, include: &[&str]) -> String {
    let flags: String = include
        .iter()
        .map(|flag| format!("<{flag}>true</{flag}>"))
        .collect();
    format!(
        "<SendResponseTo><ResponseType>HTTPPost</ResponseType>\
         <ResponseAddress>{address}</ResponseAddress>\
         <RespondWhen>{when}</RespondWhen>{flags}</SendResponseTo>"
    )
}

/// A `Log` row.
fn log_row(id: &str) -> String {
    row(LOG, &[("Id", id), ("V", "v")])
}

/// A row for a data extension that does not exist: fails with 10008.
fn failing_row() -> String {
    row("NoSuchTable", &[("Id", "x")])
}

/// The form field names of every callback, in order.
const FIELD_NAMES: [&str; 10] = [
    "RequestID",
    "ConversationID",
    "OverallStatusCode",
    "StatusCode",
    "StatusMessage",
    "ErrorCode",
    "RequestType",
    "ResultType",
    "ResultDetailXML",
    "SequenceCode",
];

/// The names of a callback's fields.
fn names(received: &Received) -> Vec<&str> {
    received
        .fields
        .iter()
        .map(|(name, _)| name.as_str())
        .collect()
}

/// Checks a callback's `webhook-signature` against the account's secret.
fn assert_signed(server: &Server, received: &Received) {
    let account = server.credentials.account_id.to_string();
    let answer = server.cli(&["accounts", "webhook-secret", "--account", &account]);
    let secret = answer["webhook_secret"].as_str().unwrap();
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let id = received.header("webhook-id");
    let timestamp = received.header("webhook-timestamp");
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{}", received.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(received.header("webhook-signature"), expected);
    let sent_at = timestamp.parse::<i64>().unwrap();
    assert!((Utc::now().timestamp() - sent_at).abs() < 60);
}

/// `confab deliveries list` with `args`.
fn deliveries(server: &Server, args: &[&str]) -> Vec<Value> {
    let mut command = vec!["deliveries", "list"];
    command.extend_from_slice(args);
    server.cli(&command).as_array().unwrap().clone()
}

#[tokio::test]
async fn a_success_posts_the_ten_fields_signed() {
    let (server, receiver, client) = setup().await;
    let options = asynchronous().raw(&send_to(&receiver.url("ok"), "OnCallComplete", &[]));
    let request_id = client.send_queued("Create", &options, &log_row("1")).await;

    let received = receiver.wait_for("ok", 1).await;
    let callback = &received[0];
    assert_eq!(names(callback), FIELD_NAMES);
    let expected = [
        request_id.as_str(),
        "",
        "OK",
        "OK",
        "",
        "",
        "Asynchronous",
        "Asynchronous",
        "",
        "",
    ];
    for (name, value) in FIELD_NAMES.iter().zip(expected) {
        assert_eq!(callback.field(name), value, "{name}");
    }
    assert_eq!(
        callback.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    assert!(callback.header("webhook-id").starts_with("msg_"));
    assert_signed(&server, callback);
}

#[tokio::test]
async fn an_error_posts_its_code_and_message() {
    let (_server, receiver, client) = setup().await;
    let options = asynchronous().raw(&send_to(&receiver.url("error"), "OnCallComplete", &[]));
    let request_id = client.send_queued("Create", &options, &failing_row()).await;

    let callback = &receiver.wait_for("error", 1).await[0];
    let messages = client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
    assert_eq!(callback.field("RequestID"), request_id);
    assert_eq!(callback.field("StatusCode"), "Error");
    assert_eq!(callback.field("OverallStatusCode"), "Error");
    assert_eq!(callback.field("ErrorCode"), "10008");
    assert_eq!(
        callback.field("StatusMessage"),
        messages[0].field("StatusMessage")
    );
    assert!(!callback.field("StatusMessage").is_empty());
    assert_eq!(callback.field("RequestType"), "Asynchronous");
    assert_eq!(callback.field("ResultType"), "Asynchronous");
}

#[tokio::test]
async fn a_partly_failed_call_says_has_errors_in_both_status_fields() {
    let (_server, receiver, client) = setup().await;
    let options = asynchronous().raw(&send_to(&receiver.url("partly"), "OnCallComplete", &[]));
    let objects = [log_row("1"), failing_row()].concat();
    client.send_queued("Create", &options, &objects).await;

    let callback = &receiver.wait_for("partly", 1).await[0];
    // The API documents StatusCode as the same content as
    // OverallStatusCode.
    assert_eq!(callback.field("OverallStatusCode"), "Has Errors");
    assert_eq!(callback.field("StatusCode"), "Has Errors");
    assert_eq!(callback.field("ErrorCode"), "10008");
}

#[tokio::test]
async fn on_error_fires_only_when_the_call_fails() {
    let (_server, receiver, client) = setup().await;
    let entries = [
        send_to(&receiver.url("on-error"), "OnError", &[]),
        send_to(&receiver.url("never"), "Never", &[]),
    ]
    .concat();
    let options = asynchronous().raw(&entries);
    let succeeded = client.send_queued("Create", &options, &log_row("1")).await;
    let failed = client.send_queued("Create", &options, &failing_row()).await;

    let received = receiver.settled("on-error", 1).await;
    assert_eq!(received[0].field("RequestID"), failed);
    client
        .wait_for_result_messages("RequestID", &succeeded, 1)
        .await;
    assert!(receiver.received("never").is_empty());
}

#[tokio::test]
async fn every_send_response_to_entry_is_honoured() {
    let (_server, receiver, client) = setup().await;
    let entries = [
        send_to(&receiver.url("first"), "OnCallComplete", &[]),
        send_to(&receiver.url("second"), "Always", &[]),
        send_to(&receiver.url("first"), "Always", &[]),
    ]
    .concat();
    let options = asynchronous().raw(&entries);
    let request_id = client.send_queued("Create", &options, &log_row("1")).await;

    let first = receiver.settled("first", 2).await;
    let second = receiver.settled("second", 1).await;
    for callback in first.iter().chain(&second) {
        assert_eq!(callback.field("RequestID"), request_id);
    }
    assert_ne!(first[0].header("webhook-id"), first[1].header("webhook-id"));
}

#[tokio::test]
async fn a_conversation_posts_once_when_it_completes() {
    let (_server, receiver, client) = setup().await;
    let conversation = unique("conv");
    let entries = conversation_entries(&receiver);
    let mut request_ids = Vec::new();
    for sequence in 1..=3 {
        let mut options = part(&conversation, sequence, 3).raw(&entries);
        if sequence == 1 {
            options = options.raw(&send_to(&receiver.url("part"), "OnCallComplete", &[]));
        }
        let object = log_row(&sequence.to_string());
        request_ids.push(client.send_queued("Create", &options, &object).await);
    }

    let complete = receiver.settled("complete", 1).await;
    let callback = &complete[0];
    assert_eq!(callback.field("ConversationID"), conversation);
    assert_eq!(callback.field("SequenceCode"), "3");
    assert_eq!(callback.field("RequestID"), request_ids[2]);
    assert_eq!(callback.field("StatusCode"), "OK");
    assert_eq!(callback.field("OverallStatusCode"), "OK");
    let parts = receiver.settled("part", 1).await;
    assert_eq!(parts[0].field("SequenceCode"), "1");
    assert_eq!(parts[0].field("RequestID"), request_ids[0]);
    assert!(receiver.received("conv-error").is_empty());
}

#[tokio::test]
async fn a_failing_conversation_posts_once_on_error() {
    let (_server, receiver, client) = setup().await;
    let conversation = unique("conv");
    let entries = [
        send_to(&receiver.url("conv-error"), "OnConversationError", &[]),
        send_to(&receiver.url("calls"), "OnCallComplete", &[]),
    ]
    .concat();
    for sequence in 1..=3 {
        let mut options = part(&conversation, sequence, 3).raw(&entries);
        if sequence == 3 {
            let complete = send_to(&receiver.url("complete"), "OnConversationComplete", &[]);
            options = options.raw(&complete);
        }
        let object = match sequence {
            2 => failing_row(),
            _ => log_row(&sequence.to_string()),
        };
        client.send_queued("Create", &options, &object).await;
    }

    for path in ["conv-error", "complete"] {
        let callback = &receiver.settled(path, 1).await[0];
        assert_eq!(callback.field("SequenceCode"), "2", "{path}");
        assert_eq!(callback.field("ErrorCode"), "10008", "{path}");
        assert_eq!(callback.field("StatusCode"), "Error", "{path}");
        assert_eq!(callback.field("OverallStatusCode"), "Error", "{path}");
    }
    let mut calls = receiver.settled("calls", 3).await;
    calls.sort_by_key(|callback| callback.field("SequenceCode").to_owned());
    let codes: Vec<&str> = calls.iter().map(|call| call.field("ErrorCode")).collect();
    assert_eq!(codes, ["", "10008", "204"]);
}

#[tokio::test]
async fn results_and_objects_go_along_only_when_asked() {
    let (_server, receiver, client) = setup().await;
    let entries = [
        send_to(&receiver.url("bare"), "OnCallComplete", &[]),
        send_to(
            &receiver.url("results"),
            "OnCallComplete",
            &["IncludeResults"],
        ),
        send_to(
            &receiver.url("objects"),
            "OnCallComplete",
            &["IncludeResults", "IncludeObjects"],
        ),
        send_to(
            &receiver.url("base"),
            "OnCallComplete",
            &["IncludeResults", "IncludeObjects", "OnlyIncludeBase"],
        ),
        send_to(
            &receiver.url("no-results"),
            "OnCallComplete",
            &["IncludeObjects"],
        ),
    ]
    .concat();
    let options = asynchronous().raw(&entries);
    client.send_queued("Create", &options, &log_row("7")).await;

    let detail = async |path: &str| {
        receiver.wait_for(path, 1).await[0]
            .field("ResultDetailXML")
            .to_owned()
    };
    assert_eq!(detail("bare").await, "");
    assert_eq!(detail("no-results").await, "");

    let results = detail("results").await;
    let document = roxmltree::Document::parse(&results).unwrap();
    let result = document
        .descendants()
        .find(|node| node.has_tag_name("Result"))
        .unwrap();
    assert_eq!(child_text(result, "StatusCode"), Some("OK"));
    assert_eq!(child_text(result, "RequestType"), Some("Asynchronous"));
    assert!(!results.contains("<Object"));

    let objects = detail("objects").await;
    let document = roxmltree::Document::parse(&objects).unwrap();
    let object = document
        .descendants()
        .find(|node| node.has_tag_name("Object"))
        .unwrap();
    assert_eq!(child_text(object, "CustomerKey"), Some(LOG));
    let values: Vec<&str> = object
        .descendants()
        .filter(|node| node.has_tag_name("Value"))
        .filter_map(|node| node.text())
        .collect();
    assert_eq!(values, ["7", "v"]);

    let base = detail("base").await;
    let document = roxmltree::Document::parse(&base).unwrap();
    let object = document
        .descendants()
        .find(|node| node.has_tag_name("Object"))
        .unwrap();
    assert_eq!(child_text(object, "CustomerKey"), Some(LOG));
    assert!(!base.contains("Properties"));
}

/// The text of `node`'s child element `name`.
fn child_text<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.children()
        .find(|child| child.has_tag_name(name))
        .and_then(|child| child.text())
}

#[tokio::test]
async fn on_expired_fires_for_a_call_that_expired_in_the_queue() {
    let (mut server, receiver, client) = setup().await;
    let due = Utc::now() + Duration::milliseconds(1_000);
    let expires = due + Duration::milliseconds(200);
    let entries = [
        send_to(&receiver.url("expired"), "OnExpired", &[]),
        send_to(&receiver.url("on-error"), "OnError", &[]),
    ]
    .concat();
    let options = asynchronous().scheduled(due).expires(expires).raw(&entries);
    let request_id = client.send_queued("Create", &options, &log_row("1")).await;
    let fresh = asynchronous().raw(&send_to(&receiver.url("expired"), "OnExpired", &[]));
    client.send_queued("Create", &fresh, &log_row("2")).await;

    // The server is down while the call falls due and expires.
    server.kill();
    assert!(
        Utc::now() < due,
        "the server must be down before the call is due"
    );
    wait_until(WAIT, "the expiration time", async || {
        (Utc::now() > expires).then_some(())
    })
    .await;
    server.restart();

    let expired = receiver.settled("expired", 1).await;
    assert_eq!(expired[0].field("RequestID"), request_id);
    assert_eq!(expired[0].field("StatusCode"), "Error");
    assert!(expired[0].field("StatusMessage").starts_with("Expired"));
    receiver.settled("on-error", 1).await;
}

#[tokio::test]
async fn a_failed_callback_is_retried_until_it_succeeds() {
    let (_server, receiver, client) = setup().await;
    receiver.answer_next(&[500, 503]);
    let options = asynchronous().raw(&send_to(&receiver.url("retry"), "OnCallComplete", &[]));
    client.send_queued("Create", &options, &log_row("1")).await;

    let attempts = receiver.settled("retry", 3).await;
    let ids: Vec<&str> = attempts
        .iter()
        .map(|attempt| attempt.header("webhook-id"))
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert!(
        attempts
            .iter()
            .all(|attempt| attempt.body == attempts[0].body)
    );
}

#[tokio::test]
async fn the_compatibility_setting_makes_exactly_one_attempt() {
    let (server, receiver, client) = setup_with(&["--callback-single-attempt"]).await;
    receiver.answer_always(500);
    let options = asynchronous().raw(&send_to(&receiver.url("once"), "OnCallComplete", &[]));
    let request_id = client.send_queued("Create", &options, &log_row("1")).await;

    receiver.settled("once", 1).await;
    let dead = deliveries(&server, &["--dead"]);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["request_id"], request_id.as_str());
    assert_eq!(dead[0]["attempts"], 1);
}

#[tokio::test]
async fn dead_letters_are_listed_and_replayed() {
    let window = ["--callback-retry-window-secs", "1"];
    let (server, receiver, client) = setup_with(&window).await;
    receiver.answer_always(500);
    let options = asynchronous().raw(&send_to(&receiver.url("dead"), "OnCallComplete", &[]));
    let request_id = client.send_queued("Create", &options, &log_row("1")).await;

    let dead = wait_until(WAIT, "a dead letter", async || {
        let dead = deliveries(&server, &["--dead"]);
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    assert_eq!(dead.len(), 1);
    let letter = &dead[0];
    assert_eq!(letter["request_id"], request_id.as_str());
    assert_eq!(letter["state"], "Dead");
    assert!(letter["attempts"].as_u64().unwrap() >= 2, "{letter}");
    assert!(letter["last_error"].as_str().unwrap().contains("500"));
    let attempts_before = receiver.received("dead").len();

    receiver.answer_always(200);
    let id = letter["id"].as_str().unwrap();
    let replayed = server.cli(&["deliveries", "replay", id]);
    assert_eq!(replayed["state"], "Pending");
    receiver.settled("dead", attempts_before + 1).await;
    let all = deliveries(&server, &[]);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["state"], "Delivered");
    assert!(deliveries(&server, &["--dead"]).is_empty());
}

#[tokio::test]
async fn a_callback_to_a_private_address_of_another_host_is_never_sent() {
    let (server, receiver, client) = setup().await;
    // HTTPS passes the receipt check; `localhost` is not an allowed host,
    // and it resolves to loopback.
    let address = format!("https://localhost:{}/private", receiver.port());
    let options = asynchronous().raw(&send_to(&address, "OnCallComplete", &[]));
    client.send_queued("Create", &options, &log_row("1")).await;

    let dead = wait_until(WAIT, "the refused callback", async || {
        let dead = deliveries(&server, &["--dead"]);
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    let reason = dead[0]["last_error"].as_str().unwrap();
    assert!(reason.contains("loopback"), "{reason}");
    assert_eq!(dead[0]["attempts"], 1);
    assert!(receiver.received("private").is_empty());
}

/// Regression: an address no request can be sent to was retried for a day.
#[tokio::test]
async fn a_callback_to_port_zero_is_a_dead_letter_at_once() {
    let (server, _receiver, client) = setup().await;
    let options = asynchronous().raw(&send_to("http://127.0.0.1:0/", "OnCallComplete", &[]));
    client.send_queued("Create", &options, &log_row("1")).await;

    let dead = wait_until(WAIT, "the dead letter", async || {
        let dead = deliveries(&server, &["--dead"]);
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    assert_eq!(dead[0]["attempts"], 1);
    let reason = dead[0]["last_error"].as_str().unwrap();
    assert!(reason.contains("port"), "{reason}");
}

#[tokio::test]
async fn plain_http_to_a_host_not_allowed_is_refused_on_receipt() {
    let (_server, receiver, client) = setup().await;
    let address = format!("http://localhost:{}/plain", receiver.port());
    let options = asynchronous().raw(&send_to(&address, "OnCallComplete", &[]));
    let response = client
        .soap("Create", &request("Create", &options.xml(), &log_row("1")))
        .await;
    assert_eq!(response.refusal_code(), 227);
}

#[tokio::test]
async fn plain_http_to_a_host_hidden_behind_a_backslash_is_refused_on_receipt() {
    let (_server, receiver, client) = setup().await;
    // A backslash ends the authority of an `http` URL: this goes to
    // localhost, which is not allowed, not to 127.0.0.1, which is.
    let port = receiver.port();
    let address = format!("http://localhost:{port}\\@127.0.0.1:{port}/plain");
    let options = asynchronous().raw(&send_to(&address, "OnCallComplete", &[]));
    let response = client
        .soap("Create", &request("Create", &options.xml(), &log_row("1")))
        .await;
    assert_eq!(response.refusal_code(), 227);
}

#[tokio::test]
async fn callbacks_bypass_a_proxy_named_in_the_environment() {
    // A proxy would resolve the name again and connect where it likes,
    // past the address check; callbacks connect to the checked address.
    let proxy = Receiver::start().await;
    let proxy_url = proxy.url("");
    let environment = [
        ("HTTP_PROXY", proxy_url.as_str()),
        ("http_proxy", proxy_url.as_str()),
    ];
    let server = Server::start_with_env(FAST_CALLBACKS, &environment);
    let client = server.client().await;
    client
        .create_data_extension(LOG, &[Field::key("Id"), Field::text("V")])
        .await;
    let receiver = Receiver::start().await;
    let options = asynchronous().raw(&send_to(&receiver.url("direct"), "OnCallComplete", &[]));
    client.send_queued("Create", &options, &log_row("1")).await;

    receiver.settled("direct", 1).await;
    assert!(proxy.received("direct").is_empty());
}

#[tokio::test]
async fn callbacks_owed_at_a_crash_arrive_exactly_once() {
    // A port with nobody listening: the first attempts fail.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A short timeout makes a short lease: a delivery the crash caught in
    // the middle of an attempt is sent again once its lease has run out.
    let (mut server, _unused, client) = setup_with(&["--callback-timeout-ms", "1000"]).await;
    let address = format!("http://127.0.0.1:{port}/crash");
    let options = asynchronous().raw(&send_to(&address, "OnCallComplete", &[]));
    let first = client.send_queued("Create", &options, &log_row("1")).await;
    let second = client.send_queued("Create", &options, &log_row("2")).await;
    wait_until(WAIT, "failed first attempts", async || {
        let pending = deliveries(&server, &[]);
        let tried = pending.len() == 2
            && pending
                .iter()
                .all(|delivery| delivery["attempts"].as_u64().unwrap() >= 1);
        tried.then_some(())
    })
    .await;

    server.kill();
    let receiver = Receiver::start_on(port).await;
    server.restart();
    let received = receiver.wait_for("crash", 2).await;
    // A second crash after delivery sends nothing again.
    server.restart();
    let received_after = receiver.settled("crash", 2).await;
    assert_eq!(received.len(), received_after.len());
    let mut request_ids: Vec<&str> = received_after
        .iter()
        .map(|callback| callback.field("RequestID"))
        .collect();
    request_ids.sort_unstable();
    let mut expected = [first.as_str(), second.as_str()];
    expected.sort_unstable();
    assert_eq!(request_ids, expected);
}

#[tokio::test]
async fn a_cancelled_call_posts_its_cancellation() {
    let (_server, receiver, client) = setup().await;
    let later = Utc::now() + Duration::hours(1);
    let entries = [
        send_to(&receiver.url("complete"), "OnCallComplete", &[]),
        send_to(&receiver.url("error"), "OnError", &[]),
    ]
    .concat();
    let options = asynchronous().scheduled(later).raw(&entries);
    let request_id = client.send_queued("Create", &options, &log_row("1")).await;

    let cancel = format!(
        r#"<Objects xsi:type="ScheduledRequest"><RequestID>{request_id}</RequestID></Objects>"#
    );
    let response = client.soap("Delete", &request("Delete", "", &cancel)).await;
    assert_eq!(response.overall_status(), "OK", "{}", response.text);

    for path in ["complete", "error"] {
        let callback = &receiver.settled(path, 1).await[0];
        assert_eq!(callback.field("RequestID"), request_id);
        assert_eq!(callback.field("StatusCode"), "Error");
        assert!(callback.field("StatusMessage").starts_with("Cancelled"));
    }
}

#[tokio::test]
async fn a_conversation_invalidated_on_receipt_posts_its_error_once() {
    let (_server, receiver, client) = setup().await;
    let conversation = unique("conv");
    let entry = send_to(&receiver.url("conv-error"), "OnConversationError", &[]);
    let first = part(&conversation, 1, 3).raw(&entry);
    let request_id = client.send_queued("Create", &first, &log_row("1")).await;
    let second = part(&conversation, 2, 3).raw(&entry);
    client.send_queued("Create", &second, &log_row("2")).await;

    // Part 2 again: 214, and the conversation is over.
    let again = part(&conversation, 2, 3).raw(&entry);
    let refused = client
        .soap("Create", &request("Create", &again.xml(), &log_row("3")))
        .await;
    assert_eq!(refused.refusal_code(), 214);

    let callback = &receiver.settled("conv-error", 1).await[0];
    assert_eq!(callback.field("ConversationID"), conversation);
    assert_eq!(callback.field("RequestID"), request_id);
    assert_eq!(callback.field("SequenceCode"), "1");
    assert_eq!(callback.field("ErrorCode"), "214");
    assert_eq!(callback.field("OverallStatusCode"), "Error");
}

/// The default conversation time-out, in seconds.
const FIVE_MINUTES: i64 = 5 * 60;

#[tokio::test]
async fn a_conversation_that_times_out_posts_its_conversation_callbacks_once() {
    let (server, receiver, client) = setup_with_test_clock().await;
    let conversation = unique("conv");
    let entries = conversation_entries(&receiver);
    let first = part(&conversation, 1, 2).raw(&entries);
    let request_id = client.send_queued("Create", &first, &log_row("1")).await;

    // Four quiet minutes are within the gap: the conversation still waits
    // for its second part, and nothing is owed yet.
    server.advance_clock(FIVE_MINUTES - 60).await;
    receiver.settled("conv-error", 0).await;
    assert!(receiver.received("complete").is_empty());

    server.advance_clock(2 * 60).await;
    for path in ["conv-error", "complete"] {
        let callback = &receiver.settled(path, 1).await[0];
        assert_eq!(callback.field("ConversationID"), conversation, "{path}");
        assert_eq!(callback.field("RequestID"), request_id, "{path}");
        assert_eq!(callback.field("SequenceCode"), "1", "{path}");
        assert_eq!(callback.field("ErrorCode"), "203", "{path}");
        assert_eq!(callback.field("StatusCode"), "Error", "{path}");
        assert_eq!(callback.field("OverallStatusCode"), "Error", "{path}");
        let message = callback.field("StatusMessage");
        assert!(
            message.starts_with("Async API Timeout"),
            "{path}: {message}"
        );
    }

    // The late second part is refused, and its entries do not make the
    // ended conversation post again.
    let second = part(&conversation, 2, 2).raw(&entries);
    let late = client
        .soap("Create", &request("Create", &second.xml(), &log_row("2")))
        .await;
    assert_eq!(late.refusal_code(), 203);
    receiver.settled("conv-error", 1).await;
    receiver.settled("complete", 1).await;
}

/// A day, in seconds: the default retry window.
const ONE_DAY: i64 = 24 * 60 * 60;

/// The one delivery on `server`, whatever its state.
fn only_delivery(server: &Server) -> Value {
    let all = deliveries(server, &[]);
    assert_eq!(all.len(), 1, "{all:#?}");
    all[0].clone()
}

#[tokio::test]
async fn a_callback_failing_for_a_day_becomes_a_dead_letter_and_is_no_longer_tried() {
    // The default window of a day, counted on the test clock; the quick
    // backoff keeps attempts coming in real time while the clock jumps.
    let (server, receiver, client) = setup_with_test_clock().await;
    receiver.answer_always(500);
    let options = asynchronous().raw(&send_to(&receiver.url("failing"), "OnCallComplete", &[]));
    let request_id = client.send_queued("Create", &options, &log_row("1")).await;
    receiver.wait_for("failing", 1).await;

    // Three quarters of a day, then the rest less five minutes (a margin
    // for the real time the test itself takes): still retried.
    let quarter = ONE_DAY / 4;
    let mut advanced = 0;
    for step in [quarter, quarter, quarter, quarter - FIVE_MINUTES] {
        server.advance_clock(step).await;
        advanced += step;
        let attempts_so_far = receiver.received("failing").len();
        receiver.wait_for("failing", attempts_so_far + 2).await;
        let delivery = only_delivery(&server);
        assert_eq!(
            delivery["state"], "Pending",
            "after {advanced} s: {delivery}"
        );
    }

    server.advance_clock(2 * FIVE_MINUTES).await;
    let dead = wait_until(WAIT, "the dead letter", async || {
        let dead = deliveries(&server, &["--dead"]);
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    assert_eq!(dead.len(), 1);
    let letter = &dead[0];
    assert_eq!(letter["request_id"], request_id.as_str());
    assert_eq!(letter["state"], "Dead");
    let reason = letter["last_error"].as_str().unwrap();
    assert!(reason.starts_with("gave up after"), "{reason}");
    assert!(reason.contains("500"), "{reason}");
    // The first attempt and at least two in each quarter.
    let attempts = usize::try_from(letter["attempts"].as_u64().unwrap()).unwrap();
    assert!(attempts >= 9, "{letter}");

    // Every attempt was recorded, and none is made after the dead letter,
    // not even once the clock moves on.
    receiver.settled("failing", attempts).await;
    server.advance_clock(60 * 60).await;
    receiver.settled("failing", attempts).await;
    let after = only_delivery(&server);
    assert_eq!(after["state"], "Dead");
    assert_eq!(after["attempts"], letter["attempts"]);
}
