//! Login decisions for the platform's SSO and login services. With SCIM on,
//! the identity provider is the source of truth: only a provisioned, active
//! user may sign in, and there is no SAML just-in-time provisioning.

use proto::identity::v1::{
    CheckLoginRequest, CheckLoginResponse, LoginDecision, check_login_request::Subject,
};

use crate::{
    IdentityService,
    error::ServiceError,
    fold::fold_str,
    store::{
        UserQuery, UserRecord,
        query::{Column, Condition, JsonKind, Operand, Operator, SortKey, Target},
    },
};

impl IdentityService {
    /// Decides whether the user named by id or email may sign in.
    pub async fn check_login(
        &self,
        request: CheckLoginRequest,
    ) -> Result<CheckLoginResponse, ServiceError> {
        let workspace = self.require_workspace(&request.workspace_id).await?;
        let subject = match request.subject {
            Some(Subject::UserId(id)) if !id.is_empty() => Subject::UserId(id),
            Some(Subject::Email(email)) if !email.trim().is_empty() => {
                Subject::Email(email.trim().to_owned())
            }
            _ => {
                return Err(ServiceError::invalid(
                    "subject",
                    "user_id or email is required",
                ));
            }
        };
        if !workspace.scim_enabled {
            return Ok(decision(LoginDecision::NotScimManaged, None));
        }

        let found = match subject {
            Subject::UserId(id) => Found::One(self.store.get_user(&workspace.id, &id).await?),
            Subject::Email(email) => self.find_by_email(&workspace.id, &email).await?,
        };
        let response = match found {
            Found::One(None) => decision(LoginDecision::DeniedNotProvisioned, None),
            Found::One(Some(user)) if user.active => decision(LoginDecision::Allowed, Some(&user)),
            Found::One(Some(user)) => decision(LoginDecision::DeniedInactive, Some(&user)),
            Found::Several => decision(LoginDecision::DeniedAmbiguous, None),
        };
        tracing::info!(
            workspace_id = %workspace.id,
            user_id = %response.user_id,
            decision = ?response.decision(),
            "login checked"
        );
        Ok(response)
    }

    /// Finds the user whose userName is `email`, else the only user with
    /// `email` among their emails, ignoring case.
    async fn find_by_email(&self, workspace_id: &str, email: &str) -> Result<Found, ServiceError> {
        let folded = fold_str(email);
        let by_user_name = Condition::Compare {
            target: Target::Column(Column::UserNameFolded),
            operator: Operator::Eq,
            operand: Operand::Text(folded.clone()),
        };
        let mut users = self.search(workspace_id, by_user_name).await?;
        if users.len() == 1 {
            return Ok(Found::One(users.pop()));
        }

        let by_email = Condition::Any {
            keys: vec!["emails"],
            condition: Box::new(Condition::Compare {
                target: Target::Element {
                    key: "value",
                    kind: JsonKind::Text,
                },
                operator: Operator::Eq,
                operand: Operand::Text(folded),
            }),
        };
        let mut users = self.search(workspace_id, by_email).await?;
        match users.len() {
            0 | 1 => Ok(Found::One(users.pop())),
            _ => Ok(Found::Several),
        }
    }

    /// Returns at most two users matching `condition`, enough to tell one
    /// match from several.
    async fn search(
        &self,
        workspace_id: &str,
        condition: Condition,
    ) -> Result<Vec<UserRecord>, ServiceError> {
        let query = UserQuery {
            condition: Some(condition),
            offset: 0,
            limit: 2,
            sort: SortKey::Default,
            descending: false,
        };
        Ok(self.store.list_users(workspace_id, &query).await?.users)
    }
}

enum Found {
    One(Option<UserRecord>),
    Several,
}

fn decision(decision: LoginDecision, user: Option<&UserRecord>) -> CheckLoginResponse {
    CheckLoginResponse {
        decision: decision as i32,
        user_id: user.map(|user| user.id.clone()).unwrap_or_default(),
        scim_managed: user.is_some_and(|user| user.scim_managed),
    }
}
