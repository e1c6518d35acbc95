//! Dispatch of PATCH operations: path and path-less forms, target
//! resolution, mutability rules, and the checks after all operations ran.

use serde_json::{Map, Value};

use super::values::{self, Target};
use super::{PatchOp, PatchOperation};
use crate::error::ScimError;
use crate::filter::{Filter, ResolvedFilter, resolve};
use crate::path::{AttributePath, parse_patch_path};
use crate::resource::json_util::{canonical_entry, remove_ignore_case};
use crate::schema::{ENTRA_GROUP, Mutability, ResourceSchema, SchemaKind};

/// Keys of a path-less value object that are skipped: Okta repeats the
/// resource's own `id`, and `meta` and `schemas` are server-maintained.
pub(super) const SKIPPED_VALUE_KEYS: [&str; 3] = ["id", "meta", "schemas"];

pub(super) fn apply_operation(
    resource: &mut Map<String, Value>,
    operation: &PatchOperation,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    match (&operation.path, operation.op) {
        (None, PatchOp::Remove) => Err(ScimError::no_target("A remove operation requires a path.")),
        (None, op) => {
            let value = required_value(operation, "the resource")?;
            apply_value_object(resource, op, value, None, schema)
        }
        (Some(path), op) => apply_path(resource, op, path, operation.value.as_ref(), schema),
    }
}

fn required_value<'v>(operation: &'v PatchOperation, label: &str) -> Result<&'v Value, ScimError> {
    operation.value.as_ref().ok_or_else(|| {
        ScimError::invalid_value(format!(
            "The {} operation on {label} requires a value.",
            operation.op.as_str()
        ))
    })
}

/// Applies each member of a path-less value object (or of an object sent for
/// a whole schema URN) as if its key were the operation's path. Keys may be
/// attribute paths such as `name.givenName` or `emails[type eq "work"].value`.
fn apply_value_object(
    resource: &mut Map<String, Value>,
    op: PatchOp,
    value: &Value,
    urn_prefix: Option<&str>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let Value::Object(members) = value else {
        return Err(ScimError::invalid_value(format!(
            "The {} operation without a path requires a JSON object value.",
            op.as_str()
        )));
    };

    for (key, member) in members {
        if SKIPPED_VALUE_KEYS
            .iter()
            .any(|skipped| key.eq_ignore_ascii_case(skipped))
        {
            continue;
        }
        match urn_prefix {
            Some(urn) => apply_path(resource, op, &format!("{urn}:{key}"), Some(member), schema)?,
            None => apply_path(resource, op, key, Some(member), schema)?,
        }
    }
    Ok(())
}

fn apply_path(
    resource: &mut Map<String, Value>,
    op: PatchOp,
    path: &str,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let path = path.trim();
    if let Some(kind) = schema.kind_for_urn(path) {
        return apply_schema_urn(resource, op, path, kind, value, schema);
    }
    if path.eq_ignore_ascii_case(ENTRA_GROUP) {
        return Ok(());
    }

    let parsed = parse_patch_path(path)?;
    let Some(target) = resolve_target(&parsed.attribute, parsed.value_filter.as_ref(), schema)?
    else {
        // Unknown attributes and schema URNs, such as a custom extension, are dropped.
        return Ok(());
    };
    check_mutability(&target)?;
    if target.is_password() {
        return Ok(());
    }

    let value = match op {
        PatchOp::Remove => value,
        PatchOp::Add | PatchOp::Replace => Some(value.ok_or_else(|| {
            ScimError::invalid_value(format!(
                "The {} operation on '{}' requires a value.",
                op.as_str(),
                target.label
            ))
        })?),
    };
    let Some(container) = container_mut(resource, target.schema, schema, op != PatchOp::Remove)
    else {
        return Ok(());
    };
    values::execute(container, op, &target, value)
}

/// Handles a path that is a whole schema URN: the value is an object of that
/// schema's attributes, and `remove` on the enterprise URN removes the extension.
fn apply_schema_urn(
    resource: &mut Map<String, Value>,
    op: PatchOp,
    urn: &str,
    kind: SchemaKind,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    match (op, kind) {
        (PatchOp::Remove, SchemaKind::Enterprise) => {
            if let Some(key) = schema.urn(kind) {
                remove_ignore_case(resource, key);
            }
            Ok(())
        }
        (PatchOp::Remove, SchemaKind::Core) => Err(ScimError::invalid_path(format!(
            "The core schema '{urn}' cannot be removed; name an attribute in the path."
        ))),
        (_, _) => match value {
            Some(Value::Null) if kind == SchemaKind::Enterprise => {
                if let Some(key) = schema.urn(kind) {
                    remove_ignore_case(resource, key);
                }
                Ok(())
            }
            Some(object) => apply_value_object(resource, op, object, Some(urn), schema),
            None => Err(ScimError::invalid_value(format!(
                "The {} operation on '{urn}' requires a value.",
                op.as_str()
            ))),
        },
    }
}

/// Resolves a PATCH path to its target; `Ok(None)` means the attribute or
/// schema is unknown and the operation is dropped.
pub(super) fn resolve_target(
    attribute: &AttributePath,
    value_filter: Option<&Filter>,
    schema: &ResourceSchema,
) -> Result<Option<Target>, ScimError> {
    let top = AttributePath {
        urn: attribute.urn.clone(),
        name: attribute.name.clone(),
        sub_attribute: None,
    };
    let Some(found) = schema.find(&top) else {
        return Ok(None);
    };
    let definition = found.attribute;

    let sub_attribute = match &attribute.sub_attribute {
        Some(name) => match definition.sub_attribute(name) {
            Some(sub) => Some(sub),
            None => return Ok(None),
        },
        None => None,
    };
    if sub_attribute.is_some() && !definition.is_complex() {
        return Ok(None);
    }

    let filter = match value_filter {
        None => None,
        Some(inner) => Some(resolve_value_filter(
            &top,
            inner,
            schema,
            definition.multi_valued,
        )?),
    };

    let mut label = definition.name.to_owned();
    if let Some(sub) = sub_attribute {
        label = format!("{label}.{}", sub.name);
    }
    Ok(Some(Target {
        schema: found.schema,
        attribute: definition,
        sub_attribute,
        filter,
        label,
    }))
}

fn resolve_value_filter(
    attribute: &AttributePath,
    inner: &Filter,
    schema: &ResourceSchema,
    multi_valued: bool,
) -> Result<ResolvedFilter, ScimError> {
    if !multi_valued {
        return Err(ScimError::invalid_path(format!(
            "The path filters '{attribute}', which is not multi-valued."
        )));
    }
    let whole = Filter::ValuePath {
        attr: attribute.clone(),
        filter: Box::new(inner.clone()),
    };
    match resolve(&whole, schema) {
        Ok(ResolvedFilter::ValuePath { filter, .. }) => Ok(*filter),
        Ok(_) => Err(ScimError::invalid_path(format!(
            "The value filter on '{attribute}' is invalid."
        ))),
        Err(error) => Err(ScimError::invalid_path(error.detail)),
    }
}

pub(super) fn check_mutability(target: &Target) -> Result<(), ScimError> {
    let name = target.attribute.name;
    if target.attribute.mutability == Mutability::ReadOnly {
        let detail = match name {
            "roles" => "The attribute 'roles' is read-only: roles are assigned from the identity provider's groups \
                 through the workspace's group mappings, so change the user's groups instead."
                .to_owned(),
            "entitlements" => format!(
                "The attribute '{name}' is read-only: it is derived from IdP group mappings, so assign groups instead."
            ),
            _ => format!("The attribute '{name}' is read-only and cannot be changed."),
        };
        return Err(ScimError::mutability(detail));
    }
    if let Some(sub) = target.sub_attribute
        && sub.mutability == Mutability::ReadOnly
    {
        return Err(ScimError::mutability(format!(
            "The attribute '{}' is read-only and cannot be changed.",
            target.label
        )));
    }
    Ok(())
}

/// Returns the object holding one schema's attributes: the resource itself for
/// the core schema, or the extension object, created when `create` is set.
fn container_mut<'r>(
    resource: &'r mut Map<String, Value>,
    kind: SchemaKind,
    schema: &ResourceSchema,
    create: bool,
) -> Option<&'r mut Map<String, Value>> {
    let urn = match kind {
        SchemaKind::Core => return Some(resource),
        SchemaKind::Enterprise => schema.urn(kind)?,
    };

    let exists = canonical_entry(resource, urn).is_some_and(|value| value.is_object());
    if !exists {
        if !create {
            return None;
        }
        resource.insert(urn.to_owned(), Value::Object(Map::new()));
    }
    resource.get_mut(urn).and_then(Value::as_object_mut)
}

/// Tidies the result after all operations: drops an empty extension object,
/// lists a present extension in `schemas`, and rejects removing or emptying a
/// required attribute the resource had.
pub(super) fn finish(
    resource: &mut Map<String, Value>,
    original: &Map<String, Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    if let Some(urn) = schema.urn(SchemaKind::Enterprise) {
        let present = canonical_entry(resource, urn)
            .is_some_and(|value| value.as_object().is_some_and(|m| !m.is_empty()));
        if present {
            add_schema_urn(resource, schema.core.id, urn);
        } else {
            resource.remove(urn);
        }
    }

    for attribute in schema
        .core
        .attributes
        .iter()
        .filter(|attribute| attribute.required)
    {
        let had = original
            .keys()
            .any(|key| key.eq_ignore_ascii_case(attribute.name));
        let has = resource
            .get(attribute.name)
            .is_some_and(|value| match value {
                Value::String(text) => !text.trim().is_empty(),
                other => !other.is_null(),
            });
        if had && !has {
            return Err(ScimError::invalid_value(format!(
                "The attribute '{}' is required and cannot be removed or emptied.",
                attribute.name
            )));
        }
    }
    Ok(())
}

fn add_schema_urn(resource: &mut Map<String, Value>, core_urn: &str, urn: &str) {
    let schemas = resource
        .entry("schemas")
        .or_insert_with(|| Value::Array(vec![Value::String(core_urn.to_owned())]));
    if let Value::Array(list) = schemas
        && !list.iter().any(|entry| {
            entry
                .as_str()
                .is_some_and(|text| text.eq_ignore_ascii_case(urn))
        })
    {
        list.push(Value::String(urn.to_owned()));
    }
}
