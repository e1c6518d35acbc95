//! Translates a `proto::identity::v1::Filter` tree and sort path over Group
//! attributes into a validated [`Condition`] and [`SortKey`]. Only the
//! attributes below are accepted, and anything else is an invalid argument
//! naming the `filter` (or `sortBy`) field.
//!
//! Attributes: `id` and `externalId` (case-exact), `displayName` (compared
//! case-insensitively in folded form), `members` and `members.value` (the
//! member user ids, case-exact), `meta.created` and `meta.lastModified`
//! (RFC 3339 date-times). A comparison on members matches when any member
//! matches, so `members ne "x"` matches groups without member "x". Value
//! paths take `members[value <op> "..."]`.

use proto::identity::v1::{
    AttributePath, AttributeSchema, Comparison, ComparisonOperator, Filter, ValuePathFilter,
    filter::Expr, filter_value::Kind,
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    error::ServiceError,
    fold::fold_str,
    store::{
        query::{Column, Condition, Operand, Operator, SortKey, Target},
        truncate_to_micros,
    },
};

/// Request field named in field violations about the filter.
const FILTER_FIELD: &str = "filter";
/// Request field named in field violations about the sort path.
const SORT_FIELD: &str = "sortBy";
/// Maximum nesting depth of a filter, to bound recursion on hostile input.
const MAX_DEPTH: usize = 64;

/// Target of a resolved attribute path.
enum Resolved {
    Column(Column),
    /// `members` or `members.value`.
    Members,
}

/// Builds the condition of a filter.
pub fn build_condition(filter: &Filter) -> Result<Condition, ServiceError> {
    translate(filter, 0)
}

/// Builds the sort key of `path`; an empty path is the default order.
pub fn build_sort(path: Option<&AttributePath>) -> Result<SortKey, ServiceError> {
    let Some(path) = path.filter(|path| !path.name.is_empty()) else {
        return Ok(SortKey::Default);
    };
    match resolve(path).map_err(|description| ServiceError::invalid(SORT_FIELD, description))? {
        Resolved::Column(column) => Ok(SortKey::Column(column)),
        Resolved::Members => Err(ServiceError::invalid(
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
        Expr::Present(path) => match resolve(path).map_err(invalid)? {
            Resolved::Column(column) => Ok(Condition::Present(Target::Column(column))),
            Resolved::Members => Ok(has_member(Condition::Present(Target::MemberValue))),
        },
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
        Resolved::Column(column) => compare(Target::Column(column), comparison, path),
        // `ne` and `eq null` come back negated; the negation goes outside
        // the member test, so `members ne "x"` means no member is "x".
        Resolved::Members => match compare(Target::MemberValue, comparison, path)? {
            Condition::Not(positive) => Ok(Condition::Not(Box::new(has_member(*positive)))),
            positive => Ok(has_member(positive)),
        },
    }
}

/// Translates `members[filter]`, whose paths name sub-attributes of members.
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
    if path.name != "members" || !path.sub_attribute.is_empty() || !is_core(path) {
        return Err(invalid(format!(
            "value path {} is not supported; only members[value ...] is",
            describe(path)
        )));
    }
    Ok(has_member(translate_member(inner, depth + 1)?))
}

/// Translates the filter inside `members[...]`, where only `value` is known.
fn translate_member(filter: &Filter, depth: usize) -> Result<Condition, ServiceError> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!(
            "filter is nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let expr = filter
        .expr
        .as_ref()
        .ok_or_else(|| invalid("empty filter expression"))?;
    let check_path = |path: &AttributePath| {
        if path.name == "value" && path.sub_attribute.is_empty() {
            Ok(())
        } else {
            Err(invalid(format!(
                "unknown sub-attribute {:?} in members value path; only value is supported",
                path.name
            )))
        }
    };
    let translate_list = |filters: &[Filter]| -> Result<Vec<Condition>, ServiceError> {
        filters
            .iter()
            .map(|item| translate_member(item, depth + 1))
            .collect()
    };

    match expr {
        Expr::And(list) => Ok(Condition::And(translate_list(&list.filters)?)),
        Expr::Or(list) => Ok(Condition::Or(translate_list(&list.filters)?)),
        Expr::Not(inner) => Ok(Condition::Not(Box::new(translate_member(
            inner,
            depth + 1,
        )?))),
        Expr::Comparison(comparison) => {
            let path = comparison
                .attribute
                .as_ref()
                .ok_or_else(|| invalid("comparison without attribute"))?;
            check_path(path)?;
            compare(Target::MemberValue, comparison, path)
        }
        Expr::Present(path) => {
            check_path(path)?;
            Ok(Condition::Present(Target::MemberValue))
        }
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

    let operand = operand_for(target, mapped, value, path)?;
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
/// folded text for displayName, exact text or a timestamp otherwise.
fn operand_for(
    target: Target,
    operator: Operator,
    value: Option<&Kind>,
    path: &AttributePath,
) -> Result<Operand, ServiceError> {
    let is_pattern = matches!(
        operator,
        Operator::Contains | Operator::StartsWith | Operator::EndsWith
    );
    match (target, value) {
        (Target::Column(Column::Created | Column::LastModified), Some(Kind::StringValue(text)))
            if !is_pattern =>
        {
            let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                invalid(format!(
                    "{} needs an RFC 3339 date-time, got {text:?}",
                    describe(path)
                ))
            })?;
            Ok(Operand::Timestamp(truncate_to_micros(at)))
        }
        (Target::Column(Column::Created | Column::LastModified), Some(Kind::StringValue(_))) => {
            Err(invalid(format!(
                "{} is a date-time; co, sw and ew do not apply",
                describe(path)
            )))
        }
        (Target::Column(Column::Created | Column::LastModified), _) => Err(invalid(format!(
            "{} needs a date-time string value",
            describe(path)
        ))),
        (Target::Column(Column::DisplayNameFolded), Some(Kind::StringValue(text))) => {
            Ok(Operand::Text(fold_str(text)))
        }
        (_, Some(Kind::StringValue(text))) => Ok(Operand::Text(text.clone())),
        (_, _) => Err(invalid(format!("{} needs a string value", describe(path)))),
    }
}

/// Resolves an attribute path against the Group attributes.
fn resolve(path: &AttributePath) -> Result<Resolved, String> {
    let unknown = || format!("unknown or unsupported Group attribute {}", describe(path));
    if !is_core(path) {
        return Err(unknown());
    }
    let sub = path.sub_attribute.as_str();
    let column = match path.name.as_str() {
        "id" => Column::Id,
        "externalId" => Column::ExternalId,
        "displayName" => Column::DisplayNameFolded,
        "members" if sub.is_empty() || sub == "value" => return Ok(Resolved::Members),
        "meta" => match sub {
            "created" => return Ok(Resolved::Column(Column::Created)),
            "lastModified" => return Ok(Resolved::Column(Column::LastModified)),
            _ => return Err(unknown()),
        },
        _ => return Err(unknown()),
    };
    if sub.is_empty() {
        Ok(Resolved::Column(column))
    } else {
        Err(format!("{} has no sub-attributes", path.name))
    }
}

/// Group attributes live in the core schema; the enterprise extension is
/// a User extension.
fn is_core(path: &AttributePath) -> bool {
    AttributeSchema::try_from(path.schema).unwrap_or(AttributeSchema::Unspecified)
        != AttributeSchema::Enterprise
}

fn has_member(condition: Condition) -> Condition {
    Condition::HasMember(Box::new(condition))
}

/// Formats a path as SCIM writes it, e.g. `meta.created`.
fn describe(path: &AttributePath) -> String {
    if path.sub_attribute.is_empty() {
        path.name.clone()
    } else {
        format!("{}.{}", path.name, path.sub_attribute)
    }
}

fn invalid(description: impl Into<String>) -> ServiceError {
    ServiceError::invalid(FILTER_FIELD, description)
}
