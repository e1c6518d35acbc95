use serde_json::Value;

use super::*;
use crate::error::ScimType;
use crate::path::parse_attribute_path;

fn resolve_user(text: &str) -> Result<ResolvedAttribute, ScimError> {
    ResourceSchema::user().resolve(&parse_attribute_path(text).unwrap())
}

#[test]
fn resolve_case_insensitive_canonical_name() {
    let resolved = resolve_user("USERNAME").unwrap();

    assert_eq!(resolved.attribute.name, "userName");
    assert_eq!(resolved.schema, SchemaKind::Core);
}

#[test]
fn resolve_sub_attribute() {
    let resolved = resolve_user("name.FAMILYNAME").unwrap();

    assert_eq!(resolved.path().sub_attribute.as_deref(), Some("familyName"));
}

#[test]
fn resolve_urn_qualified_core_and_extension() {
    let core = resolve_user("urn:ietf:params:scim:schemas:core:2.0:User:userName").unwrap();
    let extension =
        resolve_user("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:department")
            .unwrap();

    assert_eq!(core.schema, SchemaKind::Core);
    assert_eq!(extension.schema, SchemaKind::Enterprise);
    assert_eq!(extension.attribute.name, "department");
}

#[test]
fn resolve_unqualified_manager_is_enterprise() {
    let resolved = resolve_user("manager").unwrap();

    assert_eq!(resolved.schema, SchemaKind::Enterprise);
}

#[test]
fn resolve_common_attributes() {
    for name in ["id", "externalId", "meta.created", "meta.lastModified"] {
        assert!(resolve_user(name).is_ok(), "{name}");
    }
}

#[test]
fn resolve_unknown_names_path() {
    let error = resolve_user("shoeSize").unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidPath));
    assert!(error.detail.contains("shoeSize"), "{}", error.detail);
}

#[test]
fn resolve_group_has_no_enterprise() {
    let path = parse_attribute_path("manager").unwrap();

    assert!(ResourceSchema::group().find(&path).is_none());
}

#[test]
fn user_schema_product_mutability() {
    let user = ResourceSchema::user();

    assert_eq!(
        user.attribute(SchemaKind::Core, "roles")
            .unwrap()
            .mutability,
        Mutability::ReadOnly
    );
    assert_eq!(
        user.attribute(SchemaKind::Core, "entitlements")
            .unwrap()
            .mutability,
        Mutability::ReadOnly
    );
    assert_eq!(
        user.attribute(SchemaKind::Core, "groups")
            .unwrap()
            .mutability,
        Mutability::ReadOnly
    );
    let password = user.attribute(SchemaKind::Core, "password").unwrap();
    assert_eq!(password.mutability, Mutability::WriteOnly);
    assert_eq!(password.returned, Returned::Never);
    let id = user.attribute(SchemaKind::Core, "id").unwrap();
    assert_eq!(id.mutability, Mutability::ReadOnly);
    assert_eq!(id.returned, Returned::Always);
}

#[test]
fn user_schema_has_every_rfc_attribute() {
    let names: Vec<&str> = USER_SCHEMA
        .attributes
        .iter()
        .map(|attribute| attribute.name)
        .collect();

    let expected = [
        "userName",
        "name",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "active",
        "password",
        "emails",
        "phoneNumbers",
        "ims",
        "photos",
        "addresses",
        "groups",
        "entitlements",
        "roles",
        "x509Certificates",
    ];
    assert_eq!(names, expected);
}

#[test]
fn canonical_values_from_rfc() {
    let emails = USER_SCHEMA.attribute("emails").unwrap();
    let phones = USER_SCHEMA.attribute("phoneNumbers").unwrap();

    assert_eq!(
        emails.sub_attribute("type").unwrap().canonical_values,
        ["work", "home", "other"]
    );
    assert!(
        phones
            .sub_attribute("type")
            .unwrap()
            .canonical_values
            .contains(&"mobile")
    );
}

#[test]
fn schemas_json_lists_three_schemas() {
    let schemas = schemas_json("https://example.com/scim/v2/");

    let ids: Vec<&str> = schemas
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|schema| schema["id"].as_str())
        .collect();
    assert_eq!(ids, [USER, ENTERPRISE_USER, GROUP]);
}

#[test]
fn schemas_json_meta_and_attribute_shape() {
    let schemas = schemas_json("https://example.com/scim/v2");
    let user = &schemas[0];

    assert_eq!(user["meta"]["resourceType"], "Schema");
    assert_eq!(
        user["meta"]["location"],
        format!("https://example.com/scim/v2/Schemas/{USER}")
    );
    let user_name = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|attribute| attribute["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["type"], "string");
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["uniqueness"], "server");
}

#[test]
fn schemas_json_manager_sub_attributes() {
    let schemas = schemas_json("https://example.com/scim/v2");
    let manager = schemas[1]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|attribute| attribute["name"] == "manager")
        .unwrap();

    let subs: Vec<&str> = manager["subAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|sub| sub["name"].as_str())
        .collect();
    assert_eq!(subs, ["value", "$ref", "displayName"]);
}

#[test]
fn resource_types_json_user_has_extension() {
    let types = resource_types_json("https://example.com/scim/v2");

    assert_eq!(types[0]["endpoint"], "/Users");
    assert_eq!(types[0]["schemaExtensions"][0]["schema"], ENTERPRISE_USER);
    assert_eq!(types[1]["schema"], GROUP);
    assert!(types[1].get("schemaExtensions").is_none_or(Value::is_null));
}

#[test]
fn accepts_entra_group_uri() {
    assert!(ResourceSchema::group().accepts_schema_uri(ENTRA_GROUP));
    assert!(!ResourceSchema::group().accepts_schema_uri("urn:example:other"));
}
