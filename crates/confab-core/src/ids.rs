//! Identifiers that cross module boundaries, each in its own type so that an
//! account number is never mistaken for a row number.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A tenant: the API calls it the MID (member ID) of a business unit.
///
/// Everything Confab stores belongs to exactly one account, and nothing of one
/// account is visible to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountId(pub i64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The identifier the server gives every call, handed out in the first answer.
///
/// The API prints GUIDs in every case; Confab prints lower case and compares
/// without regard to case, as clients copy them back in whatever case they got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestId(pub Uuid);

impl RequestId {
    /// A fresh request id. It is a version 7 UUID: random, but ordered by
    /// creation time, so that the queue's index on request ids grows at its
    /// end instead of being written all over.
    pub fn new_random() -> Self {
        Self(Uuid::now_v7())
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

impl FromStr for RequestId {
    type Err = uuid::Error;

    /// Parses a GUID with or without braces, in any case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim().trim_start_matches('{').trim_end_matches('}');
        Uuid::parse_str(trimmed).map(Self)
    }
}

/// A client-chosen conversation key: free text, unique per account forever.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConversationId(pub String);

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_parse_in_any_case_and_with_braces() {
        let lower: RequestId = "676fa9d6-74d5-4982-a336-59cd01683fc1".parse().unwrap();
        let upper: RequestId = "{676FA9D6-74D5-4982-A336-59CD01683FC1}".parse().unwrap();
        assert_eq!(lower, upper);
        assert_eq!(upper.to_string(), "676fa9d6-74d5-4982-a336-59cd01683fc1");
    }
}
