//! Create, Update and Delete of data extension rows (`DataExtensionObject`),
//! with the upsert that `SaveOptions` asks for.
//!
//! Results carry the data extension result subtypes so that per-field
//! problems come back in `KeyErrors` and `ValueErrors`, as the WSDL's
//! `DataExtension*Result` types have them.

use confab_core::AccountId;
use confab_core::call::{ObjectCall, Operation};
use confab_core::data_extension::{
    DataExtensionObject, ERROR_DUPLICATE_KEY, ERROR_INVALID_VALUE, ERROR_ROW_NOT_FOUND, FieldError,
    Property, RowErrors,
};
use confab_core::options::SaveAction;
use confab_core::result::ObjectResult;
use confab_store::{ObjectTx, StoreError, StoredDataExtension};

use crate::data_extensions::missing;
use crate::executor::not_implemented;

/// Applies `call`'s operation to one row.
pub(crate) fn apply(
    tx: &mut dyn ObjectTx,
    account: AccountId,
    call: &ObjectCall,
    row: &DataExtensionObject,
    ordinal: i32,
) -> Result<ObjectResult, StoreError> {
    let subtype = match call.operation {
        Operation::Create => "DataExtensionCreateResult",
        Operation::Update => "DataExtensionUpdateResult",
        Operation::Delete => "DataExtensionDeleteResult",
        Operation::Perform => {
            return Ok(not_implemented(
                Operation::Perform,
                "DataExtensionObject",
                ordinal,
            ));
        }
    };
    let key = row
        .base
        .customer_key
        .as_deref()
        .or(row.name.as_deref())
        .unwrap_or_default();
    let Some(data_extension) = tx.data_extension(account, key)? else {
        return Ok(with_subtype(missing(key, ordinal), subtype));
    };

    let upsert = call.options.object_save_action() == Some(SaveAction::UpdateAdd);
    let result = match call.operation {
        Operation::Create if upsert => update(tx, &data_extension, row, ordinal, true)?,
        Operation::Create => create(tx, &data_extension, &merged(row), ordinal)?,
        Operation::Update => update(tx, &data_extension, row, ordinal, upsert)?,
        _ => delete(tx, &data_extension, row, ordinal)?,
    };
    Ok(with_subtype(result, subtype))
}

/// Sets the result's `xsi:type`.
fn with_subtype(result: ObjectResult, subtype: &str) -> ObjectResult {
    ObjectResult {
        result_subtype: Some(subtype.to_owned()),
        ..result
    }
}

/// Keys and properties of a row as one list of values, keys first.
fn merged(row: &DataExtensionObject) -> Vec<Property> {
    let mut values = row.keys.clone();
    for property in &row.properties {
        if !values
            .iter()
            .any(|known| known.name.eq_ignore_ascii_case(&property.name))
        {
            values.push(property.clone());
        }
    }
    values
}

/// The result for a row with field problems.
fn row_error(ordinal: i32, errors: RowErrors) -> ObjectResult {
    let code = errors.first_code().unwrap_or(ERROR_INVALID_VALUE);
    ObjectResult {
        row_errors: Some(errors.clone()),
        ..ObjectResult::error(ordinal, code, errors.summary())
    }
}

/// The result for a primary key that is taken.
fn duplicate_key(data_extension: &StoredDataExtension, ordinal: i32) -> ObjectResult {
    let key_errors = data_extension
        .definition
        .primary_key()
        .map(|field| FieldError {
            name: field.name.clone(),
            error_code: ERROR_DUPLICATE_KEY,
            message: "a row with this primary key already exists".to_owned(),
        })
        .collect();
    row_error(
        ordinal,
        RowErrors {
            key_errors,
            value_errors: Vec::new(),
        },
    )
}

fn create(
    tx: &mut dyn ObjectTx,
    data_extension: &StoredDataExtension,
    values: &[Property],
    ordinal: i32,
) -> Result<ObjectResult, StoreError> {
    let created = try_create(tx, data_extension, values, ordinal)?;
    Ok(created.unwrap_or_else(|| duplicate_key(data_extension, ordinal)))
}

/// Creates a row; `None` when its primary key is taken.
fn try_create(
    tx: &mut dyn ObjectTx,
    data_extension: &StoredDataExtension,
    values: &[Property],
    ordinal: i32,
) -> Result<Option<ObjectResult>, StoreError> {
    let definition = &data_extension.definition;
    let values = match definition.check_new_row(values) {
        Ok(values) => values,
        Err(errors) => return Ok(Some(row_error(ordinal, errors))),
    };
    let row_key = definition.key_of_values(&values);
    match tx.insert_row(data_extension.id, row_key.as_deref(), &values) {
        Ok(_) => Ok(Some(ObjectResult::ok(
            ordinal,
            "Created DataExtensionObject",
        ))),
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

fn update(
    tx: &mut dyn ObjectTx,
    data_extension: &StoredDataExtension,
    row: &DataExtensionObject,
    ordinal: i32,
    insert_if_missing: bool,
) -> Result<ObjectResult, StoreError> {
    let definition = &data_extension.definition;
    let row_key = match definition.row_key(&row.keys, &row.properties) {
        Ok(row_key) => row_key,
        Err(errors) => return Ok(row_error(ordinal, errors)),
    };
    let Some(stored) = tx.row_by_key(data_extension.id, &row_key)? else {
        if insert_if_missing {
            // Another transaction (a worker beside this one, on PostgreSQL)
            // may have inserted the row since it was looked for: it is then
            // updated, as if this request had run after that one.
            return match try_create(tx, data_extension, &merged(row), ordinal)? {
                Some(result) => Ok(result),
                None => update(tx, data_extension, row, ordinal, false),
            };
        }
        let message = "no row has these primary key values".to_owned();
        return Ok(ObjectResult::error(ordinal, ERROR_ROW_NOT_FOUND, message));
    };

    let changes = match definition.check_changes(&row.properties) {
        Ok(changes) => changes,
        Err(errors) => return Ok(row_error(ordinal, errors)),
    };
    let mut values = stored.values;
    values.extend(changes);
    if definition.key_of_values(&values).as_deref() != Some(row_key.as_str()) {
        let message = "primary key values cannot be changed by an update".to_owned();
        return Ok(ObjectResult::error(ordinal, ERROR_INVALID_VALUE, message));
    }
    tx.update_row(stored.id, &values)?;
    Ok(ObjectResult::ok(ordinal, "Updated DataExtensionObject"))
}

fn delete(
    tx: &mut dyn ObjectTx,
    data_extension: &StoredDataExtension,
    row: &DataExtensionObject,
    ordinal: i32,
) -> Result<ObjectResult, StoreError> {
    let row_key = match data_extension
        .definition
        .row_key(&row.keys, &row.properties)
    {
        Ok(row_key) => row_key,
        Err(errors) => return Ok(row_error(ordinal, errors)),
    };
    let Some(stored) = tx.row_by_key(data_extension.id, &row_key)? else {
        let message = "no row has these primary key values".to_owned();
        return Ok(ObjectResult::error(ordinal, ERROR_ROW_NOT_FOUND, message));
    };
    tx.delete_row(stored.id)?;
    Ok(ObjectResult::ok(ordinal, "Deleted DataExtensionObject"))
}
