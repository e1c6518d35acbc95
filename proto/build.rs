//! Generates Rust code for every `proto/<service>/v1/*.proto` with protox, a
//! pure-Rust protobuf compiler, so the build needs no system `protoc`.
//!
//! Output: message types, tonic clients and servers, and a file descriptor
//! set per package for gRPC reflection.
//!
//! Server traits get default methods that answer UNIMPLEMENTED, as a gRPC
//! server does for a method it does not know. An RPC added to a proto
//! therefore does not break the build of a service that implements it
//! later, and callers must handle UNIMPLEMENTED from an older server.

use std::{env, path::PathBuf};

use protox::prost::Message;

const PROTOS: &[&str] = &[
    "identity/v1/identity.proto",
    "groups/v1/groups.proto",
    "events/v1/events.proto",
    "rbac/v1/rbac.proto",
    "audit/v1/audit.proto",
];

/// User attribute messages double as the identity service's storage document
/// and the gateway's SCIM mapping, so they derive serde with SCIM's
/// camelCase attribute names.
const SERDE_MESSAGES: &[&str] = &[
    ".identity.v1.User",
    ".identity.v1.Name",
    ".identity.v1.MultiValue",
    ".identity.v1.Address",
    ".identity.v1.EnterpriseUser",
    ".identity.v1.Manager",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }

    let descriptors = protox::compile(PROTOS, ["."])?;
    std::fs::write(out_dir.join("descriptors.bin"), descriptors.encode_to_vec())?;

    let mut builder = tonic_prost_build::configure().generate_default_stubs(true);
    for message in SERDE_MESSAGES {
        builder = builder.type_attribute(
            message,
            "#[derive(serde::Serialize, serde::Deserialize)] #[serde(rename_all = \"camelCase\", default)]",
        );
    }
    builder = builder
        .field_attribute(".identity.v1.User.meta", "#[serde(skip)]")
        // Stored in its own column and never part of the SCIM document.
        .field_attribute(".identity.v1.User.scim_managed", "#[serde(skip)]")
        .field_attribute(".identity.v1.MultiValue.ref", "#[serde(rename = \"$ref\")]")
        .field_attribute(".identity.v1.Manager.ref", "#[serde(rename = \"$ref\")]");

    builder.compile_fds(descriptors)?;
    Ok(())
}
