//! UserGroupService and the User Group RPCs of MembershipService on a
//! loopback port, called with the generated clients, checking status codes
//! and google.rpc error details. Every test runs on SQLite and on
//! PostgreSQL.

use groups_svc::{GroupsService, MAX_USER_IDS_PER_REQUEST};
use proto::groups::v1::{
    AddUserGroupMembersRequest, CheckUserGroupMembershipRequest, CreateGroupRequest,
    DeleteUserGroupRequest, GetUserGroupRequest, ListSyncableGroupsRequest,
    ListUserGroupMembersRequest, ListUserGroupsForUserRequest, RenameUserGroupRequest, UserGroup,
    UserGroupSource, group_service_client::GroupServiceClient,
    membership_service_client::MembershipServiceClient,
    user_group_service_client::UserGroupServiceClient,
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::grpc::{reason, violation_fields};
use crate::support::{TestContext, ids, members, workspace};
use crate::user_group_support::{ADMIN, add_request, create_request, sync_request};

struct Clients {
    groups: GroupServiceClient<Channel>,
    user_groups: UserGroupServiceClient<Channel>,
    memberships: MembershipServiceClient<Channel>,
    server: JoinHandle<()>,
}

impl Drop for Clients {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves the group, User Group and membership services on 127.0.0.1 with
/// an OS-assigned port.
async fn serve(service: &GroupsService) -> Clients {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder()
        .add_service(service.group_server())
        .add_service(service.user_group_server())
        .add_service(service.membership_server());
    let server = tokio::spawn(async move {
        router
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .unwrap();
    });

    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Clients {
        groups: GroupServiceClient::new(channel.clone()),
        user_groups: UserGroupServiceClient::new(channel.clone()),
        memberships: MembershipServiceClient::new(channel),
        server,
    }
}

async fn create_user_group(clients: &mut Clients, workspace_id: &str, name: &str) -> UserGroup {
    clients
        .user_groups
        .create_user_group(create_request(workspace_id, name))
        .await
        .unwrap()
        .into_inner()
        .user_group
        .unwrap()
}

/// Creates an IdP group with members and returns its id.
async fn create_group(clients: &mut Clients, workspace_id: &str, user_ids: &[&str]) -> String {
    clients
        .groups
        .create_group(CreateGroupRequest {
            workspace_id: workspace_id.to_owned(),
            display_name: "Entra group".to_owned(),
            external_id: None,
            members: members(user_ids),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap()
        .id
}

/// Returns the ErrorInfo metadata value under `key`.
fn metadata(status: &Status, key: &str) -> String {
    status
        .get_error_details()
        .error_info()
        .and_then(|info| info.metadata.get(key).cloned())
        .unwrap_or_default()
}

async fn manual_group_lifecycle(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = workspace();
    let created = create_user_group(&mut clients, &workspace_id, "Partners").await;

    let added = clients
        .user_groups
        .add_user_group_members(add_request(&workspace_id, &created.id, &["a", "b"]))
        .await
        .unwrap()
        .into_inner();
    let renamed = clients
        .user_groups
        .rename_user_group(RenameUserGroupRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: created.id.clone(),
            name: "Senior partners".to_owned(),
            actor: ADMIN.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .user_group
        .unwrap();
    clients
        .user_groups
        .delete_user_group(DeleteUserGroupRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: created.id.clone(),
            actor: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    let after_delete = clients
        .user_groups
        .get_user_group(GetUserGroupRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: created.id.clone(),
        })
        .await
        .unwrap_err();

    assert_eq!(created.source, UserGroupSource::Manual as i32);
    assert_eq!(added.added_user_ids, ids(&["a", "b"]));
    assert_eq!(renamed.name, "Senior partners");
    assert_eq!(renamed.member_count, 2);
    assert_eq!(after_delete.code(), Code::NotFound);
    assert_eq!(reason(&after_delete), "USER_GROUP_NOT_FOUND");
    assert_eq!(metadata(&after_delete, "user_group_id"), created.id);
}

async fn invalid_name_names_field(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;

    let status = clients
        .user_groups
        .create_user_group(create_request(&workspace(), ""))
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&status), vec!["name".to_owned()]);
}

async fn too_many_ids_names_field(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = workspace();
    let created = create_user_group(&mut clients, &workspace_id, "Team").await;
    let request = AddUserGroupMembersRequest {
        user_ids: (0..=MAX_USER_IDS_PER_REQUEST)
            .map(|index| format!("u{index}"))
            .collect(),
        ..add_request(&workspace_id, &created.id, &[])
    };

    let status = clients
        .user_groups
        .add_user_group_members(request)
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&status), vec!["user_ids".to_owned()]);
}

async fn sync_errors_carry_reasons(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = workspace();
    let group_id = create_group(&mut clients, &workspace_id, &["a"]).await;
    let unknown_id = uuid::Uuid::now_v7().to_string();

    let unknown = clients
        .user_groups
        .set_group_sync(sync_request(&workspace_id, &unknown_id, true))
        .await
        .unwrap_err();
    let first = clients
        .user_groups
        .set_group_sync(sync_request(&workspace_id, &group_id, true))
        .await
        .unwrap()
        .into_inner();
    let second = clients
        .user_groups
        .set_group_sync(sync_request(&workspace_id, &group_id, true))
        .await
        .unwrap_err();

    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(reason(&unknown), "GROUP_NOT_FOUND");
    assert_eq!(metadata(&unknown, "group_id"), unknown_id);
    assert!(first.changed);
    assert_eq!(first.user_group.unwrap().member_count, 1);
    assert_eq!(second.code(), Code::FailedPrecondition);
    assert_eq!(reason(&second), "SYNC_ALREADY_ON");
}

async fn synced_group_is_idp_managed(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = workspace();
    let group_id = create_group(&mut clients, &workspace_id, &["a"]).await;
    let synced = clients
        .user_groups
        .set_group_sync(sync_request(&workspace_id, &group_id, true))
        .await
        .unwrap()
        .into_inner()
        .user_group
        .unwrap();

    let added = clients
        .user_groups
        .add_user_group_members(add_request(&workspace_id, &synced.id, &["x"]))
        .await
        .unwrap_err();
    let deleted = clients
        .user_groups
        .delete_user_group(DeleteUserGroupRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: synced.id.clone(),
            actor: ADMIN.to_owned(),
        })
        .await
        .unwrap_err();

    assert_eq!(added.code(), Code::FailedPrecondition);
    assert_eq!(reason(&added), "IDP_MANAGED");
    assert_eq!(deleted.code(), Code::FailedPrecondition);
    assert_eq!(reason(&deleted), "IDP_MANAGED");
    assert!(
        deleted.message().contains("identity provider"),
        "{}",
        deleted.message()
    );
}

async fn sync_off_over_grpc(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = workspace();
    let group_id = create_group(&mut clients, &workspace_id, &["a"]).await;
    clients
        .user_groups
        .set_group_sync(sync_request(&workspace_id, &group_id, true))
        .await
        .unwrap();

    let off = clients
        .user_groups
        .set_group_sync(sync_request(&workspace_id, &group_id, false))
        .await
        .unwrap()
        .into_inner();
    let again = clients
        .user_groups
        .set_group_sync(sync_request(&workspace_id, &group_id, false))
        .await
        .unwrap()
        .into_inner();
    let listed = clients
        .user_groups
        .list_syncable_groups(ListSyncableGroupsRequest {
            workspace_id: workspace_id.clone(),
            ..ListSyncableGroupsRequest::default()
        })
        .await
        .unwrap()
        .into_inner();

    assert!(off.changed);
    assert!(!again.changed);
    assert_eq!(listed.groups.len(), 1);
    assert!(!listed.groups[0].sync_enabled);
}

async fn membership_rpcs_over_grpc(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = workspace();
    let created = create_user_group(&mut clients, &workspace_id, "Team").await;
    clients
        .user_groups
        .add_user_group_members(add_request(&workspace_id, &created.id, &["a", "b"]))
        .await
        .unwrap();
    let check = |user_id: &str| CheckUserGroupMembershipRequest {
        workspace_id: workspace_id.clone(),
        user_id: user_id.to_owned(),
        user_group_id: created.id.clone(),
    };

    let member = clients
        .memberships
        .check_user_group_membership(check("a"))
        .await
        .unwrap()
        .into_inner();
    let stranger = clients
        .memberships
        .check_user_group_membership(check("z"))
        .await
        .unwrap()
        .into_inner();
    let of_user = clients
        .memberships
        .list_user_groups_for_user(ListUserGroupsForUserRequest {
            workspace_id: workspace_id.clone(),
            user_id: "a".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let page = clients
        .memberships
        .list_user_group_members(ListUserGroupMembersRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: created.id.clone(),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let unknown = clients
        .memberships
        .list_user_group_members(ListUserGroupMembersRequest {
            workspace_id: workspace_id.clone(),
            user_group_id: "missing".to_owned(),
            ..ListUserGroupMembersRequest::default()
        })
        .await
        .unwrap_err();

    assert!(member.is_member);
    assert!(!stranger.is_member);
    assert_eq!(of_user.user_groups.len(), 1);
    assert_eq!(of_user.user_groups[0].id, created.id);
    assert_eq!(
        of_user.user_groups[0].source,
        UserGroupSource::Manual as i32
    );
    assert_eq!(page.user_ids, ids(&["a"]));
    assert!(!page.next_page_token.is_empty());
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(reason(&unknown), "USER_GROUP_NOT_FOUND");
}

async fn empty_workspace_rejected(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;

    let status = clients
        .user_groups
        .create_user_group(create_request("", "Team"))
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&status), vec!["workspace_id".to_owned()]);
}

crate::engine_tests!(
    manual_group_lifecycle,
    invalid_name_names_field,
    too_many_ids_names_field,
    sync_errors_carry_reasons,
    synced_group_is_idp_managed,
    sync_off_over_grpc,
    membership_rpcs_over_grpc,
    empty_workspace_rejected,
);
