//! `initial-sync`: Entra ID's first provisioning cycle. Each user is
//! matched by a userName filter and then created, each group is matched by
//! a displayName filter (without members) and then created, and finally the
//! memberships are added with `Add members` PATCHes.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use anyhow::{Result, bail};
use reqwest::Method;
use serde_json::Value;

use crate::{
    cli::{self, SyncArgs},
    report::Summary,
    runner::{Limits, Stop, Tick, drive, progress_bar},
    scim::{self, UserSpec},
    setup::Bench,
    stats::Recorder,
};

/// Runs the three phases under one --duration budget and one summary.
pub async fn initial_sync(bench: Arc<Bench>, args: SyncArgs) -> Result<Summary> {
    validate(&bench, &args)?;
    let recorder = Arc::new(Recorder::new()?);
    let start = Instant::now();
    let deadline = start + bench.load.duration;
    let mut notes = Vec::new();
    let mut stopped_by = Stop::Count;

    let user_ids = slots(args.users);
    let stop = phase(
        &bench,
        &recorder,
        "sync users",
        args.users,
        deadline,
        &mut notes,
        {
            let (bench, recorder, ids) = (
                Arc::clone(&bench),
                Arc::clone(&recorder),
                Arc::clone(&user_ids),
            );
            move |tick| {
                let (bench, recorder, ids) =
                    (Arc::clone(&bench), Arc::clone(&recorder), Arc::clone(&ids));
                async move {
                    let spec = UserSpec::generated(&bench.run, tick.index, &bench.domain);
                    let filter = scim::user_filter_path(&spec.user_name);
                    let body = scim::user_create_body(&spec);
                    let id = match_then_create(
                        &bench,
                        &recorder,
                        tick,
                        ("GET /Users?filter", &filter),
                        ("POST /Users", "Users", &body),
                    )
                    .await;
                    store(&ids, tick.index, id);
                }
            }
        },
    )
    .await;
    stopped_by = worse(stopped_by, stop);

    let group_ids = slots(args.groups);
    if stopped_by == Stop::Count && args.groups > 0 {
        let stop = phase(
            &bench,
            &recorder,
            "sync groups",
            args.groups,
            deadline,
            &mut notes,
            {
                let (bench, recorder, ids) = (
                    Arc::clone(&bench),
                    Arc::clone(&recorder),
                    Arc::clone(&group_ids),
                );
                move |tick| {
                    let (bench, recorder, ids) =
                        (Arc::clone(&bench), Arc::clone(&recorder), Arc::clone(&ids));
                    async move {
                        let name = format!("bench-{}-group-{}", bench.run, tick.index);
                        let filter = scim::group_filter_path(&name);
                        let body = scim::group_create_body(&name);
                        let id = match_then_create(
                            &bench,
                            &recorder,
                            tick,
                            ("GET /Groups?filter", &filter),
                            ("POST /Groups", "Groups", &body),
                        )
                        .await;
                        store(&ids, tick.index, id);
                    }
                }
            },
        )
        .await;
        stopped_by = worse(stopped_by, stop);
    }

    let patches = Arc::new(membership_patches(
        &taken(&user_ids),
        &taken(&group_ids),
        args.memberships,
        args.batch_size,
    ));
    if stopped_by == Stop::Count && !patches.is_empty() {
        let stop = phase(
            &bench,
            &recorder,
            "sync members",
            patches.len() as u64,
            deadline,
            &mut notes,
            {
                let (bench, recorder, patches) = (
                    Arc::clone(&bench),
                    Arc::clone(&recorder),
                    Arc::clone(&patches),
                );
                move |tick| {
                    let (bench, recorder, patches) = (
                        Arc::clone(&bench),
                        Arc::clone(&recorder),
                        Arc::clone(&patches),
                    );
                    async move {
                        let Some((group_id, members)) = patches.get(tick.index as usize) else {
                            return;
                        };
                        let body = scim::members_patch_body("Add", members);
                        let outcome = bench
                            .scim
                            .send(Method::PATCH, &format!("Groups/{group_id}"), Some(&body))
                            .await;
                        recorder.record(
                            "PATCH /Groups members",
                            tick.started,
                            outcome.as_ref().map(|_| ()),
                        );
                    }
                }
            },
        )
        .await;
        stopped_by = worse(stopped_by, stop);
    }

    let mut summary = recorder.finish("initial-sync", start.elapsed());
    summary.stopped_by = if stopped_by == Stop::Count {
        "completed".to_owned()
    } else {
        Stop::Duration.as_str().to_owned()
    };
    summary.concurrency = bench.load.concurrency;
    summary.rate = bench.load.rate;
    for (key, value) in notes {
        summary.notes.insert(key, value);
    }
    Ok(summary)
}

fn validate(bench: &Bench, args: &SyncArgs) -> Result<()> {
    if bench.load.count.is_some() {
        bail!(
            "initial-sync takes its size from --users, --groups and --memberships; remove --count"
        );
    }
    cli::check_count("--users", args.users)?;
    if args.groups > cli::MAX_COUNT {
        bail!(
            "invalid --groups {}: use 0 to {}",
            args.groups,
            cli::MAX_COUNT
        );
    }
    cli::check_batch("--batch-size", args.batch_size)?;
    let pairs = args.users.saturating_mul(args.groups);
    if args.memberships > pairs.min(cli::MAX_COUNT) {
        bail!(
            "invalid --memberships {}: at most --users x --groups = {pairs} distinct memberships, and at most {}",
            args.memberships,
            cli::MAX_COUNT
        );
    }
    Ok(())
}

/// Runs one phase of `count` operations with the time left before
/// `deadline`, and notes its size and rate.
async fn phase<F, Fut>(
    bench: &Bench,
    recorder: &Recorder,
    label: &str,
    count: u64,
    deadline: Instant,
    notes: &mut Vec<(String, String)>,
    operation: F,
) -> Stop
where
    F: Fn(Tick) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Stop::Duration;
    }
    let limits = Limits {
        concurrency: bench.load.concurrency,
        count: Some(count),
        duration: remaining,
        rate: bench.load.rate,
        request_timeout: bench.load.timeout,
    };
    let (before, _) = recorder.totals();
    let progress = progress_bar(label, Some(count));
    let (stop, elapsed) = drive(&limits, &progress, operation).await;
    progress.finish_and_clear();

    let (after, _) = recorder.totals();
    let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
    notes.push((
        label.replace(' ', "-"),
        format!(
            "{count} operations in {:.2} s ({:.1} ok requests/s)",
            seconds,
            (after - before) as f64 / seconds
        ),
    ));
    stop
}

/// Sends the existence check, then the create when the check found nothing.
/// Returns the id of the created or found resource.
async fn match_then_create(
    bench: &Bench,
    recorder: &Recorder,
    tick: Tick,
    (check_label, check_path): (&'static str, &str),
    (create_label, create_path, body): (&'static str, &str, &Value),
) -> Option<String> {
    let found = bench.scim.send_json(Method::GET, check_path, None).await;
    recorder.record(check_label, tick.started, found.as_ref().map(|_| ()));
    let existing = found
        .ok()?
        .pointer("/Resources/0/id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if existing.is_some() {
        return existing;
    }

    let started = std::time::Instant::now();
    let created = bench
        .scim
        .send_json(Method::POST, create_path, Some(body))
        .await
        .and_then(|body| scim::resource_id(&body));
    recorder.record(create_label, started, created.as_ref().map(|_| ()));
    created.ok()
}

/// Returns the membership PATCHes: membership `j` puts user `j / groups`
/// into group `j % groups`, which makes every pair distinct while
/// `memberships <= users x groups`. Batches are ordered round-robin over the
/// groups, so concurrent PATCHes mostly touch different groups. Users or
/// groups that failed to be created are skipped.
pub fn membership_patches(
    users: &[Option<String>],
    groups: &[Option<String>],
    memberships: u64,
    batch: usize,
) -> Vec<(String, Vec<String>)> {
    if users.is_empty() || groups.is_empty() {
        return Vec::new();
    }
    let mut members: Vec<Vec<String>> = vec![Vec::new(); groups.len()];
    for j in 0..memberships {
        let group = (j % groups.len() as u64) as usize;
        let user = ((j / groups.len() as u64) % users.len() as u64) as usize;
        if let Some(Some(id)) = users.get(user) {
            members[group].push(id.clone());
        }
    }

    let mut per_group: Vec<std::vec::IntoIter<Vec<String>>> = members
        .into_iter()
        .map(|list| {
            list.chunks(batch.max(1))
                .map(<[String]>::to_vec)
                .collect::<Vec<_>>()
                .into_iter()
        })
        .collect();
    let mut patches = Vec::new();
    loop {
        let before = patches.len();
        for (group, chunks) in per_group.iter_mut().enumerate() {
            if let (Some(chunk), Some(Some(group_id))) = (chunks.next(), groups.get(group)) {
                patches.push((group_id.clone(), chunk));
            }
        }
        if patches.len() == before {
            return patches;
        }
    }
}

fn slots(count: u64) -> Arc<Mutex<Vec<Option<String>>>> {
    Arc::new(Mutex::new(vec![None; usize::try_from(count).unwrap_or(0)]))
}

fn store(slots: &Mutex<Vec<Option<String>>>, index: u64, id: Option<String>) {
    if let Some(slot) = slots
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_mut(index as usize)
    {
        *slot = id;
    }
}

fn taken(slots: &Mutex<Vec<Option<String>>>) -> Vec<Option<String>> {
    std::mem::take(&mut *slots.lock().unwrap_or_else(PoisonError::into_inner))
}

fn worse(current: Stop, next: Stop) -> Stop {
    if current == Stop::Duration {
        current
    } else {
        next
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn ids(prefix: &str, count: usize) -> Vec<Option<String>> {
        (0..count)
            .map(|index| Some(format!("{prefix}{index}")))
            .collect()
    }

    #[test]
    fn patches_cover_distinct_pairs() {
        let patches = membership_patches(&ids("u", 4), &ids("g", 3), 12, 5);

        let pairs: HashSet<(String, String)> = patches
            .iter()
            .flat_map(|(group, members)| members.iter().map(|user| (group.clone(), user.clone())))
            .collect();
        assert_eq!(pairs.len(), 12);
    }

    #[test]
    fn patches_respect_batch_size() {
        let patches = membership_patches(&ids("u", 10), &ids("g", 1), 10, 3);

        let sizes: Vec<usize> = patches.iter().map(|(_, members)| members.len()).collect();
        assert_eq!(sizes, vec![3, 3, 3, 1]);
    }

    #[test]
    fn patches_alternate_groups() {
        let patches = membership_patches(&ids("u", 4), &ids("g", 2), 8, 2);

        let order: Vec<&str> = patches.iter().map(|(group, _)| group.as_str()).collect();
        assert_eq!(order, vec!["g0", "g1", "g0", "g1"]);
    }

    #[test]
    fn failed_users_skipped() {
        let users = vec![Some("u0".to_owned()), None];

        let patches = membership_patches(&users, &ids("g", 1), 2, 10);

        assert_eq!(patches, vec![("g0".to_owned(), vec!["u0".to_owned()])]);
    }
}
