//! Subscribers: the people an account sends to.
//!
//! A subscriber is identified by its `SubscriberKey`; when a call gives none,
//! the e-mail address serves as the key, which is what an account without
//! the subscriber-key feature does.

use serde::{Deserialize, Serialize};

use crate::data_extension::{Property, is_email_address};
use crate::object::ObjectBase;

/// Result error: a subscriber with this key already exists. FuelSDK checks
/// for exactly this number before it falls back to an update.
pub const ERROR_SUBSCRIBER_EXISTS: i32 = 12014;
/// Result error: the e-mail address is missing or malformed.
pub const ERROR_INVALID_EMAIL: i32 = 12002;
/// Result error: no subscriber has this key.
pub const ERROR_SUBSCRIBER_NOT_FOUND: i32 = 12003;

/// `SubscriberStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubscriberStatus {
    /// Can be sent to.
    Active,
    /// Mail to the address bounced.
    Bounced,
    /// Held after repeated bounces.
    Held,
    /// Opted out.
    Unsubscribed,
    /// Marked deleted.
    Deleted,
}

impl SubscriberStatus {
    /// Reads the WSDL spelling, exactly.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "Active" => Self::Active,
            "Bounced" => Self::Bounced,
            "Held" => Self::Held,
            "Unsubscribed" => Self::Unsubscribed,
            "Deleted" => Self::Deleted,
            _ => return None,
        })
    }

    /// The WSDL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Bounced => "Bounced",
            Self::Held => "Held",
            Self::Unsubscribed => "Unsubscribed",
            Self::Deleted => "Deleted",
        }
    }
}

/// A subscriber as a call describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    /// The common properties.
    pub base: ObjectBase,
    /// `EmailAddress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// `SubscriberKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriber_key: Option<String>,
    /// `Status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SubscriberStatus>,
    /// `Attributes` as name and value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Property>,
}

/// A subscriber as Confab stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSubscriber {
    /// The key the subscriber is found by.
    pub subscriber_key: String,
    /// The e-mail address.
    pub email_address: String,
    /// The status.
    pub status: SubscriberStatus,
    /// Attributes, in the order they were first given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Property>,
}

/// Why a subscriber cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriberError {
    /// Missing or malformed address.
    #[error("a subscriber needs a valid EmailAddress, not '{0}'")]
    InvalidEmail(String),
    /// Neither a key nor an address to find the subscriber by.
    #[error("a subscriber needs a SubscriberKey or an EmailAddress")]
    MissingKey,
}

impl SubscriberError {
    /// The `ErrorCode` this error is reported with.
    pub fn error_code(&self) -> i32 {
        match self {
            Self::InvalidEmail(_) => ERROR_INVALID_EMAIL,
            Self::MissingKey => ERROR_SUBSCRIBER_NOT_FOUND,
        }
    }
}

impl Subscriber {
    /// The key that identifies the subscriber: `SubscriberKey`, else the
    /// e-mail address.
    pub fn key(&self) -> Result<&str, SubscriberError> {
        self.subscriber_key
            .as_deref()
            .or(self.email_address.as_deref())
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .ok_or(SubscriberError::MissingKey)
    }

    /// Builds the stored form of a new subscriber; new subscribers are
    /// Active unless the call says otherwise.
    pub fn to_new(&self) -> Result<StoredSubscriber, SubscriberError> {
        let email = self.email_address.as_deref().map(str::trim).unwrap_or("");
        if !is_email_address(email) {
            return Err(SubscriberError::InvalidEmail(email.to_owned()));
        }
        Ok(StoredSubscriber {
            subscriber_key: self.key()?.to_owned(),
            email_address: email.to_owned(),
            status: self.status.unwrap_or(SubscriberStatus::Active),
            attributes: self.attributes.clone(),
        })
    }

    /// Applies this call's values to a stored subscriber.
    pub fn apply_to(&self, stored: &mut StoredSubscriber) -> Result<(), SubscriberError> {
        if let Some(email) = self.email_address.as_deref().map(str::trim) {
            if !is_email_address(email) {
                return Err(SubscriberError::InvalidEmail(email.to_owned()));
            }
            stored.email_address = email.to_owned();
        }
        if let Some(status) = self.status {
            stored.status = status;
        }
        for attribute in &self.attributes {
            let existing = stored
                .attributes
                .iter_mut()
                .find(|known| known.name.eq_ignore_ascii_case(&attribute.name));
            match existing {
                Some(known) => known.value = attribute.value.clone(),
                None => stored.attributes.push(attribute.clone()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_falls_back_to_email_and_status_to_active() {
        let subscriber = Subscriber {
            email_address: Some("a@b.example".into()),
            ..Default::default()
        };
        let stored = subscriber.to_new().unwrap();
        assert_eq!(stored.subscriber_key, "a@b.example");
        assert_eq!(stored.status, SubscriberStatus::Active);
    }

    #[test]
    fn bad_addresses_are_refused_with_their_code() {
        let subscriber = Subscriber {
            email_address: Some("nope".into()),
            ..Default::default()
        };
        let error = subscriber.to_new().unwrap_err();
        assert_eq!(error.error_code(), ERROR_INVALID_EMAIL);
    }

    #[test]
    fn updates_merge_attributes_by_name() {
        let mut stored = Subscriber {
            email_address: Some("a@b.example".into()),
            attributes: vec![Property {
                name: "First".into(),
                value: Some("Ann".into()),
            }],
            ..Default::default()
        }
        .to_new()
        .unwrap();
        let change = Subscriber {
            status: Some(SubscriberStatus::Unsubscribed),
            attributes: vec![Property {
                name: "first".into(),
                value: Some("Anna".into()),
            }],
            ..Default::default()
        };
        change.apply_to(&mut stored).unwrap();
        assert_eq!(stored.status, SubscriberStatus::Unsubscribed);
        assert_eq!(stored.attributes.len(), 1);
        assert_eq!(stored.attributes[0].value.as_deref(), Some("Anna"));
    }
}
