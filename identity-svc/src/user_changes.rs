//! Attribute-level differences between two versions of a stored user, as
//! `UserUpdated` events report them.

use std::collections::BTreeSet;

use proto::events::v1::AttributeChange;
use serde_json::Value;

use crate::{
    convert::{user_document, user_message},
    error::StoreError,
    store::UserRecord,
};

/// Schema URN of the enterprise User extension (RFC 7643 section 4.3),
/// the name under which a change of any enterprise attribute is reported.
pub(crate) const ENTERPRISE_USER_URN: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Key of the enterprise extension in the stored document.
const ENTERPRISE_KEY: &str = "enterprise";

/// Keys never reported: resource metadata, and `password`. The service
/// never stores a password, and skipping the key keeps one out of every
/// event even if a document ever carried it.
const SKIPPED_KEYS: &[&str] = &["id", "meta", "schemas", "password"];

/// Returns the SCIM document of a stored user, with the columns that
/// duplicate document attributes (`userName`, `externalId`, `active`)
/// applied, and without `id` and `meta`.
pub(crate) fn user_state(record: &UserRecord) -> Result<Value, StoreError> {
    let user = user_message(record)?;
    user_document(&user).map_err(|error| {
        StoreError::InvalidRow(format!(
            "user {} cannot be encoded as JSON: {error}",
            record.id
        ))
    })
}

/// Returns one change per top-level attribute whose value differs between
/// the documents `before` and `after`, ordered by document key. `before`
/// and `after` of each change are the compact JSON of the values, or empty
/// when the attribute is unassigned.
///
/// Null, an empty array and an empty object are all unassigned, as RFC 7643
/// section 2.5 makes them equivalent, so rewriting `"title": null` as an
/// absent title is no change.
pub(crate) fn attribute_changes(before: &Value, after: &Value) -> Vec<AttributeChange> {
    let keys: BTreeSet<&str> = object_keys(before).chain(object_keys(after)).collect();
    let mut changes = Vec::new();
    for key in keys {
        if SKIPPED_KEYS.contains(&key) {
            continue;
        }
        let old = before.get(key).and_then(assigned);
        let new = after.get(key).and_then(assigned);
        if old == new {
            continue;
        }
        let attribute = if key == ENTERPRISE_KEY {
            ENTERPRISE_USER_URN
        } else {
            key
        };
        changes.push(AttributeChange {
            attribute: attribute.to_owned(),
            before: compact_json(old.as_ref()),
            after: compact_json(new.as_ref()),
        });
    }
    changes
}

fn object_keys(document: &Value) -> impl Iterator<Item = &str> {
    document
        .as_object()
        .into_iter()
        .flat_map(|map| map.keys().map(String::as_str))
}

/// Returns the value without its unassigned parts, or `None` when nothing
/// is assigned.
fn assigned(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Array(items) => {
            let items: Vec<Value> = items.iter().filter_map(assigned).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(map) => {
            let map: serde_json::Map<String, Value> = map
                .iter()
                .filter_map(|(key, item)| assigned(item).map(|item| (key.clone(), item)))
                .collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        Value::Bool(_) | Value::Number(_) | Value::String(_) => Some(value.clone()),
    }
}

fn compact_json(value: Option<&Value>) -> String {
    value.map(Value::to_string).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn change(attribute: &str, before: &str, after: &str) -> AttributeChange {
        AttributeChange {
            attribute: attribute.to_owned(),
            before: before.to_owned(),
            after: after.to_owned(),
        }
    }

    #[test]
    fn equal_documents_have_no_changes() {
        let document = json!({"userName": "ada", "active": true, "emails": [{"value": "a@b"}]});

        assert!(attribute_changes(&document, &document).is_empty());
    }

    #[test]
    fn changed_attribute_reports_compact_values() {
        let before = json!({"userName": "ada", "name": {"givenName": "Ada"}});
        let after = json!({"userName": "ada", "name": {"givenName": "Adeline"}});

        let changes = attribute_changes(&before, &after);

        assert_eq!(
            changes,
            vec![change(
                "name",
                r#"{"givenName":"Ada"}"#,
                r#"{"givenName":"Adeline"}"#
            )]
        );
    }

    #[test]
    fn added_and_removed_attributes_use_empty_strings() {
        let before = json!({"title": "Engineer"});
        let after = json!({"nickName": "Ada"});

        let changes = attribute_changes(&before, &after);

        assert_eq!(
            changes,
            vec![
                change("nickName", "", r#""Ada""#),
                change("title", r#""Engineer""#, ""),
            ]
        );
    }

    #[test]
    fn null_and_empty_values_are_unassigned() {
        let before = json!({"title": null, "emails": [], "name": {"givenName": null}});
        let after = json!({"emails": null});

        assert!(attribute_changes(&before, &after).is_empty());
    }

    #[test]
    fn null_sub_attributes_are_left_out() {
        let before = json!({});
        let after = json!({"emails": [{"value": "a@b", "display": null}]});

        let changes = attribute_changes(&before, &after);

        assert_eq!(changes, vec![change("emails", "", r#"[{"value":"a@b"}]"#)]);
    }

    #[test]
    fn enterprise_change_named_by_urn() {
        let before = json!({"enterprise": {"department": "Legal"}});
        let after = json!({"enterprise": {"department": "Tax"}});

        let changes = attribute_changes(&before, &after);

        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].attribute, ENTERPRISE_USER_URN);
    }

    #[test]
    fn password_and_metadata_never_reported() {
        let before = json!({"id": "1", "password": "old-secret", "schemas": ["a"]});
        let after = json!({"id": "2", "password": "new-secret", "meta": {"version": 2}});

        assert!(attribute_changes(&before, &after).is_empty());
    }
}
