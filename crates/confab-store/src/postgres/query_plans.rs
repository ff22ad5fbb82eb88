//! The hot queries must read a range of one index in the order they want,
//! whatever the planner believes of the table, and never scan or sort it.
//!
//! These tests ask PostgreSQL for each query's generic plan, the one a
//! prepared statement keeps once PostgreSQL stops planning it per call:
//! first on a table never analysed (the planner guesses it small), then on
//! one it knows to be large. A plan that sorts may look as cheap when the
//! table seems small; once the queue holds hundreds of thousands of rows it
//! sorts them all for every claim.

#![allow(clippy::unwrap_used)]

use postgres::{Client, NoTls};

use super::SCHEMA;
use super::db::{FIRST_DUE_IN_LANE, NEXT_LANE_ACCOUNT, NEXT_READY_IN_LANE};
use super::housekeeping::{STALE_OPEN_CONVERSATIONS, delete_oldest_sql};
use super::outbox::DUE_DELIVERIES;

/// A schema of its own on the test server, dropped afterwards.
struct Schema {
    client: Client,
    name: String,
}

impl Schema {
    fn new() -> Self {
        let server = std::env::var("CONFAB_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let mut client = Client::connect(&server, NoTls).unwrap();
        let name = format!("confab_plans_{}", uuid::Uuid::new_v4().simple());
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {name}; SET search_path = {name}; {SCHEMA} \
                 SET plan_cache_mode = force_generic_plan;"
            ))
            .unwrap();
        Self { client, name }
    }

    /// The generic plan of `sql`, one line per step.
    fn plan(&mut self, sql: &str) -> Vec<String> {
        let parameters = (1..=9).filter(|n| sql.contains(&format!("${n}"))).count();
        let values = vec!["0"; parameters].join(", ");
        self.client
            .batch_execute(&format!("DEALLOCATE ALL; PREPARE hot AS {sql}"))
            .unwrap();
        let rows = self
            .client
            .query(&format!("EXPLAIN EXECUTE hot({values})"), &[])
            .unwrap();
        rows.iter().map(|row| row.get::<_, String>(0)).collect()
    }

    /// Asserts that `sql` reads `index` and neither scans a table nor sorts.
    fn assert_walks(&mut self, sql: &str, index: &str) {
        let plan = self.plan(sql);
        assert!(
            plan.iter()
                .any(|step| step.contains(&format!("using {index}"))),
            "{sql}: {plan:#?}"
        );
        let bad = ["Seq Scan", "Sort", "Bitmap"];
        assert!(
            plan.iter()
                .all(|step| bad.iter().all(|bad| !step.contains(bad))),
            "{sql}: {plan:#?}"
        );
    }

    /// Fills the queue tables with many rows and lets the planner know.
    fn fill(&mut self) {
        self.client
            .batch_execute(
                "INSERT INTO requests (request_id, account_id, operation, priority, run_after, \
                 state, payload, received_at, finished_at) \
                 SELECT 'r' || n, 7000001 + n % 5, 'Create', 1 + n % 3, n, \
                 CASE WHEN n % 10 = 0 THEN 'Ready' ELSE 'Done' END, '', n, \
                 CASE WHEN n % 10 = 0 THEN NULL ELSE n END \
                 FROM generate_series(1, 200000) AS n; \
                 INSERT INTO deliveries (delivery_id, account_id, request_id, channel, address, \
                 notice, state, next_attempt_at, retry_from, created_at, finished_at) \
                 SELECT 'd' || n, 7000001, 'r' || n, 'HTTPPost', 'https://x', '', \
                 CASE WHEN n % 10 = 0 THEN 'Pending' ELSE 'Delivered' END, n, n, n, \
                 CASE WHEN n % 10 = 0 THEN NULL ELSE n END \
                 FROM generate_series(1, 200000) AS n; \
                 INSERT INTO conversations (account_id, conversation_id, \
                 calls_in_conversation, state, first_part_at, last_part_at, updated_at) \
                 SELECT 7000001, 'c' || n, 2, CASE WHEN n % 10 = 0 THEN 'Open' ELSE 'Complete' END, \
                 n, n, n FROM generate_series(1, 200000) AS n; \
                 INSERT INTO result_items (account_id, request_id, record, created_at) \
                 SELECT 7000001, 'r' || n, '', n FROM generate_series(1, 200000) AS n; \
                 INSERT INTO result_messages (account_id, request_id, record, created_at) \
                 SELECT 7000001, 'r' || n, '', n FROM generate_series(1, 200000) AS n; \
                 INSERT INTO retrieve_cursors (request_id, account_id, query, after_id, created_at) \
                 SELECT 'r' || n, 7000001, '', 0, n FROM generate_series(1, 200000) AS n; \
                 ANALYZE;",
            )
            .unwrap();
    }

    /// Runs every assertion of this file.
    fn assert_every_hot_query_walks_its_index(&mut self) {
        self.assert_walks(NEXT_LANE_ACCOUNT, "requests_ready");
        let claim = format!("SELECT id FROM requests {FIRST_DUE_IN_LANE}");
        self.assert_walks(&claim, "requests_ready");
        self.assert_walks(NEXT_READY_IN_LANE, "requests_ready");
        let deliveries = format!("SELECT id FROM deliveries {DUE_DELIVERIES}");
        self.assert_walks(&deliveries, "deliveries_due");
        self.assert_walks(STALE_OPEN_CONVERSATIONS, "conversations_open");
        let purges = [
            ("result_items", "created_at", "result_items_created"),
            ("result_messages", "created_at", "result_messages_created"),
            ("requests", "finished_at", "requests_finished"),
            ("retrieve_cursors", "created_at", "retrieve_cursors_created"),
            ("deliveries", "finished_at", "deliveries_finished"),
        ];
        for (table, column, index) in purges {
            self.assert_walks(&delete_oldest_sql(table, column), index);
        }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = self
            .client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
    }
}

#[test]
fn hot_queries_walk_their_index_on_a_table_never_analysed() {
    Schema::new().assert_every_hot_query_walks_its_index();
}

#[test]
fn hot_queries_walk_their_index_on_a_large_table() {
    let mut schema = Schema::new();
    schema.fill();
    schema.assert_every_hot_query_walks_its_index();
}
