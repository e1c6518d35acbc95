//! PostgreSQL and Redis for the split stack: where they are, whether they
//! accept connections, and a fresh PostgreSQL database per stack.

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, postgres::PgConnection};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Returns the PostgreSQL server URL from `TEST_POSTGRES_URL`.
pub fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// Returns the Redis URL from `TEST_REDIS_URL`.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned())
}

/// Decides what a test does when a service it needs is unreachable: with
/// `CI=true` it fails, elsewhere it prints a note and the caller skips.
pub fn service_missing(service: &str, url: &str, error: &str) {
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{service} at {url} is unreachable ({error}); CI=true requires it");
    }
    eprintln!(
        "note: skipping a split-stack test because {service} at {url} is unreachable: {error}"
    );
}

/// Checks that something accepts TCP connections at the URL's host and port.
pub async fn probe_tcp(url: &str, default_port: u16) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|error| format!("invalid URL: {error}"))?;
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_owned();
    let port = parsed.port().unwrap_or(default_port);
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("connecting timed out after {CONNECT_TIMEOUT:?}")),
    }
}

/// A PostgreSQL database made for one stack and dropped with it.
pub struct TestDatabase {
    server_url: String,
    name: String,
    pub url: String,
}

impl TestDatabase {
    /// Creates `e2e_<uuid>` on the server at `server_url`.
    pub async fn create(server_url: &str) -> Result<Self, String> {
        let name = format!("e2e_{}", uuid::Uuid::new_v4().simple());
        let mut connection = connect(server_url).await?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .map_err(|error| format!("CREATE DATABASE {name} failed: {error}"))?;
        let _ = connection.close().await;

        let mut url =
            url::Url::parse(server_url).map_err(|error| format!("invalid URL: {error}"))?;
        url.set_path(&format!("/{name}"));
        Ok(Self {
            server_url: server_url.to_owned(),
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for TestDatabase {
    /// Drops the database on a thread of its own, because `Drop` cannot
    /// await and may run inside the test's runtime.
    fn drop(&mut self) {
        let server_url = self.server_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut connection) = connect(&server_url).await {
                    let _ = sqlx::raw_sql(AssertSqlSafe(statement))
                        .execute(&mut connection)
                        .await;
                    let _ = connection.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

async fn connect(url: &str) -> Result<PgConnection, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("connecting timed out after {CONNECT_TIMEOUT:?}")),
    }
}
