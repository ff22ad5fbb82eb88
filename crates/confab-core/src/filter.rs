//! Retrieve filters: `SimpleFilterPart` and `ComplexFilterPart`, evaluated
//! against any object that can name its properties.
//!
//! Comparisons follow the type of the stored value: numbers compare as
//! numbers, dates as dates, and text without regard to case, the way
//! Marketing Cloud's database collation compares it.

use std::cmp::Ordering;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::time::parse_calendar_value;

/// `SimpleOperators`: every operator the WSDL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum SimpleOperator {
    Equals,
    NotEquals,
    GreaterThan,
    LessThan,
    IsNull,
    IsNotNull,
    GreaterThanOrEqual,
    LessThanOrEqual,
    Between,
    In,
    Like,
    ExistsInString,
    ExistsInStringAsAWord,
    NotExistsInString,
    BeginsWith,
    EndsWith,
    Contains,
    NotContains,
    IsAnniversary,
    IsNotAnniversary,
    GreaterThanAnniversary,
    LessThanAnniversary,
}

impl SimpleOperator {
    /// Reads the WSDL spelling, exactly.
    pub fn parse(text: &str) -> Option<Self> {
        use SimpleOperator::*;
        Some(match text {
            "equals" => Equals,
            "notEquals" => NotEquals,
            "greaterThan" => GreaterThan,
            "lessThan" => LessThan,
            "isNull" => IsNull,
            "isNotNull" => IsNotNull,
            "greaterThanOrEqual" => GreaterThanOrEqual,
            "lessThanOrEqual" => LessThanOrEqual,
            "between" => Between,
            "IN" => In,
            "like" => Like,
            "existsInString" => ExistsInString,
            "existsInStringAsAWord" => ExistsInStringAsAWord,
            "notExistsInString" => NotExistsInString,
            "beginsWith" => BeginsWith,
            "endsWith" => EndsWith,
            "contains" => Contains,
            "notContains" => NotContains,
            "isAnniversary" => IsAnniversary,
            "isNotAnniversary" => IsNotAnniversary,
            "greaterThanAnniversary" => GreaterThanAnniversary,
            "lessThanAnniversary" => LessThanAnniversary,
            _ => return None,
        })
    }
}

/// `LogicalOperators`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogicalOperator {
    /// Both sides must match.
    And,
    /// Either side must match.
    Or,
}

/// A filter as a Retrieve call gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Filter {
    /// `SimpleFilterPart`.
    Simple {
        /// The property compared.
        property: String,
        /// How it is compared.
        operator: SimpleOperator,
        /// `Value` elements, in order.
        values: Vec<String>,
        /// `DateValue` elements, in order.
        date_values: Vec<String>,
    },
    /// `ComplexFilterPart`.
    Complex {
        /// `LeftOperand`.
        left: Box<Filter>,
        /// `LogicalOperator`.
        operator: LogicalOperator,
        /// `RightOperand`, if given.
        right: Option<Box<Filter>>,
        /// `AdditionalOperands/Operand`, joined with the same operator.
        additional: Vec<Filter>,
    },
}

/// A property value in the form it is compared in.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    /// Text, compared without regard to case.
    Text(String),
    /// A number.
    Number(f64),
    /// A date and time.
    Date(NaiveDateTime),
    /// True or false.
    Boolean(bool),
}

/// What a filter needs of the objects it is evaluated on.
pub trait PropertySource {
    /// The value of `name`: `Err` when the object type has no such property,
    /// `Ok(None)` when it has one but this object holds no value.
    fn property(&self, name: &str) -> Result<Option<TypedValue>, FilterError>;
}

/// Why a filter cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The property does not exist on the object type.
    #[error("unknown property {0} in filter")]
    UnknownProperty(String),
    /// A value cannot be compared with the property's type.
    #[error("value '{value}' cannot be compared with property {property}")]
    BadValue {
        /// The property.
        property: String,
        /// The value given.
        value: String,
    },
    /// The operator needs more or fewer values.
    #[error("operator {operator:?} needs {needed} value(s)")]
    WrongValueCount {
        /// The operator.
        operator: SimpleOperator,
        /// How many it needs.
        needed: &'static str,
    },
    /// Confab does not implement this operator.
    #[error("operator {0:?} is not supported")]
    Unsupported(SimpleOperator),
}

impl Filter {
    /// Whether `source` matches the filter.
    pub fn matches(&self, source: &dyn PropertySource) -> Result<bool, FilterError> {
        match self {
            Filter::Simple {
                property,
                operator,
                values,
                date_values,
            } => {
                let literals = if values.is_empty() {
                    date_values
                } else {
                    values
                };
                let value = source.property(property)?;
                evaluate(property, *operator, value.as_ref(), literals)
            }
            Filter::Complex {
                left,
                operator,
                right,
                additional,
            } => {
                let operands = std::iter::once(left.as_ref())
                    .chain(right.as_deref())
                    .chain(additional.iter());
                let mut outcome = *operator == LogicalOperator::And;
                for operand in operands {
                    let matched = operand.matches(source)?;
                    outcome = match operator {
                        LogicalOperator::And => outcome && matched,
                        LogicalOperator::Or => outcome || matched,
                    };
                }
                Ok(outcome)
            }
        }
    }

    /// The value a filter pins a property to with `equals`, if the filter is
    /// exactly that (or an AND that contains it). Stores use this to narrow a
    /// scan before evaluating the whole filter.
    pub fn equality_on(&self, property: &str) -> Option<&str> {
        match self {
            Filter::Simple {
                property: name,
                operator: SimpleOperator::Equals,
                values,
                ..
            } if name.eq_ignore_ascii_case(property) && values.len() == 1 => {
                values.first().map(String::as_str)
            }
            Filter::Complex {
                left,
                operator: LogicalOperator::And,
                right,
                additional,
            } => std::iter::once(left.as_ref())
                .chain(right.as_deref())
                .chain(additional.iter())
                .find_map(|operand| operand.equality_on(property)),
            _ => None,
        }
    }
}

/// Applies one simple operator.
fn evaluate(
    property: &str,
    operator: SimpleOperator,
    value: Option<&TypedValue>,
    literals: &[String],
) -> Result<bool, FilterError> {
    use SimpleOperator::*;
    let needs = |count: usize, needed: &'static str| {
        if literals.len() == count {
            Ok(())
        } else {
            Err(FilterError::WrongValueCount { operator, needed })
        }
    };
    match operator {
        IsNull => return Ok(value.is_none()),
        IsNotNull => return Ok(value.is_some()),
        IsAnniversary | IsNotAnniversary | GreaterThanAnniversary | LessThanAnniversary => {
            return Err(FilterError::Unsupported(operator));
        }
        Between => needs(2, "two")?,
        In => {
            if literals.is_empty() {
                return Err(FilterError::WrongValueCount {
                    operator,
                    needed: "at least one",
                });
            }
        }
        _ => needs(1, "one")?,
    }
    let Some(value) = value else {
        // A missing value matches no comparison, as NULL does in SQL; the
        // negative text operators are the exception a user expects.
        return Ok(matches!(
            operator,
            NotEquals | NotContains | NotExistsInString
        ));
    };
    let compare = |literal: &String| compare(property, value, literal);
    let text = || text_of(value).to_lowercase();
    let first = || literals[0].to_lowercase();
    Ok(match operator {
        Equals => compare(&literals[0])? == Ordering::Equal,
        NotEquals => compare(&literals[0])? != Ordering::Equal,
        GreaterThan => compare(&literals[0])? == Ordering::Greater,
        LessThan => compare(&literals[0])? == Ordering::Less,
        GreaterThanOrEqual => compare(&literals[0])? != Ordering::Less,
        LessThanOrEqual => compare(&literals[0])? != Ordering::Greater,
        Between => {
            compare(&literals[0])? != Ordering::Less && compare(&literals[1])? != Ordering::Greater
        }
        In => {
            let mut found = false;
            for literal in literals {
                found |= compare(literal)? == Ordering::Equal;
            }
            found
        }
        Like => like(&text(), &first()),
        BeginsWith => text().starts_with(&first()),
        EndsWith => text().ends_with(&first()),
        Contains | ExistsInString => text().contains(&first()),
        NotContains | NotExistsInString => !text().contains(&first()),
        ExistsInStringAsAWord => {
            let needle = first();
            text()
                .split(|c: char| !c.is_alphanumeric())
                .any(|word| word == needle)
        }
        IsNull
        | IsNotNull
        | IsAnniversary
        | IsNotAnniversary
        | GreaterThanAnniversary
        | LessThanAnniversary => unreachable!("handled above"),
    })
}

/// Orders a stored value against a literal read in the value's own type.
fn compare(property: &str, value: &TypedValue, literal: &str) -> Result<Ordering, FilterError> {
    let bad = || FilterError::BadValue {
        property: property.to_owned(),
        value: literal.to_owned(),
    };
    Ok(match value {
        TypedValue::Text(text) => text.to_lowercase().cmp(&literal.to_lowercase()),
        TypedValue::Number(number) => {
            let other: f64 = literal.trim().parse().map_err(|_| bad())?;
            number.partial_cmp(&other).ok_or_else(bad)?
        }
        TypedValue::Date(date) => date.cmp(&parse_calendar_value(literal).ok_or_else(bad)?),
        TypedValue::Boolean(flag) => {
            let other = match literal.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(bad()),
            };
            flag.cmp(&other)
        }
    })
}

/// The text form of a value, for the text operators.
fn text_of(value: &TypedValue) -> String {
    match value {
        TypedValue::Text(text) => text.clone(),
        TypedValue::Number(number) => number.to_string(),
        TypedValue::Date(date) => crate::time::format_calendar_value(*date),
        TypedValue::Boolean(flag) => if *flag { "True" } else { "False" }.to_owned(),
    }
}

/// SQL `LIKE` with `%` and `_`, on text already lowered.
fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last `%`.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '_' || pattern[p] == text[t]) {
            t += 1;
            p += 1;
        } else if p < pattern.len() && pattern[p] == '%' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '%')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Row(HashMap<&'static str, TypedValue>);

    impl PropertySource for Row {
        fn property(&self, name: &str) -> Result<Option<TypedValue>, FilterError> {
            match name {
                "Missing" => Ok(None),
                _ => self
                    .0
                    .get(name)
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| FilterError::UnknownProperty(name.into())),
            }
        }
    }

    fn row() -> Row {
        Row(HashMap::from([
            ("Name", TypedValue::Text("Alice Smith".into())),
            ("Age", TypedValue::Number(42.0)),
        ]))
    }

    fn simple(property: &str, operator: SimpleOperator, values: &[&str]) -> Filter {
        Filter::Simple {
            property: property.into(),
            operator,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            date_values: vec![],
        }
    }

    #[test]
    fn text_compares_without_case_and_numbers_as_numbers() {
        assert!(
            simple("Name", SimpleOperator::Equals, &["alice smith"])
                .matches(&row())
                .unwrap()
        );
        assert!(
            simple("Age", SimpleOperator::GreaterThan, &["9"])
                .matches(&row())
                .unwrap()
        );
        assert!(
            simple("Age", SimpleOperator::Between, &["40", "42"])
                .matches(&row())
                .unwrap()
        );
        assert!(
            simple("Age", SimpleOperator::In, &["1", "42"])
                .matches(&row())
                .unwrap()
        );
    }

    #[test]
    fn like_and_word_operators() {
        assert!(
            simple("Name", SimpleOperator::Like, &["a%th"])
                .matches(&row())
                .unwrap()
        );
        assert!(
            simple("Name", SimpleOperator::Like, &["_lice%"])
                .matches(&row())
                .unwrap()
        );
        assert!(
            !simple("Name", SimpleOperator::Like, &["bob%"])
                .matches(&row())
                .unwrap()
        );
        assert!(
            simple("Name", SimpleOperator::ExistsInStringAsAWord, &["smith"])
                .matches(&row())
                .unwrap()
        );
    }

    #[test]
    fn complex_parts_combine_all_operands() {
        let filter = Filter::Complex {
            left: Box::new(simple("Name", SimpleOperator::BeginsWith, &["bob"])),
            operator: LogicalOperator::Or,
            right: Some(Box::new(simple("Age", SimpleOperator::Equals, &["42"]))),
            additional: vec![],
        };
        assert!(filter.matches(&row()).unwrap());
    }

    #[test]
    fn errors_name_the_problem() {
        let unknown = simple("Nope", SimpleOperator::Equals, &["x"]).matches(&row());
        assert_eq!(unknown, Err(FilterError::UnknownProperty("Nope".into())));
        let bad = simple("Age", SimpleOperator::Equals, &["old"]).matches(&row());
        assert!(matches!(bad, Err(FilterError::BadValue { .. })));
        assert!(
            simple("Missing", SimpleOperator::IsNull, &[])
                .matches(&row())
                .unwrap()
        );
    }
}
