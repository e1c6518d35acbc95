//! SCIM 2.0 protocol logic without I/O: the schema registry, attribute paths,
//! filters, PATCH, normalisation and projection of resources, and errors, as
//! specified by RFC 7643 and RFC 7644, with the request shapes Microsoft Entra
//! ID and Okta send.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod error;
pub mod filter;
pub mod patch;
pub mod path;
pub mod resource;
pub mod schema;

pub use error::{ScimError, ScimType};
