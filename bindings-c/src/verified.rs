//! The result handle of a successful verification.

use std::ffi::c_char;

use jwtgate::Verified;
use serde_json::Value;

use crate::error::jwtgate_code;
use crate::ffi::{copy_out, handle, jwtgate_str, text};

/// A verified token: claims, header, matched issuer and the headers to
/// forward. Made by `jwtgate_verifier_verify`; freed by
/// `jwtgate_verified_free`. Every `jwtgate_str` it returns stays valid until
/// then, also after the verifier is freed. Read-only, so it may be read by
/// several threads at once.
pub struct jwtgate_verified {
    inner: Verified,
}

impl jwtgate_verified {
    pub(crate) fn boxed(inner: Verified) -> *mut jwtgate_verified {
        Box::into_raw(Box::new(jwtgate_verified { inner }))
    }
}

/// How `jwtgate_verified_claim` writes a claim.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum jwtgate_claim_format {
    /// Compact JSON (a string claim comes with its quotes).
    JWTGATE_CLAIM_JSON = 0,
    /// A string claim as its bare text; any other value as compact JSON.
    JWTGATE_CLAIM_TEXT = 1,
}

/// The claims (payload) as the token carried them: JSON text, not
/// NUL-terminated. Owned by `verified`. `{NULL, 0}` when `verified` is NULL.
///
/// # Safety
/// `verified` must be NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verified_claims_json(verified: *const jwtgate_verified) -> jwtgate_str {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live result.
        unsafe { handle(verified, "verified") }.map_or(jwtgate_str::NONE, |v| jwtgate_str::of(v.inner.claims_json()))
    }
}

/// The token's protected header as JSON text. Owned by `verified`.
/// `{NULL, 0}` when `verified` is NULL.
///
/// # Safety
/// `verified` must be NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verified_header_json(verified: *const jwtgate_verified) -> jwtgate_str {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live result.
        unsafe { handle(verified, "verified") }.map_or(jwtgate_str::NONE, |v| jwtgate_str::of(v.inner.header_json()))
    }
}

/// The `issuer` of the policy entry that matched, or `{NULL, 0}` when that
/// entry names none (or `verified` is NULL). Owned by `verified`.
///
/// # Safety
/// `verified` must be NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verified_issuer(verified: *const jwtgate_verified) -> jwtgate_str {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live result.
        unsafe { handle(verified, "verified") }.map_or(jwtgate_str::NONE, |v| jwtgate_str::of_option(v.inner.issuer()))
    }
}

/// Number of headers to forward to the backend (0 when `verified` is NULL).
///
/// # Safety
/// `verified` must be NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verified_header_count(verified: *const jwtgate_verified) -> usize {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live result.
        unsafe { handle(verified, "verified") }.map_or(0, |v| v.inner.headers().len())
    }
}

/// The forward header at `index` (0 to count - 1, in policy order): its
/// name into `*out_name` and value into `*out_value`, both owned by
/// `verified`. `JWTGATE_INVALID_PARAMETER` when `index` is out of range.
///
/// # Safety
/// `verified` must be NULL or a live result; `out_name` and `out_value`
/// must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verified_header_at(
    verified: *const jwtgate_verified,
    index: usize,
    out_name: *mut jwtgate_str,
    out_value: *mut jwtgate_str,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live result.
        let Ok(verified) = (unsafe { handle(verified, "verified") }) else {
            return jwtgate_code::JWTGATE_NULL_PARAMETER;
        };
        if out_name.is_null() || out_value.is_null() {
            return jwtgate_code::JWTGATE_NULL_PARAMETER;
        }
        let Some((name, value)) = verified.inner.headers().get(index) else {
            return jwtgate_code::JWTGATE_INVALID_PARAMETER;
        };
        // SAFETY: both out-pointers were checked non-NULL and the caller
        // promises they are writable.
        unsafe {
            *out_name = jwtgate_str::of(name);
            *out_value = jwtgate_str::of(value);
        }
        jwtgate_code::JWTGATE_OK
    }
}

/// One claim by name (`name_len` bytes of UTF-8): a top-level claim name
/// (dots mean nothing), or a JSON Pointer when it starts with `/`. The value
/// is copied into `buf` (`buf_len` bytes) with a terminating NUL, in the
/// given `format` (a `jwtgate_claim_format`); `*out_n` receives its length
/// without the NUL. Returns `JWTGATE_NOT_FOUND` when the token has no such
/// claim, `JWTGATE_BUFFER_TOO_SMALL` when `buf_len <= *out_n` (retry with
/// `*out_n + 1` bytes), `JWTGATE_INVALID_PARAMETER` for an unknown format.
///
/// # Safety
/// `verified` must be NULL or a live result; `name` NULL or `name_len`
/// readable bytes; `buf` NULL or `buf_len` writable bytes; `out_n` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verified_claim(
    verified: *const jwtgate_verified,
    name: *const c_char,
    name_len: usize,
    format: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_n: *mut usize,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live result.
        let Ok(verified) = (unsafe { handle(verified, "verified") }) else {
            return jwtgate_code::JWTGATE_NULL_PARAMETER;
        };
        // SAFETY: the caller promises name_len readable bytes.
        let name = match unsafe { text(name, name_len, "name") } {
            Ok(name) => name,
            Err(e) => return e.code,
        };
        let as_text = match format {
            f if f == jwtgate_claim_format::JWTGATE_CLAIM_JSON as u32 => false,
            f if f == jwtgate_claim_format::JWTGATE_CLAIM_TEXT as u32 => true,
            _ => return jwtgate_code::JWTGATE_INVALID_PARAMETER,
        };
        let Some(value) = verified.inner.claim(name) else { return jwtgate_code::JWTGATE_NOT_FOUND };
        let rendered = match value {
            Value::String(s) if as_text => s.clone(),
            other => other.to_string(),
        };
        // SAFETY: the caller promises buf_len writable bytes and a writable out_n.
        unsafe { copy_out(rendered.as_bytes(), buf, buf_len, out_n) }
    }
}

/// Frees a result. `jwtgate_verified_free(NULL)` does nothing.
///
/// # Safety
/// `verified` must be NULL or a result from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verified_free(verified: *mut jwtgate_verified) {
    ffi_boundary! {
        if !verified.is_null() {
            // SAFETY: verified came from Box::into_raw here and is freed once.
            drop(unsafe { Box::from_raw(verified) });
        }
    }
}
