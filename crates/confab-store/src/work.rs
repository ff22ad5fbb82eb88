//! What happens, inside the writing transaction, when queued work runs.
//!
//! One request at a time: pick the due request whose turn it is, drop it if it
//! expired, otherwise run its objects through the engine's [`Executor`],
//! write its `ResultMessage` and `ResultItem`s, mark it done, and move its
//! conversation on. All of that commits together or not at all, which is
//! what makes every request run exactly once.
//!
//! A conversation part only becomes Ready when the part before it has run
//! without error, so the queue never holds two runnable parts of one
//! conversation and the order by `SequenceCode` needs no further locking.
//! A part "fails" when any of its objects fails; the parts after it are
//! then settled as failed with code 204 and never run.

use chrono::{DateTime, Utc};
use confab_core::AsyncErrorCode;
use confab_core::call::ObjectCall;
use confab_core::callback::ConversationEnd;
use confab_core::conversation::ConversationState;
use confab_core::options::RequestType;
use confab_core::result::{ObjectResult, OverallStatus, StatusCode};

use crate::error::StoreError;
use crate::fairness::Rotation;
use crate::intake::sequence_of;
use crate::model::{
    CancelOutcome, QueuedRequest, RanRequest, RequestState, ResultItemRecord, ResultMessageRecord,
};
use crate::outbox::{conversation_ended, request_settled};
use crate::tx::{Executor, QueueTx};
use confab_core::{AccountId, RequestId};

/// The `StatusMessage` of a request whose objects all succeeded.
const PROCESSED_MESSAGE: &str = "Processed";

/// How long one batch of work takes new requests for. A batch is one
/// transaction; while it runs, its requests' results wait to be committed
/// and, on SQLite, so does every call waiting to be accepted. A few slow
/// requests (tens of thousands of rows each) must not hold either for long.
pub const BATCH_TIME: std::time::Duration = std::time::Duration::from_millis(100);

/// Whether a batch that started at `started` and ran `ran` of at most
/// `limit` requests takes another.
pub fn batch_has_room(started: std::time::Instant, ran: usize, limit: usize) -> bool {
    ran < limit && started.elapsed() < BATCH_TIME
}

/// Runs the due request whose turn it is (see [`crate::fairness`]), if
/// there is one.
pub fn run_next(
    tx: &mut dyn QueueTx,
    executor: &dyn Executor,
    rotation: &mut Rotation,
    now: DateTime<Utc>,
) -> Result<Option<RanRequest>, StoreError> {
    let Some(request) = rotation.next_due(tx, now)? else {
        return Ok(None);
    };
    if request
        .expires_at
        .is_some_and(|expires_at| expires_at < now)
    {
        return expire(tx, request, now).map(Some);
    }
    let call = tx.request_call(request.row_id)?;
    if let Some(part) = &request.part
        && part.sequence_code == 1
    {
        let state = ConversationState::Processing;
        tx.set_conversation_state(request.account, &part.conversation_id, state, None, now)?;
    }

    let results = executor.execute(tx.objects(), request.account, &call, now)?;
    let message = settle(tx, &request, &call, results, RequestState::Done, now)?;
    if request.part.is_some() {
        advance_conversation(tx, &request, &message, now)?;
    }
    Ok(Some(RanRequest {
        request,
        state: RequestState::Done,
        message,
    }))
}

/// Drops a request that was still queued after its expiration time.
fn expire(
    tx: &mut dyn QueueTx,
    request: QueuedRequest,
    now: DateTime<Utc>,
) -> Result<RanRequest, StoreError> {
    let text = "Expired: the request was still queued after its RequestExpirationTime";
    let message = settle_unrun(tx, &request, RequestState::Expired, None, text, now)?;
    if let Some(part) = &request.part {
        let (account, conversation_id) = (request.account, part.conversation_id.as_str());
        let state = ConversationState::Error;
        tx.set_conversation_state(account, conversation_id, state, None, now)?;
        conversation_ended(
            tx,
            account,
            conversation_id,
            ConversationEnd::Error,
            &message,
            now,
        )?;
    }
    Ok(RanRequest {
        request,
        state: RequestState::Expired,
        message,
    })
}

/// After a part ran: let the next part run, complete the conversation, or
/// stop it and settle the rest as failed.
fn advance_conversation(
    tx: &mut dyn QueueTx,
    request: &QueuedRequest,
    message: &ResultMessageRecord,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(part) = &request.part else {
        return Ok(());
    };
    let (account, conversation_id) = (request.account, part.conversation_id.as_str());

    if message.status_code != StatusCode::Ok.as_str() {
        tx.set_conversation_state(
            account,
            conversation_id,
            ConversationState::Error,
            message.error_code,
            now,
        )?;
        fail_remaining_parts(tx, request, now)?;
        let end = ConversationEnd::Error;
        conversation_ended(tx, account, conversation_id, end, message, now)?;
        return Ok(());
    }
    if part.sequence_code >= part.calls_in_conversation {
        let state = ConversationState::Complete;
        tx.set_conversation_state(account, conversation_id, state, None, now)?;
        let end = ConversationEnd::Complete;
        conversation_ended(tx, account, conversation_id, end, message, now)?;
        return Ok(());
    }

    let next = part.sequence_code + 1;
    tx.set_next_sequence(account, conversation_id, next)?;
    let parts = tx.conversation_parts(account, conversation_id)?;
    if let Some(queued) = parts
        .iter()
        .find(|queued| sequence_of(queued) == Some(next))
    {
        tx.set_request_state(queued.row_id, RequestState::Ready, now)?;
    }
    Ok(())
}

/// Settles every part after a failed one as failed (204), never run.
fn fail_remaining_parts(
    tx: &mut dyn QueueTx,
    failed: &QueuedRequest,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(part) = &failed.part else {
        return Ok(());
    };
    let text = format!(
        "Async API Error: not run because part {} of the conversation failed",
        part.sequence_code
    );
    for queued in tx.conversation_parts(failed.account, &part.conversation_id)? {
        if queued.state.is_final() || queued.row_id == failed.row_id {
            continue;
        }
        let code = Some(AsyncErrorCode::AsyncError.number());
        settle_unrun(tx, &queued, RequestState::Failed, code, &text, now)?;
    }
    Ok(())
}

/// Settles a request that will never run: every object gets an error
/// result with `message` and, if given, `error_code`.
pub(crate) fn settle_unrun(
    tx: &mut dyn QueueTx,
    request: &QueuedRequest,
    state: RequestState,
    error_code: Option<i32>,
    message: &str,
    now: DateTime<Utc>,
) -> Result<ResultMessageRecord, StoreError> {
    let call = tx.request_call(request.row_id)?;
    let results = (0..call.objects.len())
        .map(|ordinal| ObjectResult {
            status_code: StatusCode::Error,
            error_code,
            ..ObjectResult::ok(ordinal as i32, message)
        })
        .collect();
    settle(tx, request, &call, results, state, now)
}

/// Writes a request's `ResultMessage` and `ResultItem`s, its final state,
/// and the callbacks it owes.
fn settle(
    tx: &mut dyn QueueTx,
    request: &QueuedRequest,
    call: &ObjectCall,
    results: Vec<ObjectResult>,
    state: RequestState,
    now: DateTime<Utc>,
) -> Result<ResultMessageRecord, StoreError> {
    let results = stamp_results(request, call, results);
    let message = result_message(request, results, now);
    let items = result_items(request, call, &message, now);
    tx.insert_result_message(&message)?;
    tx.insert_result_items(&items)?;
    tx.set_request_state(request.row_id, state, now)?;
    request_settled(tx, request, call, &message, state, now)?;
    Ok(message)
}

/// Marks results as belonging to an asynchronous request, each with its
/// object's `CorrelationID`.
fn stamp_results(
    request: &QueuedRequest,
    call: &ObjectCall,
    results: Vec<ObjectResult>,
) -> Vec<ObjectResult> {
    let conversation_id = request.conversation_id();
    results
        .into_iter()
        .zip(call.objects.iter())
        .map(|(result, object)| ObjectResult {
            correlation_id: result
                .correlation_id
                .or_else(|| object.base().correlation_id.clone()),
            request_id: Some(request.request_id.to_string()),
            conversation_id: conversation_id.clone(),
            request_type: Some(RequestType::Asynchronous),
            ..result
        })
        .collect()
}

/// Sums a request's results up as its `ResultMessage`.
fn result_message(
    request: &QueuedRequest,
    results: Vec<ObjectResult>,
    now: DateTime<Utc>,
) -> ResultMessageRecord {
    let overall = OverallStatus::of(&results);
    let first_error = results
        .iter()
        .find(|result| result.status_code == StatusCode::Error);
    let (status_code, status_message, error_code) = match first_error {
        None => (StatusCode::Ok, PROCESSED_MESSAGE.to_owned(), None),
        Some(error) => (
            StatusCode::Error,
            error.status_message.clone(),
            error.error_code,
        ),
    };
    ResultMessageRecord {
        account: request.account,
        request_id: request.request_id,
        part: request.part.clone(),
        operation: request.operation,
        overall_status_code: overall.as_str().to_owned(),
        status_code: status_code.as_str().to_owned(),
        status_message,
        error_code,
        results,
        created_at: now,
    }
}

/// One `ResultItem` per object of the call.
fn result_items(
    request: &QueuedRequest,
    call: &ObjectCall,
    message: &ResultMessageRecord,
    now: DateTime<Utc>,
) -> Vec<ResultItemRecord> {
    let conversation_id = request.conversation_id();
    call.objects
        .iter()
        .zip(&message.results)
        .map(|(object, result)| ResultItemRecord {
            account: request.account,
            request_id: request.request_id,
            conversation_id: conversation_id.clone(),
            ordinal_id: result.ordinal_id,
            status_code: result.status_code.as_str().to_owned(),
            status_message: result.status_message.clone(),
            error_code: result.error_code,
            request_object_type: object.type_name().to_owned(),
            correlation_id: object.base().correlation_id.clone(),
            created_at: now,
        })
        .collect()
}

/// The `StatusMessage` of a request cancelled before it ran.
const CANCELLED_MESSAGE: &str = "Cancelled: deleted before it ran";

/// Cancels a queued request that is not part of a conversation. It gets a
/// `ResultMessage` saying so, so that a client polling for its results is
/// not left waiting; after that it no longer exists as scheduled work
/// (220).
pub fn cancel_request(
    tx: &mut dyn QueueTx,
    account: AccountId,
    request_id: RequestId,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, StoreError> {
    let Some(request) = tx.request(account, request_id)? else {
        return Ok(CancelOutcome::NotFound);
    };
    if request.part.is_some() || request.state == RequestState::Cancelled {
        return Ok(CancelOutcome::NotFound);
    }
    if request.state.is_final() {
        return Ok(CancelOutcome::AlreadyProcessed);
    }
    settle_unrun(
        tx,
        &request,
        RequestState::Cancelled,
        None,
        CANCELLED_MESSAGE,
        now,
    )?;
    Ok(CancelOutcome::Cancelled)
}

/// Cancels a conversation that has not started to run. Its id stays
/// reserved: the conversation moves to `Error`, so later parts get 213.
/// Each part received gets a `ResultMessage` saying it was cancelled.
pub fn cancel_conversation(
    tx: &mut dyn QueueTx,
    account: AccountId,
    conversation_id: &str,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, StoreError> {
    let Some(record) = tx.conversation(account, conversation_id)? else {
        return Ok(CancelOutcome::NotFound);
    };
    let parts = tx.conversation_parts(account, conversation_id)?;
    let cancelled_before = !parts.is_empty()
        && parts
            .iter()
            .all(|queued| queued.state == RequestState::Cancelled);
    if cancelled_before {
        return Ok(CancelOutcome::NotFound);
    }
    let not_started = matches!(
        record.state,
        Ok(ConversationState::Open | ConversationState::Closed)
    );
    if !not_started {
        return Ok(CancelOutcome::AlreadyProcessed);
    }

    let state = ConversationState::Error;
    tx.set_conversation_state(account, conversation_id, state, None, now)?;
    let mut first_settled = None;
    for queued in parts.iter().filter(|queued| !queued.state.is_final()) {
        let message = settle_unrun(
            tx,
            queued,
            RequestState::Cancelled,
            None,
            CANCELLED_MESSAGE,
            now,
        )?;
        first_settled.get_or_insert(message);
    }
    if let Some(message) = first_settled {
        let end = ConversationEnd::Error;
        conversation_ended(tx, account, conversation_id, end, &message, now)?;
    }
    Ok(CancelOutcome::Cancelled)
}
