//! The queue's rules against a real SQLite file and a real PostgreSQL
//! database: what intake stores, the order work runs in, exactly-once
//! running, conversations, priorities, schedules, expiry and cancellation.
//!
//! Every test goes through the `Store` trait only and runs once per
//! backend (see `on_every_backend!` at the end); [`Database`] is the one
//! place that names them. PostgreSQL is found at `CONFAB_TEST_DATABASE_URL`
//! (by default the local server's `test` database); each test gets a schema
//! of its own, dropped afterwards.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use confab_core::call::{ObjectCall, Operation};
use confab_core::data_extension::{DataExtensionObject, Property};
use confab_core::intake::{AsyncPlan, ConversationPart};
use confab_core::object::{ApiObject, ObjectBase};
use confab_core::options::{QueuePriority, RequestOptions};
use confab_core::result::ObjectResult;
use confab_core::{AccountId, AsyncErrorCode, RequestId};
use confab_store::postgres::{PostgresSettings, PostgresStore};
use confab_store::sqlite::SqliteStore;
use confab_store::{
    Executor, IntakeOutcome, ObjectTx, RequestState, ResultScope, Store, StoreError, Submission,
};

/// The backends every test runs on.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Where one test's data lives; dropping it removes the data.
enum Database {
    Sqlite(tempfile::TempDir),
    Postgres { server: String, schema: String },
}

/// The PostgreSQL server the tests use.
fn postgres_server() -> String {
    std::env::var("CONFAB_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl Database {
    /// A fresh, empty database.
    fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::Sqlite(tempfile::tempdir().unwrap()),
            Backend::Postgres => {
                let server = postgres_server();
                let schema = format!("confab_test_{}", uuid::Uuid::new_v4().simple());
                let mut client = ::postgres::Client::connect(&server, ::postgres::NoTls).unwrap();
                client
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .unwrap();
                Self::Postgres { server, schema }
            }
        }
    }

    /// A store on this database; several may be opened one after another.
    fn open(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(dir) => Arc::new(SqliteStore::open(dir.path()).unwrap()),
            Self::Postgres { server, schema } => {
                let separator = if server.contains('?') { '&' } else { '?' };
                let url = format!("{server}{separator}options=-csearch_path%3D{schema}");
                Arc::new(PostgresStore::open(&url, PostgresSettings::default()).unwrap())
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Self::Postgres { server, schema } = self
            && let Ok(mut client) = ::postgres::Client::connect(server, ::postgres::NoTls)
        {
            let _ = client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}

const ACCOUNT: AccountId = AccountId(7_000_001);

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// An executor that records the value of each object it runs, and fails the
/// objects whose value starts with `fail`.
#[derive(Default)]
struct Recorder {
    ran: Mutex<Vec<String>>,
}

impl Recorder {
    fn ran(&self) -> Vec<String> {
        self.ran.lock().unwrap().clone()
    }
}

impl Executor for Recorder {
    fn execute(
        &self,
        _tx: &mut dyn ObjectTx,
        _account: AccountId,
        call: &ObjectCall,
        _now: DateTime<Utc>,
    ) -> Result<Vec<ObjectResult>, StoreError> {
        let mut results = Vec::new();
        for (ordinal, object) in call.objects.iter().enumerate() {
            let ApiObject::DataExtensionObject(row) = object else {
                unreachable!()
            };
            let value = row.properties[0].value.clone().unwrap();
            self.ran.lock().unwrap().push(value.clone());
            results.push(if value.starts_with("fail") {
                ObjectResult::error(ordinal as i32, 99, format!("{value} failed"))
            } else {
                ObjectResult::ok(ordinal as i32, "done")
            });
        }
        Ok(results)
    }
}

/// A call with one row object per value.
fn call(values: &[&str]) -> ObjectCall {
    let objects = values
        .iter()
        .map(|value| {
            ApiObject::DataExtensionObject(DataExtensionObject {
                base: ObjectBase {
                    correlation_id: Some(format!("c-{value}")),
                    ..Default::default()
                },
                properties: vec![Property {
                    name: "V".into(),
                    value: Some((*value).into()),
                }],
                ..Default::default()
            })
        })
        .collect();
    ObjectCall {
        operation: Operation::Create,
        options: RequestOptions::default(),
        action: None,
        objects,
    }
}

fn plan() -> AsyncPlan {
    AsyncPlan {
        part: None,
        priority: QueuePriority::Medium,
        scheduled_time: None,
        expires_at: None,
    }
}

fn part(conversation: &str, sequence_code: i32, calls: i32) -> AsyncPlan {
    AsyncPlan {
        part: Some(ConversationPart {
            conversation_id: conversation.into(),
            sequence_code,
            calls_in_conversation: calls,
        }),
        ..plan()
    }
}

fn submit(store: &Arc<dyn Store>, plan: AsyncPlan, values: &[&str]) -> (RequestId, IntakeOutcome) {
    let request_id = RequestId::new_random();
    let submission = Submission::new(request_id, ACCOUNT, plan, &call(values), t0()).unwrap();
    (
        request_id,
        store.enqueue(submission).blocking_wait().unwrap(),
    )
}

fn run_all(store: &Arc<dyn Store>, executor: &Arc<Recorder>, now: DateTime<Utc>) -> usize {
    let executor: Arc<dyn Executor> = executor.clone();
    let mut total = 0;
    loop {
        let ran = store.run_due(executor.clone(), now, 10).unwrap();
        if ran.is_empty() {
            return total;
        }
        total += ran.len();
    }
}

fn result_codes(store: &Arc<dyn Store>, request_id: RequestId) -> Vec<(String, Option<i32>)> {
    let mut codes = Vec::new();
    let scope = ResultScope {
        request_id: Some(request_id.to_string()),
        conversation_id: None,
    };
    store
        .read(&mut |tx| {
            codes = tx
                .result_items(ACCOUNT, &scope, 0, 100)?
                .into_iter()
                .map(|item| (item.record.status_code, item.record.error_code))
                .collect();
            Ok(())
        })
        .unwrap();
    codes
}

fn message_count(store: &Arc<dyn Store>, request_id: RequestId) -> usize {
    let mut count = 0;
    let scope = ResultScope {
        request_id: Some(request_id.to_string()),
        conversation_id: None,
    };
    store
        .read(&mut |tx| {
            count = tx.result_messages(ACCOUNT, &scope, 0, 100)?.len();
            Ok(())
        })
        .unwrap();
    count
}

fn setup(backend: Backend) -> (Arc<dyn Store>, Database, Arc<Recorder>) {
    let database = Database::new(backend);
    let store = database.open();
    store.bootstrap().unwrap();
    (store, database, Arc::new(Recorder::default()))
}

fn a_queued_request_runs_exactly_once_with_its_results(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let (request_id, outcome) = submit(&store, plan(), &["a", "b"]);
    assert_eq!(outcome, IntakeOutcome::Queued);

    assert_eq!(run_all(&store, &executor, t0()), 1);
    assert_eq!(run_all(&store, &executor, t0()), 0);
    assert_eq!(executor.ran(), vec!["a", "b"]);
    assert_eq!(message_count(&store, request_id), 1);
    assert_eq!(
        result_codes(&store, request_id),
        vec![("OK".into(), None), ("OK".into(), None)]
    );
}

fn conversation_parts_wait_for_all_and_run_in_sequence_order(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    submit(&store, part("conv", 3, 3), &["third"]);
    submit(&store, part("conv", 1, 3), &["first"]);
    assert_eq!(
        run_all(&store, &executor, t0()),
        0,
        "nothing runs before every part is in"
    );

    submit(&store, part("conv", 2, 3), &["second"]);
    assert_eq!(run_all(&store, &executor, t0()), 3);
    assert_eq!(executor.ran(), vec!["first", "second", "third"]);
}

fn a_failing_part_stops_its_conversation_and_later_parts_report_204(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let (first, _) = submit(&store, part("conv", 1, 3), &["one"]);
    let (second, _) = submit(&store, part("conv", 2, 3), &["fail-two"]);
    let (third, _) = submit(&store, part("conv", 3, 3), &["three"]);

    run_all(&store, &executor, t0());
    assert_eq!(executor.ran(), vec!["one", "fail-two"]);
    assert_eq!(result_codes(&store, first), vec![("OK".into(), None)]);
    assert_eq!(
        result_codes(&store, second),
        vec![("Error".into(), Some(99))]
    );
    assert_eq!(
        result_codes(&store, third),
        vec![("Error".into(), Some(204))]
    );

    let (_, late) = submit(&store, part("conv", 1, 3), &["again"]);
    assert_eq!(
        late,
        IntakeOutcome::Refused(AsyncErrorCode::ConversationInError)
    );
}

fn a_reused_sequence_code_invalidates_and_settles_received_parts(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let (first, _) = submit(&store, part("conv", 1, 2), &["one"]);
    let (_, outcome) = submit(&store, part("conv", 1, 2), &["one-again"]);
    assert_eq!(
        outcome,
        IntakeOutcome::Refused(AsyncErrorCode::SequenceCodeReused)
    );

    assert_eq!(run_all(&store, &executor, t0()), 0);
    assert!(
        executor.ran().is_empty(),
        "an invalidated conversation never runs"
    );
    assert_eq!(
        result_codes(&store, first),
        vec![("Error".into(), Some(214))]
    );
}

fn finished_conversations_refuse_parts_with_the_code_of_their_state(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    submit(&store, part("done", 1, 1), &["x"]);
    run_all(&store, &executor, t0());
    let (_, reused) = submit(&store, part("done", 1, 1), &["y"]);
    assert_eq!(
        reused,
        IntakeOutcome::Refused(AsyncErrorCode::ConversationIdReused)
    );

    submit(&store, part("closed", 1, 1), &["z"]);
    let (_, closed) = submit(&store, part("closed", 1, 1), &["z"]);
    assert_eq!(
        closed,
        IntakeOutcome::Refused(AsyncErrorCode::ConversationClosed)
    );

    submit(&store, part("total", 1, 3), &["z"]);
    let (_, mismatch) = submit(&store, part("total", 2, 4), &["z"]);
    assert_eq!(
        mismatch,
        IntakeOutcome::Refused(AsyncErrorCode::ReceivedTotalMismatch)
    );
}

fn higher_lanes_run_first_then_arrival_order(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let lane = |priority| AsyncPlan { priority, ..plan() };
    submit(&store, lane(QueuePriority::Low), &["low"]);
    submit(&store, lane(QueuePriority::Medium), &["medium-1"]);
    submit(&store, lane(QueuePriority::High), &["high"]);
    submit(&store, lane(QueuePriority::Medium), &["medium-2"]);

    run_all(&store, &executor, t0());
    assert_eq!(executor.ran(), vec!["high", "medium-1", "medium-2", "low"]);
}

fn scheduled_requests_wait_for_their_time(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let later = AsyncPlan {
        scheduled_time: Some(t0() + Duration::minutes(10)),
        ..plan()
    };
    submit(&store, later, &["later"]);

    assert_eq!(run_all(&store, &executor, t0() + Duration::minutes(9)), 0);
    assert_eq!(run_all(&store, &executor, t0() + Duration::minutes(10)), 1);
}

fn expired_requests_are_settled_without_running(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let expiring = AsyncPlan {
        expires_at: Some(t0() + Duration::minutes(1)),
        ..plan()
    };
    let (request_id, _) = submit(&store, expiring, &["stale"]);

    let executor_dyn: Arc<dyn Executor> = executor.clone();
    let ran = store
        .run_due(executor_dyn, t0() + Duration::minutes(2), 10)
        .unwrap();
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].state, RequestState::Expired);
    assert!(executor.ran().is_empty());
    assert_eq!(
        result_codes(&store, request_id),
        vec![("Error".into(), None)]
    );
}

fn accepted_work_survives_reopening_the_store(backend: Backend) {
    let database = Database::new(backend);
    let executor = Arc::new(Recorder::default());
    {
        let store = database.open();
        store.bootstrap().unwrap();
        submit(&store, plan(), &["kept"]);
        submit(&store, part("conv", 2, 2), &["kept-2"]);
        submit(&store, part("conv", 1, 2), &["kept-1"]);
    }
    let store = database.open();
    assert_eq!(run_all(&store, &executor, t0()), 3);
    assert_eq!(executor.ran(), vec!["kept", "kept-1", "kept-2"]);
}

fn concurrent_submissions_are_all_stored_once(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let threads: Vec<_> = (0..8)
        .map(|thread| {
            let store = store.clone();
            std::thread::spawn(move || {
                for index in 0..50 {
                    let value = format!("{thread}-{index}");
                    let (_, outcome) = submit(&store, plan(), &[value.as_str()]);
                    assert_eq!(outcome, IntakeOutcome::Queued);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }

    assert_eq!(run_all(&store, &executor, t0()), 400);
    let mut ran = executor.ran();
    ran.sort();
    ran.dedup();
    assert_eq!(ran.len(), 400);
}

/// An executor that cancels one queued request and reports the outcome as
/// its result's message.
struct Canceller {
    target: RequestId,
}

impl Executor for Canceller {
    fn execute(
        &self,
        tx: &mut dyn ObjectTx,
        account: AccountId,
        _call: &ObjectCall,
        now: DateTime<Utc>,
    ) -> Result<Vec<ObjectResult>, StoreError> {
        let outcome = confab_store::work::cancel_request(tx.queue(), account, self.target, now)?;
        Ok(vec![ObjectResult::ok(0, format!("{outcome:?}"))])
    }
}

fn a_cancelled_request_never_runs_reports_once_and_is_gone_after(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let later = AsyncPlan {
        scheduled_time: Some(t0() + Duration::hours(1)),
        ..plan()
    };
    let (request_id, _) = submit(&store, later, &["never"]);

    let canceller: Arc<dyn Executor> = Arc::new(Canceller { target: request_id });
    let first = store
        .run_now(canceller.clone(), ACCOUNT, call(&["x"]))
        .unwrap();
    assert_eq!(first[0].status_message, "Cancelled");
    let second = store.run_now(canceller, ACCOUNT, call(&["x"])).unwrap();
    assert_eq!(second[0].status_message, "NotFound");

    assert_eq!(run_all(&store, &executor, t0() + Duration::hours(2)), 0);
    assert!(executor.ran().is_empty());
    assert_eq!(message_count(&store, request_id), 1);
    assert_eq!(
        result_codes(&store, request_id),
        vec![("Error".into(), None)]
    );
}

fn a_failed_write_is_undone_alone_and_the_writer_carries_on(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    store.create_user(ACCOUNT, "ann", "first password").unwrap();
    let duplicate = store.create_user(ACCOUNT, "ann", "second password");
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );

    assert_eq!(
        store.verify_user("ann", "first password").unwrap(),
        Some(ACCOUNT)
    );
    assert_eq!(store.verify_user("ann", "second password").unwrap(), None);
    assert_eq!(store.verify_user("nobody", "first password").unwrap(), None);
    let (_, outcome) = submit(&store, plan(), &["after"]);
    assert_eq!(outcome, IntakeOutcome::Queued);
    assert_eq!(run_all(&store, &executor, t0()), 1);
}

/// Runs each named test once per backend, as `sqlite::name` and
/// `postgres::name`.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::Sqlite);
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::Postgres);
            })*
        }
    };
}

on_every_backend!(
    a_queued_request_runs_exactly_once_with_its_results,
    conversation_parts_wait_for_all_and_run_in_sequence_order,
    a_failing_part_stops_its_conversation_and_later_parts_report_204,
    a_reused_sequence_code_invalidates_and_settles_received_parts,
    finished_conversations_refuse_parts_with_the_code_of_their_state,
    higher_lanes_run_first_then_arrival_order,
    scheduled_requests_wait_for_their_time,
    expired_requests_are_settled_without_running,
    accepted_work_survives_reopening_the_store,
    concurrent_submissions_are_all_stored_once,
    a_cancelled_request_never_runs_reports_once_and_is_gone_after,
    a_failed_write_is_undone_alone_and_the_writer_carries_on,
);
