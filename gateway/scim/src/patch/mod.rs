//! SCIM PATCH (RFC 7644 section 3.5.2): request parsing, an all-or-nothing
//! engine that applies operations to a SCIM JSON resource, and Group PATCH
//! planning that needs no stored members ([`group`]), accepting the request
//! shapes Microsoft Entra ID and Okta send.

mod apply;
pub mod group;
mod values;

pub use group::{
    GroupPatchPlan, MAX_MEMBERS_PER_REQUEST, MemberOperation, PlannedMember,
    group_members_from_resource, plan_group_patch,
};

use serde_json::Value;

use crate::error::ScimError;
use crate::resource::json_util::get_ignore_case;
use crate::schema::{PATCH_OP, ResourceSchema};

/// Maximum number of operations in one PATCH request; more is rejected with 413.
pub const MAX_OPERATIONS: usize = 1000;

/// Most values a PATCH may leave in one multi-valued User attribute such as
/// `emails`. It bounds the work of duplicate detection, which compares each
/// added value with the stored ones.
pub const MAX_VALUES_PER_ATTRIBUTE: usize = 100;

/// PATCH operation kind. Parsed in any case, so Entra's `Replace` is `replace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchOp {
    Add,
    Replace,
    Remove,
}

impl PatchOp {
    /// Returns the operation name in lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOp::Add => "add",
            PatchOp::Replace => "replace",
            PatchOp::Remove => "remove",
        }
    }
}

/// One entry of `Operations`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// Operation kind.
    pub op: PatchOp,
    /// Target path as sent; `None` when absent or null.
    pub path: Option<String>,
    /// Operation value; `Some(Value::Null)` when the client sent an explicit null.
    pub value: Option<Value>,
}

/// A parsed PATCH request body.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// Operations in request order, at most [`MAX_OPERATIONS`].
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// Parses a PATCH body. Member names are matched ignoring case. A missing
    /// `schemas` is accepted; a present one must list the PatchOp URN.
    ///
    /// # Errors
    ///
    /// Returns 400 `invalidSyntax` when the body, `Operations` or an operation
    /// is malformed or an `op` is unknown, and 413 when there are more than
    /// [`MAX_OPERATIONS`] operations.
    pub fn from_json(body: &Value) -> Result<Self, ScimError> {
        if !body.is_object() {
            return Err(ScimError::invalid_syntax(
                "The PATCH request body must be a JSON object.",
            ));
        }
        check_schemas(body)?;

        let operations = match get_ignore_case(body, "Operations") {
            Some(Value::Array(operations)) if !operations.is_empty() => operations,
            Some(Value::Array(_)) => {
                return Err(ScimError::invalid_syntax(
                    "The PATCH request has an empty 'Operations' list.",
                ));
            }
            Some(_) => {
                return Err(ScimError::invalid_syntax(
                    "'Operations' must be a JSON array.",
                ));
            }
            None => {
                return Err(ScimError::invalid_syntax(
                    "The PATCH request is missing 'Operations'.",
                ));
            }
        };
        if operations.len() > MAX_OPERATIONS {
            return Err(ScimError::payload_too_large(format!(
                "The PATCH request has {} operations; the maximum is {MAX_OPERATIONS}. Split it into smaller requests.",
                operations.len()
            )));
        }

        let operations = operations
            .iter()
            .enumerate()
            .map(|(index, operation)| parse_operation(index, operation))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { operations })
    }
}

/// Applies every operation of `request` to `resource`, all or nothing: the
/// operations run on a copy that replaces `resource` only when all succeed.
/// Returns whether the resource changed, so callers can skip no-op writes.
///
/// `resource` is a SCIM JSON resource as stored: core attributes at the top
/// level and enterprise attributes under the extension URN key.
///
/// # Errors
///
/// Returns a 400 error per RFC 7644 section 3.5.2:
/// - `noTarget` for a remove without path, or for a value filter that matches
///   nothing and has no `eq` values to build a new value from;
/// - `invalidPath` for a malformed path;
/// - `invalidValue` naming the attribute for a value of the wrong type, or for
///   a required attribute that is removed or emptied;
/// - `mutability` for a readOnly attribute (`roles`, `entitlements`, `id`,
///   `meta`, `groups`) addressed explicitly.
pub fn apply(
    resource: &mut Value,
    request: &PatchRequest,
    schema: &ResourceSchema,
) -> Result<bool, ScimError> {
    let Value::Object(original) = &*resource else {
        return Err(ScimError::invalid_syntax(format!(
            "The stored {} is not a JSON object.",
            schema.name
        )));
    };

    let mut working = original.clone();
    for operation in &request.operations {
        apply::apply_operation(&mut working, operation, schema)?;
    }
    apply::finish(&mut working, original, schema)?;

    let changed = working != *original;
    *resource = Value::Object(working);
    Ok(changed)
}

fn check_schemas(body: &Value) -> Result<(), ScimError> {
    match get_ignore_case(body, "schemas") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(schemas))
            if schemas.iter().any(|schema| {
                schema
                    .as_str()
                    .is_some_and(|urn| urn.eq_ignore_ascii_case(PATCH_OP))
            }) =>
        {
            Ok(())
        }
        Some(_) => Err(ScimError::invalid_syntax(format!(
            "The PATCH request 'schemas' must contain '{PATCH_OP}'."
        ))),
    }
}

fn parse_operation(index: usize, operation: &Value) -> Result<PatchOperation, ScimError> {
    let number = index + 1;
    if !operation.is_object() {
        return Err(ScimError::invalid_syntax(format!(
            "PATCH operation {number} must be a JSON object."
        )));
    }

    let op = match get_ignore_case(operation, "op") {
        Some(Value::String(name)) if name.eq_ignore_ascii_case("add") => PatchOp::Add,
        Some(Value::String(name)) if name.eq_ignore_ascii_case("replace") => PatchOp::Replace,
        Some(Value::String(name)) if name.eq_ignore_ascii_case("remove") => PatchOp::Remove,
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "PATCH operation {number} has the unknown op {other}; use add, replace or remove."
            )));
        }
        None => {
            return Err(ScimError::invalid_syntax(format!(
                "PATCH operation {number} is missing 'op'."
            )));
        }
    };

    let path = match get_ignore_case(operation, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) if path.trim().is_empty() => None,
        Some(Value::String(path)) => Some(path.clone()),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "The path of PATCH operation {number} must be a string."
            )));
        }
    };

    Ok(PatchOperation {
        op,
        path,
        value: get_ignore_case(operation, "value").cloned(),
    })
}

#[cfg(test)]
mod tests;
