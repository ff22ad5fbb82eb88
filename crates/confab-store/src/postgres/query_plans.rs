//! The hot queries must read a range of one index in the order they want,
//! whatever the planner believes of the table, and never scan or sort it.
//!
//! The worker's and housekeeping's transactions plan as `QUEUE_PLANS` says
//! (one generic plan, no sorts or bitmaps where an index gives the order);
//! the writers', which claim callbacks, plan each statement for its values
//! first (a custom plan) and may keep a generic one later. Each is checked
//! in three states of the statistics: a table never analysed (the
//! planner guesses it small), one analysed while nearly empty and grown
//! since (the state a busy queue's statistics lag behind in), and one the
//! planner knows to be large. A plan that sorts may look as cheap when the
//! table seems small; once the queue holds hundreds of thousands of rows it
//! sorts them all for every claim, which is what the queue once did.

#![allow(clippy::unwrap_used)]

use postgres::{Client, NoTls};

use super::db::{ACCOUNTS_WITH_READY_WORK, NEXT_READY_IN_LANE, first_due_in_lane_sql};
use super::housekeeping::{STALE_OPEN_CONVERSATIONS, delete_oldest_sql};
use super::outbox::DUE_DELIVERIES;
use super::{QUEUE_PLANS, SCHEMA};

/// A schema of its own on the test server, dropped afterwards.
struct Schema {
    client: Client,
    name: String,
}

/// How many rows [`Schema::fill`] writes into each table.
const ROWS: i64 = 200_000;

impl Schema {
    fn new() -> Self {
        let server = std::env::var("CONFAB_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let mut client = Client::connect(&server, NoTls).unwrap();
        let name = format!("confab_plans_{}", uuid::Uuid::new_v4().simple());
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {name}; SET search_path = {name}; {SCHEMA}"
            ))
            .unwrap();
        // The statistics must be the ones each test sets up, not what
        // autovacuum happens to find in between.
        let tables = client
            .query(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1",
                &[&name],
            )
            .unwrap();
        for table in tables {
            let table: String = table.get(0);
            client
                .batch_execute(&format!(
                    "ALTER TABLE {table} SET (autovacuum_enabled = false)"
                ))
                .unwrap();
        }
        Self { client, name }
    }

    /// The plan of `sql` for `values`, one line per step: as the worker's
    /// and housekeeping's transactions plan it with `queue`, else the
    /// custom plan for those values.
    fn plan(&mut self, sql: &str, values: &[i64], queue: bool) -> Vec<String> {
        let settings = match queue {
            true => QUEUE_PLANS.replace("SET LOCAL", "SET"),
            false => "SET plan_cache_mode = force_custom_plan".to_owned(),
        };
        let values: Vec<String> = values.iter().map(i64::to_string).collect();
        self.client
            .batch_execute(&format!(
                "RESET ALL; SET search_path = {}; {settings}; DEALLOCATE ALL; \
                 PREPARE hot AS {sql}",
                self.name
            ))
            .unwrap();
        let explain = format!("EXPLAIN EXECUTE hot({})", values.join(", "));
        let rows = self.client.query(&explain, &[]).unwrap();
        rows.iter().map(|row| row.get::<_, String>(0)).collect()
    }

    /// Asserts that `sql`, planned as the worker's and housekeeping's
    /// transactions plan it (`Purpose::Queue`), reads `index` and neither
    /// scans a table nor sorts.
    fn assert_walks(&mut self, sql: &str, index: &str, values: &[i64]) {
        self.assert_plans_walk(sql, index, values, &[true]);
    }

    /// [`Schema::assert_walks`], and the same of the custom plan: for a
    /// statement that runs in the writers' transactions too, which plan
    /// for the values.
    fn assert_both_plans_walk(&mut self, sql: &str, index: &str, values: &[i64]) {
        self.assert_plans_walk(sql, index, values, &[true, false]);
    }

    /// Asserts that the plans of `sql` (the queue's, or custom, as `modes`
    /// say) read `index` and neither scan a table nor sort.
    fn assert_plans_walk(&mut self, sql: &str, index: &str, values: &[i64], modes: &[bool]) {
        for &queue in modes {
            let plan = self.plan(sql, values, queue);
            let uses = format!("using {index}");
            assert!(
                plan.iter().any(|step| step.contains(&uses)),
                "{sql} (queue plans: {queue}): {plan:#?}"
            );
            let bad = ["Seq Scan", "Sort", "Bitmap"];
            assert!(
                plan.iter()
                    .all(|step| bad.iter().all(|bad| !step.contains(bad))),
                "{sql} (queue plans: {queue}): {plan:#?}"
            );
        }
    }

    /// Writes `rows` rows into each hot table, a tenth of them still to do,
    /// with keys that start with `batch`.
    fn fill(&mut self, batch: &str, rows: i64) {
        self.client
            .batch_execute(&format!(
                "INSERT INTO requests (request_id, account_id, operation, priority, run_after, \
                 state, payload, received_at, finished_at) \
                 SELECT '{batch}r' || n, 7000001 + n % 5, 'Create', 1 + n % 3, n, \
                 CASE WHEN n % 10 = 0 THEN 'Ready' ELSE 'Done' END, '', n, \
                 CASE WHEN n % 10 = 0 THEN NULL ELSE n END \
                 FROM generate_series(1, {rows}) AS n; \
                 INSERT INTO deliveries (delivery_id, account_id, request_id, channel, address, \
                 notice, state, next_attempt_at, retry_from, created_at, finished_at) \
                 SELECT '{batch}d' || n, 7000001, '{batch}r' || n, 'HTTPPost', 'https://x', '', \
                 CASE WHEN n % 10 = 0 THEN 'Pending' ELSE 'Delivered' END, n, n, n, \
                 CASE WHEN n % 10 = 0 THEN NULL ELSE n END \
                 FROM generate_series(1, {rows}) AS n; \
                 INSERT INTO conversations (account_id, conversation_id, \
                 calls_in_conversation, state, first_part_at, last_part_at, updated_at) \
                 SELECT 7000001, '{batch}c' || n, 2, \
                 CASE WHEN n % 10 = 0 THEN 'Open' ELSE 'Complete' END, \
                 n, n, n FROM generate_series(1, {rows}) AS n; \
                 INSERT INTO result_items (account_id, request_id, record, created_at) \
                 SELECT 7000001, '{batch}r' || n, '', n FROM generate_series(1, {rows}) AS n; \
                 INSERT INTO result_messages (account_id, request_id, record, created_at) \
                 SELECT 7000001, '{batch}r' || n, '', n FROM generate_series(1, {rows}) AS n; \
                 INSERT INTO retrieve_cursors \
                 (request_id, account_id, query, after_id, created_at) \
                 SELECT '{batch}r' || n, 7000001, '', 0, n FROM generate_series(1, {rows}) AS n;"
            ))
            .unwrap();
    }

    /// Lets the planner know the tables as they are now.
    fn analyse(&mut self) {
        self.client.batch_execute("ANALYZE").unwrap();
    }

    /// Runs every assertion of this file, with values that pick a tenth of
    /// each range (`$1` and `$2` as the statement uses them).
    fn assert_every_hot_query_walks_its_index(&mut self) {
        let (lane, account, floor, now, limit) = (2, 7_000_002, ROWS / 2, ROWS, 32);
        let accounts = ACCOUNTS_WITH_READY_WORK;
        self.assert_walks(accounts, "requests_ready", &[lane]);
        let claim = first_due_in_lane_sql();
        self.assert_walks(&claim, "requests_ready", &[lane, account, floor, now]);
        let next = NEXT_READY_IN_LANE;
        self.assert_walks(next, "requests_ready", &[lane, account, floor]);
        let deliveries = format!("SELECT id FROM deliveries {DUE_DELIVERIES}");
        self.assert_both_plans_walk(&deliveries, "deliveries_due", &[now, limit, floor]);
        let stale = STALE_OPEN_CONVERSATIONS;
        self.assert_walks(stale, "conversations_open", &[now, limit, floor]);
        let purges = [
            ("result_items", "created_at", "result_items_created"),
            ("result_messages", "created_at", "result_messages_created"),
            ("requests", "finished_at", "requests_finished"),
            ("retrieve_cursors", "created_at", "retrieve_cursors_created"),
            ("deliveries", "finished_at", "deliveries_finished"),
        ];
        for (table, column, index) in purges {
            let purge = delete_oldest_sql(table, column);
            self.assert_walks(&purge, index, &[now, limit, floor]);
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
fn hot_queries_walk_their_index_on_tables_never_analysed() {
    let mut schema = Schema::new();
    schema.fill("a", ROWS);
    schema.assert_every_hot_query_walks_its_index();
}

#[test]
fn hot_queries_walk_their_index_on_tables_that_grew_since_they_were_analysed() {
    let mut schema = Schema::new();
    schema.fill("a", 10);
    schema.analyse();
    schema.fill("b", ROWS);
    schema.assert_every_hot_query_walks_its_index();
}

#[test]
fn hot_queries_walk_their_index_on_tables_known_to_be_large() {
    let mut schema = Schema::new();
    schema.fill("a", ROWS);
    schema.analyse();
    schema.assert_every_hot_query_walks_its_index();
}
