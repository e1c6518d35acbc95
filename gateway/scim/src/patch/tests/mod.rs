use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::error::ScimType;
use crate::schema::{ENTERPRISE_USER, GROUP, USER};

mod group_members;
mod group_plan;
mod group_plan_paths;
mod group_plan_props;
mod groups;
mod users;

fn request(operations: Value) -> PatchRequest {
    PatchRequest::from_json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations,
    }))
    .unwrap()
}

fn user() -> Value {
    json!({
        "schemas": [USER],
        "id": "u1",
        "userName": "ada@example.com",
        "name": {"givenName": "Ada", "familyName": "Quill"},
        "active": true,
        "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
        "meta": {"resourceType": "User"}
    })
}

fn group() -> Value {
    json!({
        "schemas": [GROUP],
        "id": "g1",
        "displayName": "Harbour Office",
        "members": [{"value": "a"}, {"value": "b"}]
    })
}

fn patch_user(operations: Value) -> Result<Value, crate::error::ScimError> {
    let mut resource = user();
    apply(&mut resource, &request(operations), ResourceSchema::user())?;
    Ok(resource)
}

fn patch_group(operations: Value) -> Result<Value, crate::error::ScimError> {
    let mut resource = group();
    apply(&mut resource, &request(operations), ResourceSchema::group())?;
    Ok(resource)
}

fn member_ids(resource: &Value) -> Vec<&str> {
    resource["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .filter_map(|member| member["value"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn request_op_names_any_case() {
    let parsed = request(json!([
        {"op": "Replace", "path": "displayName", "value": "x"},
        {"op": "ADD", "path": "title", "value": "y"},
        {"op": "remove", "path": "nickName"}
    ]));

    let ops: Vec<PatchOp> = parsed
        .operations
        .iter()
        .map(|operation| operation.op)
        .collect();
    assert_eq!(ops, vec![PatchOp::Replace, PatchOp::Add, PatchOp::Remove]);
}

#[test]
fn request_member_names_any_case() {
    let parsed = PatchRequest::from_json(&json!({
        "operations": [{"OP": "add", "Path": "title", "Value": "x"}]
    }))
    .unwrap();

    assert_eq!(parsed.operations[0].path.as_deref(), Some("title"));
    assert_eq!(parsed.operations[0].value, Some(json!("x")));
}

#[test]
fn request_without_schemas_accepted() {
    let parsed = PatchRequest::from_json(
        &json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
    );

    assert!(parsed.is_ok());
}

#[test]
fn request_wrong_schemas_rejected() {
    let error = PatchRequest::from_json(&json!({"schemas": [USER], "Operations": []})).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidSyntax));
}

#[test]
fn request_unknown_op_rejected() {
    let error = PatchRequest::from_json(&json!({"Operations": [{"op": "move", "path": "title"}]}))
        .unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidSyntax));
    assert!(error.detail.contains("move"), "{}", error.detail);
}

#[test]
fn request_malformed_bodies_rejected() {
    let bodies = [
        json!([]),
        json!({}),
        json!({"Operations": {}}),
        json!({"Operations": [1]}),
        json!({"Operations": []}),
    ];

    for body in bodies {
        let error = PatchRequest::from_json(&body).unwrap_err();
        assert_eq!(error.status, 400, "{body}");
    }
}

#[test]
fn request_over_max_operations_is_413() {
    let operations: Vec<Value> = (0..=MAX_OPERATIONS)
        .map(|_| json!({"op": "add", "path": "title", "value": "x"}))
        .collect();

    let error = PatchRequest::from_json(&json!({"Operations": operations})).unwrap_err();

    assert_eq!(error.status, 413);
    assert!(error.detail.contains("1000"), "{}", error.detail);
}

#[test]
fn request_at_max_operations_accepted() {
    let operations: Vec<Value> = (0..MAX_OPERATIONS)
        .map(|_| json!({"op": "add", "path": "title", "value": "x"}))
        .collect();

    assert!(PatchRequest::from_json(&json!({"Operations": operations})).is_ok());
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|number| json!(number)),
        "[a-zA-Z.\\[\\]\" :]{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("userName"),
            Just("name.givenName"),
            Just("emails[type eq \"work\"].value"),
            Just("members"),
            Just("manager"),
            Just("True"),
            Just(ENTERPRISE_USER),
            Just("roles"),
            Just("id"),
            Just("active")
        ]
        .prop_map(|text| Value::String(text.to_owned())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-zA-Z]{1,10}",
                    Just("op".to_owned()),
                    Just("path".to_owned()),
                    Just("value".to_owned()),
                    Just("name.familyName".to_owned()),
                    Just("emails".to_owned()),
                    Just("manager".to_owned()),
                    Just(ENTERPRISE_USER.to_owned()),
                    Just("type".to_owned()),
                    Just("members".to_owned())
                ],
                inner,
                0..5
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn arbitrary_operation() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("add"), Just("Replace"), Just("remove"), Just("bogus")],
        prop::option::of(prop_oneof![
            "\\PC{0,30}",
            Just("emails[type eq \"work\"].value".to_owned()),
            Just("members[value eq \"a\"]".to_owned()),
            Just("members".to_owned()),
            Just("name".to_owned()),
            Just(format!("{ENTERPRISE_USER}:manager")),
            Just(ENTERPRISE_USER.to_owned()),
            Just("addresses[type eq \"work\"].locality".to_owned()),
        ]),
        prop::option::of(arbitrary_json()),
    )
        .prop_map(|(op, path, value)| {
            let mut operation = json!({"op": op});
            if let Some(path) = path {
                operation["path"] = json!(path);
            }
            if let Some(value) = value {
                operation["value"] = value;
            }
            operation
        })
}

proptest! {
    #[test]
    fn apply_never_panics(operations in prop::collection::vec(arbitrary_operation(), 1..5), on_group in any::<bool>()) {
        let body = json!({"Operations": operations});
        if let Ok(parsed) = PatchRequest::from_json(&body) {
            let (mut resource, schema) = if on_group {
                (group(), ResourceSchema::group())
            } else {
                (user(), ResourceSchema::user())
            };
            let before = resource.clone();
            match apply(&mut resource, &parsed, schema) {
                Ok(changed) => prop_assert_eq!(changed, resource != before),
                Err(_) => prop_assert_eq!(resource, before),
            }
        }
    }

    #[test]
    fn request_parse_never_panics(body in arbitrary_json()) {
        let _ = PatchRequest::from_json(&body);
    }

    #[test]
    fn apply_on_arbitrary_resource_never_panics(resource in arbitrary_json(), operation in arbitrary_operation()) {
        if let Ok(parsed) = PatchRequest::from_json(&json!({"Operations": [operation]})) {
            let mut resource = resource;
            let _ = apply(&mut resource, &parsed, ResourceSchema::user());
        }
    }
}
