//! List paging (RFC 7644 section 3.4.2.4): `startIndex` and `count`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{
    TestStack,
    fixtures::{DOMAIN, count_of, resource_ids, unique_email, user_body},
};

e2e_tests::stack_tests!(
    pages_of_three_do_not_overlap,
    count_zero_returns_total_only,
    out_of_range_paging_is_clamped
);

/// Creates `count` users and returns their ids.
async fn create_users(stack: &TestStack, local: &str, count: usize) -> Vec<String> {
    let scim = stack.client();
    let mut ids = Vec::new();
    for i in 1..=count {
        let user_name = unique_email(&format!("{local}{i}"), DOMAIN);
        ids.push(
            scim.create_user(&user_body(&user_name, "Pager", &format!("No {i}")))
                .await,
        );
    }
    ids
}

async fn pages_of_three_do_not_overlap(stack: &TestStack) {
    let scim = stack.client();
    let mut created = create_users(stack, "pager", 7).await;

    let first = scim.get("Users?startIndex=1&count=3").await;
    let second = scim.get("Users?startIndex=4&count=3").await;
    let last = scim.get("Users?startIndex=7&count=3").await;

    assert_eq!(first.body["totalResults"], 7, "{first}");
    assert_eq!(first.body["startIndex"], 1);
    assert_eq!(first.body["itemsPerPage"], 3);
    assert_eq!(second.body["startIndex"], 4);
    assert_eq!(second.body["itemsPerPage"], 3);
    assert_eq!(last.body["startIndex"], 7);
    assert_eq!(last.body["itemsPerPage"], 1);
    let mut listed: Vec<String> = [&first, &second, &last]
        .iter()
        .flat_map(|page| resource_ids(&page.body))
        .collect();
    listed.sort();
    created.sort();
    assert_eq!(
        listed, created,
        "the three pages do not hold each user exactly once"
    );
}

async fn count_zero_returns_total_only(stack: &TestStack) {
    let scim = stack.client();
    create_users(stack, "keel", 2).await;

    let zero = scim.get("Users?count=0").await;
    let negative = scim.get("Users?count=-5").await;

    assert_eq!(zero.status, 200, "{zero}");
    assert_eq!(zero.body["totalResults"], 2);
    assert_eq!(count_of(&zero.body, "Resources"), 0);
    assert_eq!(zero.body["itemsPerPage"], 0);
    assert_eq!(negative.status, 200, "{negative}");
    assert_eq!(negative.body["totalResults"], 2);
    assert_eq!(count_of(&negative.body, "Resources"), 0);
}

async fn out_of_range_paging_is_clamped(stack: &TestStack) {
    let scim = stack.client();
    create_users(stack, "range", 3).await;

    let huge_count = scim.get("Users?count=1000000").await;
    let zero_start = scim.get("Users?startIndex=0&count=2").await;
    let negative_start = scim.get("Users?startIndex=-5&count=2").await;
    let huge_start = scim.get("Users?startIndex=1000000000000&count=2").await;

    assert_eq!(huge_count.status, 200, "{huge_count}");
    assert_eq!(huge_count.body["itemsPerPage"], 3);
    assert_eq!(count_of(&huge_count.body, "Resources"), 3);
    assert_eq!(zero_start.body["startIndex"], 1, "{zero_start}");
    assert_eq!(count_of(&zero_start.body, "Resources"), 2);
    assert_eq!(negative_start.body["startIndex"], 1, "{negative_start}");
    assert_eq!(huge_start.status, 200, "{huge_start}");
    assert_eq!(huge_start.body["totalResults"], 3);
    assert_eq!(count_of(&huge_start.body, "Resources"), 0);
}
