//! SVG charts of a samples CSV: latency (p50, p99) and throughput over time.
//! Text is written as SVG `<text>` elements, so no system font is needed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use plotters::prelude::*;

use crate::report::{Sample, read_samples};

const SIZE: (u32, u32) = (800, 400);

/// One line of a chart.
struct Series {
    name: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

/// Draws `<out>-latency.svg` and `<out>-throughput.svg` from `samples` and
/// returns their paths.
pub fn plot(samples: &Path, out: &Path, title: Option<&str>) -> Result<(PathBuf, PathBuf)> {
    let data = read_samples(samples)?;
    if data.is_empty() {
        bail!("the samples file {} has no rows to plot", samples.display());
    }
    let title = title.map_or_else(
        || {
            samples
                .file_stem()
                .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned())
        },
        str::to_owned,
    );
    if let Some(parent) = out.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create {}", parent.display()))?;
    }

    let latency_path = suffixed(out, "latency");
    let latency = [
        series("p50", BLUE, &data, |sample| sample.p50_ms),
        series("p99", RED, &data, |sample| sample.p99_ms),
    ];
    draw(
        &latency_path,
        &format!("{title}: latency of successful requests"),
        "ms",
        &latency,
    )?;

    let throughput_path = suffixed(out, "throughput");
    let throughput = [
        series("ok/s", GREEN, &data, |sample| sample.ok as f64),
        series("errors/s", RED, &data, |sample| sample.errors as f64),
    ];
    draw(
        &throughput_path,
        &format!("{title}: requests per second"),
        "requests/s",
        &throughput,
    )?;
    Ok((latency_path, throughput_path))
}

fn suffixed(out: &Path, kind: &str) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    out.with_file_name(format!("{name}-{kind}.svg"))
}

fn series(
    name: &'static str,
    color: RGBColor,
    data: &[Sample],
    value: impl Fn(&Sample) -> f64,
) -> Series {
    Series {
        name,
        color,
        points: data
            .iter()
            .map(|sample| (sample.second as f64, value(sample)))
            .collect(),
    }
}

fn draw(path: &Path, caption: &str, unit: &str, lines: &[Series]) -> Result<()> {
    let x_max = lines
        .iter()
        .flat_map(|line| line.points.iter().map(|(x, _)| *x))
        .fold(1.0, f64::max);
    let y_max = lines
        .iter()
        .flat_map(|line| line.points.iter().map(|(_, y)| *y))
        .fold(0.0, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };

    let failed =
        |error: &dyn std::fmt::Display| anyhow!("failed to draw {}: {error}", path.display());
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|error| failed(&error))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(|error| failed(&error))?;
    chart
        .configure_mesh()
        .x_desc("seconds since start")
        .y_desc(unit)
        .draw()
        .map_err(|error| failed(&error))?;

    for line in lines {
        let color = line.color;
        chart
            .draw_series(LineSeries::new(
                line.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|error| failed(&error))?
            .label(line.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|error| failed(&error))?;
    root.present().map_err(|error| failed(&error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::write_samples;

    #[test]
    fn plot_writes_two_svgs_with_text() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("scim-bench-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let samples = dir.join("run.csv");
        let rows: Vec<Sample> = (0..5)
            .map(|second| Sample {
                second,
                ok: 100 + second,
                errors: 0,
                p50_ms: 1.0,
                p99_ms: 2.5,
            })
            .collect();
        write_samples(&samples, &rows)?;

        let (latency, throughput) = plot(&samples, &dir.join("chart"), Some("test"))?;
        let latency_svg = std::fs::read_to_string(&latency)?;
        let throughput_svg = std::fs::read_to_string(&throughput)?;
        let _ = std::fs::remove_dir_all(&dir);

        assert!(latency_svg.contains("<svg"));
        assert!(
            latency_svg.contains("p99"),
            "the legend is written as SVG text"
        );
        assert!(throughput_svg.contains("requests per second"));
        Ok(())
    }
}
