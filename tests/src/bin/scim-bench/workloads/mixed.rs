//! `mixed`: Entra ID's incremental cycle, one operation kind per request
//! chosen by weight.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use reqwest::Method;

use crate::{
    cli::{self, MixedArgs},
    report::Summary,
    scim,
    setup::{Bench, PoolGroup, PoolUser, create_groups, user_pool},
    stats::Recorder,
    workloads::{measure, spread},
};

/// Operation kinds in the order of [`Mix::weights`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// GET /Users?filter=userName eq "..."
    Get,
    /// PATCH replace of the work email and name.familyName.
    Replace,
    /// PATCH replace of `active`, false or true.
    Active,
    /// Group PATCH adding or removing one member.
    Members,
}

const KINDS: [(&str, Kind); 4] = [
    ("get", Kind::Get),
    ("replace", Kind::Replace),
    ("active", Kind::Active),
    ("members", Kind::Members),
];

/// Relative weights of the operation kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    pub weights: [u64; 4],
}

impl Mix {
    /// Parses `get=50,replace=20,active=10,members=20`; kinds left out get 0.
    pub fn parse(text: &str) -> Result<Self> {
        let mut weights = [0u64; 4];
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let (name, weight) = part
                .split_once('=')
                .with_context(|| format!("invalid --mix entry {part:?}: expected NAME=WEIGHT"))?;
            let slot = KINDS
                .iter()
                .position(|(kind, _)| *kind == name.trim())
                .with_context(|| {
                    format!("invalid --mix kind {name:?}: use get, replace, active or members")
                })?;
            weights[slot] = weight.trim().parse().with_context(|| {
                format!("invalid --mix weight {weight:?} for {name}: expected a whole number")
            })?;
        }
        if weights.iter().sum::<u64>() == 0 {
            bail!("invalid --mix {text:?}: at least one weight must be above 0");
        }
        Ok(Self { weights })
    }

    /// Returns the kind of operation `index`.
    pub fn pick(&self, index: u64) -> Kind {
        let total: u64 = self.weights.iter().sum();
        let mut point = spread(index, total as usize) as u64;
        for ((_, kind), weight) in KINDS.iter().zip(self.weights) {
            if point < weight {
                return *kind;
            }
            point -= weight;
        }
        Kind::Get
    }
}

/// Runs the mix over a pool of users and freshly created groups.
pub async fn mixed(bench: Arc<Bench>, args: MixedArgs) -> Result<Summary> {
    let mix = Mix::parse(&args.mix)?;
    cli::check_count("--pool-size", args.pool_size)?;
    if mix.weights[3] > 0 {
        cli::check_count("--groups", args.groups)?;
    }

    let users: Arc<Vec<PoolUser>> = Arc::new(user_pool(&bench, args.pool_size).await?);
    let groups: Arc<Vec<PoolGroup>> = Arc::new(if mix.weights[3] > 0 {
        let names = (0..args.groups)
            .map(|g| format!("bench-{}-mixed-{g}", bench.run))
            .collect();
        create_groups(&bench, names).await?
    } else {
        Vec::new()
    });

    let group_count = groups.len();
    let recorder = Arc::new(Recorder::new()?);
    let task_recorder = Arc::clone(&recorder);
    let task_bench = Arc::clone(&bench);
    let mut summary = measure(
        "mixed",
        &bench.load,
        bench.load.count,
        &recorder,
        move |tick| {
            let (bench, recorder, users, groups, mix) = (
                Arc::clone(&task_bench),
                Arc::clone(&task_recorder),
                Arc::clone(&users),
                Arc::clone(&groups),
                mix.clone(),
            );
            async move {
                let Some(user) = users.get(spread(tick.index ^ 0x5555, users.len())) else {
                    return;
                };
                let flag = spread(tick.index ^ 0xAAAA, 2) == 0;
                let (label, outcome) = match mix.pick(tick.index) {
                    Kind::Get => {
                        let path = scim::user_filter_path(&user.user_name);
                        (
                            "GET /Users?filter",
                            bench.scim.send(Method::GET, &path, None).await,
                        )
                    }
                    Kind::Replace => {
                        let email = format!("bench.{}.m{}@{}", bench.run, tick.index, bench.domain);
                        let body = scim::user_replace_body(&email, &format!("Mixed{}", tick.index));
                        let path = format!("Users/{}", user.id);
                        (
                            "PATCH /Users replace",
                            bench.scim.send(Method::PATCH, &path, Some(&body)).await,
                        )
                    }
                    Kind::Active => {
                        let path = format!("Users/{}", user.id);
                        let body = scim::user_active_body(flag);
                        (
                            "PATCH /Users active",
                            bench.scim.send(Method::PATCH, &path, Some(&body)).await,
                        )
                    }
                    Kind::Members => {
                        let Some(group) = groups.get(spread(tick.index ^ 0x3333, groups.len()))
                        else {
                            return;
                        };
                        let op = if flag { "Add" } else { "Remove" };
                        let body = scim::members_patch_body(op, std::slice::from_ref(&user.id));
                        let path = format!("Groups/{}", group.id);
                        (
                            "PATCH /Groups members",
                            bench.scim.send(Method::PATCH, &path, Some(&body)).await,
                        )
                    }
                };
                recorder.record(label, tick.started, outcome.as_ref().map(|_| ()));
            }
        },
    )
    .await;
    summary.notes.insert("mix".to_owned(), args.mix.clone());
    summary.notes.insert(
        "pool".to_owned(),
        format!("{} users, {group_count} groups", args.pool_size),
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_default() -> Result<()> {
        let mix = Mix::parse("get=50,replace=20,active=10,members=20")?;

        assert_eq!(mix.weights, [50, 20, 10, 20]);
        Ok(())
    }

    #[test]
    fn mix_rejects_unknown_kind() {
        assert!(Mix::parse("get=50,delete=50").is_err());
    }

    #[test]
    fn mix_rejects_all_zero() {
        assert!(Mix::parse("get=0").is_err());
    }

    #[test]
    fn pick_follows_weights() -> Result<()> {
        let mix = Mix::parse("get=50,replace=20,active=10,members=20")?;

        let gets = (0..10_000)
            .filter(|index| mix.pick(*index) == Kind::Get)
            .count();
        let actives = (0..10_000)
            .filter(|index| mix.pick(*index) == Kind::Active)
            .count();

        assert!((4_700..5_300).contains(&gets), "{gets}");
        assert!((800..1_200).contains(&actives), "{actives}");
        Ok(())
    }

    #[test]
    fn pick_skips_zero_weights() -> Result<()> {
        let mix = Mix::parse("get=1")?;

        assert!((0..100).all(|index| mix.pick(index) == Kind::Get));
        Ok(())
    }
}
