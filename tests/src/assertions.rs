//! Assertions on SCIM responses shared by the scenarios.

use serde_json::Value;

use crate::{
    ScimResponse,
    fixtures::{ERROR_URN, LIST_RESPONSE_URN, has_schema, resource_ids},
};

/// Asserts that `list` is a ListResponse with `total` results whose page
/// contains exactly the users `ids`, in that order.
pub fn assert_list(list: &Value, total: u64, ids: &[&str]) {
    assert!(
        has_schema(list, LIST_RESPONSE_URN),
        "not a ListResponse: {list}"
    );
    assert_eq!(
        list["totalResults"].as_u64(),
        Some(total),
        "totalResults of {list}"
    );
    assert_eq!(resource_ids(list), ids, "Resources ids of {list}");
}

/// Asserts a SCIM error with this status and `scimType`.
pub fn assert_error(response: &ScimResponse, status: u16, scim_type: Option<&str>) {
    assert_eq!(response.status, status, "status of {response}");
    assert!(
        has_schema(&response.body, ERROR_URN),
        "not a SCIM Error: {response}"
    );
    assert!(
        response.body["detail"].is_string(),
        "error without detail: {response}"
    );
    if let Some(scim_type) = scim_type {
        assert_eq!(
            response.body["scimType"], scim_type,
            "scimType of {response}"
        );
    }
}

/// Asserts a 2xx response to a PATCH (200 with the resource or 204).
pub fn assert_patched(response: &ScimResponse) {
    assert!(
        matches!(response.status, 200 | 204),
        "PATCH was not applied: {response}"
    );
}
