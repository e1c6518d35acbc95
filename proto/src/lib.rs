//! Generated gRPC contracts, one module per service package.

/// `identity.v1`: workspaces, SCIM tokens and users.
pub mod identity {
    pub mod v1 {
        tonic::include_proto!("identity.v1");
    }
}

/// `groups.v1`: IdP groups, memberships and membership checks.
pub mod groups {
    pub mod v1 {
        tonic::include_proto!("groups.v1");
    }
}

/// `events.v1`: domain events delivered between services through outboxes.
pub mod events {
    pub mod v1 {
        tonic::include_proto!("events.v1");

        impl event::Payload {
            /// Snake-case name of the payload's oneof case, such as
            /// `user_deleted`, stored beside each outbox row.
            pub fn kind(&self) -> &'static str {
                match self {
                    Self::UserDeleted(_) => "user_deleted",
                    Self::ScimEnabled(_) => "scim_enabled",
                    Self::ScimDisabled(_) => "scim_disabled",
                    Self::ScimResetStarted(_) => "scim_reset_started",
                    Self::ScimResetCompleted(_) => "scim_reset_completed",
                    Self::IdentityProviderSet(_) => "identity_provider_set",
                    Self::TokenIssued(_) => "token_issued",
                    Self::TokenRotated(_) => "token_rotated",
                    Self::TokenRevoked(_) => "token_revoked",
                    Self::UserAdopted(_) => "user_adopted",
                    Self::DomainAdded(_) => "domain_added",
                    Self::DomainRemoved(_) => "domain_removed",
                    Self::SsoEnabledChanged(_) => "sso_enabled_changed",
                    Self::ScimEntitlementChanged(_) => "scim_entitlement_changed",
                    Self::UserCreated(_) => "user_created",
                    Self::UserUpdated(_) => "user_updated",
                    Self::GroupCreated(_) => "group_created",
                    Self::GroupUpdated(_) => "group_updated",
                    Self::GroupDeleted(_) => "group_deleted",
                    Self::EffectiveRoleChanged(_) => "effective_role_changed",
                    Self::GroupMappingSet(_) => "group_mapping_set",
                    Self::GroupMappingRemoved(_) => "group_mapping_removed",
                    Self::DefaultRoleChanged(_) => "default_role_changed",
                    Self::GroupSyncSwitched(_) => "group_sync_switched",
                    Self::UserGroupCreated(_) => "user_group_created",
                    Self::UserGroupRenamed(_) => "user_group_renamed",
                    Self::UserGroupDeleted(_) => "user_group_deleted",
                    Self::UserGroupMembersChanged(_) => "user_group_members_changed",
                }
            }
        }
    }
}

/// `rbac.v1`: roles, group-to-role mappings and effective roles.
pub mod rbac {
    pub mod v1 {
        tonic::include_proto!("rbac.v1");
    }
}

/// `audit.v1`: the audit trail and its queries.
pub mod audit {
    pub mod v1 {
        tonic::include_proto!("audit.v1");
    }
}

/// Encoded file descriptor set of every package, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptors");
