use serde_json::json;

use super::*;

#[test]
fn apply_add_members_appends() {
    let resource = patch_group(
        json!([{"op": "add", "path": "members", "value": [{"value": "c", "display": "Vesna"}]}]),
    )
    .unwrap();

    assert_eq!(member_ids(&resource), vec!["a", "b", "c"]);
}

#[test]
fn apply_add_existing_member_is_no_op() {
    let mut resource = group();

    let changed = apply(
        &mut resource,
        &request(json!([{"op": "add", "path": "members", "value": [{"value": "a", "display": "Theodora"}]}])),
        ResourceSchema::group(),
    )
    .unwrap();

    assert!(!changed);
    assert_eq!(member_ids(&resource), vec!["a", "b"]);
}

#[test]
fn apply_add_members_with_null_ref() {
    let resource = patch_group(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "c"}, {"$ref": null, "value": "d"}]}])).unwrap();

    assert_eq!(member_ids(&resource), vec!["a", "b", "c", "d"]);
    assert_eq!(resource["members"][2], json!({"value": "c"}));
}

#[test]
fn apply_replace_members_sets_exact_list() {
    let resource = patch_group(json!([{"op": "replace", "path": "members", "value": [{"value": "b", "display": "Quillon"}, {"value": "c", "display": "Rosalind"}]}])).unwrap();

    assert_eq!(member_ids(&resource), vec!["b", "c"]);
}

#[test]
fn apply_remove_member_by_filter() {
    let resource =
        patch_group(json!([{"op": "remove", "path": "members[value eq \"b\"]"}])).unwrap();

    assert_eq!(member_ids(&resource), vec!["a"]);
}

#[test]
fn apply_remove_member_by_value_list() {
    let resource = patch_group(
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "b"}]}]),
    )
    .unwrap();

    assert_eq!(member_ids(&resource), vec!["a"]);
}

#[test]
fn apply_remove_absent_member_is_no_op() {
    let resource =
        patch_group(json!([{"op": "remove", "path": "members[value eq \"zz\"]"}])).unwrap();

    assert_eq!(member_ids(&resource), vec!["a", "b"]);
}

#[test]
fn apply_remove_and_add_members_in_one_request() {
    let resource = patch_group(json!([
        {"op": "remove", "path": "members[value eq \"b\"]"},
        {"op": "add", "path": "members", "value": [{"value": "c"}]}
    ]))
    .unwrap();

    assert_eq!(member_ids(&resource), vec!["a", "c"]);
}

#[test]
fn apply_remove_all_members() {
    let resource = patch_group(json!([{"op": "remove", "path": "members"}])).unwrap();

    assert!(resource.get("members").is_none());
}

#[test]
fn apply_group_rename() {
    let resource =
        patch_group(json!([{"op": "Replace", "path": "displayName", "value": "Tide Keepers"}]))
            .unwrap();

    assert_eq!(resource["displayName"], "Tide Keepers");
}
