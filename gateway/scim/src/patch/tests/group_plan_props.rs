use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn group_path() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,30}",
        "[a-zA-Z.\\[\\]\" :$]{0,24}",
        Just("members".to_owned()),
        Just("members[value eq \"a\"]".to_owned()),
        Just("members[value eq \"a\" or value eq \"b\"]".to_owned()),
        Just("members[display eq \"a\"]".to_owned()),
        Just("members[value eq \"a\"].display".to_owned()),
        Just("members.value".to_owned()),
        Just("displayName".to_owned()),
        Just("externalId".to_owned()),
        Just("id".to_owned()),
        Just("meta.created".to_owned()),
        Just(GROUP.to_owned()),
        Just(format!("{GROUP}:displayName")),
    ]
}

fn member_value() -> impl Strategy<Value = Value> {
    let member = (
        prop::option::of(prop_oneof![
            Just(json!("a")),
            Just(json!("b")),
            Just(json!("")),
            Just(json!(3)),
            Just(Value::Null)
        ]),
        prop::option::of(prop_oneof![Just(json!("Ada")), Just(json!(1))]),
        prop::option::of(Just(Value::Null)),
    )
        .prop_map(|(value, display, reference)| {
            let mut object = serde_json::Map::new();
            if let Some(value) = value {
                object.insert("value".to_owned(), value);
            }
            if let Some(display) = display {
                object.insert("display".to_owned(), display);
            }
            if let Some(reference) = reference {
                object.insert("$ref".to_owned(), reference);
            }
            Value::Object(object)
        });
    prop_oneof![
        prop::collection::vec(member.clone(), 0..4).prop_map(Value::Array),
        member,
        arbitrary_json(),
        prop::collection::btree_map(
            prop_oneof![
                Just("members".to_owned()),
                Just("displayName".to_owned()),
                Just("ExternalId".to_owned()),
                Just("id".to_owned()),
                "[a-zA-Z.\\[\\] ]{0,12}"
            ],
            arbitrary_json(),
            0..4
        )
        .prop_map(|map| Value::Object(map.into_iter().collect())),
    ]
}

fn group_operation() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("add"), Just("Replace"), Just("REMOVE")],
        prop::option::of(group_path()),
        prop::option::of(member_value()),
    )
        .prop_map(|(op, path, value)| {
            let mut operation = json!({"op": op});
            if let Some(path) = path {
                operation["path"] = json!(path);
            }
            if let Some(value) = value {
                operation["value"] = value;
            }
            operation
        })
}

fn member_list(min: usize) -> impl Strategy<Value = Value> {
    let id = prop_oneof![Just("a"), Just("b"), Just("c"), Just("d")];
    prop::collection::vec(id.prop_map(|id| json!({"value": id})), min..4).prop_map(Value::Array)
}

/// Operations that both the apply engine and the planner support with the
/// same meaning. `add` with an empty list is left out: the engine treats it as
/// unassigning `members`, while the plan adds nothing.
fn membership_operation() -> impl Strategy<Value = Value> {
    let ids = prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("e")], 1..3);
    prop_oneof![
        member_list(1).prop_map(|list| json!({"op": "add", "path": "members", "value": list})),
        member_list(0).prop_map(|list| json!({"op": "replace", "path": "members", "value": list})),
        member_list(0).prop_map(|list| json!({"op": "remove", "path": "members", "value": list})),
        Just(json!({"op": "remove", "path": "members"})),
        ids.prop_map(|ids| {
            let terms: Vec<String> = ids.iter().map(|id| format!("value eq \"{id}\"")).collect();
            json!({"op": "remove", "path": format!("members[{}]", terms.join(" or "))})
        }),
        member_list(1).prop_map(|list| json!({"op": "add", "value": {"members": list}})),
        member_list(0).prop_map(|list| json!({"op": "replace", "value": {"members": list}})),
    ]
}

/// Runs a plan's membership operations on a set of member ids.
fn run_plan(initial: &[&str], plan: &GroupPatchPlan) -> BTreeSet<String> {
    let mut members: BTreeSet<String> = initial.iter().map(|id| (*id).to_owned()).collect();
    for operation in &plan.operations {
        match operation {
            MemberOperation::Add(added) => {
                members.extend(added.iter().map(|member| member.value.clone()));
            }
            MemberOperation::Remove(removed) => {
                for id in removed {
                    members.remove(id);
                }
            }
            MemberOperation::Replace(replacement) => {
                members = replacement
                    .iter()
                    .map(|member| member.value.clone())
                    .collect();
            }
            MemberOperation::Clear => members.clear(),
        }
    }
    members
}

proptest! {
    #[test]
    fn plan_never_panics(operations in prop::collection::vec(group_operation(), 1..5)) {
        if let Ok(parsed) = PatchRequest::from_json(&json!({"Operations": operations})) {
            let _ = plan_group_patch(&parsed);
        }
    }

    #[test]
    fn plan_of_arbitrary_request_never_panics(operations in prop::collection::vec(arbitrary_operation(), 1..5)) {
        if let Ok(parsed) = PatchRequest::from_json(&json!({"Operations": operations})) {
            let _ = plan_group_patch(&parsed);
        }
    }

    #[test]
    fn members_from_resource_never_panics(resource in arbitrary_json(), members in member_value()) {
        let _ = group_members_from_resource(&resource);
        let _ = group_members_from_resource(&json!({"members": members}));
    }

    #[test]
    fn plan_agrees_with_apply(operations in prop::collection::vec(membership_operation(), 1..6)) {
        let parsed = request(Value::Array(operations));
        let mut resource = group();
        let initial = member_ids(&resource).into_iter().map(str::to_owned).collect::<Vec<_>>();

        let plan = plan_group_patch(&parsed).unwrap();
        apply(&mut resource, &parsed, ResourceSchema::group()).unwrap();

        let initial: Vec<&str> = initial.iter().map(String::as_str).collect();
        let applied: BTreeSet<String> = member_ids(&resource).into_iter().map(str::to_owned).collect();
        prop_assert_eq!(run_plan(&initial, &plan), applied);
    }
}
