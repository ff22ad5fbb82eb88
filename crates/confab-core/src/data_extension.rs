//! Data extensions: tables whose columns the caller defines, and their rows.
//!
//! This module holds the rules a definition and a row must meet, so that the
//! store only ever sees rows that are already checked and normalised. The
//! numeric error codes in row results are Confab's own choice (the public
//! material documents none); they are listed in `docs/decisions`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::object::ObjectBase;
use crate::time::{format_calendar_value, parse_calendar_value};

/// Row error: the field named does not exist in the data extension.
pub const ERROR_UNKNOWN_FIELD: i32 = 10001;
/// Row error: a required field has no value.
pub const ERROR_REQUIRED_FIELD: i32 = 10002;
/// Row error: a value does not fit the field's type.
pub const ERROR_INVALID_VALUE: i32 = 10003;
/// Row error: a value is longer than the field allows.
pub const ERROR_VALUE_TOO_LONG: i32 = 10004;
/// Row error: a primary key value is missing.
pub const ERROR_MISSING_KEY: i32 = 10005;
/// Row error: another row already has this primary key.
pub const ERROR_DUPLICATE_KEY: i32 = 10006;
/// Row error: no row has this primary key.
pub const ERROR_ROW_NOT_FOUND: i32 = 10007;
/// Object error: the data extension named does not exist.
pub const ERROR_DATA_EXTENSION_NOT_FOUND: i32 = 10008;
/// Object error: the definition is not valid.
pub const ERROR_INVALID_DEFINITION: i32 = 10009;
/// Object error: a data extension with this key already exists.
pub const ERROR_DUPLICATE_DATA_EXTENSION: i32 = 10010;

/// The longest `Text` value a field may hold.
pub const MAX_TEXT_LENGTH: u32 = 4000;
/// The longest e-mail address a field may hold.
pub const MAX_EMAIL_LENGTH: u32 = 254;
/// The longest phone number a field may hold.
pub const MAX_PHONE_LENGTH: u32 = 50;

/// The column types Confab implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldType {
    /// Free text, up to `MaxLength` characters.
    Text,
    /// A whole number.
    Number,
    /// A fixed-point number with `MaxLength` digits, `Scale` of them after
    /// the point.
    Decimal,
    /// A date, with or without a time.
    Date,
    /// True or false.
    Boolean,
    /// An e-mail address.
    EmailAddress,
    /// A phone number.
    Phone,
    /// A locale code such as `en-US`.
    Locale,
}

impl FieldType {
    /// Reads the WSDL spelling, exactly.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "Text" => Self::Text,
            "Number" => Self::Number,
            "Decimal" => Self::Decimal,
            "Date" => Self::Date,
            "Boolean" => Self::Boolean,
            "EmailAddress" => Self::EmailAddress,
            "Phone" => Self::Phone,
            "Locale" => Self::Locale,
            _ => return None,
        })
    }

    /// The WSDL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::Number => "Number",
            Self::Decimal => "Decimal",
            Self::Date => "Date",
            Self::Boolean => "Boolean",
            Self::EmailAddress => "EmailAddress",
            Self::Phone => "Phone",
            Self::Locale => "Locale",
        }
    }
}

/// One column of a data extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDefinition {
    /// The column name; unique in its data extension regardless of case.
    pub name: String,
    /// The column type; `Text` when the caller gives none.
    pub field_type: FieldType,
    /// The length limit (Text) or the precision (Decimal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Digits after the point (Decimal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// Whether the column is part of the primary key.
    pub is_primary_key: bool,
    /// Whether every row needs a value.
    pub is_required: bool,
    /// The value a row gets when it gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
}

/// A data extension as a call describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataExtension {
    /// The common properties; `CustomerKey` is the key callers use.
    pub base: ObjectBase,
    /// The display name, also usable as a key in Retrieve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the data extension can be sent to.
    pub is_sendable: bool,
    /// The columns, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldDefinition>,
}

/// A `Name`/`Value` pair; a nil or absent value is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    /// The field name.
    pub name: String,
    /// The value as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A row as a call describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataExtensionObject {
    /// The common properties; `CustomerKey` names the data extension.
    pub base: ObjectBase,
    /// The data extension's name, the other way to name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The values to write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    /// The primary key values that identify the row (Update, Delete).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<Property>,
}

/// A problem with one field of a row, reported in `KeyErrors` or
/// `ValueErrors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field.
    pub name: String,
    /// One of the `ERROR_*` codes of this module.
    pub error_code: i32,
    /// What is wrong, for a person.
    pub message: String,
}

/// Every problem with a row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowErrors {
    /// Problems with primary key fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_errors: Vec<FieldError>,
    /// Problems with other fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_errors: Vec<FieldError>,
}

impl RowErrors {
    /// Whether a problem with the field `name` is already listed.
    pub fn mentions(&self, name: &str) -> bool {
        self.key_errors
            .iter()
            .chain(&self.value_errors)
            .any(|error| error.name == name)
    }

    /// Whether there is no problem at all.
    pub fn is_empty(&self) -> bool {
        self.key_errors.is_empty() && self.value_errors.is_empty()
    }

    /// The code of the first problem, for the result's `ErrorCode`.
    pub fn first_code(&self) -> Option<i32> {
        self.key_errors
            .iter()
            .chain(&self.value_errors)
            .map(|error| error.error_code)
            .next()
    }

    /// One line that sums the problems up, for `StatusMessage`.
    pub fn summary(&self) -> String {
        let messages: Vec<&str> = self
            .key_errors
            .iter()
            .chain(&self.value_errors)
            .map(|error| error.message.as_str())
            .collect();
        messages.join("; ")
    }
}

/// A checked row: field name (as defined) to normalised value. Absent fields
/// have no entry; the store writes JSON of exactly this map.
pub type RowValues = BTreeMap<String, String>;

/// Why a definition cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    /// Neither `CustomerKey` nor `Name` was given.
    #[error("a data extension needs a CustomerKey or a Name")]
    MissingKey,
    /// No `Fields/Field` was given.
    #[error("a data extension needs at least one field")]
    NoFields,
    /// A field has no name.
    #[error("field {0} has no Name")]
    UnnamedField(usize),
    /// Two fields share a name.
    #[error("field {0} is defined twice")]
    DuplicateField(String),
    /// A field's length does not suit its type.
    #[error("field {name}: {problem}")]
    BadField {
        /// The field.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

impl DataExtension {
    /// The key the data extension is stored under: `CustomerKey`, else
    /// `Name`.
    pub fn key(&self) -> Option<&str> {
        self.base
            .customer_key
            .as_deref()
            .or(self.name.as_deref())
            .filter(|key| !key.is_empty())
    }

    /// Checks the definition and fills in what Confab derives: primary key
    /// fields are always required, as in Marketing Cloud.
    pub fn normalise(mut self) -> Result<Self, DefinitionError> {
        if self.key().is_none() {
            return Err(DefinitionError::MissingKey);
        }
        if self.fields.is_empty() {
            return Err(DefinitionError::NoFields);
        }
        let mut seen: Vec<String> = Vec::new();
        for (index, field) in self.fields.iter_mut().enumerate() {
            if field.name.trim().is_empty() {
                return Err(DefinitionError::UnnamedField(index));
            }
            let lowered = field.name.to_lowercase();
            if seen.contains(&lowered) {
                return Err(DefinitionError::DuplicateField(field.name.clone()));
            }
            seen.push(lowered);
            check_field_lengths(field)?;
            check_default_value(field)?;
            if field.is_primary_key {
                field.is_required = true;
            }
        }
        if self.name.is_none() {
            self.name = self.base.customer_key.clone();
        }
        if self.base.customer_key.is_none() {
            self.base.customer_key = self.name.clone();
        }
        Ok(self)
    }

    /// The field with this name, regardless of case.
    pub fn field(&self, name: &str) -> Option<&FieldDefinition> {
        self.fields
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }

    /// The primary key fields, in definition order.
    pub fn primary_key(&self) -> impl Iterator<Item = &FieldDefinition> {
        self.fields.iter().filter(|field| field.is_primary_key)
    }

    /// Checks the values of a new row and normalises them. Fields the row
    /// leaves out get their default; a required field without one is an
    /// error.
    pub fn check_new_row(&self, properties: &[Property]) -> Result<RowValues, RowErrors> {
        let mut errors = RowErrors::default();
        let mut values = self.check_values(properties, &mut errors);
        for field in &self.fields {
            // A field whose given value was already refused needs no second
            // complaint that it is missing.
            let already_reported = errors.mentions(&field.name);
            if values.contains_key(&field.name) || already_reported {
                continue;
            }
            if let Some(default) = &field.default_value {
                values.insert(field.name.clone(), default.clone());
            } else if field.is_required {
                push_error(&mut errors, field, ERROR_REQUIRED_FIELD, "is required");
            }
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }

    /// Checks the values of an update. Only the fields given change; a
    /// required field cannot be emptied.
    pub fn check_changes(&self, properties: &[Property]) -> Result<RowValues, RowErrors> {
        let mut errors = RowErrors::default();
        let values = self.check_values(properties, &mut errors);
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }

    /// Reads the primary key of a row from `Keys` (first) and `Properties`.
    /// The result is the identity string the store indexes rows by.
    pub fn row_key(&self, keys: &[Property], properties: &[Property]) -> Result<String, RowErrors> {
        let mut errors = RowErrors::default();
        let mut parts = Vec::new();
        let primary: Vec<&FieldDefinition> = self.primary_key().collect();
        if primary.is_empty() {
            let problem = "the data extension has no primary key, so rows cannot be addressed";
            errors.key_errors.push(FieldError {
                name: String::new(),
                error_code: ERROR_MISSING_KEY,
                message: problem.to_owned(),
            });
            return Err(errors);
        }
        for field in primary {
            let given = keys
                .iter()
                .chain(properties)
                .find(|property| property.name.eq_ignore_ascii_case(&field.name))
                .and_then(|property| property.value.as_deref());
            match given.map(|value| normalise_value(field, value)) {
                Some(Ok(value)) => parts.push(value.to_lowercase()),
                Some(Err((code, problem))) => push_error(&mut errors, field, code, &problem),
                None => push_error(
                    &mut errors,
                    field,
                    ERROR_MISSING_KEY,
                    "is a primary key and has no value",
                ),
            }
        }
        if errors.is_empty() {
            Ok(key_of_parts(&parts))
        } else {
            Err(errors)
        }
    }

    /// The identity of a stored row, computed from its values. A data
    /// extension without a primary key gives `None`: its rows have no
    /// identity beyond their storage id.
    pub fn key_of_values(&self, values: &RowValues) -> Option<String> {
        let mut parts = Vec::new();
        for field in self.primary_key() {
            parts.push(values.get(&field.name)?.to_lowercase());
        }
        if parts.is_empty() {
            None
        } else {
            Some(key_of_parts(&parts))
        }
    }

    /// Checks every given property against its field.
    fn check_values(&self, properties: &[Property], errors: &mut RowErrors) -> RowValues {
        let mut values = RowValues::new();
        for property in properties {
            let Some(field) = self.field(&property.name) else {
                errors.value_errors.push(FieldError {
                    name: property.name.clone(),
                    error_code: ERROR_UNKNOWN_FIELD,
                    message: format!(
                        "field {} does not exist in the data extension",
                        property.name
                    ),
                });
                continue;
            };
            let value = property.value.as_deref().unwrap_or("");
            if value.is_empty() {
                if field.is_required {
                    push_error(errors, field, ERROR_REQUIRED_FIELD, "is required");
                }
                continue;
            }
            match normalise_value(field, value) {
                Ok(normalised) => {
                    values.insert(field.name.clone(), normalised);
                }
                Err((code, problem)) => push_error(errors, field, code, &problem),
            }
        }
        values
    }
}

/// Joins key parts with a separator that cannot occur in typed input.
fn key_of_parts(parts: &[String]) -> String {
    parts.join("\u{1f}")
}

/// Records a problem with `field` in the right list.
fn push_error(errors: &mut RowErrors, field: &FieldDefinition, code: i32, problem: &str) {
    let error = FieldError {
        name: field.name.clone(),
        error_code: code,
        message: format!("field {} {problem}", field.name),
    };
    if field.is_primary_key {
        errors.key_errors.push(error);
    } else {
        errors.value_errors.push(error);
    }
}

/// Checks that a field's length settings suit its type.
fn check_field_lengths(field: &mut FieldDefinition) -> Result<(), DefinitionError> {
    let bad = |problem: &str| DefinitionError::BadField {
        name: field.name.clone(),
        problem: problem.to_owned(),
    };
    match field.field_type {
        FieldType::Text
            if field
                .max_length
                .is_some_and(|length| length == 0 || length > MAX_TEXT_LENGTH) =>
        {
            return Err(bad("MaxLength must be between 1 and 4000"));
        }
        FieldType::Decimal => {
            let precision = field.max_length.unwrap_or(18);
            let scale = field.scale.unwrap_or(0);
            if precision == 0 || precision > 38 || scale > precision {
                return Err(bad(
                    "Decimal needs a MaxLength of 1 to 38 and a Scale no larger",
                ));
            }
            field.max_length = Some(precision);
            field.scale = Some(scale);
        }
        _ => {}
    }
    Ok(())
}

/// Checks a field's `DefaultValue` against the field's own type and length,
/// and stores it normalised, so that rows that take the default hold a value
/// the field could have been given.
fn check_default_value(field: &mut FieldDefinition) -> Result<(), DefinitionError> {
    let Some(default) = field.default_value.clone() else {
        return Ok(());
    };
    if default.is_empty() {
        field.default_value = None;
        return Ok(());
    }
    match normalise_value(field, &default) {
        Ok(normalised) => {
            field.default_value = Some(normalised);
            Ok(())
        }
        Err((_, problem)) => Err(DefinitionError::BadField {
            name: field.name.clone(),
            problem: format!("DefaultValue {problem}"),
        }),
    }
}

/// Checks one value against its field and returns the stored form, or the
/// error code and a description of the problem.
pub fn normalise_value(field: &FieldDefinition, value: &str) -> Result<String, (i32, String)> {
    let invalid = |expected: &str| {
        (
            ERROR_INVALID_VALUE,
            format!("must be {expected}, not '{value}'"),
        )
    };
    let too_long = |limit: u32| {
        (
            ERROR_VALUE_TOO_LONG,
            format!("is longer than {limit} characters"),
        )
    };
    match field.field_type {
        FieldType::Text | FieldType::Locale => {
            let limit = field.max_length.unwrap_or(MAX_TEXT_LENGTH);
            if value.chars().count() > limit as usize {
                return Err(too_long(limit));
            }
            Ok(value.to_owned())
        }
        FieldType::Number => {
            let number: i64 = value
                .trim()
                .parse()
                .map_err(|_| invalid("a whole number"))?;
            Ok(number.to_string())
        }
        FieldType::Decimal => normalise_decimal(field, value.trim())
            .ok_or_else(|| invalid("a decimal number that fits the field")),
        FieldType::Date => parse_calendar_value(value)
            .map(format_calendar_value)
            .ok_or_else(|| invalid("a date")),
        FieldType::Boolean => match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" => Ok("True".to_owned()),
            "false" | "0" | "no" | "n" => Ok("False".to_owned()),
            _ => Err(invalid("true or false")),
        },
        FieldType::EmailAddress => {
            let trimmed = value.trim();
            if trimmed.chars().count() > MAX_EMAIL_LENGTH as usize {
                return Err(too_long(MAX_EMAIL_LENGTH));
            }
            if is_email_address(trimmed) {
                Ok(trimmed.to_owned())
            } else {
                Err(invalid("an e-mail address"))
            }
        }
        FieldType::Phone => {
            let trimmed = value.trim();
            if trimmed.chars().count() > MAX_PHONE_LENGTH as usize {
                return Err(too_long(MAX_PHONE_LENGTH));
            }
            let allowed = trimmed
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            let digits = trimmed.chars().filter(char::is_ascii_digit).count();
            if allowed && digits >= 3 {
                Ok(trimmed.to_owned())
            } else {
                Err(invalid("a phone number"))
            }
        }
    }
}

/// A plain, conservative e-mail check: one `@`, a local part, and a domain
/// with a dot and no spaces. It refuses what Marketing Cloud refuses in
/// practice without claiming to implement RFC 5322.
pub fn is_email_address(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let well_formed_domain = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    !local.is_empty()
        && !domain.contains('@')
        && well_formed_domain
        && !text.chars().any(char::is_whitespace)
}

/// Checks a decimal against the field's precision and scale and writes it
/// with exactly `scale` digits after the point.
fn normalise_decimal(field: &FieldDefinition, text: &str) -> Option<String> {
    let precision = field.max_length.unwrap_or(18) as usize;
    let scale = field.scale.unwrap_or(0) as usize;
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits_only = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits_only(whole) || !digits_only(fraction) {
        return None;
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > scale {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() + scale > precision {
        return None;
    }
    let whole = if whole.is_empty() { "0" } else { whole };
    let sign = if negative { "-" } else { "" };
    if scale == 0 {
        return Some(format!("{sign}{whole}"));
    }
    Some(format!("{sign}{whole}.{fraction:0<scale$}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn field(name: &str, field_type: FieldType) -> FieldDefinition {
        FieldDefinition {
            name: name.into(),
            field_type,
            max_length: None,
            scale: None,
            is_primary_key: false,
            is_required: false,
            default_value: None,
        }
    }

    fn orders() -> DataExtension {
        let mut key = field("OrderKey", FieldType::Text);
        key.max_length = Some(10);
        key.is_primary_key = true;
        let mut amount = field("Amount", FieldType::Decimal);
        amount.max_length = Some(6);
        amount.scale = Some(2);
        let mut status = field("Status", FieldType::Text);
        status.default_value = Some("NEW".into());
        DataExtension {
            base: ObjectBase {
                customer_key: Some("Orders".into()),
                ..Default::default()
            },
            fields: vec![key, amount, status, field("Shipped", FieldType::Boolean)],
            ..Default::default()
        }
        .normalise()
        .unwrap()
    }

    fn props(pairs: &[(&str, &str)]) -> Vec<Property> {
        pairs
            .iter()
            .map(|(name, value)| Property {
                name: (*name).into(),
                value: Some((*value).into()),
            })
            .collect()
    }

    #[test]
    fn primary_keys_become_required_and_name_defaults_to_key() {
        let de = orders();
        assert!(de.field("orderkey").unwrap().is_required);
        assert_eq!(de.name.as_deref(), Some("Orders"));
    }

    #[test]
    fn definitions_with_duplicate_or_no_fields_are_refused() {
        let mut de = orders();
        de.fields.push(field("ORDERKEY", FieldType::Text));
        assert_eq!(
            de.normalise(),
            Err(DefinitionError::DuplicateField("ORDERKEY".into()))
        );
        let empty = DataExtension {
            name: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(empty.normalise(), Err(DefinitionError::NoFields));
    }

    #[test]
    fn new_rows_are_normalised_and_defaulted() {
        let row = orders()
            .check_new_row(&props(&[
                ("orderkey", "A1"),
                ("Amount", "12.5"),
                ("Shipped", "1"),
            ]))
            .unwrap();
        assert_eq!(row["OrderKey"], "A1");
        assert_eq!(row["Amount"], "12.50");
        assert_eq!(row["Status"], "NEW");
        assert_eq!(row["Shipped"], "True");
    }

    #[test]
    fn bad_rows_report_key_and_value_errors_separately() {
        let errors = orders()
            .check_new_row(&props(&[
                ("Amount", "12345.678"),
                ("Nope", "x"),
                ("Shipped", "maybe"),
            ]))
            .unwrap_err();
        assert_eq!(errors.key_errors.len(), 1);
        assert_eq!(errors.key_errors[0].error_code, ERROR_REQUIRED_FIELD);
        let codes: Vec<i32> = errors.value_errors.iter().map(|e| e.error_code).collect();
        assert_eq!(
            codes,
            vec![
                ERROR_INVALID_VALUE,
                ERROR_UNKNOWN_FIELD,
                ERROR_INVALID_VALUE
            ]
        );
    }

    #[test]
    fn default_values_must_fit_their_field() {
        let mut de = orders();
        de.fields.push(FieldDefinition {
            default_value: Some("abc".into()),
            ..field("Count", FieldType::Number)
        });
        let error = de.normalise().unwrap_err();
        assert!(matches!(error, DefinitionError::BadField { ref name, .. } if name == "Count"));
    }

    #[test]
    fn a_refused_required_value_is_reported_once() {
        let errors = orders()
            .check_new_row(&props(&[("OrderKey", "")]))
            .unwrap_err();
        assert_eq!(errors.key_errors.len(), 1, "{errors:?}");
        let errors = orders()
            .check_new_row(&props(&[("OrderKey", "ABCDEFGHIJK")]))
            .unwrap_err();
        assert_eq!(errors.key_errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn text_length_is_enforced() {
        let errors = orders()
            .check_new_row(&props(&[("OrderKey", "ABCDEFGHIJK")]))
            .unwrap_err();
        assert_eq!(errors.key_errors[0].error_code, ERROR_VALUE_TOO_LONG);
    }

    #[test]
    fn row_keys_ignore_case_and_come_from_keys_or_properties() {
        let de = orders();
        let from_keys = de.row_key(&props(&[("OrderKey", "a1")]), &[]).unwrap();
        let from_props = de.row_key(&[], &props(&[("ORDERKEY", "A1")])).unwrap();
        assert_eq!(from_keys, from_props);
        assert!(de.row_key(&[], &[]).is_err());
    }

    #[test]
    fn field_types_check_their_values() {
        let check = |field_type, value| normalise_value(&field("f", field_type), value);
        assert!(check(FieldType::Number, "12").is_ok());
        assert!(check(FieldType::Number, "1.5").is_err());
        assert_eq!(
            check(FieldType::Date, "2026-01-02").unwrap(),
            "1/2/2026 12:00:00 AM"
        );
        assert!(check(FieldType::EmailAddress, "a@b.example").is_ok());
        assert!(check(FieldType::EmailAddress, "not an address").is_err());
        assert!(check(FieldType::Phone, "+1 (555) 010-0000").is_ok());
        assert!(check(FieldType::Phone, "call me").is_err());
    }
}
