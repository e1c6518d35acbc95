//! Cached membership results with versioned keys, in Redis or in process.
//!
//! # Keys
//!
//! - `groups:ge:{workspace}:{group}` holds the group's membership epoch (its
//!   `version`, or 0 when the group does not exist) and the time the epoch
//!   was read from the database.
//! - `groups:gm:{workspace}:{group}:{epoch}:{user}` holds whether the user
//!   is a member at that epoch.
//! - `groups:ue:{workspace}:{user}` and `groups:ug:{workspace}:{user}:{epoch}`
//!   do the same for the user's membership epoch and the user's groups.
//! - `groups:uge:{workspace}:{user group}` and
//!   `groups:ugm:{workspace}:{user group}:{epoch}:{user}` do for User Groups
//!   what `ge` and `gm` do for groups, with the User Group's `version`.
//! - `groups:uug:{workspace}:{user}:{epoch}` contains the user's User
//!   Groups under the same user epoch as `ug`, because one epoch per user
//!   covers both kinds of membership.
//!
//! # Why a result is never staler than [`EPOCH_MAX_AGE`]
//!
//! 1. Results are exact for their epoch. The database returns a result and
//!    its epoch from one statement or snapshot, and the result is stored
//!    under exactly that epoch. Every change that can alter a result bumps
//!    the epoch in the same transaction. Membership changes bump the
//!    group's or User Group's version and the users' epochs, and renaming
//!    or deleting a group or User Group bumps every member's user epoch. So
//!    a result stored under epoch `e` is the result for every database
//!    state whose epoch is `e`.
//! 2. An epoch entry records `read_at`, the wall-clock time just before the
//!    database read it came from, and readers ignore entries older than
//!    [`EPOCH_MAX_AGE`]. The epoch in a valid entry therefore includes every
//!    change committed before `now - EPOCH_MAX_AGE`.
//! 3. After a commit the writer deletes the epoch entries it changed, so the
//!    next check reads the new epoch from the database. This delete makes
//!    changes visible at once in the common case, but correctness does not
//!    depend on it: when it is lost (Redis unreachable, process crash after
//!    the commit, or a reader that read the old epoch before the commit and
//!    writes it back after the delete), point 2 still bounds the staleness.
//!    User Group writes that bump the epochs of all members of a User
//!    Group delete the entries of at most
//!    [`crate::store::user_group_writes::MAX_LISTED_MEMBER_IDS`] of them,
//!    and point 2 covers the rest.
//!
//! So a result reflects every change committed at least [`EPOCH_MAX_AGE`]
//! before the check, plus the clock skew between replicas that share Redis
//! (`read_at` is written by one replica and compared by another). Keeping
//! the epoch only in the database would need a database read per check,
//! which costs as much as reading the result itself, so epochs are cached
//! under this short bound instead.
//!
//! When Redis fails, every operation falls back to the database for
//! [`BYPASS_AFTER_ERROR`], counts `groups_cache_degraded_total` and logs a
//! warning at most once per [`WARNING_INTERVAL`]. Skipped invalidations are
//! lost invalidations, which point 2 covers.

mod backend;
mod keys;
mod user_groups;

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use plumbing::cache::Cache;
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    error::StoreError,
    store::{GroupEpoch, Store},
};

/// Maximum age of a cached epoch, measured from the start of the database
/// read that produced it. Also the TTL of epoch entries.
pub const EPOCH_MAX_AGE: Duration = Duration::from_secs(2);
/// TTL of results. A result never changes for its epoch, so this only
/// bounds memory.
pub const RESULT_TTL: Duration = Duration::from_secs(600);
/// How long the cache is skipped after a Redis error.
pub const BYPASS_AFTER_ERROR: Duration = Duration::from_secs(1);
/// Minimum time between two warnings about Redis errors.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(10);
/// Entries of the in-process cache used without Redis.
pub const IN_PROCESS_CAPACITY: u64 = 200_000;

/// Membership cache shared by the clones of the service.
#[derive(Clone)]
pub struct MembershipCache {
    inner: Arc<Inner>,
}

struct Inner {
    cache: Cache,
    /// Unix milliseconds until which the cache is skipped.
    bypass_until: AtomicU64,
    /// Unix milliseconds of the last warning about a Redis error.
    last_warning: AtomicU64,
}

impl std::fmt::Debug for MembershipCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner.cache {
            Cache::InProcess(_) => "in-process",
            Cache::Redis(_) => "redis",
        };
        formatter
            .debug_struct("MembershipCache")
            .field("backend", &kind)
            .finish()
    }
}

/// An epoch entry: the epoch and the Unix milliseconds its read started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CachedEpoch {
    epoch: i64,
    read_at: u64,
}

impl MembershipCache {
    pub fn new(cache: Cache) -> Self {
        Self {
            inner: Arc::new(Inner {
                cache,
                bypass_until: AtomicU64::new(0),
                last_warning: AtomicU64::new(0),
            }),
        }
    }

    /// Returns whether `user_id` is a member of the group; a group that does
    /// not exist in the workspace has no members.
    pub async fn check(
        &self,
        store: &dyn Store,
        workspace_id: &str,
        group_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        self.cached_check(
            keys::group_epoch(workspace_id, group_id),
            |epoch| keys::membership(workspace_id, group_id, epoch, user_id),
            || store.check_membership(workspace_id, group_id, user_id),
        )
        .await
    }

    /// Returns a membership result of a group or User Group whose epoch is
    /// stored under `epoch_key` and whose result under `result_key(epoch)`,
    /// reading both with `read` on a miss. An epoch of 0 means that the
    /// group does not exist.
    async fn cached_check<Read, ReadFuture>(
        &self,
        epoch_key: String,
        result_key: impl Fn(i64) -> String,
        read: Read,
    ) -> Result<bool, StoreError>
    where
        Read: FnOnce() -> ReadFuture,
        ReadFuture: Future<Output = Result<(GroupEpoch, bool), StoreError>>,
    {
        if let Some(cached) = self.epoch(&epoch_key).await {
            if cached == 0 {
                return Ok(false);
            }
            if let Some(result) = self.get_many(&[result_key(cached)]).await.pop().flatten() {
                metrics::counter!("groups_cache_requests_total", "result" => "hit").increment(1);
                return Ok(result == b"1");
            }
        }
        metrics::counter!("groups_cache_requests_total", "result" => "miss").increment(1);

        let read_at = unix_millis();
        let (epoch, is_member) = read().await?;
        let mut entries = vec![(
            epoch_key,
            encode_epoch(epoch_value(epoch), read_at),
            EPOCH_MAX_AGE,
        )];
        if let GroupEpoch::Version(version) = epoch {
            entries.push((result_key(version), encode_bool(is_member), RESULT_TTL));
        }
        self.set_many(entries).await;
        Ok(is_member)
    }

    /// Checks many (group id, user id) pairs, in order, with one cache
    /// round trip for the epochs, one for the results and at most one
    /// database snapshot for the misses.
    pub async fn check_many(
        &self,
        store: &dyn Store,
        workspace_id: &str,
        pairs: &[(String, String)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut group_ids: Vec<&str> = pairs
            .iter()
            .map(|(group_id, _)| group_id.as_str())
            .collect();
        group_ids.sort_unstable();
        group_ids.dedup();
        let epoch_keys: Vec<String> = group_ids
            .iter()
            .map(|group_id| keys::group_epoch(workspace_id, group_id))
            .collect();
        let epochs: HashMap<&str, i64> = group_ids
            .iter()
            .zip(self.get_many(&epoch_keys).await)
            .filter_map(|(group_id, value)| Some((*group_id, valid_epoch(value.as_deref()?)?)))
            .collect();

        let mut results: Vec<Option<bool>> = vec![None; pairs.len()];
        let mut lookups = Vec::new();
        for (index, (group_id, user_id)) in pairs.iter().enumerate() {
            match epochs.get(group_id.as_str()) {
                Some(0) => results[index] = Some(false),
                Some(epoch) => lookups.push((
                    index,
                    keys::membership(workspace_id, group_id, *epoch, user_id),
                )),
                None => {}
            }
        }
        let lookup_keys: Vec<String> = lookups.iter().map(|(_, key)| key.clone()).collect();
        for ((index, _), value) in lookups.iter().zip(self.get_many(&lookup_keys).await) {
            results[*index] = value.map(|bytes| bytes == b"1");
        }

        let misses: Vec<(String, String)> = pairs
            .iter()
            .zip(&results)
            .filter(|(_, result)| result.is_none())
            .map(|(pair, _)| pair.clone())
            .collect();
        let hits = pairs.len() - misses.len();
        metrics::counter!("groups_cache_requests_total", "result" => "hit").increment(hits as u64);
        metrics::counter!("groups_cache_requests_total", "result" => "miss")
            .increment(misses.len() as u64);
        if misses.is_empty() {
            return Ok(results
                .into_iter()
                .map(|result| result.unwrap_or(false))
                .collect());
        }

        let read_at = unix_millis();
        let snapshot = store.check_memberships(workspace_id, &misses).await?;
        let mut entries = Vec::new();
        let mut missed_groups: Vec<&str> = misses
            .iter()
            .map(|(group_id, _)| group_id.as_str())
            .collect();
        missed_groups.sort_unstable();
        missed_groups.dedup();
        for group_id in missed_groups {
            let epoch = snapshot.epochs.get(group_id).copied().unwrap_or(0);
            entries.push((
                keys::group_epoch(workspace_id, group_id),
                encode_epoch(epoch, read_at),
                EPOCH_MAX_AGE,
            ));
        }
        for (index, (group_id, user_id)) in pairs.iter().enumerate() {
            if results[index].is_some() {
                continue;
            }
            let is_member = snapshot
                .members
                .contains(&(group_id.clone(), user_id.clone()));
            results[index] = Some(is_member);
            if let Some(epoch) = snapshot.epochs.get(group_id) {
                let key = keys::membership(workspace_id, group_id, *epoch, user_id);
                entries.push((key, encode_bool(is_member), RESULT_TTL));
            }
        }
        self.set_many(entries).await;
        Ok(results
            .into_iter()
            .map(|result| result.unwrap_or(false))
            .collect())
    }

    /// Returns the user's groups as (group id, displayName), ordered by id.
    pub async fn groups_for_user(
        &self,
        store: &dyn Store,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.cached_user_list(
            workspace_id,
            user_id,
            |epoch| keys::user_groups(workspace_id, user_id, epoch),
            || async {
                let user_groups = store.groups_for_user(workspace_id, user_id).await?;
                Ok((user_groups.epoch, user_groups.groups))
            },
        )
        .await
    }

    /// Returns a list about one user that is versioned by the user's
    /// membership epoch and stored under `result_key(epoch)`, reading the
    /// epoch and the list with `read` on a miss.
    async fn cached_user_list<T, Read, ReadFuture>(
        &self,
        workspace_id: &str,
        user_id: &str,
        result_key: impl Fn(i64) -> String,
        read: Read,
    ) -> Result<T, StoreError>
    where
        T: Serialize + DeserializeOwned,
        Read: FnOnce() -> ReadFuture,
        ReadFuture: Future<Output = Result<(i64, T), StoreError>>,
    {
        let epoch_key = keys::user_epoch(workspace_id, user_id);
        if let Some(cached) = self.epoch(&epoch_key).await {
            let result = self.get_many(&[result_key(cached)]).await.pop().flatten();
            if let Some(list) = result.and_then(|bytes| serde_json::from_slice(&bytes).ok()) {
                metrics::counter!("groups_cache_requests_total", "result" => "hit").increment(1);
                return Ok(list);
            }
        }
        metrics::counter!("groups_cache_requests_total", "result" => "miss").increment(1);

        let read_at = unix_millis();
        let (epoch, list) = read().await?;
        let mut entries = vec![(epoch_key, encode_epoch(epoch, read_at), EPOCH_MAX_AGE)];
        if let Ok(encoded) = serde_json::to_vec(&list) {
            entries.push((result_key(epoch), encoded, RESULT_TTL));
        }
        self.set_many(entries).await;
        Ok(list)
    }

    /// Deletes the epoch entries of groups and users whose epoch a committed
    /// change bumped, so the next check reads the new epoch.
    pub async fn invalidate(&self, workspace_id: &str, group_ids: &[String], user_ids: &[String]) {
        self.invalidate_with_user_groups(workspace_id, group_ids, &[], user_ids)
            .await;
    }

    /// Deletes the epoch entries of groups, User Groups and users whose
    /// epoch a committed change bumped.
    pub async fn invalidate_with_user_groups(
        &self,
        workspace_id: &str,
        group_ids: &[String],
        user_group_ids: &[String],
        user_ids: &[String],
    ) {
        let keys: Vec<String> = group_ids
            .iter()
            .map(|group_id| keys::group_epoch(workspace_id, group_id))
            .chain(
                user_group_ids
                    .iter()
                    .map(|user_group_id| keys::user_group_epoch(workspace_id, user_group_id)),
            )
            .chain(
                user_ids
                    .iter()
                    .map(|user_id| keys::user_epoch(workspace_id, user_id)),
            )
            .collect();
        if keys.is_empty() {
            return;
        }
        if self.bypassed() {
            self.count_degraded("invalidate");
            return;
        }
        if let Err(error) = backend::delete_many(&self.inner.cache, &keys).await {
            self.degraded("invalidate", &error);
        }
    }

    /// Returns the valid cached epoch under `key`, if any.
    async fn epoch(&self, key: &str) -> Option<i64> {
        let value = self.get_many(&[key.to_owned()]).await.pop().flatten()?;
        valid_epoch(&value)
    }

    /// Reads keys; every key misses while the cache is failing.
    async fn get_many(&self, keys: &[String]) -> Vec<Option<Vec<u8>>> {
        if keys.is_empty() {
            return Vec::new();
        }
        if self.bypassed() {
            self.count_degraded("read");
            return vec![None; keys.len()];
        }
        match backend::get_many(&self.inner.cache, keys).await {
            Ok(values) if values.len() == keys.len() => values,
            Ok(_) => vec![None; keys.len()],
            Err(error) => {
                self.degraded("read", &error);
                vec![None; keys.len()]
            }
        }
    }

    async fn set_many(&self, entries: Vec<(String, Vec<u8>, Duration)>) {
        if entries.is_empty() {
            return;
        }
        if self.bypassed() {
            self.count_degraded("write");
            return;
        }
        if let Err(error) = backend::set_many(&self.inner.cache, entries).await {
            self.degraded("write", &error);
        }
    }

    fn bypassed(&self) -> bool {
        unix_millis() < self.inner.bypass_until.load(Ordering::Relaxed)
    }

    /// Records a failed cache operation: skips the cache for a while, counts
    /// it and logs a warning unless one was logged recently.
    fn degraded(&self, operation: &'static str, error: &anyhow::Error) {
        let now = unix_millis();
        self.inner
            .bypass_until
            .store(now + millis(BYPASS_AFTER_ERROR), Ordering::Relaxed);
        self.count_degraded(operation);

        let last = self.inner.last_warning.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= millis(WARNING_INTERVAL);
        if due
            && self
                .inner
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                error = %format!("{error:#}"),
                operation,
                bypass_ms = millis(BYPASS_AFTER_ERROR),
                "membership cache failed; reading from the database"
            );
        }
    }

    fn count_degraded(&self, operation: &'static str) {
        metrics::counter!("groups_cache_degraded_total", "operation" => operation).increment(1);
    }
}

fn epoch_value(epoch: GroupEpoch) -> i64 {
    match epoch {
        GroupEpoch::Absent => 0,
        GroupEpoch::Version(version) => version,
    }
}

fn encode_epoch(epoch: i64, read_at: u64) -> Vec<u8> {
    format!("{epoch}:{read_at}").into_bytes()
}

fn decode_epoch(bytes: &[u8]) -> Option<CachedEpoch> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (epoch, read_at) = text.split_once(':')?;
    Some(CachedEpoch {
        epoch: epoch.parse().ok()?,
        read_at: read_at.parse().ok()?,
    })
}

/// Returns the epoch of an entry whose read started less than
/// [`EPOCH_MAX_AGE`] ago.
fn valid_epoch(bytes: &[u8]) -> Option<i64> {
    let cached = decode_epoch(bytes)?;
    let age = unix_millis().saturating_sub(cached.read_at);
    (age < millis(EPOCH_MAX_AGE)).then_some(cached.epoch)
}

fn encode_bool(value: bool) -> Vec<u8> {
    if value { b"1".to_vec() } else { b"0".to_vec() }
}

fn unix_millis() -> u64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_epoch_is_valid() {
        let encoded = encode_epoch(7, unix_millis());

        assert_eq!(valid_epoch(&encoded), Some(7));
    }

    #[test]
    fn epoch_older_than_max_age_is_ignored() {
        let encoded = encode_epoch(7, unix_millis() - millis(EPOCH_MAX_AGE));

        assert_eq!(valid_epoch(&encoded), None);
    }

    #[test]
    fn malformed_epoch_is_ignored() {
        assert_eq!(valid_epoch(b"seven"), None);
    }
}
