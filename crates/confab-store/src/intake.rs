//! What happens, inside the writing transaction, when an asynchronous call
//! arrives: the conversation checks of [`confab_core::conversation`] applied
//! to what is stored, then the request written.
//!
//! A request that is refused here leaves nothing behind, except that a part
//! which invalidates its conversation (200, 214) moves the conversation to
//! `Error` and settles the parts already received as failed, so that each of
//! them has a result that says why it never ran. Likewise a part that
//! arrives after its conversation's inter-part gap times the conversation
//! out (see [`crate::timeout`]) before housekeeping would, and gets 203.

use chrono::{DateTime, Utc};
use confab_core::AccountId;
use confab_core::AsyncErrorCode;
use confab_core::callback::ConversationEnd;
use confab_core::conversation::{
    ConversationSnapshot, ConversationState, PartDecision, check_collection, receive_part,
};
use confab_core::intake::ConversationPart;

use crate::error::StoreError;
use crate::model::{
    ConversationRecord, IntakeOutcome, NewRequest, QueuedRequest, RequestState, Submission,
};
use crate::outbox::conversation_ended;
use crate::timeout::time_out_conversation;
use crate::tx::QueueTx;
use crate::work::settle_unrun;

/// Applies the conversation checks to `submission` and stores it.
pub fn accept(tx: &mut dyn QueueTx, submission: &Submission) -> Result<IntakeOutcome, StoreError> {
    let account = submission.account;
    let now = submission.received_at;
    let Some(part) = &submission.plan.part else {
        insert(tx, submission, RequestState::Ready)?;
        return Ok(IntakeOutcome::Queued);
    };

    let record = tx.conversation(account, &part.conversation_id)?;
    if let Some(record) = &record
        && is_silent(record, submission)
    {
        time_out_conversation(tx, account, &part.conversation_id, now)?;
        return Ok(IntakeOutcome::Refused(AsyncErrorCode::Timeout));
    }
    let snapshot = match record {
        Some(record) => Some(ConversationSnapshot {
            state: record.state,
            calls_in_conversation: record.calls_in_conversation,
            received: tx.conversation_sequence_codes(account, &part.conversation_id)?,
            received_count: record.received_count,
        }),
        None => None,
    };
    let (starts, closes) = match receive_part(snapshot.as_ref(), part) {
        PartDecision::Accept { starts, closes } => (starts, closes),
        PartDecision::Reject { code, invalidates } => {
            if invalidates {
                invalidate(tx, account, &part.conversation_id, code, now)?;
            }
            return Ok(IntakeOutcome::Refused(code));
        }
    };

    if starts {
        tx.insert_conversation(
            account,
            &part.conversation_id,
            part.calls_in_conversation,
            now,
        )?;
    } else {
        tx.touch_conversation(account, &part.conversation_id, now)?;
    }
    insert(tx, submission, RequestState::Waiting)?;
    if closes && let Err(code) = close(tx, account, part, now)? {
        return Ok(IntakeOutcome::Refused(code));
    }
    Ok(IntakeOutcome::Queued)
}

/// Whether a conversation is still collecting parts but has received none
/// for longer than the submission's gap: the part arrives too late.
fn is_silent(record: &ConversationRecord, submission: &Submission) -> bool {
    let Some(gap) = submission.conversation_timeout else {
        return false;
    };
    // A gap reaching back before the first representable instant (an
    // operator's "never") leaves every conversation in time.
    let Some(cutoff) = submission.received_at.checked_sub_signed(gap) else {
        return false;
    };
    record.state == Ok(ConversationState::Open) && record.last_part_at < cutoff
}

/// Writes the request row.
fn insert(
    tx: &mut dyn QueueTx,
    submission: &Submission,
    state: RequestState,
) -> Result<(), StoreError> {
    let plan = &submission.plan;
    let request = QueuedRequest {
        row_id: 0,
        request_id: submission.request_id,
        account: submission.account,
        part: plan.part.clone(),
        operation: submission.operation,
        priority: plan.priority,
        run_after: plan.scheduled_time.unwrap_or(submission.received_at),
        expires_at: plan.expires_at,
        state,
    };
    tx.insert_request(&NewRequest {
        request,
        payload: &submission.payload,
        received_at: submission.received_at,
    })
}

/// Closes a conversation whose last part just arrived: checks that exactly
/// the parts `1..=N` are stored, then lets part 1 run.
fn close(
    tx: &mut dyn QueueTx,
    account: AccountId,
    part: &ConversationPart,
    now: DateTime<Utc>,
) -> Result<Result<(), AsyncErrorCode>, StoreError> {
    let conversation_id = &part.conversation_id;
    let stored = tx.conversation_sequence_codes(account, conversation_id)?;
    if let Err(code) = check_collection(part.calls_in_conversation, &stored) {
        invalidate(tx, account, conversation_id, code, now)?;
        return Ok(Err(code));
    }

    tx.set_conversation_state(
        account,
        conversation_id,
        ConversationState::Closed,
        None,
        now,
    )?;
    tx.set_next_sequence(account, conversation_id, 1)?;
    let parts = tx.conversation_parts(account, conversation_id)?;
    if let Some(first) = parts.iter().find(|queued| sequence_of(queued) == Some(1)) {
        tx.set_request_state(first.row_id, RequestState::Ready, now)?;
    }
    Ok(Ok(()))
}

/// Moves a conversation to `Error` and settles every part that has not run
/// as failed with `code`.
pub fn invalidate(
    tx: &mut dyn QueueTx,
    account: AccountId,
    conversation_id: &str,
    code: AsyncErrorCode,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.set_conversation_state(
        account,
        conversation_id,
        ConversationState::Error,
        Some(code.number()),
        now,
    )?;
    let mut first_settled = None;
    for queued in tx.conversation_parts(account, conversation_id)? {
        if queued.state.is_final() {
            continue;
        }
        let error_code = Some(code.number());
        let message = settle_unrun(
            tx,
            &queued,
            RequestState::Failed,
            error_code,
            code.message(),
            now,
        )?;
        first_settled.get_or_insert(message);
    }
    // The part that ended the conversation was refused and stored nothing,
    // so its callbacks name the first part that was settled instead.
    if let Some(message) = first_settled {
        let end = ConversationEnd::Error;
        conversation_ended(tx, account, conversation_id, end, &message, now)?;
    }
    Ok(())
}

/// The sequence code of a queued conversation part.
pub(crate) fn sequence_of(request: &QueuedRequest) -> Option<i32> {
    request.part.as_ref().map(|part| part.sequence_code)
}
