//! The workloads. Each one sets up what it needs, then measures its
//! operations through [`measure`] and returns a summary.

pub mod checks;
pub mod members;
pub mod mixed;
pub mod role_delay;
pub mod roles;
pub mod sync;
pub mod sync_switch;
pub mod users;

use std::{future::Future, sync::Arc};

use crate::{
    cli::LoadArgs,
    report::Summary,
    runner::{Limits, Tick, drive, progress_bar},
    stats::Recorder,
};

/// Runs `operation` under the run's bounds with `count` operations at most,
/// and returns the summary of what `recorder` collected. Create the
/// recorder right before this call, because its per-second samples count
/// from its creation.
pub async fn measure<F, Fut>(
    workload: &str,
    load: &LoadArgs,
    count: Option<u64>,
    recorder: &Arc<Recorder>,
    operation: F,
) -> Summary
where
    F: Fn(Tick) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let limits = Limits {
        concurrency: load.concurrency,
        count,
        duration: load.duration,
        rate: load.rate,
        request_timeout: load.timeout,
    };
    let progress = progress_bar(workload, count);
    let (stop, elapsed) = drive(&limits, &progress, operation).await;
    progress.finish_and_clear();

    let mut summary = recorder.finish(workload, elapsed);
    summary.stopped_by = stop.as_str().to_owned();
    summary.concurrency = load.concurrency;
    summary.rate = load.rate;
    summary
}

/// Picks an index in `0..len` from `index`, spreading consecutive indexes
/// over the range (SplitMix64 finalizer), so workers do not all hit the
/// same resource. Returns 0 when `len` is 0.
pub fn spread(index: u64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let mut z = index.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % len as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_stays_in_range() {
        assert!((0..1_000).all(|index| spread(index, 7) < 7));
        assert_eq!(spread(5, 0), 0);
    }

    #[test]
    fn spread_covers_the_range() {
        let mut hits = [0u32; 10];
        for index in 0..10_000 {
            hits[spread(index, 10)] += 1;
        }

        assert!(
            hits.iter().all(|count| (800..1_200).contains(count)),
            "{hits:?}"
        );
    }
}
