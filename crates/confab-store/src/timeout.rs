//! Conversations that stop receiving parts.
//!
//! A conversation still `Open` (not every part received) whose last part
//! arrived longer ago than the inter-part gap moves to `Timeout`: it never
//! runs, each part it received is settled with `ErrorCode` 203, and a part
//! that arrives later is refused with 203 (the state machine in
//! `confab_core::conversation` says so for `Timeout`). The gap is measured
//! from the last part received, not the first: the documentation speaks of
//! the time between parts.
//!
//! Each step stands alone and can run again without harm: a conversation
//! that has already moved on is left as it is.

use chrono::{DateTime, TimeDelta, Utc};
use confab_core::callback::ConversationEnd;
use confab_core::conversation::ConversationState;
use confab_core::{AccountId, AsyncErrorCode};

use crate::error::StoreError;
use crate::model::{ConversationKey, RequestState};
use crate::outbox::conversation_ended;
use crate::tx::{HousekeepingTx, QueueTx};
use crate::work::settle_unrun;

/// The `StatusMessage` of each part of a conversation that timed out.
const TIMED_OUT_MESSAGE: &str =
    "Async API Timeout: the conversation's remaining parts did not arrive in time; it never ran";

/// Times out the conversations still `Open` whose last part arrived more
/// than `gap` before `now`, oldest first, at most `limit` of them. Returns
/// the ones it moved.
pub fn time_out_stale_conversations(
    tx: &mut dyn HousekeepingTx,
    now: DateTime<Utc>,
    gap: TimeDelta,
    limit: usize,
) -> Result<Vec<ConversationKey>, StoreError> {
    // A gap reaching back before the first representable instant (an
    // operator's "never") leaves nothing stale.
    let Some(cutoff) = now.checked_sub_signed(gap) else {
        return Ok(Vec::new());
    };
    let stale = tx.stale_open_conversations(cutoff, limit)?;
    let mut moved = Vec::with_capacity(stale.len());
    for key in stale {
        if time_out_conversation(tx, key.account, &key.conversation_id, now)? {
            moved.push(key);
        }
    }
    Ok(moved)
}

/// Moves one conversation from `Open` to `Timeout` and settles every part
/// it received as failed with 203. Returns `false`, changing nothing, when
/// the conversation is not `Open` (it closed, failed or already timed out).
pub fn time_out_conversation(
    tx: &mut dyn QueueTx,
    account: AccountId,
    conversation_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(record) = tx.conversation(account, conversation_id)? else {
        return Ok(false);
    };
    if record.state != Ok(ConversationState::Open) {
        return Ok(false);
    }

    let code = AsyncErrorCode::Timeout.number();
    let state = ConversationState::Timeout;
    tx.set_conversation_state(account, conversation_id, state, Some(code), now)?;
    let mut first_settled = None;
    for part in tx.conversation_parts(account, conversation_id)? {
        if part.state.is_final() {
            continue;
        }
        let failed = RequestState::Failed;
        let message = settle_unrun(tx, &part, failed, Some(code), TIMED_OUT_MESSAGE, now)?;
        first_settled.get_or_insert(message);
    }
    // A time-out ends the conversation in error: its OnConversationError
    // and OnConversationComplete callbacks are owed, carrying the
    // lowest-numbered part received.
    if let Some(deciding) = &first_settled {
        conversation_ended(
            tx,
            account,
            conversation_id,
            ConversationEnd::Error,
            deciding,
            now,
        )?;
    }
    Ok(true)
}
