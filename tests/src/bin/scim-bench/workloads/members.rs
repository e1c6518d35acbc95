//! `patch-members`: PATCHes that add new members to a large group.

use std::sync::Arc;

use anyhow::{Result, bail};
use reqwest::Method;

use crate::{
    cli::{self, PatchArgs},
    report::Summary,
    scim,
    setup::{Bench, add_members, create_groups, user_pool},
    stats::Recorder,
    workloads::measure,
};

/// Measured PATCHes when --count is not given.
const DEFAULT_PATCHES: u64 = 10;
/// Largest --add.
const MAX_ADD: u64 = 100_000;

/// Builds a group of `group_size` members, then measures PATCHes that each
/// add `add` users that are not members yet. The group grows by `add` with
/// every PATCH.
pub async fn patch_members(bench: Arc<Bench>, args: PatchArgs) -> Result<Summary> {
    let patches = bench.load.count.unwrap_or(DEFAULT_PATCHES);
    let needed = validate(&args, patches)?;

    let pool: Vec<String> = user_pool(&bench, needed)
        .await?
        .into_iter()
        .map(|user| user.id)
        .collect();
    let group_name = format!("bench-{}-patch-members", bench.run);
    let group = create_groups(&bench, vec![group_name]).await?;
    let Some(group_id) = group.into_iter().next().map(|group| group.id) else {
        bail!("setup created no group");
    };
    let initial: Vec<String> = pool
        .iter()
        .take(args.group_size as usize)
        .cloned()
        .collect();
    add_members(&bench, vec![(group_id.clone(), initial)], args.batch_size).await?;

    let additions: Arc<Vec<Vec<String>>> = Arc::new(
        pool[args.group_size as usize..]
            .chunks(args.add as usize)
            .map(<[String]>::to_vec)
            .collect(),
    );
    let path = Arc::new(format!("Groups/{group_id}"));
    let recorder = Arc::new(Recorder::new()?);
    let task_recorder = Arc::clone(&recorder);
    let task_bench = Arc::clone(&bench);
    let mut summary = measure(
        "patch-members",
        &bench.load,
        Some(patches),
        &recorder,
        move |tick| {
            let (bench, recorder, additions, path) = (
                Arc::clone(&task_bench),
                Arc::clone(&task_recorder),
                Arc::clone(&additions),
                Arc::clone(&path),
            );
            async move {
                let Some(members) = additions.get(tick.index as usize) else {
                    return;
                };
                let body = scim::members_patch_body("Add", members);
                let outcome = bench.scim.send(Method::PATCH, &path, Some(&body)).await;
                recorder.record(
                    "PATCH /Groups add members",
                    tick.started,
                    outcome.as_ref().map(|_| ()),
                );
            }
        },
    )
    .await;

    summary.notes.insert(
        "group".to_owned(),
        format!(
            "{} members before the first measured PATCH",
            args.group_size
        ),
    );
    summary.notes.insert(
        "added".to_owned(),
        format!("{} new members per PATCH", args.add),
    );
    Ok(summary)
}

/// Checks the sizes and returns the number of users the run needs.
pub fn validate(args: &PatchArgs, patches: u64) -> Result<u64> {
    cli::check_count("--group-size", args.group_size)?;
    cli::check_batch("--batch-size", args.batch_size)?;
    if args.add == 0 || args.add > MAX_ADD {
        bail!("invalid --add {}: use 1 to {MAX_ADD}", args.add);
    }
    let needed = args
        .add
        .saturating_mul(patches)
        .saturating_add(args.group_size);
    if needed > cli::MAX_COUNT {
        bail!(
            "the run needs {needed} users (--group-size + --add x --count), above the maximum of {}",
            cli::MAX_COUNT
        );
    }
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(group_size: u64, add: u64) -> PatchArgs {
        PatchArgs {
            group_size,
            add,
            batch_size: 1_000,
        }
    }

    #[test]
    fn needed_users_include_additions() {
        assert_eq!(validate(&args(100_000, 10_000), 5).ok(), Some(150_000));
    }

    #[test]
    fn oversized_runs_rejected() {
        assert!(validate(&args(9_999_999, 10), 1).is_err());
        assert!(validate(&args(10, 0), 1).is_err());
        assert!(validate(&args(10, 100_001), 1).is_err());
    }
}
