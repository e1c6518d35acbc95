use serde_json::{Value, json};

use super::*;
use crate::error::ScimError;

pub(super) fn plan(operations: Value) -> Result<GroupPatchPlan, ScimError> {
    plan_group_patch(&request(operations))
}

pub(super) fn member(value: &str) -> PlannedMember {
    PlannedMember {
        value: value.to_owned(),
        display: None,
        r#type: None,
    }
}

fn shown(value: &str, display: &str) -> PlannedMember {
    PlannedMember {
        display: Some(display.to_owned()),
        ..member(value)
    }
}

fn ids(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

pub(super) fn assert_error(
    result: Result<GroupPatchPlan, ScimError>,
    expected: ScimType,
    case: &str,
) {
    let error = result.expect_err(case);
    assert_eq!(error.status, 400, "{case}: {}", error.detail);
    assert_eq!(error.scim_type, Some(expected), "{case}: {}", error.detail);
}

#[test]
fn plan_op_names_any_case() {
    let plan = plan(json!([
        {"op": "ADD", "path": "members", "value": [{"value": "u1"}]},
        {"op": "Remove", "path": "members[value eq \"u2\"]"},
        {"op": "rEpLaCe", "path": "displayName", "value": "Dune Rangers"}
    ]))
    .unwrap();

    assert_eq!(
        plan.operations,
        vec![
            MemberOperation::Add(vec![member("u1")]),
            MemberOperation::Remove(ids(&["u2"]))
        ]
    );
    assert_eq!(plan.display_name.as_deref(), Some("Dune Rangers"));
}

#[test]
fn plan_add_members_with_display() {
    let plan = plan(json!([{"op": "add", "path": "members", "value": [
        {"value": "u1", "display": "otis@example.com"},
        {"value": "u2", "display": "pia@example.com", "type": "User"}
    ]}]))
    .unwrap();

    let mut typed = shown("u2", "pia@example.com");
    typed.r#type = Some("User".to_owned());
    assert_eq!(
        plan.operations,
        vec![MemberOperation::Add(vec![
            shown("u1", "otis@example.com"),
            typed
        ])]
    );
    assert_eq!(plan.display_name, None);
    assert_eq!(plan.external_id, None);
}

#[test]
fn plan_add_members_with_null_ref() {
    let plan = plan(json!([{"op": "Add", "path": "members", "value": [
        {"$ref": null, "value": "u1"},
        {"$ref": "https://example.com/scim/v2/Users/u2", "Value": "u2"}
    ]}]))
    .unwrap();

    assert_eq!(
        plan.operations,
        vec![MemberOperation::Add(vec![member("u1"), member("u2")])]
    );
}

#[test]
fn plan_add_one_bare_member_object() {
    let plan = plan(json!([{"op": "add", "path": "members", "value": {"value": "u1"}}])).unwrap();

    assert_eq!(
        plan.operations,
        vec![MemberOperation::Add(vec![member("u1")])]
    );
}

#[test]
fn plan_invalid_members_rejected() {
    let values = [
        json!([{"display": "No Id"}]),
        json!([{"value": 7}]),
        json!([{"value": ""}]),
        json!([{"value": "  "}]),
        json!([{"value": null}]),
        json!(["u1"]),
        json!([{"value": "u1"}, 5]),
        json!("u1"),
        json!(true),
        json!([{"value": "u1", "display": 3}]),
        json!([{"value": "u1", "type": ["User"]}]),
        json!([{"value": "u1", "$ref": false}]),
    ];

    for value in values {
        for op in ["add", "replace", "remove"] {
            let case = format!("{op} {value}");
            let result = plan(json!([{"op": op, "path": "members", "value": value}]));
            let error = result.expect_err(&case);
            assert_eq!(error.scim_type, Some(ScimType::InvalidValue), "{case}");
            assert!(error.detail.contains("members"), "{case}: {}", error.detail);
        }
    }
}

#[test]
fn plan_duplicate_members_collapse() {
    let plan = plan(json!([{"op": "add", "path": "members", "value": [
        {"value": "u1", "display": "first"},
        {"value": "u2"},
        {"value": "u1", "display": "second"}
    ]}]))
    .unwrap();

    assert_eq!(
        plan.operations,
        vec![MemberOperation::Add(vec![
            shown("u1", "first"),
            member("u2")
        ])]
    );
}

#[test]
fn plan_adjacent_operations_merge() {
    let plan = plan(json!([
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
        {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
        {"op": "remove", "path": "members[value eq \"u3\"]"},
        {"op": "remove", "path": "members", "value": [{"value": "u4"}, {"value": "u3"}]}
    ]))
    .unwrap();

    assert_eq!(
        plan.operations,
        vec![
            MemberOperation::Add(vec![member("u1"), member("u2")]),
            MemberOperation::Remove(ids(&["u3", "u4"]))
        ]
    );
}

#[test]
fn plan_add_empty_or_null_adds_nothing() {
    for value in [json!([]), Value::Null] {
        let plan = plan(json!([{"op": "add", "path": "members", "value": value}])).unwrap();

        assert_eq!(plan, GroupPatchPlan::default(), "{value}");
    }
}

#[test]
fn plan_members_without_value_rejected() {
    for op in ["add", "replace"] {
        let result = plan(json!([{"op": op, "path": "members"}]));

        assert_error(result, ScimType::InvalidValue, op);
    }
}

#[test]
fn plan_replace_members_sets_list() {
    let plan = plan(json!([{"op": "replace", "path": "members", "value": [
        {"value": "u2", "display": "quillon@example.com"},
        {"value": "u3", "display": "rosalind@example.com"}
    ]}]))
    .unwrap();

    assert_eq!(
        plan.operations,
        vec![MemberOperation::Replace(vec![
            shown("u2", "quillon@example.com"),
            shown("u3", "rosalind@example.com")
        ])]
    );
}

#[test]
fn plan_replace_empty_or_null_clears() {
    for value in [json!([]), Value::Null] {
        let plan = plan(json!([{"op": "replace", "path": "members", "value": value}])).unwrap();

        assert_eq!(plan.operations, vec![MemberOperation::Clear], "{value}");
    }
}

#[test]
fn plan_replace_or_clear_supersedes_previous() {
    let plan = plan(json!([
        {"op": "replace", "path": "members", "value": [{"value": "u1"}]},
        {"op": "remove", "path": "members"},
        {"op": "replace", "path": "members", "value": [{"value": "u2"}]}
    ]))
    .unwrap();

    assert_eq!(
        plan.operations,
        vec![MemberOperation::Replace(vec![member("u2")])]
    );
}

#[test]
fn plan_remove_members_without_value_clears() {
    for operation in [
        json!({"op": "remove", "path": "members"}),
        json!({"op": "remove", "path": "members", "value": null}),
    ] {
        let plan = plan(json!([operation])).unwrap();

        assert_eq!(plan.operations, vec![MemberOperation::Clear], "{operation}");
    }
}

#[test]
fn plan_remove_members_value_list() {
    let plan = plan(json!([{"op": "Remove", "path": "members", "value": [
        {"$ref": null, "value": "u1"},
        {"value": "u2"}
    ]}]))
    .unwrap();

    assert_eq!(
        plan.operations,
        vec![MemberOperation::Remove(ids(&["u1", "u2"]))]
    );
}

#[test]
fn plan_remove_members_empty_list_removes_nothing() {
    let plan = plan(json!([{"op": "remove", "path": "members", "value": []}])).unwrap();

    assert!(plan.operations.is_empty());
}

#[test]
fn plan_remove_member_by_filter() {
    let plan = plan(json!([
        {"op": "remove", "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}
    ]))
    .unwrap();

    assert_eq!(
        plan.operations,
        vec![MemberOperation::Remove(ids(&[
            "2819c223-7f76-453a-919d-413861904646"
        ]))]
    );
}

#[test]
fn plan_remove_members_by_or_filter() {
    let paths = [
        "members[value eq \"a\" or value eq \"b\" or value eq \"a\"]",
        "members[(value eq \"a\" or value eq \"b\")]",
        "members[value eq \"a\" or (value eq \"b\")]",
        "MEMBERS[VALUE EQ \"a\" OR Value Eq \"b\"]",
    ];

    for path in paths {
        let plan = plan(json!([{"op": "remove", "path": path}])).unwrap();

        assert_eq!(
            plan.operations,
            vec![MemberOperation::Remove(ids(&["a", "b"]))],
            "{path}"
        );
    }
}

#[test]
fn plan_remove_by_filter_ignores_value() {
    let plan = plan(
        json!([{"op": "remove", "path": "members[value eq \"a\"]", "value": [{"value": "b"}]}]),
    )
    .unwrap();

    assert_eq!(plan.operations, vec![MemberOperation::Remove(ids(&["a"]))]);
}

#[test]
fn plan_other_member_filters_rejected() {
    let paths = [
        "members[display eq \"Ada\"]",
        "members[type eq \"User\"]",
        "members[value ne \"a\"]",
        "members[value co \"a\"]",
        "members[value sw \"a\"]",
        "members[value pr]",
        "members[value eq null]",
        "members[not (value eq \"a\")]",
        "members[value eq \"a\" and type eq \"User\"]",
        "members[value eq \"a\" or display eq \"Ada\"]",
    ];

    for path in paths {
        let result = plan(json!([{"op": "remove", "path": path}]));

        assert_error(result, ScimType::InvalidFilter, path);
    }
}

#[test]
fn plan_member_filter_blank_id_rejected() {
    let result = plan(json!([{"op": "remove", "path": "members[value eq \"\"]"}]));

    assert_error(result, ScimType::InvalidValue, "blank id");
}

#[test]
fn plan_member_filter_with_add_or_replace_rejected() {
    for op in ["add", "replace"] {
        let result =
            plan(json!([{"op": op, "path": "members[value eq \"a\"]", "value": {"value": "a"}}]));

        assert_error(result, ScimType::InvalidFilter, op);
    }
}

#[test]
fn plan_member_filter_unresolvable_is_invalid_path() {
    let paths = [
        "members[shoeSize eq \"9\"]",
        "members[value eq 5]",
        "members[value eq \"a\"",
    ];

    for path in paths {
        let result = plan(json!([{"op": "remove", "path": path}]));

        assert_error(result, ScimType::InvalidPath, path);
    }
}

#[test]
fn plan_remove_and_add_keep_request_order() {
    let plan = plan(json!([
        {"op": "remove", "path": "members[value eq \"u2\"]"},
        {"op": "add", "path": "members", "value": [{"value": "u3", "display": "quinn@example.com"}]},
        {"op": "remove", "path": "members", "value": [{"value": "u3"}]},
        {"op": "add", "path": "members", "value": [{"value": "u2"}]}
    ]))
    .unwrap();

    assert_eq!(
        plan.operations,
        vec![
            MemberOperation::Remove(ids(&["u2"])),
            MemberOperation::Add(vec![shown("u3", "quinn@example.com")]),
            MemberOperation::Remove(ids(&["u3"])),
            MemberOperation::Add(vec![member("u2")])
        ]
    );
}
