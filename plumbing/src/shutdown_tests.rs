use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

async fn serve(readiness: Readiness) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, health_router(readiness)).await });
    address
}

#[tokio::test]
async fn livez_is_ok() {
    let address = serve(Readiness::new()).await;

    let response = reqwest::get(format!("http://{address}/livez"))
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn readyz_starts_unavailable() {
    let address = serve(Readiness::new()).await;

    let response = reqwest::get(format!("http://{address}/readyz"))
        .await
        .unwrap();

    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
}

#[tokio::test]
async fn readyz_follows_flag() {
    let readiness = Readiness::new();
    let address = serve(readiness.clone()).await;

    readiness.set_ready();
    let ready = reqwest::get(format!("http://{address}/readyz"))
        .await
        .unwrap();
    readiness.set_not_ready();
    let not_ready = reqwest::get(format!("http://{address}/readyz"))
        .await
        .unwrap();

    assert_eq!(ready.status(), 200);
    assert_eq!(not_ready.status(), 503);
}

#[tokio::test]
async fn trigger_cancels_token() {
    let shutdown = Shutdown::new();
    let token = shutdown.token();

    shutdown.trigger();

    assert!(token.is_cancelled());
    assert!(shutdown.is_triggered());
}

#[tokio::test]
async fn wait_for_signal_returns_after_trigger() {
    let shutdown = Shutdown::new();
    let waiter = tokio::spawn(shutdown.clone().wait_for_signal());

    shutdown.trigger();

    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn drain_reports_completion() {
    let futures = vec![Box::pin(async {}) as std::pin::Pin<Box<dyn Future<Output = ()> + Send>>];

    assert!(drain(futures, Duration::from_secs(1)).await);
}

#[tokio::test]
async fn drain_gives_up_at_deadline() {
    let futures = vec![Box::pin(std::future::pending::<()>())];

    assert!(!drain(futures, Duration::from_millis(50)).await);
}

#[tokio::test]
async fn graceful_shutdown_runs_steps_in_order() {
    let readiness = Readiness::new();
    readiness.set_ready();
    let stop_accepting = CancellationToken::new();
    let steps = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let server_steps = steps.clone();
    let server_token = stop_accepting.clone();
    let server_readiness = readiness.clone();
    let server = async move {
        server_token.cancelled().await;
        let ready = server_readiness.is_ready();
        server_steps
            .lock()
            .unwrap()
            .push(format!("server stopped, ready={ready}"));
    };
    let pool_steps = steps.clone();
    let close_pools = async move { pool_steps.lock().unwrap().push("pools closed".to_owned()) };

    let drained = graceful_shutdown(
        &readiness,
        &stop_accepting,
        vec![server],
        &ShutdownConfig::default(),
        close_pools,
    )
    .await;

    assert!(drained);
    assert_eq!(
        *steps.lock().unwrap(),
        ["server stopped, ready=false", "pools closed"]
    );
}

#[tokio::test]
async fn graceful_shutdown_closes_pools_after_timeout() {
    let config = ShutdownConfig {
        drain_timeout: Duration::from_millis(50),
        readiness_delay: Duration::ZERO,
    };
    let closed = std::sync::Arc::new(AtomicBool::new(false));
    let closed_flag = closed.clone();

    let drained = graceful_shutdown(
        &Readiness::new(),
        &CancellationToken::new(),
        vec![std::future::pending::<()>()],
        &config,
        async move { closed_flag.store(true, Ordering::SeqCst) },
    )
    .await;

    assert!(!drained);
    assert!(closed.load(Ordering::SeqCst));
}

#[test]
fn shutdown_config_defaults() {
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        shutdown: ShutdownConfig,
    }

    let cli = Cli::try_parse_from(["test", "--readiness-delay", "5s"]).unwrap();

    assert_eq!(cli.shutdown.drain_timeout, DEFAULT_DRAIN_TIMEOUT);
    assert_eq!(cli.shutdown.readiness_delay, Duration::from_secs(5));
}

#[tokio::test]
async fn axum_server_stops_on_trigger() {
    let shutdown = Shutdown::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = axum::serve(listener, health_router(Readiness::new()))
        .with_graceful_shutdown(shutdown.token().cancelled_owned());
    let task = tokio::spawn(async move { server.await.unwrap() });

    shutdown.trigger();

    let drained = drain(
        vec![async move { task.await.unwrap() }],
        Duration::from_secs(5),
    )
    .await;
    assert!(drained);
}

#[tokio::test]
async fn withdrawn_completes_when_ready_turns_off() {
    let readiness = Readiness::new();
    let withdrawn = readiness.withdrawn();
    readiness.set_ready();

    readiness.set_not_ready();

    let outcome = tokio::time::timeout(Duration::from_secs(1), withdrawn).await;
    assert_eq!(outcome.ok(), Some(true));
}

#[tokio::test]
async fn withdrawn_waits_while_starting() {
    let readiness = Readiness::new();
    let withdrawn = readiness.withdrawn();

    readiness.set_not_ready();

    let outcome = tokio::time::timeout(Duration::from_millis(100), withdrawn).await;
    assert!(outcome.is_err(), "withdrawn before readiness was ever on");
}

#[tokio::test]
async fn withdrawn_is_false_when_flag_dropped() {
    let readiness = Readiness::new();
    let withdrawn = readiness.withdrawn();

    drop(readiness);

    let outcome = tokio::time::timeout(Duration::from_secs(1), withdrawn).await;
    assert_eq!(outcome.ok(), Some(false));
}
