//! The proof that Confab keeps its promises through crashes: three nodes
//! on one PostgreSQL database, and one node on SQLite, take a few thousand
//! conversation parts from concurrent senders while nodes are killed with
//! SIGKILL and (on PostgreSQL) the database itself restarts. Afterwards
//! every accepted part has run exactly once, in `SequenceCode` order, with
//! exactly one result.
//!
//! ```text
//! senders ─ parts, shuffled, spread over nodes ─► node 0 ─┐
//!   │  resend a failed call to the next live node  node 1 ─┼─► PostgreSQL
//!   │                                              node 2 ─┘
//! script:  30% queued: SIGKILL node 1
//!          50% queued: restart PostgreSQL (fast), load continues
//!          70% queued: start node 1 again
//!          85% queued: PostgreSQL crashes (immediate) and recovers
//! then:    wait for the queue to drain, read results, rows, requests and
//!          conversations, check every invariant (invariants.rs)
//! ```
//!
//! This is a test target of its own because restarting PostgreSQL breaks
//! every other test using it: `scripts/test` runs it after all the others,
//! one test at a time (`cargo test -p confab --test nodes --
//! --test-threads=1`). It restarts the local cluster with `pg_ctlcluster`
//! and always leaves it running (see [`cluster::LocalPostgres`]).

#![allow(clippy::unwrap_used)]

mod cluster;
mod invariants;
// The HTTP suite's callback receiver, for the callbacks every part asks
// for.
#[allow(dead_code)]
#[path = "../it/receiver.rs"]
mod receiver;
// This binary uses a part of the HTTP suite's support; the rest is unused
// here.
#[allow(dead_code)]
#[path = "../it/support.rs"]
mod support;
mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::{Cluster, LocalPostgres, Shutdown};
use invariants::Evidence;
use receiver::Receiver;
use support::{Backend, Server, wait_until};
use workload::{LEDGER, Progress, Random, Receipt, Sent};

/// Where the receiver takes the parts' callbacks.
const CALLBACK_PATH: &str = "part";

/// Conversations in a run, of three to five parts each.
const CONVERSATIONS: usize = 2_000;

/// Senders working at once, each one conversation at a time.
const SENDERS: usize = 12;

/// How long the senders may take to reach the next step of the script.
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// How long the nodes may take to run what is queued once sending ended.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

/// How many calls to a node should be in flight when it is killed.
const KILL_IN_FLIGHT: usize = 3;

/// How long to wait for that many before killing it anyway.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(2);

/// Something done to the nodes or the database while the load runs.
#[derive(Debug, Clone, Copy)]
enum Disruption {
    /// SIGKILL a node; it stays down.
    Kill(usize),
    /// Start a killed node again on its data directory.
    Start(usize),
    /// SIGKILL a node and start it again at once.
    Crash(usize),
    /// Restart PostgreSQL with a fast shutdown: every connection of every
    /// node breaks and open transactions roll back.
    RestartPostgres,
    /// Stop PostgreSQL as a crash would (immediate shutdown) and start it
    /// again: it recovers from its write-ahead log, and must still hold
    /// every commit a node answered OK for.
    CrashPostgres,
}

/// A disruption and when it happens: once this share of all planned parts
/// has been answered OK.
type Step = (f64, Disruption);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_postgresql_run_each_part_once_through_a_kill_and_database_restarts() {
    let mut cluster = Cluster::start(Backend::Postgres, 3).await;
    // Declared after the cluster so that it is dropped first: PostgreSQL
    // runs again before the nodes' schema is dropped.
    let postgres = LocalPostgres::find();
    let script = [
        (0.3, Disruption::Kill(1)),
        (0.5, Disruption::RestartPostgres),
        (0.7, Disruption::Start(1)),
        (0.85, Disruption::CrashPostgres),
    ];
    prove(&mut cluster, Some(&postgres), &script).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_on_sqlite_runs_each_part_once_through_two_crashes() {
    let mut cluster = Cluster::start(Backend::Sqlite, 1).await;
    let script = [(0.35, Disruption::Crash(0)), (0.7, Disruption::Crash(0))];
    prove(&mut cluster, None, &script).await;
}

/// Work queued on one node wakes an idle peer at once (PostgreSQL
/// `NOTIFY`): the node that takes the call runs no work, and the peer's own
/// poll would not come for ten minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_queued_on_one_node_wakes_an_idle_peer_at_once() {
    let intake = Server::start_on(Backend::Postgres, &["--no-worker"]);
    let _worker = intake.start_peer_with(&[
        "--poll-interval-ms",
        "600000",
        "--housekeeping-interval-secs",
        "600",
    ]);
    // The peer listens on a connection of its own once its worker started.
    wait_until(Duration::from_secs(20), "the peer to listen", async || {
        let listening = intake.sql_integers(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN confab_work_%'",
            &[],
        );
        (listening[0] >= 1).then_some(())
    })
    .await;

    let client = intake.client().await;
    client
        .create_data_extension(LEDGER, &workload::ledger_fields())
        .await;
    let options = support::asynchronous();
    let row = support::row(LEDGER, &[("Part", "woken")]);
    let started = Instant::now();
    let request_id = client.send_queued("Create", &options, &row).await;
    client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
    eprintln!(
        "the idle peer ran the call {:?} after it was sent",
        started.elapsed()
    );
}

/// Housekeeping runs on one node at a time, under a lock any node may take,
/// and goes on when a node dies: here the test holds the lock as a node in
/// the middle of a pass would, and nothing times out until its connection
/// dies; then a real node is killed and the other carries on alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_runs_on_one_node_at_a_time_and_outlives_any_node() {
    let flags = [
        "--conversation-timeout-secs",
        "1",
        "--housekeeping-interval-secs",
        "1",
    ];
    let mut first = Server::start_on(Backend::Postgres, &flags);
    let second = first.start_peer();
    let client = second.client().await;
    client
        .create_data_extension(LEDGER, &workload::ledger_fields())
        .await;
    let state = |conversation: &str| {
        second.sql_texts(
            "SELECT state FROM conversations WHERE conversation_id = $1",
            &[conversation],
        )[0][0]
            .clone()
    };
    let send_first_of_two = async |conversation: &str| {
        let options = support::part(conversation, 1, 2);
        let row = support::row(LEDGER, &[("Part", conversation)]);
        client.send_queued("Create", &options, &row).await;
    };

    // A third party holds the housekeeping lock, as a node in the middle of
    // a pass does: no node times the silent conversation out meanwhile.
    let url = first.postgres_url().unwrap();
    let holder = std::thread::spawn(move || {
        let mut holder = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        holder
            .execute(
                "SELECT pg_advisory_lock(266323, hashtext(current_schema()))",
                &[],
            )
            .unwrap();
        holder
    });
    let holder = holder.join().unwrap();
    send_first_of_two("held").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        state("held"),
        "Open",
        "housekeeping ran beside the lock holder"
    );

    // The holder dies; a node takes the lock and does the pass. (The
    // blocking client is dropped off the async runtime, as it was made.)
    std::thread::spawn(move || drop(holder)).join().unwrap();
    wait_until(Duration::from_secs(20), "the time-out", async || {
        (state("held") == "Timeout").then_some(())
    })
    .await;

    // One node is killed; the other goes on keeping house alone.
    first.kill();
    send_first_of_two("orphan").await;
    wait_until(Duration::from_secs(20), "the time-out", async || {
        (state("orphan") == "Timeout").then_some(())
    })
    .await;
}

/// A node that stops answering in the middle of a request (SIGSTOP: hung,
/// or cut off from the database) keeps its claim only until PostgreSQL
/// ends its session (`--stalled-node-secs`); another node then runs the
/// request, once, and the stalled node cannot commit it when it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_node_loses_its_claim_and_another_runs_the_work_once() {
    let flags = ["--stalled-node-secs", "2"];
    let mut stalled = Server::start_on(Backend::Postgres, &flags);
    let taker = stalled.start_peer();
    let client = stalled.client().await;
    client
        .create_data_extension(LEDGER, &workload::ledger_fields())
        .await;

    // A call big enough to take the stalled node a while, sent while the
    // other node is paused, so that the stalled node claims it.
    taker.signal("-STOP");
    let rows: String = (0..20_000)
        .map(|n| support::row(LEDGER, &[("Part", &format!("row-{n}"))]))
        .collect();
    let request_id = client
        .send_queued("Create", &support::asynchronous(), &rows)
        .await;
    wait_until(Duration::from_secs(20), "the claim", async || {
        let writing = stalled.sql_integers(
            "SELECT COUNT(*) FROM pg_locks AS l JOIN pg_class AS c ON l.relation = c.oid \
             WHERE c.relname = 'data_extension_rows' AND l.mode = 'RowExclusiveLock'",
            &[],
        );
        (writing[0] > 0).then_some(())
    })
    .await;
    stalled.signal("-STOP");
    taker.signal("-CONT");

    let taker_client = taker.client().await;
    taker_client
        .wait_for_result_messages("RequestID", &request_id, 1)
        .await;
    stalled.signal("-CONT");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let messages = taker.sql_integers(
        "SELECT COUNT(*) FROM result_messages WHERE request_id = $1",
        &[&request_id],
    );
    assert_eq!(messages, [1], "the request ran once");
    let rows = taker.sql_integers("SELECT COUNT(*) FROM data_extension_rows", &[]);
    assert_eq!(rows, [20_000], "its rows were written once");
    stalled.kill();
}

/// Runs the load with `script`, waits for the queue to drain and checks
/// every invariant; prints what happened.
async fn prove(cluster: &mut Cluster, postgres: Option<&LocalPostgres>, script: &[Step]) {
    let started = Instant::now();
    cluster
        .any_client()
        .create_data_extension(LEDGER, &workload::ledger_fields())
        .await;
    let seed = seed();
    let plan = Arc::new(workload::plan(
        CONVERSATIONS,
        cluster.len(),
        &mut Random::new(seed),
    ));
    let parts: usize = plan
        .iter()
        .map(|conversation| conversation.sends.len())
        .sum();

    let receiver = Receiver::start().await;
    let progress = Arc::new(Progress::new(cluster.len()));
    let mut sending = tokio::spawn(workload::send_all(
        cluster.live(),
        plan.clone(),
        SENDERS,
        progress.clone(),
        receiver.url(CALLBACK_PATH).into(),
    ));
    let mut notes = Vec::new();
    for &(share, disruption) in script {
        let threshold = (share * parts as f64) as usize;
        wait_for_queued(&progress, threshold, &sending).await;
        let in_flight = wait_for_calls_in_flight(&progress, disruption).await;
        let queued_before = progress.queued();
        let took = disrupt(cluster, postgres, disruption);
        notes.push(format!(
            "{disruption:?} at {queued_before} queued{in_flight}, took {took:?}, {} more \
             queued meanwhile",
            progress.queued() - queued_before
        ));
    }
    let sent = (&mut sending).await.unwrap();
    let load_time = started.elapsed();
    // A conversation is invalidated only when a part was stored but its
    // answer was lost to a disruption, and its resend then found it (214).
    // A sender has one call in flight, so each disruption can do that to
    // one conversation per sender at most; more would mean answers lost
    // outside the disruptions, and OK'd parts lost with them.
    let invalidated = sent.iter().filter(|sent| sent.invalidated).count();
    assert!(
        invalidated <= SENDERS * script.len(),
        "{invalidated} conversations invalidated by resends, more than {} calls were in \
         flight at the disruptions",
        SENDERS * script.len()
    );

    let database = cluster.first();
    wait_until(DRAIN_TIMEOUT, "the queue to drain", async || {
        let left = database.sql_integers(
            "SELECT COUNT(*) FROM requests WHERE state IN ('Waiting', 'Ready')",
            &[],
        );
        (left == [0]).then_some(())
    })
    .await;
    let drain_time = started.elapsed() - load_time;

    wait_until(
        DRAIN_TIMEOUT,
        "every callback to be delivered",
        async || {
            let undelivered = database.sql_integers(
                "SELECT COUNT(*) FROM deliveries WHERE state <> 'Delivered'",
                &[],
            );
            (undelivered == [0]).then_some(())
        },
    )
    .await;

    let evidence = Evidence::gather(cluster).await;
    invariants::check_all(&sent, &evidence);
    invariants::each_callback_arrived_once(database, &receiver.received(CALLBACK_PATH));
    for node in 0..cluster.len() {
        notes.push(format!(
            "node {node} logged {:?}",
            cluster.server(node).log_problems()
        ));
    }
    eprintln!(
        "{}",
        summary(seed, parts, &sent, &progress, &notes, load_time, drain_time)
    );
}

/// Waits until `threshold` parts were answered OK; fails at once if the
/// senders stopped (a sender's assertion failed) before that.
async fn wait_for_queued(
    progress: &Progress,
    threshold: usize,
    sending: &tokio::task::JoinHandle<Vec<Sent>>,
) {
    let deadline = Instant::now() + LOAD_TIMEOUT;
    while progress.queued() < threshold {
        assert!(
            !sending.is_finished(),
            "the senders stopped at {} of {threshold} queued parts",
            progress.queued()
        );
        assert!(
            Instant::now() < deadline,
            "only {} of {threshold} parts queued within {LOAD_TIMEOUT:?}",
            progress.queued()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Before a node is killed, waits a little for calls to it to be in
/// flight, so that the kill catches some; returns a note of how many.
async fn wait_for_calls_in_flight(progress: &Progress, disruption: Disruption) -> String {
    let (Disruption::Kill(node) | Disruption::Crash(node)) = disruption else {
        return String::new();
    };
    let deadline = Instant::now() + IN_FLIGHT_WAIT;
    while progress.in_flight(node) < KILL_IN_FLIGHT && Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    format!(" with {} calls in flight to it", progress.in_flight(node))
}

/// Does one disruption; returns how long it took. Blocking work (waiting
/// for a process to listen, restarting PostgreSQL) runs on a thread of its
/// own while the senders keep the runtime's other thread.
fn disrupt(
    cluster: &mut Cluster,
    postgres: Option<&LocalPostgres>,
    disruption: Disruption,
) -> Duration {
    let started = Instant::now();
    tokio::task::block_in_place(|| match disruption {
        Disruption::Kill(node) => cluster.kill(node),
        Disruption::Start(node) | Disruption::Crash(node) => cluster.restart(node),
        Disruption::RestartPostgres | Disruption::CrashPostgres => {
            let postgres = postgres.expect("only a PostgreSQL run restarts PostgreSQL");
            let shutdown = match disruption {
                Disruption::CrashPostgres => Shutdown::Immediate,
                _ => Shutdown::Fast,
            };
            // The blocking PostgreSQL client may not run on a runtime
            // thread.
            let restart = || postgres.restart(shutdown);
            std::thread::scope(|scope| scope.spawn(restart).join().unwrap());
        }
    });
    started.elapsed()
}

/// The plan's seed: `CONFAB_NODES_SEED` to repeat a run, else the clock.
fn seed() -> u64 {
    if let Ok(seed) = std::env::var("CONFAB_NODES_SEED") {
        return seed.parse().expect("CONFAB_NODES_SEED is a number");
    }
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    since_epoch.as_nanos() as u64
}

/// What happened in a run, for the test's output.
fn summary(
    seed: u64,
    parts: usize,
    sent: &[Sent],
    progress: &Progress,
    notes: &[String],
    load_time: Duration,
    drain_time: Duration,
) -> String {
    let accepted = sent.iter().map(|sent| sent.accepted.len()).sum::<usize>();
    let stored_earlier = sent
        .iter()
        .flat_map(|sent| &sent.accepted)
        .filter(|accepted| matches!(accepted.receipt, Receipt::StoredEarlier(_)))
        .count();
    let invalidated = sent.iter().filter(|sent| sent.invalidated).count();
    let resends = progress.resends.load(std::sync::atomic::Ordering::SeqCst);
    format!(
        "seed {seed}: {} conversations, {parts} parts planned, {accepted} accepted ({} \
         answered OK, {stored_earlier} refused on a resend because a lost attempt was \
         stored), {resends} calls resent, {invalidated} conversations invalidated by a \
         resend (214); load {load_time:?}, drain {drain_time:?}\n  {}",
        sent.len(),
        progress.queued(),
        notes.join("\n  ")
    )
}
