//! The accessors C calls on a `jwtgate_error` handle, and code names.

use crate::error::jwtgate_code::{self, *};
use crate::error::jwtgate_error;
use crate::ffi::{handle, jwtgate_str};

/// The error's code; `JWTGATE_NULL_PARAMETER` when `error` is NULL.
///
/// # Safety
/// `error` must be NULL or a live error from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_code(error: *const jwtgate_error) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live error.
        unsafe { handle(error, "error") }.map_or(JWTGATE_NULL_PARAMETER, |e| e.code)
    }
}

/// The human-readable message (not stable: match on the code). Owned by
/// `error`: valid until `jwtgate_error_free(error)`. `{NULL, 0}` when
/// `error` is NULL.
///
/// # Safety
/// `error` must be NULL or a live error from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_message(error: *const jwtgate_error) -> jwtgate_str {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live error.
        unsafe { handle(error, "error") }.map_or(jwtgate_str::NONE, |e| jwtgate_str::of(&e.message))
    }
}

/// The claim the error is about (e.g. `"exp"` for `JWTGATE_EXPIRED`, the
/// rule's claim for `JWTGATE_CLAIM`), or `{NULL, 0}` when none is named.
/// Owned by `error`: valid until `jwtgate_error_free(error)`.
///
/// # Safety
/// `error` must be NULL or a live error from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_claim(error: *const jwtgate_error) -> jwtgate_str {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live error.
        unsafe { handle(error, "error") }.map_or(jwtgate_str::NONE, |e| jwtgate_str::of_option(e.claim.as_deref()))
    }
}

/// The HTTP status a gateway answers with: 400 (`invalid_request`), 401,
/// 403 (`claim`, or 401 when the failed rule sets `"status": 401`) or 503
/// (`jwks_unavailable`, `replay_store_unavailable`).
/// 0 means "no status": `policy`, `key`, `invalid_argument`,
/// `serialization` and the binding's own codes are configuration or
/// programming errors, never the answer to a request. 0 when `error` is
/// NULL.
///
/// # Safety
/// `error` must be NULL or a live error from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_http_status(error: *const jwtgate_error) -> u16 {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live error.
        unsafe { handle(error, "error") }.map_or(0, |e| e.status.unwrap_or(0))
    }
}

/// A ready `WWW-Authenticate` header value (RFC 6750), e.g.
/// `Bearer error="invalid_token", error_description="token expired"`;
/// `{NULL, 0}` when the HTTP status is 0. Owned by `error`: valid until
/// `jwtgate_error_free(error)`.
///
/// # Safety
/// `error` must be NULL or a live error from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_www_authenticate(error: *const jwtgate_error) -> jwtgate_str {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live error.
        unsafe { handle(error, "error") }
            .map_or(jwtgate_str::NONE, |e| jwtgate_str::of_option(e.www_authenticate.as_deref()))
    }
}

/// Frees an error. `jwtgate_error_free(NULL)` does nothing.
///
/// # Safety
/// `error` must be NULL or an error from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_error_free(error: *mut jwtgate_error) {
    ffi_boundary! {
        if !error.is_null() {
            // SAFETY: error came from Box::into_raw in this library and is
            // freed once, as the caller promises.
            drop(unsafe { Box::from_raw(error) });
        }
    }
}

/// The stable name of a code: the core's code string for 1 to 24
/// (`"expired"`, `"claim"`, ...), `"ok"` for 0, `"null_parameter"` and so on
/// for the binding's codes. Static (never free it); `{NULL, 0}` for a number
/// that is not a code.
#[unsafe(no_mangle)]
pub extern "C" fn jwtgate_code_name(code: u32) -> jwtgate_str {
    ffi_boundary! {
        jwtgate_code::ALL
            .iter()
            .chain(std::iter::once(&JWTGATE_PANIC))
            .find(|c| **c as u32 == code)
            .map_or(jwtgate_str::NONE, |c| jwtgate_str::of(c.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwtgate::ErrorKind;

    #[test]
    fn numbers_follow_the_core_order_and_names_match_the_core_codes() {
        for (i, kind) in ErrorKind::ALL.into_iter().enumerate() {
            let code = jwtgate_code::from_kind(kind);
            assert_eq!(code as u32, i as u32 + 1, "{kind}");
            assert_eq!(code.name(), kind.code());
            let name = jwtgate_code_name(code as u32);
            // SAFETY: the view points at a static string.
            let text = unsafe { std::slice::from_raw_parts(name.data.cast::<u8>(), name.len) };
            assert_eq!(text, kind.code().as_bytes());
        }
        assert_eq!(ErrorKind::ALL.len(), 24, "a new core kind needs a C code");
        assert!(jwtgate_code_name(25).data.is_null());
        assert!(jwtgate_code_name(999).data.is_null());
        assert_eq!(jwtgate_code_name(1099).len, "panic".len());
        let mut names: Vec<_> = jwtgate_code::ALL.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), jwtgate_code::ALL.len());
    }
}
