//! Run summaries: the JSON form, the text table, the one-line result, and
//! the per-second samples CSV.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// Header of the samples CSV; `plot` reads files with exactly these columns.
pub const SAMPLES_HEADER: &str = "second,ok,errors,p50_ms,p99_ms";

/// Completions in one second of the measured run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the measured run started.
    pub second: u64,
    /// Successful requests that completed in this second (the throughput).
    pub ok: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Counts and latency of one operation within a workload.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OperationSummary {
    pub operation: String,
    pub ok: u64,
    pub errors: u64,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Result of one workload run. Throughput counts successful requests only,
/// and latency percentiles cover successful requests only.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub workload: String,
    /// The command line, so a table row can show how to repeat it.
    pub command: String,
    /// Why the measured run ended: `count`, `duration` or `completed`.
    pub stopped_by: String,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub ok: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub elapsed_s: f64,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub operations: Vec<OperationSummary>,
    /// Workload-specific facts, such as the group size or users per second.
    pub notes: BTreeMap<String, String>,
    pub first_error: Option<String>,
    #[serde(skip)]
    pub samples: Vec<Sample>,
}

/// Returns the one-line result, such as
/// `scim-bench: get-user 1000 ok, 0 errors, 5123.4 req/s, p99 2.10 ms`.
pub fn summary_line(summary: &Summary) -> String {
    format!(
        "scim-bench: {} {} ok, {} errors, {:.1} req/s, p99 {:.2} ms",
        summary.workload, summary.ok, summary.errors, summary.throughput_per_s, summary.p99_ms
    )
}

/// Returns the summary as an aligned text table.
pub fn summary_table(summary: &Summary) -> String {
    let mut out = String::new();
    let rate = summary.rate.map_or_else(
        || "closed loop".to_owned(),
        |rate| format!("{rate} req/s offered"),
    );
    let _ = writeln!(out, "workload     {}", summary.workload);
    let _ = writeln!(
        out,
        "pacing       {rate}, concurrency {}",
        summary.concurrency
    );
    let _ = writeln!(out, "stopped by   {}", summary.stopped_by);
    let _ = writeln!(out, "elapsed      {:.2} s", summary.elapsed_s);
    let _ = writeln!(
        out,
        "requests     {} ok, {} errors",
        summary.ok, summary.errors
    );
    let _ = writeln!(out, "throughput   {:.1} req/s", summary.throughput_per_s);
    let _ = writeln!(
        out,
        "latency      p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        summary.p50_ms, summary.p90_ms, summary.p99_ms, summary.max_ms
    );
    for (kind, count) in &summary.errors_by_kind {
        let _ = writeln!(out, "error        {kind}: {count}");
    }
    if let Some(first) = &summary.first_error {
        let _ = writeln!(out, "first error  {first}");
    }
    for (key, value) in &summary.notes {
        let _ = writeln!(out, "{key:<12} {value}");
    }

    let _ = writeln!(
        out,
        "\n{:<34} {:>9} {:>7} {:>10} {:>8} {:>8} {:>9}",
        "operation", "ok", "errors", "req/s", "p50 ms", "p99 ms", "max ms"
    );
    for op in &summary.operations {
        let _ = writeln!(
            out,
            "{:<34} {:>9} {:>7} {:>10.1} {:>8.2} {:>8.2} {:>9.2}",
            op.operation, op.ok, op.errors, op.throughput_per_s, op.p50_ms, op.p99_ms, op.max_ms
        );
    }
    out
}

/// Writes the samples as CSV with the [`SAMPLES_HEADER`] columns.
pub fn write_samples(path: &Path, samples: &[Sample]) -> Result<()> {
    let mut text = format!("{SAMPLES_HEADER}\n");
    for sample in samples {
        let _ = writeln!(
            text,
            "{},{},{},{:.3},{:.3}",
            sample.second, sample.ok, sample.errors, sample.p50_ms, sample.p99_ms
        );
    }
    std::fs::write(path, text)
        .with_context(|| format!("failed to write samples to {}", path.display()))
}

/// Reads a samples CSV written by [`write_samples`].
pub fn read_samples(path: &Path) -> Result<Vec<Sample>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read samples from {}", path.display()))?;
    parse_samples(&text).with_context(|| format!("invalid samples file {}", path.display()))
}

fn parse_samples(text: &str) -> Result<Vec<Sample>> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(SAMPLES_HEADER) {
        bail!("the first line must be {SAMPLES_HEADER}");
    }

    let mut samples = Vec::new();
    for (number, line) in lines
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
    {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [second, ok, errors, p50, p99] = fields.as_slice() else {
            bail!(
                "line {}: expected 5 fields, found {}",
                number + 2,
                fields.len()
            );
        };
        let parsed = (|| -> Result<Sample> {
            Ok(Sample {
                second: second.parse()?,
                ok: ok.parse()?,
                errors: errors.parse()?,
                p50_ms: p50.parse()?,
                p99_ms: p99.parse()?,
            })
        })();
        samples.push(parsed.with_context(|| format!("line {}: invalid number", number + 2))?);
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            workload: "get-user".to_owned(),
            ok: 1_000,
            errors: 3,
            throughput_per_s: 5_123.44,
            p99_ms: 2.104,
            ..Summary::default()
        }
    }

    #[test]
    fn summary_line_format() {
        assert_eq!(
            summary_line(&summary()),
            "scim-bench: get-user 1000 ok, 3 errors, 5123.4 req/s, p99 2.10 ms"
        );
    }

    #[test]
    fn table_lists_error_kinds() {
        let mut summary = summary();
        summary.errors_by_kind.insert("HTTP 429".to_owned(), 3);

        let table = summary_table(&summary);

        assert!(table.contains("error        HTTP 429: 3"), "{table}");
        assert!(table.contains("closed loop"), "{table}");
    }

    #[test]
    fn samples_round_trip() -> Result<()> {
        let samples = vec![
            Sample {
                second: 0,
                ok: 10,
                errors: 1,
                p50_ms: 0.5,
                p99_ms: 1.25,
            },
            Sample {
                second: 1,
                ..Sample::default()
            },
        ];
        let path =
            std::env::temp_dir().join(format!("scim-bench-samples-{}.csv", std::process::id()));

        write_samples(&path, &samples)?;
        let read = read_samples(&path);
        let _ = std::fs::remove_file(&path);

        assert_eq!(read?, samples);
        Ok(())
    }

    #[test]
    fn samples_with_wrong_header_rejected() {
        assert!(parse_samples("a,b\n1,2\n").is_err());
    }

    #[test]
    fn samples_with_bad_number_rejected() {
        let text = format!("{SAMPLES_HEADER}\n0,x,0,1,1\n");

        assert!(parse_samples(&text).is_err());
    }
}
