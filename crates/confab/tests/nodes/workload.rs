//! The load: conversations of three to five parts, each part a Create of
//! one row of the ledger data extension keyed by its conversation and
//! sequence code, sent out of order and each to another node, by several
//! senders at once.
//!
//! ```text
//! plan:    conversation-0007, 4 parts ─ send 3 → node 1, 1 → node 2,
//!                                        4 → node 0, 2 → node 1
//! deliver: OK ─────────────────────────────────► accepted (RequestID)
//!          fault / no answer ─ next live node ─► OK, or refused:
//!                                               214/215/211 ─► accepted
//!                                               (the lost attempt was
//!                                               stored)
//! ```
//!
//! A sender resends a part whose call failed, as a client would, because
//! a failed call may or may not have been stored. When it had been, the
//! resend is refused: 215 or 211 if the part closed its conversation, and
//! 214 if not. 214 also invalidates the conversation (a `SequenceCode`
//! used twice), so the sender stops sending that conversation; its parts
//! are settled as failed and none of them runs. Any other refusal, or any
//! refusal of a first attempt, fails the test.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::cluster::LiveNodes;
use crate::support::{Field, part, request, row};

/// The data extension every part writes its row to.
pub const LEDGER: &str = "Ledger";

/// The ledger's one column, the part's key. It is the primary key, so a
/// part that ran twice would get an error result the second time instead
/// of a second row; the checks look at both.
pub fn ledger_fields() -> [Field; 1] {
    [Field::key("Part")]
}

/// How long a sender keeps trying to deliver one part.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(90);

/// The pause before a failed call is sent again.
const RESEND_PAUSE: Duration = Duration::from_millis(100);

/// A small deterministic random number generator (SplitMix64), so that a
/// run's plan can be repeated from its seed.
pub struct Random(u64);

impl Random {
    /// A generator starting at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next number below `bound`.
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^= mixed >> 31;
        (mixed % bound as u64) as usize
    }
}

/// The longest pause a sender makes before a conversation's next part, so
/// that parts of one conversation arrive spread out, between other
/// conversations' parts, and the load lasts long enough for every step of
/// a test's script to happen under it.
const MAX_PAUSE_MS: usize = 40;

/// One part as the plan sends it.
#[derive(Debug, Clone, Copy)]
pub struct PlannedPart {
    /// `SequenceCode`.
    pub sequence: i32,
    /// The node it is sent to first.
    pub node: usize,
    /// How long the sender waits before sending it.
    pub pause: Duration,
}

/// One conversation as the plan sends it.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// Its place in the plan.
    pub index: usize,
    /// `CallsInConversation`.
    pub calls: i32,
    /// The parts in the order they are sent.
    pub sends: Vec<PlannedPart>,
}

impl Conversation {
    /// Its `ConversationID`.
    pub fn id(&self) -> String {
        conversation_id(self.index)
    }
}

/// The `ConversationID` of conversation `index`.
pub fn conversation_id(index: usize) -> String {
    format!("conversation-{index:04}")
}

/// The ledger key part `sequence` of conversation `index` writes.
pub fn part_key(index: usize, sequence: i32) -> String {
    format!("{}/{sequence}", conversation_id(index))
}

/// Plans `count` conversations of three to five parts for `nodes` nodes:
/// the parts of each go out shuffled, each to the node after the previous
/// part's, after a short random pause.
pub fn plan(count: usize, nodes: usize, random: &mut Random) -> Vec<Conversation> {
    (0..count)
        .map(|index| {
            let calls = 3 + random.below(3) as i32;
            let mut order: Vec<i32> = (1..=calls).collect();
            for at in (1..order.len()).rev() {
                order.swap(at, random.below(at + 1));
            }
            let first_node = random.below(nodes);
            let sends = order
                .into_iter()
                .enumerate()
                .map(|(step, sequence)| PlannedPart {
                    sequence,
                    node: (first_node + step) % nodes,
                    pause: Duration::from_millis(random.below(MAX_PAUSE_MS + 1) as u64),
                })
                .collect();
            Conversation {
                index,
                calls,
                sends,
            }
        })
        .collect()
}

/// Counters the senders keep while the load runs.
#[derive(Debug)]
pub struct Progress {
    /// Parts answered OK.
    pub queued: AtomicUsize,
    /// Calls that failed (a fault, or no answer) and were sent again.
    pub resends: AtomicUsize,
    /// Calls waiting for an answer, by node.
    in_flight: Vec<AtomicUsize>,
}

impl Progress {
    /// Counters for a cluster of `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        Self {
            queued: AtomicUsize::new(0),
            resends: AtomicUsize::new(0),
            in_flight: (0..nodes).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// Calls waiting for an answer from `node`.
    pub fn in_flight(&self, node: usize) -> usize {
        self.in_flight[node].load(Ordering::SeqCst)
    }

    /// Parts answered OK so far.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }
}

/// How a part got into the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Answered OK with this `RequestID`.
    Queued(String),
    /// An attempt whose answer was lost had stored it: a resend was
    /// refused with this code (214, 215 or 211).
    StoredEarlier(i64),
}

/// A part that was accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// `SequenceCode`.
    pub sequence: i32,
    /// How it was accepted.
    pub receipt: Receipt,
}

/// What became of one conversation's sends.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The conversation as planned.
    pub conversation: Conversation,
    /// Its accepted parts, in the order they were sent.
    pub accepted: Vec<Accepted>,
    /// A resend got 214: the conversation is in `Error` and none of its
    /// parts runs.
    pub invalidated: bool,
}

/// Sends every conversation of `plan` with `senders` concurrent senders,
/// each taking the next conversation when it is done with one. Every part
/// asks for an `OnCallComplete` callback to `callback_url`.
pub async fn send_all(
    live: LiveNodes,
    plan: Arc<Vec<Conversation>>,
    senders: usize,
    progress: Arc<Progress>,
    callback_url: Arc<str>,
) -> Vec<Sent> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..senders {
        let (live, plan, progress, next, callback_url) = (
            live.clone(),
            plan.clone(),
            progress.clone(),
            next.clone(),
            callback_url.clone(),
        );
        tasks.spawn(async move {
            let mut sent = Vec::new();
            while let Some(conversation) = plan.get(next.fetch_add(1, Ordering::SeqCst)) {
                let sending = send_conversation(&live, conversation, &progress, &callback_url);
                sent.push(sending.await);
            }
            sent
        });
    }
    let mut sent: Vec<Sent> = tasks.join_all().await.into_iter().flatten().collect();
    sent.sort_by_key(|sent| sent.conversation.index);
    sent
}

/// Sends one conversation's parts in the planned order.
async fn send_conversation(
    live: &LiveNodes,
    conversation: &Conversation,
    progress: &Progress,
    callback_url: &str,
) -> Sent {
    let mut sent = Sent {
        conversation: conversation.clone(),
        accepted: Vec::new(),
        invalidated: false,
    };
    for planned in &conversation.sends {
        tokio::time::sleep(planned.pause).await;
        let sequence = planned.sequence;
        let node = planned.node;
        let answer = deliver(live, conversation, sequence, node, progress, callback_url).await;
        let receipt = match answer {
            Answer::Queued(request_id) => Receipt::Queued(request_id),
            Answer::Refused {
                code: code @ (211 | 214 | 215),
                after_failure: true,
            } => Receipt::StoredEarlier(code),
            Answer::Refused {
                code,
                after_failure,
            } => panic!(
                "part {sequence} of {} refused with {code} (after a failed attempt: \
                 {after_failure})",
                conversation.id()
            ),
        };
        let invalidates = receipt == Receipt::StoredEarlier(214);
        sent.accepted.push(Accepted { sequence, receipt });
        if invalidates {
            sent.invalidated = true;
            break;
        }
    }
    sent
}

/// The answer a part finally got.
enum Answer {
    /// OK, with the `RequestID`.
    Queued(String),
    /// Refused with `code`; `after_failure` says whether an earlier attempt
    /// failed without a clear answer.
    Refused { code: i64, after_failure: bool },
}

/// Sends one part to `node`, or to the next live node while calls fail,
/// until it gets an answer that is not a failure.
async fn deliver(
    live: &LiveNodes,
    conversation: &Conversation,
    sequence: i32,
    node: usize,
    progress: &Progress,
    callback_url: &str,
) -> Answer {
    let key = part_key(conversation.index, sequence);
    let callback = format!(
        "<SendResponseTo><ResponseType>HTTPPost</ResponseType>\
         <ResponseAddress>{callback_url}</ResponseAddress>\
         <RespondWhen>OnCallComplete</RespondWhen></SendResponseTo>"
    );
    let options = part(&conversation.id(), sequence, conversation.calls).raw(&callback);
    let body = request("Create", &options.xml(), &row(LEDGER, &[("Part", &key)]));
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    let mut next_node = node;
    let mut after_failure = false;
    loop {
        assert!(
            Instant::now() < deadline,
            "part {key} found no node to take it within {DELIVERY_TIMEOUT:?}"
        );
        let Some((node, client)) = live.client_from(next_node) else {
            tokio::time::sleep(RESEND_PAUSE).await;
            continue;
        };
        progress.in_flight[node].fetch_add(1, Ordering::SeqCst);
        let answer = client.try_soap("Create", &body).await;
        progress.in_flight[node].fetch_sub(1, Ordering::SeqCst);
        match answer {
            Ok(answer) if answer.status == 200 && answer.overall_status() == "OK" => {
                progress.queued.fetch_add(1, Ordering::SeqCst);
                return Answer::Queued(answer.request_id());
            }
            Ok(answer) if answer.status == 200 => {
                let code = answer.refusal_code();
                return Answer::Refused {
                    code,
                    after_failure,
                };
            }
            // A fault (the database was away) or no answer at all (the
            // node died): the part may or may not be stored.
            Ok(_) | Err(_) => {
                after_failure = true;
                progress.resends.fetch_add(1, Ordering::SeqCst);
                next_node = node + 1;
                tokio::time::sleep(RESEND_PAUSE).await;
            }
        }
    }
}
