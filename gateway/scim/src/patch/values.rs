//! PATCH semantics on one attribute (RFC 7644 sections 3.5.2.1 to 3.5.2.3):
//! whole attributes, sub-attributes and values selected by a value filter.

use serde_json::{Map, Value};

use super::PatchOp;
use crate::error::ScimError;
use crate::filter::eval::matches_value;
use crate::filter::{CompareOp, FilterValue, ResolvedFilter};
use crate::resource::coerce::{coerce_attribute, coerce_single};
use crate::resource::json_util::{canonical_entry, get_ignore_case, remove_ignore_case};
use crate::schema::{AttributeDefinition, SchemaKind};

/// A resolved PATCH target.
pub(super) struct Target {
    pub(super) schema: SchemaKind,
    pub(super) attribute: &'static AttributeDefinition,
    pub(super) sub_attribute: Option<&'static AttributeDefinition>,
    /// Value filter whose paths name sub-attributes of `attribute`.
    pub(super) filter: Option<ResolvedFilter>,
    /// Canonical path for error details, such as `name.givenName`.
    pub(super) label: String,
}

impl Target {
    pub(super) fn is_password(&self) -> bool {
        self.schema == SchemaKind::Core && self.attribute.name == "password"
    }
}

/// Applies one operation to the object holding the target's schema.
/// `value` is `Some` for add and replace; a JSON null there means unassigned
/// (RFC 7643 section 2.5), so the target is removed.
pub(super) fn execute(
    container: &mut Map<String, Value>,
    op: PatchOp,
    target: &Target,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match (&target.filter, target.sub_attribute) {
        (None, None) => whole_attribute(container, op, target, value),
        (None, Some(sub)) => sub_attribute(container, op, target, sub, value),
        (Some(filter), sub) => filtered(container, op, target, filter, sub, value),
    }
}

fn whole_attribute(
    container: &mut Map<String, Value>,
    op: PatchOp,
    target: &Target,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let attribute = target.attribute;
    let name = attribute.name;

    if op == PatchOp::Remove {
        match value {
            // Entra removes members by sending them as the value of a remove on `members`.
            Some(listed) if attribute.multi_valued && !listed.is_null() => {
                remove_listed(container, name, listed)
            }
            _ => {
                remove_ignore_case(container, name);
            }
        }
        return Ok(());
    }

    let Some(new_value) =
        coerce_attribute(attribute, value.unwrap_or(&Value::Null), &target.label)?
    else {
        remove_ignore_case(container, name);
        return Ok(());
    };

    if attribute.multi_valued {
        let Value::Array(new_items) = new_value else {
            return Ok(());
        };
        let mut items = match (op, take_list(container, name)) {
            (PatchOp::Add, existing) => existing,
            _ => Vec::new(),
        };
        if items.len().saturating_add(new_items.len()) > super::MAX_VALUES_PER_ATTRIBUTE {
            return Err(ScimError::invalid_value(format!(
                "{} can hold at most {} values.",
                target.label,
                super::MAX_VALUES_PER_ATTRIBUTE
            )));
        }
        let first_new = items.len();
        for item in new_items {
            if !items.iter().any(|existing| is_duplicate(existing, &item)) {
                items.push(item);
            }
        }
        let touched: Vec<usize> = (first_new..items.len()).collect();
        store_list(container, name, items, &touched);
    } else if attribute.is_complex() {
        merge_complex(container, attribute, new_value);
    } else {
        remove_ignore_case(container, name);
        container.insert(name.to_owned(), new_value);
    }
    Ok(())
}

/// Merges sub-attributes into a single-valued complex attribute (RFC 7644
/// section 3.5.2.3: unspecified sub-attributes stay). A new `value` different
/// from the stored one replaces the whole object, so a changed `manager` does
/// not keep the previous manager's `$ref` and `displayName`.
fn merge_complex(
    container: &mut Map<String, Value>,
    attribute: &AttributeDefinition,
    new_value: Value,
) {
    let Value::Object(new_members) = new_value else {
        return;
    };
    let slot = canonical_entry(container, attribute.name);
    match slot {
        Some(Value::Object(existing)) => {
            let value_changed = match (new_members.get("value"), existing.get("value")) {
                (Some(new), Some(old)) => new != old,
                _ => false,
            };
            if value_changed {
                *existing = new_members;
            } else {
                existing.extend(new_members);
            }
        }
        _ => {
            container.insert(attribute.name.to_owned(), Value::Object(new_members));
        }
    }
}

fn sub_attribute(
    container: &mut Map<String, Value>,
    op: PatchOp,
    target: &Target,
    sub: &'static AttributeDefinition,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let name = target.attribute.name;
    let new_value = match (op, value) {
        (PatchOp::Remove, _) | (_, None) => None,
        (_, Some(value)) => coerce_single(sub, value, &target.label)?,
    };

    if !target.attribute.multi_valued {
        let Some(new_value) = new_value else {
            if let Some(Value::Object(existing)) = canonical_entry(container, name) {
                existing.remove(sub.name);
                if existing.is_empty() {
                    container.remove(name);
                }
            }
            return Ok(());
        };
        let slot = canonical_entry(container, name);
        match slot {
            Some(Value::Object(existing)) => {
                existing.insert(sub.name.to_owned(), new_value);
            }
            _ => {
                let mut object = Map::new();
                object.insert(sub.name.to_owned(), new_value);
                container.insert(name.to_owned(), Value::Object(object));
            }
        }
        return Ok(());
    }

    // Without a filter, a sub-attribute of a multi-valued attribute addresses every value.
    let mut items = take_list(container, name);
    let touched: Vec<usize> = (0..items.len()).collect();
    match new_value {
        None => items
            .iter_mut()
            .for_each(|item| remove_member(item, sub.name)),
        Some(new_value) if items.is_empty() => {
            let mut object = Map::new();
            object.insert(sub.name.to_owned(), new_value);
            items.push(Value::Object(object));
        }
        Some(new_value) => items
            .iter_mut()
            .for_each(|item| set_member(item, sub.name, new_value.clone())),
    }
    items.retain(|item| !is_empty_object(item));
    store_list(container, name, items, &touched);
    Ok(())
}

fn filtered(
    container: &mut Map<String, Value>,
    op: PatchOp,
    target: &Target,
    filter: &ResolvedFilter,
    sub: Option<&'static AttributeDefinition>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let attribute = target.attribute;
    let name = attribute.name;
    let mut items = take_list(container, name);
    let mut matching: Vec<usize> = (0..items.len())
        .filter(|index| {
            items
                .get(*index)
                .is_some_and(|item| matches_value(filter, item, attribute))
        })
        .collect();

    let new_value = match (op, value, sub) {
        (PatchOp::Remove, _, _) | (_, None, _) => None,
        (_, Some(value), Some(sub)) => coerce_single(sub, value, &target.label)?,
        (_, Some(value), None) => coerce_single(attribute, single_element(value), &target.label)?,
    };

    match (new_value, sub) {
        (None, None) => {
            let mut index = 0;
            items.retain(|_| {
                let keep = !matching.contains(&index);
                index += 1;
                keep
            });
            matching.clear();
        }
        (None, Some(sub)) => {
            for index in &matching {
                if let Some(item) = items.get_mut(*index) {
                    remove_member(item, sub.name);
                }
            }
        }
        (Some(new_value), sub) => {
            if matching.is_empty() {
                let template = equality_template(filter).ok_or_else(|| {
                    ScimError::no_target(format!(
                        "No value of '{name}' matches the filter in the path."
                    ))
                })?;
                items.push(Value::Object(template));
                matching.push(items.len().saturating_sub(1));
            }
            for index in &matching {
                let Some(item) = items.get_mut(*index) else {
                    continue;
                };
                match sub {
                    Some(sub) => set_member(item, sub.name, new_value.clone()),
                    None => write_element(item, op, &new_value, filter),
                }
            }
        }
    }

    items.retain(|item| !is_empty_object(item));
    matching.retain(|index| *index < items.len());
    store_list(container, name, items, &matching);
    Ok(())
}

/// Writes a whole value selected by a filter: replace puts `new_value` in
/// place and keeps the filter's `eq` members such as `type`; add merges.
fn write_element(item: &mut Value, op: PatchOp, new_value: &Value, filter: &ResolvedFilter) {
    let Value::Object(new_members) = new_value else {
        return;
    };
    match (op, item) {
        (PatchOp::Replace, item) => {
            let mut replacement = equality_template(filter).unwrap_or_default();
            replacement.extend(new_members.clone());
            *item = Value::Object(replacement);
        }
        (_, Value::Object(existing)) => existing.extend(new_members.clone()),
        (_, item) => *item = new_value.clone(),
    }
}

/// Builds the value a filter of `eq` comparisons joined by `and` selects, such
/// as `{"type": "work"}` for `[type eq "work"]`; `None` for other filters.
fn equality_template(filter: &ResolvedFilter) -> Option<Map<String, Value>> {
    match filter {
        ResolvedFilter::Compare {
            attr,
            op: CompareOp::Eq,
            value,
        } => {
            let value = match value {
                FilterValue::String(text) => Value::String(text.clone()),
                FilterValue::Bool(flag) => Value::Bool(*flag),
                FilterValue::Number(number) => {
                    serde_json::Number::from_f64(*number).map(Value::Number)?
                }
                FilterValue::Null => return None,
            };
            let mut template = Map::new();
            template.insert(attr.name.clone(), value);
            Some(template)
        }
        ResolvedFilter::And(terms) => {
            let mut template = Map::new();
            for term in terms {
                template.extend(equality_template(term)?);
            }
            Some(template)
        }
        _ => None,
    }
}

/// Removes the values of a multi-valued attribute that a remove operation
/// lists in its value, matched by their `value` member when they have one.
fn remove_listed(container: &mut Map<String, Value>, name: &str, listed: &Value) {
    let listed: Vec<&Value> = match listed {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut items = take_list(container, name);
    items.retain(|item| {
        !listed.iter().any(|candidate| {
            match (
                get_ignore_case(candidate, "value"),
                get_ignore_case(item, "value"),
            ) {
                (Some(wanted), Some(stored)) => wanted == stored,
                _ => *candidate == item,
            }
        })
    });
    store_list(container, name, items, &[]);
}

/// Returns whether `candidate` repeats a stored value: equal JSON, or the same
/// `value` member with no conflicting `type`.
fn is_duplicate(existing: &Value, candidate: &Value) -> bool {
    if existing == candidate {
        return true;
    }
    match (existing.get("value"), candidate.get("value")) {
        (Some(stored), Some(wanted)) if stored == wanted => {
            match (existing.get("type"), candidate.get("type")) {
                (Some(stored_type), Some(wanted_type)) => stored_type == wanted_type,
                _ => true,
            }
        }
        _ => false,
    }
}

/// Removes a multi-valued attribute from the container and returns its values;
/// a stored single value counts as a one-element list.
fn take_list(container: &mut Map<String, Value>, name: &str) -> Vec<Value> {
    match remove_ignore_case(container, name) {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// Stores a multi-valued attribute, or removes it when empty. When a value
/// at a `touched` index is primary, every other value loses `primary`, since
/// RFC 7643 section 2.4 allows one primary value.
fn store_list(
    container: &mut Map<String, Value>,
    name: &str,
    mut items: Vec<Value>,
    touched: &[usize],
) {
    if items.is_empty() {
        return;
    }
    let is_primary = |item: &Value| item.get("primary").and_then(Value::as_bool) == Some(true);
    let primary = touched
        .iter()
        .rev()
        .find(|index| items.get(**index).is_some_and(is_primary))
        .copied();
    if let Some(primary) = primary {
        for (index, item) in items.iter_mut().enumerate() {
            if index != primary && is_primary(item) {
                set_member(item, "primary", Value::Bool(false));
            }
        }
    }
    container.insert(name.to_owned(), Value::Array(items));
}

fn single_element(value: &Value) -> &Value {
    match value {
        Value::Array(items) if items.len() == 1 => items.first().unwrap_or(value),
        other => other,
    }
}

fn set_member(item: &mut Value, key: &str, value: Value) {
    if let Value::Object(members) = item {
        remove_ignore_case(members, key);
        members.insert(key.to_owned(), value);
    } else {
        let mut members = Map::new();
        members.insert(key.to_owned(), value);
        *item = Value::Object(members);
    }
}

fn remove_member(item: &mut Value, key: &str) {
    if let Value::Object(members) = item {
        remove_ignore_case(members, key);
    }
}

fn is_empty_object(value: &Value) -> bool {
    value.as_object().is_some_and(Map::is_empty) || value.is_null()
}
