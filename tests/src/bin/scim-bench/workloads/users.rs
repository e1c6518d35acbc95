//! `get-user` and `create-users`.

use std::sync::Arc;

use anyhow::{Result, bail};
use reqwest::Method;

use crate::{
    report::Summary,
    scim::{self, UserSpec},
    setup::{Bench, user_pool},
    stats::Recorder,
    workloads::{measure, spread},
};

/// Reads users by id (GET /Users/{id}) over a pool of `pool_size` users.
pub async fn get_user(bench: Arc<Bench>, pool_size: u64) -> Result<Summary> {
    crate::cli::check_count("--pool-size", pool_size)?;
    let pool = user_pool(&bench, pool_size).await?;
    if pool.is_empty() {
        bail!("the user pool is empty: no users could be listed or created");
    }
    let ids: Arc<Vec<String>> = Arc::new(pool.into_iter().map(|user| user.id).collect());

    let recorder = Arc::new(Recorder::new()?);
    let task_recorder = Arc::clone(&recorder);
    let task_bench = Arc::clone(&bench);
    let mut summary = measure(
        "get-user",
        &bench.load,
        bench.load.count,
        &recorder,
        move |tick| {
            let (bench, recorder, ids) = (
                Arc::clone(&task_bench),
                Arc::clone(&task_recorder),
                Arc::clone(&ids),
            );
            async move {
                let id = ids
                    .get(spread(tick.index, ids.len()))
                    .map_or("", String::as_str);
                let outcome = bench
                    .scim
                    .send(Method::GET, &format!("Users/{id}"), None)
                    .await;
                recorder.record(
                    "GET /Users/{id}",
                    tick.started,
                    outcome.as_ref().map(|_| ()),
                );
            }
        },
    )
    .await;
    summary
        .notes
        .insert("pool".to_owned(), format!("{pool_size} users"));
    Ok(summary)
}

/// Creates unique users with POST /Users, as Entra ID's create.
pub async fn create_users(bench: Arc<Bench>) -> Result<Summary> {
    let recorder = Arc::new(Recorder::new()?);
    let task_recorder = Arc::clone(&recorder);
    let task_bench = Arc::clone(&bench);
    let summary = measure(
        "create-users",
        &bench.load,
        bench.load.count,
        &recorder,
        move |tick| {
            let (bench, recorder) = (Arc::clone(&task_bench), Arc::clone(&task_recorder));
            async move {
                let spec = UserSpec::generated(&bench.run, tick.index, &bench.domain);
                let outcome = bench
                    .scim
                    .send(Method::POST, "Users", Some(&scim::user_create_body(&spec)))
                    .await;
                recorder.record("POST /Users", tick.started, outcome.as_ref().map(|_| ()));
            }
        },
    )
    .await;
    Ok(summary)
}
