//! The rule that gives a user its effective role, with no I/O.
//!
//! 1. A user not managed by SCIM with a role an admin set has that role.
//! 2. Otherwise, among the mapped groups the user belongs to, the role of
//!    highest rank wins. Between groups mapped to the same role, the
//!    smallest group id is named as the source, so the result is stable.
//! 3. Otherwise the workspace's default role.

use std::collections::HashMap;

use crate::store::{Catalogue, Source, UserRow};

/// A user's effective role and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub role: String,
    pub source: Source,
    /// The mapped group the role comes from, for [`Source::Group`].
    pub group_id: Option<String>,
}

/// Mappings and catalogue that roles are resolved against: the stored ones,
/// or a proposed change of them for a preview.
#[derive(Debug, Clone)]
pub struct Rules {
    pub catalogue: Catalogue,
    /// Group id to role.
    pub mappings: HashMap<String, String>,
}

impl Rules {
    /// Resolves the role of `user`, a member of `groups`.
    pub fn resolve<'a>(
        &self,
        user: &UserRow,
        groups: impl IntoIterator<Item = &'a str>,
    ) -> Resolved {
        if !user.scim_managed
            && let Some(role) = &user.manual_role
        {
            return Resolved {
                role: role.clone(),
                source: Source::Manual,
                group_id: None,
            };
        }

        let mut best: Option<(i32, &str, &str)> = None;
        for group_id in groups {
            let Some(role) = self.mappings.get(group_id) else {
                continue;
            };
            let Some(rank) = self.catalogue.rank(role) else {
                continue;
            };
            let better = match best {
                None => true,
                Some((best_rank, best_group, _)) => {
                    rank > best_rank || (rank == best_rank && group_id < best_group)
                }
            };
            if better {
                best = Some((rank, group_id, role.as_str()));
            }
        }

        match best {
            Some((_, group_id, role)) => Resolved {
                role: role.to_owned(),
                source: Source::Group,
                group_id: Some(group_id.to_owned()),
            },
            None => Resolved {
                role: self.catalogue.default_role.clone(),
                source: Source::Default,
                group_id: None,
            },
        }
    }
}

impl UserRow {
    /// Returns whether the stored role differs from `resolved`.
    pub fn differs_from(&self, resolved: &Resolved) -> bool {
        self.role != resolved.role
            || self.source != resolved.source
            || self.group_id != resolved.group_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(mappings: &[(&str, &str)]) -> Rules {
        Rules {
            catalogue: Catalogue::built_in(),
            mappings: mappings
                .iter()
                .map(|(group, role)| ((*group).to_owned(), (*role).to_owned()))
                .collect(),
        }
    }

    fn user(scim_managed: bool, manual_role: Option<&str>) -> UserRow {
        UserRow {
            user_id: "u1".to_owned(),
            active: true,
            scim_managed,
            manual_role: manual_role.map(str::to_owned),
            role: "member".to_owned(),
            source: Source::Default,
            group_id: None,
            version: 1,
        }
    }

    #[test]
    fn no_mapped_group_gives_default() {
        let resolved = rules(&[("g1", "admin")]).resolve(&user(true, None), ["g2"]);

        assert_eq!(resolved.role, "member");
        assert_eq!(resolved.source, Source::Default);
    }

    #[test]
    fn highest_rank_wins() {
        let resolved = rules(&[("g1", "viewer"), ("g2", "admin"), ("g3", "manager")])
            .resolve(&user(true, None), ["g1", "g2", "g3"]);

        assert_eq!(resolved.role, "admin");
        assert_eq!(resolved.group_id.as_deref(), Some("g2"));
    }

    #[test]
    fn lower_rank_than_default_still_applies() {
        let resolved = rules(&[("g1", "viewer")]).resolve(&user(true, None), ["g1"]);

        assert_eq!(resolved.role, "viewer");
    }

    #[test]
    fn equal_ranks_name_smallest_group() {
        let resolved =
            rules(&[("g9", "admin"), ("g2", "admin")]).resolve(&user(true, None), ["g9", "g2"]);

        assert_eq!(resolved.group_id.as_deref(), Some("g2"));
    }

    #[test]
    fn manual_role_wins_for_unmanaged_user() {
        let resolved = rules(&[("g1", "admin")]).resolve(&user(false, Some("viewer")), ["g1"]);

        assert_eq!(resolved.source, Source::Manual);
    }

    #[test]
    fn manual_role_ignored_for_scim_user() {
        let resolved = rules(&[]).resolve(&user(true, Some("admin")), []);

        assert_eq!(resolved.role, "member");
    }

    #[test]
    fn mapping_to_unknown_role_is_skipped() {
        let resolved = rules(&[("g1", "owner")]).resolve(&user(true, None), ["g1"]);

        assert_eq!(resolved.source, Source::Default);
    }
}
