//! SCIM resource bodies: normalisation of POST and PUT bodies, and attribute
//! projection of responses.

pub(crate) mod coerce;
pub(crate) mod json_util;
mod normalize;
mod projection;

pub use normalize::normalize;
pub use projection::project;

#[cfg(test)]
mod tests;
