//! Cache key layout. Ids come from requests, so `%` and `:` inside them are
//! percent-encoded and no two different id tuples share a key.

/// Prefix of every key this service writes to the shared cache.
const PREFIX: &str = "groups";

pub fn group_epoch(workspace_id: &str, group_id: &str) -> String {
    format!("{PREFIX}:ge:{}:{}", escape(workspace_id), escape(group_id))
}

pub fn membership(workspace_id: &str, group_id: &str, epoch: i64, user_id: &str) -> String {
    format!(
        "{PREFIX}:gm:{}:{}:{epoch}:{}",
        escape(workspace_id),
        escape(group_id),
        escape(user_id)
    )
}

pub fn user_epoch(workspace_id: &str, user_id: &str) -> String {
    format!("{PREFIX}:ue:{}:{}", escape(workspace_id), escape(user_id))
}

pub fn user_groups(workspace_id: &str, user_id: &str, epoch: i64) -> String {
    format!(
        "{PREFIX}:ug:{}:{}:{epoch}",
        escape(workspace_id),
        escape(user_id)
    )
}

pub fn user_group_epoch(workspace_id: &str, user_group_id: &str) -> String {
    format!(
        "{PREFIX}:uge:{}:{}",
        escape(workspace_id),
        escape(user_group_id)
    )
}

pub fn user_group_membership(
    workspace_id: &str,
    user_group_id: &str,
    epoch: i64,
    user_id: &str,
) -> String {
    format!(
        "{PREFIX}:ugm:{}:{}:{epoch}:{}",
        escape(workspace_id),
        escape(user_group_id),
        escape(user_id)
    )
}

/// Key of a user's User Groups, versioned by the same user epoch as
/// [`user_groups`].
pub fn user_groups_of_user(workspace_id: &str, user_id: &str, epoch: i64) -> String {
    format!(
        "{PREFIX}:uug:{}:{}:{epoch}",
        escape(workspace_id),
        escape(user_id)
    )
}

fn escape(part: &str) -> String {
    part.replace('%', "%25").replace(':', "%3A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colons_in_ids_cannot_collide() {
        assert_ne!(group_epoch("a:b", "c"), group_epoch("a", "b:c"));
    }

    #[test]
    fn membership_key_embeds_epoch() {
        assert_eq!(membership("w", "g", 3, "u"), "groups:gm:w:g:3:u");
    }
}
