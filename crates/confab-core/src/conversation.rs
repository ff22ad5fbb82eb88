//! The conversation state machine: what happens when a part arrives.
//!
//! ```text
//!            part (k+1 < N)
//!           ┌──────────┐
//!           ▼          │
//! (none) ─► Open ──────┘
//!   │        │ part k+1 = N             ┌──► Complete
//!   │        ├─────────────► Closed ──► Processing
//!   │        │                          └──► Error
//!   │        ├─ 200 / 214 ─► Error
//!   │        └─ no part for the gap ─► Timeout
//!   └─ N = 1 ──────────────► Closed
//! ```
//!
//! Every state but `Open` is final for intake: a conversation's id is
//! reserved forever, so a part that names a finished conversation is refused
//! with the code that says why. A single call that carries no conversation
//! fields is not a conversation at all.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error_code::AsyncErrorCode;
use crate::intake::ConversationPart;

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConversationState {
    /// Still collecting parts.
    Open,
    /// Every part is in; waiting to run.
    Closed,
    /// Running its parts in order.
    Processing,
    /// Every part ran and none failed.
    Complete,
    /// Invalidated on receipt, or a part failed while running.
    Error,
    /// Too long passed between parts; never runs.
    Timeout,
}

impl ConversationState {
    /// The name stored and shown for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Closed => "Closed",
            Self::Processing => "Processing",
            Self::Complete => "Complete",
            Self::Error => "Error",
            Self::Timeout => "Timeout",
        }
    }
}

impl fmt::Display for ConversationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConversationState {
    type Err = AsyncErrorCode;

    /// A stored state Confab does not know is an inconsistent conversation
    /// (212).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "Open" => Self::Open,
            "Closed" => Self::Closed,
            "Processing" => Self::Processing,
            "Complete" => Self::Complete,
            "Error" => Self::Error,
            "Timeout" => Self::Timeout,
            _ => return Err(AsyncErrorCode::InvalidConversation),
        })
    }
}

/// What the store knows of a conversation when a part arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSnapshot {
    /// The stored state, or the 212 error when it is unreadable.
    pub state: Result<ConversationState, AsyncErrorCode>,
    /// `CallsInConversation` as the first part gave it.
    pub calls_in_conversation: i32,
    /// The sequence codes of the parts stored so far.
    pub received: Vec<i32>,
    /// How many parts the conversation has counted in. Kept apart from
    /// `received` so that a conversation whose stored parts disagree with its
    /// own count is caught when it closes (201) instead of never closing.
    pub received_count: i32,
}

/// What to do with an arriving part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartDecision {
    /// Store the part; the conversation starts (if new) and closes when this
    /// was its last missing part.
    Accept {
        /// This part opens a conversation that did not exist.
        starts: bool,
        /// With this part every part is in.
        closes: bool,
    },
    /// Refuse the part with `code`; when `invalidates` is set the
    /// conversation moves to `Error` and never runs.
    Reject {
        /// The code the part is answered with.
        code: AsyncErrorCode,
        /// Whether the conversation is invalidated by this part.
        invalidates: bool,
    },
}

/// Decides what happens to `part` given what is stored of its conversation.
///
/// Finished conversations answer with the code for their state: a part for a
/// closed or running one is late (215), for a failed one 213, for a timed-out
/// one 203, and for a completed one the id is being reused (211).
pub fn receive_part(
    existing: Option<&ConversationSnapshot>,
    part: &ConversationPart,
) -> PartDecision {
    let Some(existing) = existing else {
        let closes = part.calls_in_conversation == 1;
        return PartDecision::Accept {
            starts: true,
            closes,
        };
    };
    let reject = |code| PartDecision::Reject {
        code,
        invalidates: false,
    };
    let state = match existing.state {
        Ok(state) => state,
        Err(code) => return reject(code),
    };
    match state {
        ConversationState::Open => {}
        ConversationState::Closed | ConversationState::Processing => {
            return reject(AsyncErrorCode::ConversationClosed);
        }
        ConversationState::Complete => return reject(AsyncErrorCode::ConversationIdReused),
        ConversationState::Error => return reject(AsyncErrorCode::ConversationInError),
        ConversationState::Timeout => return reject(AsyncErrorCode::Timeout),
    }

    if part.calls_in_conversation != existing.calls_in_conversation {
        return PartDecision::Reject {
            code: AsyncErrorCode::ReceivedTotalMismatch,
            invalidates: true,
        };
    }
    if existing.received.contains(&part.sequence_code) {
        return PartDecision::Reject {
            code: AsyncErrorCode::SequenceCodeReused,
            invalidates: true,
        };
    }
    let closes = existing.received_count + 1 >= existing.calls_in_conversation;
    PartDecision::Accept {
        starts: false,
        closes,
    }
}

/// The defensive check made when a conversation closes: the parts actually
/// stored must be exactly `1..=calls`. A mismatch means the store lost or
/// duplicated a part (201).
pub fn check_collection(calls: i32, stored_sequence_codes: &[i32]) -> Result<(), AsyncErrorCode> {
    let mut sorted = stored_sequence_codes.to_vec();
    sorted.sort_unstable();
    let expected: Vec<i32> = (1..=calls).collect();
    if sorted == expected {
        Ok(())
    } else {
        Err(AsyncErrorCode::CollectionTotalMismatch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn part(seq: i32, calls: i32) -> ConversationPart {
        ConversationPart {
            conversation_id: "conv".into(),
            sequence_code: seq,
            calls_in_conversation: calls,
        }
    }

    fn open(calls: i32, received: &[i32]) -> ConversationSnapshot {
        ConversationSnapshot {
            state: Ok(ConversationState::Open),
            calls_in_conversation: calls,
            received: received.to_vec(),
            received_count: received.len() as i32,
        }
    }

    #[test]
    fn first_part_starts_and_single_part_closes_at_once() {
        assert_eq!(
            receive_part(None, &part(2, 3)),
            PartDecision::Accept {
                starts: true,
                closes: false
            }
        );
        assert_eq!(
            receive_part(None, &part(1, 1)),
            PartDecision::Accept {
                starts: true,
                closes: true
            }
        );
    }

    #[test]
    fn last_missing_part_closes_in_any_order() {
        let snapshot = open(3, &[3, 1]);
        assert_eq!(
            receive_part(Some(&snapshot), &part(2, 3)),
            PartDecision::Accept {
                starts: false,
                closes: true
            }
        );
    }

    #[test]
    fn mismatched_total_and_reused_sequence_invalidate() {
        let snapshot = open(3, &[1]);
        assert_eq!(
            receive_part(Some(&snapshot), &part(2, 4)),
            PartDecision::Reject {
                code: AsyncErrorCode::ReceivedTotalMismatch,
                invalidates: true
            }
        );
        assert_eq!(
            receive_part(Some(&snapshot), &part(1, 3)),
            PartDecision::Reject {
                code: AsyncErrorCode::SequenceCodeReused,
                invalidates: true
            }
        );
    }

    #[test]
    fn finished_conversations_refuse_with_their_code() {
        let cases = [
            (
                Ok(ConversationState::Closed),
                AsyncErrorCode::ConversationClosed,
            ),
            (
                Ok(ConversationState::Processing),
                AsyncErrorCode::ConversationClosed,
            ),
            (
                Ok(ConversationState::Complete),
                AsyncErrorCode::ConversationIdReused,
            ),
            (
                Ok(ConversationState::Error),
                AsyncErrorCode::ConversationInError,
            ),
            (Ok(ConversationState::Timeout), AsyncErrorCode::Timeout),
            (
                Err(AsyncErrorCode::InvalidConversation),
                AsyncErrorCode::InvalidConversation,
            ),
        ];
        for (state, code) in cases {
            let snapshot = ConversationSnapshot {
                state,
                calls_in_conversation: 2,
                received: vec![1, 2],
                received_count: 2,
            };
            assert_eq!(
                receive_part(Some(&snapshot), &part(1, 2)),
                PartDecision::Reject {
                    code,
                    invalidates: false
                }
            );
        }
    }

    #[test]
    fn unknown_stored_state_reads_as_212() {
        assert_eq!(
            "Weird".parse::<ConversationState>(),
            Err(AsyncErrorCode::InvalidConversation)
        );
    }

    #[test]
    fn collection_must_be_exactly_one_to_n() {
        assert_eq!(check_collection(3, &[3, 1, 2]), Ok(()));
        assert_eq!(
            check_collection(3, &[1, 2]),
            Err(AsyncErrorCode::CollectionTotalMismatch)
        );
        assert_eq!(
            check_collection(2, &[1, 2, 2]),
            Err(AsyncErrorCode::CollectionTotalMismatch)
        );
    }
}
