//! gRPC plumbing: server and client telemetry layers, channel construction,
//! and the standard health and reflection services.

mod body;
mod client;
mod health;
mod server;

pub use body::ObservedBody;
pub use client::{
    GrpcClientLayer, GrpcClientService, TracedChannel, connect_channel, connect_traced_channel,
};
pub use health::{health_and_reflection, not_serving_when_withdrawn};
pub use server::{GrpcServerLayer, GrpcServerService};

/// Splits a gRPC request path `/package.Service/Method` into service and method.
///
/// Returns `("unknown", "unknown")` for any other path, so that malformed
/// requests cannot create new metric labels.
pub(crate) fn split_path(path: &str) -> (&str, &str) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    match (parts.next(), parts.next()) {
        (Some(service), Some(method))
            if !service.is_empty() && !method.is_empty() && !method.contains('/') =>
        {
            (service, method)
        }
        _ => ("unknown", "unknown"),
    }
}

/// Returns the gRPC status code name (`OK`, `NOT_FOUND`, ...) for a
/// `grpc-status` value, as the gRPC specification spells them.
pub(crate) fn code_name(value: &[u8]) -> &'static str {
    match tonic::Code::from_bytes(value) {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests;
