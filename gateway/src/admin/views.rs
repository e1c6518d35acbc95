//! JSON shapes of the admin API's responses. Timestamps are RFC 3339 in
//! UTC; absent values are `null`.

use axum::http::HeaderMap;
use proto::identity::v1::{IdentityProvider, IdentitySettings, ScimToken, User};
use serde::Serialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::AppState;

/// A workspace's Identity & Access settings.
#[derive(Debug, Serialize)]
pub struct WorkspaceView {
    pub workspace_id: String,
    pub name: String,
    pub sso_enabled: bool,
    pub scim_entitled: bool,
    pub scim_enabled: bool,
    /// `entra`, `okta`, or `null` before setup.
    pub identity_provider: Option<&'static str>,
    /// The URL to paste into the identity provider, with the Entra ID flag
    /// when the workspace is set up for Entra ID.
    pub scim_url: String,
    pub domains: Vec<String>,
    /// Active tokens, newest first.
    pub tokens: Vec<TokenView>,
    /// Steps of an unfinished reset; empty when none is in progress.
    pub reset_pending: Vec<String>,
}

/// A SCIM token without its secret.
#[derive(Debug, Serialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created: Option<String>,
    pub last_used: Option<String>,
    pub expires: Option<String>,
    pub revoked: Option<String>,
}

/// A user as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub user_name: String,
    pub emails: Vec<String>,
    pub active: bool,
    pub scim_managed: bool,
    pub external_id: Option<String>,
    pub created: Option<String>,
    pub last_modified: Option<String>,
    pub version: i64,
}

impl WorkspaceView {
    pub fn new(app: &AppState, headers: &HeaderMap, settings: IdentitySettings) -> Self {
        let base = app.base_url(headers, &settings.workspace_id);
        let scim_url = if settings.scim_query.is_empty() {
            base
        } else {
            format!("{base}?{}", settings.scim_query)
        };
        Self {
            identity_provider: provider_name(settings.identity_provider()),
            workspace_id: settings.workspace_id,
            name: settings.workspace_name,
            sso_enabled: settings.sso_enabled,
            scim_entitled: settings.scim_entitled,
            scim_enabled: settings.scim_enabled,
            scim_url,
            domains: settings.domains,
            tokens: settings.tokens.iter().map(TokenView::from).collect(),
            reset_pending: settings.pending_reset_steps,
        }
    }
}

impl From<&ScimToken> for TokenView {
    fn from(token: &ScimToken) -> Self {
        Self {
            id: token.id.clone(),
            name: token.name.clone(),
            prefix: token.prefix.clone(),
            created: rfc3339(token.created.as_ref()),
            last_used: rfc3339(token.last_used.as_ref()),
            expires: rfc3339(token.expires.as_ref()),
            revoked: rfc3339(token.revoked.as_ref()),
        }
    }
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        let meta = user.meta.unwrap_or_default();
        Self {
            id: user.id.clone(),
            user_name: user.user_name.clone(),
            emails: user
                .emails
                .iter()
                .filter_map(|email| email.value.clone())
                .collect(),
            active: user.active.unwrap_or(false),
            scim_managed: user.scim_managed,
            external_id: user.external_id.clone(),
            created: rfc3339(meta.created.as_ref()),
            last_modified: rfc3339(meta.last_modified.as_ref()),
            version: meta.version,
        }
    }
}

/// Returns the API name of an identity provider, `None` when unspecified.
pub fn provider_name(provider: IdentityProvider) -> Option<&'static str> {
    match provider {
        IdentityProvider::Entra => Some("entra"),
        IdentityProvider::Okta => Some("okta"),
        IdentityProvider::Unspecified => None,
    }
}

/// Formats a timestamp as RFC 3339 in UTC, or returns `None` when it is
/// absent.
pub(super) fn rfc3339(timestamp: Option<&prost_types::Timestamp>) -> Option<String> {
    let timestamp = timestamp?;
    let nanos = i128::from(timestamp.seconds) * 1_000_000_000 + i128::from(timestamp.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()?
        .format(&Rfc3339)
        .ok()
}
