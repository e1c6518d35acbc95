//! The launcher's first start: the demo workspace file, its token, and a
//! restart on the same data directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e_tests::{ScimClient, TestStack, client::http_client, process::TempDir, stack::run_args};
use serde_json::Value;

/// Starts every service on `data_dir`, each listener on an ephemeral port, so
/// tests running at the same time never compete for a fixed port.
async fn start(data_dir: &TempDir) -> launcher::run::Stack {
    let args = run_args(data_dir.path(), &["--bootstrap-demo", "true"]);
    launcher::run::start(args)
        .await
        .expect("failed to start the stack")
}

fn read_demo_file(data_dir: &TempDir) -> Value {
    let text = std::fs::read_to_string(data_dir.path().join("demo-workspace.json"))
        .expect("no demo-workspace.json");
    serde_json::from_str(&text).expect("demo-workspace.json is not JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_writes_private_demo_file() {
    let data_dir = TempDir::new("e2e-bootstrap");

    let stack = start(&data_dir).await;

    let demo = read_demo_file(&data_dir);
    let workspace_id = demo["workspace_id"].as_str().expect("no workspace_id");
    let scim_url = demo["scim_url"].as_str().expect("no scim_url");
    let token = demo["token"].as_str().expect("no token");
    assert_eq!(
        scim_url,
        format!("http://{}/scim/v2/{workspace_id}", stack.http_addr)
    );
    assert_eq!(stack.demo_scim_url.as_deref(), Some(scim_url));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata =
            std::fs::metadata(data_dir.path().join("demo-workspace.json")).expect("no file");
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    }
    let listed = ScimClient::new(http_client(), scim_url, token)
        .get("Users")
        .await;
    assert_eq!(listed.status, 200, "{listed}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_workspace_and_token() {
    let data_dir = TempDir::new("e2e-restart");
    let first = start(&data_dir).await;
    let demo = read_demo_file(&data_dir);
    let token = demo["token"].as_str().expect("no token").to_owned();
    let workspace_id = demo["workspace_id"]
        .as_str()
        .expect("no workspace_id")
        .to_owned();
    let base_url = format!("http://{}/scim/v2/{workspace_id}", first.http_addr);
    let user_name = e2e_tests::fixtures::unique_email("persisted", e2e_tests::fixtures::DOMAIN);
    let id = ScimClient::new(http_client(), &base_url, &token)
        .create_user(&e2e_tests::fixtures::user_body(&user_name, "Per", "Sisted"))
        .await;
    first.stop().await;

    let second = start(&data_dir).await;

    assert_eq!(second.demo_scim_url.as_deref(), demo["scim_url"].as_str());
    assert_eq!(read_demo_file(&data_dir), demo);
    let base_url = format!("http://{}/scim/v2/{workspace_id}", second.http_addr);
    let read = ScimClient::new(http_client(), &base_url, &token)
        .get_user(&id)
        .await;
    assert_eq!(read["userName"], user_name.as_str());
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_endpoints_respond() {
    let stack = TestStack::embedded().await;
    let http = http_client();

    let live = http
        .get(format!("http://{}/livez", stack.http_addr))
        .send()
        .await
        .expect("livez failed");
    let ready = http
        .get(format!("http://{}/readyz", stack.http_addr))
        .send()
        .await
        .expect("readyz failed");
    let metrics = http
        .get(format!("http://{}/metrics", stack.http_addr))
        .send()
        .await
        .expect("metrics failed");

    assert_eq!(live.status(), 200);
    assert_eq!(ready.status(), 200);
    assert_eq!(metrics.status(), 200);
    stack.stop().await;
}
