//! What a gateway does with a request: allow it (with the headers to set
//! and remove) or reject it (with the status, body and challenge).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorKind};
use crate::policy::Mode;
use crate::verified::Verified;

/// The outcome of [`Verifier::decide`](crate::Verifier::decide), the same in
/// every runtime. Apply it verbatim: on `allow`, remove every
/// `remove_headers` name from the request, then set `set_headers` (and use
/// `upstream_url` when present); otherwise answer `status` with
/// `response_headers` and `body`.
///
/// `allow` false is not always a rejection: a GET of the protected resource
/// metadata (RFC 9728, [`Verifier::resource_metadata_path`](crate::Verifier::resource_metadata_path))
/// is answered by the gateway itself with status 200, `Content-Type:
/// application/json` and the document as `body`, and no `code`. A binding
/// applies it like any other answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Decision {
    /// Whether the request goes on to the upstream.
    pub allow: bool,
    /// 200 when allowed, else the rejection's status (400, 401, 403, 503),
    /// or 200 for the metadata document the gateway answers itself.
    pub status: u16,
    /// The mode the request was checked in.
    pub mode: Mode,
    /// Why the request was (or, in `report_only`, would have been) rejected.
    pub error: Option<Error>,
    /// The verified token, when the request carries identity.
    pub verified: Option<Verified>,
    /// Headers to set on the request passed upstream, values header-safe.
    pub set_headers: Vec<(String, String)>,
    /// Header names (lower case) to remove from the request first: every
    /// name the policy and the route forward, whatever the outcome, so a
    /// client's own copy never reaches the upstream. Match request headers
    /// with [`Decision::removes_header`] (`X_User` is `X-User` to a CGI
    /// upstream).
    pub remove_headers: Arc<[String]>,
    /// Headers of the response when not allowed (`WWW-Authenticate`,
    /// `Content-Type`, `Cache-Control`, `Retry-After`, `DPoP-Nonce`); empty
    /// when allowed.
    pub response_headers: Vec<(String, String)>,
    /// The JSON body of the response when not allowed (a rejection or the
    /// metadata document); `None` when allowed.
    pub body: Option<String>,
    /// Whether the token came from the query string.
    pub token_in_query: bool,
    /// The request target to pass upstream when it must change (a query
    /// token removed); `None` keeps the original.
    pub upstream_url: Option<String>,
    /// The token and its verification, for a later layer of the same
    /// request (see `Verifier::decide_after`).
    pub(crate) outcome: Option<Outcome>,
}

/// A verification a later layer may reuse: which verifier made it, for
/// which token, and its result.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub verifier: u64,
    pub token: String,
    pub result: Result<Verified, Error>,
}

impl Decision {
    pub(crate) fn new(mode: Mode, remove_headers: Arc<[String]>) -> Decision {
        Decision {
            allow: true,
            status: 200,
            mode,
            error: None,
            verified: None,
            set_headers: Vec::new(),
            remove_headers,
            response_headers: Vec::new(),
            body: None,
            token_in_query: false,
            upstream_url: None,
            outcome: None,
        }
    }

    /// Turns this decision into the answer for `error` with the
    /// `WWW-Authenticate` value `challenge`: a rejection, or in
    /// `report_only` an allow without identity that keeps the code.
    pub(crate) fn fail_with(&mut self, error: Error, challenge: String) {
        self.verified = None;
        self.set_headers.clear();
        if self.mode == Mode::ReportOnly {
            self.error = Some(error);
            return;
        }
        self.allow = false;
        // Only a caller's mistake (a `now` that is not finite) reaches a
        // decision without a status of its own: the server's fault, 500.
        self.status = error.http_status().unwrap_or(500);
        self.response_headers = vec![
            ("WWW-Authenticate".to_owned(), challenge),
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("Cache-Control".to_owned(), "no-store".to_owned()),
        ];
        if let Some(seconds) = error.retry_after_s() {
            self.response_headers.push(("Retry-After".to_owned(), seconds.to_string()));
        }
        if let Some(nonce) = error.dpop_nonce() {
            self.response_headers.push(("DPoP-Nonce".to_owned(), nonce.to_owned()));
        }
        self.body = Some(rejection_body(&error).to_string());
        self.upstream_url = None;
        self.error = Some(error);
    }

    /// The answer to a GET of the protected resource metadata (RFC 9728):
    /// not passed upstream (`allow` false) but a 200 with the document.
    pub(crate) fn metadata(
        mode: Mode,
        remove_headers: Arc<[String]>,
        body: String,
        max_age: u64,
    ) -> Decision {
        let mut decision = Decision::new(mode, remove_headers);
        decision.allow = false;
        decision.response_headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("Cache-Control".to_owned(), format!("public, max-age={max_age}")),
        ];
        decision.body = Some(body);
        decision
    }

    /// The stable code of the rejection (or, in `report_only`, of the
    /// rejection it would have been); `None` when nothing failed.
    pub fn code(&self) -> Option<&'static str> {
        self.error.as_ref().map(Error::code)
    }

    /// Whether request header `name` must be removed before the request
    /// goes upstream: it names a forwarded header, ignoring case and with
    /// `_` and `-` alike, since CGI, WSGI and FastCGI turn both `X-User`
    /// and `X_User` into `HTTP_X_USER`. Bindings remove every request header
    /// this accepts.
    pub fn removes_header(&self, name: &str) -> bool {
        self.remove_headers.iter().any(|r| super::request::same_header_name(r, name))
    }

    /// The `WWW-Authenticate` value of a rejection.
    pub fn www_authenticate(&self) -> Option<&str> {
        self.response_headers.iter().find(|(n, _)| n == "WWW-Authenticate").map(|(_, v)| v.as_str())
    }

    /// Whether the decision waits on a key fetch in flight: a caller that
    /// asked with `no_wait` may ask again (Nginx polls on a timer).
    pub fn is_pending(&self) -> bool {
        self.error.as_ref().is_some_and(|e| e.kind() == ErrorKind::JwksUnavailable && e.is_pending())
    }

    /// While [`Decision::is_pending`]: how long the caller may keep deciding
    /// again before answering this decision (the key set's
    /// `initial_wait_ms`); 0 otherwise.
    pub fn pending_wait_ms(&self) -> u64 {
        if self.is_pending() { self.error.as_ref().and_then(Error::wait_ms).unwrap_or(0) } else { 0 }
    }

    /// The claims of the verified token.
    pub fn claims(&self) -> Option<&Value> {
        self.verified.as_ref().map(Verified::claims)
    }

    /// The `issuer` of the policy entry that accepted the token.
    pub fn issuer(&self) -> Option<&str> {
        self.verified.as_ref().and_then(Verified::issuer)
    }

    /// The decision as one JSON object, with the field names every runtime
    /// uses (`allow`, `status`, `code`, `set_headers`, `remove_headers`,
    /// `www_authenticate`, ...).
    pub fn to_json(&self) -> Value {
        let pairs = |list: &[(String, String)]| {
            Value::Array(list.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>())
        };
        let mut out = Map::new();
        out.insert("allow".into(), self.allow.into());
        out.insert("status".into(), self.status.into());
        out.insert("code".into(), self.code().into());
        out.insert("message".into(), self.error.as_ref().map(Error::message).into());
        out.insert("claim".into(), self.error.as_ref().and_then(Error::claim).into());
        out.insert("mode".into(), self.mode.name().into());
        out.insert("issuer".into(), self.issuer().into());
        out.insert("claims".into(), self.claims().cloned().unwrap_or(Value::Null));
        out.insert("set_headers".into(), pairs(&self.set_headers));
        out.insert("remove_headers".into(), self.remove_headers.to_vec().into());
        out.insert("response_headers".into(), pairs(&self.response_headers));
        out.insert("www_authenticate".into(), self.www_authenticate().into());
        out.insert("body".into(), self.body.clone().into());
        out.insert("token_in_query".into(), self.token_in_query.into());
        out.insert("upstream_url".into(), self.upstream_url.clone().into());
        Value::Object(out)
    }
}

/// The JSON body of a rejection: `{"error": code, "message": ..., "claim": ...}`.
/// A server-side failure (5xx) says so without its details (a key
/// server's address, an I/O error): those stay in the decision's `error`
/// and in `stats()` for the operator.
fn rejection_body(error: &Error) -> Value {
    let message = if error.http_status().is_none_or(|s| s >= 500) {
        "the token cannot be checked right now; retry later"
    } else {
        error.message()
    };
    let mut body = json!({"error": error.code(), "message": message});
    if let Some(claim) = error.claim() {
        body["claim"] = claim.into();
    }
    body
}
