//! Helpers shared by the unit tests: one global subscriber, a captured log
//! writer and access to the local Redis.

use std::io;
use std::sync::{Arc, Mutex, Once};

use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_subscriber::fmt::MakeWriter;

use crate::telemetry::{self, LogFormat, TelemetryConfig};

/// Redis used by the tests. Only loopback is allowed here.
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Installs, once per test binary, a global subscriber with the
/// OpenTelemetry bridge (no exporter) and the W3C propagator.
pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut config = TelemetryConfig::new("plumbing-tests");
        config.log_format = LogFormat::Text;
        config.log_filter = "info".to_owned();
        let provider = telemetry::build_tracer_provider(&config).unwrap();
        let subscriber = telemetry::build_subscriber(
            &config,
            &provider,
            tracing_subscriber::fmt::TestWriter::new(),
        )
        .unwrap();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        opentelemetry::global::set_tracer_provider(provider);
    });
}

/// Connects to the local Redis. Returns `None` and prints a note when it is
/// unreachable, unless `CI=true`, where the test fails instead.
pub async fn redis_or_skip() -> Option<redis::aio::ConnectionManager> {
    match crate::cache::connect_redis(REDIS_URL).await {
        Ok(manager) => Some(manager),
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("Redis at {REDIS_URL} is required when CI=true: {error:#}")
        }
        Err(error) => {
            eprintln!("skipping: Redis at {REDIS_URL} is unreachable: {error:#}");
            None
        }
    }
}

/// Returns a key prefix unique to one test run, so parallel runs never share keys.
pub fn unique_prefix(test: &str) -> String {
    format!("plumbing-test:{test}:{}:", uuid::Uuid::now_v7())
}

/// In-memory log sink for checking formatter output.
#[derive(Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub fn contents(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl io::Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for SharedBuffer {
    type Writer = SharedBuffer;

    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}
