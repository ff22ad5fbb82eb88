//! The outbox's rules against a real SQLite file and a real PostgreSQL
//! database: callbacks written with
//! the results they report, claims with leases, fencing of stale claims,
//! retries coming due, dead letters and replay, and one callback per
//! conversation.
//!
//! Every test goes through the `Store` trait only and runs once per
//! backend (see `on_every_backend!` at the end and `backends/mod.rs`).

#![allow(clippy::unwrap_used)]

#[macro_use]
mod backends;

use backends::{Backend, Database};

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use confab_core::call::{ObjectCall, Operation};
use confab_core::callback::NoticeEvent;
use confab_core::data_extension::{DataExtensionObject, Property};
use confab_core::intake::{AsyncPlan, ConversationPart};
use confab_core::object::ApiObject;
use confab_core::options::{
    AsyncResponse, QueuePriority, RequestOptions, RespondWhen, ResponseType,
};
use confab_core::result::ObjectResult;
use confab_core::time::FixedClock;
use confab_core::{AccountId, RequestId};
use confab_store::outbox::{Delivery, DeliveryOutcome, DeliveryQuery, DeliveryState};
use confab_store::{Executor, IntakeOutcome, ObjectTx, Store, StoreError, Submission};

const ACCOUNT: AccountId = AccountId(7_000_001);

/// How long the tests' claims hold a delivery.
fn lease() -> Duration {
    Duration::seconds(30)
}

fn t0() -> DateTime<Utc> {
    "2026-12-03T12:00:00Z".parse().unwrap()
}

fn open_store(backend: Backend) -> (Arc<dyn Store>, Database) {
    let database = Database::new(backend);
    (database.open(), database)
}

/// Succeeds every object except those whose value starts with `fail`.
struct Outcomes;

impl Executor for Outcomes {
    fn execute(
        &self,
        _tx: &mut dyn ObjectTx,
        _account: AccountId,
        call: &ObjectCall,
        _now: DateTime<Utc>,
    ) -> Result<Vec<ObjectResult>, StoreError> {
        let results = call.objects.iter().enumerate().map(|(ordinal, object)| {
            let ApiObject::DataExtensionObject(row) = object else {
                unreachable!()
            };
            let value = row.properties[0].value.clone().unwrap_or_default();
            match value.starts_with("fail") {
                true => ObjectResult::error(ordinal as i32, 99, "failed"),
                false => ObjectResult::ok(ordinal as i32, "done"),
            }
        });
        Ok(results.collect())
    }
}

fn entry(path: &str, when: RespondWhen) -> AsyncResponse {
    AsyncResponse {
        response_type: ResponseType::HttpPost,
        response_address: format!("https://example.com/{path}"),
        respond_when: Some(when),
        include_results: false,
        include_objects: false,
        only_include_base: false,
    }
}

fn call(value: &str, entries: Vec<AsyncResponse>) -> ObjectCall {
    ObjectCall {
        operation: Operation::Create,
        options: RequestOptions {
            send_response_to: entries,
            ..RequestOptions::default()
        },
        action: None,
        objects: vec![ApiObject::DataExtensionObject(DataExtensionObject {
            properties: vec![Property {
                name: "V".into(),
                value: Some(value.into()),
            }],
            ..Default::default()
        })],
    }
}

fn plan(part: Option<ConversationPart>) -> AsyncPlan {
    AsyncPlan {
        part,
        priority: QueuePriority::Medium,
        scheduled_time: None,
        expires_at: None,
    }
}

fn submit(store: &Arc<dyn Store>, plan: AsyncPlan, call: &ObjectCall) -> RequestId {
    let request_id = RequestId::new_random();
    let submission = Submission::new(request_id, ACCOUNT, plan, call, t0()).unwrap();
    let outcome = store.enqueue(submission).blocking_wait().unwrap();
    assert_eq!(outcome, IntakeOutcome::Queued);
    request_id
}

fn run_all(store: &Arc<dyn Store>) {
    run_all_at(store, t0());
}

fn run_all_at(store: &Arc<dyn Store>, now: DateTime<Utc>) {
    let clock = Arc::new(FixedClock(now));
    while !store
        .run_due(Arc::new(Outcomes), clock.clone(), 10, Default::default())
        .unwrap()
        .0
        .is_empty()
    {}
}

/// Purges everything older than `retention` before `now`.
fn purge_all(store: &Arc<dyn Store>, now: DateTime<Utc>, retention: Duration) -> usize {
    let mut purged = 0;
    loop {
        match store.purge_expired(now, retention, 10).unwrap() {
            0 => return purged,
            deleted => purged += deleted,
        }
    }
}

fn all_deliveries(store: &Arc<dyn Store>) -> Vec<Delivery> {
    let query = DeliveryQuery {
        limit: 100,
        ..DeliveryQuery::default()
    };
    store.deliveries(query).unwrap()
}

/// A store holding one settled request that owes one callback.
fn one_owed(backend: Backend) -> (Arc<dyn Store>, Database) {
    let (store, dir) = open_store(backend);
    let owed = call("ok", vec![entry("done", RespondWhen::OnCallComplete)]);
    submit(&store, plan(None), &owed);
    run_all(&store);
    (store, dir)
}

fn settling_writes_the_callbacks_owed_with_the_results(backend: Backend) {
    let (store, _dir) = open_store(backend);
    let entries = vec![
        entry("done", RespondWhen::OnCallComplete),
        entry("error", RespondWhen::OnError),
        entry("never", RespondWhen::Never),
    ];
    let succeeded = submit(&store, plan(None), &call("ok", entries.clone()));
    let failed = submit(&store, plan(None), &call("fail", entries));
    run_all(&store);

    let mut owed: Vec<(RequestId, String)> = all_deliveries(&store)
        .into_iter()
        .map(|delivery| (delivery.request_id, delivery.address))
        .collect();
    owed.sort_by_key(|(request_id, address)| (request_id.to_string(), address.clone()));
    let mut expected = vec![
        (succeeded, "https://example.com/done".to_owned()),
        (failed, "https://example.com/done".to_owned()),
        (failed, "https://example.com/error".to_owned()),
    ];
    expected.sort_by_key(|(request_id, address)| (request_id.to_string(), address.clone()));
    assert_eq!(owed, expected);
}

fn a_claim_holds_a_delivery_until_its_lease_ends(backend: Backend) {
    let (store, _dir) = one_owed(backend);
    let claimed = store.claim_deliveries(t0(), lease(), 10).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);

    let during = t0() + lease() - Duration::milliseconds(1);
    assert!(
        store
            .claim_deliveries(during, lease(), 10)
            .unwrap()
            .is_empty()
    );
    let after = store.claim_deliveries(t0() + lease(), lease(), 10).unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].attempts, 2);
}

fn only_the_latest_claim_records_an_outcome(backend: Backend) {
    let (store, _dir) = one_owed(backend);
    let stale = store.claim_deliveries(t0(), lease(), 10).unwrap().remove(0);
    let latest = store
        .claim_deliveries(t0() + lease(), lease(), 10)
        .unwrap()
        .remove(0);

    let dead = DeliveryOutcome::Dead {
        error: "late".into(),
    };
    assert!(!store.finish_delivery(stale, dead, t0()).unwrap());
    let delivered = DeliveryOutcome::Delivered;
    assert!(store.finish_delivery(latest, delivered, t0()).unwrap());
    assert_eq!(all_deliveries(&store)[0].state, DeliveryState::Delivered);
}

fn a_retry_comes_due_at_its_time(backend: Backend) {
    let (store, _dir) = one_owed(backend);
    let claimed = store.claim_deliveries(t0(), lease(), 10).unwrap().remove(0);
    let at = t0() + Duration::seconds(10);
    let retry = DeliveryOutcome::RetryAt {
        at,
        error: "503".into(),
    };
    assert!(store.finish_delivery(claimed, retry, t0()).unwrap());

    let early = at - Duration::milliseconds(1);
    assert!(
        store
            .claim_deliveries(early, lease(), 10)
            .unwrap()
            .is_empty()
    );
    let mut due = store.claim_deliveries(at, lease(), 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].last_error.as_deref(), Some("503"));

    // Once delivered, the old failure is no longer its story.
    let delivered = DeliveryOutcome::Delivered;
    assert!(store.finish_delivery(due.remove(0), delivered, at).unwrap());
    let listed = all_deliveries(&store);
    assert_eq!(listed[0].state, DeliveryState::Delivered);
    assert_eq!(listed[0].last_error, None);
}

fn a_dead_letter_is_replayed_with_a_fresh_window(backend: Backend) {
    let (store, _dir) = one_owed(backend);
    let claimed = store.claim_deliveries(t0(), lease(), 10).unwrap().remove(0);
    let id = claimed.delivery_id.clone();
    let dead = DeliveryOutcome::Dead {
        error: "gone".into(),
    };
    store.finish_delivery(claimed, dead, t0()).unwrap();
    let later = t0() + Duration::hours(2);
    assert!(
        store
            .claim_deliveries(later, lease(), 10)
            .unwrap()
            .is_empty()
    );

    let replayed = store.replay_delivery(&id, later).unwrap().unwrap();
    assert_eq!(replayed.state, DeliveryState::Pending);
    assert_eq!(replayed.retry_from, later);
    let again = store.claim_deliveries(later, lease(), 10).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivery_id, id);
    assert!(
        store
            .replay_delivery("msg_unknown", later)
            .unwrap()
            .is_none()
    );
}

fn a_conversation_owes_one_callback_however_many_parts_ask(backend: Backend) {
    let (store, _dir) = open_store(backend);
    let entries = vec![
        entry("conversation", RespondWhen::OnConversationComplete),
        entry("conversation-error", RespondWhen::OnConversationError),
    ];
    let mut request_ids = Vec::new();
    for sequence_code in 1..=3 {
        let part = ConversationPart {
            conversation_id: "c1".into(),
            sequence_code,
            calls_in_conversation: 3,
        };
        let value = format!("part {sequence_code}");
        request_ids.push(submit(
            &store,
            plan(Some(part)),
            &call(&value, entries.clone()),
        ));
    }
    run_all(&store);

    let owed = all_deliveries(&store);
    assert_eq!(owed.len(), 1, "{owed:#?}");
    assert_eq!(owed[0].address, "https://example.com/conversation");
    assert_eq!(owed[0].request_id, request_ids[2]);
    assert_eq!(owed[0].notice.sequence_code, Some(3));
    assert!(matches!(owed[0].notice.event, NoticeEvent::Conversation(_)));
}

fn a_lease_beyond_the_calendar_holds_until_its_last_instant(backend: Backend) {
    // An operator's huge --callback-timeout-ms makes a lease chrono cannot
    // add to now; the claim must hold, not panic the writer.
    let (store, _dir) = one_owed(backend);
    let claimed = store.claim_deliveries(t0(), Duration::MAX, 10).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].lease_until, Some(DateTime::<Utc>::MAX_UTC));
    let much_later = t0() + Duration::days(365 * 1000);
    assert!(
        store
            .claim_deliveries(much_later, lease(), 10)
            .unwrap()
            .is_empty()
    );
}

/// Regression: retention purged a part that had run while a later part of
/// its conversation waited for its ScheduledTime, and with it the entries
/// the conversation's end callbacks were owed to: none was sent.
fn retention_keeps_the_parts_of_a_conversation_that_has_not_ended(backend: Backend) {
    let (store, _dir) = open_store(backend);
    let part = |sequence_code| ConversationPart {
        conversation_id: "patient".into(),
        sequence_code,
        calls_in_conversation: 2,
    };
    let entries = vec![entry("conversation", RespondWhen::OnConversationComplete)];
    submit(&store, plan(Some(part(1))), &call("first", entries));
    let scheduled = AsyncPlan {
        scheduled_time: Some(t0() + Duration::days(5)),
        ..plan(Some(part(2)))
    };
    submit(&store, scheduled, &call("second", Vec::new()));
    run_all_at(&store, t0());

    // Part 1 ran three days ago; retention is one day; part 2 is to come.
    let retention = Duration::days(1);
    purge_all(&store, t0() + Duration::days(3), retention);
    let ended_at = t0() + Duration::days(5);
    run_all_at(&store, ended_at);
    let owed = all_deliveries(&store);
    assert_eq!(owed.len(), 1, "{owed:#?}");
    assert_eq!(owed[0].address, "https://example.com/conversation");

    // Once the conversation ended, its parts go when their time comes.
    let claimed = store.claim_deliveries(ended_at, lease(), 10).unwrap();
    let outcome = DeliveryOutcome::Delivered;
    assert!(
        store
            .finish_delivery(claimed[0].clone(), outcome, ended_at)
            .unwrap()
    );
    // Part 2's result message and item, both requests, the callback.
    assert_eq!(purge_all(&store, t0() + Duration::days(7), retention), 5);
}

fn retention_purges_callbacks_delivered_or_dead_but_not_pending(backend: Backend) {
    let (store, _dir) = open_store(backend);
    for value in ["delivered", "dead", "pending"] {
        let entries = vec![entry(value, RespondWhen::OnCallComplete)];
        submit(&store, plan(None), &call(value, entries));
    }
    run_all(&store);
    for delivery in store.claim_deliveries(t0(), lease(), 10).unwrap() {
        let outcome = match delivery.address.rsplit('/').next() {
            Some("delivered") => DeliveryOutcome::Delivered,
            Some("dead") => DeliveryOutcome::Dead {
                error: "refused".into(),
            },
            _ => DeliveryOutcome::RetryAt {
                at: t0() + Duration::days(40),
                error: "503".into(),
            },
        };
        assert!(store.finish_delivery(delivery, outcome, t0()).unwrap());
    }

    purge_all(&store, t0() + Duration::days(31), Duration::days(30));
    let left: Vec<String> = all_deliveries(&store)
        .into_iter()
        .map(|delivery| delivery.address)
        .collect();
    assert_eq!(left, ["https://example.com/pending"]);
}

on_every_backend!(
    settling_writes_the_callbacks_owed_with_the_results,
    a_claim_holds_a_delivery_until_its_lease_ends,
    only_the_latest_claim_records_an_outcome,
    a_retry_comes_due_at_its_time,
    a_dead_letter_is_replayed_with_a_fresh_window,
    a_conversation_owes_one_callback_however_many_parts_ask,
    a_lease_beyond_the_calendar_holds_until_its_last_instant,
    retention_keeps_the_parts_of_a_conversation_that_has_not_ended,
    retention_purges_callbacks_delivered_or_dead_but_not_pending,
);
