//! The request decision: `jwtgate_verifier_decide` and the handle it makes.

use std::borrow::Cow;
use std::ffi::c_char;
use std::sync::{Mutex, OnceLock};

use jwtgate::{Decision, Request};
use smallvec::SmallVec;

use crate::error::{jwtgate_code, jwtgate_error};
use crate::ffi::{bytes, finish, handle, jwtgate_str, optional_text, out_ptr, text};
use crate::route::jwtgate_route;
use crate::verifier::jwtgate_verifier;

/// One request header: `name_len` bytes at `name`, `value_len` at `value`
/// (not NUL-terminated). Values that are not UTF-8 are read with U+FFFD in
/// place of the bad bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct jwtgate_header {
    /// Header name.
    pub name: *const c_char,
    /// Bytes in `name`.
    pub name_len: usize,
    /// Header value.
    pub value: *const c_char,
    /// Bytes in `value`.
    pub value_len: usize,
}

/// A request as the gateway sees it. Every pointer is borrowed for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct jwtgate_request {
    /// The method, e.g. `GET`.
    pub method: *const c_char,
    /// Bytes in `method`.
    pub method_len: usize,
    /// The request target: `/path?query` (or an absolute URL).
    pub url: *const c_char,
    /// Bytes in `url`.
    pub url_len: usize,
    /// The headers in arrival order, repeated ones included; NULL when
    /// `headers_len` is 0.
    pub headers: *const jwtgate_header,
    /// Number of headers.
    pub headers_len: usize,
    /// The peer's address as text (`192.0.2.1`, `2001:db8::1`), or NULL.
    /// Read only where the policy names `trusted_proxies` (then text that
    /// is not an address is `JWTGATE_INVALID_PARAMETER`).
    pub peer: *const c_char,
    /// Bytes in `peer`.
    pub peer_len: usize,
    /// The client's TLS certificate (DER), or NULL.
    pub client_cert: *const u8,
    /// Bytes in `client_cert`.
    pub client_cert_len: usize,
    /// Decide at `now` (unix seconds) instead of the system clock.
    pub pin_now: bool,
    /// The pinned clock, read when `pin_now` is true.
    pub now: f64,
    /// Never wait for a key fetch: a decision that would wait is pending
    /// (`jwtgate_decision_pending`); ask again later.
    pub no_wait: bool,
}

/// A request decision. Made by `jwtgate_verifier_decide`; freed by
/// `jwtgate_decision_free`. Every `jwtgate_str` it returns stays valid until
/// then. Read-only apart from the claim values it keeps; one thread at a time.
pub struct jwtgate_decision {
    inner: Decision,
    /// Made on first use: most requests never read `$jwtgate_claims`.
    claims_json: OnceLock<Option<String>>,
    /// Values handed out by `jwtgate_decision_claim_value`, kept alive with
    /// the decision (a `Box<str>` does not move when the list grows).
    claim_values: Mutex<Vec<Box<str>>>,
}

/// Decides one request: the token source, the rejection or the headers to
/// remove and set, with `route` (NULL: none) on top of the policy. Returns
/// `JWTGATE_OK` whenever a decision was made, allowed or not; `*out`
/// receives a decision the caller frees with `jwtgate_decision_free`. Other
/// codes mean bad arguments (NULL pointers, a bad `peer`), with `*out`
/// untouched.
///
/// # Safety
/// `verifier` and `route` must be NULL or live handles; `request` must be
/// NULL or point at a request whose pointers cover their lengths; `out` and
/// `out_error` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_decide(
    verifier: *const jwtgate_verifier,
    request: *const jwtgate_request,
    route: *const jwtgate_route,
    out: *mut *mut jwtgate_decision,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        let result = (|| {
            let out = out_ptr(out, "out")?;
            // SAFETY: the caller passes NULL or live handles.
            let verifier = unsafe { handle(verifier, "verifier") }?;
            // SAFETY: as above.
            let request = unsafe { handle(request, "request") }?;
            // SAFETY: NULL means no route.
            let route = unsafe { route.as_ref() }.map(|r| &r.inner);
            // SAFETY: the caller promises the request's pointers cover their lengths.
            let decision = unsafe { decide(&verifier.inner, request, route) }?;
            Ok((out, decision))
        })();
        // SAFETY: out was checked non-NULL; out_error is NULL or writable.
        unsafe { finish(result, |(out, d)| *out = Box::into_raw(Box::new(d)), out_error) }
    }
}

/// # Safety
/// The request's pointers must cover their lengths.
unsafe fn decide(
    verifier: &jwtgate::Verifier,
    request: &jwtgate_request,
    route: Option<&jwtgate::Route>,
) -> Result<jwtgate_decision, jwtgate_error> {
    // SAFETY: forwarded from the caller.
    let method = unsafe { text(request.method, request.method_len, "method") }?;
    // A target that is not UTF-8 is read like header values (U+FFFD for the
    // bad bytes), so the core decides it (an `off` location still answers)
    // instead of the call failing.
    // SAFETY: as above.
    let url = lossy(unsafe { bytes(request.url, request.url_len, "url") }?);
    let url = url.as_ref();
    let raw_headers: &[jwtgate_header] = if request.headers_len == 0 {
        &[]
    } else {
        if request.headers.is_null() {
            return Err(jwtgate_error::null("headers"));
        }
        // SAFETY: headers is not NULL and the caller promises headers_len entries.
        unsafe { std::slice::from_raw_parts(request.headers, request.headers_len) }
    };
    let filter = verifier.header_filter(route);
    // Most requests carry one or two headers the decision reads: they stay
    // on the stack, with no allocation per request.
    let mut owned: SmallVec<[(Cow<'_, str>, Cow<'_, str>); 4]> = SmallVec::new();
    for h in raw_headers {
        // SAFETY: the caller promises each header's pointers cover their lengths.
        let name = unsafe { bytes(h.name, h.name_len, "header name") }?;
        // SAFETY: as above.
        let value = unsafe { bytes(h.value, h.value_len, "header value") }?;
        // Only the headers the decision can read are converted: the others
        // cannot change it, and checking their UTF-8 cost a gateway more
        // than the rest of the decision on a cache hit.
        if filter.reads(name) {
            owned.push((lossy(name), lossy(value)));
        }
    }
    let headers: SmallVec<[(&str, &str); 4]> = owned.iter().map(|(n, v)| (n.as_ref(), v.as_ref())).collect();
    // The address is parsed only where the policy can read it
    // (`trusted_proxies`); an address that is not one is refused then.
    // SAFETY: as above; NULL means none.
    let peer_text = if verifier.reads_peer() {
        unsafe { optional_text(request.peer, request.peer_len, "peer") }?
    } else {
        None
    };
    let peer = match peer_text {
        None => None,
        Some(text) => Some(text.parse().map_err(|_| {
            jwtgate_error::binding(
                jwtgate_code::JWTGATE_INVALID_PARAMETER,
                format!("peer {text:?} is not an IP address"),
            )
        })?),
    };
    let client_cert = if request.client_cert.is_null() {
        None
    } else {
        // SAFETY: as above.
        Some(unsafe { bytes(request.client_cert.cast(), request.client_cert_len, "client_cert") }?)
    };
    let req = Request {
        method,
        url,
        headers: &headers,
        peer,
        client_cert,
        now: request.pin_now.then_some(request.now),
        no_wait: request.no_wait,
    };
    let inner = verifier.decide(&req, route);
    Ok(jwtgate_decision { inner, claims_json: OnceLock::new(), claim_values: Mutex::new(Vec::new()) })
}

/// Bytes as text, with U+FFFD for bytes that are not UTF-8. Valid input
/// (nearly every request) takes the fast validator and is borrowed; the
/// lossy scan runs only on bad bytes.
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is UTF-8. (`is_ascii` reads a word at a time, three
        // times faster than `from_utf8` on a token header.)
        return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// # Safety
/// `d` must be NULL or a live decision.
unsafe fn read<'a>(d: *const jwtgate_decision) -> Option<&'a jwtgate_decision> {
    // SAFETY: forwarded from the caller.
    unsafe { d.as_ref() }
}

/// Whether the request goes on upstream (false when `decision` is NULL).
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_allow(decision: *const jwtgate_decision) -> bool {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { unsafe { read(decision) }.is_some_and(|d| d.inner.allow) }
}

/// 200 when allowed, else the status to answer (400, 401, 403, 503); 0
/// when `decision` is NULL.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_status(decision: *const jwtgate_decision) -> u16 {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { unsafe { read(decision) }.map_or(0, |d| d.inner.status) }
}

/// The stable code of the rejection (in `report_only`, of the rejection it
/// would have been), e.g. `expired`; `{NULL, 0}` when nothing failed.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_code(decision: *const jwtgate_decision) -> jwtgate_str {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { jwtgate_str::of_option(unsafe { read(decision) }.and_then(|d| d.inner.code())) }
}

/// The JSON body of a rejection; `{NULL, 0}` when allowed.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_body(decision: *const jwtgate_decision) -> jwtgate_str {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { jwtgate_str::of_option(unsafe { read(decision) }.and_then(|d| d.inner.body.as_deref())) }
}

/// Number of headers to set on the request passed upstream.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_set_headers_len(decision: *const jwtgate_decision) -> usize {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { unsafe { read(decision) }.map_or(0, |d| d.inner.set_headers.len()) }
}

/// # Safety
/// `name` and `value` must be writable.
unsafe fn pair_at(
    list: Option<&[(String, String)]>,
    index: usize,
    name: *mut jwtgate_str,
    value: *mut jwtgate_str,
) -> jwtgate_code {
    if name.is_null() || value.is_null() {
        return jwtgate_code::JWTGATE_NULL_PARAMETER;
    }
    let Some(list) = list else { return jwtgate_code::JWTGATE_NULL_PARAMETER };
    let Some((n, v)) = list.get(index) else { return jwtgate_code::JWTGATE_INVALID_PARAMETER };
    // SAFETY: both were checked non-NULL; the caller promises they are writable.
    unsafe {
        *name = jwtgate_str::of(n);
        *value = jwtgate_str::of(v);
    }
    jwtgate_code::JWTGATE_OK
}

/// Header `index` to set upstream (value header-safe: printable ASCII).
/// `JWTGATE_INVALID_PARAMETER` past the end.
///
/// # Safety
/// `decision` must be NULL or a live decision; `name` and `value` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_set_header(
    decision: *const jwtgate_decision,
    index: usize,
    name: *mut jwtgate_str,
    value: *mut jwtgate_str,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        unsafe { pair_at(read(decision).map(|d| d.inner.set_headers.as_slice()), index, name, value) }
    }
}

/// Number of header names to remove from the request before setting any.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_remove_headers_len(decision: *const jwtgate_decision) -> usize {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { unsafe { read(decision) }.map_or(0, |d| d.inner.remove_headers.len()) }
}

/// Header name `index` (lower case) to remove; `{NULL, 0}` past the end.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_remove_header(
    decision: *const jwtgate_decision,
    index: usize,
) -> jwtgate_str {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        jwtgate_str::of_option(unsafe { read(decision) }.and_then(|d| d.inner.remove_headers.get(index)).map(String::as_str))
    }
}

/// Whether request header `name` must be removed before the request goes
/// upstream: it names a forwarded header, ignoring case and with `_` and `-`
/// alike (CGI and FastCGI read `X_User` as `X-User`). Apply it to every
/// request header. False when `decision` is NULL or `name` is not UTF-8.
///
/// # Safety
/// `decision` must be NULL or a live decision; `name` must point at
/// `name_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_removes_header(
    decision: *const jwtgate_decision,
    name: *const c_char,
    name_len: usize,
) -> bool {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        let Some(d) = (unsafe { read(decision) }) else { return false };
        // SAFETY: forwarded from the caller.
        unsafe { text(name, name_len, "name") }.is_ok_and(|name| d.inner.removes_header(name))
    }
}

/// Number of headers of the rejection response (0 when allowed).
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_response_headers_len(decision: *const jwtgate_decision) -> usize {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { unsafe { read(decision) }.map_or(0, |d| d.inner.response_headers.len()) }
}

/// Response header `index` of a rejection (`WWW-Authenticate`,
/// `Content-Type`, `Cache-Control`, `Retry-After`).
///
/// # Safety
/// As for `jwtgate_decision_set_header`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_response_header(
    decision: *const jwtgate_decision,
    index: usize,
    name: *mut jwtgate_str,
    value: *mut jwtgate_str,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        unsafe { pair_at(read(decision).map(|d| d.inner.response_headers.as_slice()), index, name, value) }
    }
}

/// The request target to pass upstream (a query token removed); `{NULL, 0}`
/// keeps the original.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_upstream_url(decision: *const jwtgate_decision) -> jwtgate_str {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { jwtgate_str::of_option(unsafe { read(decision) }.and_then(|d| d.inner.upstream_url.as_deref())) }
}

/// `jwtgate_decision_upstream_url` through an out-parameter: true, with the
/// request target to pass upstream (a query token removed) in `*out`; false,
/// with `*out` untouched, to keep the original (also when `decision` or
/// `out` is NULL). For foreign-function interfaces that cannot compile a
/// call returning a struct by value: LuaJIT's JIT compiler leaves such
/// calls, and every trace through them, to its interpreter.
///
/// # Safety
/// `decision` must be NULL or a live decision; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_upstream_url_into(
    decision: *const jwtgate_decision,
    out: *mut jwtgate_str,
) -> bool {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        match (unsafe { read(decision) }.and_then(|d| d.inner.upstream_url.as_deref()), unsafe { out.as_mut() }) {
            (Some(url), Some(out)) => {
                *out = jwtgate_str::of(url);
                true
            }
            _ => false,
        }
    }
}

/// Whether the token came from the query string.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_token_in_query(decision: *const jwtgate_decision) -> bool {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { unsafe { read(decision) }.is_some_and(|d| d.inner.token_in_query) }
}

/// Whether the decision waits on a key fetch in flight (asked with
/// `no_wait`): decide again later; its 503 answer stands when the caller
/// stops waiting.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_pending(decision: *const jwtgate_decision) -> bool {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { unsafe { read(decision) }.is_some_and(|d| d.inner.is_pending()) }
}

/// While the decision is pending: how long (milliseconds) the caller may
/// keep deciding again before answering it, the key set's `initial_wait_ms`;
/// 0 when not pending or `decision` is NULL.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_pending_wait_ms(decision: *const jwtgate_decision) -> u64 {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { unsafe { read(decision) }.map_or(0, |d| d.inner.pending_wait_ms()) }
}

/// Whether the decision carries a verified identity (claims, issuer);
/// false without one, in `report_only` after a failure, or when
/// `decision` is NULL. Cheaper than asking for the claims.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_verified(decision: *const jwtgate_decision) -> bool {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { unsafe { read(decision) }.is_some_and(|d| d.inner.verified.is_some()) }
}

/// The verified claims as compact ASCII-only JSON (no raw CR/LF, non-ASCII
/// as `\uXXXX`); `{NULL, 0}` without identity.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_claims_json(decision: *const jwtgate_decision) -> jwtgate_str {
    // SAFETY: forwarded from the caller.
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        let Some(d) = (unsafe { read(decision) }) else { return jwtgate_str::NONE };
        let json = d.claims_json.get_or_init(|| d.inner.verified.as_ref().map(|v| v.claims_ascii_json()));
        jwtgate_str::of_option(json.as_deref())
    }
}

/// The `issuer` of the policy entry that accepted the token, if it names one.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_issuer(decision: *const jwtgate_decision) -> jwtgate_str {
    // SAFETY: forwarded from the caller.
    ffi_boundary! { jwtgate_str::of_option(unsafe { read(decision) }.and_then(|d| d.inner.issuer())) }
}

/// One claim (name or JSON Pointer) in header form: a string as it is, any
/// other value as compact JSON; `{NULL, 0}` when absent, null, not
/// header-safe (controls, non-ASCII), without identity, or on bad input.
/// Owned by `decision`.
///
/// # Safety
/// `decision` must be NULL or a live decision used by one thread at a time;
/// `claim` must point at `claim_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_claim_value(
    decision: *const jwtgate_decision,
    claim: *const c_char,
    claim_len: usize,
) -> jwtgate_str {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        let Some(d) = (unsafe { read(decision) }) else { return jwtgate_str::NONE };
        // SAFETY: forwarded from the caller.
        let Ok(name) = (unsafe { text(claim, claim_len, "claim") }) else { return jwtgate_str::NONE };
        let Some(value) = d.inner.verified.as_ref().and_then(|v| v.claim_header_value(name)) else {
            return jwtgate_str::NONE;
        };
        let value: Box<str> = value.into_boxed_str();
        let view = jwtgate_str::of(&value);
        d.claim_values.lock().unwrap_or_else(|e| e.into_inner()).push(value);
        view
    }
}

/// Frees a decision; NULL does nothing.
///
/// # Safety
/// `decision` must be NULL or a live decision, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_decision_free(decision: *mut jwtgate_decision) {
    ffi_boundary! {
        if !decision.is_null() {
            // SAFETY: the caller hands over a live decision made by Box::into_raw.
            drop(unsafe { Box::from_raw(decision) });
        }
    }
}
