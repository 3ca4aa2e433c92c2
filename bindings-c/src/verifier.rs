//! The verifier handle: a policy, its keys and its cache.

use std::ffi::{c_char, c_void};

use jwtgate::Verifier;

use crate::error::{jwtgate_code, jwtgate_error};
use crate::ffi::{bytes, copy_out, finish, handle, jwtgate_str, optional_text, out_ptr, text};
use crate::verified::jwtgate_verified;

/// Verifies tokens against one policy. Made by `jwtgate_verifier_new`,
/// `jwtgate_verifier_from_file` or `jwtgate_verifier_from_file_with`; freed
/// by `jwtgate_verifier_free`. Thread-safe: one verifier may be used by any
/// number of threads at once (all calls take it `const`). Create it after
/// `fork()`, in the process that uses it.
pub struct jwtgate_verifier {
    pub(crate) inner: Verifier,
}

/// A verifier for a policy file plus the additions of one place of use,
/// merged into the file's document by the core ([`jwtgate::PolicyOverlay`])
/// and compiled once, sharing the file's keys: extra rules and forwarded
/// headers for every issuer and the token sources; the file's own rules
/// keep holding.
fn from_file_with(path: &str, overlay: Option<&str>) -> Result<Verifier, jwtgate::Error> {
    let verifier = Verifier::from_file(path)?;
    let Some(overlay) = overlay else { return Ok(verifier) };
    let value = jwtgate::document_from_json(overlay, "overlay")?;
    verifier.with_overlay(&jwtgate::PolicyOverlay::from_value(value)?)
}

fn boxed(inner: Verifier) -> *mut jwtgate_verifier {
    Box::into_raw(Box::new(jwtgate_verifier { inner }))
}

/// Makes a verifier from a policy document in JSON text (`policy_len` bytes
/// of UTF-8 at `policy_json`, no NUL needed). On success `*out` receives a
/// verifier the caller frees with `jwtgate_verifier_free`. On failure
/// (`JWTGATE_POLICY` names the bad field) `*out` is untouched and, when
/// `out_error` is not NULL, `*out_error` receives an error to free with
/// `jwtgate_error_free`.
///
/// # Safety
/// `policy_json` must point at `policy_len` readable bytes (or be NULL);
/// `out` and `out_error` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_new(
    policy_json: *const c_char,
    policy_len: usize,
    out: *mut *mut jwtgate_verifier,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        let result = (|| {
            let out = out_ptr(out, "out")?;
            // SAFETY: the caller promises policy_len readable bytes.
            let policy = unsafe { text(policy_json, policy_len, "policy_json") }?;
            Ok((out, Verifier::from_json(policy)?))
        })();
        // SAFETY: out was checked non-NULL; out_error is NULL or writable.
        unsafe { finish(result, |(out, v)| *out = boxed(v), out_error) }
    }
}

/// Makes a verifier from a policy file (`path_len` bytes of UTF-8 at
/// `path`, no NUL needed). Relative key file names in the policy are read
/// from the policy file's folder. Ownership and errors as for
/// `jwtgate_verifier_new`.
///
/// # Safety
/// As for `jwtgate_verifier_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_from_file(
    path: *const c_char,
    path_len: usize,
    out: *mut *mut jwtgate_verifier,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    // SAFETY: forwarded from the caller; NULL overlay means none.
    unsafe { jwtgate_verifier_from_file_with(path, path_len, std::ptr::null(), 0, out, out_error) }
}

/// Makes a verifier from a policy file plus additions for one place of use,
/// given as a JSON object (`overlay_len` bytes at `overlay_json`; NULL for
/// none) with the optional members:
///
/// - `"token_sources"`: replaces the policy's token sources (same syntax);
/// - `"claims"`: claim rules (policy rule syntax) added to every issuer; a
///   rule for a claim the policy file already checks holds as well as the
///   file's own;
/// - `"claims_to_headers"`: claim to header name, added to every issuer's
///   `forward`;
/// - `"payload_header"`: a header that receives the whole payload.
///
/// Ownership and errors as for `jwtgate_verifier_new`.
///
/// Deprecated: per-place additions are routes now (`jwtgate_route_from_json`
/// with `jwtgate_verifier_decide`, as the Nginx module uses them), which
/// share one verifier instead of compiling one per place. This entry point
/// stays, working, for callers of `jwtgate_verifier_verify` that need
/// per-place rules.
///
/// # Safety
/// As for `jwtgate_verifier_new`; `overlay_json` must be NULL or point at
/// `overlay_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_from_file_with(
    path: *const c_char,
    path_len: usize,
    overlay_json: *const c_char,
    overlay_len: usize,
    out: *mut *mut jwtgate_verifier,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        let result = (|| {
            let out = out_ptr(out, "out")?;
            // SAFETY: the caller promises path_len readable bytes.
            let path = unsafe { text(path, path_len, "path") }?;
            // SAFETY: the caller promises NULL or overlay_len readable bytes.
            let overlay = unsafe { optional_text(overlay_json, overlay_len, "overlay_json") }?;
            Ok((out, from_file_with(path, overlay)?))
        })();
        // SAFETY: out was checked non-NULL; out_error is NULL or writable.
        unsafe { finish(result, |(out, v)| *out = boxed(v), out_error) }
    }
}

/// Verifies a compact JWS token (`token_len` bytes at `token`, no NUL
/// needed). When `has_now` is true, `now` (unix seconds) pins the clock;
/// otherwise the system clock is used. On success returns `JWTGATE_OK` and
/// `*out_verified` receives a result the caller frees with
/// `jwtgate_verified_free`; on failure returns the error's code, leaves
/// `*out_verified` untouched and, when `out_error` is not NULL, stores an
/// error the caller frees with `jwtgate_error_free`. The verifier may be
/// used by other threads at the same time.
///
/// # Safety
/// `verifier` must be NULL or a live verifier; `token` must point at
/// `token_len` readable bytes (or be NULL); `out_verified` and `out_error`
/// must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_verify(
    verifier: *const jwtgate_verifier,
    token: *const c_char,
    token_len: usize,
    has_now: bool,
    now: f64,
    out_verified: *mut *mut jwtgate_verified,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        let result = (|| {
            // SAFETY: the caller passes NULL or a live verifier.
            let verifier = unsafe { handle(verifier, "verifier") }?;
            let out = out_ptr(out_verified, "out_verified")?;
            // SAFETY: the caller promises token_len readable bytes.
            let token = unsafe { bytes(token, token_len, "token") }?;
            let verified = verifier.inner.verify(token, has_now.then_some(now))?;
            Ok((out, verified))
        })();
        // SAFETY: out was checked non-NULL; out_error is NULL or writable.
        unsafe { finish(result, |(out, v)| *out = jwtgate_verified::boxed(v), out_error) }
    }
}

/// Looks a request header up by name for `jwtgate_verifier_find_token`:
/// returns true and sets `*out_value` to the header's value when the request
/// has a header `name` (`name_len` bytes, compare case-insensitively), false
/// otherwise. The value must stay valid until `jwtgate_verifier_find_token`
/// returns. It must not unwind (throw) into the library.
pub type jwtgate_header_lookup = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        name: *const c_char,
        name_len: usize,
        out_value: *mut jwtgate_str,
    ) -> bool,
>;

/// Finds a request's token from the policy's `token_sources`, in order
/// (header with its scheme, cookie, query parameter). `lookup` reads request
/// headers (it is also asked for `"cookie"`); `query` is the raw query
/// string without `?` (NULL when there is none). The token is copied into
/// `buf` (`buf_len` bytes) with a terminating NUL, and `*out_n` receives its
/// length without the NUL. Returns `JWTGATE_NOT_FOUND` when the request
/// carries no token, `JWTGATE_BUFFER_TOO_SMALL` when `buf_len <= *out_n`
/// (retry with `*out_n + 1` bytes).
///
/// # Safety
/// `verifier` must be NULL or a live verifier; `query` NULL or
/// `query_len` readable bytes; `buf` NULL or `buf_len` writable bytes;
/// `out_n` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_find_token(
    verifier: *const jwtgate_verifier,
    lookup: jwtgate_header_lookup,
    userdata: *mut c_void,
    query: *const c_char,
    query_len: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_n: *mut usize,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live verifier.
        let Ok(verifier) = (unsafe { handle(verifier, "verifier") }) else {
            return jwtgate_code::JWTGATE_NULL_PARAMETER;
        };
        let Some(lookup) = lookup else { return jwtgate_code::JWTGATE_NULL_PARAMETER };
        // SAFETY: the caller promises NULL or query_len readable bytes.
        let query = match unsafe { optional_text(query, query_len, "query") } {
            Ok(query) => query,
            Err(e) => return e.code,
        };
        let header = |name: &str| -> Option<&str> {
            let mut value = jwtgate_str::NONE;
            // SAFETY: the callback gets a valid name and a writable jwtgate_str.
            let found = unsafe { lookup(userdata, name.as_ptr().cast(), name.len(), &mut value) };
            if !found || value.data.is_null() {
                return None;
            }
            // SAFETY: the callback promises value.len bytes that stay valid
            // until this call returns; a non-UTF-8 value holds no token.
            unsafe { bytes(value.data, value.len, "header value") }.ok().and_then(|b| std::str::from_utf8(b).ok())
        };
        match verifier.inner.find_token_by_lookup(&header, query) {
            // SAFETY: the caller promises buf_len writable bytes at buf and a
            // writable out_n.
            Ok(Some(token)) => unsafe { copy_out(token.as_bytes(), buf, buf_len, out_n) },
            Ok(None) => jwtgate_code::JWTGATE_NOT_FOUND,
            Err(e) => jwtgate_code::from_kind(e.kind()),
        }
    }
}

/// Number of tokens in the verifier's verified-token cache (0 when `verifier`
/// is NULL or the cache is off).
///
/// # Safety
/// `verifier` must be NULL or a live verifier.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_cached_tokens(verifier: *const jwtgate_verifier) -> usize {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live verifier.
        unsafe { handle(verifier, "verifier") }.map_or(0, |v| v.inner.cached_tokens())
    }
}

/// Whether a decision can use the client's TLS certificate (an issuer has
/// `mtls_binding`): a gateway copies the certificate out of the connection
/// into `jwtgate_request.client_cert` only then. False when `verifier` is
/// NULL.
///
/// # Safety
/// `verifier` must be NULL or a live verifier.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_reads_client_cert(verifier: *const jwtgate_verifier) -> bool {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        unsafe { handle(verifier, "verifier") }.is_ok_and(|v| v.inner.reads_client_cert())
    }
}

/// Whether a decision can use the peer's address (the policy names
/// `trusted_proxies`): a gateway fills `jwtgate_request.peer` only then
/// (the address is ignored otherwise). False when `verifier` is NULL.
///
/// # Safety
/// `verifier` must be NULL or a live verifier.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_reads_peer(verifier: *const jwtgate_verifier) -> bool {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        unsafe { handle(verifier, "verifier") }.is_ok_and(|v| v.inner.reads_peer())
    }
}

/// Starts fetching every remote key set that has no usable keys yet and
/// returns at once: call it where a process (an Nginx worker) starts, after
/// any `fork()`, so its first requests find keys. Fetches run on background
/// threads; nothing waits. Does nothing when `verifier` is NULL.
///
/// # Safety
/// `verifier` must be NULL or a live verifier.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_prefetch(verifier: *const jwtgate_verifier) {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live verifier.
        if let Ok(v) = unsafe { handle(verifier, "verifier") } {
            v.inner.prefetch();
        }
    }
}

/// Empties the verifier's verified-token cache, so every token is verified
/// in full again (after revoking keys or tokens out of band). Safe to call
/// while other threads verify with the same verifier. Does nothing when
/// `verifier` is NULL or the cache is off.
///
/// # Safety
/// `verifier` must be NULL or a live verifier.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_clear_cache(verifier: *const jwtgate_verifier) {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live verifier.
        if let Ok(v) = unsafe { handle(verifier, "verifier") } {
            v.inner.clear_cache();
        }
    }
}

/// Frees a verifier. `jwtgate_verifier_free(NULL)` does nothing. Results
/// and errors it produced stay valid: free them separately.
///
/// # Safety
/// `verifier` must be NULL or a verifier from this library not freed before,
/// and no other thread may be using it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_free(verifier: *mut jwtgate_verifier) {
    ffi_boundary! {
        if !verifier.is_null() {
            // SAFETY: verifier came from Box::into_raw here and is freed once.
            drop(unsafe { Box::from_raw(verifier) });
        }
    }
}
