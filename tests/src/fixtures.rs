//! SCIM schema URNs, request bodies and helpers to read SCIM JSON.

use serde_json::{Value, json};

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SEARCH_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Email domain of the demo workspace.
pub const DOMAIN: &str = "example.com";
/// Email domain of the second workspace.
pub const SECOND_DOMAIN: &str = "b.example";

/// Returns `<local>.<8 hex digits>@<domain>`, unique per call.
pub fn unique_email(local: &str, domain: &str) -> String {
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    format!("{local}.{run}@{domain}")
}

/// Returns a minimal core User: userName, name, active and one primary work
/// email equal to the userName.
pub fn user_body(user_name: &str, given_name: &str, family_name: &str) -> Value {
    json!({
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": given_name, "familyName": family_name},
        "active": true,
        "emails": [{"value": user_name.to_lowercase(), "type": "work", "primary": true}],
    })
}

/// Returns a User as Entra ID creates it: both schemas, `externalId`,
/// `meta.resourceType`, a formatted name and an empty `roles` list.
pub fn entra_user_body(
    user_name: &str,
    email: &str,
    given_name: &str,
    family_name: &str,
    external_id: &str,
) -> Value {
    json!({
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": format!("{given_name} {family_name}"),
            "familyName": family_name,
            "givenName": given_name,
        },
        "roles": [],
    })
}

/// Returns a User as Okta creates it: a generated password, `locale`, an
/// Okta-style `externalId` and an empty `groups` list.
pub fn okta_user_body(
    user_name: &str,
    given_name: &str,
    family_name: &str,
    password: &str,
) -> Value {
    json!({
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": given_name, "familyName": family_name},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{given_name} {family_name}"),
        "locale": "en-US",
        "externalId": okta_id(),
        "groups": [],
        "active": true,
        "password": password,
    })
}

/// Returns a PatchOp request with the given operations.
pub fn patch_body(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP_URN], "Operations": operations})
}

/// Returns a random id in Okta's format (`00u` and 17 alphanumerics).
pub fn okta_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("00u{}", &hex[..17])
}

/// Returns whether `body.schemas` lists `urn`.
pub fn has_schema(body: &Value, urn: &str) -> bool {
    body["schemas"]
        .as_array()
        .is_some_and(|schemas| schemas.iter().any(|schema| schema == urn))
}

/// Returns the first value of a multi-valued attribute whose `type` is
/// `kind`, compared ignoring case as RFC 7643 section 2.4 allows.
pub fn find_by_type<'a>(values: &'a Value, kind: &str) -> Option<&'a Value> {
    values.as_array()?.iter().find(|value| {
        value["type"]
            .as_str()
            .is_some_and(|text| text.eq_ignore_ascii_case(kind))
    })
}

/// Returns the `value` of the entry of `attribute` whose type is `kind`.
pub fn typed_value<'a>(resource: &'a Value, attribute: &str, kind: &str) -> Option<&'a str> {
    find_by_type(&resource[attribute], kind)?["value"].as_str()
}

/// Returns the number of entries of a multi-valued attribute (0 when absent).
pub fn count_of(resource: &Value, attribute: &str) -> usize {
    resource[attribute].as_array().map_or(0, Vec::len)
}

/// Returns the ids of the `Resources` of a ListResponse.
pub fn resource_ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .map(|resources| {
            resources
                .iter()
                .filter_map(|resource| resource["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Returns whether a multi-valued attribute is absent, null or empty.
pub fn is_absent_or_empty(value: &Value) -> bool {
    value.is_null() || value.as_array().is_some_and(Vec::is_empty)
}

/// Returns `<words> <8 hex digits>`, a group displayName unique per call.
pub fn unique_group_name(words: &str) -> String {
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    format!("{words} {run}")
}

/// Returns a core Group with this displayName and no `members` attribute.
pub fn empty_group(display_name: &str) -> Value {
    json!({"schemas": [GROUP_URN], "displayName": display_name})
}

/// Returns a core Group with this displayName whose members are the users
/// `member_ids`.
pub fn group_body<S: AsRef<str>>(display_name: &str, member_ids: &[S]) -> Value {
    json!({
        "schemas": [GROUP_URN],
        "displayName": display_name,
        "members": member_list(member_ids),
    })
}

/// Returns `[{"value": id}, …]`, the member list of a Group request.
pub fn member_list<S: AsRef<str>>(member_ids: &[S]) -> Value {
    Value::Array(
        member_ids
            .iter()
            .map(|id| json!({"value": id.as_ref()}))
            .collect(),
    )
}

/// Returns the `value`s of a group's `members`, sorted (empty when absent).
pub fn member_values(group: &Value) -> Vec<String> {
    let mut values: Vec<String> = group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .filter_map(|member| member["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    values.sort();
    values
}

/// Returns the ids sorted, to compare with [`member_values`].
pub fn sorted<S: AsRef<str>>(ids: &[S]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| id.as_ref().to_owned()).collect();
    ids.sort();
    ids
}
