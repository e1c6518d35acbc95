//! List filters (RFC 7644 section 3.4.2.2) over GET and `POST /.search`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    TestStack,
    assertions::{assert_error, assert_list},
    fixtures::{DOMAIN, SEARCH_REQUEST_URN, unique_email, user_body},
};
use serde_json::json;

e2e_tests::stack_tests!(
    external_id_eq_matches,
    user_name_eq_ignores_case,
    email_value_filters_match,
    compound_and_is_applied,
    injection_shaped_values_match_nobody,
    unparseable_filter_is_invalid_filter,
    unknown_or_sensitive_attribute_is_invalid_filter,
    search_endpoint_filters,
);

async fn external_id_eq_matches(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("bastian.oyelaran", DOMAIN);
    let mut body = user_body(&user_name, "Bastian", "Oyelaran");
    body["externalId"] = json!("e-4410-7c1f");
    let id = scim.create_user(&body).await;

    let by_external_id = scim.filter_users(r#"externalId eq "e-4410-7c1f""#).await;
    let by_user_name = scim
        .filter_users(&format!(r#"userName eq "{user_name}""#))
        .await;

    assert_list(&by_external_id, 1, &[&id]);
    assert_eq!(by_user_name["totalResults"], 1);
    assert_eq!(by_user_name["Resources"][0]["externalId"], "e-4410-7c1f");
}

async fn user_name_eq_ignores_case(stack: &TestStack) {
    let scim = stack.client();
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let user_name = format!("Marisol.Quint.{run}@Example.com");
    let created = scim
        .post("Users", &user_body(&user_name, "Marisol", "Quint"))
        .await;
    assert_eq!(created.status, 201, "{created}");
    assert_eq!(created.body["userName"], user_name.as_str());
    let id = created.id();

    let lower = scim
        .filter_users(&format!(r#"userName eq "{}""#, user_name.to_lowercase()))
        .await;
    let upper = scim
        .filter_users(&format!(r#"userName eq "{}""#, user_name.to_uppercase()))
        .await;

    assert_list(&lower, 1, &[&id]);
    assert_list(&upper, 1, &[&id]);
}

async fn email_value_filters_match(stack: &TestStack) {
    let scim = stack.client();
    let email = unique_email("t.mbeki-lund", DOMAIN);
    let mut body = user_body(
        &unique_email("thaddeus.lund", DOMAIN),
        "Thaddeus",
        "Mbeki-Lund",
    );
    body["emails"] = json!([{"value": email, "type": "work", "primary": true}]);
    let id = scim.create_user(&body).await;

    let dotted = scim
        .filter_users(&format!(r#"emails.value eq "{email}""#))
        .await;
    let value_path = scim
        .filter_users(&format!(r#"emails[type eq "work" and value eq "{email}"]"#))
        .await;
    // Not RFC 7644 grammar: the product may respond 200 or 400, never 5xx.
    let non_standard = scim
        .get(&format!(
            "Users?{}",
            e2e_tests::filter_query(&format!(r#"emails[type eq "work"].value eq "{email}""#))
        ))
        .await;

    assert_list(&dotted, 1, &[&id]);
    assert_list(&value_path, 1, &[&id]);
    assert!(matches!(non_standard.status, 200 | 400), "{non_standard}");
}

async fn compound_and_is_applied(stack: &TestStack) {
    let scim = stack.client();
    let dorian = unique_email("dorian.vale", DOMAIN);
    let id = scim
        .create_user(&user_body(&dorian, "Dorian", "Vale"))
        .await;
    scim.create_user(&user_body(
        &unique_email("anouk.reyes", DOMAIN),
        "Anouk",
        "Reyes",
    ))
    .await;

    let active = scim
        .filter_users(&format!(r#"userName eq "{dorian}" and active eq true"#))
        .await;
    let inactive = scim
        .filter_users(&format!(r#"userName eq "{dorian}" and active eq false"#))
        .await;

    assert_list(&active, 1, &[&id]);
    assert_list(&inactive, 0, &[]);
}

async fn injection_shaped_values_match_nobody(stack: &TestStack) {
    let scim = stack.client();
    scim.create_user(&user_body(
        &unique_email("dorian.vale", DOMAIN),
        "Dorian",
        "Vale",
    ))
    .await;
    scim.create_user(&user_body(
        &unique_email("anouk.reyes", DOMAIN),
        "Anouk",
        "Reyes",
    ))
    .await;
    // Valid filters whose values are full of quotes: plain strings.
    let quoted = [
        r#"userName eq "nobody@example.com' OR '1'='1""#,
        r#"userName eq "nobody\" or \"1\" eq \"1""#,
    ];
    // Wildcard and escape characters of SQL: literal, or rejected.
    let wildcards = [
        r#"userName sw "%""#,
        r#"userName co "_""#,
        r#"userName eq "\\""#,
    ];

    for filter in quoted {
        let listed = scim.filter_users(filter).await;

        assert_eq!(listed["totalResults"], 0, "{filter}: {listed}");
    }
    for filter in wildcards {
        let listed = scim
            .get(&format!("Users?{}", e2e_tests::filter_query(filter)))
            .await;

        match listed.status {
            200 => assert_eq!(listed.body["totalResults"], 0, "{filter}: {listed}"),
            _ => assert_error(&listed, 400, Some("invalidFilter")),
        }
    }
}

async fn unparseable_filter_is_invalid_filter(stack: &TestStack) {
    let scim = stack.client();
    scim.create_user(&user_body(
        &unique_email("dorian.vale", DOMAIN),
        "Dorian",
        "Vale",
    ))
    .await;
    let filters = [
        r#"userName eq "x" or 1 eq 1"#,
        "userName zz",
        r#"userName) or 1=1 -- eq "x""#,
        r#"userName eq "unterminated"#,
        r#"(userName eq "x""#,
    ];

    for filter in filters {
        let listed = scim
            .get(&format!("Users?{}", e2e_tests::filter_query(filter)))
            .await;

        assert_error(&listed, 400, Some("invalidFilter"));
    }
}

async fn unknown_or_sensitive_attribute_is_invalid_filter(stack: &TestStack) {
    let scim = stack.client();
    scim.create_user(&user_body(
        &unique_email("dorian.vale", DOMAIN),
        "Dorian",
        "Vale",
    ))
    .await;
    let filters = [
        r#"favouriteColour eq "teal""#,
        r#"password eq "secret""#,
        r#"members eq "2819c223-7f76-453a-919d-413861904646""#,
    ];

    for filter in filters {
        let listed = scim
            .get(&format!("Users?{}", e2e_tests::filter_query(filter)))
            .await;

        // Never the unfiltered list; `sensitive` is RFC 7644's code for a
        // filter on a confidential attribute such as password.
        assert_eq!(listed.status, 400, "{filter}: {listed}");
        assert!(
            listed.body["scimType"] == "invalidFilter" || listed.body["scimType"] == "sensitive",
            "{filter}: {listed}"
        );
    }
}

async fn search_endpoint_filters(stack: &TestStack) {
    let scim = stack.client();
    let user_name = unique_email("sable.okafor", DOMAIN);
    let id = scim
        .create_user(&user_body(&user_name, "Sable", "Okafor"))
        .await;
    scim.create_user(&user_body(
        &unique_email("anouk.reyes", DOMAIN),
        "Anouk",
        "Reyes",
    ))
    .await;
    let search = json!({
        "schemas": [SEARCH_REQUEST_URN],
        "filter": format!(r#"userName eq "{user_name}""#),
        "startIndex": 1,
        "count": 10,
    });
    let long_literal = json!({
        "schemas": [SEARCH_REQUEST_URN],
        "filter": format!(r#"userName eq "{}""#, "a".repeat(64 * 1024)),
    });

    let found = scim.post("Users/.search", &search).await;
    let long = scim.post("Users/.search", &long_literal).await;

    assert_eq!(found.status, 200, "{found}");
    assert_list(&found.body, 1, &[&id]);
    match long.status {
        200 => assert_eq!(long.body["totalResults"], 0, "{long}"),
        _ => assert!(matches!(long.status, 400 | 413), "{long}"),
    }
}
