//! Discovery endpoints: `/Schemas`, `/ServiceProviderConfig` and
//! `/ResourceTypes` (RFC 7644 section 4).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    TestStack,
    fixtures::{ENTERPRISE_URN, LIST_RESPONSE_URN, USER_URN, has_schema},
};
use serde_json::Value;

e2e_tests::stack_tests!(
    schemas_list_user_schemas,
    service_provider_config_features,
    resource_types_list_user
);

/// Returns the entry of `Resources` whose `id` is `id`.
fn resource_with_id<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list["Resources"]
        .as_array()?
        .iter()
        .find(|resource| resource["id"] == id)
}

/// Returns the attribute definition named `name` in a schema.
fn attribute<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    schema["attributes"]
        .as_array()?
        .iter()
        .find(|attribute| attribute["name"] == name)
}

async fn schemas_list_user_schemas(stack: &TestStack) {
    let scim = stack.client();

    let schemas = scim.get("Schemas").await;

    assert_eq!(schemas.status, 200, "{schemas}");
    assert!(has_schema(&schemas.body, LIST_RESPONSE_URN));
    let user = resource_with_id(&schemas.body, USER_URN).expect("no core User schema");
    let user_name = attribute(user, "userName").expect("no userName attribute");
    assert_eq!(user_name["type"], "string");
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    let password = attribute(user, "password").expect("no password attribute");
    assert_eq!(password["returned"], "never");
    assert_eq!(password["mutability"], "writeOnly");
    let enterprise =
        resource_with_id(&schemas.body, ENTERPRISE_URN).expect("no enterprise User schema");
    assert!(
        attribute(enterprise, "manager").is_some(),
        "no manager attribute: {enterprise}"
    );
    let by_id = scim.get(&format!("Schemas/{USER_URN}")).await;
    assert_eq!(by_id.status, 200, "{by_id}");
    assert_eq!(by_id.body["id"], USER_URN);
}

async fn service_provider_config_features(stack: &TestStack) {
    let scim = stack.client();

    let config = scim.get("ServiceProviderConfig").await;

    assert_eq!(config.status, 200, "{config}");
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(config.body["filter"]["supported"], true);
    assert!(
        config.body["filter"]["maxResults"].is_u64(),
        "filter.maxResults: {config}"
    );
    assert_eq!(config.body["bulk"]["supported"], false);
    assert!(
        config.body["etag"]["supported"].is_boolean(),
        "etag.supported: {config}"
    );
    let schemes = config.body["authenticationSchemes"]
        .as_array()
        .expect("no authenticationSchemes");
    assert!(
        schemes
            .iter()
            .any(|scheme| scheme["type"] == "oauthbearertoken"),
        "bearer tokens are not advertised: {config}"
    );
}

async fn resource_types_list_user(stack: &TestStack) {
    let scim = stack.client();

    let types = scim.get("ResourceTypes").await;

    assert_eq!(types.status, 200, "{types}");
    assert!(has_schema(&types.body, LIST_RESPONSE_URN));
    let user = resource_with_id(&types.body, "User").expect("no User resource type");
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], USER_URN);
    let extensions = user["schemaExtensions"]
        .as_array()
        .expect("no schemaExtensions");
    assert!(
        extensions
            .iter()
            .any(|extension| extension["schema"] == ENTERPRISE_URN),
        "enterprise extension missing: {user}"
    );
}
