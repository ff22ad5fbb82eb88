//! The queue's and housekeeping's hot queries must walk an index, never scan
//! a table: the queue may hold hundreds of thousands of rows. These tests
//! ask SQLite for each query's plan on the real schema.

#![allow(clippy::unwrap_used)]

use rusqlite::Connection;

use super::SCHEMA;
use super::db::{FIRST_DUE_IN_LANE, NEXT_LANE_ACCOUNT};
use super::housekeeping::{STALE_OPEN_CONVERSATIONS, delete_oldest_sql};

/// The plan of `sql`, one line per step.
fn plan(sql: &str) -> Vec<String> {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    // Any values do: the plan is chosen when the statement is prepared.
    let values = vec![0_i64; statement.parameter_count()];
    statement
        .query_map(rusqlite::params_from_iter(values), |row| {
            row.get::<_, String>(3)
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Asserts that `sql` scans no table and uses `index`.
fn assert_indexed(sql: &str, index: &str) {
    let steps = plan(sql);
    assert!(
        steps.iter().all(|step| !step.starts_with("SCAN")),
        "{sql}: {steps:?}"
    );
    assert!(
        steps.iter().any(|step| step.contains(index)),
        "{sql}: {steps:?}"
    );
}

#[test]
fn picking_the_next_account_of_a_lane_uses_the_lane_index() {
    assert_indexed(NEXT_LANE_ACCOUNT, "requests_lane");
}

#[test]
fn picking_an_accounts_first_due_request_uses_the_lane_index() {
    let sql = format!("SELECT id FROM requests {FIRST_DUE_IN_LANE}");
    assert_indexed(&sql, "requests_lane");
    assert!(
        plan(&sql).iter().all(|step| !step.contains("TEMP B-TREE")),
        "the order comes from the index, not from sorting"
    );
}

#[test]
fn finding_silent_conversations_uses_the_open_index() {
    assert_indexed(STALE_OPEN_CONVERSATIONS, "conversations_open");
}

#[test]
fn purging_walks_each_tables_time_index() {
    let purges = [
        ("result_items", "created_at", "result_items_created"),
        ("result_messages", "created_at", "result_messages_created"),
        ("requests", "finished_at", "requests_finished"),
        ("retrieve_cursors", "created_at", "retrieve_cursors_created"),
        ("deliveries", "finished_at", "deliveries_finished"),
    ];
    for (table, column, index) in purges {
        assert_indexed(&delete_oldest_sql(table, column), index);
    }
}
