//! Conversions between proto messages and storage records, with the checks
//! every member list passes before it is stored.

use proto::groups::v1::{
    Group, GroupMeta, Member, SyncableGroup, UserGroup, UserGroupRef,
    UserGroupSource as ProtoSource,
};
use time::OffsetDateTime;

use crate::{
    error::ServiceError,
    store::{
        GroupRecord, MemberRecord, SyncableGroupRecord, UserGroupEntry, UserGroupRecord,
        UserGroupSource,
    },
};

/// The only member type stored; groups as members are not supported.
const USER_TYPE: &str = "User";

/// Converts a timestamp to its protobuf form.
pub fn timestamp(at: OffsetDateTime) -> prost_types::Timestamp {
    let nanos = at.unix_timestamp_nanos();
    prost_types::Timestamp {
        seconds: i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(i64::MAX),
        nanos: i32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0),
    }
}

/// Builds the proto group; `members` is empty when none were loaded.
pub fn group_message(record: &GroupRecord, members: Option<&[MemberRecord]>) -> Group {
    Group {
        id: record.id.clone(),
        display_name: record.display_name.clone(),
        external_id: record.external_id.clone(),
        members: members
            .unwrap_or_default()
            .iter()
            .map(member_message)
            .collect(),
        member_count: record.member_count,
        meta: Some(GroupMeta {
            created: Some(timestamp(record.created)),
            last_modified: Some(timestamp(record.last_modified)),
            version: record.version,
        }),
    }
}

pub fn member_message(record: &MemberRecord) -> Member {
    Member {
        value: record.user_id.clone(),
        display: record.display.clone(),
        r#type: record.kind.clone(),
    }
}

pub fn user_group_message(record: &UserGroupRecord) -> UserGroup {
    UserGroup {
        id: record.id.clone(),
        name: record.name.clone(),
        source: source_message(record.source) as i32,
        idp_group_id: record.idp_group_id.clone().unwrap_or_default(),
        member_count: record.member_count,
        created: Some(timestamp(record.created)),
        last_modified: Some(timestamp(record.last_modified)),
        version: record.version,
    }
}

pub fn user_group_ref(entry: UserGroupEntry) -> UserGroupRef {
    UserGroupRef {
        id: entry.id,
        name: entry.name,
        source: source_message(entry.source) as i32,
    }
}

pub fn syncable_group_message(record: SyncableGroupRecord) -> SyncableGroup {
    SyncableGroup {
        group_id: record.group_id,
        display_name: record.display_name,
        member_count: record.member_count,
        sync_enabled: record.user_group_id.is_some(),
        user_group_id: record.user_group_id.unwrap_or_default(),
    }
}

fn source_message(source: UserGroupSource) -> ProtoSource {
    match source {
        UserGroupSource::Manual => ProtoSource::Manual,
        UserGroupSource::Idp => ProtoSource::Idp,
    }
}

/// Converts the `source` filter of ListUserGroups, where unspecified means
/// every source.
pub fn source_filter(value: i32) -> Result<Option<UserGroupSource>, ServiceError> {
    match ProtoSource::try_from(value) {
        Ok(ProtoSource::Unspecified) => Ok(None),
        Ok(ProtoSource::Manual) => Ok(Some(UserGroupSource::Manual)),
        Ok(ProtoSource::Idp) => Ok(Some(UserGroupSource::Idp)),
        Err(_) => Err(ServiceError::invalid(
            "source",
            format!("unknown user group source {value}; use MANUAL, IDP or leave it unset"),
        )),
    }
}

/// Checks request members and converts them. A member needs a non-empty
/// `value`, and its `type`, when set, must be "User" in any case.
pub fn member_records(members: &[Member]) -> Result<Vec<MemberRecord>, ServiceError> {
    members
        .iter()
        .enumerate()
        .map(|(index, member)| {
            check_user_id(&member.value, "members", index)?;
            let kind = match member.r#type.as_deref() {
                None => None,
                Some(kind) if kind.eq_ignore_ascii_case(USER_TYPE) => Some(USER_TYPE.to_owned()),
                Some(kind) => {
                    return Err(ServiceError::invalid(
                        "members",
                        format!(
                            "member {index} has type {kind:?}; only \"User\" members are supported"
                        ),
                    ));
                }
            };
            if member
                .display
                .as_deref()
                .is_some_and(|display| display.contains('\0'))
            {
                return Err(ServiceError::invalid(
                    "members",
                    format!("member {index} display contains U+0000"),
                ));
            }
            Ok(MemberRecord {
                user_id: member.value.clone(),
                display: member.display.clone(),
                kind,
            })
        })
        .collect()
}

/// Checks the user ids of a remove operation.
pub fn user_ids(ids: &[String], field: &str) -> Result<Vec<String>, ServiceError> {
    for (index, id) in ids.iter().enumerate() {
        check_user_id(id, field, index)?;
    }
    Ok(ids.to_vec())
}

fn check_user_id(id: &str, field: &str, index: usize) -> Result<(), ServiceError> {
    if id.is_empty() {
        return Err(ServiceError::invalid(
            field,
            format!("member {index} has an empty user id"),
        ));
    }
    if id.contains('\0') {
        // PostgreSQL rejects U+0000 in text.
        return Err(ServiceError::invalid(
            field,
            format!("member {index} user id contains U+0000"),
        ));
    }
    Ok(())
}
