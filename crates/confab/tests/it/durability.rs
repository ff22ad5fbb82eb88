//! Crash safety: the server is killed with SIGKILL while thousands of
//! asynchronous calls are in flight, then restarted on the same data
//! directory. Every call that got an OK receipt must run exactly once, and
//! conversations must still run their parts in order.
//!
//! ```text
//! phase 1: 50 calls in flight ── SIGKILL after enough receipts
//! phase 2: restart ─ send what never left, finish half-sent conversations
//! check:   one ResultMessage per receipt, one row per acknowledged value,
//!          part 1's row before part 2's in every conversation
//! ```
//!
//! The rows go to a data extension without a primary key, so a request run
//! twice would show as a duplicate row instead of failing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::support::{
    Client, Field, Options, Server, asynchronous, part, request, row, wait_until,
};

/// The data extension every call writes one row to.
const JOURNAL: &str = "Journal";

/// Single asynchronous calls, one row each.
const SINGLES: usize = 1_500;

/// Two-part conversations, one row per part.
const CONVERSATIONS: usize = 750;

/// Calls on the wire at once.
const IN_FLIGHT: usize = 50;

/// Receipts to collect before the server is killed.
const KILL_AFTER_RECEIPTS: usize = 1_200;

/// How long the restarted server may take to work through the queue.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// What became of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    /// Answered OK: queued, with this `RequestID`.
    Receipt(String),
    /// Refused with this code.
    Refused(i64),
    /// No answer: the server died under it, so it may or may not be stored.
    Unknown,
    /// Never sent: the server was already dead.
    Skipped,
}

/// One unit of work: a single call, or a conversation whose parts go out
/// in reverse order (part 2, then part 1), so that a part run on arrival
/// would break the order check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// Single call `index`, row `s{index}`.
    Single(usize),
    /// Conversation `index`, rows `c{index}-1` and `c{index}-2`.
    Conversation(usize),
    /// Part 1 of conversation `index`, whose part 2 has a receipt; sent
    /// after the restart. It may have been stored before the crash, in
    /// which case it is refused as late (215) or the id is taken (211).
    FinishConversation(usize),
}

/// The calls of one job.
#[derive(Debug, Clone)]
struct Outcome {
    job: Job,
    /// The first call (the single call, or part 2).
    first: Sent,
    /// Part 1 of a conversation, if the job has one.
    second: Sent,
}

fn conversation_id(index: usize) -> String {
    format!("conversation-{index}")
}

fn journal_row(tag: &str) -> String {
    row(JOURNAL, &[("Tag", tag)])
}

/// Sends one Create unless the run was stopped; counts receipts.
async fn send(
    client: &Client,
    stopped: &AtomicBool,
    receipts: &AtomicUsize,
    options: &Options,
    tag: &str,
) -> Sent {
    if stopped.load(Ordering::SeqCst) {
        return Sent::Skipped;
    }
    let body = request("Create", &options.xml(), &journal_row(tag));
    let Ok(response) = client.try_soap("Create", &body).await else {
        return Sent::Unknown;
    };
    assert_eq!(response.status, 200, "{}", response.text);
    if response.overall_status() == "OK" {
        receipts.fetch_add(1, Ordering::SeqCst);
        Sent::Receipt(response.request_id())
    } else {
        Sent::Refused(response.refusal_code())
    }
}

/// Runs one job.
async fn run_job(
    client: Client,
    stopped: Arc<AtomicBool>,
    receipts: Arc<AtomicUsize>,
    job: Job,
) -> Outcome {
    let send = |options: Options, tag: String| {
        let (client, stopped, receipts) = (client.clone(), stopped.clone(), receipts.clone());
        async move { send(&client, &stopped, &receipts, &options, &tag).await }
    };
    let (first, second) = match job {
        Job::Single(index) => (
            send(asynchronous(), format!("s{index}")).await,
            Sent::Skipped,
        ),
        Job::Conversation(index) => {
            let id = conversation_id(index);
            let second_part = send(part(&id, 2, 2), format!("c{index}-2")).await;
            let first_part = match second_part {
                Sent::Receipt(_) => send(part(&id, 1, 2), format!("c{index}-1")).await,
                _ => Sent::Skipped,
            };
            (second_part, first_part)
        }
        Job::FinishConversation(index) => {
            let id = conversation_id(index);
            (
                Sent::Skipped,
                send(part(&id, 1, 2), format!("c{index}-1")).await,
            )
        }
    };
    Outcome { job, first, second }
}

/// Runs `jobs` with at most [`IN_FLIGHT`] calls on the wire.
async fn run_jobs(
    client: Client,
    jobs: Vec<Job>,
    stopped: Arc<AtomicBool>,
    receipts: Arc<AtomicUsize>,
) -> Vec<Outcome> {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for job in jobs {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let (client, stopped, receipts) = (client.clone(), stopped.clone(), receipts.clone());
        tasks.spawn(async move {
            let outcome = run_job(client, stopped, receipts, job).await;
            drop(permit);
            outcome
        });
    }
    tasks.join_all().await
}

/// What the test expects once the queue has drained.
#[derive(Debug, Default)]
struct Expectations {
    /// Every `RequestID` that got a receipt.
    receipts: Vec<String>,
    /// Row tags that must exist exactly once.
    tags: Vec<String>,
    /// Conversations that must have run completely, part 1 first.
    conversations: Vec<usize>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_calls_run_exactly_once_across_a_crash() {
    let mut server = Server::start();
    let client = server.client().await;
    client
        .create_data_extension(JOURNAL, &[Field::text("Tag")])
        .await;

    // Phase 1: calls in flight until the server is killed.
    let jobs: Vec<Job> = (0..SINGLES.max(CONVERSATIONS))
        .flat_map(|index| {
            let single = (index < SINGLES).then_some(Job::Single(index));
            let conversation = (index < CONVERSATIONS).then_some(Job::Conversation(index));
            single.into_iter().chain(conversation)
        })
        .collect();
    let stopped = Arc::new(AtomicBool::new(false));
    let receipts = Arc::new(AtomicUsize::new(0));
    let phase_one = tokio::spawn(run_jobs(
        client.clone(),
        jobs,
        stopped.clone(),
        receipts.clone(),
    ));
    wait_until(
        Duration::from_secs(60),
        "receipts before the kill",
        async || (receipts.load(Ordering::SeqCst) >= KILL_AFTER_RECEIPTS).then_some(()),
    )
    .await;
    server.kill();
    stopped.store(true, Ordering::SeqCst);
    let phase_one = phase_one.await.unwrap();

    // Phase 2: the same data directory, a new process.
    server.restart();
    let client = client.rebased(&server);
    let mut expected = Expectations::default();
    let mut unsent = Vec::new();
    for outcome in &phase_one {
        plan_phase_two(outcome, &mut expected, &mut unsent);
    }
    let never_stopped = Arc::new(AtomicBool::new(false));
    let phase_two = run_jobs(client.clone(), unsent, never_stopped, receipts.clone()).await;
    for outcome in &phase_two {
        record_phase_two(outcome, &mut expected);
    }
    assert!(
        phase_one
            .iter()
            .any(|outcome| outcome.first == Sent::Unknown || outcome.second == Sent::Unknown),
        "the kill should catch calls in flight"
    );

    let messages = wait_for_drain(&client, &expected.receipts).await;
    check_result_messages(&messages, &expected.receipts);
    check_rows(&client, &expected).await;
}

/// Sorts a phase 1 outcome: what it proves, and what phase 2 must send.
fn plan_phase_two(outcome: &Outcome, expected: &mut Expectations, unsent: &mut Vec<Job>) {
    match (outcome.job, &outcome.first, &outcome.second) {
        (Job::Single(index), Sent::Receipt(request_id), _) => {
            expected.receipts.push(request_id.clone());
            expected.tags.push(format!("s{index}"));
        }
        (job @ (Job::Single(_) | Job::Conversation(_)), Sent::Skipped, _) => unsent.push(job),
        (Job::Conversation(index), Sent::Receipt(second_part), first_part) => {
            expected.receipts.push(second_part.clone());
            match first_part {
                Sent::Receipt(request_id) => {
                    expected.receipts.push(request_id.clone());
                    expect_conversation(expected, index);
                }
                _ => unsent.push(Job::FinishConversation(index)),
            }
        }
        // No answer: stored or not, nothing may be claimed about it (a
        // part 2 without its part 1 never runs).
        (_, Sent::Unknown, _) => {}
        (job, first, second) => panic!("unexpected phase 1 outcome {job:?}: {first:?} {second:?}"),
    }
}

/// Records a phase 2 outcome; the server is up, so every call is answered.
fn record_phase_two(outcome: &Outcome, expected: &mut Expectations) {
    match (outcome.job, &outcome.first, &outcome.second) {
        (Job::Single(index), Sent::Receipt(request_id), _) => {
            expected.receipts.push(request_id.clone());
            expected.tags.push(format!("s{index}"));
        }
        (Job::Conversation(index), Sent::Receipt(second), Sent::Receipt(first)) => {
            expected.receipts.extend([second.clone(), first.clone()]);
            expect_conversation(expected, index);
        }
        (Job::FinishConversation(index), _, Sent::Receipt(request_id)) => {
            expected.receipts.push(request_id.clone());
            expect_conversation(expected, index);
        }
        // Part 1 had reached the store before the crash after all.
        (Job::FinishConversation(index), _, Sent::Refused(211 | 215)) => {
            expect_conversation(expected, index);
        }
        (job, first, second) => panic!("unexpected phase 2 outcome {job:?}: {first:?} {second:?}"),
    }
}

fn expect_conversation(expected: &mut Expectations, index: usize) {
    expected.tags.push(format!("c{index}-1"));
    expected.tags.push(format!("c{index}-2"));
    expected.conversations.push(index);
}

/// Waits until every receipt has a `ResultMessage`; returns how many each
/// `RequestID` has, with their status codes.
async fn wait_for_drain(client: &Client, receipts: &[String]) -> HashMap<String, Vec<String>> {
    let what = format!("ResultMessages for {} receipts", receipts.len());
    wait_until(DRAIN_TIMEOUT, &what, async || {
        let messages = client
            .retrieve_all("ResultMessage", &["RequestID", "StatusCode"], None)
            .await;
        let mut by_request: HashMap<String, Vec<String>> = HashMap::new();
        for message in &messages {
            by_request
                .entry(message.field("RequestID").to_owned())
                .or_default()
                .push(message.field("StatusCode").to_owned());
        }
        receipts
            .iter()
            .all(|request_id| by_request.contains_key(request_id))
            .then_some(by_request)
    })
    .await
}

/// One `ResultMessage` per request, and an OK one for every receipt.
fn check_result_messages(messages: &HashMap<String, Vec<String>>, receipts: &[String]) {
    for (request_id, statuses) in messages {
        assert_eq!(
            statuses.len(),
            1,
            "request {request_id} ran {} times",
            statuses.len()
        );
    }
    for request_id in receipts {
        assert_eq!(messages[request_id], ["OK"], "request {request_id}");
    }
}

/// One row per acknowledged value, none twice, part 1 before part 2.
async fn check_rows(client: &Client, expected: &Expectations) {
    let rows = client.rows(JOURNAL, &["Tag"]).await;
    let mut positions: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (position, row) in rows.iter().enumerate() {
        positions
            .entry(row["Tag"].clone())
            .or_default()
            .push(position);
    }
    for (tag, seen) in &positions {
        assert_eq!(seen.len(), 1, "row {tag} was written {} times", seen.len());
    }
    for tag in &expected.tags {
        assert!(
            positions.contains_key(tag),
            "acknowledged row {tag} is missing"
        );
    }
    for index in &expected.conversations {
        let first = positions[&format!("c{index}-1")][0];
        let second = positions[&format!("c{index}-2")][0];
        assert!(
            first < second,
            "conversation {index} ran part 2 before part 1"
        );
    }
}

#[tokio::test]
async fn an_open_conversation_takes_its_last_part_after_a_restart() {
    let mut server = Server::start();
    let client = server.client().await;
    client
        .create_data_extension(JOURNAL, &[Field::text("Tag")])
        .await;
    let conversation = conversation_id(1);
    client
        .send_queued("Create", &part(&conversation, 2, 2), &journal_row("second"))
        .await;

    server.restart();
    let client = client.rebased(&server);
    client
        .send_queued("Create", &part(&conversation, 1, 2), &journal_row("first"))
        .await;

    let messages = client
        .wait_for_result_messages("ConversationID", &conversation, 2)
        .await;
    assert!(
        messages
            .iter()
            .all(|message| message.field("StatusCode") == "OK")
    );
    let rows = client.rows(JOURNAL, &["Tag"]).await;
    let tags: Vec<&str> = rows.iter().map(|row| row["Tag"].as_str()).collect();
    assert_eq!(tags, ["first", "second"]);
}
