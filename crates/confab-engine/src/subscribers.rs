//! Create, Update and Delete of subscribers.

use chrono::{DateTime, Utc};
use confab_core::AccountId;
use confab_core::call::{ObjectCall, Operation};
use confab_core::options::SaveAction;
use confab_core::result::ObjectResult;
use confab_core::subscriber::{
    ERROR_SUBSCRIBER_EXISTS, ERROR_SUBSCRIBER_NOT_FOUND, Subscriber, SubscriberError,
};
use confab_store::{ObjectTx, StoreError};

use crate::executor::not_implemented;

/// Applies `call`'s operation to one subscriber.
pub(crate) fn apply(
    tx: &mut dyn ObjectTx,
    account: AccountId,
    call: &ObjectCall,
    subscriber: &Subscriber,
    ordinal: i32,
    now: DateTime<Utc>,
) -> Result<ObjectResult, StoreError> {
    let upsert = call.options.object_save_action() == Some(SaveAction::UpdateAdd);
    match call.operation {
        Operation::Create => create(tx, account, subscriber, ordinal, now, upsert),
        Operation::Update => update(tx, account, subscriber, ordinal, now, upsert),
        Operation::Delete => delete(tx, account, subscriber, ordinal),
        Operation::Perform => Ok(not_implemented(Operation::Perform, "Subscriber", ordinal)),
    }
}

/// The result for a subscriber that cannot be written.
fn invalid(error: &SubscriberError, ordinal: i32) -> ObjectResult {
    ObjectResult::error(ordinal, error.error_code(), error.to_string())
}

fn create(
    tx: &mut dyn ObjectTx,
    account: AccountId,
    subscriber: &Subscriber,
    ordinal: i32,
    now: DateTime<Utc>,
    upsert: bool,
) -> Result<ObjectResult, StoreError> {
    let stored = match subscriber.to_new() {
        Ok(stored) => stored,
        Err(error) => return Ok(invalid(&error, ordinal)),
    };
    match tx.insert_subscriber(account, &stored, now) {
        Ok(id) => Ok(ObjectResult {
            new_id: id,
            ..ObjectResult::ok(ordinal, "Created Subscriber.")
        }),
        Err(StoreError::Conflict(_)) if upsert => {
            update(tx, account, subscriber, ordinal, now, false)
        }
        Err(StoreError::Conflict(_)) => {
            let message = "The subscriber is already on the list";
            Ok(ObjectResult::error(
                ordinal,
                ERROR_SUBSCRIBER_EXISTS,
                message,
            ))
        }
        Err(error) => Err(error),
    }
}

fn update(
    tx: &mut dyn ObjectTx,
    account: AccountId,
    subscriber: &Subscriber,
    ordinal: i32,
    now: DateTime<Utc>,
    insert_if_missing: bool,
) -> Result<ObjectResult, StoreError> {
    let key = match subscriber.key() {
        Ok(key) => key,
        Err(error) => return Ok(invalid(&error, ordinal)),
    };
    let Some(mut record) = tx.subscriber(account, key)? else {
        if insert_if_missing {
            // Created as an upsert: another transaction (a worker beside
            // this one, on PostgreSQL) may have inserted the subscriber
            // since it was looked for, and it is then updated, as if this
            // request had run after that one. That update does not insert,
            // so this ends.
            return create(tx, account, subscriber, ordinal, now, true);
        }
        let message = format!("subscriber {key} does not exist");
        return Ok(ObjectResult::error(
            ordinal,
            ERROR_SUBSCRIBER_NOT_FOUND,
            message,
        ));
    };
    if let Err(error) = subscriber.apply_to(&mut record.subscriber) {
        return Ok(invalid(&error, ordinal));
    }
    tx.update_subscriber(record.id, &record.subscriber, now)?;
    Ok(ObjectResult::ok(ordinal, "Updated Subscriber."))
}

fn delete(
    tx: &mut dyn ObjectTx,
    account: AccountId,
    subscriber: &Subscriber,
    ordinal: i32,
) -> Result<ObjectResult, StoreError> {
    let key = match subscriber.key() {
        Ok(key) => key,
        Err(error) => return Ok(invalid(&error, ordinal)),
    };
    let Some(record) = tx.subscriber(account, key)? else {
        let message = format!("subscriber {key} does not exist");
        return Ok(ObjectResult::error(
            ordinal,
            ERROR_SUBSCRIBER_NOT_FOUND,
            message,
        ));
    };
    tx.delete_subscriber(record.id)?;
    Ok(ObjectResult::ok(ordinal, "Deleted Subscriber."))
}
