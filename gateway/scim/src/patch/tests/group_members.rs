use serde_json::{Value, json};

use super::*;
use crate::resource::normalize;
use crate::schema::ENTRA_GROUP;

fn normalized_members(body: Value) -> Result<Vec<PlannedMember>, crate::error::ScimError> {
    let normalized = normalize(&body, ResourceSchema::group())?;
    group_members_from_resource(&normalized)
}

fn member_ids(members: &[PlannedMember]) -> Vec<&str> {
    members.iter().map(|member| member.value.as_str()).collect()
}

#[test]
fn normalize_entra_group_schema_uri() {
    let body = json!({
        "schemas": [GROUP, ENTRA_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Cartographers",
        "meta": {"resourceType": "Group"}
    });

    let normalized = normalize(&body, ResourceSchema::group()).unwrap();

    assert_eq!(
        normalized,
        json!({"schemas": [GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Cartographers"})
    );
    assert!(group_members_from_resource(&normalized).unwrap().is_empty());
}

#[test]
fn normalize_group_empty_members() {
    let body = json!({"schemas": [GROUP], "displayName": "Harbor Pilots", "members": []});

    let normalized = normalize(&body, ResourceSchema::group()).unwrap();

    assert_eq!(
        normalized,
        json!({"schemas": [GROUP], "displayName": "Harbor Pilots"})
    );
    assert!(group_members_from_resource(&normalized).unwrap().is_empty());
}

#[test]
fn normalize_group_without_schemas_with_members() {
    let members = normalized_members(
        json!({"displayName": "Salt Marsh Survey", "members": [{"value": "u1"}]}),
    )
    .unwrap();

    assert_eq!(member_ids(&members), vec!["u1"]);
}

#[test]
fn normalize_okta_group_put_with_id() {
    let body = json!({
        "schemas": [GROUP],
        "id": "g1",
        "displayName": "Night Ferry Crew",
        "members": [
            {"value": "u1", "display": "rhea@example.com"},
            {"value": "u2", "display": "sami@example.com"}
        ]
    });

    let normalized = normalize(&body, ResourceSchema::group()).unwrap();
    let members = group_members_from_resource(&normalized).unwrap();

    assert!(normalized.get("id").is_none());
    assert_eq!(normalized["displayName"], "Night Ferry Crew");
    assert_eq!(
        members,
        vec![
            PlannedMember {
                value: "u1".to_owned(),
                display: Some("rhea@example.com".to_owned()),
                r#type: None
            },
            PlannedMember {
                value: "u2".to_owned(),
                display: Some("sami@example.com".to_owned()),
                r#type: None
            }
        ]
    );
}

#[test]
fn normalize_okta_group_rename_body() {
    let normalized = normalize(
        &json!({"id": "g1", "displayName": "Harbor Pilots West"}),
        ResourceSchema::group(),
    )
    .unwrap();

    assert_eq!(
        normalized,
        json!({"schemas": [GROUP], "displayName": "Harbor Pilots West"})
    );
}

#[test]
fn members_from_resource_keeps_type_drops_ref() {
    let members = normalized_members(json!({"displayName": "Deckhands", "members": [
        {"value": "u1", "type": "User", "$ref": "https://example.com/scim/v2/Users/u1"},
        {"$ref": null, "value": "u2"}
    ]}))
    .unwrap();

    assert_eq!(member_ids(&members), vec!["u1", "u2"]);
    assert_eq!(members[0].r#type.as_deref(), Some("User"));
    assert_eq!(members[1].r#type, None);
}

#[test]
fn members_from_resource_duplicates_collapse() {
    let members = group_members_from_resource(&json!({"members": [
        {"value": "u1", "display": "first"},
        {"value": "u1", "display": "second"}
    ]}))
    .unwrap();

    assert_eq!(member_ids(&members), vec!["u1"]);
    assert_eq!(members[0].display.as_deref(), Some("first"));
}

#[test]
fn members_from_resource_keys_any_case() {
    let members =
        group_members_from_resource(&json!({"Members": [{"VALUE": "u1", "Display": "Ada"}]}))
            .unwrap();

    assert_eq!(member_ids(&members), vec!["u1"]);
    assert_eq!(members[0].display.as_deref(), Some("Ada"));
}

#[test]
fn members_from_resource_invalid_member_rejected() {
    let bodies = [
        json!({"displayName": "x", "members": [{"display": "No Id"}]}),
        json!({"displayName": "x", "members": [{"value": ""}]}),
        json!({"members": [{"value": "u1"}, "u2"]}),
        json!({"members": "u1"}),
    ];

    for body in bodies {
        let error = group_members_from_resource(&body).unwrap_err();

        assert_eq!(error.scim_type, Some(ScimType::InvalidValue), "{body}");
        assert!(error.detail.contains("members"), "{}", error.detail);
    }
}

#[test]
fn members_from_resource_non_object_rejected() {
    let error = group_members_from_resource(&json!([{"value": "u1"}])).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidSyntax));
}

#[test]
fn members_from_resource_limit() {
    let list = |count: usize| -> Value {
        Value::Array(
            (0..count)
                .map(|index| json!({"value": format!("u{index}")}))
                .collect(),
        )
    };

    let at_limit = normalized_members(
        json!({"displayName": "Everyone", "members": list(MAX_MEMBERS_PER_REQUEST)}),
    )
    .unwrap();
    let error = normalized_members(
        json!({"displayName": "Everyone", "members": list(MAX_MEMBERS_PER_REQUEST + 1)}),
    )
    .unwrap_err();

    assert_eq!(at_limit.len(), MAX_MEMBERS_PER_REQUEST);
    assert_eq!(error.status, 413);
    assert!(error.detail.contains("10000"), "{}", error.detail);
}
