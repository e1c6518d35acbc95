//! MembershipService RPCs: membership checks and the groups of a user,
//! served through the versioned cache in `crate::cache`, and cursor-paged
//! member lists read from the database.

use proto::groups::v1::{
    BatchCheckMembershipRequest, BatchCheckMembershipResponse, CheckMembershipRequest,
    CheckMembershipResponse, GroupRef, ListGroupsForUserRequest, ListGroupsForUserResponse,
    ListMembersRequest, ListMembersResponse,
};

use crate::{GroupsService, convert::member_message, error::ServiceError, groups::check_workspace};

/// Maximum pairs in one BatchCheckMembership request.
pub const MAX_BATCH_PAIRS: usize = 1_000;
/// ListMembers page size when the request sets none.
pub const DEFAULT_PAGE_SIZE: i32 = 100;
/// Largest ListMembers page; larger requests are capped to it.
pub const MAX_PAGE_SIZE: i32 = 1_000;

impl GroupsService {
    /// Returns whether the user is a member of the group. A group that does
    /// not exist in the workspace has no members.
    pub async fn check_membership(
        &self,
        request: CheckMembershipRequest,
    ) -> Result<CheckMembershipResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let is_member = self
            .cache
            .check(
                self.store.as_ref(),
                &request.workspace_id,
                &request.group_id,
                &request.user_id,
            )
            .await?;
        Ok(CheckMembershipResponse { is_member })
    }

    /// Checks up to [`MAX_BATCH_PAIRS`] pairs, in request order.
    pub async fn batch_check_membership(
        &self,
        request: BatchCheckMembershipRequest,
    ) -> Result<BatchCheckMembershipResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        if request.pairs.len() > MAX_BATCH_PAIRS {
            return Err(ServiceError::invalid(
                "pairs",
                format!(
                    "at most {MAX_BATCH_PAIRS} pairs per request, got {}",
                    request.pairs.len()
                ),
            ));
        }
        let pairs: Vec<(String, String)> = request
            .pairs
            .into_iter()
            .map(|pair| (pair.group_id, pair.user_id))
            .collect();

        let is_member = self
            .cache
            .check_many(self.store.as_ref(), &request.workspace_id, &pairs)
            .await?;
        Ok(BatchCheckMembershipResponse { is_member })
    }

    /// Returns the user's groups ordered by group id.
    pub async fn list_groups_for_user(
        &self,
        request: ListGroupsForUserRequest,
    ) -> Result<ListGroupsForUserResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let groups = self
            .cache
            .groups_for_user(self.store.as_ref(), &request.workspace_id, &request.user_id)
            .await?;
        Ok(ListGroupsForUserResponse {
            groups: groups
                .into_iter()
                .map(|(id, display_name)| GroupRef { id, display_name })
                .collect(),
        })
    }

    /// Returns one page of members ordered by user id. The page token
    /// encodes the last user id of the previous page, so pages stay
    /// consistent while members are added or removed elsewhere.
    pub async fn list_members(
        &self,
        request: ListMembersRequest,
    ) -> Result<ListMembersResponse, ServiceError> {
        check_workspace(&request.workspace_id)?;
        let page_size = match request.page_size {
            0 => DEFAULT_PAGE_SIZE,
            size if size < 0 => {
                return Err(ServiceError::invalid(
                    "page_size",
                    format!("page_size must not be negative, got {size}"),
                ));
            }
            size => size.min(MAX_PAGE_SIZE),
        };
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(decode_page_token(token)?),
        };

        // One extra row shows whether another page follows.
        let mut members = self
            .store
            .list_members(
                &request.workspace_id,
                &request.group_id,
                after.as_deref(),
                i64::from(page_size) + 1,
            )
            .await?
            .ok_or_else(|| ServiceError::GroupNotFound(request.group_id.clone()))?;
        let page_len = usize::try_from(page_size).unwrap_or(usize::MAX);
        let next_page_token = if members.len() > page_len {
            members.truncate(page_len);
            members
                .last()
                .map(|member| encode_page_token(&member.user_id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(ListMembersResponse {
            members: members.iter().map(member_message).collect(),
            next_page_token,
        })
    }
}

/// Encodes a user id as the opaque page token: lower-case hex of its UTF-8
/// bytes, so the token is safe in any transport.
fn encode_page_token(user_id: &str) -> String {
    user_id.bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_page_token(token: &str) -> Result<String, ServiceError> {
    let invalid = || {
        ServiceError::invalid(
            "page_token",
            "invalid page_token; pass next_page_token from the previous page",
        )
    };
    if !token.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|index| {
            token
                .get(index..index + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_token_round_trips() {
        let token = encode_page_token("user:é");

        assert_eq!(decode_page_token(&token).unwrap(), "user:é");
    }

    #[test]
    fn page_token_rejects_non_hex() {
        assert!(decode_page_token("zz").is_err());
    }
}
