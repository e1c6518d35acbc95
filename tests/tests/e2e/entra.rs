//! Request sequences of Microsoft Entra ID's provisioning service: match,
//! create, update with its PATCH dialects, disable, delete, and paging.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    TestStack,
    assertions::{assert_error, assert_list, assert_patched},
    fixtures::{
        DOMAIN, ENTERPRISE_URN, LIST_RESPONSE_URN, USER_URN, count_of, entra_user_body, has_schema,
        patch_body, resource_ids, typed_value, unique_email,
    },
};
use serde_json::{Value, json};
use uuid::Uuid;

e2e_tests::stack_tests!(
    user_lifecycle,
    user_matching,
    legacy_patch_dialect,
    manager_reference,
    scim062020_flag_on_every_request,
    test_connection_probes,
    paging_by_five,
);

pub(crate) async fn user_lifecycle(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("ada.quillfeather", DOMAIN);
    let email = unique_email("ada.quillfeather.mail", DOMAIN);
    let new_email = unique_email("ada.q.relocated", DOMAIN);
    let new_user_name = unique_email("a.quillfeather", DOMAIN);
    let external_id = Uuid::new_v4().to_string();
    let by_user_name = format!(r#"userName eq "{user_name}""#);
    let by_new_user_name = format!(r#"userName eq "{new_user_name}""#);

    // Matching before the create: no match is 200 with an empty list.
    let before = scim.filter_users(&by_user_name).await;
    assert_list(&before, 0, &[]);

    let created = scim
        .post(
            "Users",
            &entra_user_body(&user_name, &email, "Ada", "Quillfeather", &external_id),
        )
        .await;
    assert_eq!(created.status, 201, "{created}");
    let id = created.id();
    assert_eq!(created.body["userName"], user_name);
    assert_eq!(created.body["externalId"], external_id);
    assert_eq!(created.body["active"], true);
    assert_eq!(
        typed_value(&created.body, "emails", "work"),
        Some(email.as_str())
    );
    assert_eq!(created.body["name"]["familyName"], "Quillfeather");
    assert_eq!(created.body["name"]["givenName"], "Ada");
    assert!(has_schema(&created.body, USER_URN));
    assert_eq!(created.body["meta"]["resourceType"], "User");

    let read = scim.get_user(&id).await;
    assert_eq!(read["id"], id);
    assert_eq!(read["userName"], user_name);
    assert_eq!(read["active"], true);
    assert_eq!(typed_value(&read, "emails", "work"), Some(email.as_str()));

    let matched = scim.filter_users(&by_user_name).await;
    assert_list(&matched, 1, &[&id]);
    assert_eq!(matched["Resources"][0]["userName"], user_name);
    assert_eq!(matched["Resources"][0]["active"], true);
    assert_eq!(matched["startIndex"], 1);

    // Multi-valued and sub-attribute update in one request.
    let patched = scim
        .patch(
            &format!("Users/{id}"),
            &patch_body(json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": new_email},
                {"op": "Replace", "path": "name.familyName", "value": "Quillfeather-Oduya"},
            ])),
        )
        .await;
    assert_patched(&patched);
    let read = scim.get_user(&id).await;
    assert_eq!(
        typed_value(&read, "emails", "work"),
        Some(new_email.as_str())
    );
    assert_eq!(count_of(&read, "emails"), 1);
    assert_eq!(read["name"]["familyName"], "Quillfeather-Oduya");
    assert_eq!(read["name"]["givenName"], "Ada");

    // userName change: the filter follows the new name.
    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "Replace", "path": "userName", "value": new_user_name}])),
    )
    .await;
    let read = scim.get_user(&id).await;
    assert_eq!(read["userName"], new_user_name);
    assert_list(&scim.filter_users(&by_user_name).await, 0, &[]);
    assert_list(&scim.filter_users(&by_new_user_name).await, 1, &[&id]);

    // Disable with Operations before schemas, as Entra orders them.
    let disable: Value = serde_json::from_str(
        r#"{"Operations":[{"op":"Replace","path":"active","value":false}],
            "schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}"#,
    )
    .unwrap();
    scim.patch_ok(&id, &disable).await;
    let read = scim.get_user(&id).await;
    assert_eq!(read["active"], false);
    assert_eq!(read["userName"], new_user_name);
    let disabled = scim.filter_users(&by_new_user_name).await;
    assert_list(&disabled, 1, &[&id]);
    assert_eq!(disabled["Resources"][0]["active"], false);

    let duplicate = scim
        .post(
            "Users",
            &entra_user_body(
                &new_user_name,
                &email,
                "Ada",
                "Quillfeather",
                &Uuid::new_v4().to_string(),
            ),
        )
        .await;
    assert_error(&duplicate, 409, Some("uniqueness"));

    let deleted = scim.delete(&format!("Users/{id}")).await;
    assert_eq!(deleted.status, 204, "{deleted}");
    let after_delete = scim.get(&format!("Users/{id}")).await;
    assert_error(&after_delete, 404, None);
    assert_list(&scim.filter_users(&by_new_user_name).await, 0, &[]);

    let unknown = scim.get(&format!("Users/{}", Uuid::new_v4())).await;
    assert_error(&unknown, 404, None);
}

pub(crate) async fn user_matching(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("bram.oduya", DOMAIN);
    let email = unique_email("bram.oduya.mail", DOMAIN);
    let external_id = Uuid::new_v4().to_string();
    let id = scim
        .create_user(&entra_user_body(
            &user_name,
            &email,
            "Bram",
            "Oduya",
            &external_id,
        ))
        .await;

    let by_external_id = scim
        .filter_users(&format!(r#"externalId eq "{external_id}""#))
        .await;
    let by_work_email = scim
        .filter_users(&format!(r#"emails[type eq "work"].value eq "{email}""#))
        .await;
    let by_unknown_external_id = scim
        .filter_users(&format!(r#"externalId eq "{}""#, Uuid::new_v4()))
        .await;

    assert_list(&by_external_id, 1, &[&id]);
    assert_list(&by_work_email, 1, &[&id]);
    assert_list(&by_unknown_external_id, 0, &[]);
}

pub(crate) async fn legacy_patch_dialect(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("cleo.marchetti", DOMAIN);
    let email = unique_email("cleo.marchetti.mail", DOMAIN);
    let new_email = unique_email("cleo.lund", DOMAIN);
    let mut body = entra_user_body(
        &user_name,
        &email,
        "Cleo",
        "Marchetti",
        &Uuid::new_v4().to_string(),
    );
    body["displayName"] = json!("Cleo Marchetti");
    for attribute in ["addresses", "phoneNumbers", "preferredLanguage", "title"] {
        body[attribute] = Value::Null;
    }

    // JSON null for attributes without a source value.
    let created = scim.post("Users", &body).await;
    assert_eq!(created.status, 201, "{created}");
    let id = created.id();
    assert_eq!(created.body["displayName"], "Cleo Marchetti");
    assert_eq!(created.body["active"], true);

    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "Add", "path": "nickName", "value": "Marchie"}])),
    )
    .await;
    assert_eq!(scim.get_user(&id).await["nickName"], "Marchie");

    // One Replace per attribute, including an enterprise URN path.
    scim.patch_ok(
        &id,
        &patch_body(json!([
            {"op": "Replace", "path": "displayName", "value": "Cleo M. Lund"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": new_email},
            {"op": "Replace", "path": "name.givenName", "value": "Cleopatra"},
            {"op": "Replace", "path": "name.familyName", "value": "Marchetti-Lund"},
            {"op": "Replace", "path": "externalId", "value": "cleo-ext-1"},
            {"op": "Replace", "path": format!("{ENTERPRISE_URN}:employeeNumber"), "value": "EMP-1"},
        ])),
    )
    .await;
    let read = scim.get_user(&id).await;
    assert_eq!(read["displayName"], "Cleo M. Lund");
    assert_eq!(
        typed_value(&read, "emails", "work"),
        Some(new_email.as_str())
    );
    assert_eq!(count_of(&read, "emails"), 1);
    assert_eq!(read["name"]["givenName"], "Cleopatra");
    assert_eq!(read["name"]["familyName"], "Marchetti-Lund");
    assert_eq!(read["externalId"], "cleo-ext-1");
    assert_eq!(read[ENTERPRISE_URN]["employeeNumber"], "EMP-1");

    // Add on value-filter paths that match nothing yet: the three address
    // parts end in one work address.
    scim.patch_ok(
        &id,
        &patch_body(json!([
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0142"},
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "12 Orchard Row"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Brookhaven"},
            {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "40210"},
        ])),
    )
    .await;
    let read = scim.get_user(&id).await;
    assert_eq!(
        typed_value(&read, "phoneNumbers", "mobile"),
        Some("+1 555 0142")
    );
    assert_eq!(count_of(&read, "addresses"), 1);
    assert_eq!(read["addresses"][0]["type"], "work");
    assert_eq!(read["addresses"][0]["streetAddress"], "12 Orchard Row");
    assert_eq!(read["addresses"][0]["locality"], "Brookhaven");
    assert_eq!(read["addresses"][0]["postalCode"], "40210");

    // Replace on a value filter with no match acts as add.
    scim.patch_ok(
        &id,
        &patch_body(json!([
            {"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0199"},
        ])),
    )
    .await;
    let read = scim.get_user(&id).await;
    assert_eq!(
        typed_value(&read, "phoneNumbers", "work"),
        Some("+1 555 0199")
    );
    assert_eq!(
        typed_value(&read, "phoneNumbers", "mobile"),
        Some("+1 555 0142")
    );
    assert_eq!(count_of(&read, "phoneNumbers"), 2);

    scim.patch_ok(
        &id,
        &patch_body(json!([
            {"op": "Add", "path": format!("{ENTERPRISE_URN}:department"), "value": "Cartography"},
        ])),
    )
    .await;
    assert_eq!(
        scim.get_user(&id).await[ENTERPRISE_URN]["department"],
        "Cartography"
    );

    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "Add", "path": "title", "value": "Surveyor"}])),
    )
    .await;
    scim.patch_ok(&id, &patch_body(json!([{"op": "Remove", "path": "title"}])))
        .await;
    let read = scim.get_user(&id).await;
    assert!(read.get("title").is_none(), "title was not removed: {read}");
    assert_eq!(read["userName"], user_name);

    // Booleans as the strings "False" and "True".
    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    )
    .await;
    assert_eq!(scim.get_user(&id).await["active"], false);
    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "Replace", "path": "active", "value": "True"}])),
    )
    .await;
    assert_eq!(scim.get_user(&id).await["active"], true);
}

pub(crate) async fn manager_reference(stack: &TestStack) {
    let scim = stack.client();
    let mut ids = Vec::new();
    for (local, given_name, family_name) in [
        ("esme.taranto", "Esme", "Taranto"),
        ("farid.holloway", "Farid", "Holloway"),
        ("greta.voss", "Greta", "Voss"),
    ] {
        let body = entra_user_body(
            &unique_email(local, DOMAIN),
            &unique_email(&format!("{local}.mail"), DOMAIN),
            given_name,
            family_name,
            &Uuid::new_v4().to_string(),
        );
        ids.push(scim.create_user(&body).await);
    }
    let (id, first_manager, second_manager) = (&ids[0], &ids[1], &ids[2]);
    let manager_path = format!("{ENTERPRISE_URN}:manager");

    // Set: Add with the manager's bare id as the value.
    scim.patch_ok(
        id,
        &patch_body(json!([{"op": "Add", "path": manager_path, "value": first_manager}])),
    )
    .await;
    assert_eq!(
        scim.get_user(id).await[ENTERPRISE_URN]["manager"]["value"],
        first_manager.as_str()
    );

    // Reference check: id and manager in one filter, only id requested.
    let filter = format!(r#"id eq "{id}" and manager eq "{first_manager}""#);
    let checked = scim
        .get(&format!(
            "Users?{}&attributes=id",
            e2e_tests::filter_query(&filter)
        ))
        .await;
    assert_eq!(checked.status, 200, "{checked}");
    assert_list(&checked.body, 1, &[id]);

    scim.patch_ok(
        id,
        &patch_body(json!([{"op": "Replace", "path": manager_path, "value": second_manager}])),
    )
    .await;
    assert_eq!(
        scim.get_user(id).await[ENTERPRISE_URN]["manager"]["value"],
        second_manager.as_str()
    );

    // Clear: Replace with an empty string.
    scim.patch_ok(
        id,
        &patch_body(json!([{"op": "Replace", "path": manager_path, "value": ""}])),
    )
    .await;
    let cleared = scim.get_user(id).await;
    let manager_value = &cleared[ENTERPRISE_URN]["manager"]["value"];
    assert!(
        manager_value.is_null() || manager_value == "",
        "manager was not cleared: {cleared}"
    );

    // Older tutorial form: path "manager" with a list of {$ref, value}.
    scim.patch_ok(
        id,
        &patch_body(json!([{
            "op": "Add",
            "path": "manager",
            "value": [{"$ref": format!("Users/{first_manager}"), "value": first_manager}],
        }])),
    )
    .await;
    assert_eq!(
        scim.get_user(id).await[ENTERPRISE_URN]["manager"]["value"],
        first_manager.as_str()
    );
}

pub(crate) async fn scim062020_flag_on_every_request(stack: &TestStack) {
    let scim = stack.client().with_base_query("aadOptscim062020");
    let user_name = unique_email("dario.fenwick", DOMAIN);
    let email = unique_email("dario.fenwick.mail", DOMAIN);
    let new_email = unique_email("d.fenwick", DOMAIN);
    let employee_key = format!("{ENTERPRISE_URN}:employeeNumber");

    assert_list(
        &scim
            .filter_users(&format!(r#"userName eq "{user_name}""#))
            .await,
        0,
        &[],
    );
    let id = scim
        .create_user(&entra_user_body(
            &user_name,
            &email,
            "Dario",
            "Fenwick",
            &Uuid::new_v4().to_string(),
        ))
        .await;
    let read = scim.get_user(&id).await;
    assert_eq!(read["id"], id);
    assert_eq!(read["active"], true);

    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "add", "path": "nickName", "value": "Dare"}])),
    )
    .await;
    assert_eq!(scim.get_user(&id).await["nickName"], "Dare");

    // One path op, then one op without path whose keys are attribute paths.
    scim.patch_ok(
        &id,
        &patch_body(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": new_email},
            {"op": "replace", "value": {
                "displayName": "Dario F.",
                "name.givenName": "Darius",
                "name.familyName": "Fenwick-Hale",
                employee_key: "E-1",
            }},
        ])),
    )
    .await;
    let read = scim.get_user(&id).await;
    assert_eq!(
        typed_value(&read, "emails", "work"),
        Some(new_email.as_str())
    );
    assert_eq!(read["displayName"], "Dario F.");
    assert_eq!(read["name"]["givenName"], "Darius");
    assert_eq!(read["name"]["familyName"], "Fenwick-Hale");
    assert_eq!(read[ENTERPRISE_URN]["employeeNumber"], "E-1");

    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await;
    assert_eq!(scim.get_user(&id).await["active"], false);
    scim.patch_ok(
        &id,
        &patch_body(json!([{"op": "replace", "path": "active", "value": true}])),
    )
    .await;
    assert_eq!(scim.get_user(&id).await["active"], true);

    let deleted = scim.delete(&format!("Users/{id}")).await;
    assert_eq!(deleted.status, 204, "{deleted}");
    assert_error(&scim.get(&format!("Users/{id}")).await, 404, None);
}

pub(crate) async fn test_connection_probes(stack: &TestStack) {
    let scim = stack.client();

    let by_user_name = scim
        .filter_users(&format!(r#"userName eq "{}""#, Uuid::new_v4()))
        .await;
    let by_external_id = scim
        .filter_users(&format!(r#"externalId eq "{}""#, Uuid::new_v4()))
        .await;

    assert_list(&by_user_name, 0, &[]);
    assert_list(&by_external_id, 0, &[]);
}

pub(crate) async fn paging_by_five(stack: &TestStack) {
    let scim = stack.client();
    for i in 1..=6 {
        let user_name = unique_email(&format!("page.{i}"), DOMAIN);
        scim.create_user(&entra_user_body(
            &user_name,
            &user_name,
            "Page",
            "Reader",
            &Uuid::new_v4().to_string(),
        ))
        .await;
    }

    let first = scim.get("Users?startIndex=1&count=5").await;
    let second = scim.get("Users?startIndex=6&count=5").await;

    assert_eq!(first.status, 200, "{first}");
    assert!(has_schema(&first.body, LIST_RESPONSE_URN));
    assert_eq!(first.body["startIndex"], 1);
    assert_eq!(first.body["itemsPerPage"], 5);
    assert_eq!(first.body["totalResults"], 6);
    assert_eq!(resource_ids(&first.body).len(), 5);
    assert_eq!(second.status, 200, "{second}");
    assert_eq!(second.body["startIndex"], 6);
    assert_eq!(second.body["totalResults"], 6);
    assert_eq!(resource_ids(&second.body).len(), 1);
    assert!(!resource_ids(&first.body).contains(&resource_ids(&second.body)[0]));
}
