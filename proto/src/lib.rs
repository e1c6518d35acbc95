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
    }
}

/// Encoded file descriptor set of every package, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptors");
