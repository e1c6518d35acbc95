//! Workspace RPCs: creation with validated email domains, and lookup.
//! The SCIM switches are in `scim_lifecycle`, domain changes in `domains`.

use proto::identity::v1::{CreateWorkspaceRequest, GetWorkspaceRequest, Workspace};
use uuid::Uuid;

use crate::{
    IdentityService, convert::workspace_message, email_domain::normalize_domain_entry,
    error::ServiceError, now, store::WorkspaceRecord,
};

impl IdentityService {
    /// Creates a workspace. Domains are stored lower-case and IDNA-normalised,
    /// sorted and without duplicates.
    pub async fn create_workspace(
        &self,
        request: CreateWorkspaceRequest,
    ) -> Result<Workspace, ServiceError> {
        let name = request.name.trim();
        if name.is_empty() {
            return Err(ServiceError::invalid("name", "workspace name is required"));
        }
        let mut domains = request
            .domains
            .iter()
            .map(|entry| normalize_domain_entry(entry))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| {
                ServiceError::invalid(
                    "domains",
                    format!("{error}; use a host name such as example.com, or *.example.com for its subdomains"),
                )
            })?;
        domains.sort();
        domains.dedup();
        if request.scim_enabled && !request.sso_enabled {
            return Err(ServiceError::invalid(
                "scim_enabled",
                "SCIM requires SAML SSO; set sso_enabled as well",
            ));
        }

        let record = WorkspaceRecord {
            id: Uuid::now_v7().to_string(),
            name: name.to_owned(),
            domains,
            sso_enabled: request.sso_enabled,
            scim_enabled: request.scim_enabled,
            created: now(),
            // SCIM on at creation implies the plan includes it.
            scim_entitled: request.scim_entitled || request.scim_enabled,
            identity_provider: None,
            reset_pending: None,
            version: 1,
        };
        self.store.insert_workspace(&record).await?;
        tracing::info!(workspace_id = %record.id, "workspace created");
        Ok(workspace_message(&record))
    }

    /// Returns a workspace, or [`ServiceError::WorkspaceNotFound`] when missing.
    pub async fn get_workspace(
        &self,
        request: GetWorkspaceRequest,
    ) -> Result<Workspace, ServiceError> {
        let record = self.require_workspace(&request.workspace_id).await?;
        Ok(workspace_message(&record))
    }
}
