//! User PATCH (RFC 7644 section 3.5.2) in the forms identity providers
//! send, and its rejections.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    TestStack,
    assertions::assert_error,
    fixtures::{
        DOMAIN, ENTERPRISE_URN, USER_URN, count_of, has_schema, is_absent_or_empty, patch_body,
        unique_email, user_body,
    },
};
use serde_json::{Value, json};

e2e_tests::stack_tests!(
    capitalised_ops_with_and_without_flag,
    string_active_on_create_is_boolean,
    replace_name_sub_attribute,
    pathless_add_with_dotted_keys,
    enterprise_urn_path_creates_extension,
    replace_active_boolean_and_string,
    pathless_replace_changes_only_active,
    reactivate_keeps_id,
    user_name_change_moves_filter,
    roles_and_entitlements_rejected,
    read_only_attributes_rejected,
    malformed_patch_requests_rejected,
    operations_over_limit_rejected,
    unknown_attribute_is_dropped,
);

/// Creates a user in the demo workspace and returns its id and userName.
async fn create(
    stack: &TestStack,
    local: &str,
    given_name: &str,
    family_name: &str,
) -> (String, String) {
    let user_name = unique_email(local, DOMAIN);
    let id = stack
        .client()
        .create_user(&user_body(&user_name, given_name, family_name))
        .await;
    (id, user_name)
}

async fn capitalised_ops_with_and_without_flag(stack: &TestStack) {
    let scim = stack.client();
    let flagged = stack.client().with_base_query("aadOptscim062020");
    let (id, _) = create(stack, "wren.halvorsen", "Wren", "Halvorsen").await;

    scim.patch_ok(
        &id,
        &patch_body(json!([
            {"op": "Replace", "path": "displayName", "value": "Wren H. Halvorsen"},
            {"op": "Add", "path": "title", "value": "Tide Surveyor"},
        ])),
    )
    .await;
    let read = scim.get_user(&id).await;
    flagged
        .patch_ok(
            &id,
            &patch_body(
                json!([{"op": "Replace", "path": "title", "value": "Senior Tide Surveyor"}]),
            ),
        )
        .await;
    let flagged_read = flagged.get_user(&id).await;

    assert_eq!(read["displayName"], "Wren H. Halvorsen");
    assert_eq!(read["title"], "Tide Surveyor");
    assert_eq!(flagged_read["title"], "Senior Tide Surveyor");
}

async fn string_active_on_create_is_boolean(stack: &TestStack) {
    let scim = stack.client();
    let mut body = user_body(&unique_email("caspian.rook", DOMAIN), "Caspian", "Rook");
    body["active"] = json!("True");

    let created = scim.post("Users", &body).await;

    assert_eq!(created.status, 201, "{created}");
    assert_eq!(created.body["active"], true);
    assert_eq!(scim.get_user(&created.id()).await["active"], true);
}

async fn replace_name_sub_attribute(stack: &TestStack) {
    let scim = stack.client();
    let (id, _) = create(stack, "rufus.achterberg", "Rufus", "Achterberg").await;

    scim.patch_ok(
        &id,
        &patch_body(
            json!([{"op": "Replace", "path": "name.familyName", "value": "Achterberg-Nwosu"}]),
        ),
    )
    .await;

    let read = scim.get_user(&id).await;
    assert_eq!(read["name"]["familyName"], "Achterberg-Nwosu");
    assert_eq!(read["name"]["givenName"], "Rufus");
}

async fn pathless_add_with_dotted_keys(stack: &TestStack) {
    let scim = stack.client();
    let (id, _) = create(stack, "ilse.old", "I.", "B.").await;
    let new_email = unique_email("ilse.brandvold", DOMAIN);

    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "add", "value": {
            "displayName": "Ilse Brandvold",
            "name.givenName": "Ilse",
            "name.familyName": "Brandvold",
            "emails[type eq \"work\"].value": new_email,
        }}])),
    )
    .await;

    let read = scim.get_user(&id).await;
    assert_eq!(read["displayName"], "Ilse Brandvold");
    assert_eq!(read["name"]["givenName"], "Ilse");
    assert_eq!(read["name"]["familyName"], "Brandvold");
    assert_eq!(count_of(&read, "emails"), 1);
    assert_eq!(read["emails"][0]["value"], new_email.as_str());
}

async fn enterprise_urn_path_creates_extension(stack: &TestStack) {
    let scim = stack.client();
    let (id, _) = create(stack, "perpetua.nwosu", "Perpetua", "Nwosu").await;

    scim.patch_ok(
        &id,
        &patch_body(json!([
            {"op": "Replace", "path": format!("{ENTERPRISE_URN}:organization"), "value": "Northwind Survey Co"},
            {"op": "Replace", "path": format!("{ENTERPRISE_URN}:employeeNumber"), "value": "E-20931"},
        ])),
    )
    .await;

    let read = scim.get_user(&id).await;
    assert_eq!(read[ENTERPRISE_URN]["organization"], "Northwind Survey Co");
    assert_eq!(read[ENTERPRISE_URN]["employeeNumber"], "E-20931");
    assert!(
        has_schema(&read, ENTERPRISE_URN),
        "extension URN missing from schemas: {read}"
    );
}

async fn replace_active_boolean_and_string(stack: &TestStack) {
    let scim = stack.client();
    let (boolean_id, _) = create(stack, "petra.hale", "Petra", "Hale").await;
    let (string_id, _) = create(stack, "otto.hale", "Otto", "Hale").await;

    scim.patch_ok(
        &boolean_id,
        &patch_body(json!([{"op": "Replace", "path": "active", "value": false}])),
    )
    .await;
    scim.patch_ok(
        &string_id,
        &patch_body(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    )
    .await;

    assert_eq!(scim.get_user(&boolean_id).await["active"], false);
    assert_eq!(scim.get_user(&string_id).await["active"], false);
}

async fn pathless_replace_changes_only_active(stack: &TestStack) {
    let scim = stack.client();
    let (id, user_name) = create(stack, "gideon.marsh", "Gideon", "Marsh").await;

    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "replace", "value": {"active": false}}])),
    )
    .await;

    let read = scim.get_user(&id).await;
    assert_eq!(read["active"], false);
    assert_eq!(read["userName"], user_name.as_str());
    assert_eq!(read["emails"][0]["value"], user_name.as_str());
}

async fn reactivate_keeps_id(stack: &TestStack) {
    let scim = stack.client();
    let (id, _) = create(stack, "esther.lowe", "Esther", "Lowe").await;
    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "Replace", "path": "active", "value": false}])),
    )
    .await;
    assert_eq!(scim.get_user(&id).await["active"], false);

    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "Replace", "path": "active", "value": true}])),
    )
    .await;

    let read = scim.get_user(&id).await;
    assert_eq!(read["active"], true);
    assert_eq!(read["id"], id.as_str());
}

async fn user_name_change_moves_filter(stack: &TestStack) {
    let scim = stack.client();
    let (id, old_name) = create(stack, "lorcan.bell", "Lorcan", "Bell").await;
    let new_name = unique_email("lorcan.bell-okoro", DOMAIN);

    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "Replace", "path": "userName", "value": new_name}])),
    )
    .await;

    let read = scim.get_user(&id).await;
    assert_eq!(read["userName"], new_name.as_str());
    assert_eq!(read["active"], true);
    let by_old = scim
        .filter_users(&format!(r#"userName eq "{old_name}""#))
        .await;
    assert_eq!(by_old["totalResults"], 0);
    let by_new = scim
        .filter_users(&format!(r#"userName eq "{new_name}""#))
        .await;
    assert_eq!(by_new["totalResults"], 1);
}

async fn roles_and_entitlements_rejected(stack: &TestStack) {
    let scim = stack.client();
    let (id, _) = create(stack, "rhea.stone", "Rhea", "Stone").await;
    let before = scim.get_user(&id).await;

    let roles = scim
        .patch(
            &format!("Users/{id}"),
            &patch_body(json!([{"op": "add", "path": "roles", "value": [{"value": "admin"}]}])),
        )
        .await;
    let entitlements = scim
        .patch(
            &format!("Users/{id}"),
            &patch_body(
                json!([{"op": "replace", "path": "entitlements", "value": [{"value": "billing"}]}]),
            ),
        )
        .await;
    let pathless = scim
        .patch(
            &format!("Users/{id}"),
            &patch_body(json!([{"op": "replace", "value": {"title": "Chief", "roles": [{"value": "admin"}]}}])),
        )
        .await;

    assert_error(&roles, 400, Some("mutability"));
    assert_error(&entitlements, 400, Some("mutability"));
    assert_error(&pathless, 400, Some("mutability"));
    let after = scim.get_user(&id).await;
    assert!(is_absent_or_empty(&after["roles"]), "roles stored: {after}");
    assert!(
        is_absent_or_empty(&after["entitlements"]),
        "entitlements stored: {after}"
    );
    assert!(
        after.get("title").is_none(),
        "a rejected PATCH changed title: {after}"
    );
    assert_eq!(after["meta"]["version"], before["meta"]["version"]);
}

async fn read_only_attributes_rejected(stack: &TestStack) {
    let scim = stack.client();
    let (id, _) = create(stack, "ivo.petrak", "Ivo", "Petrak").await;
    let before = scim.get_user(&id).await;

    let new_id = scim
        .patch(
            &format!("Users/{id}"),
            &patch_body(json!([{"op": "replace", "path": "id", "value": "00000000-0000-4000-8000-000000000001"}])),
        )
        .await;
    let created_at = scim
        .patch(
            &format!("Users/{id}"),
            &patch_body(
                json!([{"op": "replace", "path": "meta.created", "value": "2001-01-01T00:00:00Z"}]),
            ),
        )
        .await;

    assert_error(&new_id, 400, Some("mutability"));
    assert_error(&created_at, 400, Some("mutability"));
    let after = scim.get_user(&id).await;
    assert_eq!(after["id"], id.as_str());
    assert_eq!(after["meta"]["created"], before["meta"]["created"]);
}

async fn malformed_patch_requests_rejected(stack: &TestStack) {
    let scim = stack.client();
    let (id, _) = create(stack, "tove.lind", "Tove", "Lind").await;
    let path = format!("Users/{id}");
    let before = scim.get_user(&id).await;
    let cases: [(&str, Value, &str); 6] = [
        (
            "unknown op",
            patch_body(json!([{"op": "copy", "from": "title", "path": "nickName"}])),
            "invalidSyntax",
        ),
        (
            "schemas without the PatchOp URN",
            json!({"schemas": [USER_URN], "Operations": [{"op": "replace", "path": "title", "value": "X"}]}),
            "invalidSyntax",
        ),
        ("empty Operations", patch_body(json!([])), "invalidSyntax"),
        (
            "path that is not an attribute path",
            patch_body(json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])),
            "invalidPath",
        ),
        (
            "replace on a filter that matches nothing and has no eq to build from",
            patch_body(
                json!([{"op": "replace", "path": "emails[value co \"nomatch\"].value", "value": "x@example.com"}]),
            ),
            "noTarget",
        ),
        (
            "remove without path",
            patch_body(json!([{"op": "remove"}])),
            "noTarget",
        ),
    ];

    for (case, body, scim_type) in cases {
        let rejected = scim.patch(&path, &body).await;

        assert_eq!(rejected.status, 400, "{case}: {rejected}");
        assert_eq!(rejected.body["scimType"], scim_type, "{case}: {rejected}");
    }
    let after = scim.get_user(&id).await;
    assert_eq!(after["meta"]["version"], before["meta"]["version"]);
}

async fn operations_over_limit_rejected(stack: &TestStack) {
    let scim = stack.client();
    let (id, _) = create(stack, "hugo.brask", "Hugo", "Brask").await;
    let operations: Vec<Value> = (0..10_000)
        .map(|i| json!({"op": "replace", "path": "title", "value": format!("Title {i}")}))
        .collect();

    let rejected = scim
        .patch(
            &format!("Users/{id}"),
            &patch_body(Value::Array(operations)),
        )
        .await;

    assert!(
        rejected.status == 413
            || (rejected.status == 400 && rejected.body["scimType"] == "tooMany"),
        "10,000 operations were not rejected with 413 or 400 tooMany: {rejected}"
    );
    let after = scim.get_user(&id).await;
    assert!(
        after.get("title").is_none(),
        "a rejected PATCH changed title: {after}"
    );
}

async fn unknown_attribute_is_dropped(stack: &TestStack) {
    let scim = stack.client();
    let (id, _) = create(stack, "kai.morrow", "Kai", "Morrow").await;

    // Identity providers send attributes of their own custom extensions;
    // the product drops unknown attributes instead of rejecting the PATCH.
    scim.patch_ok(
        &id,
        &patch_body(json!([
            {"op": "replace", "path": "favouriteColour", "value": "teal"},
            {"op": "replace", "path": "title", "value": "Keeper"},
        ])),
    )
    .await;

    let read = scim.get_user(&id).await;
    assert!(
        read.get("favouriteColour").is_none(),
        "unknown attribute stored: {read}"
    );
    assert_eq!(read["title"], "Keeper");
}
