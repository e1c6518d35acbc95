//! Adding and removing a workspace's email domains. Entries are normalised
//! as at creation (lower-case, IDNA to ASCII, `*.` for subdomains), so a
//! domain differing only in case or script is the same entry.

use proto::events::v1::{DomainAdded, DomainRemoved, event::Payload};

use crate::{
    IdentityService, email_domain::normalize_domain_entry, error::ServiceError, now,
    outbox::workspace_event,
};

impl IdentityService {
    /// Adds a domain and returns the workspace's domains. Adding a listed
    /// domain changes nothing.
    pub async fn add_workspace_domain(
        &self,
        workspace_id: &str,
        domain: &str,
    ) -> Result<Vec<String>, ServiceError> {
        self.require_workspace(workspace_id).await?;
        let entry = normalize(domain)?;

        let event = workspace_event(
            workspace_id,
            Payload::DomainAdded(DomainAdded {
                domain: entry.clone(),
            }),
            now(),
        );
        if self.store.add_domain(workspace_id, &entry, &event).await? {
            self.outbox_signal.notify();
            tracing::info!(workspace_id = %workspace_id, domain = %entry, "workspace domain added");
        }
        Ok(self.require_workspace(workspace_id).await?.domains)
    }

    /// Removes a domain and returns the workspace's domains. Users keep
    /// their addresses; the rule applies to their next write.
    pub async fn remove_workspace_domain(
        &self,
        workspace_id: &str,
        domain: &str,
    ) -> Result<Vec<String>, ServiceError> {
        self.require_workspace(workspace_id).await?;
        let entry = normalize(domain)?;

        let event = workspace_event(
            workspace_id,
            Payload::DomainRemoved(DomainRemoved {
                domain: entry.clone(),
            }),
            now(),
        );
        if !self
            .store
            .remove_domain(workspace_id, &entry, &event)
            .await?
        {
            return Err(ServiceError::DomainNotFound(entry));
        }
        self.outbox_signal.notify();
        tracing::info!(workspace_id = %workspace_id, domain = %entry, "workspace domain removed");
        Ok(self.require_workspace(workspace_id).await?.domains)
    }
}

fn normalize(domain: &str) -> Result<String, ServiceError> {
    normalize_domain_entry(domain).map_err(|error| {
        ServiceError::invalid(
            "domain",
            format!(
                "{error}; use a host name such as example.com, or *.example.com for its subdomains"
            ),
        )
    })
}
