use serde_json::{Value, json};

use super::group_plan::{assert_error, member, plan};
use super::*;
use crate::schema::ENTRA_GROUP;

#[test]
fn plan_display_name_last_value_wins() {
    let plan = plan(json!([
        {"op": "Replace", "path": "displayName", "value": "Cartographers"},
        {"op": "add", "path": "DISPLAYNAME", "value": "R&D Team"}
    ]))
    .unwrap();

    assert_eq!(plan.display_name.as_deref(), Some("R&D Team"));
    assert!(plan.operations.is_empty());
}

#[test]
fn plan_invalid_display_name_rejected() {
    let operations = [
        json!({"op": "remove", "path": "displayName"}),
        json!({"op": "replace", "path": "displayName", "value": null}),
        json!({"op": "replace", "path": "displayName", "value": " "}),
        json!({"op": "replace", "path": "displayName", "value": 12}),
        json!({"op": "replace", "path": "displayName"}),
        json!({"op": "replace", "value": {"displayName": ""}}),
    ];

    for operation in operations {
        let result = plan(json!([operation]));

        let error = result.expect_err(&operation.to_string());
        assert_eq!(error.scim_type, Some(ScimType::InvalidValue), "{operation}");
        assert!(error.detail.contains("displayName"), "{}", error.detail);
    }
}

#[test]
fn plan_external_id_set_and_cleared() {
    let set = plan(json!([{"op": "add", "path": "externalId", "value": "grp-ext"}])).unwrap();
    let removed = plan(json!([{"op": "remove", "path": "externalId"}])).unwrap();
    let nulled = plan(json!([{"op": "replace", "path": "externalid", "value": null}])).unwrap();

    assert_eq!(set.external_id, Some(Some("grp-ext".to_owned())));
    assert_eq!(removed.external_id, Some(None));
    assert_eq!(nulled.external_id, Some(None));
}

#[test]
fn plan_external_id_wrong_type_rejected() {
    let result = plan(json!([{"op": "replace", "path": "externalId", "value": 42}]));

    assert_error(result, ScimType::InvalidValue, "number");
}

#[test]
fn plan_pathless_rename_repeating_id() {
    let plan = plan(json!([{"op": "replace", "value": {
        "id": "6c5bb468-14b2-4183-baf2-06d523e03bd3",
        "displayName": "Harbor Pilots West"
    }}]))
    .unwrap();

    assert_eq!(
        plan,
        GroupPatchPlan {
            display_name: Some("Harbor Pilots West".to_owned()),
            ..GroupPatchPlan::default()
        }
    );
}

#[test]
fn plan_pathless_keys_any_case() {
    let value = json!({
        "DisplayName": "Night Ferry",
        "EXTERNALID": "ext-9",
        "Members": [{"value": "u1"}],
        "meta": {"resourceType": "Group"},
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "description": "dropped",
        "urn:example:custom:1.0:Group:badge": "dropped"
    });

    let added = plan(json!([{"op": "add", "value": value}])).unwrap();
    let replaced = plan(json!([{"op": "replace", "value": value}])).unwrap();

    assert_eq!(added.display_name.as_deref(), Some("Night Ferry"));
    assert_eq!(added.external_id, Some(Some("ext-9".to_owned())));
    assert_eq!(
        added.operations,
        vec![MemberOperation::Add(vec![member("u1")])]
    );
    assert_eq!(
        replaced.operations,
        vec![MemberOperation::Replace(vec![member("u1")])]
    );
}

#[test]
fn plan_pathless_non_object_rejected() {
    for value in [json!("Night Ferry"), json!([{"value": "u1"}]), Value::Null] {
        let result = plan(json!([{"op": "replace", "value": value}]));

        assert_error(result, ScimType::InvalidValue, &value.to_string());
    }
}

#[test]
fn plan_remove_without_path_is_no_target() {
    let result = plan(json!([{"op": "remove", "value": {"members": [{"value": "u1"}]}}]));

    assert_error(result, ScimType::NoTarget, "remove without path");
}

#[test]
fn plan_schema_urn_paths() {
    let plan = plan(json!([
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "Lamplighters"},
        {"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:Group", "value": {"members": [{"value": "u1"}], "id": "g1"}},
        {"op": "add", "path": ENTRA_GROUP, "value": {"anything": true}}
    ]))
    .unwrap();

    assert_eq!(plan.display_name.as_deref(), Some("Lamplighters"));
    assert_eq!(
        plan.operations,
        vec![MemberOperation::Add(vec![member("u1")])]
    );
}

#[test]
fn plan_remove_core_schema_urn_rejected() {
    let result =
        plan(json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:Group"}]));

    assert_error(result, ScimType::InvalidPath, "core URN");
}

#[test]
fn plan_unknown_attributes_dropped() {
    let operations = json!([
        {"op": "add", "path": "description", "value": "x"},
        {"op": "add", "path": "members.display", "value": "Ada"},
        {"op": "replace", "path": "members[value eq \"u1\"].display", "value": "Ada"},
        {"op": "remove", "path": "members.type"},
        {"op": "add", "path": "members.shoeSize", "value": 9},
        {"op": "add", "path": "displayName.givenName", "value": "x"},
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "x"},
        {"op": "replace", "path": "urn:example:custom:1.0:Group", "value": {"badge": "b"}}
    ]);

    let plan = plan(operations).unwrap();

    assert_eq!(plan, GroupPatchPlan::default());
}

#[test]
fn plan_malformed_paths_rejected() {
    let paths = [
        "display name",
        "members[",
        "members]",
        "1members",
        "members..value",
    ];

    for path in paths {
        let result = plan(json!([{"op": "add", "path": path, "value": "x"}]));

        assert_error(result, ScimType::InvalidPath, path);
    }
}

#[test]
fn plan_filter_on_single_valued_rejected() {
    let result = plan(json!([{"op": "remove", "path": "displayName[value eq \"x\"]"}]));

    assert_error(result, ScimType::InvalidPath, "displayName filter");
}

#[test]
fn plan_read_only_paths_rejected() {
    let paths = ["id", "meta", "meta.lastModified", "ID"];

    for path in paths {
        for op in ["add", "replace", "remove"] {
            let result = plan(json!([{"op": op, "path": path, "value": "x"}]));

            assert_error(result, ScimType::Mutability, &format!("{op} {path}"));
        }
    }
}

#[test]
fn plan_member_value_sub_attribute_rejected() {
    let paths = ["members.value", "members[value eq \"a\"].value"];

    for path in paths {
        let result = plan(json!([{"op": "replace", "path": path, "value": "b"}]));

        assert_error(result, ScimType::Mutability, path);
    }
}

fn member_list(count: usize) -> Value {
    Value::Array(
        (0..count)
            .map(|index| json!({"value": format!("u{index}")}))
            .collect(),
    )
}

#[test]
fn plan_members_at_limit_accepted() {
    let plan = plan(json!([
        {"op": "add", "path": "members", "value": member_list(MAX_MEMBERS_PER_REQUEST)}
    ]))
    .unwrap();

    let [MemberOperation::Add(added)] = plan.operations.as_slice() else {
        panic!("expected one add, got {:?}", plan.operations);
    };
    assert_eq!(added.len(), MAX_MEMBERS_PER_REQUEST);
}

#[test]
fn plan_members_over_limit_is_413() {
    let half = MAX_MEMBERS_PER_REQUEST / 2;
    let requests = [
        json!([{"op": "add", "path": "members", "value": member_list(MAX_MEMBERS_PER_REQUEST + 1)}]),
        json!([
            {"op": "add", "path": "members", "value": member_list(half)},
            {"op": "remove", "path": "members", "value": member_list(half)},
            {"op": "remove", "path": "members[value eq \"u1\"]"}
        ]),
        json!([
            {"op": "replace", "path": "members", "value": member_list(MAX_MEMBERS_PER_REQUEST)},
            {"op": "replace", "value": {"members": [{"value": "u1"}]}}
        ]),
    ];

    for (index, operations) in requests.into_iter().enumerate() {
        let error = plan(operations).unwrap_err();

        assert_eq!(error.status, 413, "request {index}");
        assert!(error.detail.contains("10000"), "{}", error.detail);
    }
}

#[test]
fn plan_over_max_operations_is_413() {
    let operation = PatchOperation {
        op: PatchOp::Add,
        path: Some("members".to_owned()),
        value: Some(json!([{"value": "u1"}])),
    };
    let request = PatchRequest {
        operations: vec![operation; MAX_OPERATIONS + 1],
    };

    let error = plan_group_patch(&request).unwrap_err();

    assert_eq!(error.status, 413);
}
