//! Builders and readers for the User Group suites: requests that panic on
//! failure, member and membership reads through the service, and the
//! payloads of User Group events.

use groups_svc::{GroupsService, ServiceError};
use proto::events::v1::{
    Event, GroupSyncSwitched, UserGroupCreated, UserGroupDeleted, UserGroupMembersChanged,
    UserGroupRenamed, event::Payload,
};
use proto::groups::v1::{
    AddUserGroupMembersRequest, AddUserGroupMembersResponse, CheckUserGroupMembershipRequest,
    CreateUserGroupRequest, GetUserGroupRequest, ListUserGroupMembersRequest,
    ListUserGroupsForUserRequest, RemoveUserGroupMembersRequest, RemoveUserGroupMembersResponse,
    SetGroupSyncRequest, SetGroupSyncResponse, UserGroup,
};

use crate::support::ids;

/// Admin subject sent as `actor` by these tests.
pub const ADMIN: &str = "admin-subject-1";

pub fn create_request(workspace_id: &str, name: &str) -> CreateUserGroupRequest {
    CreateUserGroupRequest {
        workspace_id: workspace_id.to_owned(),
        name: name.to_owned(),
        actor: ADMIN.to_owned(),
    }
}

/// Creates a manual User Group and panics on failure.
pub async fn create_user_group(
    service: &GroupsService,
    workspace_id: &str,
    name: &str,
) -> UserGroup {
    service
        .create_user_group(create_request(workspace_id, name))
        .await
        .unwrap()
}

pub fn add_request(
    workspace_id: &str,
    user_group_id: &str,
    user_ids: &[&str],
) -> AddUserGroupMembersRequest {
    AddUserGroupMembersRequest {
        workspace_id: workspace_id.to_owned(),
        user_group_id: user_group_id.to_owned(),
        user_ids: ids(user_ids),
        actor: ADMIN.to_owned(),
    }
}

pub fn remove_request(
    workspace_id: &str,
    user_group_id: &str,
    user_ids: &[&str],
) -> RemoveUserGroupMembersRequest {
    RemoveUserGroupMembersRequest {
        workspace_id: workspace_id.to_owned(),
        user_group_id: user_group_id.to_owned(),
        user_ids: ids(user_ids),
        actor: ADMIN.to_owned(),
    }
}

/// Adds members to a manual User Group and panics on failure.
pub async fn add_members(
    service: &GroupsService,
    workspace_id: &str,
    user_group_id: &str,
    user_ids: &[&str],
) -> AddUserGroupMembersResponse {
    service
        .add_user_group_members(add_request(workspace_id, user_group_id, user_ids))
        .await
        .unwrap()
}

/// Removes members from a manual User Group and panics on failure.
pub async fn remove_members(
    service: &GroupsService,
    workspace_id: &str,
    user_group_id: &str,
    user_ids: &[&str],
) -> RemoveUserGroupMembersResponse {
    service
        .remove_user_group_members(remove_request(workspace_id, user_group_id, user_ids))
        .await
        .unwrap()
}

pub fn sync_request(workspace_id: &str, group_id: &str, enabled: bool) -> SetGroupSyncRequest {
    SetGroupSyncRequest {
        workspace_id: workspace_id.to_owned(),
        group_id: group_id.to_owned(),
        enabled,
        actor: ADMIN.to_owned(),
    }
}

/// Switches sync on for an IdP group and returns the new User Group.
pub async fn sync_on(service: &GroupsService, workspace_id: &str, group_id: &str) -> UserGroup {
    service
        .set_group_sync(sync_request(workspace_id, group_id, true))
        .await
        .unwrap()
        .user_group
        .unwrap()
}

/// Switches sync off for an IdP group and panics on failure.
pub async fn sync_off(
    service: &GroupsService,
    workspace_id: &str,
    group_id: &str,
) -> SetGroupSyncResponse {
    service
        .set_group_sync(sync_request(workspace_id, group_id, false))
        .await
        .unwrap()
}

pub async fn get_user_group(
    service: &GroupsService,
    workspace_id: &str,
    user_group_id: &str,
) -> Result<UserGroup, ServiceError> {
    service
        .get_user_group(GetUserGroupRequest {
            workspace_id: workspace_id.to_owned(),
            user_group_id: user_group_id.to_owned(),
        })
        .await
}

/// Returns every member id of a User Group, read page by page.
pub async fn user_group_member_ids(
    service: &GroupsService,
    workspace_id: &str,
    user_group_id: &str,
) -> Vec<String> {
    let mut user_ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = service
            .list_user_group_members(ListUserGroupMembersRequest {
                workspace_id: workspace_id.to_owned(),
                user_group_id: user_group_id.to_owned(),
                page_size: 1_000,
                page_token,
            })
            .await
            .unwrap();
        user_ids.extend(page.user_ids);
        if page.next_page_token.is_empty() {
            return user_ids;
        }
        page_token = page.next_page_token;
    }
}

pub async fn is_user_group_member(
    service: &GroupsService,
    workspace_id: &str,
    user_group_id: &str,
    user_id: &str,
) -> bool {
    service
        .check_user_group_membership(CheckUserGroupMembershipRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.to_owned(),
            user_group_id: user_group_id.to_owned(),
        })
        .await
        .unwrap()
        .is_member
}

/// Returns the names of the user's User Groups, in id order.
pub async fn user_group_names_of(
    service: &GroupsService,
    workspace_id: &str,
    user_id: &str,
) -> Vec<String> {
    service
        .list_user_groups_for_user(ListUserGroupsForUserRequest {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.to_owned(),
        })
        .await
        .unwrap()
        .user_groups
        .into_iter()
        .map(|user_group| user_group.name)
        .collect()
}

/// Returns the events about one aggregate, such as a User Group's id.
pub fn events_of<'a>(events: &'a [Event], aggregate_id: &str) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|event| event.aggregate_id == aggregate_id)
        .collect()
}

pub fn sync_switched(event: &Event) -> &GroupSyncSwitched {
    match &event.payload {
        Some(Payload::GroupSyncSwitched(payload)) => payload,
        other => panic!("expected GroupSyncSwitched, got {other:?}"),
    }
}

pub fn user_group_created(event: &Event) -> &UserGroupCreated {
    match &event.payload {
        Some(Payload::UserGroupCreated(payload)) => payload,
        other => panic!("expected UserGroupCreated, got {other:?}"),
    }
}

pub fn user_group_renamed(event: &Event) -> &UserGroupRenamed {
    match &event.payload {
        Some(Payload::UserGroupRenamed(payload)) => payload,
        other => panic!("expected UserGroupRenamed, got {other:?}"),
    }
}

pub fn user_group_deleted(event: &Event) -> &UserGroupDeleted {
    match &event.payload {
        Some(Payload::UserGroupDeleted(payload)) => payload,
        other => panic!("expected UserGroupDeleted, got {other:?}"),
    }
}

pub fn members_changed(event: &Event) -> &UserGroupMembersChanged {
    match &event.payload {
        Some(Payload::UserGroupMembersChanged(payload)) => payload,
        other => panic!("expected UserGroupMembersChanged, got {other:?}"),
    }
}
