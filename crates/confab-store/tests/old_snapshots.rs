//! What a long transaction elsewhere in the database does to Confab's
//! scans on PostgreSQL: it must not make them read what ran before.
//!
//! While a snapshot older than a change is open, PostgreSQL keeps both the
//! row versions the change made dead and their index entries, and a scan
//! from the front of an index visits each. Every test here holds such a
//! snapshot open on a connection of its own, pushes a few thousand rows
//! through one of the oldest-first scans (claiming work, claiming
//! callbacks, timing conversations out, purging results), and then counts, in PostgreSQL's own
//! statistics, how many index entries those scans read. Starting every
//! scan at the front would read about n²/2 entries for n rows; starting
//! at the floor (`postgres/floors.rs`) reads a few per row.

#![allow(clippy::unwrap_used)]

// PostgreSQL only: SQLite keeps no dead rows for a reader to walk.
#[allow(dead_code, unused_macros)]
mod backends;

use std::sync::Arc;

use backends::{Backend, Database};
use chrono::{DateTime, Duration, Utc};
use confab_core::call::{ObjectCall, Operation};
use confab_core::data_extension::{DataExtensionObject, Property};
use confab_core::intake::{AsyncPlan, ConversationPart};
use confab_core::object::ApiObject;
use confab_core::options::{
    AsyncResponse, QueuePriority, RequestOptions, RespondWhen, ResponseType,
};
use confab_core::result::ObjectResult;
use confab_core::time::FixedClock;
use confab_core::{AccountId, RequestId};
use confab_store::outbox::DeliveryOutcome;
use confab_store::{Executor, IntakeOutcome, ObjectTx, Rotation, Store, StoreError, Submission};

const ACCOUNT: AccountId = AccountId(7_000_001);

/// How many rows each test pushes through its scan.
const ROWS: i64 = 1_500;

/// The most index entries a scan may read per row it handles.
const ENTRIES_PER_ROW: i64 = 10;

fn t0() -> DateTime<Utc> {
    "2026-12-03T12:00:00Z".parse().unwrap()
}

/// Succeeds every object.
struct Succeed;

impl Executor for Succeed {
    fn execute(
        &self,
        _tx: &mut dyn ObjectTx,
        _account: AccountId,
        call: &ObjectCall,
        _now: DateTime<Utc>,
    ) -> Result<Vec<ObjectResult>, StoreError> {
        let ordinals = 0..call.objects.len() as i32;
        Ok(ordinals.map(|n| ObjectResult::ok(n, "done")).collect())
    }
}

/// An asynchronous call of one row, with a callback when `callback`.
fn call(callback: bool) -> ObjectCall {
    let send_response_to = match callback {
        true => vec![AsyncResponse {
            response_type: ResponseType::HttpPost,
            response_address: "https://example.com/done".into(),
            respond_when: Some(RespondWhen::OnCallComplete),
            include_results: false,
            include_objects: false,
            only_include_base: false,
        }],
        false => Vec::new(),
    };
    ObjectCall {
        operation: Operation::Create,
        options: RequestOptions {
            send_response_to,
            ..RequestOptions::default()
        },
        action: None,
        objects: vec![ApiObject::DataExtensionObject(DataExtensionObject {
            properties: vec![Property {
                name: "V".into(),
                value: Some("v".into()),
            }],
            ..Default::default()
        })],
    }
}

/// Queues `ROWS` calls received a second apart from `t0`.
fn submit_all(store: &Arc<dyn Store>, callback: bool) {
    submit_each(store, callback, |_| None);
}

/// Queues `ROWS` calls received a second apart from `t0`, the `n`th as the
/// conversation part `part(n)` says.
fn submit_each(
    store: &Arc<dyn Store>,
    callback: bool,
    part: impl Fn(i64) -> Option<ConversationPart>,
) {
    for n in 0..ROWS {
        let plan = AsyncPlan {
            part: part(n),
            priority: QueuePriority::Medium,
            scheduled_time: None,
            expires_at: None,
        };
        let received_at = t0() + Duration::seconds(n);
        let submission = Submission::new(
            RequestId::new_random(),
            ACCOUNT,
            plan,
            &call(callback),
            received_at,
        )
        .unwrap();
        let outcome = store.enqueue(submission).blocking_wait().unwrap();
        assert_eq!(outcome, IntakeOutcome::Queued);
    }
}

/// When the worker starts on the queue: a day after the first call.
fn run_at() -> DateTime<Utc> {
    t0() + Duration::days(1)
}

/// Runs everything queued, ten requests a transaction, each transaction a
/// second after the one before (so that results carry distinct times, as
/// they do in life), and returns how many ran.
fn run_all(store: &Arc<dyn Store>) -> i64 {
    let mut ran = 0;
    let mut rotation = Rotation::default();
    for second in 0.. {
        let now = run_at() + Duration::seconds(second);
        let clock = Arc::new(FixedClock(now));
        let (batch, next) = store
            .run_due(Arc::new(Succeed), clock, 10, rotation)
            .unwrap();
        if batch.is_empty() {
            break;
        }
        ran += batch.len() as i64;
        rotation = next;
    }
    ran
}

/// A PostgreSQL schema with a store on it, and a connection of its own
/// holding a snapshot from before anything was written.
fn with_old_snapshot() -> (Database, Arc<dyn Store>, ::postgres::Client) {
    let database = Database::new(Backend::Postgres);
    let store = database.open();
    store.bootstrap().unwrap();
    let mut old = ::postgres::Client::connect(&database.postgres_url(), ::postgres::NoTls).unwrap();
    old.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM requests")
        .unwrap();
    (database, store, old)
}

/// Ends the old snapshot's transaction and drops the store, then returns
/// how many entries of `index` the store's scans read.
fn entries_read(
    database: &Database,
    store: Arc<dyn Store>,
    mut old: ::postgres::Client,
    index: &str,
) -> i64 {
    drop(store);
    old.batch_execute("ROLLBACK").unwrap();
    drop(old);
    database.index_entries_read(index)
}

#[test]
fn claims_do_not_read_what_ran_under_an_old_snapshot() {
    let (database, store, old) = with_old_snapshot();
    submit_all(&store, false);
    assert_eq!(run_all(&store), ROWS);

    let read = entries_read(&database, store, old, "requests_ready");
    assert!(
        read < ROWS * ENTRIES_PER_ROW,
        "claiming {ROWS} requests read {read} entries of the ready index"
    );
}

#[test]
fn callback_claims_do_not_read_what_was_sent_under_an_old_snapshot() {
    let (database, store, old) = with_old_snapshot();
    submit_all(&store, true);
    assert_eq!(run_all(&store), ROWS);
    let sent_at = run_at() + Duration::days(1);

    let mut sent = 0;
    loop {
        let claimed = store
            .claim_deliveries(sent_at, Duration::seconds(30), 10)
            .unwrap();
        if claimed.is_empty() {
            break;
        }
        for delivery in claimed {
            let outcome = DeliveryOutcome::Delivered;
            assert!(store.finish_delivery(delivery, outcome, sent_at).unwrap());
            sent += 1;
        }
    }
    assert_eq!(sent, ROWS);

    let read = entries_read(&database, store, old, "deliveries_due");
    assert!(
        read < ROWS * ENTRIES_PER_ROW,
        "claiming {ROWS} callbacks read {read} entries of the outbox index"
    );
}

#[test]
fn purges_do_not_read_what_earlier_batches_deleted_under_an_old_snapshot() {
    let (database, store, old) = with_old_snapshot();
    submit_all(&store, false);
    assert_eq!(run_all(&store), ROWS);

    let later = t0() + Duration::days(60);
    let mut purged = 0;
    loop {
        let deleted = store.purge_expired(later, Duration::days(30), 20).unwrap();
        if deleted == 0 {
            break;
        }
        purged += deleted as i64;
    }
    // A result message, a result item and the request, for each call.
    assert_eq!(purged, 3 * ROWS);

    let read = entries_read(&database, store, old, "result_items_created");
    assert!(
        read < ROWS * ENTRIES_PER_ROW,
        "purging {ROWS} result items read {read} entries of their index"
    );
}

#[test]
fn time_outs_do_not_read_conversations_that_moved_on_under_an_old_snapshot() {
    let (database, store, old) = with_old_snapshot();
    // Part 1 of 2 of a conversation each; part 2 never comes.
    submit_each(&store, false, |n| {
        Some(ConversationPart {
            conversation_id: format!("silent-{n}"),
            sequence_code: 1,
            calls_in_conversation: 2,
        })
    });

    let mut timed_out = 0;
    for second in 0.. {
        let now = t0() + Duration::days(1) + Duration::seconds(second);
        let moved = store
            .time_out_conversations(now, Duration::minutes(5), 20)
            .unwrap();
        if moved.is_empty() {
            break;
        }
        timed_out += moved.len() as i64;
    }
    assert_eq!(timed_out, ROWS);

    let read = entries_read(&database, store, old, "conversations_open");
    assert!(
        read < ROWS * ENTRIES_PER_ROW,
        "timing out {ROWS} conversations read {read} entries of their index"
    );
}
