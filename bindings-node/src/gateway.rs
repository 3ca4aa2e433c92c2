//! The request layer: `decide`, `decideAsync`, `decideAfter`, routes and
//! decisions. The JavaScript wrapper flattens the request's headers into
//! `[name, value, name, value, ...]` (Node's `req.rawHeaders` form) and
//! applies the decision; the decision itself is the core's.

use std::net::IpAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use std::fmt::Write as _;

use napi::bindgen_prelude::{AsyncTask, Buffer, External, ToNapiValue, TypeName};
use napi::{Env, Result, Task, ValueType, sys};
use napi_derive::napi;

use crate::errors::{panic_error, throw, type_error};
use crate::token::Text;

/// The most a request's URL and headers may add up to, in UTF-16 code
/// units (one per byte for what Node's HTTP parser hands over). Node's own
/// limit is 16 KiB; this bound keeps a hand-made request from costing a
/// copy of arbitrary size.
pub const MAX_REQUEST_UNITS: usize = 1 << 20;

/// Compiled route requirements (`Verifier::route`).
#[napi]
pub struct NativeRoute {
    pub(crate) inner: Arc<jwtgate::Route>,
}

#[napi]
impl NativeRoute {
    /// `child` on top of this route (`Route::merge`).
    #[napi(catch_unwind)]
    pub fn merge(&self, child: &NativeRoute) -> Result<NativeRoute> {
        self.inner.merge(&child.inner).map(|r| NativeRoute { inner: Arc::new(r) }).map_err(|e| throw(&e))
    }
}

/// A decision kept whole in an external value, so a later layer of the
/// same request can use it (`decideAfter`). An external costs a fraction
/// of a class instance.
pub type DecisionHandle = External<Arc<jwtgate::Decision>>;

/// A decision as JavaScript gets it: `[fields, handle?]`, every field as
/// one JSON string (see [`fields_json`]) and, when the caller keeps it for
/// a later layer, the handle. Without one the decision is freed at once:
/// an external is only released by the garbage collector, through
/// finalizers that cost more than the decision itself.
pub struct DecisionParts(String, Option<DecisionHandle>);

pub(crate) fn parts(decision: jwtgate::Decision, keep: bool, request: &OwnedRequest) -> DecisionParts {
    let fields = fields_json(&decision, request);
    DecisionParts(fields, keep.then(|| External::new(Arc::new(decision))))
}

impl TypeName for DecisionParts {
    fn type_name() -> &'static str {
        "[string, ExternalObject<unknown>]"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for DecisionParts {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let mut array = std::ptr::null_mut();
        // SAFETY: `env` is this call's environment (napi-rs converts return
        // values on the JavaScript thread); every status is checked.
        unsafe {
            check(sys::napi_create_array_with_length(env, 2, &mut array))?;
            let fields = String::to_napi_value(env, val.0)?;
            check(sys::napi_set_element(env, array, 0, fields))?;
            if let Some(handle) = val.1 {
                let handle = DecisionHandle::to_napi_value(env, handle)?;
                check(sys::napi_set_element(env, array, 1, handle))?;
            }
        }
        Ok(array)
    }
}

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(napi::Status::GenericFailure, "could not build the decision"))
    }
}

/// `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if b != b'"' && b != b'\\' && b >= 0x20 {
            continue;
        }
        // ASCII bytes are character boundaries.
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            _ => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn push_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_json_str(out, s),
        None => out.push_str("null"),
    }
}

fn push_pairs(out: &mut String, list: &[(String, String)]) {
    out.push('[');
    for (i, (name, value)) in list.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        push_json_str(out, name);
        out.push(',');
        push_json_str(out, value);
        out.push(']');
    }
    out.push(']');
}

/// Every field of a decision as JSON text with camelCase names; `claims`
/// is the token's own payload text. One string is the cheapest way across
/// N-API, and V8's `JSON.parse` builds the objects.
///
/// `removeHeaders` also lists, lower case, every other spelling of a
/// forwarded name this request uses (`x_user` for `X-User`:
/// `Decision::removes_header`), so deleting the listed names from Node's
/// `req.headers` removes every header the core says to remove.
fn fields_json(d: &jwtgate::Decision, request: &OwnedRequest) -> String {
    let error = d.error.as_ref();
    let claims = d.verified.as_ref().map_or("null", jwtgate::Verified::claims_json);
    let mut out = String::with_capacity(
        256 + claims.len() + d.set_headers.iter().map(|(n, v)| n.len() + v.len() + 8).sum::<usize>(),
    );
    let _ = write!(out, "{{\"allow\":{},\"status\":{},\"code\":", d.allow, d.status);
    push_opt_str(&mut out, d.code());
    out.push_str(",\"message\":");
    push_opt_str(&mut out, error.map(jwtgate::Error::message));
    out.push_str(",\"claim\":");
    push_opt_str(&mut out, error.and_then(jwtgate::Error::claim));
    out.push_str(",\"mode\":");
    push_json_str(&mut out, d.mode.name());
    out.push_str(",\"issuer\":");
    push_opt_str(&mut out, d.issuer());
    out.push_str(",\"setHeaders\":");
    push_pairs(&mut out, &d.set_headers);
    out.push_str(",\"removeHeaders\":[");
    for (i, name) in d.remove_headers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(&mut out, name);
    }
    let mut extra: Vec<String> = Vec::new();
    for (name, _) in &request.headers {
        if d.removes_header(name) {
            let lower = name.to_ascii_lowercase();
            if !d.remove_headers.contains(&lower) && !extra.contains(&lower) {
                if !d.remove_headers.is_empty() || !extra.is_empty() {
                    out.push(',');
                }
                push_json_str(&mut out, &lower);
                extra.push(lower);
            }
        }
    }
    out.push_str("],\"responseHeaders\":");
    push_pairs(&mut out, &d.response_headers);
    out.push_str(",\"wwwAuthenticate\":");
    push_opt_str(&mut out, d.www_authenticate());
    out.push_str(",\"body\":");
    push_opt_str(&mut out, d.body.as_deref());
    let _ = write!(out, ",\"tokenInQuery\":{},\"upstreamUrl\":", d.token_in_query);
    push_opt_str(&mut out, d.upstream_url.as_deref());
    let _ = write!(out, ",\"pending\":{},\"claims\":", d.is_pending());
    out.push_str(claims);
    out.push('}');
    out
}

/// A request read from JavaScript, owned (it may go to the libuv pool).
pub struct OwnedRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    peer: Option<IpAddr>,
    client_cert: Option<Vec<u8>>,
    now: Option<f64>,
}

impl OwnedRequest {
    /// Reads and checks the parts: `headers` flat (`name, value, ...`), the
    /// URL and headers at most [`MAX_REQUEST_UNITS`] together, checked
    /// before anything is copied.
    pub fn read(
        method: Text,
        url: Text,
        headers: Vec<Text>,
        peer: Option<String>,
        client_cert: Option<Buffer>,
        now: Option<f64>,
    ) -> Result<OwnedRequest> {
        if !headers.len().is_multiple_of(2) {
            return Err(type_error("headers must pair every name with a value"));
        }
        let mut total = method.units().saturating_add(url.units());
        for h in &headers {
            total = total.saturating_add(h.units());
        }
        if total > MAX_REQUEST_UNITS {
            return Err(throw(&jwtgate::Error::new(
                jwtgate::ErrorKind::InvalidRequest,
                format!("the request's method, URL and headers are over {MAX_REQUEST_UNITS} bytes"),
            )));
        }
        let peer = match peer {
            None => None,
            Some(p) => Some(
                p.parse::<IpAddr>().map_err(|_| type_error(format!("peer {p:?} is not an IP address")))?,
            ),
        };
        if let Some(n) = now
            && !n.is_finite()
        {
            return Err(type_error("now must be a finite number of unix seconds"));
        }
        let mut pairs = Vec::with_capacity(headers.len() / 2);
        for pair in headers.chunks_exact(2) {
            pairs.push((pair[0].read()?, pair[1].read()?));
        }
        Ok(OwnedRequest {
            method: method.read()?,
            url: url.read()?,
            headers: pairs,
            peer,
            client_cert: client_cert.map(|b| b.to_vec()),
            now,
        })
    }

    fn decide(
        &self,
        verifier: &jwtgate::Verifier,
        previous: Option<&jwtgate::Decision>,
        route: Option<&jwtgate::Route>,
    ) -> jwtgate::Decision {
        let headers: Vec<(&str, &str)> = self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let mut request = jwtgate::Request::new(&self.method, &self.url, &headers);
        request.peer = self.peer;
        request.client_cert = self.client_cert.as_deref();
        request.now = self.now;
        match (previous, route) {
            (Some(previous), Some(route)) => verifier.decide_after(previous, &request, route),
            (Some(previous), None) => verifier.decide_after(previous, &request, &jwtgate::Route::new()),
            (None, route) => verifier.decide(&request, route),
        }
    }
}

/// Decides on the calling thread.
pub fn decide_now(
    verifier: &jwtgate::Verifier,
    request: &OwnedRequest,
    previous: Option<&jwtgate::Decision>,
    route: Option<&jwtgate::Route>,
    keep: bool,
) -> Result<DecisionParts> {
    catch_unwind(AssertUnwindSafe(|| parts(request.decide(verifier, previous, route), keep, request)))
        .map_err(panic_error)
}

/// One decision on the libuv pool.
pub struct DecideTask {
    pub verifier: Arc<jwtgate::Verifier>,
    pub request: OwnedRequest,
    pub previous: Option<Arc<jwtgate::Decision>>,
    pub route: Option<Arc<jwtgate::Route>>,
    pub keep: bool,
}

impl Task for DecideTask {
    type Output = jwtgate::Decision;
    type JsValue = DecisionParts;

    fn compute(&mut self) -> Result<Self::Output> {
        let (verifier, request) = (&self.verifier, &self.request);
        let (previous, route) = (self.previous.as_deref(), self.route.as_deref());
        catch_unwind(AssertUnwindSafe(|| request.decide(verifier, previous, route))).map_err(panic_error)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(parts(output, self.keep, &self.request))
    }
}

/// A task for [`DecideTask`].
pub fn decide_task(task: DecideTask) -> AsyncTask<DecideTask> {
    AsyncTask::new(task)
}
