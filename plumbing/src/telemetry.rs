//! Tracing subscriber, JSON or text logs, and OpenTelemetry trace export.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layered, SubscriberExt as _};
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Maximum time the exporter waits for the collector on each export call.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Maximum time [`TelemetryGuard::shutdown`] waits for buffered spans to flush.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, with the fields of the current span and its parents.
    Json,
    /// Human-readable lines for local runs.
    Text,
}

/// Logging and tracing options shared by every service.
#[derive(Debug, Clone, clap::Args)]
pub struct TelemetryConfig {
    /// Service name reported as the OpenTelemetry `service.name` resource.
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = "scim")]
    pub service_name: String,

    /// Log line format: `json` (one object per line) or `text`.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,

    /// Log filter in `RUST_LOG` syntax, such as `info` or `info,plumbing=debug`.
    /// Read from `LOG_FILTER`, or from `RUST_LOG` when `LOG_FILTER` is unset.
    #[arg(long, env = "LOG_FILTER", default_value_t = default_log_filter())]
    pub log_filter: String,

    /// OTLP/gRPC collector endpoint, such as `http://127.0.0.1:4317`. When
    /// unset, trace ids are still generated and propagated but no span is exported.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

impl TelemetryConfig {
    /// Returns a configuration for `service_name` with the documented defaults.
    pub fn new(service_name: impl Into<String>) -> Self {
        Self {
            service_name: service_name.into(),
            log_format: LogFormat::Json,
            log_filter: default_log_filter(),
            otlp_endpoint: None,
        }
    }
}

/// Handle that flushes and shuts down the tracer provider on drop or on
/// [`TelemetryGuard::shutdown`].
#[must_use = "dropping the guard shuts down trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Flushes buffered spans and shuts down the tracer provider.
    ///
    /// Blocks for at most 5 seconds. Call it from a multi-threaded Tokio
    /// runtime or outside any runtime, because the exporter's connection runs
    /// on the runtime that was current during [`init`].
    pub fn shutdown(mut self) {
        self.shutdown_provider();
    }

    fn shutdown_provider(&mut self) {
        let Some(provider) = self.provider.take() else {
            return;
        };
        let run = move || provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
        let result = match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(run)
            }
            _ => run(),
        };
        if let Err(error) = result {
            tracing::warn!(%error, "failed to shut down the tracer provider");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown_provider();
    }
}

/// Installs the global tracing subscriber, the tracer provider and the W3C
/// TraceContext propagator.
///
/// Call it once, early in `main` and inside a Tokio runtime. A second call in
/// the same process returns an error and changes nothing.
pub fn init(config: &TelemetryConfig) -> anyhow::Result<TelemetryGuard> {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        anyhow::bail!("telemetry is already initialised in this process");
    }

    let provider = build_tracer_provider(config)?;
    let subscriber = build_subscriber(config, &provider, std::io::stdout)?;
    tracing::subscriber::set_global_default(subscriber)
        .context("failed to install the tracing subscriber: another one is already installed")?;

    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(provider.clone());

    tracing::info!(
        service = %config.service_name,
        otlp_export = config.otlp_endpoint.is_some(),
        "telemetry initialised"
    );
    Ok(TelemetryGuard {
        provider: Some(provider),
    })
}

/// Builds the tracer provider, with a batch OTLP/gRPC exporter when the
/// configuration names an endpoint.
///
/// NOTE: the SDK's default batch processor exports from its own thread, while
/// the tonic connection runs on the Tokio runtime current at this call.
pub(crate) fn build_tracer_provider(config: &TelemetryConfig) -> anyhow::Result<SdkTracerProvider> {
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);

    if let Some(endpoint) = &config.otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .with_context(|| format!("failed to build the OTLP exporter for {endpoint}"))?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}

type FilteredRegistry = Layered<EnvFilter, Registry>;

/// Builds the subscriber: the log filter, an OpenTelemetry bridge layer and a
/// JSON or text formatter writing to `writer`.
pub(crate) fn build_subscriber<W>(
    config: &TelemetryConfig,
    provider: &SdkTracerProvider,
    writer: W,
) -> anyhow::Result<impl tracing::Subscriber + Send + Sync + 'static>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&config.log_filter)
        .with_context(|| format!("invalid log filter {:?}", config.log_filter))?;

    let tracer = provider.tracer(config.service_name.clone());
    let otel_layer = tracing_opentelemetry::layer().with_tracer(tracer).boxed();
    let fmt_layer: Box<dyn Layer<FilteredRegistry> + Send + Sync> = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(writer)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(writer).boxed(),
    };

    Ok(Registry::default()
        .with(filter)
        .with(vec![otel_layer, fmt_layer]))
}

/// Returns `RUST_LOG` when set, else `info`.
fn default_log_filter() -> String {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "info".to_owned())
}

#[cfg(test)]
#[path = "telemetry_tests.rs"]
mod tests;

/// Returns the trace id of the current span, or `None` when there is no
/// valid trace (no span, or tracing without OpenTelemetry).
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    let context = tracing::Span::current().context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}
