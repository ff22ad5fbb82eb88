//! What must hold once the load is over and the queue has drained, read
//! back through SOAP Retrieve (results, rows) and SQL (requests,
//! conversations, result items).
//!
//! Each invariant is one function over the same [`Evidence`] and the
//! senders' record of what was accepted ([`Sent`]); [`check_all`] runs them
//! in turn, so a new invariant is one more function and one more line
//! there.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::cluster::Cluster;
use crate::receiver::Received;
use crate::support::{Item, Server};
use crate::workload::{LEDGER, Receipt, Sent, conversation_id, part_key};

/// What the database holds after the run.
pub struct Evidence {
    /// Every `ResultMessage`, in the order Retrieve gives them: the order
    /// they were written.
    messages: Vec<Item>,
    /// Every ledger row's key, in the order the rows were written.
    rows: Vec<String>,
    /// Every queued request: `RequestID` to (conversation, sequence code,
    /// state).
    requests: HashMap<String, (String, i32, String)>,
    /// The `RequestID` stored for each part: (conversation, sequence code)
    /// to `RequestID`.
    parts: HashMap<(String, i32), String>,
    /// Every conversation: id to (state, error code or "").
    conversations: HashMap<String, (String, String)>,
    /// How many `ResultItem`s each request has.
    result_items: HashMap<String, usize>,
}

impl Evidence {
    /// Reads everything the checks need, through the first live node and
    /// the shared database.
    pub async fn gather(cluster: &Cluster) -> Self {
        let client = cluster.any_client();
        let properties = ["RequestID", "ConversationID", "SequenceCode", "StatusCode"];
        let messages = client
            .retrieve_all(
                "ResultMessage",
                &[&properties[..], &["ErrorCode"]].concat(),
                None,
            )
            .await;
        let rows = client
            .rows(LEDGER, &["Part"])
            .await
            .into_iter()
            .map(|mut row| row.remove("Part").expect("every row has its key"))
            .collect();

        let database = cluster.first();
        let requests: HashMap<String, (String, i32, String)> = database
            .sql_texts(
                "SELECT request_id, conversation_id, CAST(sequence_code AS TEXT), state \
                 FROM requests",
                &[],
            )
            .into_iter()
            .map(|row| {
                let [request_id, conversation, sequence, state] =
                    <[String; 4]>::try_from(row).expect("four columns");
                let sequence = sequence.parse().expect("every request is a part");
                (request_id.to_lowercase(), (conversation, sequence, state))
            })
            .collect();
        let conversations = database
            .sql_texts(
                "SELECT conversation_id, state, CAST(error_code AS TEXT) FROM conversations",
                &[],
            )
            .into_iter()
            .map(|row| {
                let [id, state, error_code] = <[String; 3]>::try_from(row).expect("three columns");
                (id, (state, error_code))
            })
            .collect();
        let result_items = database
            .sql_texts(
                "SELECT request_id, CAST(COUNT(*) AS TEXT) FROM result_items \
                 GROUP BY request_id",
                &[],
            )
            .into_iter()
            .map(|row| (row[0].to_lowercase(), row[1].parse().expect("a count")))
            .collect();
        let parts = requests
            .iter()
            .map(|(request_id, (conversation, sequence, _))| {
                ((conversation.clone(), *sequence), request_id.clone())
            })
            .collect();
        Self {
            messages,
            rows,
            requests,
            parts,
            conversations,
            result_items,
        }
    }

    /// The `RequestID` stored for part `sequence` of conversation `id`.
    fn request_of(&self, id: &str, sequence: i32) -> Option<&str> {
        self.parts
            .get(&(id.to_owned(), sequence))
            .map(String::as_str)
    }
}

/// Runs every invariant.
pub fn check_all(sent: &[Sent], evidence: &Evidence) {
    each_part_is_stored_once(sent, evidence);
    each_request_has_one_result(evidence);
    accepted_parts_ran_exactly_once(sent, evidence);
    parts_ran_in_sequence_order(sent, evidence);
    conversations_finished(sent, evidence);
    nothing_is_left_queued(sent, evidence);
}

/// Every stored request owed one callback (each part asks for
/// `OnCallComplete`), and each was written once, delivered, and arrived at
/// the receiver under one `webhook-id`. The same id may arrive more than
/// once: a node that died between sending and recording sends again, which
/// is the documented at-least-once delivery; a second id for one request
/// would be a callback owed twice.
pub fn each_callback_arrived_once(database: &Server, received: &[Received]) {
    let requests = database.sql_integers("SELECT COUNT(*) FROM requests", &[])[0];
    let written = database.sql_integers("SELECT COUNT(*) FROM deliveries", &[])[0];
    let for_requests =
        database.sql_integers("SELECT COUNT(DISTINCT request_id) FROM deliveries", &[])[0];
    assert_eq!(written, requests, "callbacks written, one per request");
    assert_eq!(for_requests, requests, "requests with a callback");

    let mut ids: HashMap<&str, HashSet<&str>> = HashMap::new();
    for callback in received {
        ids.entry(callback.field("RequestID"))
            .or_default()
            .insert(callback.header("webhook-id"));
    }
    assert_eq!(
        ids.len() as i64,
        requests,
        "requests whose callback arrived"
    );
    let owed_twice: Vec<_> = ids.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(
        owed_twice.is_empty(),
        "callbacks owed twice: {owed_twice:?}"
    );
}

/// Every accepted part is one stored request (never two, never none), and
/// a part answered OK is stored under the `RequestID` it was given.
fn each_part_is_stored_once(sent: &[Sent], evidence: &Evidence) {
    let mut stored: HashMap<(&str, i32), usize> = HashMap::new();
    for (conversation, sequence, _) in evidence.requests.values() {
        *stored.entry((conversation, *sequence)).or_default() += 1;
    }
    for ((conversation, sequence), count) in &stored {
        assert_eq!(
            *count, 1,
            "part {sequence} of {conversation} is stored {count} times"
        );
    }
    for sent in sent {
        let id = sent.conversation.id();
        for accepted in &sent.accepted {
            let request_id = evidence.request_of(&id, accepted.sequence);
            let request_id =
                request_id.unwrap_or_else(|| panic!("accepted {accepted:?} of {id} is not stored"));
            if let Receipt::Queued(receipt) = &accepted.receipt {
                assert_eq!(
                    request_id,
                    receipt.to_lowercase(),
                    "part {} of {id} is stored under another RequestID",
                    accepted.sequence
                );
            }
        }
    }
}

/// Every stored request has exactly one `ResultMessage` and one
/// `ResultItem` (it wrote one row), and no result belongs to a request
/// that was never stored.
fn each_request_has_one_result(evidence: &Evidence) {
    let mut messages: HashMap<String, usize> = HashMap::new();
    for message in &evidence.messages {
        *messages
            .entry(message.field("RequestID").to_lowercase())
            .or_default() += 1;
    }
    for request_id in evidence.requests.keys() {
        let count = messages.get(request_id).copied().unwrap_or_default();
        assert_eq!(count, 1, "request {request_id} has {count} ResultMessages");
    }
    for request_id in messages.keys().chain(evidence.result_items.keys()) {
        assert!(
            evidence.requests.contains_key(request_id),
            "a result belongs to request {request_id}, which was never stored"
        );
    }
    for (request_id, (_, _, state)) in &evidence.requests {
        let count = evidence
            .result_items
            .get(request_id)
            .copied()
            .unwrap_or_default();
        // A part settled without running reports one item too: the row it
        // never wrote.
        assert_eq!(
            count, 1,
            "request {request_id} ({state}) has {count} ResultItems"
        );
    }
}

/// Each accepted part of a conversation that was not invalidated ran
/// exactly once and succeeded: one OK result and one row. No other row
/// exists, none twice, and an invalidated conversation wrote nothing.
fn accepted_parts_ran_exactly_once(sent: &[Sent], evidence: &Evidence) {
    let mut rows: HashMap<&str, usize> = HashMap::new();
    for key in &evidence.rows {
        *rows.entry(key).or_default() += 1;
    }
    for (key, count) in &rows {
        assert_eq!(*count, 1, "row {key} exists {count} times");
    }

    let statuses: HashMap<String, (&str, Option<&str>)> = evidence
        .messages
        .iter()
        .map(|message| {
            let request_id = message.field("RequestID").to_lowercase();
            (
                request_id,
                (message.field("StatusCode"), message.get("ErrorCode")),
            )
        })
        .collect();
    let mut expected_rows = HashSet::new();
    for sent in sent {
        let id = sent.conversation.id();
        for accepted in &sent.accepted {
            let key = part_key(sent.conversation.index, accepted.sequence);
            let request_id = evidence
                .request_of(&id, accepted.sequence)
                .expect("checked by each_part_is_stored_once");
            let (status, error_code) = statuses[request_id];
            if sent.invalidated {
                assert_eq!(
                    (status, error_code),
                    ("Error", Some("214")),
                    "part {key} of an invalidated conversation"
                );
                assert!(
                    !rows.contains_key(key.as_str()),
                    "part {key} of an invalidated \
                     conversation ran"
                );
            } else {
                assert_eq!(status, "OK", "part {key} did not succeed");
                assert!(
                    rows.contains_key(key.as_str()),
                    "accepted part {key} left no row"
                );
                expected_rows.insert(key);
            }
        }
    }
    for key in rows.keys() {
        assert!(
            expected_rows.contains(*key),
            "row {key} belongs to no accepted part"
        );
    }
}

/// In every conversation that ran, part k's result and row were written
/// before part k+1's: the parts ran in `SequenceCode` order, one after the
/// other, whichever nodes they arrived at and ran on.
fn parts_ran_in_sequence_order(sent: &[Sent], evidence: &Evidence) {
    let mut results: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for message in &evidence.messages {
        let Some(conversation) = message.get("ConversationID") else {
            continue;
        };
        let sequence = message.field("SequenceCode").parse().unwrap();
        results
            .entry(conversation.to_owned())
            .or_default()
            .push(sequence);
    }
    let mut rows: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for key in &evidence.rows {
        let (conversation, sequence) = key.rsplit_once('/').expect("keys read ID/SEQUENCE");
        rows.entry(conversation.to_owned())
            .or_default()
            .push(sequence.parse().unwrap());
    }
    for sent in sent.iter().filter(|sent| !sent.invalidated) {
        let id = sent.conversation.id();
        let in_order: Vec<i32> = (1..=sent.conversation.calls).collect();
        assert_eq!(
            results.get(&id),
            Some(&in_order),
            "results of {id} were written out of order"
        );
        assert_eq!(
            rows.get(&id),
            Some(&in_order),
            "rows of {id} were written out of order"
        );
    }
}

/// Every conversation that got all its parts is `Complete`; one a resend
/// invalidated is in `Error` with 214; there are no others.
fn conversations_finished(sent: &[Sent], evidence: &Evidence) {
    for sent in sent {
        let id = sent.conversation.id();
        let found = evidence
            .conversations
            .get(&id)
            .map(|(state, error_code)| (state.as_str(), error_code.as_str()));
        if sent.invalidated {
            assert_eq!(found, Some(("Error", "214")), "conversation {id}");
        } else {
            assert_eq!(found, Some(("Complete", "")), "conversation {id}");
        }
    }
    assert_eq!(
        evidence.conversations.len(),
        sent.len(),
        "conversations exist that were never sent"
    );
    let planned: HashSet<String> = sent
        .iter()
        .map(|sent| conversation_id(sent.conversation.index))
        .collect();
    assert!(evidence.conversations.keys().all(|id| planned.contains(id)));
}

/// No request is left waiting or ready: the parts of every completed
/// conversation are `Done`, those of invalidated ones `Failed`.
fn nothing_is_left_queued(sent: &[Sent], evidence: &Evidence) {
    let invalidated: HashSet<String> = sent
        .iter()
        .filter(|sent| sent.invalidated)
        .map(|sent| sent.conversation.id())
        .collect();
    for (request_id, (conversation, sequence, state)) in &evidence.requests {
        let expected = if invalidated.contains(conversation) {
            "Failed"
        } else {
            "Done"
        };
        assert_eq!(
            state, expected,
            "request {request_id}, part {sequence} of {conversation}"
        );
    }
}
