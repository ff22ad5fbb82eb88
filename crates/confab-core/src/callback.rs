//! What a callback says and when one is owed: the `SendResponseTo` rules of
//! the API, without any I/O.
//!
//! A request that is settled (run, failed by an earlier part, cancelled or
//! expired) owes a callback to each of its own entries whose `RespondWhen`
//! matches its outcome. A conversation that reaches a final state owes one
//! callback per distinct conversation-level entry of any of its parts.
//!
//! ```text
//!  request settled ──► request_entry_fires(entry, outcome)      per entry of the request
//!  conversation ended ─► conversation_entries(parts' entries)   de-duplicated
//!                        conversation_entry_fires(entry, ended)
//!  either ─► Notice (stored in the outbox) ─► form_fields / e-mail at delivery
//! ```

use serde::{Deserialize, Serialize};

use crate::call::Operation;
use crate::object::ApiObject;
use crate::options::{AsyncResponse, RespondWhen, ResponseType};
use crate::result::ObjectResult;

/// How a settled request ended, as far as the triggers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestOutcome {
    /// Whether its `StatusCode` is `Error` (any object failed, or it never
    /// ran).
    pub is_error: bool,
    /// Whether it was dropped because it expired in the queue.
    pub expired: bool,
}

/// How a conversation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConversationEnd {
    /// Every part ran without error.
    Complete,
    /// It stopped with an error (a failed part, an invalidating part, a
    /// cancellation, an expired part or a timeout).
    Error,
}

/// Which event a callback reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoticeEvent {
    /// A request was settled.
    Request,
    /// A conversation reached a final state.
    Conversation(ConversationEnd),
}

/// Everything one callback reports, kept in the outbox until it is
/// delivered. Renders as the ten form fields of an HTTP callback or as the
/// text and attachment of an e-mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The event.
    pub event: NoticeEvent,
    /// The trigger that made it.
    pub respond_when: RespondWhen,
    /// The request it reports (for a conversation: the part that ended it).
    pub request_id: String,
    /// The conversation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// The part's `SequenceCode`, if it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_code: Option<i32>,
    /// The operation, which types the results.
    pub operation: Operation,
    /// `OverallStatusCode`.
    pub overall_status_code: String,
    /// `StatusCode`.
    pub status_code: String,
    /// `StatusMessage`; empty on success.
    pub status_message: String,
    /// `ErrorCode`: the first error's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i32>,
    /// The results and objects, when the entry asked for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<NoticeDetail>,
}

/// The results a callback carries when `IncludeResults` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeDetail {
    /// One result per object.
    pub results: Vec<ObjectResult>,
    /// The objects, echoed one per result; empty unless `IncludeObjects`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ApiObject>,
    /// Whether echoed objects are cut down to the `APIObject` properties.
    pub only_include_base: bool,
}

/// The names of the form fields of an HTTP callback, in the order they are
/// sent.
pub const FORM_FIELDS: [&str; 10] = [
    "RequestID",
    "ConversationID",
    "OverallStatusCode",
    "StatusCode",
    "StatusMessage",
    "ErrorCode",
    "RequestType",
    "ResultType",
    "ResultDetailXML",
    "SequenceCode",
];

/// `RequestType` and `ResultType` of every callback.
const ASYNCHRONOUS: &str = "Asynchronous";

/// The most `SendResponseTo` entries one call may carry, and the most
/// distinct conversation-level entries a conversation counts.
///
/// Each entry that fires stores a callback of its own, with its own copy of
/// the call's results (and objects, with `IncludeObjects`), written in the
/// transaction that settles the call. Unbounded, one call of a few
/// megabytes with hundreds of entries became gigabytes on disk and held the
/// single writer, and so every other caller, for as long as that took; a
/// conversation whose every part named 16 addresses of its own did the
/// same. The API's own sample uses two entries; 16 leaves room for any real
/// client.
pub const MAX_SEND_RESPONSE_TO: usize = 16;

impl Notice {
    /// The form fields of an HTTP callback; absent values are empty strings.
    /// `detail_xml` is the rendered `ResultDetailXML` (empty without
    /// results).
    pub fn form_fields(&self, detail_xml: &str) -> Vec<(&'static str, String)> {
        let values = [
            self.request_id.clone(),
            self.conversation_id.clone().unwrap_or_default(),
            self.overall_status_code.clone(),
            self.status_code.clone(),
            self.status_message.clone(),
            self.error_code
                .map(|code| code.to_string())
                .unwrap_or_default(),
            ASYNCHRONOUS.to_owned(),
            ASYNCHRONOUS.to_owned(),
            detail_xml.to_owned(),
            self.sequence_code
                .map(|code| code.to_string())
                .unwrap_or_default(),
        ];
        FORM_FIELDS.into_iter().zip(values).collect()
    }

    /// A one-line summary, for an e-mail subject.
    pub fn summary(&self) -> String {
        let what = match (&self.event, &self.conversation_id) {
            (NoticeEvent::Conversation(_), Some(conversation_id)) => {
                format!("conversation {conversation_id}")
            }
            _ => format!("request {}", self.request_id),
        };
        format!("Asynchronous {what}: {}", self.status_code)
    }
}

/// Whether an entry is delivered at all: `None` and the reserved `FTP`
/// never are.
pub fn is_deliverable(entry: &AsyncResponse) -> bool {
    matches!(
        entry.response_type,
        ResponseType::HttpPost | ResponseType::Email
    )
}

/// Whether a request's own entry fires for how the request ended.
///
/// `OnError` fires for every request whose `StatusCode` is `Error`, which
/// includes requests that never ran (failed by an earlier part, cancelled,
/// expired): each of them reports an error to a client that polls.
pub fn request_entry_fires(entry: &AsyncResponse, outcome: RequestOutcome) -> bool {
    if !is_deliverable(entry) {
        return false;
    }
    match entry.respond_when {
        Some(RespondWhen::OnCallComplete | RespondWhen::Always) => true,
        Some(RespondWhen::OnError) => outcome.is_error,
        Some(RespondWhen::OnExpired) => outcome.expired,
        Some(
            RespondWhen::Never
            | RespondWhen::OnConversationComplete
            | RespondWhen::OnConversationError,
        )
        | None => false,
    }
}

/// Whether a conversation-level entry fires for how the conversation ended.
pub fn conversation_entry_fires(entry: &AsyncResponse, end: ConversationEnd) -> bool {
    if !is_deliverable(entry) {
        return false;
    }
    match entry.respond_when {
        Some(RespondWhen::OnConversationComplete) => true,
        Some(RespondWhen::OnConversationError) => end == ConversationEnd::Error,
        _ => false,
    }
}

/// The conversation-level entries of a conversation: those of every part,
/// in part order, with entries of the same channel, address and trigger
/// counted once (the first one's `Include*` flags win), and no more than
/// [`MAX_SEND_RESPONSE_TO`] of them. Clients commonly repeat the same
/// `SendResponseTo` on every part; the conversation still ends only once.
pub fn conversation_entries<'a>(
    entries: impl IntoIterator<Item = &'a AsyncResponse>,
) -> Vec<AsyncResponse> {
    let mut distinct: Vec<AsyncResponse> = Vec::new();
    for entry in entries {
        if distinct.len() == MAX_SEND_RESPONSE_TO {
            break;
        }
        let conversation_level = matches!(
            entry.respond_when,
            Some(RespondWhen::OnConversationComplete | RespondWhen::OnConversationError)
        );
        let seen = distinct.iter().any(|kept| {
            kept.response_type == entry.response_type
                && kept.respond_when == entry.respond_when
                && kept.response_address.trim() == entry.response_address.trim()
        });
        if conversation_level && !seen {
            distinct.push(entry.clone());
        }
    }
    distinct
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(respond_when: RespondWhen) -> AsyncResponse {
        AsyncResponse {
            response_type: ResponseType::HttpPost,
            response_address: "https://example.com/hook".into(),
            respond_when: Some(respond_when),
            include_results: false,
            include_objects: false,
            only_include_base: false,
        }
    }

    const OK: RequestOutcome = RequestOutcome {
        is_error: false,
        expired: false,
    };
    const FAILED: RequestOutcome = RequestOutcome {
        is_error: true,
        expired: false,
    };
    const EXPIRED: RequestOutcome = RequestOutcome {
        is_error: true,
        expired: true,
    };

    #[test]
    fn request_triggers_fire_for_their_outcomes() {
        let cases = [
            (RespondWhen::Never, [false, false, false]),
            (RespondWhen::OnCallComplete, [true, true, true]),
            (RespondWhen::Always, [true, true, true]),
            (RespondWhen::OnError, [false, true, true]),
            (RespondWhen::OnExpired, [false, false, true]),
            (RespondWhen::OnConversationComplete, [false, false, false]),
            (RespondWhen::OnConversationError, [false, false, false]),
        ];
        for (when, expected) in cases {
            let fired =
                [OK, FAILED, EXPIRED].map(|outcome| request_entry_fires(&entry(when), outcome));
            assert_eq!(fired, expected, "{when:?}");
        }
    }

    #[test]
    fn conversation_triggers_fire_for_their_endings() {
        let complete = entry(RespondWhen::OnConversationComplete);
        let error = entry(RespondWhen::OnConversationError);
        assert!(conversation_entry_fires(
            &complete,
            ConversationEnd::Complete
        ));
        assert!(conversation_entry_fires(&complete, ConversationEnd::Error));
        assert!(!conversation_entry_fires(&error, ConversationEnd::Complete));
        assert!(conversation_entry_fires(&error, ConversationEnd::Error));
        let per_call = entry(RespondWhen::OnCallComplete);
        assert!(!conversation_entry_fires(&per_call, ConversationEnd::Error));
    }

    #[test]
    fn no_channel_never_fires() {
        let mut none = entry(RespondWhen::OnCallComplete);
        none.response_type = ResponseType::None;
        assert!(!request_entry_fires(&none, OK));
        none.response_type = ResponseType::Ftp;
        assert!(!request_entry_fires(&none, OK));
    }

    #[test]
    fn a_conversation_counts_at_most_sixteen_distinct_entries() {
        let parts: Vec<AsyncResponse> = (0..40)
            .map(|n| {
                let mut part = entry(RespondWhen::OnConversationComplete);
                part.response_address = format!("https://example.com/{n}");
                part
            })
            .collect();
        let distinct = conversation_entries(&parts);
        assert_eq!(distinct.len(), MAX_SEND_RESPONSE_TO);
        assert_eq!(distinct[15].response_address, "https://example.com/15");
    }

    #[test]
    fn conversation_entries_are_counted_once_per_target_and_trigger() {
        let complete = entry(RespondWhen::OnConversationComplete);
        let error = entry(RespondWhen::OnConversationError);
        let mut elsewhere = complete.clone();
        elsewhere.response_address = "https://example.com/other".into();
        let per_call = entry(RespondWhen::OnCallComplete);
        let all = [&complete, &per_call, &complete, &error, &elsewhere, &error];
        let distinct = conversation_entries(all);
        assert_eq!(distinct, vec![complete, error, elsewhere]);
    }

    #[test]
    fn form_fields_are_the_ten_names_with_empty_absent_values() {
        let notice = Notice {
            event: NoticeEvent::Request,
            respond_when: RespondWhen::OnCallComplete,
            request_id: "r1".into(),
            conversation_id: None,
            sequence_code: None,
            operation: Operation::Create,
            overall_status_code: "OK".into(),
            status_code: "OK".into(),
            status_message: String::new(),
            error_code: None,
            detail: None,
        };
        let fields = notice.form_fields("");
        let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, FORM_FIELDS);
        assert_eq!(fields[1].1, "");
        assert_eq!(fields[6].1, "Asynchronous");
        assert_eq!(fields[7].1, "Asynchronous");
        assert_eq!(fields[9].1, "");
    }
}
