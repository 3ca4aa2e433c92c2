//! The route handle: what one place of use (an Nginx `location`) adds to
//! the policy, built from directive values without any JSON of the
//! caller's making. Routes nest with `jwtgate_route_merge`.

use std::ffi::c_char;

use jwtgate::{Mode, Route, TokenSourceDoc};

use crate::error::{jwtgate_code, jwtgate_error};
use crate::ffi::{finish, handle, optional_text, out_ptr, text};
use crate::verifier::jwtgate_verifier;

/// Route requirements. Made by `jwtgate_route_new` or `jwtgate_route_merge`;
/// freed by `jwtgate_route_free`. Build it at configuration time and share
/// it read-only between threads; the `_add`/`_set` calls need exclusive use.
pub struct jwtgate_route {
    pub(crate) inner: Route,
}

/// The mode a request is checked in.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum jwtgate_mode {
    /// A valid token is required.
    JWTGATE_MODE_REQUIRED = 0,
    /// No token passes without identity; a bad token is still rejected.
    JWTGATE_MODE_OPTIONAL = 1,
    /// Decide and report, never block.
    JWTGATE_MODE_REPORT_ONLY = 2,
    /// No check; forwarded header names are still removed.
    JWTGATE_MODE_OFF = 3,
}

/// Where a route looks for the token.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum jwtgate_source_kind {
    /// A request header, optionally with a scheme such as `Bearer`.
    JWTGATE_SOURCE_HEADER = 0,
    /// A cookie.
    JWTGATE_SOURCE_COOKIE = 1,
    /// A query-string parameter.
    JWTGATE_SOURCE_QUERY = 2,
}

fn boxed(inner: Route) -> *mut jwtgate_route {
    Box::into_raw(Box::new(jwtgate_route { inner }))
}

/// Makes an empty route (it adds nothing). `*out` receives a route the
/// caller frees with `jwtgate_route_free`.
///
/// # Safety
/// `out` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_new(out: *mut *mut jwtgate_route) -> jwtgate_code {
    ffi_boundary! {
        match out_ptr(out, "out") {
            // SAFETY: out was checked non-NULL; the caller promises it is writable.
            Ok(out) => { unsafe { *out = boxed(Route::new()) }; jwtgate_code::JWTGATE_OK }
            Err(e) => e.code,
        }
    }
}

/// Makes a route from a route document in JSON text (`{"claims": {...},
/// "scopes": [...], "claims_to_headers": {...}, "mode": "optional", ...}`)
/// for `verifier`'s policy. Unknown fields and bad rules are
/// `JWTGATE_POLICY` with a message naming them; `*out` is written only on
/// success, with a route the caller frees with `jwtgate_route_free`.
///
/// # Safety
/// `verifier` must be NULL or a live verifier; `json` must point at
/// `json_len` readable bytes; `out` and `out_error` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_from_json(
    verifier: *const jwtgate_verifier,
    json: *const c_char,
    json_len: usize,
    out: *mut *mut jwtgate_route,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        let result = (|| {
            let out = out_ptr(out, "out")?;
            // SAFETY: the caller passes NULL or a live verifier.
            let verifier = unsafe { handle(verifier, "verifier") }?;
            // SAFETY: the caller promises json_len readable bytes.
            let json = unsafe { text(json, json_len, "json") }?;
            let value = jwtgate::document_from_json(json, "route")?;
            Ok((out, verifier.inner.route(value)?))
        })();
        // SAFETY: out was checked non-NULL; out_error is NULL or writable.
        unsafe { finish(result, |(out, r)| *out = boxed(r), out_error) }
    }
}

/// Runs `edit` on a live route and reports its outcome.
///
/// # Safety
/// `route` must be NULL or a live route not used by another thread;
/// `out_error` must be NULL or writable.
unsafe fn edit(
    route: *mut jwtgate_route,
    out_error: *mut *mut jwtgate_error,
    edit: impl FnOnce(&mut Route) -> Result<(), jwtgate_error>,
) -> jwtgate_code {
    // SAFETY: the caller passes NULL or a live route it uses alone.
    let result = match unsafe { route.as_mut() } {
        None => Err(jwtgate_error::null("route")),
        Some(route) => edit(&mut route.inner),
    };
    // SAFETY: out_error is NULL or writable; nothing is written on success.
    unsafe { finish(result, |()| {}, out_error) }
}

/// Adds a claim rule: `claim` is a claim name or JSON Pointer, `rule_json`
/// one rule in the policy's syntax (e.g. `{"contains_all": ["orders"]}`).
/// A bad rule is `JWTGATE_POLICY` with a message naming it.
///
/// # Safety
/// Text pointers must point at their lengths of readable bytes; `route`
/// must be NULL or a live route not used by another thread; `out_error`
/// must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_add_claim_rule(
    route: *mut jwtgate_route,
    claim: *const c_char,
    claim_len: usize,
    rule_json: *const c_char,
    rule_len: usize,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        unsafe {
            edit(route, out_error, |r| {
                let claim = text(claim, claim_len, "claim")?;
                let rule = text(rule_json, rule_len, "rule_json")?;
                Ok(r.add_claim_rule_json(claim, rule)?)
            })
        }
    }
}

/// Adds a group of alternatives: `any_of_json` is a JSON list of claim
/// maps in the policy's `any_of` syntax (e.g. `[{"roles": {"contains_any":
/// ["admin"]}}, {"scope": {"contains_any": ["orders:write"]}}]`), of which
/// at least one must hold in full. Each call adds a group that must hold
/// on top of every other rule. A bad list is `JWTGATE_POLICY` with a
/// message naming the alternative and rule.
///
/// # Safety
/// As for `jwtgate_route_add_claim_rule`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_add_any_of(
    route: *mut jwtgate_route,
    any_of_json: *const c_char,
    any_of_len: usize,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        unsafe {
            edit(route, out_error, |r| Ok(r.add_any_of_json(text(any_of_json, any_of_len, "any_of_json")?)?))
        }
    }
}

/// Adds an OAuth scope the token must hold (in `scope` or `scp`); a failure
/// answers 403 with `scope="..."` in the challenge.
///
/// # Safety
/// As for `jwtgate_route_add_claim_rule`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_add_scope(
    route: *mut jwtgate_route,
    scope: *const c_char,
    scope_len: usize,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        unsafe { edit(route, out_error, |r| Ok(r.add_scope(text(scope, scope_len, "scope")?)?)) }
    }
}

/// Forwards `claim` (name or JSON Pointer) in request header `header`. A
/// header the verifier's policy already forwards is `JWTGATE_POLICY`.
///
/// # Safety
/// As for `jwtgate_route_add_claim_rule`; `verifier` must be a live verifier.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_add_claim_header(
    route: *mut jwtgate_route,
    verifier: *const jwtgate_verifier,
    claim: *const c_char,
    claim_len: usize,
    header: *const c_char,
    header_len: usize,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        unsafe {
            edit(route, out_error, |r| {
                let verifier = handle(verifier, "verifier")?;
                let claim = text(claim, claim_len, "claim")?;
                let header = text(header, header_len, "header")?;
                Ok(r.add_claim_header(verifier.inner.policy(), claim, header)?)
            })
        }
    }
}

/// Sends the whole payload (base64url) in request header `header`.
///
/// # Safety
/// As for `jwtgate_route_add_claim_header`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_set_payload_header(
    route: *mut jwtgate_route,
    verifier: *const jwtgate_verifier,
    header: *const c_char,
    header_len: usize,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        unsafe {
            edit(route, out_error, |r| {
                let verifier = handle(verifier, "verifier")?;
                let header = text(header, header_len, "header")?;
                Ok(r.set_payload_header(verifier.inner.policy(), header)?)
            })
        }
    }
}

/// Adds a token source. The route's sources replace the policy's, in the
/// order they are added. `scheme` (NULL for none) only goes with a header.
///
/// # Safety
/// As for `jwtgate_route_add_claim_rule`; `scheme` may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_add_token_source(
    route: *mut jwtgate_route,
    kind: jwtgate_source_kind,
    name: *const c_char,
    name_len: usize,
    scheme: *const c_char,
    scheme_len: usize,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        unsafe {
            edit(route, out_error, |r| {
                let name = text(name, name_len, "name")?.to_owned();
                let scheme = optional_text(scheme, scheme_len, "scheme")?.map(str::to_owned);
                let doc = match kind {
                    jwtgate_source_kind::JWTGATE_SOURCE_HEADER => TokenSourceDoc { header: Some(name), scheme, ..Default::default() },
                    jwtgate_source_kind::JWTGATE_SOURCE_COOKIE => TokenSourceDoc { cookie: Some(name), scheme, ..Default::default() },
                    jwtgate_source_kind::JWTGATE_SOURCE_QUERY => TokenSourceDoc { query: Some(name), scheme, ..Default::default() },
                };
                Ok(r.add_token_source(&doc)?)
            })
        }
    }
}

/// Sets the route's mode. A number outside `jwtgate_mode` is
/// `JWTGATE_INVALID_PARAMETER`.
///
/// # Safety
/// `route` must be NULL or a live route not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_set_mode(route: *mut jwtgate_route, mode: u32) -> jwtgate_code {
    ffi_boundary! {
        let mode = match mode {
            0 => Mode::Required,
            1 => Mode::Optional,
            2 => Mode::ReportOnly,
            3 => Mode::Off,
            _ => return jwtgate_code::JWTGATE_INVALID_PARAMETER,
        };
        // SAFETY: forwarded from the caller.
        unsafe { edit(route, std::ptr::null_mut(), |r| { r.set_mode(mode); Ok(()) }) }
    }
}

/// Sets whether a query-string token stays in the URL passed upstream.
///
/// # Safety
/// `route` must be NULL or a live route not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_set_keep_query_token(
    route: *mut jwtgate_route,
    keep: bool,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: forwarded from the caller.
        unsafe { edit(route, std::ptr::null_mut(), |r| { r.set_keep_query_token(keep); Ok(()) }) }
    }
}

/// `child` on top of `parent` (an Nginx `location` inside its `server`):
/// rules, scopes and forwarded headers concatenate; the child's mode, token
/// sources and query-token setting win where the child sets them. `*out`
/// receives a new route the caller frees; `parent` and `child` are unchanged.
///
/// # Safety
/// `parent` and `child` must be NULL or live routes; `out` and `out_error`
/// must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_merge(
    parent: *const jwtgate_route,
    child: *const jwtgate_route,
    out: *mut *mut jwtgate_route,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        let result = (|| {
            let out = out_ptr(out, "out")?;
            // SAFETY: the caller passes NULL or live routes.
            let parent = unsafe { handle(parent, "parent") }?;
            // SAFETY: as above.
            let child = unsafe { handle(child, "child") }?;
            Ok((out, parent.inner.merge(&child.inner)?))
        })();
        // SAFETY: out was checked non-NULL; out_error is NULL or writable.
        unsafe { finish(result, |(out, r)| *out = boxed(r), out_error) }
    }
}

/// Frees a route; NULL does nothing.
///
/// # Safety
/// `route` must be NULL or a live route, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_route_free(route: *mut jwtgate_route) {
    ffi_boundary! {
        if !route.is_null() {
            // SAFETY: the caller hands over a live route made by Box::into_raw.
            drop(unsafe { Box::from_raw(route) });
        }
    }
}
