use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::error::ScimType;
use crate::schema::{ENTERPRISE_USER, ENTRA_GROUP, GROUP, ResourceSchema, USER};

fn normalize_user(body: Value) -> Result<Value, crate::error::ScimError> {
    normalize(&body, ResourceSchema::user())
}

#[test]
fn normalize_entra_create_body() {
    let body = json!({
        "schemas": [USER, ENTERPRISE_USER],
        "externalId": "ext-1",
        "userName": "cleo@example.com",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "cleo@example.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Cleo Marchetti", "familyName": "Marchetti", "givenName": "Cleo"},
        "roles": [],
        "displayName": "Cleo Marchetti",
        "addresses": null,
        "phoneNumbers": null,
        "preferredLanguage": null,
        "title": null
    });

    let normalized = normalize_user(body).unwrap();

    assert_eq!(
        normalized,
        json!({
            "schemas": [USER],
            "externalId": "ext-1",
            "userName": "cleo@example.com",
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": "cleo@example.com"}],
            "name": {"formatted": "Cleo Marchetti", "familyName": "Marchetti", "givenName": "Cleo"},
            "displayName": "Cleo Marchetti"
        })
    );
}

#[test]
fn normalize_okta_put_drops_password_id_groups() {
    let body = json!({
        "schemas": [USER],
        "id": "u1",
        "userName": "nora@example.com",
        "name": {"givenName": "Nora", "middleName": "Yu", "familyName": "Delacroix"},
        "emails": [{"primary": true, "value": "nora@example.com", "type": "work", "display": "nora@example.com"}],
        "locale": "en-US",
        "active": false,
        "groups": [],
        "password": "Dd4!secret",
        "meta": {"resourceType": "User"}
    });

    let normalized = normalize_user(body).unwrap();

    for dropped in ["id", "groups", "password", "meta"] {
        assert!(normalized.get(dropped).is_none(), "{dropped}");
    }
    assert_eq!(normalized["name"]["middleName"], "Yu");
    assert_eq!(normalized["active"], false);
}

#[test]
fn normalize_string_boolean() {
    let normalized = normalize_user(json!({"userName": "a", "active": "True"})).unwrap();

    assert_eq!(normalized["active"], true);
}

#[test]
fn normalize_without_schemas_fills_them() {
    let normalized = normalize_user(json!({"userName": "nadia@example.com"})).unwrap();

    assert_eq!(normalized["schemas"], json!([USER]));
}

#[test]
fn normalize_canonical_key_case() {
    let normalized = normalize_user(json!({"USERNAME": "a", "Name": {"GIVENNAME": "Ada"}, "Emails": [{"Value": "a@example.com", "TYPE": "work"}]})).unwrap();

    assert_eq!(normalized["userName"], "a");
    assert_eq!(normalized["name"], json!({"givenName": "Ada"}));
    assert_eq!(
        normalized["emails"],
        json!([{"value": "a@example.com", "type": "work"}])
    );
}

#[test]
fn normalize_enterprise_urn_object_and_qualified_keys() {
    let normalized = normalize_user(json!({
        "userName": "a",
        ENTERPRISE_USER: {"department": "Survey", "manager": "m1"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "E-1"
    }))
    .unwrap();

    assert_eq!(
        normalized[ENTERPRISE_USER],
        json!({"department": "Survey", "manager": {"value": "m1"}, "employeeNumber": "E-1"})
    );
    assert_eq!(normalized["schemas"], json!([USER, ENTERPRISE_USER]));
}

#[test]
fn normalize_drops_unknown_and_read_only() {
    let normalized = normalize_user(json!({
        "userName": "a",
        "shoeSize": 9,
        "urn:example:custom:1.0:User": {"badge": "b"},
        "roles": [{"value": "admin"}],
        "entitlements": [{"value": "x"}],
        ENTERPRISE_USER: {"manager": {"value": "m1", "displayName": "Farid"}}
    }))
    .unwrap();

    assert_eq!(
        normalized,
        json!({"schemas": [USER, ENTERPRISE_USER], "userName": "a", ENTERPRISE_USER: {"manager": {"value": "m1"}}})
    );
}

#[test]
fn normalize_wrong_type_names_attribute() {
    let error = normalize_user(json!({"userName": "a", "emails": "a@example.com"})).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
    assert!(error.detail.contains("emails"), "{}", error.detail);
}

#[test]
fn normalize_missing_user_name_rejected() {
    let error = normalize_user(json!({"displayName": "No Name"})).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
    assert!(error.detail.contains("userName"), "{}", error.detail);
}

#[test]
fn normalize_non_object_is_invalid_syntax() {
    let error = normalize_user(json!(["userName"])).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidSyntax));
}

#[test]
fn normalize_entra_group_body() {
    let body = json!({
        "schemas": [GROUP, ENTRA_GROUP],
        "externalId": "grp-ext",
        "displayName": "Tide Keepers",
        "meta": {"resourceType": "Group"},
        "members": [{"value": "u1", "display": "Ada"}]
    });

    let normalized = normalize(&body, ResourceSchema::group()).unwrap();

    assert_eq!(
        normalized,
        json!({"schemas": [GROUP], "externalId": "grp-ext", "displayName": "Tide Keepers", "members": [{"value": "u1", "display": "Ada"}]})
    );
}

#[test]
fn normalize_group_without_schemas() {
    let normalized = normalize(
        &json!({"displayName": "Salt Marsh Survey"}),
        ResourceSchema::group(),
    )
    .unwrap();

    assert_eq!(normalized["schemas"], json!([GROUP]));
}

fn stored_user() -> Value {
    json!({
        "schemas": [USER, ENTERPRISE_USER],
        "id": "u1",
        "userName": "ada@example.com",
        "name": {"givenName": "Ada", "familyName": "Quill"},
        "emails": [{"value": "ada@example.com", "type": "work"}],
        "password": "never-returned",
        "meta": {"resourceType": "User"},
        ENTERPRISE_USER: {"department": "Survey", "manager": {"value": "m1"}}
    })
}

fn projected(attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let mut resource = stored_user();
    project(&mut resource, attributes, excluded, ResourceSchema::user()).unwrap();
    resource
}

#[test]
fn project_default_removes_password_only() {
    let resource = projected(None, None);

    let mut expected = stored_user();
    expected.as_object_mut().unwrap().remove("password");
    assert_eq!(resource, expected);
}

#[test]
fn project_attributes_id_only() {
    let resource = projected(Some("id"), None);

    assert_eq!(resource, json!({"schemas": [USER], "id": "u1"}));
}

#[test]
fn project_attributes_sub_attribute_and_urn() {
    let resource = projected(
        Some(
            "Name.GivenName, urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        ),
        None,
    );

    assert_eq!(
        resource,
        json!({"schemas": [USER, ENTERPRISE_USER], "id": "u1", "name": {"givenName": "Ada"}, ENTERPRISE_USER: {"department": "Survey"}})
    );
}

#[test]
fn project_attributes_whole_extension() {
    let resource = projected(Some(ENTERPRISE_USER), None);

    assert_eq!(resource[ENTERPRISE_USER], stored_user()[ENTERPRISE_USER]);
}

#[test]
fn project_excluded_members() {
    let mut group = json!({"schemas": [GROUP], "id": "g1", "displayName": "Field Ops", "members": [{"value": "u1"}]});

    project(&mut group, None, Some("members"), ResourceSchema::group()).unwrap();

    assert_eq!(
        group,
        json!({"schemas": [GROUP], "id": "g1", "displayName": "Field Ops"})
    );
}

#[test]
fn project_excluded_never_removes_id() {
    let resource = projected(None, Some("id,emails.type,manager"));

    assert_eq!(resource["id"], "u1");
    assert_eq!(resource["emails"], json!([{"value": "ada@example.com"}]));
    assert_eq!(resource[ENTERPRISE_USER], json!({"department": "Survey"}));
}

#[test]
fn project_unknown_names_ignored() {
    let resource = projected(Some("shoeSize,userName"), Some("favouriteColour"));

    assert_eq!(
        resource,
        json!({"schemas": [USER], "id": "u1", "userName": "ada@example.com"})
    );
}

#[test]
fn project_malformed_name_rejected() {
    let mut resource = stored_user();

    let error = project(
        &mut resource,
        Some("emails[type eq \"work\"]"),
        None,
        ResourceSchema::user(),
    )
    .unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn project_excluding_extension_updates_schemas() {
    let resource = projected(None, Some(ENTERPRISE_USER));

    assert!(resource.get(ENTERPRISE_USER).is_none());
    assert_eq!(resource["schemas"], json!([USER]));
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(|number| json!(number)),
        "\\PC{0,12}".prop_map(Value::String),
        Just(json!("True")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "\\PC{0,10}",
                    Just("userName".to_owned()),
                    Just("name".to_owned()),
                    Just("emails".to_owned()),
                    Just("active".to_owned()),
                    Just("manager".to_owned()),
                    Just(ENTERPRISE_USER.to_owned()),
                    Just(format!("{ENTERPRISE_USER}:manager")),
                    Just("value".to_owned()),
                    Just("members".to_owned()),
                    Just("name.givenName".to_owned())
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn normalize_never_panics(body in arbitrary_json()) {
        let _ = normalize(&body, ResourceSchema::user());
        let _ = normalize(&body, ResourceSchema::group());
    }

    #[test]
    fn project_never_panics(resource in arbitrary_json(), attributes in prop::option::of("\\PC{0,30}"), excluded in prop::option::of("[a-zA-Z.,: ]{0,30}")) {
        let mut resource = resource;
        let _ = project(&mut resource, attributes.as_deref(), excluded.as_deref(), ResourceSchema::user());
    }

    #[test]
    fn normalize_output_normalizes_to_itself(body in arbitrary_json()) {
        if let Ok(normalized) = normalize(&body, ResourceSchema::user()) {
            prop_assert_eq!(normalize(&normalized, ResourceSchema::user()).unwrap(), normalized);
        }
    }
}
