//! The load driver: workers that take operation indexes from a shared
//! counter, closed-loop or paced open-loop, until the count or the deadline
//! is reached.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::time::Instant;

/// Extra time allowed after the deadline for requests in flight, on top of
/// the request timeout, before the workers are aborted.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// Bounds of one driven phase.
#[derive(Debug, Clone)]
pub struct Limits {
    pub concurrency: usize,
    /// Operations to run; `None` runs until the deadline.
    pub count: Option<u64>,
    pub duration: Duration,
    /// Operations per second under open-loop pacing; `None` is closed loop.
    pub rate: Option<f64>,
    /// Per-request timeout, used to bound the drain after the deadline.
    pub request_timeout: Duration,
}

/// One operation to perform.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    /// Zero-based index of the operation within the phase.
    pub index: u64,
    /// When the operation was due: its scheduled start under pacing, or the
    /// moment a worker took it. Latency is measured from here, so a late
    /// open-loop request counts its queueing delay.
    pub started: std::time::Instant,
}

/// How a phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Every operation of `count` was started.
    Count,
    /// The deadline passed first.
    Duration,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Duration => "duration",
        }
    }
}

/// Returns when operation `index` is due, measured from the start of an
/// open-loop schedule at `rate` operations per second.
pub fn scheduled_offset(index: u64, rate: f64) -> Duration {
    Duration::from_secs_f64(index as f64 / rate)
}

/// Runs `operation` under `limits` and returns how the phase ended and how
/// long it took. The operation records its own outcome.
pub async fn drive<F, Fut>(
    limits: &Limits,
    progress: &ProgressBar,
    operation: F,
) -> (Stop, Duration)
where
    F: Fn(Tick) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let operation = Arc::new(operation);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + limits.duration;

    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..limits.concurrency.max(1) {
        let operation = Arc::clone(&operation);
        let next = Arc::clone(&next);
        let progress = progress.clone();
        let (count, rate) = (limits.count, limits.rate);
        workers.spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if count.is_some_and(|count| index >= count) {
                    break;
                }
                let due = rate.map(|rate| start + scheduled_offset(index, rate));
                if let Some(due) = due {
                    if due >= deadline {
                        break;
                    }
                    tokio::time::sleep_until(due).await;
                }
                if Instant::now() >= deadline {
                    break;
                }

                let started = due.unwrap_or_else(Instant::now).into_std();
                operation(Tick { index, started }).await;
                progress.inc(1);
            }
        });
    }

    let drain_limit = deadline + limits.request_timeout + DRAIN_GRACE;
    let joined = tokio::time::timeout_at(drain_limit, async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if joined.is_err() {
        workers.abort_all();
    }

    let elapsed = start.elapsed();
    let all_started = limits
        .count
        .is_some_and(|count| next.load(Ordering::Relaxed) >= count);
    let stop = if all_started {
        Stop::Count
    } else {
        Stop::Duration
    };
    (stop, elapsed)
}

/// Returns a progress bar on standard error, drawn only on a terminal.
pub fn progress_bar(label: &str, count: Option<u64>) -> ProgressBar {
    let bar = match count {
        Some(count) => ProgressBar::new(count),
        None => ProgressBar::new_spinner(),
    };
    let template = match count {
        Some(_) => "{prefix:>14} [{bar:30}] {pos}/{len} {per_sec} {elapsed}",
        None => "{prefix:>14} {spinner} {pos} ops {per_sec} {elapsed}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn offsets_follow_rate() {
        assert_eq!(scheduled_offset(0, 100.0), Duration::ZERO);
        assert_eq!(scheduled_offset(100, 100.0), Duration::from_secs(1));
        assert_eq!(scheduled_offset(5, 10_000.0), Duration::from_micros(500));
    }

    #[test]
    fn offsets_are_evenly_spaced() {
        let gaps: Vec<Duration> = (0..4)
            .map(|index| scheduled_offset(index + 1, 4.0) - scheduled_offset(index, 4.0))
            .collect();

        assert!(
            gaps.iter().all(|gap| *gap == Duration::from_millis(250)),
            "{gaps:?}"
        );
    }

    fn limits(count: Option<u64>, duration: Duration, rate: Option<f64>) -> Limits {
        Limits {
            concurrency: 4,
            count,
            duration,
            rate,
            request_timeout: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn count_runs_each_index_once() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);

        let (stop, _) = drive(
            &limits(Some(50), Duration::from_secs(10), None),
            &ProgressBar::hidden(),
            move |tick| {
                let sink = Arc::clone(&sink);
                async move {
                    sink.lock()
                        .unwrap_or_else(|poison| poison.into_inner())
                        .push(tick.index)
                }
            },
        )
        .await;

        let mut seen = seen
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone();
        seen.sort_unstable();
        assert_eq!(stop, Stop::Count);
        assert_eq!(seen, (0..50).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn paced_run_stops_at_deadline() {
        let runs = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&runs);

        let (stop, _) = drive(
            &limits(None, Duration::from_millis(300), Some(50.0)),
            &ProgressBar::hidden(),
            move |_| {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            },
        )
        .await;

        // Operations are due every 20 ms, so 15 fall before the deadline.
        assert_eq!(stop, Stop::Duration);
        assert_eq!(runs.load(Ordering::Relaxed), 15);
    }
}
