//! Normalisation of POST and PUT bodies to the stored SCIM representation.

use serde_json::{Map, Value};

use super::coerce::{coerce_attribute, coerce_single};
use crate::error::ScimError;
use crate::path::parse_attribute_path;
use crate::schema::{Mutability, ResourceSchema, SchemaKind};

/// Normalises a POST or PUT body for `schema`.
///
/// Keys are matched ignoring case and rewritten to canonical names, and string
/// booleans become booleans. Nulls, unknown attributes and unknown schema
/// extensions are dropped. The readOnly attributes (`id`, `meta`, `groups`,
/// `roles`, `entitlements`) are ignored, as RFC 7644 sections 3.3 and 3.5.1
/// require, and `password` is dropped because this product never stores it.
///
/// Enterprise attributes may arrive as the extension URN key holding an
/// object, or as top-level URN-qualified keys such as
/// `urn:...:enterprise:2.0:User:department`. Both end under the URN key.
/// `schemas` is rebuilt from the schemas present, so a body without it is
/// accepted.
///
/// # Errors
///
/// Returns 400 `invalidSyntax` when the body is not an object, and 400
/// `invalidValue` naming the attribute when a value has the wrong type or a
/// required attribute (`userName`, Group `displayName`) is missing or empty.
pub fn normalize(body: &Value, schema: &ResourceSchema) -> Result<Value, ScimError> {
    let Value::Object(input) = body else {
        return Err(ScimError::invalid_syntax(format!(
            "The request body must be a JSON object representing a {}.",
            schema.name
        )));
    };

    let mut core = Map::new();
    let mut enterprise = Map::new();
    for (key, value) in input {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        match schema.kind_for_urn(key) {
            Some(kind) => {
                let Value::Object(members) = value else {
                    if value.is_null() {
                        continue;
                    }
                    return Err(ScimError::invalid_value(format!(
                        "The value of '{key}' must be a JSON object."
                    )));
                };
                let target = match kind {
                    SchemaKind::Core => &mut core,
                    SchemaKind::Enterprise => &mut enterprise,
                };
                for (name, member) in members {
                    place(target, schema, kind, &format!("{key}:{name}"), member)?;
                }
            }
            None => {
                let kind = parse_attribute_path(key)
                    .ok()
                    .and_then(|path| schema.find(&path))
                    .map(|found| found.schema);
                match kind {
                    Some(SchemaKind::Enterprise) => {
                        place(&mut enterprise, schema, SchemaKind::Enterprise, key, value)?
                    }
                    Some(SchemaKind::Core) => {
                        place(&mut core, schema, SchemaKind::Core, key, value)?
                    }
                    None => {}
                }
            }
        }
    }

    check_required(&core, schema)?;
    Ok(assemble(core, enterprise, schema))
}

/// Stores one attribute, given by a possibly URN-qualified or dotted key, in
/// the object of its schema. Unknown or ignored attributes are skipped.
fn place(
    target: &mut Map<String, Value>,
    schema: &ResourceSchema,
    kind: SchemaKind,
    key: &str,
    value: &Value,
) -> Result<(), ScimError> {
    let Some(found) = parse_attribute_path(key)
        .ok()
        .and_then(|path| schema.find(&path))
    else {
        return Ok(());
    };
    if found.schema != kind || is_ignored_on_write(found.attribute) {
        return Ok(());
    }

    let attribute = found.attribute;
    match found.sub_attribute {
        None => {
            if let Some(coerced) = coerce_attribute(attribute, value, attribute.name)? {
                target.insert(attribute.name.to_owned(), coerced);
            }
        }
        Some(sub) if !attribute.multi_valued && sub.mutability != Mutability::ReadOnly => {
            let label = format!("{}.{}", attribute.name, sub.name);
            if let Some(coerced) = coerce_single(sub, value, &label)? {
                let parent = target
                    .entry(attribute.name.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(parent) = parent {
                    parent.insert(sub.name.to_owned(), coerced);
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}

/// Returns whether POST and PUT bodies drop this attribute: readOnly
/// attributes, and `password`, which this product never stores.
pub(crate) fn is_ignored_on_write(attribute: &crate::schema::AttributeDefinition) -> bool {
    attribute.mutability == Mutability::ReadOnly || attribute.name == "password"
}

fn check_required(core: &Map<String, Value>, schema: &ResourceSchema) -> Result<(), ScimError> {
    for attribute in schema.core.attributes {
        if attribute.required
            && attribute.mutability != Mutability::ReadOnly
            && !core.contains_key(attribute.name)
        {
            return Err(ScimError::invalid_value(format!(
                "The attribute '{}' is required for a {}.",
                attribute.name, schema.name
            )));
        }
    }
    Ok(())
}

/// Builds the resource object with `schemas` listing only the schemas present.
fn assemble(
    core: Map<String, Value>,
    enterprise: Map<String, Value>,
    schema: &ResourceSchema,
) -> Value {
    let mut schemas = vec![Value::String(schema.core.id.to_owned())];
    let mut resource = core;

    if let (Some(urn), false) = (schema.urn(SchemaKind::Enterprise), enterprise.is_empty()) {
        schemas.push(Value::String(urn.to_owned()));
        resource.insert(urn.to_owned(), Value::Object(enterprise));
    }
    resource.insert("schemas".to_owned(), Value::Array(schemas));
    Value::Object(resource)
}
