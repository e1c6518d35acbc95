//! Member lists and member value filters of Group requests: validation of
//! `{value, display, type, $ref}` objects, duplicate removal, and the per-request
//! member limit.

use std::collections::HashSet;

use serde_json::Value;

use super::{MAX_MEMBERS_PER_REQUEST, PlannedMember};
use crate::error::ScimError;
use crate::filter::{CompareOp, FilterValue, ResolvedFilter};
use crate::resource::json_util::get_ignore_case;

/// Number of member values seen so far in one request, checked against
/// [`MAX_MEMBERS_PER_REQUEST`]. Values count before duplicates are removed,
/// because the limit bounds the work a single request can cause.
#[derive(Debug, Default)]
pub(super) struct MemberBudget {
    used: usize,
}

impl MemberBudget {
    /// Adds `count` member values and rejects the request with 413 once the
    /// total passes the limit.
    pub(super) fn spend(&mut self, count: usize) -> Result<(), ScimError> {
        self.used = self.used.saturating_add(count);
        if self.used > MAX_MEMBERS_PER_REQUEST {
            return Err(ScimError::payload_too_large(format!(
                "The request has more than {MAX_MEMBERS_PER_REQUEST} member values, the maximum per request. Send the remaining members in further PATCH requests."
            )));
        }
        Ok(())
    }
}

/// Parses the value of `members`: an array of member objects, or one bare
/// member object as RFC 7643 section 2.4 clients sometimes send. Members with
/// the same `value` collapse into the first one.
///
/// # Errors
///
/// Returns 400 `invalidValue` naming `members` when the value is neither an
/// array nor an object, or when a member is invalid (see [`parse_member`]),
/// and 413 when the request passes [`MAX_MEMBERS_PER_REQUEST`] member values.
pub(super) fn parse_members(
    value: &Value,
    budget: &mut MemberBudget,
) -> Result<Vec<PlannedMember>, ScimError> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        _ => {
            return Err(ScimError::invalid_value(
                "The value of 'members' must be an array of objects such as {\"value\": \"<user id>\"}.",
            ));
        }
    };
    budget.spend(items.len())?;

    let mut members = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        members.push(parse_member(index + 1, item)?);
    }
    Ok(dedupe_members(members))
}

/// Validates one member object. `value` must be a non-blank string, and
/// `display`, `type` and `$ref` must be strings or null when present. `$ref`
/// (Entra sends `"$ref": null`) and unknown keys are dropped.
fn parse_member(number: usize, item: &Value) -> Result<PlannedMember, ScimError> {
    if !item.is_object() {
        return Err(ScimError::invalid_value(format!(
            "Member {number} of 'members' must be a JSON object such as {{\"value\": \"<user id>\"}}."
        )));
    }

    let value = match get_ignore_case(item, "value") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.clone(),
        _ => {
            return Err(ScimError::invalid_value(format!(
                "Member {number} of 'members' is missing 'value'. Each member needs the member's id as a non-empty string in 'value'."
            )));
        }
    };
    optional_string(number, item, "$ref")?;

    Ok(PlannedMember {
        value,
        display: optional_string(number, item, "display")?,
        r#type: optional_string(number, item, "type")?,
    })
}

fn optional_string(number: usize, item: &Value, key: &str) -> Result<Option<String>, ScimError> {
    match get_ignore_case(item, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ScimError::invalid_value(format!(
            "The value of 'members.{key}' in member {number} must be a string."
        ))),
    }
}

/// Removes members whose `value` repeats an earlier one, keeping the first.
pub(super) fn dedupe_members(members: Vec<PlannedMember>) -> Vec<PlannedMember> {
    let mut seen = HashSet::with_capacity(members.len());
    members
        .into_iter()
        .filter(|member| seen.insert(member.value.clone()))
        .collect()
}

/// Removes ids that repeat an earlier one, keeping the first.
pub(super) fn dedupe_ids(ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// Collects the member ids of a value filter on `members` made only of
/// `value eq "<id>"` comparisons joined by `or`, such as
/// `members[value eq "a" or value eq "b"]`.
///
/// # Errors
///
/// Returns 400 `invalidFilter` for any other filter, such as
/// `members[display eq "x"]` or `members[not (value eq "a")]`: selecting those
/// members needs the stored member list, which the plan never reads. Returns
/// 400 `invalidValue` for a blank id and 413 past the member limit.
pub(super) fn filter_member_ids(
    filter: &ResolvedFilter,
    budget: &mut MemberBudget,
) -> Result<Vec<String>, ScimError> {
    let mut ids = Vec::new();
    collect_filter_ids(filter, budget, &mut ids)?;
    Ok(dedupe_ids(ids))
}

fn collect_filter_ids(
    filter: &ResolvedFilter,
    budget: &mut MemberBudget,
    ids: &mut Vec<String>,
) -> Result<(), ScimError> {
    match filter {
        ResolvedFilter::Or(terms) => {
            for term in terms {
                collect_filter_ids(term, budget, ids)?;
            }
            Ok(())
        }
        ResolvedFilter::Compare {
            attr,
            op: CompareOp::Eq,
            value: FilterValue::String(id),
        } if attr.name == "value" && attr.sub_attribute.is_none() => {
            if id.trim().is_empty() {
                return Err(ScimError::invalid_value(
                    "The filter on 'members' compares 'value' with an empty id.",
                ));
            }
            budget.spend(1)?;
            ids.push(id.clone());
            Ok(())
        }
        _ => Err(ScimError::invalid_filter(
            "A filter on 'members' may only select members by id, as in members[value eq \"<id>\"] or several such comparisons joined by 'or'; other member filters are not supported.",
        )),
    }
}
