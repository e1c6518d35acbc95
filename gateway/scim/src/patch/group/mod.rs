//! Group PATCH planning: turns a PATCH on a Group into changes of
//! `displayName` and `externalId` plus ordered membership set operations,
//! without reading the group's stored members. A group can have a very large
//! number of members, so adding one must not load the others.

mod members;

use serde_json::Value;

use self::members::{MemberBudget, dedupe_ids, dedupe_members, filter_member_ids, parse_members};
use super::apply::{SKIPPED_VALUE_KEYS, check_mutability, resolve_target};
use super::values::Target;
use super::{MAX_OPERATIONS, PatchOp, PatchOperation, PatchRequest};
use crate::error::ScimError;
use crate::path::parse_patch_path;
use crate::resource::json_util::get_ignore_case;
use crate::schema::{ENTRA_GROUP, ResourceSchema};

/// Maximum number of member values in one request, counted over all
/// operations before duplicates are removed: members listed for add, replace
/// and remove, and ids in `members[value eq "<id>"]` filters. More is rejected
/// with 413.
pub const MAX_MEMBERS_PER_REQUEST: usize = 10_000;

/// The changes one Group PATCH request makes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPatchPlan {
    /// New `displayName`, the last value the request sets.
    pub display_name: Option<String>,
    /// New `externalId`: `Some(None)` clears it, `None` leaves it unchanged.
    pub external_id: Option<Option<String>>,
    /// Membership changes, to run in this order.
    pub operations: Vec<MemberOperation>,
}

/// One membership change, expressed without the current member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOperation {
    /// Adds these members; members already in the group stay as they are.
    Add(Vec<PlannedMember>),
    /// Removes the members with these ids; absent ids are ignored.
    Remove(Vec<String>),
    /// Sets the membership to exactly these members. Never empty: an empty
    /// replacement is [`MemberOperation::Clear`].
    Replace(Vec<PlannedMember>),
    /// Removes every member.
    Clear,
}

/// One member named in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMember {
    /// Id of the member resource as sent, never blank.
    pub value: String,
    /// The member's display name, as sent. Informational only.
    pub display: Option<String>,
    /// Member type as sent, such as `User` or `Group`. The planner does not
    /// check it, and a missing type means a User.
    pub r#type: Option<String>,
}

/// Plans a PATCH on a Group (RFC 7644 section 3.5.2) with the request shapes
/// Microsoft Entra ID and Okta send. Op names are matched in any case.
///
/// Members:
/// - `add` on `members` with a member list, or a path-less `add` whose value
///   has a `members` key, becomes [`MemberOperation::Add`]. An empty list or
///   null adds nothing.
/// - `replace` on `members` becomes [`MemberOperation::Replace`], or
///   [`MemberOperation::Clear`] for an empty list or null.
/// - `remove` on `members` without a value (or with null) becomes
///   [`MemberOperation::Clear`]. With a member list as the value, which is
///   Entra's default, it becomes [`MemberOperation::Remove`] of the listed ids.
/// - `remove` on `members[value eq "<id>"]`, or on several such comparisons
///   joined by `or`, becomes [`MemberOperation::Remove`]. Any other filter on
///   `members`, such as `members[display eq "x"]`, and any filter with `add` or
///   `replace`, is rejected with 400 `invalidFilter`, because selecting those
///   members would need the stored member list.
/// - A member is an object with a non-blank string `value`; `display` and
///   `type` are kept and `$ref` is dropped. Members with the same `value`
///   collapse within an operation, and adjacent operations of one kind merge.
/// - Sub-attribute paths such as `members.display` or
///   `members[value eq "a"].type` are accepted and dropped, because the plan
///   carries no per-member changes. `members.value` is rejected with 400
///   `mutability`, since member ids are immutable.
///
/// `displayName` and `externalId` by path, by core schema URN path, or as keys
/// of a path-less value object (matched in any case) set those fields. `id`,
/// `meta` and `schemas` keys of a path-less value are skipped (Okta repeats
/// the group's `id` there). Unknown attributes and schema URNs are dropped,
/// as [`apply`](fn@crate::patch::apply) drops them for Users.
///
/// # Errors
///
/// - 400 `noTarget` for a `remove` without path;
/// - 400 `invalidPath` for a malformed path or a value filter that does not
///   resolve against the Group schema;
/// - 400 `invalidFilter` for an unsupported filter on `members` (see above);
/// - 400 `invalidValue` naming the attribute for a missing or wrongly typed
///   value, an invalid member, or removing or emptying `displayName`;
/// - 400 `mutability` for `id`, `meta` or `members.value` named in a path;
/// - 413 for more than [`MAX_OPERATIONS`] operations or more than
///   [`MAX_MEMBERS_PER_REQUEST`] member values.
pub fn plan_group_patch(request: &PatchRequest) -> Result<GroupPatchPlan, ScimError> {
    if request.operations.len() > MAX_OPERATIONS {
        return Err(ScimError::payload_too_large(format!(
            "The PATCH request has {} operations; the maximum is {MAX_OPERATIONS}. Split it into smaller requests.",
            request.operations.len()
        )));
    }

    let mut planner = Planner::default();
    for operation in &request.operations {
        planner.plan_operation(operation)?;
    }
    Ok(planner.plan)
}

/// Reads the members of a Group POST or PUT body, normally the output of
/// [`crate::resource::normalize`] for the Group schema. Keys are matched in
/// any case, a missing or null `members` means no members, and members with
/// the same `value` collapse into the first.
///
/// # Errors
///
/// Returns 400 `invalidSyntax` when `resource` is not an object, 400
/// `invalidValue` naming `members` for an invalid member list or member, and
/// 413 for more than [`MAX_MEMBERS_PER_REQUEST`] members.
pub fn group_members_from_resource(resource: &Value) -> Result<Vec<PlannedMember>, ScimError> {
    if !resource.is_object() {
        return Err(ScimError::invalid_syntax(
            "The Group body must be a JSON object.",
        ));
    }
    match get_ignore_case(resource, "members") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(list) => parse_members(list, &mut MemberBudget::default()),
    }
}

#[derive(Default)]
struct Planner {
    plan: GroupPatchPlan,
    budget: MemberBudget,
}

impl Planner {
    fn plan_operation(&mut self, operation: &PatchOperation) -> Result<(), ScimError> {
        match (&operation.path, operation.op) {
            (None, PatchOp::Remove) => {
                Err(ScimError::no_target("A remove operation requires a path."))
            }
            (None, op) => match &operation.value {
                Some(value) => self.plan_value_object(op, value, None),
                None => Err(ScimError::invalid_value(format!(
                    "The {} operation on the group requires a value.",
                    op.as_str()
                ))),
            },
            (Some(path), op) => self.plan_path(op, path, operation.value.as_ref()),
        }
    }

    /// Plans each member of a path-less value object, or of an object sent for
    /// the core Group schema URN, as if its key were the operation's path.
    fn plan_value_object(
        &mut self,
        op: PatchOp,
        value: &Value,
        urn_prefix: Option<&str>,
    ) -> Result<(), ScimError> {
        let Value::Object(entries) = value else {
            return Err(ScimError::invalid_value(format!(
                "The {} operation without a path requires a JSON object value.",
                op.as_str()
            )));
        };

        for (key, entry) in entries {
            if SKIPPED_VALUE_KEYS
                .iter()
                .any(|skipped| key.eq_ignore_ascii_case(skipped))
            {
                continue;
            }
            match urn_prefix {
                Some(urn) => self.plan_path(op, &format!("{urn}:{key}"), Some(entry))?,
                None => self.plan_path(op, key, Some(entry))?,
            }
        }
        Ok(())
    }

    fn plan_path(
        &mut self,
        op: PatchOp,
        path: &str,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        let schema = ResourceSchema::group();
        let path = path.trim();
        if schema.kind_for_urn(path).is_some() {
            return match (op, value) {
                (PatchOp::Remove, _) => Err(ScimError::invalid_path(format!(
                    "The core schema '{path}' cannot be removed. Name an attribute in the path."
                ))),
                (_, Some(object)) => self.plan_value_object(op, object, Some(path)),
                (_, None) => Err(ScimError::invalid_value(format!(
                    "The {} operation on '{path}' requires a value.",
                    op.as_str()
                ))),
            };
        }
        if path.eq_ignore_ascii_case(ENTRA_GROUP) {
            return Ok(());
        }

        let parsed = parse_patch_path(path)?;
        let Some(target) = resolve_target(&parsed.attribute, parsed.value_filter.as_ref(), schema)?
        else {
            // Unknown attributes and schema URNs are dropped, as for Users.
            return Ok(());
        };
        check_mutability(&target)?;

        match target.attribute.name {
            "members" => self.plan_members(op, &target, value),
            "displayName" => self.plan_display_name(op, value),
            "externalId" => self.plan_external_id(op, value),
            // `id` and `meta` are readOnly and rejected above, and the Group
            // schema has no other attributes.
            _ => Ok(()),
        }
    }

    fn plan_members(
        &mut self,
        op: PatchOp,
        target: &Target,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        if let Some(sub) = target.sub_attribute {
            if sub.name == "value" {
                return Err(ScimError::mutability(
                    "The attribute 'members.value' is immutable, so add or remove whole members instead.",
                ));
            }
            // NOTE: changes to `display`, `type` or `$ref` of existing members
            // are dropped, because the plan carries only membership changes.
            return Ok(());
        }

        if let Some(filter) = &target.filter {
            if op != PatchOp::Remove {
                return Err(ScimError::invalid_filter(format!(
                    "A filter on 'members' is supported only with remove. Use {} on 'members' with a member list instead.",
                    op.as_str()
                )));
            }
            let ids = filter_member_ids(filter, &mut self.budget)?;
            self.push(MemberOperation::Remove(ids));
            return Ok(());
        }

        match (op, value) {
            (PatchOp::Remove, None | Some(Value::Null)) => self.push(MemberOperation::Clear),
            (PatchOp::Remove, Some(listed)) => {
                let members = parse_members(listed, &mut self.budget)?;
                if !members.is_empty() {
                    let ids = members.into_iter().map(|member| member.value).collect();
                    self.push(MemberOperation::Remove(ids));
                }
            }
            (_, None) => {
                return Err(ScimError::invalid_value(format!(
                    "The {} operation on 'members' requires a value.",
                    op.as_str()
                )));
            }
            (PatchOp::Add, Some(Value::Null)) => {}
            (PatchOp::Add, Some(list)) => {
                let members = parse_members(list, &mut self.budget)?;
                if !members.is_empty() {
                    self.push(MemberOperation::Add(members));
                }
            }
            (PatchOp::Replace, Some(Value::Null)) => self.push(MemberOperation::Clear),
            (PatchOp::Replace, Some(list)) => {
                let members = parse_members(list, &mut self.budget)?;
                if members.is_empty() {
                    self.push(MemberOperation::Clear);
                } else {
                    self.push(MemberOperation::Replace(members));
                }
            }
        }
        Ok(())
    }

    fn plan_display_name(&mut self, op: PatchOp, value: Option<&Value>) -> Result<(), ScimError> {
        let emptied = || {
            ScimError::invalid_value(
                "The attribute 'displayName' is required and cannot be removed or emptied.",
            )
        };
        match (op, value) {
            (PatchOp::Remove, _) => Err(emptied()),
            (_, None) => Err(ScimError::invalid_value(format!(
                "The {} operation on 'displayName' requires a value.",
                op.as_str()
            ))),
            (_, Some(Value::String(name))) if !name.trim().is_empty() => {
                self.plan.display_name = Some(name.clone());
                Ok(())
            }
            (_, Some(Value::String(_) | Value::Null)) => Err(emptied()),
            (_, Some(_)) => Err(ScimError::invalid_value(
                "The value of 'displayName' must be a string.",
            )),
        }
    }

    fn plan_external_id(&mut self, op: PatchOp, value: Option<&Value>) -> Result<(), ScimError> {
        let external_id = match (op, value) {
            (PatchOp::Remove, _) | (_, Some(Value::Null)) => None,
            (_, Some(Value::String(id))) => Some(id.clone()),
            (_, None) => {
                return Err(ScimError::invalid_value(format!(
                    "The {} operation on 'externalId' requires a value.",
                    op.as_str()
                )));
            }
            (_, Some(_)) => {
                return Err(ScimError::invalid_value(
                    "The value of 'externalId' must be a string.",
                ));
            }
        };
        self.plan.external_id = Some(external_id);
        Ok(())
    }

    /// Appends a membership operation, merging it into the previous one when
    /// both are of the same kind, so repeated single-member adds become one set
    /// operation. A replace or clear after a replace or clear supersedes it.
    fn push(&mut self, operation: MemberOperation) {
        let operations = &mut self.plan.operations;
        match (operations.last_mut(), operation) {
            (Some(MemberOperation::Add(existing)), MemberOperation::Add(added)) => {
                let mut merged = std::mem::take(existing);
                merged.extend(added);
                *existing = dedupe_members(merged);
            }
            (Some(MemberOperation::Remove(existing)), MemberOperation::Remove(removed)) => {
                let mut merged = std::mem::take(existing);
                merged.extend(removed);
                *existing = dedupe_ids(merged);
            }
            (
                Some(last @ (MemberOperation::Replace(_) | MemberOperation::Clear)),
                next @ (MemberOperation::Replace(_) | MemberOperation::Clear),
            ) => *last = next,
            (_, next) => operations.push(next),
        }
    }
}
