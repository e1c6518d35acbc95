//! Conversions between proto messages and storage records.

use proto::identity::v1::{IdentityProvider, IdentitySettings, Meta, ScimToken, User, Workspace};
use serde_json::Value;
use time::OffsetDateTime;

use crate::{
    error::StoreError,
    store::{TokenRecord, UserRecord, WorkspaceRecord},
};

/// Converts a timestamp to its protobuf form.
pub fn timestamp(at: OffsetDateTime) -> prost_types::Timestamp {
    let nanos = at.unix_timestamp_nanos();
    prost_types::Timestamp {
        seconds: i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(i64::MAX),
        nanos: i32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0),
    }
}

pub fn workspace_message(record: &WorkspaceRecord) -> Workspace {
    Workspace {
        id: record.id.clone(),
        name: record.name.clone(),
        domains: record.domains.clone(),
        sso_enabled: record.sso_enabled,
        scim_enabled: record.scim_enabled,
        created: Some(timestamp(record.created)),
        scim_entitled: record.scim_entitled,
    }
}

/// Builds the Identity & Access settings of a workspace. `tokens` are the
/// active tokens to list.
pub fn settings_message(record: &WorkspaceRecord, tokens: &[TokenRecord]) -> IdentitySettings {
    let identity_provider = identity_provider_from_name(record.identity_provider.as_deref());
    let scim_query = match identity_provider {
        IdentityProvider::Entra => "aadOptscim062020",
        IdentityProvider::Okta | IdentityProvider::Unspecified => "",
    };
    IdentitySettings {
        workspace_id: record.id.clone(),
        workspace_name: record.name.clone(),
        sso_enabled: record.sso_enabled,
        scim_entitled: record.scim_entitled,
        scim_enabled: record.scim_enabled,
        identity_provider: identity_provider as i32,
        scim_path: format!("/scim/v2/{}", record.id),
        scim_query: scim_query.to_owned(),
        domains: record.domains.clone(),
        tokens: tokens.iter().map(token_message).collect(),
        pending_reset_steps: record.reset_pending.clone().unwrap_or_default(),
    }
}

/// Returns the stored name of an identity provider, `None` for unspecified.
pub fn identity_provider_name(provider: IdentityProvider) -> Option<&'static str> {
    match provider {
        IdentityProvider::Entra => Some("entra"),
        IdentityProvider::Okta => Some("okta"),
        IdentityProvider::Unspecified => None,
    }
}

fn identity_provider_from_name(name: Option<&str>) -> IdentityProvider {
    match name {
        Some("entra") => IdentityProvider::Entra,
        Some("okta") => IdentityProvider::Okta,
        _ => IdentityProvider::Unspecified,
    }
}

pub fn token_message(record: &TokenRecord) -> ScimToken {
    ScimToken {
        id: record.id.clone(),
        workspace_id: record.workspace_id.clone(),
        name: record.name.clone(),
        prefix: record.prefix.clone(),
        created: Some(timestamp(record.created)),
        last_used: record.last_used.map(timestamp),
        expires: record.expires.map(timestamp),
        revoked: record.revoked.map(timestamp),
    }
}

/// Returns the stored document of `user`: its serde JSON without `id` (and
/// without `meta`, which serde skips).
pub fn user_document(user: &User) -> Result<Value, serde_json::Error> {
    let mut document = serde_json::to_value(user)?;
    if let Value::Object(map) = &mut document {
        map.remove("id");
    }
    Ok(document)
}

/// Rebuilds the proto user from a row. The columns are authoritative for
/// the attributes they duplicate.
pub fn user_message(record: &UserRecord) -> Result<User, StoreError> {
    let mut user: User = serde_json::from_value(record.attributes.clone()).map_err(|error| {
        StoreError::InvalidRow(format!(
            "user {} has an invalid document: {error}",
            record.id
        ))
    })?;
    user.id = record.id.clone();
    user.user_name = record.user_name.clone();
    user.external_id = record.external_id.clone();
    // The document keeps whether `active` is assigned and the column its value.
    user.active = user.active.map(|_| record.active);
    user.meta = Some(Meta {
        created: Some(timestamp(record.created)),
        last_modified: Some(timestamp(record.last_modified)),
        version: record.version,
    });
    user.scim_managed = record.scim_managed;
    Ok(user)
}
