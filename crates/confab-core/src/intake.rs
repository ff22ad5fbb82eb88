//! The checks every asynchronous call passes on receipt, before it is queued.
//!
//! These are the checks that need nothing but the call itself (and the
//! clock): whether the call is asynchronous at all, whether its conversation
//! fields hang together, whether its times make sense. Checks against stored
//! conversations live in [`crate::conversation`]. A call that fails here is
//! never stored.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error_code::AsyncErrorCode;
use crate::options::{QueuePriority, RequestOptions, RequestType, ResponseType};

/// The largest number of objects one asynchronous request may carry; the API
/// wants fewer than 32,767.
pub const MAX_OBJECTS_PER_REQUEST: usize = 32_766;

/// How far ahead `ScheduledTime` may lie.
pub const MAX_SCHEDULE_AHEAD: Duration = Duration::days(30);

/// Which part of which conversation a call is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationPart {
    /// The client's conversation key.
    pub conversation_id: String,
    /// The 1-based position of this call.
    pub sequence_code: i32,
    /// How many calls the conversation has.
    pub calls_in_conversation: i32,
}

/// How an accepted asynchronous call is to be queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AsyncPlan {
    /// The conversation the call belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<ConversationPart>,
    /// The lane it waits in.
    pub priority: QueuePriority,
    /// Not before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_time: Option<DateTime<Utc>>,
    /// Dropped if still queued after this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a call turns out to be once its options are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Mode {
    /// Run it now and answer with its results.
    Synchronous,
    /// Queue it and answer with a receipt.
    Asynchronous(AsyncPlan),
}

/// Operator settings that the receipt checks depend on.
#[derive(Debug, Clone, Default)]
pub struct IntakePolicy {
    /// Hosts to which callbacks may go over plain HTTP (a developer's
    /// loopback receiver, say). Everything else must be HTTPS.
    pub plain_http_hosts: Vec<String>,
}

impl IntakePolicy {
    /// Whether a callback address passes the HTTPS rule.
    ///
    /// The address is read with the WHATWG URL parser, the one the
    /// deliverer's HTTP client uses, so the host judged here is the host
    /// the callback goes to. A hand-written reading disagreed with it on
    /// spellings such as `http://public.example\@127.0.0.1/` (a backslash
    /// ends the authority for `http`), and let plain HTTP through to a host
    /// nobody allowed.
    pub fn allows_callback_address(&self, address: &str) -> bool {
        let Ok(url) = url::Url::parse(address.trim()) else {
            return false;
        };
        match url.scheme() {
            "https" => url.host().is_some(),
            "http" => url.host_str().is_some_and(|host| self.allows_host(host)),
            _ => false,
        }
    }

    /// Whether the operator named `host` (as a URL spells it, IPv6 in
    /// brackets or not) in `--allow-http-callback-host`.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.plain_http_hosts
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(host))
    }
}

/// Decides whether a call is synchronous or asynchronous and runs every check
/// that needs nothing but the call.
///
/// The order of the checks decides which code a call with several faults
/// gets; it follows the order in which the documentation explains them:
/// first whether the call may be asynchronous at all (209), then the object
/// count (218), then the conversation fields (207, 202, 208, 206, 205), then
/// the times (226, 228, 229, 231), then the callback addresses (227).
pub fn classify(
    options: &RequestOptions,
    object_count: usize,
    now: DateTime<Utc>,
    policy: &IntakePolicy,
) -> Result<Mode, AsyncErrorCode> {
    let has_conversation_fields = options.conversation_id.is_some()
        || options.sequence_code.is_some()
        || options.calls_in_conversation.is_some();
    if options.request_type != Some(RequestType::Asynchronous) {
        if has_conversation_fields {
            return Err(AsyncErrorCode::RequestTypeNotAsynchronous);
        }
        return Ok(Mode::Synchronous);
    }

    if object_count > MAX_OBJECTS_PER_REQUEST {
        return Err(AsyncErrorCode::TooManyObjects);
    }
    let part = conversation_part(options)?;
    check_times(options, part.as_ref(), now)?;
    check_callbacks(options, policy)?;

    Ok(Mode::Asynchronous(AsyncPlan {
        part,
        priority: options.effective_priority(),
        scheduled_time: options.scheduled_time,
        expires_at: options.request_expiration_time,
    }))
}

/// Reads the conversation fields of an asynchronous call.
fn conversation_part(options: &RequestOptions) -> Result<Option<ConversationPart>, AsyncErrorCode> {
    let conversation_id = options
        .conversation_id
        .as_deref()
        .map(str::trim)
        .unwrap_or("");
    let has_numbers = options.sequence_code.is_some() || options.calls_in_conversation.is_some();
    if conversation_id.is_empty() {
        if has_numbers || options.conversation_id.is_some() {
            return Err(AsyncErrorCode::MissingConversationId);
        }
        return Ok(None);
    }

    // Neither number means a single-part conversation that runs at once.
    let (sequence_code, calls) = match (options.sequence_code, options.calls_in_conversation) {
        (None, None) => (1, 1),
        (None, Some(_)) => return Err(AsyncErrorCode::MissingSequenceCode),
        (Some(_), None) => return Err(AsyncErrorCode::MissingCallsInConversation),
        (Some(sequence_code), Some(calls)) => (sequence_code, calls),
    };
    if calls < 1 {
        return Err(AsyncErrorCode::InvalidCallsInConversation);
    }
    if sequence_code < 1 || sequence_code > calls {
        return Err(AsyncErrorCode::SequenceCodeOutOfRange);
    }

    Ok(Some(ConversationPart {
        conversation_id: conversation_id.to_owned(),
        sequence_code,
        calls_in_conversation: calls,
    }))
}

/// The checks on `ScheduledTime` and `RequestExpirationTime`.
fn check_times(
    options: &RequestOptions,
    part: Option<&ConversationPart>,
    now: DateTime<Utc>,
) -> Result<(), AsyncErrorCode> {
    if let Some(scheduled) = options.scheduled_time
        && scheduled > now + MAX_SCHEDULE_AHEAD
    {
        return Err(AsyncErrorCode::ScheduledTimeTooFar);
    }
    let Some(expires) = options.request_expiration_time else {
        return Ok(());
    };
    if expires <= now {
        return Err(AsyncErrorCode::ExpirationInPast);
    }
    if options
        .scheduled_time
        // "Must be after": a request due at the instant it expires is
        // picked up after that instant, so it could never run.
        .is_some_and(|scheduled| expires <= scheduled)
    {
        return Err(AsyncErrorCode::ExpirationBeforeSchedule);
    }
    if part.is_some_and(|part| part.calls_in_conversation > 1) {
        return Err(AsyncErrorCode::ExpirationNotSupported);
    }
    Ok(())
}

/// Every HTTP callback address must be HTTPS unless the operator allowed the
/// host.
fn check_callbacks(options: &RequestOptions, policy: &IntakePolicy) -> Result<(), AsyncErrorCode> {
    let insecure = options.send_response_to.iter().any(|target| {
        target.response_type == ResponseType::HttpPost
            && !policy.allows_callback_address(&target.response_address)
    });
    if insecure {
        return Err(AsyncErrorCode::InsecureResponseAddress);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::options::AsyncResponse;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn asynchronous() -> RequestOptions {
        RequestOptions {
            request_type: Some(RequestType::Asynchronous),
            ..Default::default()
        }
    }

    fn check(options: &RequestOptions) -> Result<Mode, AsyncErrorCode> {
        classify(options, 1, now(), &IntakePolicy::default())
    }

    #[test]
    fn no_options_is_synchronous() {
        assert_eq!(check(&RequestOptions::default()), Ok(Mode::Synchronous));
    }

    #[test]
    fn conversation_fields_without_asynchronous_give_209() {
        let options = RequestOptions {
            sequence_code: Some(1),
            ..Default::default()
        };
        assert_eq!(
            check(&options),
            Err(AsyncErrorCode::RequestTypeNotAsynchronous)
        );
        let options = RequestOptions {
            request_type: Some(RequestType::Synchronous),
            conversation_id: Some("c".into()),
            ..Default::default()
        };
        assert_eq!(
            check(&options),
            Err(AsyncErrorCode::RequestTypeNotAsynchronous)
        );
    }

    #[test]
    fn conversation_id_alone_is_a_single_part_conversation() {
        let options = RequestOptions {
            conversation_id: Some("c".into()),
            ..asynchronous()
        };
        let Ok(Mode::Asynchronous(plan)) = check(&options) else {
            panic!("not async")
        };
        let part = plan.part.unwrap();
        assert_eq!((part.sequence_code, part.calls_in_conversation), (1, 1));
    }

    #[test]
    fn each_conversation_field_rule_has_its_code() {
        let cases = [
            (
                None,
                Some(1),
                Some(2),
                AsyncErrorCode::MissingConversationId,
            ),
            (
                Some(""),
                Some(1),
                Some(2),
                AsyncErrorCode::MissingConversationId,
            ),
            (
                Some("c"),
                None,
                Some(2),
                AsyncErrorCode::MissingSequenceCode,
            ),
            (
                Some("c"),
                Some(1),
                None,
                AsyncErrorCode::MissingCallsInConversation,
            ),
            (
                Some("c"),
                Some(1),
                Some(0),
                AsyncErrorCode::InvalidCallsInConversation,
            ),
            (
                Some("c"),
                Some(3),
                Some(2),
                AsyncErrorCode::SequenceCodeOutOfRange,
            ),
            (
                Some("c"),
                Some(0),
                Some(2),
                AsyncErrorCode::SequenceCodeOutOfRange,
            ),
        ];
        for (id, seq, calls, code) in cases {
            let options = RequestOptions {
                conversation_id: id.map(str::to_owned),
                sequence_code: seq,
                calls_in_conversation: calls,
                ..asynchronous()
            };
            assert_eq!(check(&options), Err(code), "{id:?} {seq:?} {calls:?}");
        }
    }

    #[test]
    fn too_many_objects_give_218() {
        let result = classify(&asynchronous(), 32_767, now(), &IntakePolicy::default());
        assert_eq!(result, Err(AsyncErrorCode::TooManyObjects));
        let result = classify(&asynchronous(), 32_766, now(), &IntakePolicy::default());
        assert!(result.is_ok());
    }

    #[test]
    fn time_rules_have_their_codes() {
        let far = RequestOptions {
            scheduled_time: Some(now() + Duration::days(31)),
            ..asynchronous()
        };
        assert_eq!(check(&far), Err(AsyncErrorCode::ScheduledTimeTooFar));
        let past = RequestOptions {
            request_expiration_time: Some(now() - Duration::seconds(1)),
            ..asynchronous()
        };
        assert_eq!(check(&past), Err(AsyncErrorCode::ExpirationInPast));
        let before = RequestOptions {
            scheduled_time: Some(now() + Duration::hours(2)),
            request_expiration_time: Some(now() + Duration::hours(1)),
            ..asynchronous()
        };
        assert_eq!(
            check(&before),
            Err(AsyncErrorCode::ExpirationBeforeSchedule)
        );
        let same = RequestOptions {
            scheduled_time: Some(now() + Duration::hours(1)),
            request_expiration_time: Some(now() + Duration::hours(1)),
            ..asynchronous()
        };
        assert_eq!(check(&same), Err(AsyncErrorCode::ExpirationBeforeSchedule));
        let multi = RequestOptions {
            conversation_id: Some("c".into()),
            sequence_code: Some(1),
            calls_in_conversation: Some(2),
            request_expiration_time: Some(now() + Duration::hours(1)),
            ..asynchronous()
        };
        assert_eq!(check(&multi), Err(AsyncErrorCode::ExpirationNotSupported));
    }

    #[test]
    fn plain_http_callbacks_need_an_allowed_host() {
        let target = |address: &str| AsyncResponse {
            response_type: crate::options::ResponseType::HttpPost,
            response_address: address.to_owned(),
            respond_when: None,
            include_results: false,
            include_objects: false,
            only_include_base: false,
        };
        let options = RequestOptions {
            send_response_to: vec![target("http://127.0.0.1:9000/hook")],
            ..asynchronous()
        };
        assert_eq!(
            check(&options),
            Err(AsyncErrorCode::InsecureResponseAddress)
        );
        let policy = IntakePolicy {
            plain_http_hosts: vec!["127.0.0.1".into()],
        };
        assert!(classify(&options, 1, now(), &policy).is_ok());
        let secure = RequestOptions {
            send_response_to: vec![target("https://example.test/hook")],
            ..asynchronous()
        };
        assert!(check(&secure).is_ok());
    }

    #[test]
    fn the_https_rule_judges_the_host_the_callback_goes_to() {
        let policy = IntakePolicy {
            plain_http_hosts: vec!["127.0.0.1".into(), "::1".into()],
        };
        // A backslash ends the authority of an `http` URL, so these go to
        // public.example, which nobody allowed over plain HTTP.
        assert!(!policy.allows_callback_address("http://public.example\\@127.0.0.1/"));
        assert!(!policy.allows_callback_address("http://public.example\\x@127.0.0.1:80/"));
        // User info is not the host.
        assert!(!policy.allows_callback_address("http://127.0.0.1@public.example/"));
        assert!(policy.allows_callback_address("http://public.example@127.0.0.1:9000/"));
        // Other spellings of an allowed address are that address.
        assert!(policy.allows_callback_address("HTTP://127.1:9000/hook"));
        assert!(policy.allows_callback_address("http://[0:0::1]:9000/"));
        assert!(policy.allows_callback_address(" https://example.test/hook"));
        assert!(!policy.allows_callback_address("https://"));
        assert!(!policy.allows_callback_address("ftp://127.0.0.1/"));
    }
}
