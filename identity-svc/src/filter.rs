//! Translates a `proto::identity::v1::Filter` tree and sort path into a
//! validated [`Condition`] and [`SortKey`]. Only attributes on the allow-list
//! below are accepted, and anything else is an invalid argument.
//!
//! Semantics (RFC 7644 section 3.4.2.2): string attributes compare
//! case-insensitively in folded form, except `id` and `externalId`, which are
//! case-exact. `ne` is `not eq`, so it also matches users without the
//! attribute. A comparison on a multi-valued attribute matches when any
//! element matches, and one without sub-attribute means its `value`. On such
//! an attribute, `ne` matches users with no element equal to the value.

use proto::identity::v1::{
    AttributePath, AttributeSchema, Comparison, ComparisonOperator, Filter, ValuePathFilter,
    filter::Expr, filter_value::Kind,
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    error::ServiceError,
    fold::fold_str,
    store::{
        query::{Column, Condition, JsonKind, Operand, Operator, SortKey, Target},
        truncate_to_micros,
    },
};

/// Request field named in field violations about the filter.
const FILTER_FIELD: &str = "filter";
/// Request field named in field violations about the sort path.
const SORT_FIELD: &str = "sortBy";
/// Maximum nesting depth of a filter, to bound recursion on hostile input.
const MAX_DEPTH: usize = 64;

/// Sub-attributes of every multi-valued attribute of type MultiValue.
const MULTI_VALUE_SUBS: &[(&str, JsonKind)] = &[
    ("value", JsonKind::Text),
    ("display", JsonKind::Text),
    ("type", JsonKind::Text),
    ("primary", JsonKind::Bool),
    ("$ref", JsonKind::Text),
];
const ADDRESS_SUBS: &[(&str, JsonKind)] = &[
    ("formatted", JsonKind::Text),
    ("streetAddress", JsonKind::Text),
    ("locality", JsonKind::Text),
    ("region", JsonKind::Text),
    ("postalCode", JsonKind::Text),
    ("country", JsonKind::Text),
    ("type", JsonKind::Text),
    ("primary", JsonKind::Bool),
];
const NAME_SUBS: &[(&str, JsonKind)] = &[
    ("formatted", JsonKind::Text),
    ("familyName", JsonKind::Text),
    ("givenName", JsonKind::Text),
    ("middleName", JsonKind::Text),
    ("honorificPrefix", JsonKind::Text),
    ("honorificSuffix", JsonKind::Text),
];
const MANAGER_SUBS: &[(&str, JsonKind)] = &[
    ("value", JsonKind::Text),
    ("$ref", JsonKind::Text),
    ("displayName", JsonKind::Text),
];

/// Single-valued string attributes of the core schema stored in the document.
const CORE_TEXT: &[&str] = &[
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
];
/// Multi-valued core attributes whose elements are MultiValue.
const CORE_MULTI: &[&str] = &[
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "entitlements",
    "roles",
    "x509Certificates",
];
/// Single-valued string attributes of the enterprise extension.
const ENTERPRISE_TEXT: &[&str] = &[
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
];

/// Target of a resolved attribute path.
enum Resolved {
    /// A scalar: a column or a single-valued document attribute.
    Scalar(Target),
    /// A singular complex attribute without sub-attribute, e.g. `name`.
    Complex {
        prefix: Vec<&'static str>,
        subs: &'static [(&'static str, JsonKind)],
    },
    /// A multi-valued attribute, optionally narrowed to one sub-attribute.
    Multi {
        key: &'static str,
        subs: &'static [(&'static str, JsonKind)],
        sub: Option<(&'static str, JsonKind)>,
    },
}

/// Builds the search condition of `filter`.
pub fn build_condition(filter: &Filter) -> Result<Condition, ServiceError> {
    translate(filter, 0)
}

/// Builds the sort key of `path`; an empty path is the default order.
pub fn build_sort(path: Option<&AttributePath>) -> Result<SortKey, ServiceError> {
    let Some(path) = path.filter(|path| !path.name.is_empty()) else {
        return Ok(SortKey::Default);
    };
    match resolve(path).map_err(|description| ServiceError::invalid(SORT_FIELD, description))? {
        Resolved::Scalar(target) => Ok(SortKey::Target(target)),
        Resolved::Complex { .. } | Resolved::Multi { .. } => Err(ServiceError::invalid(
            SORT_FIELD,
            format!(
                "cannot sort by {}: only single-valued attributes are sortable",
                describe(path)
            ),
        )),
    }
}

fn translate(filter: &Filter, depth: usize) -> Result<Condition, ServiceError> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!(
            "filter is nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let expr = filter
        .expr
        .as_ref()
        .ok_or_else(|| invalid("empty filter expression"))?;
    match expr {
        Expr::And(list) => Ok(Condition::And(translate_all(&list.filters, depth)?)),
        Expr::Or(list) => Ok(Condition::Or(translate_all(&list.filters, depth)?)),
        Expr::Not(inner) => Ok(Condition::Not(Box::new(translate(inner, depth + 1)?))),
        Expr::Comparison(comparison) => comparison_condition(comparison),
        Expr::Present(path) => present_condition(path),
        Expr::ValuePath(value_path) => value_path_condition(value_path, depth),
    }
}

fn translate_all(filters: &[Filter], depth: usize) -> Result<Vec<Condition>, ServiceError> {
    filters
        .iter()
        .map(|filter| translate(filter, depth + 1))
        .collect()
}

fn comparison_condition(comparison: &Comparison) -> Result<Condition, ServiceError> {
    let path = comparison
        .attribute
        .as_ref()
        .ok_or_else(|| invalid("comparison without attribute"))?;
    match resolve(path).map_err(invalid)? {
        Resolved::Scalar(target) => compare(target, comparison, path),
        Resolved::Complex { .. } => Err(invalid(format!(
            "cannot compare complex attribute {}; name a sub-attribute",
            describe(path)
        ))),
        Resolved::Multi { key, subs, sub } => {
            let (sub_key, kind) = match sub {
                Some(sub) => sub,
                None => lookup(subs, "value").ok_or_else(|| {
                    invalid(format!(
                        "{} has no value sub-attribute; name a sub-attribute",
                        describe(path)
                    ))
                })?,
            };
            // `ne` and `eq null` come back negated; the negation goes outside
            // the element test, so `emails ne "x"` means no email is "x".
            match compare(Target::Element { key: sub_key, kind }, comparison, path)? {
                Condition::Not(positive) => {
                    Ok(Condition::Not(Box::new(any_element(key, *positive))))
                }
                positive => Ok(any_element(key, positive)),
            }
        }
    }
}

fn present_condition(path: &AttributePath) -> Result<Condition, ServiceError> {
    match resolve(path).map_err(invalid)? {
        Resolved::Scalar(target) => Ok(Condition::Present(target)),
        Resolved::Complex { prefix, subs } => Ok(Condition::Or(
            subs.iter()
                .map(|(key, kind)| {
                    let mut keys = prefix.clone();
                    keys.push(key);
                    Condition::Present(Target::Document { keys, kind: *kind })
                })
                .collect(),
        )),
        Resolved::Multi { key, sub: None, .. } => Ok(Condition::ArrayNotEmpty { keys: vec![key] }),
        Resolved::Multi {
            key,
            sub: Some((sub_key, kind)),
            ..
        } => Ok(any_element(
            key,
            Condition::Present(Target::Element { key: sub_key, kind }),
        )),
    }
}

/// Translates `attribute[filter]`. Inside the brackets each path's `name` is
/// a sub-attribute of `attribute`.
fn value_path_condition(
    value_path: &ValuePathFilter,
    depth: usize,
) -> Result<Condition, ServiceError> {
    let path = value_path
        .attribute
        .as_ref()
        .ok_or_else(|| invalid("value path without attribute"))?;
    let inner = value_path
        .filter
        .as_ref()
        .ok_or_else(|| invalid(format!("value path {} without filter", describe(path))))?;
    if !path.sub_attribute.is_empty() {
        return Err(invalid(format!(
            "value path {} must name an attribute, not a sub-attribute",
            describe(path)
        )));
    }

    match resolve(path).map_err(invalid)? {
        Resolved::Multi { key, subs, .. } => {
            let condition = translate_inner(inner, depth + 1, &|name| {
                lookup(subs, name).map(|(sub_key, kind)| Target::Element { key: sub_key, kind })
            })?;
            Ok(any_element(key, condition))
        }
        Resolved::Complex { prefix, subs } => translate_inner(inner, depth + 1, &|name| {
            lookup(subs, name).map(|(sub_key, kind)| {
                let mut keys = prefix.clone();
                keys.push(sub_key);
                Target::Document { keys, kind }
            })
        }),
        Resolved::Scalar(_) => Err(invalid(format!(
            "{} is not a complex attribute",
            describe(path)
        ))),
    }
}

/// Translates the filter inside a value path, resolving each sub-attribute
/// name with `resolve_sub`.
fn translate_inner(
    filter: &Filter,
    depth: usize,
    resolve_sub: &dyn Fn(&str) -> Option<Target>,
) -> Result<Condition, ServiceError> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!(
            "filter is nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let expr = filter
        .expr
        .as_ref()
        .ok_or_else(|| invalid("empty filter expression"))?;
    let target_of = |path: &AttributePath| {
        if !path.sub_attribute.is_empty() {
            return Err(invalid(format!(
                "{} is nested too deep inside a value path",
                describe(path)
            )));
        }
        resolve_sub(&path.name).ok_or_else(|| {
            invalid(format!(
                "unknown sub-attribute {:?} in value path",
                path.name
            ))
        })
    };
    let translate_list = |filters: &[Filter]| -> Result<Vec<Condition>, ServiceError> {
        filters
            .iter()
            .map(|item| translate_inner(item, depth + 1, resolve_sub))
            .collect()
    };

    match expr {
        Expr::And(list) => Ok(Condition::And(translate_list(&list.filters)?)),
        Expr::Or(list) => Ok(Condition::Or(translate_list(&list.filters)?)),
        Expr::Not(inner) => Ok(Condition::Not(Box::new(translate_inner(
            inner,
            depth + 1,
            resolve_sub,
        )?))),
        Expr::Comparison(comparison) => {
            let path = comparison
                .attribute
                .as_ref()
                .ok_or_else(|| invalid("comparison without attribute"))?;
            compare(target_of(path)?, comparison, path)
        }
        Expr::Present(path) => Ok(Condition::Present(target_of(path)?)),
        Expr::ValuePath(_) => Err(invalid("value paths cannot be nested")),
    }
}

/// Builds the comparison of `target` with the comparison's operator and value.
fn compare(
    target: Target,
    comparison: &Comparison,
    path: &AttributePath,
) -> Result<Condition, ServiceError> {
    let operator = ComparisonOperator::try_from(comparison.operator)
        .unwrap_or(ComparisonOperator::Unspecified);
    let value = comparison
        .value
        .as_ref()
        .and_then(|value| value.kind.as_ref());

    // `eq null` and `ne null` test presence (RFC 7644 section 3.4.2.2).
    if let Some(Kind::NullValue(_)) = value {
        return match operator {
            ComparisonOperator::Eq => Ok(Condition::Not(Box::new(Condition::Present(target)))),
            ComparisonOperator::Ne => Ok(Condition::Present(target)),
            _ => Err(invalid(format!(
                "only eq and ne compare {} with null",
                describe(path)
            ))),
        };
    }

    let (mapped, negate) = match operator {
        ComparisonOperator::Eq => (Operator::Eq, false),
        ComparisonOperator::Ne => (Operator::Eq, true),
        ComparisonOperator::Co => (Operator::Contains, false),
        ComparisonOperator::Sw => (Operator::StartsWith, false),
        ComparisonOperator::Ew => (Operator::EndsWith, false),
        ComparisonOperator::Gt => (Operator::Greater, false),
        ComparisonOperator::Ge => (Operator::GreaterOrEqual, false),
        ComparisonOperator::Lt => (Operator::Less, false),
        ComparisonOperator::Le => (Operator::LessOrEqual, false),
        ComparisonOperator::Unspecified => return Err(invalid("comparison without operator")),
    };

    let operand = operand_for(&target, mapped, value, path)?;
    let condition = Condition::Compare {
        target,
        operator: mapped,
        operand,
    };
    if negate {
        Ok(Condition::Not(Box::new(condition)))
    } else {
        Ok(condition)
    }
}

/// Checks the value's type against the attribute's type and prepares it:
/// folded text, a boolean or a timestamp.
fn operand_for(
    target: &Target,
    operator: Operator,
    value: Option<&Kind>,
    path: &AttributePath,
) -> Result<Operand, ServiceError> {
    let ordering_or_pattern = operator != Operator::Eq;
    let is_pattern = matches!(
        operator,
        Operator::Contains | Operator::StartsWith | Operator::EndsWith
    );

    match (attribute_type(target), value) {
        (AttributeType::Bool, Some(Kind::BoolValue(flag))) if !ordering_or_pattern => {
            Ok(Operand::Bool(*flag))
        }
        (AttributeType::Bool, Some(Kind::BoolValue(_))) => Err(invalid(format!(
            "{} is boolean; only eq and ne apply",
            describe(path)
        ))),
        (AttributeType::Timestamp, Some(Kind::StringValue(text))) if !is_pattern => {
            let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                invalid(format!(
                    "{} needs an RFC 3339 date-time, got {text:?}",
                    describe(path)
                ))
            })?;
            Ok(Operand::Timestamp(truncate_to_micros(at)))
        }
        (AttributeType::Timestamp, Some(Kind::StringValue(_))) => Err(invalid(format!(
            "{} is a date-time; co, sw and ew do not apply",
            describe(path)
        ))),
        (AttributeType::CaseExactText, Some(Kind::StringValue(text))) => {
            Ok(Operand::Text(text.clone()))
        }
        (AttributeType::FoldedText, Some(Kind::StringValue(text))) => {
            Ok(Operand::Text(fold_str(text)))
        }
        (expected, _) => Err(invalid(format!(
            "{} needs a {} value",
            describe(path),
            expected.name()
        ))),
    }
}

#[derive(Clone, Copy)]
enum AttributeType {
    Bool,
    Timestamp,
    CaseExactText,
    FoldedText,
}

impl AttributeType {
    fn name(self) -> &'static str {
        match self {
            Self::Bool => "boolean",
            Self::Timestamp => "date-time string",
            Self::CaseExactText | Self::FoldedText => "string",
        }
    }
}

fn attribute_type(target: &Target) -> AttributeType {
    match target {
        Target::Column(Column::Active) => AttributeType::Bool,
        Target::Column(Column::Created | Column::LastModified) => AttributeType::Timestamp,
        Target::Column(Column::Id | Column::ExternalId) => AttributeType::CaseExactText,
        Target::Column(Column::UserNameFolded) => AttributeType::FoldedText,
        Target::Document { kind, .. } | Target::Element { kind, .. } => match kind {
            JsonKind::Bool => AttributeType::Bool,
            JsonKind::Text => AttributeType::FoldedText,
        },
    }
}

/// Resolves an attribute path against the allow-list.
fn resolve(path: &AttributePath) -> Result<Resolved, String> {
    let schema = AttributeSchema::try_from(path.schema).unwrap_or(AttributeSchema::Unspecified);
    let name = path.name.as_str();
    let sub = path.sub_attribute.as_str();
    let unknown = || format!("unknown or unsupported attribute {}", describe(path));

    if schema == AttributeSchema::Enterprise {
        if let Some(key) = ENTERPRISE_TEXT.iter().find(|key| **key == name) {
            return scalar_only(
                sub,
                Target::Document {
                    keys: vec!["enterprise", key],
                    kind: JsonKind::Text,
                },
                path,
            );
        }
        if name == "manager" {
            return complex(vec!["enterprise", "manager"], MANAGER_SUBS, sub).ok_or_else(unknown);
        }
        return Err(unknown());
    }

    let column = match name {
        "id" => Some(Column::Id),
        "userName" => Some(Column::UserNameFolded),
        "externalId" => Some(Column::ExternalId),
        "active" => Some(Column::Active),
        _ => None,
    };
    if let Some(column) = column {
        return scalar_only(sub, Target::Column(column), path);
    }
    if name == "meta" {
        return match sub {
            "created" => Ok(Resolved::Scalar(Target::Column(Column::Created))),
            "lastModified" => Ok(Resolved::Scalar(Target::Column(Column::LastModified))),
            _ => Err(unknown()),
        };
    }
    if let Some(key) = CORE_TEXT.iter().find(|key| **key == name) {
        return scalar_only(
            sub,
            Target::Document {
                keys: vec![key],
                kind: JsonKind::Text,
            },
            path,
        );
    }
    if name == "name" {
        return complex(vec!["name"], NAME_SUBS, sub).ok_or_else(unknown);
    }
    let multi = CORE_MULTI
        .iter()
        .map(|key| (*key, MULTI_VALUE_SUBS))
        .chain(std::iter::once(("addresses", ADDRESS_SUBS)))
        .find(|(key, _)| *key == name);
    if let Some((key, subs)) = multi {
        if sub.is_empty() {
            return Ok(Resolved::Multi {
                key,
                subs,
                sub: None,
            });
        }
        let sub = lookup(subs, sub).ok_or_else(unknown)?;
        return Ok(Resolved::Multi {
            key,
            subs,
            sub: Some(sub),
        });
    }
    Err(unknown())
}

fn scalar_only(sub: &str, target: Target, path: &AttributePath) -> Result<Resolved, String> {
    if sub.is_empty() {
        Ok(Resolved::Scalar(target))
    } else {
        Err(format!("{} has no sub-attributes", path.name))
    }
}

fn complex(
    prefix: Vec<&'static str>,
    subs: &'static [(&'static str, JsonKind)],
    sub: &str,
) -> Option<Resolved> {
    if sub.is_empty() {
        return Some(Resolved::Complex { prefix, subs });
    }
    let (key, kind) = lookup(subs, sub)?;
    let mut keys = prefix;
    keys.push(key);
    Some(Resolved::Scalar(Target::Document { keys, kind }))
}

fn lookup(
    subs: &'static [(&'static str, JsonKind)],
    name: &str,
) -> Option<(&'static str, JsonKind)> {
    subs.iter().find(|(key, _)| *key == name).copied()
}

fn any_element(key: &'static str, condition: Condition) -> Condition {
    Condition::Any {
        keys: vec![key],
        condition: Box::new(condition),
    }
}

/// Formats a path as SCIM writes it, e.g. `emails.value`.
fn describe(path: &AttributePath) -> String {
    let prefix = if path.schema == AttributeSchema::Enterprise as i32 {
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
    } else {
        ""
    };
    if path.sub_attribute.is_empty() {
        format!("{prefix}{}", path.name)
    } else {
        format!("{prefix}{}.{}", path.name, path.sub_attribute)
    }
}

fn invalid(description: impl Into<String>) -> ServiceError {
    ServiceError::invalid(FILTER_FIELD, description)
}
