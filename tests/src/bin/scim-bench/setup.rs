//! Setup phases shared by the workloads: user pools (reused from the
//! workspace or created), groups and their members. Setup is not measured,
//! but it is bounded by --setup-timeout and fails on the first error kind.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Result, bail};
use reqwest::Method;
use serde_json::Value;

use crate::{
    cli::LoadArgs,
    runner::{Limits, drive, progress_bar},
    scim::{self, ScimClient, UserSpec},
    stats::Recorder,
};

/// Users per page when listing existing users.
const LIST_PAGE: u64 = 1_000;

/// What every workload shares: the SCIM client, the bounds and a run id
/// that makes generated names unique.
pub struct Bench {
    pub scim: ScimClient,
    pub load: LoadArgs,
    pub domain: String,
    /// Eight hex digits, different for every invocation.
    pub run: String,
}

#[derive(Debug, Clone)]
pub struct PoolUser {
    pub id: String,
    pub user_name: String,
}

#[derive(Debug, Clone)]
pub struct PoolGroup {
    pub id: String,
}

impl Bench {
    /// Returns the limits of a setup phase of `count` operations.
    pub fn setup_limits(&self, count: u64) -> Limits {
        Limits {
            concurrency: self.load.concurrency,
            count: Some(count),
            duration: self.load.setup_timeout,
            rate: None,
            request_timeout: self.load.timeout,
        }
    }
}

/// Returns `needed` users: existing users of the workspace first, then new
/// ones created to make up the difference.
pub async fn user_pool(bench: &Arc<Bench>, needed: u64) -> Result<Vec<PoolUser>> {
    let mut pool = list_users(bench, needed).await?;
    let missing = needed.saturating_sub(pool.len() as u64);
    if missing > 0 {
        pool.extend(create_users(bench, missing, "create pool").await?);
    }
    Ok(pool)
}

/// Lists up to `limit` existing users, a page at a time.
async fn list_users(bench: &Arc<Bench>, limit: u64) -> Result<Vec<PoolUser>> {
    let mut users = Vec::new();
    while (users.len() as u64) < limit {
        let page = LIST_PAGE.min(limit - users.len() as u64);
        let path = format!(
            "Users?startIndex={}&count={page}&attributes=userName",
            users.len() + 1
        );
        let body = match bench.scim.send_json(Method::GET, &path, None).await {
            Ok(body) => body,
            Err(failure) => bail!("failed to list existing users: {}", failure.describe()),
        };
        let resources = body
            .get("Resources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if resources.is_empty() {
            break;
        }
        users.extend(resources.iter().filter_map(|resource| {
            Some(PoolUser {
                id: resource.get("id")?.as_str()?.to_owned(),
                user_name: resource.get("userName")?.as_str()?.to_owned(),
            })
        }));
    }
    users.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(users)
}

/// Creates `count` new users with POST /Users and returns them.
pub async fn create_users(bench: &Arc<Bench>, count: u64, label: &str) -> Result<Vec<PoolUser>> {
    let recorder = Arc::new(Recorder::new()?);
    let created = Arc::new(Mutex::new(Vec::new()));
    let progress = progress_bar(label, Some(count));

    let (task_bench, task_recorder, task_created) = (
        Arc::clone(bench),
        Arc::clone(&recorder),
        Arc::clone(&created),
    );
    drive(&bench.setup_limits(count), &progress, move |tick| {
        let (bench, recorder, created) = (
            Arc::clone(&task_bench),
            Arc::clone(&task_recorder),
            Arc::clone(&task_created),
        );
        async move {
            let spec = UserSpec::generated(&format!("{}p", bench.run), tick.index, &bench.domain);
            let outcome = bench
                .scim
                .send_json(Method::POST, "Users", Some(&scim::user_create_body(&spec)))
                .await
                .and_then(|body| scim::resource_id(&body));
            recorder.record("POST /Users", tick.started, outcome.as_ref().map(|_| ()));
            if let Ok(id) = outcome {
                let user = PoolUser {
                    id,
                    user_name: spec.user_name,
                };
                created
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(user);
            }
        }
    })
    .await;
    progress.finish_and_clear();

    let users = std::mem::take(&mut *created.lock().unwrap_or_else(PoisonError::into_inner));
    check_complete(&recorder, label, users.len() as u64, count)?;
    Ok(users)
}

/// Creates one group per name with POST /Groups and returns them in order.
pub async fn create_groups(bench: &Arc<Bench>, names: Vec<String>) -> Result<Vec<PoolGroup>> {
    let count = names.len() as u64;
    let recorder = Arc::new(Recorder::new()?);
    let created: Arc<Mutex<Vec<(u64, PoolGroup)>>> = Arc::new(Mutex::new(Vec::new()));
    let names = Arc::new(names);
    let progress = progress_bar("create groups", Some(count));

    let (task_bench, task_recorder, task_created) = (
        Arc::clone(bench),
        Arc::clone(&recorder),
        Arc::clone(&created),
    );
    drive(&bench.setup_limits(count), &progress, move |tick| {
        let (bench, recorder, created, names) = (
            Arc::clone(&task_bench),
            Arc::clone(&task_recorder),
            Arc::clone(&task_created),
            Arc::clone(&names),
        );
        async move {
            let name = names.get(tick.index as usize).cloned().unwrap_or_default();
            let outcome = bench
                .scim
                .send_json(
                    Method::POST,
                    "Groups",
                    Some(&scim::group_create_body(&name)),
                )
                .await
                .and_then(|body| scim::resource_id(&body));
            recorder.record("POST /Groups", tick.started, outcome.as_ref().map(|_| ()));
            if let Ok(id) = outcome {
                created
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((tick.index, PoolGroup { id }));
            }
        }
    })
    .await;
    progress.finish_and_clear();

    let mut groups = std::mem::take(&mut *created.lock().unwrap_or_else(PoisonError::into_inner));
    check_complete(&recorder, "create groups", groups.len() as u64, count)?;
    groups.sort_by_key(|(index, _)| *index);
    Ok(groups.into_iter().map(|(_, group)| group).collect())
}

/// Adds members to groups with `Add members` PATCHes of at most `batch`
/// members. Groups are filled in parallel, each group's PATCHes in order.
pub async fn add_members(
    bench: &Arc<Bench>,
    assignments: Vec<(String, Vec<String>)>,
    batch: usize,
) -> Result<()> {
    let count = assignments.len() as u64;
    let recorder = Arc::new(Recorder::new()?);
    let assignments = Arc::new(assignments);
    let progress = progress_bar("add members", Some(count));

    let (task_bench, task_recorder) = (Arc::clone(bench), Arc::clone(&recorder));
    drive(&bench.setup_limits(count), &progress, move |tick| {
        let (bench, recorder, assignments) = (
            Arc::clone(&task_bench),
            Arc::clone(&task_recorder),
            Arc::clone(&assignments),
        );
        async move {
            let Some((group_id, members)) = assignments.get(tick.index as usize) else {
                return;
            };
            for chunk in members.chunks(batch.max(1)) {
                let started = std::time::Instant::now();
                let body = scim::members_patch_body("Add", chunk);
                let outcome = bench
                    .scim
                    .send(Method::PATCH, &format!("Groups/{group_id}"), Some(&body))
                    .await;
                recorder.record(
                    "PATCH /Groups members",
                    started,
                    outcome.as_ref().map(|_| ()),
                );
                if outcome.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    progress.finish_and_clear();

    let (_, errors) = recorder.totals();
    if errors > 0 {
        bail!(
            "setup failed to add members: {}",
            first_error_text(&recorder)
        );
    }
    Ok(())
}

/// Fails unless every one of `expected` setup operations succeeded.
fn check_complete(recorder: &Recorder, label: &str, done: u64, expected: u64) -> Result<()> {
    if done < expected {
        bail!(
            "setup step {label:?} completed {done} of {expected} (stopped by an error or --setup-timeout); first error: {}",
            first_error_text(recorder)
        );
    }
    Ok(())
}

fn first_error_text(recorder: &Recorder) -> String {
    recorder
        .first_error()
        .unwrap_or_else(|| "none recorded".to_owned())
}
