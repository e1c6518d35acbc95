//! Cached User Group membership results, with the keys and guarantees of
//! the groups' results described in the parent module.

use super::{MembershipCache, keys};
use crate::{
    error::StoreError,
    store::{Store, UserGroupEntry},
};

impl MembershipCache {
    /// Returns whether `user_id` is a member of the User Group. A User
    /// Group that does not exist in the workspace has no members.
    pub async fn check_user_group(
        &self,
        store: &dyn Store,
        workspace_id: &str,
        user_group_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        self.cached_check(
            keys::user_group_epoch(workspace_id, user_group_id),
            |epoch| keys::user_group_membership(workspace_id, user_group_id, epoch, user_id),
            || store.check_user_group_membership(workspace_id, user_group_id, user_id),
        )
        .await
    }

    /// Returns the user's User Groups ordered by id.
    pub async fn user_groups_for_user(
        &self,
        store: &dyn Store,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Vec<UserGroupEntry>, StoreError> {
        self.cached_user_list(
            workspace_id,
            user_id,
            |epoch| keys::user_groups_of_user(workspace_id, user_id, epoch),
            || async {
                let of_user = store.user_groups_for_user(workspace_id, user_id).await?;
                Ok((of_user.epoch, of_user.user_groups))
            },
        )
        .await
    }
}
