//! Standard `grpc.health.v1` health checking and gRPC server reflection.

use anyhow::Context as _;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::server::HealthReporter;
use tonic_reflection::server::{v1, v1alpha};

use crate::shutdown::Readiness;

/// Builds the health service and both reflection services for a server.
///
/// Each name in `service_names` (fully qualified, such as
/// `identity.v1.IdentityService`) is set to SERVING, and so is `""`, the
/// whole server. Reflection serves `file_descriptor_set` (an encoded
/// `FileDescriptorSet`, as written by `tonic-prost-build`) plus the health
/// protocol, in both `grpc.reflection.v1` and `grpc.reflection.v1alpha`,
/// because some clients, such as older grpcurl releases, speak only v1alpha.
/// Keep the reporter to set NOT_SERVING during shutdown.
///
/// Fails when `file_descriptor_set` cannot be decoded.
pub async fn health_and_reflection(
    file_descriptor_set: &[u8],
    service_names: &[&str],
) -> anyhow::Result<(
    HealthReporter,
    HealthServer<impl Health>,
    v1::ServerReflectionServer<impl v1::ServerReflection>,
    v1alpha::ServerReflectionServer<impl v1alpha::ServerReflection>,
)> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    for name in service_names {
        reporter
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }

    let builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(file_descriptor_set)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = builder()
        .build_v1()
        .context("failed to build gRPC reflection v1 from the file descriptor set")?;
    let reflection_v1alpha = builder()
        .build_v1alpha()
        .context("failed to build gRPC reflection v1alpha from the file descriptor set")?;

    Ok((reporter, health, reflection_v1, reflection_v1alpha))
}

/// Sets the whole server and each name in `service_names` to NOT_SERVING
/// once `readiness` goes off after it was on, so that clients which check
/// gRPC health stop sending new calls during a shutdown, as load balancers
/// reading `/readyz` do.
pub fn not_serving_when_withdrawn(
    reporter: HealthReporter,
    service_names: &'static [&'static str],
    readiness: &Readiness,
) {
    let withdrawn = readiness.withdrawn();
    tokio::spawn(async move {
        if !withdrawn.await {
            return;
        }
        for name in std::iter::once("").chain(service_names.iter().copied()) {
            reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        tracing::info!(services = ?service_names, "grpc health set to not serving");
    });
}
