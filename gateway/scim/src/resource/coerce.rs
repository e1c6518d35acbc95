//! Conversion of client values to their stored form for one attribute:
//! type checks, `"True"`/`"False"` strings to booleans, canonical sub-attribute
//! names, and removal of nulls and unknown sub-attributes.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::json_util::parse_bool_text;
use crate::error::ScimError;
use crate::schema::{AttributeDefinition, AttributeType, Mutability};

/// Converts a value for a whole attribute. A multi-valued attribute accepts an
/// array or one bare value, which becomes a one-element array.
///
/// Returns `Ok(None)` when the value is unassigned: null, an empty array, an
/// empty object, or an empty string for a single-valued complex attribute with a
/// `value` sub-attribute (Entra clears `manager` that way).
pub(crate) fn coerce_attribute(
    definition: &'static AttributeDefinition,
    value: &Value,
    label: &str,
) -> Result<Option<Value>, ScimError> {
    if !definition.multi_valued {
        return coerce_single(definition, value, label);
    }

    let items: Vec<&Value> = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut coerced = Vec::with_capacity(items.len());
    for item in items {
        if let Some(item) = coerce_single(definition, item, label)? {
            coerced.push(item);
        }
    }
    Ok(if coerced.is_empty() {
        None
    } else {
        Some(Value::Array(coerced))
    })
}

/// Converts one value of an attribute: the value of a single-valued attribute
/// or one element of a multi-valued one.
pub(crate) fn coerce_single(
    definition: &'static AttributeDefinition,
    value: &Value,
    label: &str,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    match definition.data_type {
        AttributeType::Complex => coerce_complex(definition, value, label),
        AttributeType::Boolean => match value {
            Value::Bool(_) => Ok(Some(value.clone())),
            Value::String(text) => match parse_bool_text(text) {
                Some(flag) => Ok(Some(Value::Bool(flag))),
                None => Err(wrong_type(label, "true or false")),
            },
            _ => Err(wrong_type(label, "true or false")),
        },
        AttributeType::Integer => match value {
            Value::Number(number) if number.is_i64() || number.is_u64() => Ok(Some(value.clone())),
            _ => Err(wrong_type(label, "an integer")),
        },
        AttributeType::Decimal => match value {
            Value::Number(_) => Ok(Some(value.clone())),
            _ => Err(wrong_type(label, "a number")),
        },
        AttributeType::DateTime => match value {
            Value::String(text) if OffsetDateTime::parse(text, &Rfc3339).is_ok() => {
                Ok(Some(value.clone()))
            }
            _ => Err(wrong_type(
                label,
                "an RFC 3339 date-time string such as \"2024-05-01T00:00:00Z\"",
            )),
        },
        AttributeType::String | AttributeType::Reference | AttributeType::Binary => match value {
            Value::String(text) if definition.required && text.trim().is_empty() => {
                Err(ScimError::invalid_value(format!(
                    "The attribute '{label}' is required and cannot be empty."
                )))
            }
            Value::String(_) => Ok(Some(value.clone())),
            _ => Err(wrong_type(label, "a string")),
        },
    }
}

fn coerce_complex(
    definition: &'static AttributeDefinition,
    value: &Value,
    label: &str,
) -> Result<Option<Value>, ScimError> {
    let has_value_sub_attribute = definition.sub_attribute("value").is_some();
    match value {
        Value::Object(object) => {
            let mut coerced = Map::new();
            for (key, item) in object {
                let Some(sub) = definition.sub_attribute(key) else {
                    continue;
                };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(item) = coerce_single(sub, item, &format!("{label}.{}", sub.name))? {
                    coerced.insert(sub.name.to_owned(), item);
                }
            }
            Ok(if coerced.is_empty() {
                None
            } else {
                Some(Value::Object(coerced))
            })
        }
        // A bare id for a single-valued reference such as the enterprise `manager`.
        Value::String(text) if has_value_sub_attribute && !definition.multi_valued => {
            if text.is_empty() {
                Ok(None)
            } else {
                let mut object = Map::new();
                object.insert("value".to_owned(), Value::String(text.clone()));
                Ok(Some(Value::Object(object)))
            }
        }
        // Entra's older form sends `manager` as a one-element list.
        Value::Array(items) if !definition.multi_valued => match items.first() {
            Some(first) => coerce_complex(definition, first, label),
            None => Ok(None),
        },
        _ => Err(wrong_type(label, "a JSON object")),
    }
}

fn wrong_type(label: &str, expected: &str) -> ScimError {
    ScimError::invalid_value(format!("The value of '{label}' must be {expected}."))
}
