//! Concurrent membership PATCHes to one group: every change lands, and the
//! final member set is exactly what the requests add and remove.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    ScimResponse, TestStack,
    assertions::{assert_error, assert_list, assert_patched},
    fixtures::{empty_group, group_body, member_values, patch_body, sorted, unique_group_name},
};
use reqwest::Method;
use serde_json::{Value, json};

e2e_tests::stack_tests!(
    fifty_parallel_adds_all_land,
    parallel_adds_and_removes_end_exact,
    concurrent_same_name_creates_one_group,
    stale_if_match_is_412,
);

const PARALLEL_ADDS: usize = 50;

/// Sends the PATCH bodies to one group at the same moment, one task each.
async fn patch_all_at_once(stack: &TestStack, id: &str, bodies: Vec<Value>) -> Vec<ScimResponse> {
    let scim = stack.client();
    let path = format!("Groups/{id}");
    futures::future::join_all(bodies.into_iter().map(|body| {
        let scim = scim.clone();
        let path = path.clone();
        tokio::spawn(async move { scim.patch(&path, &body).await })
    }))
    .await
    .into_iter()
    .map(|joined| joined.expect("PATCH task panicked"))
    .collect()
}

/// Returns Entra ID's single-member add.
fn add_one(user_id: &str) -> Value {
    patch_body(
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": user_id}]}]),
    )
}

/// Returns the removal of one member by a value filter path.
fn remove_one(user_id: &str) -> Value {
    patch_body(json!([{"op": "remove", "path": format!(r#"members[value eq "{user_id}"]"#)}]))
}

async fn fifty_parallel_adds_all_land(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("gig.rower", PARALLEL_ADDS).await;
    let id = scim
        .create_group(&empty_group(&unique_group_name("Gig Rowers")))
        .await;
    let bodies = users.iter().map(|user| add_one(user)).collect();

    let responses = patch_all_at_once(stack, &id, bodies).await;

    for response in &responses {
        assert_patched(response);
    }
    let read = scim.get_group(&id).await;
    assert_eq!(member_values(&read), sorted(&users));
}

async fn parallel_adds_and_removes_end_exact(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("tidal.crew", 40).await;
    let (initial, joining) = users.split_at(20);
    let (leaving, staying) = initial.split_at(10);
    let id = scim
        .create_group(&group_body(&unique_group_name("Tidal Crew"), initial))
        .await;
    let renamed = unique_group_name("Tidal Crew Renamed");
    let mut bodies: Vec<Value> = Vec::new();
    for (index, user) in joining.iter().enumerate() {
        bodies.push(add_one(user));
        if let Some(removed) = leaving.get(index) {
            bodies.push(remove_one(removed));
        }
    }
    bodies.push(patch_body(
        json!([{"op": "replace", "path": "displayName", "value": renamed}]),
    ));

    let responses = patch_all_at_once(stack, &id, bodies).await;

    for response in &responses {
        assert_patched(response);
    }
    let read = scim.get_group(&id).await;
    let mut expected: Vec<&String> = staying.iter().collect();
    expected.extend(joining);
    assert_eq!(member_values(&read), sorted(&expected));
    assert_eq!(read["displayName"], renamed.as_str());
}

async fn concurrent_same_name_creates_one_group(stack: &TestStack) {
    let scim = stack.client();
    let name = unique_group_name("Twin Crews");
    let variants = [
        name.clone(),
        name.to_uppercase(),
        name.to_lowercase(),
        name.clone(),
    ];

    let responses = futures::future::join_all(variants.iter().map(|variant| {
        let scim = scim.clone();
        let body = empty_group(variant);
        tokio::spawn(async move { scim.post("Groups", &body).await })
    }))
    .await
    .into_iter()
    .map(|joined| joined.expect("POST task panicked"))
    .collect::<Vec<_>>();

    let created: Vec<&ScimResponse> = responses
        .iter()
        .filter(|response| response.status == 201)
        .collect();
    assert_eq!(created.len(), 1, "{responses:#?}");
    for response in responses.iter().filter(|response| response.status != 201) {
        assert_error(response, 409, Some("uniqueness"));
    }
    let matched = scim
        .filter_groups(&format!(r#"displayName eq "{name}""#))
        .await;
    assert_list(&matched, 1, &[&created[0].id()]);
}

async fn stale_if_match_is_412(stack: &TestStack) {
    let scim = stack.client();
    let users = scim.create_users("bosun", 2).await;
    let name = unique_group_name("Bosuns");
    let id = scim.create_group(&group_body(&name, &users[..1])).await;
    let path = format!("Groups/{id}");
    let read = scim.get(&path).await;
    let stale = read
        .header("etag")
        .expect("GET returned no ETag")
        .to_owned();
    assert_eq!(Some(stale.as_str()), read.body["meta"]["version"].as_str());
    let with_if_match = |method: Method, body: Option<Value>| {
        let request = scim.request(method, &path).header("If-Match", &stale);
        match body {
            Some(body) => request
                .header("Content-Type", "application/scim+json")
                .body(body.to_string()),
            None => request,
        }
    };
    let first = scim
        .send(with_if_match(Method::PATCH, Some(add_one(&users[1]))))
        .await;
    assert_patched(&first);
    let current = scim.get_group(&id).await;

    let patched = scim
        .send(with_if_match(Method::PATCH, Some(remove_one(&users[0]))))
        .await;
    let replaced = scim
        .send(with_if_match(Method::PUT, Some(empty_group(&name))))
        .await;
    let deleted = scim.send(with_if_match(Method::DELETE, None)).await;

    assert_error(&patched, 412, None);
    assert_error(&replaced, 412, None);
    assert_error(&deleted, 412, None);
    assert_eq!(scim.get_group(&id).await, current);
    assert_eq!(member_values(&current), sorted(&users));
}
