//! User RPCs: create, read, search, replace and delete, with the workspace
//! email-domain rule and optimistic concurrency on `version`. Each write
//! commits with its outbox events: `UserCreated`, `UserUpdated` (only when
//! an attribute changed), `UserAdopted` and `UserDeleted`.

use std::collections::HashSet;

use proto::events::v1::{UserAdopted, event::Payload};
use proto::identity::v1::{
    BatchGetUsersRequest, BatchGetUsersResponse, CreateUnmanagedUserRequest, CreateUserRequest,
    DeleteUserRequest, GetUserRequest, ListUsersRequest, ListUsersResponse, MultiValue, Name,
    ReplaceUserRequest, SortOrder, User,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    IdentityService,
    convert::{user_document, user_message},
    email_domain::{DomainError, check_address},
    error::{ServiceError, StoreError},
    filter::{build_condition, build_sort},
    now, outbox,
    store::{UserQuery, UserRecord, WorkspaceRecord},
    user_changes::{attribute_changes, user_state},
};

/// Maximum ids in one BatchGetUsers request.
pub const MAX_BATCH_IDS: usize = 1000;

impl IdentityService {
    /// Creates a user with a new id and version 1, with its `UserCreated`
    /// event.
    pub async fn create_user(&self, request: CreateUserRequest) -> Result<User, ServiceError> {
        let workspace = self.require_workspace(&request.workspace_id).await?;
        let user = request
            .user
            .ok_or_else(|| ServiceError::invalid("user", "user is required"))?;
        let attributes = validate_user(&user, &workspace)?;

        let at = now();
        let record = UserRecord {
            id: Uuid::now_v7().to_string(),
            workspace_id: workspace.id,
            user_name: user.user_name.clone(),
            external_id: user.external_id.clone(),
            active: user.active.unwrap_or(false),
            version: 1,
            created: at,
            last_modified: at,
            attributes,
            scim_managed: true,
        };
        self.insert_new_user(&record).await?;
        tracing::info!(workspace_id = %record.workspace_id, user_id = %record.id, "user created");
        Ok(user_message(&record)?)
    }

    /// Creates an active user that SCIM does not manage yet, with the
    /// address as its userName and primary work email, and its
    /// `UserCreated` event.
    pub async fn create_unmanaged_user(
        &self,
        request: CreateUnmanagedUserRequest,
    ) -> Result<User, ServiceError> {
        let workspace = self.require_workspace(&request.workspace_id).await?;
        let email = request.email.trim();
        if email.is_empty() {
            return Err(ServiceError::invalid("email", "email is required"));
        }
        let user = unmanaged_user(
            email,
            request.given_name,
            request.family_name,
            request.display_name,
        );
        let attributes = validate_user(&user, &workspace)?;

        let at = now();
        let record = UserRecord {
            id: Uuid::now_v7().to_string(),
            workspace_id: workspace.id,
            user_name: user.user_name.clone(),
            external_id: None,
            active: true,
            version: 1,
            created: at,
            last_modified: at,
            attributes,
            scim_managed: false,
        };
        self.insert_new_user(&record).await?;
        tracing::info!(workspace_id = %record.workspace_id, user_id = %record.id, "unmanaged user created");
        Ok(user_message(&record)?)
    }

    async fn insert_new_user(&self, record: &UserRecord) -> Result<(), ServiceError> {
        let event = outbox::user_created(record);
        // The unique index decides, so two concurrent creates cannot both win.
        match self.store.insert_user(record, &[event]).await {
            Err(StoreError::UniqueViolation) => return Err(ServiceError::UserNameTaken),
            result => result?,
        }
        self.outbox_signal.notify();
        tracing::Span::current().record("user_id", record.id.as_str());
        Ok(())
    }

    /// Returns one user, or [`ServiceError::UserNotFound`] when it is missing
    /// from the workspace.
    pub async fn get_user(&self, request: GetUserRequest) -> Result<User, ServiceError> {
        self.require_workspace(&request.workspace_id).await?;
        let record = self
            .store
            .get_user(&request.workspace_id, &request.user_id)
            .await?
            .ok_or_else(|| ServiceError::UserNotFound(request.user_id.clone()))?;
        Ok(user_message(&record)?)
    }

    /// Returns the users that exist among the requested ids, in request order
    /// and without duplicates, and lists the missing ids.
    pub async fn batch_get_users(
        &self,
        request: BatchGetUsersRequest,
    ) -> Result<BatchGetUsersResponse, ServiceError> {
        self.require_workspace(&request.workspace_id).await?;
        let mut seen = HashSet::new();
        let ids: Vec<String> = request
            .user_ids
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect();
        if ids.len() > MAX_BATCH_IDS {
            return Err(ServiceError::invalid(
                "user_ids",
                format!("at most {MAX_BATCH_IDS} ids per request, got {}", ids.len()),
            ));
        }

        let records = self.store.get_users(&request.workspace_id, &ids).await?;
        let mut response = BatchGetUsersResponse::default();
        for id in ids {
            match records.iter().find(|record| record.id == id) {
                Some(record) => response.users.push(user_message(record)?),
                None => response.missing_ids.push(id),
            }
        }
        Ok(response)
    }

    /// Searches users with an optional filter, sort and 1-based paging.
    pub async fn list_users(
        &self,
        request: ListUsersRequest,
    ) -> Result<ListUsersResponse, ServiceError> {
        self.require_workspace(&request.workspace_id).await?;
        let query = UserQuery {
            condition: request.filter.as_ref().map(build_condition).transpose()?,
            offset: request.start_index.max(1) - 1,
            limit: request.count.max(0),
            sort: build_sort(request.sort_by.as_ref())?,
            descending: request.sort_order == SortOrder::Descending as i32,
        };

        let page = self.store.list_users(&request.workspace_id, &query).await?;
        let users = page
            .users
            .iter()
            .map(user_message)
            .collect::<Result<_, _>>()?;
        Ok(ListUsersResponse {
            users,
            total_results: page.total,
        })
    }

    /// Replaces every writable attribute. The write is conditional on the
    /// version read (or `expected_version`), so a concurrent change makes this
    /// call fail with [`ServiceError::VersionMismatch`] instead of being lost.
    ///
    /// Only SCIM writes users this way, so a user created outside SCIM
    /// becomes SCIM-managed here, with a `UserAdopted` event in the same
    /// transaction. A `UserUpdated` event lists the attributes whose values
    /// differ from the stored ones. A write that changes no attribute still
    /// bumps the version but writes no `UserUpdated`.
    pub async fn replace_user(&self, request: ReplaceUserRequest) -> Result<User, ServiceError> {
        let workspace = self.require_workspace(&request.workspace_id).await?;
        let user = request
            .user
            .ok_or_else(|| ServiceError::invalid("user", "user is required"))?;
        if user.id.is_empty() {
            return Err(ServiceError::invalid("id", "user id is required"));
        }
        let attributes = validate_user(&user, &workspace)?;

        let current = self
            .store
            .get_user(&workspace.id, &user.id)
            .await?
            .ok_or_else(|| ServiceError::UserNotFound(user.id.clone()))?;
        let base_version = request.expected_version.unwrap_or(current.version);
        if base_version != current.version {
            return Err(ServiceError::VersionMismatch {
                expected: base_version,
            });
        }

        let record = UserRecord {
            id: current.id.clone(),
            workspace_id: workspace.id,
            user_name: user.user_name.clone(),
            external_id: user.external_id.clone(),
            active: user.active.unwrap_or(false),
            version: base_version + 1,
            created: current.created,
            last_modified: now(),
            attributes,
            scim_managed: true,
        };
        let changes = attribute_changes(&user_state(&current)?, &user_state(&record)?);
        let mut events = Vec::new();
        if !current.scim_managed {
            let payload = Payload::UserAdopted(UserAdopted {
                user_id: record.id.clone(),
            });
            events.push(outbox::build_event(
                &record.workspace_id,
                outbox::AGGREGATE_USER,
                &record.id,
                payload,
                record.last_modified,
            ));
        }
        let changed_attributes = changes.len();
        if !changes.is_empty() {
            events.push(outbox::user_updated(&record, current.active, changes));
        }
        let updated = match self
            .store
            .update_user_recorded(&record, base_version, &events)
            .await
        {
            Err(StoreError::UniqueViolation) => return Err(ServiceError::UserNameTaken),
            result => result?,
        };
        if !updated {
            return Err(self
                .missing_or_changed(&record.workspace_id, &record.id, base_version)
                .await);
        }
        if !events.is_empty() {
            self.outbox_signal.notify();
        }
        if !current.scim_managed {
            tracing::info!(workspace_id = %record.workspace_id, user_id = %record.id, "user adopted by scim");
        }
        tracing::info!(
            workspace_id = %record.workspace_id,
            user_id = %record.id,
            version = record.version,
            changed_attributes,
            "user replaced"
        );
        Ok(user_message(&record)?)
    }

    /// Deletes a user, only at `expected_version` when given, and records a
    /// `UserDeleted` event in the outbox in the same transaction.
    pub async fn delete_user(&self, request: DeleteUserRequest) -> Result<(), ServiceError> {
        self.require_workspace(&request.workspace_id).await?;
        let event = outbox::user_deleted(&request.workspace_id, &request.user_id, now());
        let deleted = self
            .store
            .delete_user(
                &request.workspace_id,
                &request.user_id,
                request.expected_version,
                &event,
            )
            .await?;
        if !deleted {
            return Err(match request.expected_version {
                Some(expected) => {
                    self.missing_or_changed(&request.workspace_id, &request.user_id, expected)
                        .await
                }
                None => ServiceError::UserNotFound(request.user_id),
            });
        }
        self.outbox_signal.notify();
        tracing::info!(
            workspace_id = %request.workspace_id,
            user_id = %request.user_id,
            event_id = %event.id,
            "user deleted"
        );
        Ok(())
    }

    /// Explains why a conditional write matched no row.
    async fn missing_or_changed(
        &self,
        workspace_id: &str,
        user_id: &str,
        expected: i64,
    ) -> ServiceError {
        match self.store.get_user(workspace_id, user_id).await {
            Ok(Some(_)) => ServiceError::VersionMismatch { expected },
            Ok(None) => ServiceError::UserNotFound(user_id.to_owned()),
            Err(error) => error.into(),
        }
    }
}

/// Checks a user against the request rules and the workspace's domains, and
/// returns its stored document.
fn validate_user(user: &User, workspace: &WorkspaceRecord) -> Result<Value, ServiceError> {
    if user.user_name.trim().is_empty() {
        return Err(ServiceError::invalid("userName", "userName is required"));
    }

    if let Some(email) = work_email(user) {
        check_address(email, &workspace.domains)
            .map_err(|error| domain_violation("emails", "work email", error, workspace))?;
    }
    if user.user_name.contains('@') {
        check_address(&user.user_name, &workspace.domains)
            .map_err(|error| domain_violation("userName", "userName", error, workspace))?;
    }

    let document = user_document(user)
        .map_err(|error| ServiceError::invalid("user", format!("cannot be encoded: {error}")))?;
    if contains_nul(&document) {
        // PostgreSQL rejects U+0000 in text and JSONB.
        return Err(ServiceError::invalid(
            "user",
            "strings must not contain U+0000",
        ));
    }
    Ok(document)
}

/// Builds the user of [`IdentityService::create_unmanaged_user`].
fn unmanaged_user(
    email: &str,
    given_name: Option<String>,
    family_name: Option<String>,
    display_name: Option<String>,
) -> User {
    let formatted = match (&given_name, &family_name) {
        (Some(given), Some(family)) => Some(format!("{given} {family}")),
        _ => None,
    };
    User {
        user_name: email.to_owned(),
        name: Some(Name {
            formatted,
            family_name,
            given_name,
            ..Name::default()
        }),
        display_name,
        active: Some(true),
        emails: vec![MultiValue {
            value: Some(email.to_owned()),
            r#type: Some("work".to_owned()),
            primary: Some(true),
            ..MultiValue::default()
        }],
        ..User::default()
    }
}

/// Returns the email of type `work` (any case), else the primary email.
fn work_email(user: &User) -> Option<&str> {
    let is_work = |email: &&MultiValue| {
        email
            .r#type
            .as_deref()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("work"))
    };
    user.emails
        .iter()
        .find(is_work)
        .or_else(|| user.emails.iter().find(|email| email.primary == Some(true)))
        .and_then(|email| email.value.as_deref())
}

fn domain_violation(
    field: &str,
    subject: &str,
    error: DomainError,
    workspace: &WorkspaceRecord,
) -> ServiceError {
    let allowed = if workspace.domains.is_empty() {
        "the workspace has no domains configured".to_owned()
    } else {
        format!("allowed domains: {}", workspace.domains.join(", "))
    };
    ServiceError::invalid(field, format!("{subject} {error} ({allowed})"))
}

fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map
            .iter()
            .any(|(key, item)| key.contains('\0') || contains_nul(item)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}
