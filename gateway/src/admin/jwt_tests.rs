//! Admin token verification with HS256 and with RS256 keys from a JWKS
//! file. The RSA key in `testdata/` exists only for these tests.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use super::*;
use crate::admin::jwks::JwksKeys;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const RSA_PRIVATE_KEY: &[u8] = include_bytes!("testdata/rsa_test_key.pem");
const JWKS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/admin/testdata/jwks.json");

fn claims(exp: u64) -> AdminClaims {
    AdminClaims {
        sub: "admin-1".to_owned(),
        workspace_id: "ws-1".to_owned(),
        role: ADMIN_ROLE.to_owned(),
        exp,
    }
}

fn rs256(kid: Option<&str>, claims: &AdminClaims) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(RSA_PRIVATE_KEY).unwrap(),
    )
    .unwrap()
}

async fn jwks_verifier() -> AdminVerifier {
    AdminVerifier::new(None, Some(JwksKeys::load(JWKS_PATH).await.unwrap())).unwrap()
}

#[tokio::test]
async fn hs256_token_verifies() {
    let verifier = AdminVerifier::new(Some(KEY), None).unwrap();
    let token = sign_hs256(KEY, "admin-1", "ws-1", ADMIN_ROLE, 600).unwrap();

    let verified = verifier.verify(&token).await.unwrap();

    assert_eq!(verified.sub, "admin-1");
    assert!(verified.may_administer("ws-1"));
}

#[tokio::test]
async fn expired_token_rejected() {
    let verifier = AdminVerifier::new(Some(KEY), None).unwrap();
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims(unix_now() - 3600),
        &EncodingKey::from_secret(KEY),
    )
    .unwrap();

    let result = verifier.verify(&token).await;

    assert!(matches!(result, Err(TokenError::Invalid(_))), "{result:?}");
}

#[tokio::test]
async fn other_key_rejected() {
    let verifier = AdminVerifier::new(Some(KEY), None).unwrap();
    let token = sign_hs256(
        b"another key, also 32 bytes long!",
        "admin-1",
        "ws-1",
        ADMIN_ROLE,
        600,
    )
    .unwrap();

    let result = verifier.verify(&token).await;

    assert!(matches!(result, Err(TokenError::Invalid(_))), "{result:?}");
}

#[tokio::test]
async fn scim_token_is_not_a_jwt() {
    let verifier = AdminVerifier::new(Some(KEY), None).unwrap();

    let result = verifier
        .verify("scim_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG")
        .await;

    assert!(
        matches!(result, Err(TokenError::Malformed(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn unconfigured_algorithms_rejected() {
    let verifier = AdminVerifier::new(Some(KEY), None).unwrap();
    let hs384 = encode(
        &Header::new(Algorithm::HS384),
        &claims(unix_now() + 600),
        &EncodingKey::from_secret(KEY),
    )
    .unwrap();
    let rs256 = rs256(Some("test-key-1"), &claims(unix_now() + 600));

    let hs384_result = verifier.verify(&hs384).await;
    let rs256_result = verifier.verify(&rs256).await;

    assert!(
        matches!(
            hs384_result,
            Err(TokenError::AlgorithmNotAccepted(Algorithm::HS384))
        ),
        "{hs384_result:?}"
    );
    assert!(
        matches!(
            rs256_result,
            Err(TokenError::AlgorithmNotAccepted(Algorithm::RS256))
        ),
        "{rs256_result:?}"
    );
}

#[tokio::test]
async fn missing_subject_rejected() {
    #[derive(serde::Serialize)]
    struct NoSubject {
        workspace_id: &'static str,
        role: &'static str,
        exp: u64,
    }
    let verifier = AdminVerifier::new(Some(KEY), None).unwrap();
    let claims = NoSubject {
        workspace_id: "ws-1",
        role: ADMIN_ROLE,
        exp: unix_now() + 600,
    };
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(KEY),
    )
    .unwrap();

    let result = verifier.verify(&token).await;

    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn rs256_token_verifies_with_jwks() {
    let verifier = jwks_verifier().await;

    let with_kid = verifier
        .verify(&rs256(Some("test-key-1"), &claims(unix_now() + 600)))
        .await;
    let without_kid = verifier
        .verify(&rs256(None, &claims(unix_now() + 600)))
        .await;

    assert_eq!(with_kid.unwrap().workspace_id, "ws-1");
    assert_eq!(without_kid.unwrap().workspace_id, "ws-1");
}

#[tokio::test]
async fn rs256_unknown_key_id_rejected() {
    let verifier = jwks_verifier().await;

    let result = verifier
        .verify(&rs256(Some("rotated-away"), &claims(unix_now() + 600)))
        .await;

    assert!(
        matches!(result, Err(TokenError::UnknownKey(Some(_)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn hs256_rejected_when_only_jwks_configured() {
    let verifier = jwks_verifier().await;
    // An HMAC keyed with public key material must not pass as RS256.
    let public_key_text = std::fs::read(JWKS_PATH).unwrap();
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims(unix_now() + 600),
        &EncodingKey::from_secret(&public_key_text),
    )
    .unwrap();

    let result = verifier.verify(&token).await;

    assert!(
        matches!(
            result,
            Err(TokenError::AlgorithmNotAccepted(Algorithm::HS256))
        ),
        "{result:?}"
    );
}

#[test]
fn short_hs256_key_rejected() {
    let result = AdminVerifier::new(Some(b"too short"), None);

    assert!(result.is_err());
}

#[test]
fn verifier_needs_a_key() {
    assert!(AdminVerifier::new(None, None).is_err());
}

#[test]
fn role_and_workspace_both_required() {
    let admin = claims(0);
    let member = AdminClaims {
        role: "member".to_owned(),
        ..claims(0)
    };
    let no_workspace = AdminClaims {
        workspace_id: String::new(),
        ..claims(0)
    };

    assert!(admin.may_administer("ws-1"));
    assert!(!admin.may_administer("ws-2"));
    assert!(!member.may_administer("ws-1"));
    assert!(!no_workspace.may_administer(""));
}
