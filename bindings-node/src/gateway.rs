//! The request layer: `decide`, `decideAsync`, `decideAfter`, routes and
//! decisions. The JavaScript wrapper flattens the request's headers into
//! `[name, value, name, value, ...]` (Node's `req.rawHeaders` form) and
//! applies the decision; the decision itself is the core's.

use std::net::IpAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Result, Task};
use napi_derive::napi;
use serde_json::{Value, json};

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

/// A decision (`Verifier::decide`), kept whole so a later layer of the
/// same request can use it (`decideAfter`).
#[napi]
pub struct NativeDecision {
    pub(crate) inner: Arc<jwtgate::Decision>,
}

#[napi]
impl NativeDecision {
    /// Every field as JSON text with camelCase names; `claims` is the
    /// token's own payload text (one string is the cheapest way across).
    #[napi]
    pub fn fields(&self) -> String {
        fields_json(&self.inner)
    }
}

fn pairs(list: &[(String, String)]) -> Value {
    Value::Array(list.iter().map(|(n, v)| json!([n, v])).collect())
}

fn fields_json(d: &jwtgate::Decision) -> String {
    let error = d.error.as_ref();
    let head = json!({
        "allow": d.allow,
        "status": d.status,
        "code": d.code(),
        "message": error.map(jwtgate::Error::message),
        "claim": error.and_then(jwtgate::Error::claim),
        "mode": d.mode.name(),
        "issuer": d.issuer(),
        "setHeaders": pairs(&d.set_headers),
        "removeHeaders": d.remove_headers,
        "responseHeaders": pairs(&d.response_headers),
        "wwwAuthenticate": d.www_authenticate(),
        "body": d.body,
        "tokenInQuery": d.token_in_query,
        "upstreamUrl": d.upstream_url,
        "pending": d.is_pending(),
    })
    .to_string();
    let claims = d.verified.as_ref().map_or("null", jwtgate::Verified::claims_json);
    let mut out = String::with_capacity(head.len() + claims.len() + 12);
    out.push_str(&head[..head.len() - 1]);
    out.push_str(",\"claims\":");
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
        if headers.len() % 2 != 0 {
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
) -> Result<NativeDecision> {
    catch_unwind(AssertUnwindSafe(|| request.decide(verifier, previous, route)))
        .map(|d| NativeDecision { inner: Arc::new(d) })
        .map_err(panic_error)
}

/// One decision on the libuv pool.
pub struct DecideTask {
    pub verifier: Arc<jwtgate::Verifier>,
    pub request: OwnedRequest,
    pub previous: Option<Arc<jwtgate::Decision>>,
    pub route: Option<Arc<jwtgate::Route>>,
}

impl Task for DecideTask {
    type Output = jwtgate::Decision;
    type JsValue = NativeDecision;

    fn compute(&mut self) -> Result<Self::Output> {
        let (verifier, request) = (&self.verifier, &self.request);
        let (previous, route) = (self.previous.as_deref(), self.route.as_deref());
        catch_unwind(AssertUnwindSafe(|| request.decide(verifier, previous, route))).map_err(panic_error)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(NativeDecision { inner: Arc::new(output) })
    }
}

/// A task for [`DecideTask`].
pub fn decide_task(task: DecideTask) -> AsyncTask<DecideTask> {
    AsyncTask::new(task)
}
