use serde_json::json;

use super::*;

#[test]
fn apply_capitalised_replace_and_add() {
    let resource = patch_user(json!([
        {"op": "Replace", "path": "displayName", "value": "Wren H. Halvorsen"},
        {"op": "Add", "path": "title", "value": "Tide Surveyor"}
    ]))
    .unwrap();

    assert_eq!(resource["displayName"], "Wren H. Halvorsen");
    assert_eq!(resource["title"], "Tide Surveyor");
}

#[test]
fn apply_returns_changed_flag() {
    let mut resource = user();

    let changed = apply(
        &mut resource,
        &request(json!([{"op": "replace", "path": "active", "value": false}])),
        ResourceSchema::user(),
    )
    .unwrap();
    let unchanged = apply(
        &mut resource,
        &request(json!([{"op": "replace", "path": "active", "value": false}])),
        ResourceSchema::user(),
    )
    .unwrap();

    assert!(changed);
    assert!(!unchanged);
}

#[test]
fn apply_string_booleans() {
    let deactivated =
        patch_user(json!([{"op": "Replace", "path": "active", "value": "False"}])).unwrap();
    let reactivated =
        patch_user(json!([{"op": "Replace", "path": "active", "value": "TRUE"}])).unwrap();

    assert_eq!(deactivated["active"], false);
    assert_eq!(reactivated["active"], true);
}

#[test]
fn apply_string_boolean_in_pathless_value() {
    let resource = patch_user(json!([{"op": "replace", "value": {"active": "false", "emails[type eq \"work\"].primary": "True"}}])).unwrap();

    assert_eq!(resource["active"], false);
    assert_eq!(resource["emails"][0]["primary"], true);
}

#[test]
fn apply_invalid_boolean_rejected() {
    let error =
        patch_user(json!([{"op": "replace", "path": "active", "value": "maybe"}])).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
    assert!(error.detail.contains("active"), "{}", error.detail);
}

#[test]
fn apply_pathless_replace_active_only() {
    let resource = patch_user(json!([{"op": "replace", "value": {"active": false}}])).unwrap();

    assert_eq!(resource["active"], false);
    assert_eq!(resource["userName"], "ada@example.com");
    assert_eq!(resource["emails"], user()["emails"]);
}

#[test]
fn apply_pathless_dotted_keys() {
    let resource = patch_user(json!([{"op": "add", "value": {
        "displayName": "Ilse Brandvold",
        "name.givenName": "Ilse",
        "name.familyName": "Brandvold",
        "emails[type eq \"work\"].value": "ilse@example.com"
    }}]))
    .unwrap();

    assert_eq!(resource["displayName"], "Ilse Brandvold");
    assert_eq!(
        resource["name"],
        json!({"givenName": "Ilse", "familyName": "Brandvold"})
    );
    assert_eq!(
        resource["emails"],
        json!([{"value": "ilse@example.com", "type": "work", "primary": true}])
    );
}

#[test]
fn apply_pathless_enterprise_urn_key() {
    let resource = patch_user(json!([{"op": "replace", "value": {
        "displayName": "Dario F.",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "E-1"
    }}]))
    .unwrap();

    assert_eq!(resource[ENTERPRISE_USER]["employeeNumber"], "E-1");
    assert!(
        resource["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(ENTERPRISE_USER))
    );
}

#[test]
fn apply_pathless_enterprise_object() {
    let resource = patch_user(json!([{"op": "add", "value": {
        ENTERPRISE_USER: {"department": "Cartography", "manager": "m1"}
    }}]))
    .unwrap();

    assert_eq!(
        resource[ENTERPRISE_USER],
        json!({"department": "Cartography", "manager": {"value": "m1"}})
    );
}

#[test]
fn apply_pathless_name_object_merges() {
    let resource =
        patch_user(json!([{"op": "replace", "value": {"name": {"givenName": "Adeline"}}}]))
            .unwrap();

    assert_eq!(
        resource["name"],
        json!({"givenName": "Adeline", "familyName": "Quill"})
    );
}

#[test]
fn apply_pathless_skips_id_meta_schemas() {
    let mut resource = group();
    let operations = json!([{"op": "replace", "value": {"id": "g1", "meta": {}, "schemas": [], "displayName": "Survey Crew North"}}]);

    apply(&mut resource, &request(operations), ResourceSchema::group()).unwrap();

    assert_eq!(resource["displayName"], "Survey Crew North");
    assert_eq!(resource["id"], "g1");
}

#[test]
fn apply_pathless_non_object_rejected() {
    let error = patch_user(json!([{"op": "add", "value": "x"}])).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn apply_replace_sub_attribute() {
    let resource =
        patch_user(json!([{"op": "Replace", "path": "name.familyName", "value": "Quill-Oduya"}]))
            .unwrap();

    assert_eq!(
        resource["name"],
        json!({"givenName": "Ada", "familyName": "Quill-Oduya"})
    );
}

#[test]
fn apply_replace_complex_merges_sub_attributes() {
    let resource =
        patch_user(json!([{"op": "replace", "path": "name", "value": {"givenName": "Adeline"}}]))
            .unwrap();

    assert_eq!(
        resource["name"],
        json!({"givenName": "Adeline", "familyName": "Quill"})
    );
}

#[test]
fn apply_replace_email_in_place() {
    let resource = patch_user(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}])).unwrap();

    assert_eq!(
        resource["emails"],
        json!([{"value": "new@example.com", "type": "work", "primary": true}])
    );
}

#[test]
fn apply_add_filter_path_creates_one_element() {
    let resource = patch_user(json!([
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0142"},
        {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "12 Orchard Row"},
        {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Brookhaven"},
        {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "40210"}
    ]))
    .unwrap();

    assert_eq!(
        resource["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0142"}])
    );
    assert_eq!(
        resource["addresses"],
        json!([{"type": "work", "streetAddress": "12 Orchard Row", "locality": "Brookhaven", "postalCode": "40210"}])
    );
}

#[test]
fn apply_replace_filter_path_without_match_creates() {
    let mut resource = user();
    resource["phoneNumbers"] = json!([{"type": "mobile", "value": "+1 555 0142"}]);
    let operations = json!([{"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0199"}]);

    apply(&mut resource, &request(operations), ResourceSchema::user()).unwrap();

    assert_eq!(resource["phoneNumbers"].as_array().unwrap().len(), 2);
    assert!(
        resource["phoneNumbers"]
            .as_array()
            .unwrap()
            .contains(&json!({"type": "work", "value": "+1 555 0199"}))
    );
}

#[test]
fn apply_unmatched_non_eq_filter_no_target() {
    let error = patch_user(
        json!([{"op": "replace", "path": "emails[value co \"nowhere\"].type", "value": "home"}]),
    )
    .unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::NoTarget));
}

#[test]
fn apply_replace_filtered_element_keeps_type() {
    let resource = patch_user(json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "w@example.com"}}])).unwrap();

    assert_eq!(
        resource["emails"],
        json!([{"type": "work", "value": "w@example.com"}])
    );
}

#[test]
fn apply_add_primary_clears_other_primary() {
    let resource = patch_user(json!([{"op": "add", "path": "emails", "value": [{"value": "h@example.com", "type": "home", "primary": true}]}])).unwrap();

    assert_eq!(resource["emails"][0]["primary"], false);
    assert_eq!(resource["emails"][1]["primary"], true);
}

#[test]
fn apply_remove_single_attribute() {
    let mut resource = user();
    resource["title"] = json!("Surveyor");

    apply(
        &mut resource,
        &request(json!([{"op": "Remove", "path": "title"}])),
        ResourceSchema::user(),
    )
    .unwrap();

    assert!(resource.get("title").is_none());
}

#[test]
fn apply_remove_without_path_is_no_target() {
    let error = patch_user(json!([{"op": "remove"}])).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::NoTarget));
}

#[test]
fn apply_null_value_removes() {
    let resource =
        patch_user(json!([{"op": "replace", "path": "name.givenName", "value": null}])).unwrap();

    assert_eq!(resource["name"], json!({"familyName": "Quill"}));
}

#[test]
fn apply_enterprise_urn_paths() {
    let resource = patch_user(json!([
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization", "value": "Northwind"},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "E-20931"}
    ]))
    .unwrap();

    assert_eq!(
        resource[ENTERPRISE_USER],
        json!({"organization": "Northwind", "employeeNumber": "E-20931"})
    );
    assert_eq!(resource["schemas"], json!([USER, ENTERPRISE_USER]));
}

#[test]
fn apply_manager_bare_string() {
    let resource = patch_user(json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m1"}])).unwrap();

    assert_eq!(resource[ENTERPRISE_USER]["manager"], json!({"value": "m1"}));
}

#[test]
fn apply_manager_replace_drops_old_reference() {
    let mut resource = user();
    resource[ENTERPRISE_USER] =
        json!({"manager": {"value": "m1", "$ref": "Users/m1", "displayName": "Farid"}});

    apply(
        &mut resource,
        &request(json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m2"}])),
        ResourceSchema::user(),
    )
    .unwrap();

    assert_eq!(resource[ENTERPRISE_USER]["manager"], json!({"value": "m2"}));
}

#[test]
fn apply_manager_empty_string_clears() {
    let mut resource = user();
    resource["schemas"] = json!([USER, ENTERPRISE_USER]);
    resource[ENTERPRISE_USER] = json!({"manager": {"value": "m1"}});

    apply(
        &mut resource,
        &request(json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": ""}])),
        ResourceSchema::user(),
    )
    .unwrap();

    assert!(resource.get(ENTERPRISE_USER).is_none());
}

#[test]
fn apply_manager_null_clears() {
    let mut resource = user();
    resource[ENTERPRISE_USER] = json!({"manager": {"value": "m1"}, "department": "Survey"});

    apply(
        &mut resource,
        &request(json!([{"op": "replace", "path": "manager", "value": null}])),
        ResourceSchema::user(),
    )
    .unwrap();

    assert_eq!(resource[ENTERPRISE_USER], json!({"department": "Survey"}));
}

#[test]
fn apply_unqualified_manager_list_takes_first() {
    let resource = patch_user(
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": "Users/m1", "value": "m1"}]}]),
    )
    .unwrap();

    assert_eq!(
        resource[ENTERPRISE_USER]["manager"],
        json!({"$ref": "Users/m1", "value": "m1"})
    );
}

#[test]
fn apply_roles_rejected_with_mutability() {
    let error = patch_user(json!([{"op": "add", "path": "roles", "value": [{"value": "admin"}]}]))
        .unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::Mutability));
    assert!(
        error.detail.contains(
            "assigned from the identity provider's groups through the workspace's group mappings"
        ),
        "{}",
        error.detail
    );
}

#[test]
fn apply_entitlements_rejected_with_mutability() {
    let error = patch_user(json!([{"op": "replace", "value": {"entitlements": []}}])).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::Mutability));
}

#[test]
fn apply_read_only_paths_rejected() {
    for path in [
        "id",
        "meta.lastModified",
        "groups",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
    ] {
        let error = patch_user(json!([{"op": "replace", "path": path, "value": "x"}])).unwrap_err();
        assert_eq!(error.scim_type, Some(ScimType::Mutability), "{path}");
    }
}

#[test]
fn apply_password_dropped() {
    let mut resource = user();

    let changed = apply(
        &mut resource,
        &request(json!([
            {"op": "replace", "value": {"password": "Cc3!secret"}},
            {"op": "replace", "path": "password", "value": "Dd4!secret"}
        ])),
        ResourceSchema::user(),
    )
    .unwrap();

    assert!(!changed);
    assert!(resource.get("password").is_none());
}

#[test]
fn apply_unknown_attributes_dropped() {
    let mut resource = user();

    let changed = apply(
        &mut resource,
        &request(json!([
            {"op": "add", "path": "shoeSize", "value": "9"},
            {"op": "add", "path": "urn:example:custom:1.0:User:badge", "value": "b"},
            {"op": "add", "value": {"urn:example:custom:1.0:User": {"badge": "b"}, "favouriteColour": "teal"}},
            {"op": "add", "path": "name.nickname", "value": "x"}
        ])),
        ResourceSchema::user(),
    )
    .unwrap();

    assert!(!changed);
}

#[test]
fn apply_invalid_path_rejected() {
    for path in [
        "emails[type eq",
        "name..givenName",
        "emails[type eq \"work\"]x",
        "1abc",
    ] {
        let error = patch_user(json!([{"op": "add", "path": path, "value": "x"}])).unwrap_err();
        assert_eq!(error.scim_type, Some(ScimType::InvalidPath), "{path}");
    }
}

#[test]
fn apply_wrong_type_names_attribute() {
    let error =
        patch_user(json!([{"op": "replace", "path": "name", "value": "Ada Quill"}])).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
    assert!(error.detail.contains("'name'"), "{}", error.detail);
}

#[test]
fn apply_user_name_empty_or_not_string_rejected() {
    for value in [json!(""), json!(42), json!(null)] {
        let error =
            patch_user(json!([{"op": "replace", "path": "userName", "value": value}])).unwrap_err();
        assert_eq!(error.scim_type, Some(ScimType::InvalidValue), "{value}");
    }
}

#[test]
fn apply_user_name_change() {
    let resource =
        patch_user(json!([{"op": "Replace", "path": "userName", "value": "ada.new@example.com"}]))
            .unwrap();

    assert_eq!(resource["userName"], "ada.new@example.com");
    assert_eq!(resource["id"], "u1");
}

#[test]
fn apply_is_all_or_nothing() {
    let mut resource = user();
    let operations = json!([
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "add", "path": "roles", "value": [{"value": "admin"}]}
    ]);

    let result = apply(&mut resource, &request(operations), ResourceSchema::user());

    assert!(result.is_err());
    assert_eq!(resource, user());
}

#[test]
fn apply_case_insensitive_paths() {
    let resource = patch_user(json!([
        {"op": "replace", "path": "NAME.GIVENNAME", "value": "Adeline"},
        {"op": "replace", "path": "Emails[Type EQ \"work\"].Value", "value": "x@example.com"}
    ]))
    .unwrap();

    assert_eq!(resource["name"]["givenName"], "Adeline");
    assert_eq!(resource["emails"][0]["value"], "x@example.com");
}

#[test]
fn add_past_value_cap_is_invalid_value() {
    let mut user = json!({"userName": "a@example.com", "emails": []});
    let values: Vec<Value> = (0..=crate::patch::MAX_VALUES_PER_ATTRIBUTE)
        .map(|index| json!({"value": format!("e{index}@example.com")}))
        .collect();
    let request = PatchRequest::from_json(&json!({
        "schemas": [crate::schema::PATCH_OP],
        "Operations": [{"op": "add", "path": "emails", "value": values}],
    }))
    .unwrap();

    let error = apply(&mut user, &request, crate::schema::user()).unwrap_err();

    assert_eq!(error.scim_type, Some(crate::error::ScimType::InvalidValue));
}
