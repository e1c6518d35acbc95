//! In-memory evaluation of resolved filters against SCIM JSON resources. The
//! PATCH engine uses it to select values of multi-valued attributes.

use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{CompareOp, FilterValue, ResolvedFilter};
use crate::path::ResolvedPath;
use crate::resource::json_util::get_ignore_case;
use crate::schema::{AttributeDefinition, AttributeType, ResourceSchema};

/// Lookup context of a path: a whole resource, or one value of a complex
/// attribute inside a value filter.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a ResourceSchema),
    Element(&'static AttributeDefinition),
}

/// Returns whether `resource` matches `filter`, honouring each attribute's
/// `caseExact` characteristic. A multi-valued attribute matches when any of its
/// values does, and `ne` matches when `eq` does not.
pub fn matches(filter: &ResolvedFilter, resource: &Value, schema: &ResourceSchema) -> bool {
    evaluate(filter, resource, Scope::Resource(schema))
}

/// Returns whether one value of the complex attribute `parent` matches a
/// value-filter expression whose paths name sub-attributes of `parent`.
pub(crate) fn matches_value(
    filter: &ResolvedFilter,
    value: &Value,
    parent: &'static AttributeDefinition,
) -> bool {
    evaluate(filter, value, Scope::Element(parent))
}

fn evaluate(filter: &ResolvedFilter, node: &Value, scope: Scope<'_>) -> bool {
    match filter {
        ResolvedFilter::And(terms) => terms.iter().all(|term| evaluate(term, node, scope)),
        ResolvedFilter::Or(terms) => terms.iter().any(|term| evaluate(term, node, scope)),
        ResolvedFilter::Not(inner) => !evaluate(inner, node, scope),
        ResolvedFilter::Present(path) => {
            let (values, _) = lookup(path, node, scope);
            values.iter().any(|value| is_present(value))
        }
        ResolvedFilter::Compare { attr, op, value } => {
            let (values, definition) = lookup(attr, node, scope);
            let Some(definition) = definition else {
                return false;
            };
            match op {
                CompareOp::Ne if *value == FilterValue::Null => {
                    values.iter().any(|actual| is_present(actual))
                }
                CompareOp::Ne => !values
                    .iter()
                    .any(|actual| compare(actual, CompareOp::Eq, value, definition)),
                _ if *value == FilterValue::Null => values.iter().all(|actual| !is_present(actual)),
                _ => values
                    .iter()
                    .any(|actual| compare(actual, *op, value, definition)),
            }
        }
        ResolvedFilter::ValuePath { attr, filter } => {
            let (values, definition) = lookup(attr, node, scope);
            let Some(definition) = definition else {
                return false;
            };
            values
                .iter()
                .any(|value| evaluate(filter, value, Scope::Element(definition)))
        }
    }
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        _ => true,
    }
}

/// Collects the values a path selects, with arrays flattened, and the
/// definition of the attribute or sub-attribute they belong to.
fn lookup<'v>(
    path: &ResolvedPath,
    node: &'v Value,
    scope: Scope<'_>,
) -> (Vec<&'v Value>, Option<&'static AttributeDefinition>) {
    let (container, definition) = match scope {
        Scope::Element(parent) => (Some(node), parent.sub_attribute(&path.name)),
        Scope::Resource(schema) => {
            let container = match schema.urn(path.schema) {
                Some(urn) if path.schema != crate::schema::SchemaKind::Core => {
                    get_ignore_case(node, urn)
                }
                _ => Some(node),
            };
            (container, schema.attribute(path.schema, &path.name))
        }
    };
    let (Some(container), Some(definition)) = (container, definition) else {
        return (Vec::new(), None);
    };

    let mut values = Vec::new();
    if let Some(value) = get_ignore_case(container, &path.name) {
        flatten_into(value, &mut values);
    }

    match &path.sub_attribute {
        None => (values, Some(definition)),
        Some(sub) => {
            let sub_definition = definition.sub_attribute(sub);
            let mut sub_values = Vec::new();
            for value in values {
                if let Some(inner) = get_ignore_case(value, sub) {
                    flatten_into(inner, &mut sub_values);
                }
            }
            (sub_values, sub_definition)
        }
    }
}

fn flatten_into<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Array(items) => out.extend(items.iter()),
        other => out.push(other),
    }
}

fn compare(
    actual: &Value,
    op: CompareOp,
    expected: &FilterValue,
    definition: &AttributeDefinition,
) -> bool {
    match (actual, expected) {
        (Value::Bool(actual), FilterValue::Bool(expected)) => {
            op == CompareOp::Eq && actual == expected
        }
        (Value::Number(actual), FilterValue::Number(expected)) => actual
            .as_f64()
            .and_then(|actual| actual.partial_cmp(expected))
            .is_some_and(|ordering| ordering_matches(ordering, op)),
        (Value::String(actual), FilterValue::String(expected)) => {
            if definition.data_type == AttributeType::DateTime {
                compare_date_times(actual, op, expected)
            } else {
                compare_strings(actual, op, expected, definition.case_exact)
            }
        }
        _ => false,
    }
}

fn compare_strings(actual: &str, op: CompareOp, expected: &str, case_exact: bool) -> bool {
    let (actual, expected) = if case_exact {
        (actual.to_owned(), expected.to_owned())
    } else {
        (actual.to_lowercase(), expected.to_lowercase())
    };
    match op {
        CompareOp::Co => actual.contains(&expected),
        CompareOp::Sw => actual.starts_with(&expected),
        CompareOp::Ew => actual.ends_with(&expected),
        _ => ordering_matches(actual.cmp(&expected), op),
    }
}

fn compare_date_times(actual: &str, op: CompareOp, expected: &str) -> bool {
    match (
        OffsetDateTime::parse(actual, &Rfc3339),
        OffsetDateTime::parse(expected, &Rfc3339),
    ) {
        (Ok(actual), Ok(expected)) => ordering_matches(actual.cmp(&expected), op),
        _ => false,
    }
}

fn ordering_matches(ordering: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}
