//! The platform's built-in roles, seeded into every workspace's catalogue.

/// A role of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltInRole {
    pub name: &'static str,
    /// Higher ranks win when a user's groups map to several roles.
    pub rank: i32,
    pub description: &'static str,
}

/// Built-in roles, lowest rank first.
pub const BUILT_IN_ROLES: &[BuiltInRole] = &[
    BuiltInRole {
        name: "viewer",
        rank: 10,
        description: "Reads the matters, documents and answers shared with them.",
    },
    BuiltInRole {
        name: "member",
        rank: 20,
        description: "Works on matters: drafts, reviews documents and runs AI tasks.",
    },
    BuiltInRole {
        name: "manager",
        rank: 30,
        description: "Manages matters and User Groups and shares work across the workspace.",
    },
    BuiltInRole {
        name: "admin",
        rank: 40,
        description: "Administers the workspace: settings, integrations, SCIM and role mappings.",
    },
];

/// Default role of a workspace until an admin chooses another.
pub const INITIAL_DEFAULT_ROLE: &str = "member";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_are_unique() {
        let mut ranks: Vec<i32> = BUILT_IN_ROLES.iter().map(|role| role.rank).collect();
        ranks.dedup();

        assert_eq!(ranks.len(), BUILT_IN_ROLES.len());
    }

    #[test]
    fn initial_default_is_built_in() {
        assert!(
            BUILT_IN_ROLES
                .iter()
                .any(|role| role.name == INITIAL_DEFAULT_ROLE)
        );
    }
}
