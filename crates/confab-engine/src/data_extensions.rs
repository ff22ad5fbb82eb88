//! Create, Delete and Perform `ClearData` of data extension definitions.

use chrono::{DateTime, Utc};
use confab_core::AccountId;
use confab_core::call::{ObjectCall, Operation};
use confab_core::data_extension::{
    DataExtension, ERROR_DATA_EXTENSION_NOT_FOUND, ERROR_DUPLICATE_DATA_EXTENSION,
    ERROR_INVALID_DEFINITION,
};
use confab_core::result::ObjectResult;
use confab_store::{ObjectTx, StoreError};

use crate::executor::not_implemented;

/// Applies `call`'s operation to one data extension definition.
pub(crate) fn apply(
    tx: &mut dyn ObjectTx,
    account: AccountId,
    call: &ObjectCall,
    definition: &DataExtension,
    ordinal: i32,
    now: DateTime<Utc>,
) -> Result<ObjectResult, StoreError> {
    match call.operation {
        Operation::Create => create(tx, account, definition, ordinal, now),
        Operation::Delete => delete(tx, account, definition, ordinal),
        Operation::Perform if call.action.as_deref().is_some_and(is_clear_data) => {
            clear(tx, account, definition, ordinal)
        }
        operation => Ok(not_implemented(operation, "DataExtension", ordinal)),
    }
}

/// Whether a Perform action is `ClearData`, in any case.
fn is_clear_data(action: &str) -> bool {
    action.eq_ignore_ascii_case("ClearData")
}

fn create(
    tx: &mut dyn ObjectTx,
    account: AccountId,
    definition: &DataExtension,
    ordinal: i32,
    now: DateTime<Utc>,
) -> Result<ObjectResult, StoreError> {
    let definition = match definition.clone().normalise() {
        Ok(definition) => definition,
        Err(problem) => {
            return Ok(ObjectResult::error(
                ordinal,
                ERROR_INVALID_DEFINITION,
                problem.to_string(),
            ));
        }
    };
    match tx.insert_data_extension(account, &definition, now) {
        Ok(stored) => Ok(ObjectResult {
            new_id: stored.id,
            new_object_id: Some(stored.object_id),
            ..ObjectResult::ok(ordinal, "Data Extension created.")
        }),
        Err(StoreError::Conflict(_)) => {
            let key = definition.key().unwrap_or_default();
            let message = format!("a data extension with CustomerKey {key} already exists");
            Ok(ObjectResult::error(
                ordinal,
                ERROR_DUPLICATE_DATA_EXTENSION,
                message,
            ))
        }
        Err(error) => Err(error),
    }
}

fn delete(
    tx: &mut dyn ObjectTx,
    account: AccountId,
    definition: &DataExtension,
    ordinal: i32,
) -> Result<ObjectResult, StoreError> {
    let key = definition.key().unwrap_or_default();
    let Some(stored) = tx.data_extension(account, key)? else {
        return Ok(missing(key, ordinal));
    };
    tx.delete_data_extension(stored.id)?;
    Ok(ObjectResult::ok(ordinal, "Data Extension deleted."))
}

fn clear(
    tx: &mut dyn ObjectTx,
    account: AccountId,
    definition: &DataExtension,
    ordinal: i32,
) -> Result<ObjectResult, StoreError> {
    let key = definition.key().unwrap_or_default();
    let Some(stored) = tx.data_extension(account, key)? else {
        return Ok(missing(key, ordinal));
    };
    let cleared = tx.clear_rows(stored.id)?;
    Ok(ObjectResult::ok(
        ordinal,
        format!("Data Extension cleared: {cleared} rows deleted."),
    ))
}

/// The result for a data extension that does not exist.
pub(crate) fn missing(key: &str, ordinal: i32) -> ObjectResult {
    let message = format!("data extension {key} does not exist");
    ObjectResult::error(ordinal, ERROR_DATA_EXTENSION_NOT_FOUND, message)
}
