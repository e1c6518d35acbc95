//! Key material of admin tokens: the configured HS256 key or JWKS, or else
//! an HS256 key generated on first start and kept in the data directory,
//! so the embedded default needs no configuration.

use std::{
    fs::OpenOptions,
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
};

use anyhow::Context;
use gateway::admin::{
    AdminAuthConfig,
    jwks::JwksKeys,
    jwt::{AdminVerifier, MIN_HS256_KEY_BYTES},
};
use rand::{Rng, distr::Alphanumeric};

/// Name of the generated key file in the data directory.
pub const KEY_FILE: &str = "admin-jwt.key";
/// Characters of a generated key: 64 alphanumeric characters, about 381
/// bits of randomness.
const GENERATED_KEY_CHARS: usize = 64;

/// Returns the HS256 key admin tokens are signed with: the configured one,
/// none when only a JWKS is configured (the platform then signs), or the
/// key in `<data_dir>/admin-jwt.key`, created with mode 0600 when missing.
pub fn hs256_key(config: &AdminAuthConfig, data_dir: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(key) = configured_hs256_key(config)? {
        return Ok(Some(key));
    }
    if config.admin_jwt_jwks.is_some() {
        return Ok(None);
    }
    load_or_create(&data_dir.join(KEY_FILE)).map(Some)
}

/// Returns the configured HS256 key after checking its length.
pub fn configured_hs256_key(config: &AdminAuthConfig) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(key) = &config.admin_jwt_hs256_key else {
        return Ok(None);
    };
    if key.len() < MIN_HS256_KEY_BYTES {
        anyhow::bail!(
            "ADMIN_JWT_HS256_KEY has {} bytes; use at least {MIN_HS256_KEY_BYTES} random bytes",
            key.len()
        );
    }
    Ok(Some(key.as_bytes().to_vec()))
}

/// Builds the gateway's verifier from the configuration and `hs256_key`.
pub async fn verifier(
    config: &AdminAuthConfig,
    hs256_key: Option<&[u8]>,
) -> anyhow::Result<AdminVerifier> {
    let jwks = match &config.admin_jwt_jwks {
        Some(location) => Some(JwksKeys::load(location).await?),
        None => None,
    };
    AdminVerifier::new(hs256_key, jwks)
}

/// Reads the key at `path`, or creates it with a new random key.
pub fn load_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(key) if key.len() >= MIN_HS256_KEY_BYTES => return Ok(key),
        Ok(key) => anyhow::bail!(
            "{} has {} bytes, fewer than the {MIN_HS256_KEY_BYTES} an HS256 key needs; delete it to generate a new one",
            path.display(),
            key.len()
        ),
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error).with_context(|| format!("failed to read {}", path.display()));
        }
    }

    let key: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(GENERATED_KEY_CHARS)
        .map(char::from)
        .collect();
    match create_private(path, key.as_bytes()) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated the admin token key");
            Ok(key.into_bytes())
        }
        // Another process of the same data directory created it first.
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {
            std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))
        }
        Err(error) => Err(error).with_context(|| format!("failed to create {}", path.display())),
    }
}

/// Creates `path` with `contents` and mode 0600; fails when it exists.
fn create_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)?;
    }
    let temporary = PathBuf::from(format!("{}.tmp-{}", path.display(), std::process::id()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);

    // A hard link fails when the target exists, so two processes starting
    // at once agree on one key, and a reader never sees a partial file.
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    linked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("admin-key-test-{}", std::process::id()))
            .join(format!("{}", rand::rng().random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn generated_key_is_reused() {
        let dir = temp_dir();

        let first = hs256_key(&AdminAuthConfig::default(), &dir)
            .unwrap()
            .unwrap();
        let second = hs256_key(&AdminAuthConfig::default(), &dir)
            .unwrap()
            .unwrap();

        assert_eq!(first.len(), GENERATED_KEY_CHARS);
        assert_eq!(first, second);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn generated_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir();

        hs256_key(&AdminAuthConfig::default(), &dir).unwrap();
        let mode = std::fs::metadata(dir.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();

        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn configured_key_wins() {
        let dir = temp_dir();
        let config = AdminAuthConfig {
            admin_jwt_hs256_key: Some("k".repeat(40)),
            admin_jwt_jwks: None,
        };

        let key = hs256_key(&config, &dir).unwrap().unwrap();

        assert_eq!(key, "k".repeat(40).into_bytes());
        assert!(!dir.join(KEY_FILE).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn short_configured_key_rejected() {
        let config = AdminAuthConfig {
            admin_jwt_hs256_key: Some("short".to_owned()),
            admin_jwt_jwks: None,
        };

        assert!(configured_hs256_key(&config).is_err());
    }

    #[test]
    fn jwks_alone_generates_no_key() {
        let dir = temp_dir();
        let config = AdminAuthConfig {
            admin_jwt_hs256_key: None,
            admin_jwt_jwks: Some("/etc/jwks.json".to_owned()),
        };

        assert_eq!(hs256_key(&config, &dir).unwrap(), None);
        assert!(!dir.join(KEY_FILE).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
