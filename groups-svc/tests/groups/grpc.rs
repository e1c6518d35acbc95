//! gRPC suite: GroupService, MembershipService and EventSink on a loopback
//! port, called with the generated clients, checking status codes and
//! google.rpc error details.

use groups_svc::{GroupsService, MAX_BATCH_PAIRS};
use proto::events::v1::{
    DeliverRequest, Event, UserDeleted, event::Payload, event_sink_client::EventSinkClient,
};
use proto::groups::v1::{
    BatchCheckMembershipRequest, CheckMembershipRequest, CreateGroupRequest, DeleteGroupRequest,
    GetGroupRequest, Group, ListGroupsForUserRequest, ListGroupsRequest, ListMembersRequest,
    MembershipPair, RemoveUserMembershipsRequest, ReplaceGroupRequest, ResetWorkspaceRequest,
    UpdateGroupRequest, group_service_client::GroupServiceClient,
    membership_service_client::MembershipServiceClient,
};
use proto::identity::v1::{
    AttributePath, Comparison, ComparisonOperator, Filter, FilterValue, filter::Expr,
    filter_value::Kind,
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::support::{TestContext, add, ids, members, remove, update, version, workspace};

struct Clients {
    groups: GroupServiceClient<Channel>,
    memberships: MembershipServiceClient<Channel>,
    events: EventSinkClient<Channel>,
    server: JoinHandle<()>,
}

impl Drop for Clients {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves the three services on 127.0.0.1 with an OS-assigned port.
async fn serve(service: &GroupsService) -> Clients {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder()
        .add_service(service.group_server())
        .add_service(service.membership_server())
        .add_service(service.event_sink_server());
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
        memberships: MembershipServiceClient::new(channel.clone()),
        events: EventSinkClient::new(channel),
        server,
    }
}

async fn create(
    clients: &mut Clients,
    workspace_id: &str,
    display_name: &str,
    user_ids: &[&str],
) -> Result<Group, Status> {
    let request = CreateGroupRequest {
        workspace_id: workspace_id.to_owned(),
        display_name: display_name.to_owned(),
        external_id: None,
        members: members(user_ids),
    };
    Ok(clients
        .groups
        .create_group(request)
        .await?
        .into_inner()
        .group
        .unwrap())
}

pub fn reason(status: &Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

pub fn violation_fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .iter()
                .map(|violation| violation.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

async fn create_get_update_delete(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = workspace();
    let created = create(&mut clients, &workspace_id, "Team", &["a"])
        .await
        .unwrap();

    let updated = clients
        .groups
        .update_group(UpdateGroupRequest {
            return_members_up_to: 10,
            ..update(
                &workspace_id,
                &created.id,
                vec![add(&["b"]), remove(&["a"])],
            )
        })
        .await
        .unwrap()
        .into_inner();
    let fetched = clients
        .groups
        .get_group(GetGroupRequest {
            workspace_id: workspace_id.clone(),
            group_id: created.id.clone(),
            include_members: true,
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    clients
        .groups
        .delete_group(DeleteGroupRequest {
            workspace_id: workspace_id.clone(),
            group_id: created.id.clone(),
            expected_version: Some(2),
        })
        .await
        .unwrap();
    let gone = clients
        .groups
        .get_group(GetGroupRequest {
            workspace_id: workspace_id.clone(),
            group_id: created.id.clone(),
            include_members: false,
        })
        .await
        .unwrap_err();

    assert_eq!(updated.added_user_ids, ids(&["b"]));
    assert_eq!(updated.removed_user_ids, ids(&["a"]));
    assert_eq!(updated.group.as_ref().unwrap().members, members(&["b"]));
    assert_eq!(fetched, updated.group.unwrap());
    assert_eq!(gone.code(), Code::NotFound);
}

async fn taken_display_name_is_already_exists(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = workspace();
    create(&mut clients, &workspace_id, "Équipe", &[])
        .await
        .unwrap();

    let status = create(&mut clients, &workspace_id, "ÉQUIPE", &[])
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(reason(&status), "DISPLAY_NAME_TAKEN");
}

async fn empty_display_name_names_field(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;

    let status = create(&mut clients, &workspace(), "", &[])
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&status), vec!["displayName".to_owned()]);
}

async fn stale_version_is_aborted(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = workspace();
    let created = create(&mut clients, &workspace_id, "Team", &[])
        .await
        .unwrap();
    clients
        .groups
        .update_group(update(&workspace_id, &created.id, vec![add(&["a"])]))
        .await
        .unwrap();

    let status = clients
        .groups
        .replace_group(ReplaceGroupRequest {
            workspace_id: workspace_id.clone(),
            group_id: created.id.clone(),
            display_name: "Team".to_owned(),
            external_id: None,
            members: Vec::new(),
            expected_version: Some(version(&created)),
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(reason(&status), "VERSION_MISMATCH");
}

async fn other_workspace_group_is_not_found(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let created = create(&mut clients, &workspace(), "Team", &["a"])
        .await
        .unwrap();
    let intruder = workspace();
    let random_id = uuid::Uuid::now_v7().to_string();

    let foreign = clients
        .groups
        .update_group(update(&intruder, &created.id, vec![add(&["x"])]))
        .await
        .unwrap_err();
    let random = clients
        .groups
        .update_group(update(&intruder, &random_id, vec![add(&["x"])]))
        .await
        .unwrap_err();

    assert_eq!(foreign.code(), Code::NotFound);
    assert_eq!(random.code(), Code::NotFound);
    assert_eq!(
        foreign.message(),
        random.message().replace(&random_id, &created.id)
    );
}

async fn invalid_filter_names_filter_field(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let filter = Filter {
        expr: Some(Expr::Comparison(Comparison {
            attribute: Some(AttributePath {
                name: "members".to_owned(),
                sub_attribute: "display".to_owned(),
                ..AttributePath::default()
            }),
            operator: ComparisonOperator::Eq as i32,
            value: Some(FilterValue {
                kind: Some(Kind::StringValue("x".to_owned())),
            }),
        })),
    };

    let status = clients
        .groups
        .list_groups(ListGroupsRequest {
            workspace_id: workspace(),
            filter: Some(filter),
            count: 10,
            ..ListGroupsRequest::default()
        })
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&status), vec!["filter".to_owned()]);
}

async fn membership_checks_over_grpc(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = workspace();
    let created = create(&mut clients, &workspace_id, "Team", &["a", "b", "c"])
        .await
        .unwrap();
    let pair = |user_id: &str| MembershipPair {
        user_id: user_id.to_owned(),
        group_id: created.id.clone(),
    };

    let single = clients
        .memberships
        .check_membership(CheckMembershipRequest {
            workspace_id: workspace_id.clone(),
            user_id: "a".to_owned(),
            group_id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let batch = clients
        .memberships
        .batch_check_membership(BatchCheckMembershipRequest {
            workspace_id: workspace_id.clone(),
            pairs: vec![pair("a"), pair("z")],
        })
        .await
        .unwrap()
        .into_inner();
    let too_many = clients
        .memberships
        .batch_check_membership(BatchCheckMembershipRequest {
            workspace_id: workspace_id.clone(),
            pairs: (0..=MAX_BATCH_PAIRS)
                .map(|index| pair(&format!("u{index}")))
                .collect(),
        })
        .await
        .unwrap_err();
    let groups = clients
        .memberships
        .list_groups_for_user(ListGroupsForUserRequest {
            workspace_id: workspace_id.clone(),
            user_id: "b".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let first_page = clients
        .memberships
        .list_members(ListMembersRequest {
            workspace_id: workspace_id.clone(),
            group_id: created.id.clone(),
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let second_page = clients
        .memberships
        .list_members(ListMembersRequest {
            workspace_id: workspace_id.clone(),
            group_id: created.id.clone(),
            page_size: 2,
            page_token: first_page.next_page_token.clone(),
        })
        .await
        .unwrap()
        .into_inner();

    assert!(single.is_member);
    assert_eq!(batch.is_member, vec![true, false]);
    assert_eq!(too_many.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&too_many), vec!["pairs".to_owned()]);
    assert_eq!(groups.groups.len(), 1);
    assert_eq!(groups.groups[0].id, created.id);
    assert_eq!(first_page.members, members(&["a", "b"]));
    assert_eq!(second_page.members, members(&["c"]));
    assert!(second_page.next_page_token.is_empty());
}

async fn event_sink_removes_deleted_user(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let workspace_id = workspace();
    let created = create(&mut clients, &workspace_id, "Team", &["gone", "stays"])
        .await
        .unwrap();
    let event = Event {
        id: uuid::Uuid::now_v7().to_string(),
        workspace_id: workspace_id.clone(),
        aggregate_type: "user".to_owned(),
        aggregate_id: "gone".to_owned(),
        occurred: None,
        payload: Some(Payload::UserDeleted(UserDeleted {
            user_id: "gone".to_owned(),
        })),
        ..Event::default()
    };

    let first = clients
        .events
        .deliver(DeliverRequest {
            events: vec![event.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    let again = clients
        .events
        .deliver(DeliverRequest {
            events: vec![event],
        })
        .await
        .unwrap()
        .into_inner();
    let removed_again = clients
        .groups
        .remove_user_memberships(RemoveUserMembershipsRequest {
            workspace_id: workspace_id.clone(),
            user_id: "gone".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();

    assert_eq!(first.applied, 1);
    assert_eq!(again.applied, 0);
    assert!(removed_again.group_ids.is_empty());
    let after = crate::support::member_ids(&ctx.service, &workspace_id, &created.id).await;
    assert_eq!(after, ids(&["stays"]));
}

async fn reset_workspace_over_grpc(ctx: TestContext) {
    let mut clients = serve(&ctx.service).await;
    let reset = workspace();
    let kept = workspace();
    let first = create(&mut clients, &reset, "First", &["a", "b"])
        .await
        .unwrap();
    let second = create(&mut clients, &reset, "Second", &["a"])
        .await
        .unwrap();
    let other = create(&mut clients, &kept, "First", &["a"]).await.unwrap();
    let check = |workspace_id: &str, group_id: &str| CheckMembershipRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: "a".to_owned(),
        group_id: group_id.to_owned(),
    };
    let groups_of_a = |workspace_id: &str| ListGroupsForUserRequest {
        workspace_id: workspace_id.to_owned(),
        user_id: "a".to_owned(),
    };
    let request = |workspace_id: &str| ResetWorkspaceRequest {
        workspace_id: workspace_id.to_owned(),
    };
    // Fill the in-process cache before the reset.
    assert!(
        clients
            .memberships
            .check_membership(check(&reset, &first.id))
            .await
            .unwrap()
            .into_inner()
            .is_member
    );
    let before = clients
        .memberships
        .list_groups_for_user(groups_of_a(&reset))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(before.groups.len(), 2);

    let first_reset = clients
        .groups
        .reset_workspace(request(&reset))
        .await
        .unwrap()
        .into_inner();
    let second_reset = clients
        .groups
        .reset_workspace(request(&reset))
        .await
        .unwrap()
        .into_inner();
    let invalid = clients
        .groups
        .reset_workspace(request(""))
        .await
        .unwrap_err();

    assert_eq!(first_reset.deleted_groups, 2);
    assert_eq!(second_reset.deleted_groups, 0);
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&invalid), vec!["workspace_id".to_owned()]);
    for group_id in [&first.id, &second.id] {
        let checked = clients
            .memberships
            .check_membership(check(&reset, group_id))
            .await
            .unwrap()
            .into_inner();
        assert!(!checked.is_member, "a is still a member of {group_id}");
        let status = clients
            .groups
            .get_group(GetGroupRequest {
                workspace_id: reset.clone(),
                group_id: group_id.clone(),
                include_members: false,
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    }
    let after = clients
        .memberships
        .list_groups_for_user(groups_of_a(&reset))
        .await
        .unwrap()
        .into_inner();
    assert!(after.groups.is_empty(), "{after:?}");
    let listed = clients
        .groups
        .list_groups(ListGroupsRequest {
            workspace_id: reset.clone(),
            count: 10,
            ..ListGroupsRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_results, 0);

    let kept_check = clients
        .memberships
        .check_membership(check(&kept, &other.id))
        .await
        .unwrap()
        .into_inner();
    let kept_groups = clients
        .memberships
        .list_groups_for_user(groups_of_a(&kept))
        .await
        .unwrap()
        .into_inner();
    assert!(kept_check.is_member);
    assert_eq!(kept_groups.groups.len(), 1);
    assert_eq!(kept_groups.groups[0].id, other.id);
}

crate::engine_tests!(
    create_get_update_delete,
    taken_display_name_is_already_exists,
    empty_display_name_names_field,
    stale_version_is_aborted,
    other_workspace_group_is_not_found,
    invalid_filter_names_filter_field,
    membership_checks_over_grpc,
    event_sink_removes_deleted_user,
    reset_workspace_over_grpc,
);
