//! Static registry of the SCIM schemas this product serves: RFC 7643 User, Group
//! and the enterprise User extension, with case-insensitive attribute lookup.

mod attribute;
mod definitions;
mod json;

pub use attribute::{AttributeDefinition, AttributeType, Mutability, Returned, Uniqueness};
pub use definitions::{COMMON_ATTRIBUTES, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
pub use json::{resource_types_json, schema_json, schemas_json};

use crate::error::ScimError;
use crate::path::{AttributePath, ResolvedPath};

/// Core User schema URN (RFC 7643 section 4.1).
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Enterprise User extension URN (RFC 7643 section 4.3).
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Core Group schema URN (RFC 7643 section 4.2).
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// ListResponse message URN (RFC 7644 section 3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// PatchOp message URN (RFC 7644 section 3.5.2).
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Error message URN (RFC 7644 section 3.12).
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// SearchRequest message URN for `POST .search` (RFC 7644 section 3.4.3).
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Schema URI that Microsoft Entra ID adds to group bodies. It defines no
/// attributes, so it is accepted and dropped.
pub const ENTRA_GROUP: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
/// Schema URN of the `/Schemas` resources themselves (RFC 7643 section 7).
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// Schema URN of the `/ResourceTypes` resources (RFC 7643 section 6).
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema URN of the `/ServiceProviderConfig` resource (RFC 7643 section 5).
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// Schema of a resource that defines an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaKind {
    /// The resource's core schema (User or Group), including the common attributes
    /// `id`, `externalId` and `meta`.
    Core,
    /// The enterprise User extension, stored under the [`ENTERPRISE_USER`] key.
    Enterprise,
}

/// One schema: its URN, name and attribute definitions.
#[derive(Debug, Clone, Copy)]
pub struct SchemaDefinition {
    /// Schema URN, which is also its `/Schemas` id.
    pub id: &'static str,
    /// Human-readable schema name.
    pub name: &'static str,
    /// Human-readable schema description.
    pub description: &'static str,
    /// Top-level attributes, in RFC order.
    pub attributes: &'static [AttributeDefinition],
}

impl SchemaDefinition {
    /// Finds a top-level attribute by name, ignoring ASCII case.
    pub fn attribute(&self, name: &str) -> Option<&'static AttributeDefinition> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
    }
}

/// A resource type's schemas: the core schema plus an optional enterprise extension.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchema {
    /// Resource type name, `User` or `Group`.
    pub name: &'static str,
    /// Endpoint relative to the SCIM base URL, `/Users` or `/Groups`.
    pub endpoint: &'static str,
    /// Core schema.
    pub core: &'static SchemaDefinition,
    /// Enterprise User extension, for Users only.
    pub enterprise: Option<&'static SchemaDefinition>,
}

/// The User resource type: core User schema plus the enterprise extension.
pub static USER_RESOURCE: ResourceSchema = ResourceSchema {
    name: "User",
    endpoint: "/Users",
    core: &USER_SCHEMA,
    enterprise: Some(&ENTERPRISE_USER_SCHEMA),
};

/// The Group resource type.
pub static GROUP_RESOURCE: ResourceSchema = ResourceSchema {
    name: "Group",
    endpoint: "/Groups",
    core: &GROUP_SCHEMA,
    enterprise: None,
};

/// Returns the User resource schema.
pub fn user() -> &'static ResourceSchema {
    &USER_RESOURCE
}

/// Returns the Group resource schema.
pub fn group() -> &'static ResourceSchema {
    &GROUP_RESOURCE
}

/// An attribute path resolved against a [`ResourceSchema`].
#[derive(Debug, Clone, Copy)]
pub struct ResolvedAttribute {
    /// Schema that defines the attribute.
    pub schema: SchemaKind,
    /// Top-level attribute definition.
    pub attribute: &'static AttributeDefinition,
    /// Sub-attribute definition when the path names one, as in `name.givenName`.
    pub sub_attribute: Option<&'static AttributeDefinition>,
}

impl ResolvedAttribute {
    /// Returns the canonical path of this attribute.
    pub fn path(&self) -> ResolvedPath {
        ResolvedPath {
            schema: self.schema,
            name: self.attribute.name.to_owned(),
            sub_attribute: self.sub_attribute.map(|sub| sub.name.to_owned()),
        }
    }

    /// Returns the definition the path points at: the sub-attribute if named, else the attribute.
    pub fn target(&self) -> &'static AttributeDefinition {
        self.sub_attribute.unwrap_or(self.attribute)
    }
}

impl ResourceSchema {
    /// Returns the User resource schema.
    pub fn user() -> &'static ResourceSchema {
        &USER_RESOURCE
    }

    /// Returns the Group resource schema.
    pub fn group() -> &'static ResourceSchema {
        &GROUP_RESOURCE
    }

    /// Returns the schema definition of one part of this resource.
    pub fn definition(&self, kind: SchemaKind) -> Option<&'static SchemaDefinition> {
        match kind {
            SchemaKind::Core => Some(self.core),
            SchemaKind::Enterprise => self.enterprise,
        }
    }

    /// Returns the URN of one part of this resource, if the resource has it.
    pub fn urn(&self, kind: SchemaKind) -> Option<&'static str> {
        self.definition(kind).map(|definition| definition.id)
    }

    /// Finds which schema of this resource a URN names, ignoring ASCII case.
    pub fn kind_for_urn(&self, urn: &str) -> Option<SchemaKind> {
        if self.core.id.eq_ignore_ascii_case(urn) {
            return Some(SchemaKind::Core);
        }
        match self.enterprise {
            Some(extension) if extension.id.eq_ignore_ascii_case(urn) => {
                Some(SchemaKind::Enterprise)
            }
            _ => None,
        }
    }

    /// Finds a top-level attribute of one schema by name, ignoring ASCII case.
    /// The core schema also contains the common attributes `id`, `externalId` and `meta`.
    pub fn attribute(&self, kind: SchemaKind, name: &str) -> Option<&'static AttributeDefinition> {
        let definition = self.definition(kind)?;
        let found = definition.attribute(name);
        match kind {
            SchemaKind::Core => found.or_else(|| {
                COMMON_ATTRIBUTES
                    .iter()
                    .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
            }),
            SchemaKind::Enterprise => found,
        }
    }

    /// Resolves a path to its attribute definitions, or returns `None` when the
    /// schema URN, attribute or sub-attribute is unknown.
    ///
    /// An unqualified name that the core schema lacks is looked up in the
    /// enterprise extension, so Entra's bare `manager` means the extension's manager.
    pub fn find(&self, path: &AttributePath) -> Option<ResolvedAttribute> {
        let (kind, attribute) = match &path.urn {
            Some(urn) => {
                let kind = self.kind_for_urn(urn)?;
                (kind, self.attribute(kind, &path.name)?)
            }
            None => match self.attribute(SchemaKind::Core, &path.name) {
                Some(attribute) => (SchemaKind::Core, attribute),
                None => (
                    SchemaKind::Enterprise,
                    self.attribute(SchemaKind::Enterprise, &path.name)?,
                ),
            },
        };

        let sub_attribute = match &path.sub_attribute {
            Some(name) => Some(attribute.sub_attribute(name)?),
            None => None,
        };
        Some(ResolvedAttribute {
            schema: kind,
            attribute,
            sub_attribute,
        })
    }

    /// Resolves a path to canonical names and attribute definitions.
    ///
    /// # Errors
    ///
    /// Returns 400 `invalidPath` naming the path when the schema URN, attribute
    /// or sub-attribute is not defined for this resource type.
    pub fn resolve(&self, path: &AttributePath) -> Result<ResolvedAttribute, ScimError> {
        self.find(path).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "The attribute '{path}' is not defined for {} resources.",
                self.name
            ))
        })
    }

    /// Returns whether a URI in `schemas` is known to this resource type or is
    /// one that clients send and the server ignores, such as [`ENTRA_GROUP`].
    pub fn accepts_schema_uri(&self, uri: &str) -> bool {
        self.kind_for_urn(uri).is_some() || uri.eq_ignore_ascii_case(ENTRA_GROUP)
    }
}

#[cfg(test)]
mod tests;
