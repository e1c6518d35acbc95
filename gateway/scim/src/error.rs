//! SCIM protocol errors and their RFC 7644 section 3.12 JSON representation.

use serde_json::{Value, json};

use crate::schema::ERROR;

/// The `scimType` error keywords defined in RFC 7644 section 3.12, table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    /// The filter syntax is invalid or the filter names an unsupported attribute or operator.
    InvalidFilter,
    /// The filter yields more results than the server is willing to calculate or process.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The modification is incompatible with the target attribute's mutability.
    Mutability,
    /// The request body structure is invalid or does not conform to the schema.
    InvalidSyntax,
    /// The `path` attribute of a PATCH operation is invalid or malformed.
    InvalidPath,
    /// The PATCH path or filter matched no attribute or value.
    NoTarget,
    /// A required value is missing or a value is not compatible with the attribute type.
    InvalidValue,
    /// The requested protocol version is not supported.
    InvalidVers,
    /// The request would disclose sensitive information, such as a secret in a URL.
    Sensitive,
}

impl ScimType {
    /// Returns the keyword as it appears in the `scimType` member of an error body.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM error: the HTTP status, the optional `scimType` keyword and a detail
/// sentence that is safe to send to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {detail}")]
pub struct ScimError {
    /// HTTP status code of the response.
    pub status: u16,
    /// RFC 7644 `scimType` keyword, present only for status 400, 409 and 413 errors.
    pub scim_type: Option<ScimType>,
    /// Human-readable explanation that names the offending attribute or value.
    pub detail: String,
}

impl ScimError {
    /// Creates an error with any status, scimType and detail.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    /// Creates a 400 `invalidFilter` error.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    /// Creates a 400 `invalidPath` error.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    /// Creates a 400 `invalidValue` error.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    /// Creates a 400 `invalidSyntax` error.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    /// Creates a 400 `noTarget` error.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    /// Creates a 400 `mutability` error.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    /// Creates a 400 `invalidVers` error.
    pub fn invalid_vers(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidVers, detail)
    }

    /// Creates a 403 `sensitive` error, the status RFC 7644 section 3.12 gives this keyword.
    pub fn sensitive(detail: impl Into<String>) -> Self {
        Self::new(403, Some(ScimType::Sensitive), detail)
    }

    /// Creates a 409 `uniqueness` error.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// Creates a 400 `tooMany` error for a filter that matches more results than the server returns.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::TooMany, detail)
    }

    /// Creates a 413 error for a request over a size or operation limit.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }

    /// Creates a 404 error.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    /// Creates a 412 error for a stale `If-Match` version.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }

    /// Creates a 401 error.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }

    /// Creates a 403 error.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, None, detail)
    }

    /// Creates a 500 error. The detail is sent to the client, so it must not carry internal text.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(500, None, detail)
    }

    /// Creates a 501 error for an operation the server does not support.
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(501, None, detail)
    }

    /// Builds the RFC 7644 section 3.12 error body, with `status` as a string.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(scim_type), Some(object)) = (self.scim_type, body.as_object_mut()) {
            object.insert(
                "scimType".to_owned(),
                Value::String(scim_type.as_str().to_owned()),
            );
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_json_invalid_filter_body() {
        let error = ScimError::invalid_filter("The filter is invalid.");

        let body = error.to_json();

        assert_eq!(
            body,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "The filter is invalid.",
            })
        );
    }

    #[test]
    fn to_json_not_found_has_no_scim_type() {
        let error = ScimError::not_found("User 42 not found.");

        let body = error.to_json();

        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
    }

    #[test]
    fn uniqueness_is_409() {
        let error = ScimError::uniqueness("userName is already in use.");

        assert_eq!(error.status, 409);
        assert_eq!(error.scim_type, Some(ScimType::Uniqueness));
    }

    #[test]
    fn scim_type_keywords_match_rfc() {
        let cases = [
            (ScimType::InvalidFilter, "invalidFilter"),
            (ScimType::TooMany, "tooMany"),
            (ScimType::Uniqueness, "uniqueness"),
            (ScimType::Mutability, "mutability"),
            (ScimType::InvalidSyntax, "invalidSyntax"),
            (ScimType::InvalidPath, "invalidPath"),
            (ScimType::NoTarget, "noTarget"),
            (ScimType::InvalidValue, "invalidValue"),
            (ScimType::InvalidVers, "invalidVers"),
            (ScimType::Sensitive, "sensitive"),
        ];

        for (scim_type, keyword) in cases {
            assert_eq!(scim_type.as_str(), keyword);
        }
    }
}
