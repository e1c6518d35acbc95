//! Attribute projection of responses per RFC 7644 section 3.9: the
//! `attributes` and `excludedAttributes` query parameters and each
//! attribute's `returned` characteristic.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::path::parse_attribute_path;
use crate::schema::{AttributeDefinition, ResourceSchema, Returned, SchemaKind};

/// Target of one entry of `attributes` or `excludedAttributes`.
enum Selection {
    /// A whole extension, named by its URN.
    Extension,
    /// An attribute, or one sub-attribute of it.
    Attribute {
        schema: SchemaKind,
        name: &'static str,
        sub_attribute: Option<&'static str>,
    },
}

/// Sub-attributes kept per attribute; `None` keeps the whole attribute.
type Keep = HashMap<(SchemaKind, &'static str), Option<Vec<&'static str>>>;

/// Removes from `resource` what the response must not contain.
///
/// Attributes returned `never` (`password`) are always removed. With
/// `attributes`, only the listed attributes, those returned `always` (`id`)
/// and `schemas` remain. With `excludedAttributes`, the listed attributes are
/// removed unless returned `always`. Without either, attributes returned
/// `request` are removed. Names are comma-separated, case-insensitive, may be
/// URN-qualified or name a sub-attribute (`name.givenName`), and an extension
/// URN selects the whole extension. Names unknown to the schema are ignored.
/// When both parameters are given, `attributes` applies first.
///
/// # Errors
///
/// Returns 400 `invalidValue` when an entry is not a syntactically valid attribute path.
pub fn project(
    resource: &mut Value,
    attributes: Option<&str>,
    excluded_attributes: Option<&str>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let included = parse_list(attributes, schema)?;
    let excluded = parse_list(excluded_attributes, schema)?;
    let Value::Object(object) = resource else {
        return Ok(());
    };

    remove_by_returned(object, schema, included.is_none());
    if let Some(selections) = included {
        keep_only(object, &selections, schema);
    }
    if let Some(selections) = excluded {
        exclude(object, &selections, schema);
    }
    sync_schemas(object, schema);
    Ok(())
}

fn parse_list(
    list: Option<&str>,
    schema: &ResourceSchema,
) -> Result<Option<Vec<Selection>>, ScimError> {
    let Some(list) = list.filter(|text| !text.trim().is_empty()) else {
        return Ok(None);
    };
    let mut selections = Vec::new();
    for entry in list
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let path =
            parse_attribute_path(entry).map_err(|error| ScimError::invalid_value(error.detail))?;
        if let Some(urn) = path.as_schema_urn()
            && schema.kind_for_urn(&urn) == Some(SchemaKind::Enterprise)
        {
            selections.push(Selection::Extension);
        } else if let Some(found) = schema.find(&path) {
            selections.push(Selection::Attribute {
                schema: found.schema,
                name: found.attribute.name,
                sub_attribute: found.sub_attribute.map(|sub| sub.name),
            });
        }
    }
    Ok(Some(selections))
}

/// Removes attributes returned `never`, and those returned `request` unless an
/// `attributes` list will decide.
fn remove_by_returned(
    object: &mut Map<String, Value>,
    schema: &ResourceSchema,
    remove_requested: bool,
) {
    let hidden = |definition: &AttributeDefinition| {
        definition.returned == Returned::Never
            || (remove_requested && definition.returned == Returned::Request)
    };
    for_each_container(object, schema, |kind, container| {
        container.retain(|key, value| match schema.attribute(kind, key) {
            Some(definition) if hidden(definition) => false,
            Some(definition) => {
                retain_sub_attributes(value, |sub| !hidden(sub), definition);
                true
            }
            None => true,
        });
    });
}

fn keep_only(object: &mut Map<String, Value>, selections: &[Selection], schema: &ResourceSchema) {
    let mut keep: Keep = HashMap::new();
    let mut whole_extension = false;
    for selection in selections {
        match selection {
            Selection::Extension => whole_extension = true,
            Selection::Attribute {
                schema: kind,
                name,
                sub_attribute,
            } => {
                let entry = keep
                    .entry((*kind, *name))
                    .or_insert_with(|| Some(Vec::new()));
                match (entry.as_mut(), sub_attribute) {
                    (Some(subs), Some(sub)) => subs.push(sub),
                    _ => *entry = None,
                }
            }
        }
    }

    for_each_container(object, schema, |kind, container| {
        if kind == SchemaKind::Enterprise && whole_extension {
            return;
        }
        container.retain(|key, value| {
            if kind == SchemaKind::Core && key == "schemas" {
                return true;
            }
            let Some(definition) = schema.attribute(kind, key) else {
                return false;
            };
            if definition.returned == Returned::Always {
                return true;
            }
            match keep.get(&(kind, definition.name)) {
                None => false,
                Some(None) => true,
                Some(Some(subs)) => {
                    retain_sub_attributes(
                        value,
                        |sub| sub.returned == Returned::Always || subs.contains(&sub.name),
                        definition,
                    );
                    !is_empty(value)
                }
            }
        });
    });
}

fn exclude(object: &mut Map<String, Value>, selections: &[Selection], schema: &ResourceSchema) {
    for selection in selections {
        match selection {
            Selection::Extension => {
                if let Some(urn) = schema.urn(SchemaKind::Enterprise) {
                    object.retain(|key, _| !key.eq_ignore_ascii_case(urn));
                }
            }
            Selection::Attribute {
                schema: kind,
                name,
                sub_attribute,
            } => {
                let Some(definition) = schema.attribute(*kind, name) else {
                    continue;
                };
                if definition.returned == Returned::Always {
                    continue;
                }
                for_each_container(object, schema, |container_kind, container| {
                    if container_kind != *kind {
                        return;
                    }
                    container.retain(|key, value| {
                        if !key.eq_ignore_ascii_case(name) {
                            return true;
                        }
                        match sub_attribute {
                            None => false,
                            Some(sub) => {
                                retain_sub_attributes(
                                    value,
                                    |candidate| {
                                        candidate.returned == Returned::Always
                                            || candidate.name != *sub
                                    },
                                    definition,
                                );
                                !is_empty(value)
                            }
                        }
                    });
                });
            }
        }
    }
}

/// Runs `action` on the core object, without the extension key, and then on
/// the extension object, which is dropped if `action` leaves it empty.
fn for_each_container(
    object: &mut Map<String, Value>,
    schema: &ResourceSchema,
    mut action: impl FnMut(SchemaKind, &mut Map<String, Value>),
) {
    let extension = schema.urn(SchemaKind::Enterprise).and_then(|urn| {
        let key = object
            .keys()
            .find(|key| key.eq_ignore_ascii_case(urn))
            .cloned()?;
        object.remove(&key).map(|value| (key, value))
    });

    action(SchemaKind::Core, object);

    if let Some((key, mut value)) = extension {
        if let Value::Object(members) = &mut value {
            action(SchemaKind::Enterprise, members);
        }
        if !is_empty(&value) {
            object.insert(key, value);
        }
    }
}

/// Keeps only the sub-attributes `keep` accepts in a complex value or in each
/// element of a multi-valued complex value; elements left empty are dropped.
fn retain_sub_attributes(
    value: &mut Value,
    keep: impl Fn(&AttributeDefinition) -> bool,
    definition: &AttributeDefinition,
) {
    if !definition.is_complex() {
        return;
    }
    let filter = |element: &mut Value| {
        if let Value::Object(members) = element {
            members.retain(|key, _| definition.sub_attribute(key).is_none_or(&keep));
        }
    };
    match value {
        Value::Array(elements) => {
            elements.iter_mut().for_each(filter);
            elements.retain(|element| !is_empty(element));
        }
        other => filter(other),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// Removes extension URNs from `schemas` when the extension object is gone.
fn sync_schemas(object: &mut Map<String, Value>, schema: &ResourceSchema) {
    let Some(urn) = schema.urn(SchemaKind::Enterprise) else {
        return;
    };
    if object.keys().any(|key| key.eq_ignore_ascii_case(urn)) {
        return;
    }
    if let Some(Value::Array(schemas)) = object.get_mut("schemas") {
        schemas.retain(|entry| {
            !entry
                .as_str()
                .is_some_and(|text| text.eq_ignore_ascii_case(urn))
        });
    }
}
