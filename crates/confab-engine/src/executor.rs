//! Running the objects of a call against the store: the [`Executor`] the
//! store calls inside its transaction, for synchronous calls and queued ones
//! alike, so both behave the same.
//!
//! Objects run in order. An object that fails gets an error result and the
//! next one still runs, which is how the API answers a call with several
//! objects ("Has Errors"). Only a store failure stops the call.

use chrono::{DateTime, Utc};
use confab_core::AccountId;
use confab_core::AsyncErrorCode;
use confab_core::call::{ObjectCall, Operation};
use confab_core::object::ApiObject;
use confab_core::result::ObjectResult;
use confab_store::{CancelOutcome, Executor, ObjectTx, StoreError, work};

use crate::{data_extensions, rows, subscribers};

/// Result error: the object type or the operation on it is not implemented
/// by Confab. The API's own `UnexpectedError` number, with a text that says
/// what is missing.
pub const ERROR_NOT_IMPLEMENTED: i32 = 2;

/// The executor of object operations.
#[derive(Debug, Clone, Copy, Default)]
pub struct ObjectExecutor;

impl Executor for ObjectExecutor {
    fn execute(
        &self,
        tx: &mut dyn ObjectTx,
        account: AccountId,
        call: &ObjectCall,
        now: DateTime<Utc>,
    ) -> Result<Vec<ObjectResult>, StoreError> {
        let mut results = Vec::with_capacity(call.objects.len());
        for (ordinal, object) in call.objects.iter().enumerate() {
            let mut result = execute_one(tx, account, call, object, ordinal as i32, now)?;
            result.correlation_id = object.base().correlation_id.clone();
            results.push(result);
        }
        Ok(results)
    }
}

/// Runs one object.
fn execute_one(
    tx: &mut dyn ObjectTx,
    account: AccountId,
    call: &ObjectCall,
    object: &ApiObject,
    ordinal: i32,
    now: DateTime<Utc>,
) -> Result<ObjectResult, StoreError> {
    let operation = call.operation;
    match object {
        ApiObject::DataExtension(definition) => {
            data_extensions::apply(tx, account, call, definition, ordinal, now)
        }
        ApiObject::DataExtensionObject(row) => rows::apply(tx, account, call, row, ordinal),
        ApiObject::Subscriber(subscriber) => {
            subscribers::apply(tx, account, call, subscriber, ordinal, now)
        }
        ApiObject::ScheduledRequest { request_id, .. } if operation == Operation::Delete => {
            let outcome = match request_id.parse() {
                Ok(request_id) => work::cancel_request(tx.queue(), account, request_id, now)?,
                Err(_) => CancelOutcome::NotFound,
            };
            Ok(cancel_result(outcome, ordinal))
        }
        ApiObject::ScheduledConversation {
            conversation_id, ..
        } if operation == Operation::Delete => {
            let outcome = work::cancel_conversation(tx.queue(), account, conversation_id, now)?;
            Ok(cancel_result(outcome, ordinal))
        }
        other => Ok(not_implemented(operation, other.type_name(), ordinal)),
    }
}

/// The result of a Delete of a scheduled request or conversation.
fn cancel_result(outcome: CancelOutcome, ordinal: i32) -> ObjectResult {
    match outcome {
        CancelOutcome::Cancelled => ObjectResult::ok(ordinal, "Deleted"),
        CancelOutcome::NotFound => ObjectResult::async_error(ordinal, AsyncErrorCode::ItemNotFound),
        CancelOutcome::AlreadyProcessed => {
            ObjectResult::async_error(ordinal, AsyncErrorCode::InvalidStatusToDelete)
        }
    }
}

/// The result for an operation Confab does not implement on a type.
pub(crate) fn not_implemented(operation: Operation, type_name: &str, ordinal: i32) -> ObjectResult {
    let message = format!(
        "Confab does not implement {} on {type_name}",
        operation.as_str()
    );
    ObjectResult::error(ordinal, ERROR_NOT_IMPLEMENTED, message)
}
