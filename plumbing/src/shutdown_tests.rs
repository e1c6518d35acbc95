use std::net::SocketAddr;

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
