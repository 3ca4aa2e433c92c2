//! Node.js addon for jwtgate (napi-rs).
//!
//! The addon is the native half of the `jwtgate` npm package: it converts
//! JavaScript values to the core's types and back, nothing more. The
//! JavaScript half (`index.js`) turns the raw results into `JwtError`s and
//! result objects and checks argument types before they reach Rust.
//!
//! Verification outcomes are returned as values, not thrown: a rejected token
//! comes back as a [`errors::RawError`] (code, message, status, claim,
//! `WWW-Authenticate`) and an accepted one as a string (see
//! [`errors::raw_verified`]), so the sync, async and batch paths share one
//! shape and a rejection costs no native exception. Configuration errors (an invalid
//! policy or key) are thrown with a message that starts with
//! [`errors::ERROR_PREFIX`] followed by the same fields as JSON.

#![deny(clippy::all)]

mod errors;
mod gateway;
mod signer;
mod token;
mod verifier;

pub use errors::RawError;
pub use gateway::NativeRoute;
pub use signer::{GeneratedKey, NativeSigner, generate_key};
pub use verifier::NativeVerifier;

use napi_derive::napi;

/// The library version of the core.
#[napi]
pub fn version() -> String {
    jwtgate::VERSION.to_owned()
}

/// The path of a request target as the core matches excluded paths, or
/// null when it must never be excluded (dot segments, encoded slashes):
/// for the middleware's RegExp excludes.
#[napi]
pub fn exclusion_path(url: String) -> Option<String> {
    jwtgate::exclusion_path(&url).map(str::to_owned)
}

/// Every supported `alg` name, in the order of the core's algorithm table.
#[napi]
pub fn algorithms() -> Vec<String> {
    jwtgate::Algorithm::ALL.iter().map(|a| a.name().to_owned()).collect()
}

/// Every stable error code, in the order of the C enum.
#[napi]
pub fn error_codes() -> Vec<String> {
    jwtgate::ErrorKind::ALL.iter().map(|k| k.code().to_owned()).collect()
}
