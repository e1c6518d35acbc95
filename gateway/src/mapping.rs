//! Converts between SCIM User JSON and the identity service's `User`
//! message.
//!
//! The generated `User` types derive serde with SCIM's camelCase attribute
//! names, so a normalised SCIM body maps onto them directly. The only
//! structural difference is the enterprise extension: SCIM nests it under
//! its schema URN, the message under `enterprise`.

use proto::identity::v1::User;
use scim_protocol::{error::ScimType, schema};
use serde_json::{Map, Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{error::ApiError, request::etag};

const ENTERPRISE_FIELD: &str = "enterprise";

/// Builds a `User` message from a normalised SCIM User body.
pub fn user_from_scim(resource: &Value) -> Result<User, ApiError> {
    let Some(object) = resource.as_object() else {
        return Err(ApiError::new(
            400,
            Some(ScimType::InvalidSyntax),
            "A User must be a JSON object.",
        ));
    };

    let mut fields = Map::new();
    for (key, value) in object {
        if key == schema::ENTERPRISE_USER {
            fields.insert(ENTERPRISE_FIELD.to_owned(), value.clone());
        } else if key != "schemas" && key != "meta" {
            fields.insert(key.clone(), value.clone());
        }
    }

    serde_json::from_value(Value::Object(fields)).map_err(|error| {
        ApiError::new(
            400,
            Some(ScimType::InvalidValue),
            format!("The User contains a value of the wrong type: {error}."),
        )
    })
}

/// Renders a `User` message as SCIM JSON with `schemas` and `meta`.
/// Unset attributes are left out, as RFC 7643 section 2.5 allows.
pub fn user_to_scim(user: &User, location: &str) -> Value {
    let mut value = serde_json::to_value(user).unwrap_or(Value::Null);
    prune(&mut value);
    let mut object = match value {
        Value::Object(object) => object,
        _ => Map::new(),
    };

    let mut schemas = vec![Value::from(schema::USER)];
    if let Some(enterprise) = object.remove(ENTERPRISE_FIELD) {
        schemas.push(Value::from(schema::ENTERPRISE_USER));
        object.insert(schema::ENTERPRISE_USER.to_owned(), enterprise);
    }
    object.insert("schemas".to_owned(), Value::Array(schemas));
    object.insert("id".to_owned(), Value::from(user.id.clone()));
    let meta = user.meta.as_ref().map(|meta| {
        (
            meta.created.as_ref(),
            meta.last_modified.as_ref(),
            meta.version,
        )
    });
    object.insert("meta".to_owned(), meta_json("User", meta, location));
    Value::Object(object)
}

/// Returns the version stored in a message's `meta`, or 0 when absent.
pub fn version_of(user: &User) -> i64 {
    user.meta.as_ref().map_or(0, |meta| meta.version)
}

/// Builds a resource's `meta` from its created and modified times and
/// version (RFC 7643 section 3.1).
pub fn meta_json(
    resource_type: &str,
    meta: Option<(
        Option<&prost_types::Timestamp>,
        Option<&prost_types::Timestamp>,
        i64,
    )>,
    location: &str,
) -> Value {
    let mut object = Map::new();
    object.insert("resourceType".to_owned(), Value::from(resource_type));
    if let Some((created, last_modified, version)) = meta {
        if let Some(created) = created.and_then(format_timestamp) {
            object.insert("created".to_owned(), Value::from(created));
        }
        if let Some(modified) = last_modified.and_then(format_timestamp) {
            object.insert("lastModified".to_owned(), Value::from(modified));
        }
        object.insert("version".to_owned(), Value::from(etag(version)));
    }
    object.insert("location".to_owned(), Value::from(location));
    Value::Object(object)
}

fn format_timestamp(timestamp: &prost_types::Timestamp) -> Option<String> {
    let nanos = i128::from(timestamp.seconds) * 1_000_000_000 + i128::from(timestamp.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// Removes nulls, empty arrays and empty objects so responses carry only
/// assigned values.
fn prune(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.retain(|_, child| {
                prune(child);
                !is_empty(child)
            });
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                prune(item);
            }
            items.retain(|item| !is_empty(item));
        }
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(object) => object.is_empty(),
        _ => false,
    }
}

/// Builds a SCIM ListResponse (RFC 7644 section 3.4.2).
pub fn list_response(resources: Vec<Value>, total_results: i64, start_index: i64) -> Value {
    json!({
        "schemas": [schema::LIST_RESPONSE],
        "totalResults": total_results,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enterprise_attributes_move_under_their_urn() {
        let scim = json!({
            "userName": "a@example.com",
            schema::ENTERPRISE_USER: {"department": "Tax", "manager": {"value": "m1"}},
        });

        let user = user_from_scim(&scim).unwrap();
        let back = user_to_scim(&user, "https://x/Users/1");

        assert_eq!(back[schema::ENTERPRISE_USER]["department"], "Tax");
        assert_eq!(back[schema::ENTERPRISE_USER]["manager"]["value"], "m1");
    }

    #[test]
    fn unset_attributes_are_left_out() {
        let user = user_from_scim(&json!({"userName": "a@example.com"})).unwrap();

        let scim = user_to_scim(&user, "https://x/Users/1");

        assert!(scim.get("name").is_none());
        assert!(scim.get("emails").is_none());
        assert!(scim.get(schema::ENTERPRISE_USER).is_none());
    }

    #[test]
    fn ref_keeps_its_dollar_name() {
        let user =
            user_from_scim(&json!({"userName": "a", "photos": [{"value": "v", "$ref": "r"}]}))
                .unwrap();

        let scim = user_to_scim(&user, "l");

        assert_eq!(scim["photos"][0]["$ref"], "r");
    }

    #[test]
    fn wrong_type_is_invalid_value() {
        let error = user_from_scim(&json!({"userName": "a", "name": "not an object"})).unwrap_err();

        assert_eq!(error.error.scim_type, Some(ScimType::InvalidValue));
    }
}
