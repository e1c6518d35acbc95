//! Outcome recording: an HDR latency histogram per operation, error counts
//! by HTTP status or gRPC code, and per-second samples.

use std::{
    collections::BTreeMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use hdrhistogram::Histogram;

use crate::report::{OperationSummary, Sample, Summary};

/// Largest latency the histograms hold, in microseconds (one hour); longer
/// ones are recorded as this value.
const MAX_LATENCY_MICROS: u64 = 3_600_000_000;

/// Why one request failed. Every failure is counted as an error, never as a
/// success.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The server replied with a status outside 2xx.
    Status { code: u16, detail: String },
    /// No complete response within the request timeout.
    Timeout,
    /// Connection or protocol error before a complete response.
    Transport(String),
    /// A gRPC call returned a status other than OK.
    Grpc { code: tonic::Code, message: String },
    /// A 2xx response whose body is not what the workload needs, such as a
    /// created resource without an `id`.
    InvalidBody(String),
}

impl Failure {
    /// Returns the key errors are counted under, such as `HTTP 409`.
    pub fn label(&self) -> String {
        match self {
            Self::Status { code, .. } => format!("HTTP {code}"),
            Self::Timeout => "timeout".to_owned(),
            Self::Transport(_) => "transport error".to_owned(),
            Self::Grpc { code, .. } => format!("gRPC {code:?}"),
            Self::InvalidBody(_) => "invalid response body".to_owned(),
        }
    }

    /// Returns the label with the server's message, for the first-error line.
    pub fn describe(&self) -> String {
        match self {
            Self::Status { detail, .. } | Self::Transport(detail) | Self::InvalidBody(detail) => {
                format!("{}: {detail}", self.label())
            }
            Self::Grpc { message, .. } => format!("{}: {message}", self.label()),
            Self::Timeout => self.label(),
        }
    }
}

fn new_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3)
        .context("failed to create a latency histogram")
}

#[derive(Debug)]
struct Counts {
    latency: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
}

impl Counts {
    fn new() -> Result<Self> {
        Ok(Self {
            latency: new_histogram()?,
            ok: 0,
            errors: BTreeMap::new(),
        })
    }

    fn add(&mut self, micros: u64, failure: Option<&Failure>) {
        match failure {
            None => {
                self.ok += 1;
                self.latency.saturating_record(micros.max(1));
            }
            Some(failure) => *self.errors.entry(failure.label()).or_default() += 1,
        }
    }

    fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

struct State {
    total: Counts,
    operations: BTreeMap<&'static str, Counts>,
    /// Counts of the second in progress, and its index from `started`.
    second: Counts,
    second_index: u64,
    samples: Vec<Sample>,
    first_error: Option<String>,
}

/// Collects outcomes from every worker. Latency percentiles cover successful
/// requests only, and errors are counted by kind.
pub struct Recorder {
    started: Instant,
    state: Mutex<State>,
}

impl Recorder {
    pub fn new() -> Result<Self> {
        Ok(Self {
            started: Instant::now(),
            state: Mutex::new(State {
                total: Counts::new()?,
                operations: BTreeMap::new(),
                second: Counts::new()?,
                second_index: 0,
                samples: Vec::new(),
                first_error: None,
            }),
        })
    }

    /// Records one request of `operation` that began at `started` (its
    /// scheduled start under open-loop pacing).
    pub fn record(&self, operation: &'static str, started: Instant, outcome: Result<(), &Failure>) {
        let now = Instant::now();
        let micros =
            u64::try_from(now.saturating_duration_since(started).as_micros()).unwrap_or(u64::MAX);
        let failure = outcome.err();
        let second = now.saturating_duration_since(self.started).as_secs();

        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if second > state.second_index {
            state.close_seconds(second);
        }
        state.total.add(micros, failure);
        state.second.add(micros, failure);
        if let Some(counts) = state.operations.get_mut(operation) {
            counts.add(micros, failure);
        } else if let Ok(mut counts) = Counts::new() {
            counts.add(micros, failure);
            state.operations.insert(operation, counts);
        }
        if let Some(failure) = failure
            && state.first_error.is_none()
        {
            state.first_error = Some(format!("{operation}: {}", failure.describe()));
        }
    }

    /// Returns the number of successes and errors so far.
    pub fn totals(&self) -> (u64, u64) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (state.total.ok, state.total.error_total())
    }

    /// Returns the first error seen, with the operation and server message.
    pub fn first_error(&self) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .first_error
            .clone()
    }

    /// Closes the last second and builds the summary of everything recorded.
    pub fn finish(&self, workload: &str, elapsed: Duration) -> Summary {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let last = state.second_index + 1;
        if state.second.ok + state.second.error_total() > 0 {
            state.close_seconds(last);
        }

        let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
        let (p50_ms, p90_ms, p99_ms, max_ms) = percentiles(&state.total.latency);
        let operations = state
            .operations
            .iter()
            .map(|(name, counts)| {
                let (p50_ms, p90_ms, p99_ms, max_ms) = percentiles(&counts.latency);
                OperationSummary {
                    operation: (*name).to_owned(),
                    ok: counts.ok,
                    errors: counts.error_total(),
                    throughput_per_s: counts.ok as f64 / seconds,
                    p50_ms,
                    p90_ms,
                    p99_ms,
                    max_ms,
                }
            })
            .collect();

        Summary {
            workload: workload.to_owned(),
            ok: state.total.ok,
            errors: state.total.error_total(),
            errors_by_kind: state.total.errors.clone(),
            elapsed_s: elapsed.as_secs_f64(),
            throughput_per_s: state.total.ok as f64 / seconds,
            p50_ms,
            p90_ms,
            p99_ms,
            max_ms,
            operations,
            samples: std::mem::take(&mut state.samples),
            first_error: state.first_error.clone(),
            ..Summary::default()
        }
    }
}

impl State {
    /// Turns the counts of the second in progress into a sample, adds empty
    /// samples for seconds with no completion, and starts second `next`.
    fn close_seconds(&mut self, next: u64) {
        let (p50_ms, _, p99_ms, _) = percentiles(&self.second.latency);
        self.samples.push(Sample {
            second: self.second_index,
            ok: self.second.ok,
            errors: self.second.error_total(),
            p50_ms,
            p99_ms,
        });
        for idle in self.second_index + 1..next {
            self.samples.push(Sample {
                second: idle,
                ..Sample::default()
            });
        }
        self.second.latency.reset();
        self.second.ok = 0;
        self.second.errors.clear();
        self.second_index = next;
    }
}

/// Returns p50, p90, p99 and max in milliseconds, all 0 when empty.
fn percentiles(latency: &Histogram<u64>) -> (f64, f64, f64, f64) {
    if latency.is_empty() {
        return (0.0, 0.0, 0.0, 0.0);
    }
    let ms = |micros: u64| micros as f64 / 1_000.0;
    (
        ms(latency.value_at_quantile(0.50)),
        ms(latency.value_at_quantile(0.90)),
        ms(latency.value_at_quantile(0.99)),
        ms(latency.max()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_labels() {
        let status = Failure::Status {
            code: 409,
            detail: "uniqueness".to_owned(),
        };
        let grpc = Failure::Grpc {
            code: tonic::Code::Unavailable,
            message: "connection refused".to_owned(),
        };

        assert_eq!(status.label(), "HTTP 409");
        assert_eq!(grpc.label(), "gRPC Unavailable");
        assert_eq!(Failure::Timeout.label(), "timeout");
    }

    #[test]
    fn errors_never_count_as_success() -> Result<()> {
        let recorder = Recorder::new()?;
        let start = Instant::now();

        recorder.record("GET", start, Ok(()));
        recorder.record("GET", start, Err(&Failure::Timeout));
        recorder.record(
            "GET",
            start,
            Err(&Failure::Status {
                code: 503,
                detail: String::new(),
            }),
        );
        let summary = recorder.finish("get-user", Duration::from_secs(1));

        assert_eq!(summary.ok, 1);
        assert_eq!(summary.errors, 2);
        assert_eq!(summary.errors_by_kind.get("HTTP 503"), Some(&1));
        assert_eq!(summary.errors_by_kind.get("timeout"), Some(&1));
        assert_eq!(summary.operations.len(), 1);
        Ok(())
    }

    #[test]
    fn first_error_keeps_operation_and_detail() -> Result<()> {
        let recorder = Recorder::new()?;
        let failure = Failure::Status {
            code: 400,
            detail: "invalidFilter".to_owned(),
        };

        recorder.record("GET /Users?filter", Instant::now(), Err(&failure));

        assert_eq!(
            recorder.first_error().as_deref(),
            Some("GET /Users?filter: HTTP 400: invalidFilter")
        );
        Ok(())
    }

    #[test]
    fn finish_emits_one_sample_per_second() -> Result<()> {
        let recorder = Recorder::new()?;

        recorder.record("GET", Instant::now(), Ok(()));
        let summary = recorder.finish("get-user", Duration::from_millis(10));

        assert_eq!(summary.samples.len(), 1);
        assert_eq!(summary.samples.first().map(|sample| sample.ok), Some(1));
        Ok(())
    }
}
