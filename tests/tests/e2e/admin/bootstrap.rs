//! The embedded default with no admin configuration: the launcher generates
//! an HS256 key on first start, the bootstrap writes an admin token to
//! demo-workspace.json, and `scimctl` works from that file alone.

use std::os::unix::fs::PermissionsExt;

use e2e_tests::{process::TempDir, stack::run_args};
use reqwest::Method;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_file_admin_token_drives_scimctl() {
    let data_dir = TempDir::new("e2e-admin-bootstrap");
    let args = run_args(data_dir.path(), &["--bootstrap-demo", "true"]);
    let stack = launcher::run::start(args).await.unwrap();
    let demo_file = data_dir.path().join("demo-workspace.json");
    let demo: Value = serde_json::from_str(&std::fs::read_to_string(&demo_file).unwrap()).unwrap();
    let workspace_id = demo["workspace_id"].as_str().unwrap();
    let admin_token = demo["admin_token"].as_str().unwrap();

    let response = e2e_tests::client::http_client()
        .request(
            Method::GET,
            format!(
                "http://{}/admin/v1/workspaces/{workspace_id}",
                stack.http_addr
            ),
        )
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_scimctl"))
        .args([
            "--demo-file",
            &demo_file.display().to_string(),
            "--json",
            "workspace",
            "show",
        ])
        .env_remove("SCIMCTL_URL")
        .env_remove("SCIMCTL_WORKSPACE")
        .env_remove("SCIMCTL_ADMIN_TOKEN")
        .output()
        .await
        .unwrap();
    stack.stop().await;

    let mode = |name: &str| {
        std::fs::metadata(data_dir.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(status, 200);
    assert_eq!(mode("demo-workspace.json"), 0o600);
    assert_eq!(mode("admin-jwt.key"), 0o600);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(shown["workspace_id"], workspace_id);
    assert_eq!(shown["scim_url"], demo["scim_url"]);
}
