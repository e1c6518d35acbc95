//! JSON representations for the `/Schemas` (RFC 7643 section 7) and
//! `/ResourceTypes` (RFC 7643 section 6) discovery endpoints.

use serde_json::{Map, Value, json};

use super::{
    AttributeDefinition, AttributeType, ENTERPRISE_USER_SCHEMA, GROUP_RESOURCE, GROUP_SCHEMA,
    RESOURCE_TYPE, ResourceSchema, SCHEMA, SchemaDefinition, USER_RESOURCE, USER_SCHEMA,
};

/// Builds the `/Schemas` resources for User, enterprise User and Group, in that order.
///
/// `base_location` is the SCIM base URL, such as `https://example.com/scim/v2`;
/// each resource's `meta.location` is `{base_location}/Schemas/{urn}`. The caller
/// wraps the array in a ListResponse.
pub fn schemas_json(base_location: &str) -> Value {
    let schemas = [&USER_SCHEMA, &ENTERPRISE_USER_SCHEMA, &GROUP_SCHEMA];
    Value::Array(
        schemas
            .iter()
            .map(|schema| schema_json(schema, base_location))
            .collect(),
    )
}

/// Builds the `/Schemas/{id}` representation of one schema.
pub fn schema_json(schema: &SchemaDefinition, base_location: &str) -> Value {
    let base = base_location.trim_end_matches('/');
    json!({
        "schemas": [SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base}/Schemas/{}", schema.id),
        },
    })
}

/// Builds the `/ResourceTypes` resources for User and Group, in that order. The
/// caller wraps the array in a ListResponse.
pub fn resource_types_json(base_location: &str) -> Value {
    let resources = [&USER_RESOURCE, &GROUP_RESOURCE];
    Value::Array(
        resources
            .iter()
            .map(|resource| resource_type_json(resource, base_location))
            .collect(),
    )
}

fn resource_type_json(resource: &ResourceSchema, base_location: &str) -> Value {
    let base = base_location.trim_end_matches('/');
    let mut body = json!({
        "schemas": [RESOURCE_TYPE],
        "id": resource.name,
        "name": resource.name,
        "endpoint": resource.endpoint,
        "description": resource.core.description,
        "schema": resource.core.id,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/{}", resource.name),
        },
    });
    if let (Some(extension), Some(object)) = (resource.enterprise, body.as_object_mut()) {
        object.insert(
            "schemaExtensions".to_owned(),
            json!([{ "schema": extension.id, "required": false }]),
        );
    }
    body
}

fn attribute_json(attribute: &AttributeDefinition) -> Value {
    let mut object = Map::new();
    object.insert("name".to_owned(), json!(attribute.name));
    object.insert("type".to_owned(), json!(attribute.data_type.as_str()));
    object.insert("multiValued".to_owned(), json!(attribute.multi_valued));
    object.insert("description".to_owned(), json!(attribute.description));
    object.insert("required".to_owned(), json!(attribute.required));
    object.insert("caseExact".to_owned(), json!(attribute.case_exact));
    object.insert(
        "mutability".to_owned(),
        json!(attribute.mutability.as_str()),
    );
    object.insert("returned".to_owned(), json!(attribute.returned.as_str()));
    object.insert(
        "uniqueness".to_owned(),
        json!(attribute.uniqueness.as_str()),
    );

    if !attribute.canonical_values.is_empty() {
        object.insert(
            "canonicalValues".to_owned(),
            json!(attribute.canonical_values),
        );
    }
    if attribute.data_type == AttributeType::Reference {
        object.insert(
            "referenceTypes".to_owned(),
            json!(attribute.reference_types),
        );
    }
    if attribute.is_complex() {
        let subs: Vec<Value> = attribute
            .sub_attributes
            .iter()
            .map(attribute_json)
            .collect();
        object.insert("subAttributes".to_owned(), Value::Array(subs));
    }
    Value::Object(object)
}
