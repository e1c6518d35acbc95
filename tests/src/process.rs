//! Temporary directories, free loopback ports and `scim-stack` child
//! processes that are killed when dropped.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long a stack may take to respond to `/readyz` with 200.
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// Environment variables of the launcher that would override the flags the
/// tests leave unset, so child processes never inherit them.
const LAUNCHER_ENV: &[&str] = &[
    "SERVICES",
    "DATA_DIR",
    "HTTP_ADDR",
    "IDENTITY_GRPC_ADDR",
    "IDENTITY_URL",
    "IDENTITY_DATABASE_URL",
    "GROUPS_GRPC_ADDR",
    "GROUPS_URL",
    "GROUPS_DATABASE_URL",
    "REDIS_URL",
    "BOOTSTRAP_DEMO",
    "PUBLIC_URL",
];

/// A directory under the system temporary directory, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|error| panic!("failed to create {}: {error}", path.display()));
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Returns a loopback address whose port was free a moment ago. Another
/// process can take it before the child binds it, which the readiness wait
/// then reports.
pub fn free_loopback_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("failed to bind a loopback port");
    listener
        .local_addr()
        .expect("bound listener has no address")
}

/// A `scim-stack` child process; it is killed when dropped.
pub struct ChildProcess {
    name: String,
    child: Child,
    log_path: PathBuf,
}

impl ChildProcess {
    /// Starts `program` with `args`, writing its stdout and stderr to
    /// `<log_dir>/<name>.log`.
    pub fn spawn(name: &str, program: &str, args: &[String], log_dir: &Path) -> Self {
        let log_path = log_dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).expect("failed to create the child's log file");
        let log_for_stderr = log
            .try_clone()
            .expect("failed to clone the log file handle");

        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr);
        for variable in LAUNCHER_ENV {
            command.env_remove(variable);
        }
        // Telemetry exporters stay off, so no traffic leaves loopback.
        for (variable, _) in std::env::vars() {
            if variable.starts_with("OTEL_") {
                command.env_remove(variable);
            }
        }
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start {name} ({program}): {error}"));
        Self {
            name: name.to_owned(),
            child,
            log_path,
        }
    }

    /// Polls `http://{addr}/readyz` until it responds with 200, and panics with the
    /// child's log when the child exits or the wait times out.
    pub async fn wait_ready(&mut self, http: &reqwest::Client, addr: SocketAddr) {
        if let Err(message) = self.try_wait_ready(http, addr).await {
            panic!("{message}");
        }
    }

    /// Polls `http://{addr}/readyz` like [`Self::wait_ready`], returning the
    /// failure with the child's log instead of panicking, so a caller can
    /// retry on other ports.
    pub async fn try_wait_ready(
        &mut self,
        http: &reqwest::Client,
        addr: SocketAddr,
    ) -> Result<(), String> {
        let url = format!("http://{addr}/readyz");
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited with {status} before it was ready; log:\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            if let Ok(response) = http.get(&url).send().await
                && response.status() == reqwest::StatusCode::OK
            {
                // Another process may have answered on a port this child
                // failed to bind, so the child must still be running.
                tokio::time::sleep(Duration::from_millis(50)).await;
                if let Ok(Some(status)) = self.child.try_wait() {
                    return Err(format!(
                        "{} exited with {status} right after {url} answered; log:\n{}",
                        self.name,
                        self.log_tail()
                    ));
                }
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "{} did not respond to {url} with 200 within {READY_TIMEOUT:?}; log:\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `path` exists, which the child writes before it reports
    /// ready. Fails when the child exits first or the file does not appear
    /// within [`READY_TIMEOUT`], which means another process served the
    /// readiness check on a port this child failed to bind.
    pub async fn try_wait_for_file(&mut self, path: &Path) -> Result<(), String> {
        let started = Instant::now();
        while !path.exists() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited with {status} before writing {}; log:\n{}",
                    self.name,
                    path.display(),
                    self.log_tail()
                ));
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "{} did not write {} within {READY_TIMEOUT:?}; log:\n{}",
                    self.name,
                    path.display(),
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Returns the last 4,000 characters of the child's output.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let start = log.len().saturating_sub(4000);
        let start = (start..log.len())
            .find(|index| log.is_char_boundary(*index))
            .unwrap_or(log.len());
        log[start..].to_owned()
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
