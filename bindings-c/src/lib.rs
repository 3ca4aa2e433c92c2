//! C ABI for jwtgate (see `include/jwtgate.h`, generated from this crate by
//! cbindgen).
//!
//! Conventions (after rustls-ffi's "API Conventions"):
//!
//! - Every handle is opaque, made by a `_new`/`_from_*` function and released
//!   by its `_free` function; `_free(NULL)` does nothing.
//! - A `const` first argument means the call does not mutate the handle; a
//!   `jwtgate_verifier` may be shared by any number of threads.
//! - Fallible functions return a [`jwtgate_code`]; `JWTGATE_OK` is 0.
//!   Out-parameters for results are written only on success; the optional
//!   `out_error` is written only on failure, with a `jwtgate_error` the
//!   caller frees with `jwtgate_error_free`.
//! - Strings the caller reads are [`jwtgate_str`] views owned by a handle
//!   (valid until that handle is freed) or are copied into caller buffers
//!   (`buf, buf_len, &out_n`).
//! - Every entry point catches panics (`JWTGATE_PANIC`); a NULL argument that
//!   must not be NULL gives `JWTGATE_NULL_PARAMETER`; text that must be
//!   UTF-8 and is not gives `JWTGATE_INVALID_UTF8`.
#![allow(non_camel_case_types)]

#[macro_use]
mod panic;
mod decision;
mod error;
mod error_access;
mod ffi;
mod nonce;
mod replay;
mod route;
mod signer;
mod verified;
mod verifier;

pub use decision::{jwtgate_decision, jwtgate_header, jwtgate_request};
pub use error::{jwtgate_code, jwtgate_error};
pub use ffi::jwtgate_str;
pub use replay::{jwtgate_replay_free, jwtgate_replay_insert_once, jwtgate_replay_verdict};
pub use route::{jwtgate_mode, jwtgate_route, jwtgate_source_kind};
pub use signer::jwtgate_signer;
pub use verified::{jwtgate_claim_format, jwtgate_verified};
pub use verifier::{jwtgate_header_lookup, jwtgate_verifier};

/// The library version as a NUL-terminated string, e.g. `"0.1.0"`. Static:
/// never free it.
#[unsafe(no_mangle)]
pub extern "C" fn jwtgate_version() -> *const std::ffi::c_char {
    ffi_boundary! {
        const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
        VERSION.as_ptr().cast()
    }
}
