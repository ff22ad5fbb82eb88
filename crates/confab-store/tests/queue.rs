//! The queue's rules against a real SQLite file and a real PostgreSQL
//! database: what intake stores, the order work runs in, exactly-once
//! running, conversations, priorities, schedules, expiry and cancellation.
//!
//! Every test goes through the `Store` trait only and runs once per
//! backend (see `on_every_backend!` at the end and `backends/mod.rs`).

#![allow(clippy::unwrap_used)]

#[macro_use]
mod backends;

use backends::{Backend, Database};
use confab_store::postgres::{PostgresSettings, PostgresStore};

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use confab_core::call::{ObjectCall, Operation};
use confab_core::data_extension::{DataExtensionObject, Property};
use confab_core::intake::{AsyncPlan, ConversationPart};
use confab_core::object::{ApiObject, ObjectBase};
use confab_core::options::{QueuePriority, RequestOptions};
use confab_core::result::ObjectResult;
use confab_core::time::{Clock, FixedClock};
use confab_core::{AccountId, AsyncErrorCode, RequestId};
use confab_store::{
    Executor, IntakeOutcome, ObjectTx, RequestState, ResultScope, Rotation, Store, StoreError,
    Submission,
};

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
    submit_as(store, ACCOUNT, plan, values)
}

fn submit_as(
    store: &Arc<dyn Store>,
    account: AccountId,
    plan: AsyncPlan,
    values: &[&str],
) -> (RequestId, IntakeOutcome) {
    let request_id = RequestId::new_random();
    let submission = Submission::new(request_id, account, plan, &call(values), t0()).unwrap();
    (
        request_id,
        store.enqueue(submission).blocking_wait().unwrap(),
    )
}

fn run_all(store: &Arc<dyn Store>, executor: &Arc<Recorder>, now: DateTime<Utc>) -> usize {
    let executor: Arc<dyn Executor> = executor.clone();
    let mut total = 0;
    let mut rotation = Rotation::default();
    loop {
        let clock = Arc::new(FixedClock(now));
        let (ran, next) = store
            .run_due(executor.clone(), clock, 10, rotation)
            .unwrap();
        if ran.is_empty() {
            return total;
        }
        total += ran.len();
        rotation = next;
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

/// A plan in `priority`'s lane.
fn lane(priority: QueuePriority) -> AsyncPlan {
    AsyncPlan { priority, ..plan() }
}

/// Queues one single-object call per `prefix-N`, N from 1 to `count`.
fn flood(
    store: &Arc<dyn Store>,
    account: AccountId,
    priority: QueuePriority,
    prefix: &str,
    count: usize,
) {
    for n in 1..=count {
        submit_as(store, account, lane(priority), &[&format!("{prefix}-{n}")]);
    }
}

fn lanes_share_the_worker_four_two_one(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    flood(&store, ACCOUNT, QueuePriority::Low, "low", 3);
    flood(&store, ACCOUNT, QueuePriority::Medium, "medium", 6);
    flood(&store, ACCOUNT, QueuePriority::High, "high", 10);

    run_all(&store, &executor, t0());
    let ran = executor.ran();
    assert_eq!(
        ran[..14],
        [
            "high-1", "medium-1", "high-2", "high-3", "medium-2", "high-4", "low-1", //
            "high-5", "medium-3", "high-6", "high-7", "medium-4", "high-8", "low-2",
        ]
    );
    // Once High has run dry, Medium and Low share 2 : 1.
    assert_eq!(
        ran[14..],
        ["high-9", "medium-5", "high-10", "medium-6", "low-3"]
    );
}

fn a_low_call_of_another_account_is_not_held_back_by_a_high_flood(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let other = store.create_account("B").unwrap();
    flood(&store, ACCOUNT, QueuePriority::Low, "a-low", 20);
    flood(&store, ACCOUNT, QueuePriority::High, "a-high", 20);
    submit_as(&store, other, lane(QueuePriority::Low), &["b-low"]);

    assert_eq!(run_all(&store, &executor, t0()), 41);
    let ran = executor.ran();
    // With Medium empty, High and Low share 4 : 1, and the Low lane's
    // turns go to A and B alternately.
    assert_eq!(
        ran[..15],
        [
            "a-high-1",
            "a-high-2",
            "a-high-3",
            "a-high-4",
            "a-low-1", //
            "a-high-5",
            "a-high-6",
            "a-high-7",
            "a-high-8",
            "b-low", //
            "a-high-9",
            "a-high-10",
            "a-high-11",
            "a-high-12",
            "a-low-2",
        ]
    );
    let low_share = ran[..25]
        .iter()
        .filter(|value| value.contains("low"))
        .count();
    assert_eq!(low_share, 5, "{ran:?}");
}

fn accounts_take_turns_within_a_lane(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let b = store.create_account("B").unwrap();
    let c = store.create_account("C").unwrap();
    flood(&store, ACCOUNT, QueuePriority::Medium, "a", 4);
    flood(&store, b, QueuePriority::Medium, "b", 2);
    flood(&store, c, QueuePriority::Medium, "c", 1);

    run_all(&store, &executor, t0());
    assert_eq!(
        executor.ran(),
        ["a-1", "b-1", "c-1", "a-2", "b-2", "a-3", "a-4"]
    );
}

fn work_not_yet_due_does_not_block_an_accounts_turn(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let b = store.create_account("B").unwrap();
    let later = AsyncPlan {
        scheduled_time: Some(t0() + Duration::hours(1)),
        ..plan()
    };
    submit(&store, later, &["a-later"]);
    submit_as(&store, b, plan(), &["b-now"]);
    submit(&store, plan(), &["a-now"]);

    run_all(&store, &executor, t0());
    assert_eq!(executor.ran(), ["a-now", "b-now"]);
    run_all(&store, &executor, t0() + Duration::hours(1));
    assert_eq!(executor.ran(), ["a-now", "b-now", "a-later"]);
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
    let clock = Arc::new(FixedClock(t0() + Duration::minutes(2)));
    let (ran, _) = store
        .run_due(executor_dyn, clock, 10, Rotation::default())
        .unwrap();
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].state, RequestState::Expired);
    assert!(executor.ran().is_empty());
    assert_eq!(
        result_codes(&store, request_id),
        vec![("Error".into(), None)]
    );
}

/// A clock that moves a minute on at every reading.
#[derive(Debug)]
struct Ticking(Mutex<DateTime<Utc>>);

impl Clock for Ticking {
    fn now(&self) -> DateTime<Utc> {
        let mut now = self.0.lock().unwrap();
        *now += Duration::minutes(1);
        *now
    }
}

/// Regression: a batch read the clock once, so a request that expired
/// while the requests before it in the batch ran (tens of thousands of
/// rows each, say) was run anyway.
fn a_request_that_expires_while_its_batch_runs_is_expired_not_run(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    submit(&store, plan(), &["slow", "work"]);
    let expiring = AsyncPlan {
        expires_at: Some(t0() + Duration::seconds(90)),
        ..plan()
    };
    let (request_id, _) = submit(&store, expiring, &["late"]);

    // The first request is picked up a minute after t0 and the second a
    // minute later, past its expiry, in one batch or (on a slow machine,
    // past the batch's time) in two.
    let clock: Arc<dyn Clock> = Arc::new(Ticking(Mutex::new(t0())));
    let executor_dyn: Arc<dyn Executor> = executor.clone();
    let mut states = Vec::new();
    loop {
        let (ran, _) = store
            .run_due(executor_dyn.clone(), clock.clone(), 10, Rotation::default())
            .unwrap();
        if ran.is_empty() {
            break;
        }
        states.extend(ran.iter().map(|ran| ran.state));
    }
    assert_eq!(states, [RequestState::Done, RequestState::Expired]);
    assert_eq!(executor.ran(), ["slow", "work"]);
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
        .run_now(canceller.clone(), ACCOUNT, call(&["x"]), t0())
        .unwrap();
    assert_eq!(first[0].status_message, "Cancelled");
    let second = store
        .run_now(canceller, ACCOUNT, call(&["x"]), t0())
        .unwrap();
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

/// The default inter-part gap.
fn gap() -> Duration {
    Duration::minutes(5)
}

fn a_silent_conversation_times_out_and_its_parts_report_203(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let (first, _) = submit(&store, part("quiet", 1, 3), &["one"]);
    let (second, _) = submit(&store, part("quiet", 2, 3), &["two"]);

    let at_the_gap = store.time_out_conversations(t0() + gap(), gap(), 10);
    assert!(at_the_gap.unwrap().is_empty(), "silent for exactly the gap");
    let after = t0() + gap() + Duration::seconds(1);
    let moved = store.time_out_conversations(after, gap(), 10).unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].conversation_id, "quiet");
    let again = store.time_out_conversations(after + Duration::hours(1), gap(), 10);
    assert!(again.unwrap().is_empty(), "a second pass changes nothing");

    for request_id in [first, second] {
        assert_eq!(
            result_codes(&store, request_id),
            vec![("Error".into(), Some(203))]
        );
        assert_eq!(message_count(&store, request_id), 1);
    }
    let (_, late) = submit(&store, part("quiet", 3, 3), &["three"]);
    assert_eq!(late, IntakeOutcome::Refused(AsyncErrorCode::Timeout));
    assert_eq!(run_all(&store, &executor, after), 0);
    assert!(
        executor.ran().is_empty(),
        "a timed-out conversation never runs"
    );
}

fn only_conversations_still_collecting_parts_time_out(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let later = AsyncPlan {
        scheduled_time: Some(t0() + Duration::hours(1)),
        ..part("closed", 1, 1)
    };
    submit(&store, later, &["closed"]);

    let much_later = t0() + Duration::days(1);
    let moved = store.time_out_conversations(much_later, gap(), 10).unwrap();
    assert!(moved.is_empty(), "{moved:?}");
    assert_eq!(run_all(&store, &executor, much_later), 1);
}

fn purging_forgets_old_results_but_keeps_queued_work_and_conversation_ids(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let (old, _) = submit(&store, part("old", 1, 1), &["old"]);
    run_all(&store, &executor, t0());
    let not_due = AsyncPlan {
        scheduled_time: Some(t0() + Duration::days(20)),
        ..plan()
    };
    let (queued, _) = submit(&store, not_due, &["queued"]);

    let retention = Duration::days(30);
    let month_later = t0() + Duration::days(31);
    // One result item, one result message, one finished request.
    assert_eq!(store.purge_expired(month_later, retention, 100).unwrap(), 3);
    assert_eq!(store.purge_expired(month_later, retention, 100).unwrap(), 0);
    assert_eq!(message_count(&store, old), 0);
    assert!(result_codes(&store, old).is_empty());

    let (_, reused) = submit(&store, part("old", 1, 1), &["again"]);
    assert_eq!(
        reused,
        IntakeOutcome::Refused(AsyncErrorCode::ConversationIdReused)
    );
    assert_eq!(run_all(&store, &executor, month_later), 1);
    assert_eq!(message_count(&store, queued), 1);
}

fn purging_deletes_at_most_the_limit_per_batch(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    for n in 0..5 {
        submit(&store, plan(), &[&format!("r{n}")]);
    }
    run_all(&store, &executor, t0());

    // Five each of result items, result messages and requests.
    let month_later = t0() + Duration::days(31);
    let batches: Vec<usize> = (0..5)
        .map(|_| {
            store
                .purge_expired(month_later, Duration::days(30), 4)
                .unwrap()
        })
        .collect();
    assert_eq!(batches, [4, 4, 4, 3, 0]);
}

fn a_part_arriving_after_the_gap_times_its_conversation_out_at_once(backend: Backend) {
    let (store, _dir, executor) = setup(backend);
    let (first, _) = submit(&store, part("late", 1, 2), &["one"]);

    let late = t0() + gap() + Duration::seconds(1);
    let submission = Submission::new(
        RequestId::new_random(),
        ACCOUNT,
        part("late", 2, 2),
        &call(&["two"]),
        late,
    )
    .unwrap()
    .with_conversation_timeout(gap());
    let outcome = store.enqueue(submission).blocking_wait().unwrap();
    assert_eq!(outcome, IntakeOutcome::Refused(AsyncErrorCode::Timeout));
    assert_eq!(
        result_codes(&store, first),
        vec![("Error".into(), Some(203))]
    );
    assert_eq!(run_all(&store, &executor, late), 0);
}

/// Regression: every start applied the whole schema again, in one
/// transaction, and `CREATE INDEX IF NOT EXISTS` locks its table against
/// writes even when the index exists. A node or a command starting beside
/// busy nodes so waited for their transactions, held its locks while it
/// did, and could deadlock with them; a command failed with "deadlock
/// detected" that way. A current schema must now be left alone.
#[test]
fn postgres_a_store_opens_while_another_node_writes() {
    let database = Database::new(Backend::Postgres);
    drop(database.open());
    let url = database.postgres_url();

    // Another node, halfway through a write transaction on the busiest
    // tables.
    let mut other_node = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    let mut writing = other_node.transaction().unwrap();
    writing
        .batch_execute(
            "LOCK TABLE requests, conversations, result_messages, result_items, \
             data_extension_rows IN ROW EXCLUSIVE MODE",
        )
        .unwrap();

    let (opened_tx, opened_rx) = std::sync::mpsc::channel();
    let opening = std::thread::spawn(move || {
        let opened = PostgresStore::open(&url, PostgresSettings::default()).map(drop);
        let _ = opened_tx.send(opened.map_err(|error| format!("{error:#}")));
    });
    let opened = opened_rx.recv_timeout(std::time::Duration::from_secs(10));
    writing.rollback().unwrap();
    opening.join().unwrap();
    assert_eq!(
        opened,
        Ok(Ok(())),
        "opening the store waited for another node's write transaction"
    );
}

fn windows_beyond_the_calendar_mean_never(backend: Backend) {
    // An operator who sets a huge time-out or retention means "never"; the
    // cutoff before the first representable instant must not panic.
    let (store, _dir, executor) = setup(backend);
    let never = Duration::MAX;
    let (first, _) = submit(&store, part("patient", 1, 2), &["one"]);
    run_all(&store, &executor, t0());
    let moved = store.time_out_conversations(t0() + Duration::days(1), never, 10);
    assert!(moved.unwrap().is_empty());
    let later = t0() + Duration::days(400);
    let submission = Submission::new(
        RequestId::new_random(),
        ACCOUNT,
        part("patient", 2, 2),
        &call(&["two"]),
        later,
    )
    .unwrap()
    .with_conversation_timeout(never);
    let outcome = store.enqueue(submission).blocking_wait().unwrap();
    assert_eq!(outcome, IntakeOutcome::Queued);
    assert_eq!(run_all(&store, &executor, later), 2);
    assert_eq!(store.purge_expired(later, never, 100).unwrap(), 0);
    assert_eq!(message_count(&store, first), 1);
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
    a_request_that_expires_while_its_batch_runs_is_expired_not_run,
    accepted_work_survives_reopening_the_store,
    concurrent_submissions_are_all_stored_once,
    a_cancelled_request_never_runs_reports_once_and_is_gone_after,
    a_failed_write_is_undone_alone_and_the_writer_carries_on,
    lanes_share_the_worker_four_two_one,
    a_low_call_of_another_account_is_not_held_back_by_a_high_flood,
    accounts_take_turns_within_a_lane,
    work_not_yet_due_does_not_block_an_accounts_turn,
    a_silent_conversation_times_out_and_its_parts_report_203,
    only_conversations_still_collecting_parts_time_out,
    purging_forgets_old_results_but_keeps_queued_work_and_conversation_ids,
    purging_deletes_at_most_the_limit_per_batch,
    a_part_arriving_after_the_gap_times_its_conversation_out_at_once,
    windows_beyond_the_calendar_mean_never,
);

/// Nodes started together on an empty database: each applies the schema
/// and asks for the first account, at once. The schema must be applied
/// without a node failing on another's half-made tables, and exactly one
/// of them may make the first account and client.
#[test]
fn postgres_nodes_starting_together_on_an_empty_database_make_one_first_client() {
    let database = Database::new(Backend::Postgres);
    let url = database.postgres_url();
    let start = Arc::new(std::sync::Barrier::new(3));
    let nodes: Vec<_> = (0..3)
        .map(|_| {
            let (url, start) = (url.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let store = PostgresStore::open(&url, PostgresSettings::default())
                    .map_err(|error| format!("{error:#}"))?;
                store.bootstrap().map_err(|error| format!("{error:#}"))
            })
        })
        .collect();
    let firsts: Vec<_> = nodes
        .into_iter()
        .map(|node| node.join().unwrap().unwrap())
        .collect();
    assert_eq!(firsts.iter().flatten().count(), 1, "{firsts:?}");

    let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    let accounts: i64 = client
        .query_one("SELECT COUNT(*) FROM accounts", &[])
        .unwrap()
        .get(0);
    assert_eq!(accounts, 1);
}
