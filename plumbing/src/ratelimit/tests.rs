use std::time::Duration;

use tokio::task::JoinSet;

use super::*;
use crate::test_support::{REDIS_URL, redis_or_skip, unique_prefix};

fn config(per_second: u32, burst: u32) -> RateLimitConfig {
    RateLimitConfig { per_second, burst }
}

async fn decisions(limiter: &RateLimiter, key: &str, count: usize) -> Vec<Decision> {
    let mut decisions = Vec::with_capacity(count);
    for _ in 0..count {
        decisions.push(limiter.check(key).await);
    }
    decisions
}

fn allowed_count(decisions: &[Decision]) -> usize {
    decisions
        .iter()
        .filter(|decision| **decision == Decision::Allowed)
        .count()
}

#[test]
fn gcra_parameters_follow_config() {
    let gcra = Gcra::new(&config(200, 400));

    assert_eq!(gcra.interval_us, 5_000);
    assert_eq!(gcra.tolerance_us, 5_000 * 399);
}

#[test]
fn clap_defaults_match_documentation() {
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        rate_limit: RateLimitConfig,
    }

    let cli = Cli::try_parse_from(["test"]).unwrap();

    assert_eq!(cli.rate_limit, RateLimitConfig::default());
    assert!(Cli::try_parse_from(["test", "--rate-limit-burst", "0"]).is_err());
}

#[tokio::test]
async fn in_process_allows_burst_then_limits() {
    let limiter = RateLimiter::in_process(&config(1, 3), "test");

    let decisions = decisions(&limiter, "key", 4).await;

    assert_eq!(allowed_count(&decisions[..3]), 3);
    assert!(matches!(decisions[3], Decision::Limited { .. }));
}

#[tokio::test]
async fn in_process_retry_after_is_within_interval() {
    let limiter = RateLimiter::in_process(&config(1, 1), "test");
    limiter.check("key").await;

    let decision = limiter.check("key").await;

    let Decision::Limited { retry_after } = decision else {
        panic!("expected Limited, got {decision:?}");
    };
    assert!(
        retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1),
        "{retry_after:?}"
    );
}

#[tokio::test]
async fn in_process_keys_are_independent() {
    let limiter = RateLimiter::in_process(&config(1, 1), "test");
    limiter.check("first").await;

    assert_eq!(limiter.check("second").await, Decision::Allowed);
}

#[tokio::test]
async fn in_process_refills_over_time() {
    let limiter = RateLimiter::in_process(&config(100, 1), "test");
    limiter.check("key").await;
    assert!(matches!(
        limiter.check("key").await,
        Decision::Limited { .. }
    ));

    tokio::time::sleep(Duration::from_millis(30)).await;

    assert_eq!(limiter.check("key").await, Decision::Allowed);
}

#[tokio::test]
async fn limited_requests_are_counted() {
    let handle = crate::metrics::install_recorder().unwrap();
    let limiter = RateLimiter::in_process(&config(1, 1), "count-test");

    decisions(&limiter, "key", 3).await;

    assert!(
        handle
            .render()
            .contains(r#"rate_limited_total{scope="count-test"} 2"#)
    );
}

#[tokio::test]
async fn redis_allows_burst_then_limits() {
    let Some(manager) = redis_or_skip().await else {
        return;
    };
    let limiter = RateLimiter::redis(manager, &config(1, 3), &unique_prefix("burst"));

    let decisions = decisions(&limiter, "key", 4).await;

    assert_eq!(allowed_count(&decisions[..3]), 3, "{decisions:?}");
    assert!(
        matches!(decisions[3], Decision::Limited { .. }),
        "{decisions:?}"
    );
}

#[tokio::test]
async fn redis_retry_after_is_within_interval() {
    let Some(manager) = redis_or_skip().await else {
        return;
    };
    let limiter = RateLimiter::redis(manager, &config(1, 1), &unique_prefix("retry"));
    limiter.check("key").await;

    let decision = limiter.check("key").await;

    let Decision::Limited { retry_after } = decision else {
        panic!("expected Limited, got {decision:?}");
    };
    assert!(
        retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1),
        "{retry_after:?}"
    );
}

#[tokio::test]
async fn redis_state_is_shared_by_replicas() {
    let Some(manager) = redis_or_skip().await else {
        return;
    };
    let scope = unique_prefix("shared");
    let replica_a = RateLimiter::redis(manager.clone(), &config(1, 3), &scope);
    let replica_b = RateLimiter::redis(manager, &config(1, 3), &scope);

    decisions(&replica_a, "key", 2).await;
    let from_b = decisions(&replica_b, "key", 2).await;

    assert_eq!(from_b[0], Decision::Allowed);
    assert!(matches!(from_b[1], Decision::Limited { .. }), "{from_b:?}");
}

#[tokio::test]
async fn redis_refills_over_time() {
    let Some(manager) = redis_or_skip().await else {
        return;
    };
    let limiter = RateLimiter::redis(manager, &config(100, 1), &unique_prefix("refill"));
    limiter.check("key").await;
    assert!(matches!(
        limiter.check("key").await,
        Decision::Limited { .. }
    ));

    tokio::time::sleep(Duration::from_millis(30)).await;

    assert_eq!(limiter.check("key").await, Decision::Allowed);
}

#[tokio::test]
async fn redis_key_expires_when_idle() {
    let Some(manager) = redis_or_skip().await else {
        return;
    };
    let scope = unique_prefix("ttl");
    let limiter = RateLimiter::redis(manager.clone(), &config(100, 1), &scope);
    limiter.check("key").await;

    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut connection = manager;
    let exists: bool = redis::cmd("EXISTS")
        .arg(format!("ratelimit:{scope}:key"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(!exists);
}

/// Forwards loopback TCP connections to the local Redis until dropped.
struct RedisProxy {
    url: String,
    connections: JoinSet<()>,
}

impl RedisProxy {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let mut connections = JoinSet::new();
        connections.spawn(async move {
            let mut forwarded = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                forwarded.spawn(async move {
                    let target = REDIS_URL.trim_start_matches("redis://");
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { url, connections }
    }
}

#[tokio::test]
async fn redis_failure_fails_open() {
    let Some(_) = redis_or_skip().await else {
        return;
    };
    let handle = crate::metrics::install_recorder().unwrap();
    let proxy = RedisProxy::start().await;
    let manager = crate::cache::connect_redis(&proxy.url).await.unwrap();
    let scope = unique_prefix("fail-open");
    let limiter = RateLimiter::redis(manager, &config(1, 1), &scope);
    limiter.check("key").await;
    assert!(matches!(
        limiter.check("key").await,
        Decision::Limited { .. }
    ));

    drop(proxy.connections);
    let decision = limiter.check("key").await;

    assert_eq!(decision, Decision::Allowed);
    let expected = format!(r#"rate_limit_backend_errors_total{{scope="{scope}"}}"#);
    assert!(handle.render().contains(&expected));
}
