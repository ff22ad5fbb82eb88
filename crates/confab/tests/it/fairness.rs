//! Fairness over HTTP: one account's flood of calls does not hold back
//! another account's call in the same lane. The order is read from the
//! `result_messages` table, whose row ids follow the order calls ran in
//! when one worker runs them (several would run some side by side).

use crate::support::{Client, Field, Server, asynchronous, row, unique};

/// The data extension both accounts write to.
const LOG: &str = "Log";

/// How many calls the flooding account sends.
const FLOOD: usize = 40;

/// A client whose account has the `Log` data extension.
async fn with_log(client: Client) -> Client {
    client.create_data_extension(LOG, &[Field::key("Id")]).await;
    client
}

#[tokio::test]
async fn one_accounts_flood_does_not_hold_back_another_accounts_call() {
    let server = Server::start_with_test_clock(&["--workers", "1"]);
    let flooder = with_log(server.client().await).await;
    let other_account = server.create_account("Other");
    let other_credentials = server.create_client(other_account);
    let other = with_log(server.client_for(&other_credentials).await).await;

    // Everything falls due at the same instant, the flood queued first.
    let due = server.now().await + chrono::Duration::minutes(10);
    let options = asynchronous().scheduled(due);
    for _ in 0..FLOOD {
        let body = row(LOG, &[("Id", &unique("a"))]);
        flooder.send_queued("Create", &options, &body).await;
    }
    let single = other
        .send_queued("Create", &options, &row(LOG, &[("Id", "b")]))
        .await;
    server.advance_clock(10 * 60 + 1).await;
    other
        .wait_for_result_messages("RequestID", &single, 1)
        .await;

    let order = server.sql_integers("SELECT account_id FROM result_messages ORDER BY id", &[]);
    let position = order
        .iter()
        .position(|account| *account == other_account)
        .unwrap();
    assert!(position <= 1, "ran as call {position} of {order:?}");
}
