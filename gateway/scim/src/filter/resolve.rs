//! Resolution of parsed filters and `sortBy` against a resource schema: every
//! attribute is checked and rewritten to its canonical name.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{CompareOp, Filter, FilterValue};
use crate::error::ScimError;
use crate::path::{AttributePath, ResolvedPath, parse_attribute_path};
use crate::schema::{AttributeDefinition, AttributeType, ResourceSchema, Returned, SchemaKind};

/// A filter whose paths are checked against a schema and spelled canonically.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolvedFilter {
    /// All terms match.
    And(Vec<ResolvedFilter>),
    /// Any term matches.
    Or(Vec<ResolvedFilter>),
    /// The inner filter does not match.
    Not(Box<ResolvedFilter>),
    /// `attr op value`. A complex attribute compared directly, such as
    /// `members eq "id"`, arrives here as its `value` sub-attribute. Boolean
    /// attributes compared with `"true"` or `"false"` strings arrive as booleans.
    Compare {
        attr: ResolvedPath,
        op: CompareOp,
        value: FilterValue,
    },
    /// `attr pr`.
    Present(ResolvedPath),
    /// Some value of the complex attribute `attr` matches `filter`. Inside
    /// `filter`, each path's `name` is a sub-attribute of `attr` (such as
    /// `type`), its `schema` is that of `attr`, and `sub_attribute` is `None`.
    ValuePath {
        attr: ResolvedPath,
        filter: Box<ResolvedFilter>,
    },
}

/// Sort direction for `sortOrder` (RFC 7644 section 3.4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

/// Checks every attribute of `filter` against `schema` and returns the filter
/// with canonical names.
///
/// # Errors
///
/// Returns 400 `invalidFilter` naming the attribute when it is unknown, is a
/// complex attribute without a `value` sub-attribute compared directly, is
/// never returned (`password`), or is compared with an operator or value that
/// does not fit its type.
///
/// NOTE: `schemas` is not in the attribute registry, so the RFC 7644 example
/// `schemas eq "urn:..."` is rejected as naming an unknown attribute.
pub fn resolve(filter: &Filter, schema: &ResourceSchema) -> Result<ResolvedFilter, ScimError> {
    resolve_in(filter, schema, None)
}

/// Parses and resolves a `sortBy` attribute. A complex attribute sorts by its
/// `value` sub-attribute, as `emails` sorts by `emails.value`.
///
/// # Errors
///
/// Returns 400 `invalidValue` when the path is malformed, unknown or names a
/// complex attribute without a `value` sub-attribute.
pub fn parse_sort_by(input: &str, schema: &ResourceSchema) -> Result<ResolvedPath, ScimError> {
    let path =
        parse_attribute_path(input).map_err(|error| ScimError::invalid_value(error.detail))?;
    let resolved = schema
        .resolve(&path)
        .map_err(|error| ScimError::invalid_value(error.detail))?;

    let mut canonical = resolved.path();
    if resolved.target().is_complex() {
        let value = resolved.attribute.sub_attribute("value").ok_or_else(|| {
            ScimError::invalid_value(format!(
                "sortBy '{path}' names a complex attribute; name one of its sub-attributes."
            ))
        })?;
        canonical.sub_attribute = Some(value.name.to_owned());
    }
    Ok(canonical)
}

/// Parses `sortOrder`: `ascending` or `descending`, in any case.
///
/// # Errors
///
/// Returns 400 `invalidValue` for any other text.
pub fn parse_sort_order(input: &str) -> Result<SortOrder, ScimError> {
    let trimmed = input.trim();
    if trimmed.eq_ignore_ascii_case("ascending") {
        Ok(SortOrder::Ascending)
    } else if trimmed.eq_ignore_ascii_case("descending") {
        Ok(SortOrder::Descending)
    } else {
        Err(ScimError::invalid_value(format!(
            "sortOrder '{}' is invalid; use ascending or descending.",
            crate::path::shorten(input)
        )))
    }
}

/// The enclosing attribute of a value filter, whose sub-attributes the inner paths name.
type Parent = (SchemaKind, &'static AttributeDefinition);

fn resolve_in(
    filter: &Filter,
    schema: &ResourceSchema,
    parent: Option<Parent>,
) -> Result<ResolvedFilter, ScimError> {
    match filter {
        Filter::And(terms) => Ok(ResolvedFilter::And(resolve_all(terms, schema, parent)?)),
        Filter::Or(terms) => Ok(ResolvedFilter::Or(resolve_all(terms, schema, parent)?)),
        Filter::Not(inner) => Ok(ResolvedFilter::Not(Box::new(resolve_in(
            inner, schema, parent,
        )?))),
        Filter::Present(path) => {
            let (resolved, _) = resolve_path(path, schema, parent)?;
            Ok(ResolvedFilter::Present(resolved))
        }
        Filter::Compare { attr, op, value } => {
            let (mut resolved, mut target) = resolve_path(attr, schema, parent)?;
            if target.is_complex() {
                target = target.sub_attribute("value").ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "The filter compares the complex attribute '{attr}'; compare one of its sub-attributes instead."
                    ))
                })?;
                resolved.sub_attribute = Some(target.name.to_owned());
            }
            let value = check_comparison(attr, target, *op, value)?;
            Ok(ResolvedFilter::Compare {
                attr: resolved,
                op: *op,
                value,
            })
        }
        Filter::ValuePath { attr, filter } => {
            if parent.is_some() {
                return Err(ScimError::invalid_filter(format!(
                    "The value filter on '{attr}' is nested inside another value filter."
                )));
            }
            let (resolved, target) = resolve_path(attr, schema, None)?;
            if !target.is_complex() || resolved.sub_attribute.is_some() {
                return Err(ScimError::invalid_filter(format!(
                    "The value filter follows '{attr}', which is not a complex attribute."
                )));
            }
            let inner = resolve_in(filter, schema, Some((resolved.schema, target)))?;
            Ok(ResolvedFilter::ValuePath {
                attr: resolved,
                filter: Box::new(inner),
            })
        }
    }
}

fn resolve_all(
    terms: &[Filter],
    schema: &ResourceSchema,
    parent: Option<Parent>,
) -> Result<Vec<ResolvedFilter>, ScimError> {
    terms
        .iter()
        .map(|term| resolve_in(term, schema, parent))
        .collect()
}

fn resolve_path(
    path: &AttributePath,
    schema: &ResourceSchema,
    parent: Option<Parent>,
) -> Result<(ResolvedPath, &'static AttributeDefinition), ScimError> {
    let unknown =
        || ScimError::invalid_filter(format!("The filter names the unknown attribute '{path}'."));

    let (resolved, target) = match parent {
        Some((kind, parent_definition)) => {
            if path.urn.is_some() || path.sub_attribute.is_some() {
                return Err(unknown());
            }
            let sub = parent_definition
                .sub_attribute(&path.name)
                .ok_or_else(unknown)?;
            let resolved = ResolvedPath {
                schema: kind,
                name: sub.name.to_owned(),
                sub_attribute: None,
            };
            (resolved, sub)
        }
        None => {
            let found = schema.find(path).ok_or_else(unknown)?;
            (found.path(), found.target())
        }
    };

    if target.returned == Returned::Never {
        return Err(ScimError::invalid_filter(format!(
            "The attribute '{path}' cannot be used in a filter."
        )));
    }
    Ok((resolved, target))
}

/// Checks that `op` and `value` fit the attribute type and converts Entra's
/// `"true"`/`"false"` strings for boolean attributes.
fn check_comparison(
    path: &AttributePath,
    target: &AttributeDefinition,
    op: CompareOp,
    value: &FilterValue,
) -> Result<FilterValue, ScimError> {
    let mismatch = |expected: &str| {
        ScimError::invalid_filter(format!(
            "The filter compares '{path}' with '{}', which needs {expected}.",
            op.as_str()
        ))
    };

    if *value == FilterValue::Null {
        return match op {
            CompareOp::Eq | CompareOp::Ne => Ok(FilterValue::Null),
            _ => Err(mismatch("a non-null value")),
        };
    }

    match target.data_type {
        AttributeType::Boolean => {
            if op != CompareOp::Eq && op != CompareOp::Ne {
                return Err(ScimError::invalid_filter(format!(
                    "The boolean attribute '{path}' supports only eq, ne and pr."
                )));
            }
            match value {
                FilterValue::Bool(flag) => Ok(FilterValue::Bool(*flag)),
                FilterValue::String(text) if text.eq_ignore_ascii_case("true") => {
                    Ok(FilterValue::Bool(true))
                }
                FilterValue::String(text) if text.eq_ignore_ascii_case("false") => {
                    Ok(FilterValue::Bool(false))
                }
                _ => Err(mismatch("true or false")),
            }
        }
        AttributeType::Integer | AttributeType::Decimal => match value {
            FilterValue::Number(number) if !op.is_substring() => Ok(FilterValue::Number(*number)),
            _ => Err(mismatch("a number")),
        },
        AttributeType::DateTime => match value {
            FilterValue::String(text)
                if !op.is_substring() && OffsetDateTime::parse(text, &Rfc3339).is_ok() =>
            {
                Ok(value.clone())
            }
            _ => Err(mismatch(
                "a quoted RFC 3339 date-time such as \"2024-05-01T00:00:00Z\"",
            )),
        },
        AttributeType::Binary if op.is_ordering() => Err(ScimError::invalid_filter(format!(
            "The binary attribute '{path}' cannot be ordered with '{}'.",
            op.as_str()
        ))),
        AttributeType::String
        | AttributeType::Reference
        | AttributeType::Binary
        | AttributeType::Complex => match value {
            FilterValue::String(_) => Ok(value.clone()),
            _ => Err(mismatch("a quoted string")),
        },
    }
}
