//! The gateway layer: one decision per request, the same in every runtime.
//!
//! Express, Fastify, ASGI, WSGI, FastAPI, the Nginx module and the CLI all
//! call [`Verifier::decide`] and apply the [`Decision`] as it is: which
//! token source is used, what a missing or bad token answers, which headers
//! are removed and set, how route requirements add to the policy, and the
//! mode. A binding converts types and wires its framework; it decides
//! nothing of its own.
//!
//! The rules, in order:
//! 1. Every header name the policy or the route forwards (and the client
//!    certificate header, when proxies or an issuer use it) is removed from
//!    the request, whatever the outcome (verified, rejected, optional
//!    without a token, report-only, excluded, off).
//! 2. A `GET` or `HEAD` of the protected resource metadata path (RFC 9728)
//!    is answered with the document: `allow` false, status 200.
//! 3. Mode `off` (or an excluded path) stops here and allows.
//! 4. The token comes from `Authorization: DPoP` when an issuer enables
//!    DPoP, else from the first configured source that holds one; a
//!    source present twice in the request is `invalid_request` (400).
//! 5. No token: `missing_token` (401, a `Bearer` challenge without `error`), or an
//!    allow without identity in mode `optional`.
//! 6. The token is verified (through the cache), then its binding is
//!    checked on this request: the DPoP proof and scheme, the client
//!    certificate. Both happen once per request (a later layer reuses the
//!    outcome: [`Verifier::decide_after`]); then the route's rules and
//!    scopes are checked on its claims.
//! 7. Allowed: forwarded values are set, each header-safe or absent
//!    ([`is_header_safe`]); a query-string token is cut from the upstream
//!    URL unless `keep_query_token`.
//! 8. In mode `report_only` a failure is still an allow: the decision keeps
//!    the code it would have had and carries no identity.

mod binding;
mod decision;
mod request;
mod route;

pub use crate::forward::{ascii_json, claim_header_value, is_header_safe};
pub use decision::Decision;
use std::sync::Arc;

use decision::Outcome;
pub use request::Request;
pub use route::Route;
pub use route::is_plain_path;

/// The path of a request target that excluded paths are matched against
/// (query and fragment cut), or `None` when it must never be excluded
/// ([`is_plain_path`]). For bindings that match their own patterns (a
/// JavaScript RegExp) and must see the path as the core does.
pub fn exclusion_path(url: &str) -> Option<&str> {
    let path = Request::new("GET", url, &[]).path();
    is_plain_path(path).then_some(path)
}

use crate::error::{Error, ErrorKind};
use crate::policy::Mode;
use crate::verified::Verified;
use crate::verifier::Verifier;
use binding::{Scheme, dpop_token};
use request::{
    FoundToken, find_token, locate_token, query_params_present, same_header_name_bytes, without_query_param,
};

static NO_ROUTE: std::sync::LazyLock<Route> = std::sync::LazyLock::new(Route::new);

impl Verifier {
    /// Compiles route requirements (a route document as JSON) against this
    /// verifier's policy. Build once per route, not per request.
    pub fn route(&self, doc: serde_json::Value) -> Result<Route, Error> {
        Route::from_value(self.policy(), doc)
    }

    /// The token of a request, found exactly as [`Verifier::decide`] finds
    /// it (the policy's `token_sources` in order; a source present twice is
    /// `invalid_request`), without verifying it.
    pub fn find_token(&self, request: &Request<'_>) -> Result<Option<String>, Error> {
        Ok(find_token(self.policy().token_sources(), request)?.map(|found| found.token.into_owned()))
    }

    /// [`Verifier::find_token`] for callers that can only look a header up
    /// by name (one value per name, so a repeated header goes unseen):
    /// `header` is asked for each source's header and for `cookie`; `query`
    /// is the raw query string without `?`.
    pub fn find_token_by_lookup<'a>(
        &self,
        header: &dyn Fn(&str) -> Option<&'a str>,
        query: Option<&str>,
    ) -> Result<Option<String>, Error> {
        let mut headers: Vec<(&str, &'a str)> = Vec::new();
        for source in self.policy().token_sources() {
            let name = match source {
                crate::sources::TokenSource::Header { name, .. } => name.as_str(),
                crate::sources::TokenSource::Cookie(_) => "cookie",
                crate::sources::TokenSource::Query(_) => continue,
            };
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
                && let Some(value) = header(name)
            {
                headers.push((name, value));
            }
        }
        let url = query.map_or_else(|| "/".to_owned(), |q| format!("/?{q}"));
        self.find_token(&Request::new("GET", &url, &headers))
    }

    /// Whether a decision can use the client's TLS certificate (an issuer
    /// has `mtls_binding`). Runtimes that must copy the certificate out of
    /// the connection for every request (Node's `getPeerCertificate`) ask
    /// once and skip it when nothing reads it.
    pub fn reads_client_cert(&self) -> bool {
        self.policy().issuers.iter().any(|issuer| issuer.mtls.is_some())
    }

    /// Whether a decision can use the peer's address (the policy names
    /// `trusted_proxies`, so a forwarded client certificate is believed
    /// from those peers only). Runtimes that must parse the address for
    /// every request ask once and skip it when nothing reads it.
    pub fn reads_peer(&self) -> bool {
        !self.policy().sender.trusted_proxies.is_empty()
    }

    /// Whether [`Verifier::decide`] with `route` can read request header
    /// `name` (names compare as the decision compares them: case and `_`
    /// against `-` ignored): a token source's header, `cookie` for a cookie
    /// source, `Authorization` and `DPoP` when an issuer enables DPoP, the
    /// forwarded certificate header where it counts. A runtime that must
    /// convert every header it hands over (the C ABI checks UTF-8) may
    /// leave the others out: the decision is the same.
    /// The name is bytes as received (a name that is not UTF-8 is read by
    /// no rule).
    pub fn reads_header(&self, route: Option<&Route>, name: impl AsRef<[u8]>) -> bool {
        self.header_filter(route).reads(name.as_ref())
    }

    /// [`Verifier::reads_header`] for every header of one request: the
    /// names are gathered once.
    pub fn header_filter<'a>(&'a self, route: Option<&'a Route>) -> HeaderFilter<'a> {
        let policy = self.policy();
        let sender = &policy.sender;
        let sources = route.and_then(|r| r.token_sources.as_deref()).unwrap_or(policy.token_sources());
        let mut filter = HeaderFilter { names: [""; HeaderFilter::MAX], len: 0, all: false };
        let mut add = |name: &'a str| {
            if filter.len == HeaderFilter::MAX {
                filter.all = true; // more names than fit: read every header
            } else {
                filter.names[filter.len] = name;
                filter.len += 1;
            }
        };
        for source in sources {
            match source {
                crate::sources::TokenSource::Header { name, .. } => add(name),
                crate::sources::TokenSource::Cookie(_) => add("cookie"),
                crate::sources::TokenSource::Query(_) => {}
            }
        }
        if sender.any_dpop {
            add("authorization");
            add("dpop");
        }
        if sender.uses_cert_header {
            add(&sender.cert_header);
        }
        filter
    }

    /// The decision for one request, with the route's requirements on top
    /// of the policy (`None`: the policy alone).
    pub fn decide(&self, request: &Request<'_>, route: Option<&Route>) -> Decision {
        self.decide_inner(request, route.unwrap_or(&NO_ROUTE), None)
    }

    /// The decision of a later layer of the same request (an Express route
    /// after `app.use`): the token `previous` verified is not verified
    /// again, only the route's requirements are checked. A `previous` made
    /// by another verifier (another policy), or for another token, is
    /// ignored and the token verified here.
    pub fn decide_after(&self, previous: &Decision, request: &Request<'_>, route: &Route) -> Decision {
        self.decide_inner(request, route, previous.outcome.as_ref())
    }

    fn decide_inner(&self, request: &Request<'_>, route: &Route, prior: Option<&Outcome>) -> Decision {
        let policy = self.policy();
        let sender = &policy.sender;
        let mode = route.mode_for(policy, request);
        // The policy's list is shared; a route that forwards names of its
        // own gets a list of its own.
        let remove: Arc<[String]> = if route.forwarded_names().next().is_none() {
            Arc::clone(&policy.removed_names)
        } else {
            let mut remove = policy.removed_names.to_vec();
            for name in route.forwarded_names() {
                let lower = name.to_ascii_lowercase();
                if !remove.contains(&lower) {
                    remove.push(lower);
                }
            }
            remove.into()
        };
        if let (Some(resource), Some(body)) = (&sender.resource, &sender.metadata_body)
            && matches!(request.method, "GET" | "HEAD")
            && request.path() == resource.metadata_path
        {
            return Decision::metadata(mode, remove, body.clone(), sender.metadata_max_age);
        }
        let mut decision = Decision::new(mode, remove);
        if mode == Mode::Off {
            return decision;
        }

        let sources = route.token_sources.as_deref().unwrap_or(policy.token_sources());
        let mut scheme = Scheme::Bearer;
        let found = if sender.any_dpop {
            match dpop_token(request) {
                Ok(Some(token)) => {
                    scheme = Scheme::Dpop;
                    // The header is named so that two of them joined with a
                    // comma (WSGI) are invalid_request, as for any source.
                    let header = Some("Authorization");
                    Ok(Some(FoundToken { token: token.into(), query_param: None, header }))
                }
                Ok(None) => locate_token(sources, request),
                Err(e) => Err(e),
            }
        } else {
            locate_token(sources, request)
        };
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                self.fail(&mut decision, e, scheme);
                return decision;
            }
        };
        let Some(found) = found else {
            if mode != Mode::Optional {
                let e = Error::new(ErrorKind::MissingToken, "no token in the request");
                self.fail(&mut decision, e, scheme);
            }
            return decision;
        };
        decision.token_in_query = found.query_param.is_some();
        if !route.keep_query_token.unwrap_or(policy.keep_query_token()) {
            let mut url: Option<String> = None;
            for param in query_params_present(sources, request) {
                url = Some(without_query_param(url.as_deref().unwrap_or(request.url), param));
            }
            decision.upstream_url = url;
        }

        let token = found.token.as_ref();
        let result = match prior {
            Some(prior) if prior.verifier == self.id() && prior.token == token => prior.result.clone(),
            _ => {
                // One clock reading for the token and its binding.
                let now = request.now.unwrap_or_else(crate::clock::unix_now);
                let verified = if request.no_wait {
                    self.verify_nowait(token, Some(now))
                } else {
                    self.verify(token, Some(now))
                };
                // The binding is checked on every request, cache hits
                // included, and its outcome kept for later layers (a
                // proof is accepted once).
                verified.and_then(|v| self.check_binding(request, token, &v, scheme, now).map(|()| v))
            }
        };
        // Two joined headers: found now that the token failed (see
        // `FoundToken::joined_headers`).
        let result = match result {
            Err(e) => Err(found.joined_headers().unwrap_or(e)),
            ok => ok,
        };
        decision.outcome =
            Some(Outcome { verifier: self.id(), token: token.to_owned(), result: result.clone() });
        let verified = match result.and_then(|v| route_check(route, v)) {
            Ok(verified) => verified,
            Err(e) => {
                self.fail(&mut decision, e, scheme);
                return decision;
            }
        };
        decision.set_headers = verified.headers().to_vec();
        if !route.forward.is_empty() {
            let claims = verified.claims();
            for (path, name) in &route.forward {
                if let Some(value) = claim_header_value(claims, path) {
                    decision.set_headers.push((name.clone(), value));
                }
            }
        }
        if let Some(name) = &route.payload_header {
            let payload = token.split('.').nth(1).unwrap_or_default();
            decision.set_headers.push((name.clone(), payload.to_owned()));
        }
        decision.verified = Some(verified);
        decision
    }
}

/// The header names a decision can read (see [`Verifier::header_filter`]).
#[derive(Debug, Clone, Copy)]
pub struct HeaderFilter<'a> {
    names: [&'a str; HeaderFilter::MAX],
    len: usize,
    all: bool,
}

impl HeaderFilter<'_> {
    const MAX: usize = 8;

    /// Whether header `name` (bytes as received) can change the decision.
    #[inline]
    pub fn reads(&self, name: &[u8]) -> bool {
        self.all || self.names[..self.len].iter().any(|known| same_header_name_bytes(known.as_bytes(), name))
    }
}

impl Verifier {
    fn fail(&self, decision: &mut Decision, error: Error, scheme: Scheme) {
        if decision.mode == Mode::ReportOnly {
            self.count_report_only();
        }
        let challenge = self.challenge(&error, scheme);
        decision.fail_with(error, challenge);
    }
}

fn route_check(route: &Route, verified: Verified) -> Result<Verified, Error> {
    if !route.rules.is_empty() || !route.scopes.is_empty() {
        route.check(verified.claims())?;
    }
    Ok(verified)
}
