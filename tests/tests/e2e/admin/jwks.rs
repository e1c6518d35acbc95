//! RS256 admin tokens verified with keys from a JWKS file, beside the
//! HS256 key. The RSA key belongs to the gateway's test data.

use e2e_tests::{StackOptions, TestStack};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::Method;

use super::{ADMIN_KEY, AdminClient};

const JWKS_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../gateway/src/admin/testdata/jwks.json"
);
const RSA_PRIVATE_KEY: &[u8] =
    include_bytes!("../../../../gateway/src/admin/testdata/rsa_test_key.pem");

fn jwks_options() -> StackOptions {
    StackOptions::with_args(&[
        "--admin-jwt-hs256-key",
        ADMIN_KEY,
        "--admin-jwt-jwks",
        JWKS_PATH,
    ])
}

e2e_tests::stack_tests!(
    options: crate::admin::jwks::jwks_options();
    rs256_admin_token_accepted,
);

fn rs256_token(workspace_id: &str, kid: &str) -> String {
    let claims = gateway::admin::jwt::AdminClaims {
        sub: "platform-admin".to_owned(),
        workspace_id: workspace_id.to_owned(),
        role: "admin".to_owned(),
        exp: gateway::admin::jwt::unix_now() + 600,
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(RSA_PRIVATE_KEY).unwrap(),
    )
    .unwrap()
}

async fn rs256_admin_token_accepted(stack: &TestStack) {
    let rs256 = AdminClient::new(
        stack,
        &stack.workspace_id,
        &rs256_token(&stack.workspace_id, "test-key-1"),
    );
    let unknown_kid = AdminClient::new(
        stack,
        &stack.workspace_id,
        &rs256_token(&stack.workspace_id, "other"),
    );

    let shown = rs256.send(Method::GET, "", None).await;
    let rejected = unknown_kid.send(Method::GET, "", None).await;
    let hs256 = AdminClient::for_demo(stack)
        .send(Method::GET, "", None)
        .await;

    assert_eq!(shown.status, 200, "{shown}");
    assert_eq!(rejected.status, 401, "{rejected}");
    assert_eq!(hs256.status, 200, "{hs256}");
}
