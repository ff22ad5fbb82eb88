//! The test clock (`--test-clock`): the route that moves it exists only
//! when it is on, and what reads the time reads it: token expiry and the
//! receipt checks on `ScheduledTime` and `RequestExpirationTime`.

use chrono::{Duration, Utc};

use crate::support::{
    Client, Field, Options, Server, asynchronous, request, retrieve, row, unique,
};

/// The data extension the tests write to.
const LOG: &str = "Log";

/// Seconds in a day.
const DAY_SECS: i64 = 24 * 3600;

/// A client whose account has the `Log` data extension.
async fn client_with_log(server: &Server) -> Client {
    let client = server.client().await;
    client.create_data_extension(LOG, &[Field::key("Id")]).await;
    client
}

/// The code of each result of a Create of one `Log` row with `options`.
async fn codes(client: &Client, options: &Options) -> Vec<Option<i64>> {
    let body = request("Create", &options.xml(), &row(LOG, &[("Id", &unique("r"))]));
    client.soap("Create", &body).await.error_codes()
}

#[tokio::test]
async fn the_clock_route_exists_only_with_the_test_clock() {
    let server = Server::start();
    let client = server.client().await;
    let body = serde_json::json!({ "advance_seconds": 60 });
    let (status, _) = client.post_json("/_confab/clock", &body).await;
    assert_eq!(status, 404);

    let server = Server::start_with_test_clock(&[]);
    let client = server.client().await;
    let (status, answer) = client.post_json("/_confab/clock", &body).await;
    assert_eq!(status, 200);
    let now: chrono::DateTime<Utc> = answer["now"].as_str().unwrap().parse().unwrap();
    assert!(now >= Utc::now() + Duration::seconds(59), "{now}");

    let backwards = serde_json::json!({ "advance_seconds": -60 });
    let (status, _) = client.post_json("/_confab/clock", &backwards).await;
    assert_eq!(status, 400, "the clock only moves ahead");
}

#[tokio::test]
async fn the_clock_cannot_be_moved_past_what_the_server_can_count() {
    let server = Server::start_with_test_clock(&[]);
    let client = server.client().await;
    // 300,000 years: within what the route reads, beyond chrono's range
    // once added to now. It used to panic every request after it.
    let eons = serde_json::json!({ "advance_seconds": 10_000_000_000_000_i64 });
    let (status, _) = client.post_json("/_confab/clock", &eons).await;
    assert_eq!(status, 400);
    let century = serde_json::json!({ "advance_seconds": 36_525 * DAY_SECS });
    let (status, _) = client.post_json("/_confab/clock", &century).await;
    assert_eq!(status, 200);
    let one_more = serde_json::json!({ "advance_seconds": 1 });
    let (status, _) = client.post_json("/_confab/clock", &one_more).await;
    assert_eq!(status, 400, "the offset is capped in total, not per call");

    let client = client_with_log(&server).await;
    assert_eq!(codes(&client, &asynchronous()).await, vec![None]);
}

#[tokio::test]
async fn tokens_expire_by_the_servers_clock() {
    let server = Server::start_with_test_clock(&[]);
    let client = server.client().await;
    let list = retrieve("DataExtension", &["CustomerKey"], None);
    client.retrieve(&list).await;

    server.advance_clock(19 * 60).await;
    let (code, message) = client.soap("Retrieve", &list).await.expect_fault();
    assert!(code.ends_with(":Security"), "{code}");
    assert_eq!(message, "Token Expired");
    server.client().await.retrieve(&list).await;
}

#[tokio::test]
async fn the_thirty_day_limit_on_scheduled_time_counts_from_the_servers_now() {
    let server = Server::start_with_test_clock(&[]);
    let now = server.advance_clock(10 * DAY_SECS).await;
    let client = client_with_log(&server).await;

    // By the system clock both are less than 30 days ahead; by the server's
    // clock one is beyond the limit.
    let beyond = asynchronous().scheduled(now + Duration::days(30) + Duration::minutes(1));
    assert_eq!(codes(&client, &beyond).await, [Some(226)]);
    let within = asynchronous().scheduled(now + Duration::days(29));
    assert_eq!(codes(&client, &within).await, [None]);
}

#[tokio::test]
async fn an_expiration_time_past_by_the_servers_clock_gets_228() {
    let server = Server::start_with_test_clock(&[]);
    server.advance_clock(2 * 3600).await;
    let client = client_with_log(&server).await;
    let past_for_the_server = asynchronous().expires(Utc::now() + Duration::hours(1));
    assert_eq!(codes(&client, &past_for_the_server).await, [Some(228)]);
}
