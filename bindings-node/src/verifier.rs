//! `NativeVerifier`: a core `Verifier` shared by the sync, async (libuv
//! pool) and batch paths.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Buffer, Object, Unknown};
use napi::{Env, JsValue, Result, Task, ValueType};
use napi_derive::napi;

use crate::errors::{Outcome, outcome, panic_error, throw, type_error};
use crate::gateway::{
    DecideTask, DecisionHandle, DecisionParts, NativeRoute, OwnedRequest, decide_now, decide_task,
};
use crate::token::{Text, Token};

/// Verifies tokens against one policy (`Send + Sync` in the core: the same
/// verifier serves the main thread and the libuv pool).
#[napi]
pub struct NativeVerifier {
    inner: Arc<jwtgate::Verifier>,
}

/// A time for the core: a finite number, or the system clock.
fn clock(now: Option<f64>) -> Result<Option<f64>> {
    match now {
        Some(n) if !n.is_finite() => Err(type_error("now must be a finite number of unix seconds")),
        other => Ok(other),
    }
}

#[napi]
impl NativeVerifier {
    /// A verifier for a policy in JSON text.
    #[napi(factory, catch_unwind)]
    pub fn from_json(text: String) -> Result<NativeVerifier> {
        jwtgate::Verifier::from_json(&text)
            .map(|v| NativeVerifier { inner: Arc::new(v) })
            .map_err(|e| throw(&e))
    }

    /// A verifier for a policy file (relative key paths resolve against its
    /// directory).
    #[napi(factory, catch_unwind)]
    pub fn from_file(path: String) -> Result<NativeVerifier> {
        jwtgate::Verifier::from_file(&path)
            .map(|v| NativeVerifier { inner: Arc::new(v) })
            .map_err(|e| throw(&e))
    }

    /// Verifies a token; returns the result or the rejection (never throws
    /// for a rejected token).
    #[napi(catch_unwind)]
    pub fn verify(&self, token: Token, now: Option<f64>) -> Result<Outcome> {
        let now = clock(now)?;
        let token = token.bytes(self.inner.policy().max_token_bytes())?;
        Ok(outcome(&self.inner.verify(&token, now)))
    }

    /// Verifies a token on the libuv thread pool; the promise resolves with
    /// the result or the rejection.
    #[napi(catch_unwind, ts_return_type = "Promise<string | RawError>")]
    pub fn verify_async(&self, token: Token, now: Option<f64>) -> Result<AsyncTask<VerifyTask>> {
        let now = clock(now)?;
        let token = token.bytes(self.inner.policy().max_token_bytes())?;
        Ok(AsyncTask::new(VerifyTask { verifier: Arc::clone(&self.inner), token, now }))
    }

    /// Verifies a batch on one libuv pool thread: `nows[i]` is the clock of
    /// `tokens[i]` (NaN for the system clock). The promise resolves with the
    /// outcomes in order. The JavaScript `verifyAsync` gathers the calls of
    /// one event-loop turn into a few such batches, one per pool thread, so
    /// each token costs one N-API round trip less.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<string | RawError>>")]
    pub fn verify_batch_async(&self, tokens: Vec<Token>, nows: Vec<f64>) -> Result<AsyncTask<BatchTask>> {
        if nows.len() != tokens.len() {
            return Err(type_error("tokens and nows must have the same length"));
        }
        if nows.iter().any(|n| n.is_infinite()) {
            return Err(type_error("now must be a finite number of unix seconds"));
        }
        let limit = self.inner.policy().max_token_bytes();
        let tokens = tokens.iter().map(|t| t.bytes(limit)).collect::<Result<Vec<_>>>()?;
        Ok(AsyncTask::new(BatchTask { verifier: Arc::clone(&self.inner), tokens, nows }))
    }

    /// Verifies many tokens in one call; outcomes in order.
    #[napi(catch_unwind)]
    pub fn verify_many(&self, tokens: Vec<Token>, now: Option<f64>) -> Result<Vec<Outcome>> {
        let now = clock(now)?;
        let limit = self.inner.policy().max_token_bytes();
        let mut out = Vec::with_capacity(tokens.len());
        for token in &tokens {
            out.push(outcome(&self.inner.verify(token.bytes(limit)?, now)));
        }
        Ok(out)
    }

    /// The token of a request per the policy's `token_sources`. `headers` is
    /// a Node headers object (lower-case names, as `req.headers`); `query`
    /// the raw query string without `?`.
    #[napi(catch_unwind)]
    pub fn find_token(&self, headers: Object, query: Option<String>) -> Result<Option<String>> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for source in self.inner.token_sources() {
            let name = match source {
                jwtgate::TokenSource::Header { name, .. } => name.to_ascii_lowercase(),
                jwtgate::TokenSource::Cookie(_) => "cookie".to_owned(),
                jwtgate::TokenSource::Query(_) => continue,
            };
            if pairs.iter().any(|(n, _)| *n == name) {
                continue;
            }
            if let Some(value) = header_text(&headers, &name)? {
                pairs.push((name, value));
            }
        }
        let lookup =
            |name: &str| pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        self.inner.find_token_by_lookup(&lookup, query.as_deref()).map_err(|e| throw(&e))
    }

    /// A new verifier for the same policy with extra claim rules (JSON text
    /// of an object in the policy's `claims` syntax) added to every issuer
    /// by the core (`Verifier::with_claims`): the policy's rules still hold,
    /// and the keys and JWKS caches are shared.
    #[napi(catch_unwind)]
    pub fn with_claims(&self, rules: String) -> Result<NativeVerifier> {
        let rules = jwtgate::document_from_json(&rules, "claims").map_err(|e| throw(&e))?;
        if !rules.is_object() {
            return Err(type_error("claim rules must be an object"));
        }
        self.inner.with_claims(rules).map(|v| NativeVerifier { inner: Arc::new(v) }).map_err(|e| throw(&e))
    }

    /// The policy document, defaults filled in, as JSON text.
    #[napi(catch_unwind)]
    pub fn policy_json(&self) -> Result<String> {
        serde_json::to_string(self.inner.policy().doc())
            .map_err(|e| throw(&jwtgate::Error::serialization(e.to_string())))
    }

    /// The core's counters (verifications by outcome, cache hits and
    /// misses, cached tokens, remote key sets) as JSON text.
    #[napi(catch_unwind)]
    pub fn stats_json(&self, now: Option<f64>) -> Result<String> {
        let now = clock(now)?;
        serde_json::to_string(&self.inner.stats(now))
            .map_err(|e| throw(&jwtgate::Error::serialization(e.to_string())))
    }

    /// Whether a decision can use the client's TLS certificate (an issuer
    /// has `mtls_binding`): the middlewares copy it out of the connection
    /// only then.
    #[napi(getter)]
    pub fn reads_client_cert(&self) -> bool {
        self.inner.reads_client_cert()
    }

    /// Whether a verification may wait on the network (remote key sets):
    /// the middleware then decides on the libuv pool.
    #[napi(getter)]
    pub fn has_remote_keys(&self) -> bool {
        self.inner.policy().has_remote_keys()
    }

    /// The policy's `max_token_bytes`.
    #[napi(getter)]
    pub fn max_token_bytes(&self) -> u32 {
        u32::try_from(self.inner.policy().max_token_bytes()).unwrap_or(u32::MAX)
    }

    /// Compiles a route document (JSON text) against this policy.
    #[napi(catch_unwind)]
    pub fn route(&self, doc: String) -> Result<NativeRoute> {
        let value = jwtgate::document_from_json(&doc, "route").map_err(|e| throw(&e))?;
        self.inner.route(value).map(|r| NativeRoute { inner: Arc::new(r) }).map_err(|e| throw(&e))
    }

    /// The decision for one request (`headers` flat: name, value, ...),
    /// with `route` on top of the policy: `[fields JSON, handle]`, the
    /// handle left out when `keep` is false (no later layer will ask).
    #[napi(catch_unwind)]
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &self,
        method: Text,
        url: Text,
        headers: Vec<Text>,
        peer: Option<String>,
        client_cert: Option<Buffer>,
        now: Option<f64>,
        route: Option<&NativeRoute>,
        keep: Option<bool>,
    ) -> Result<DecisionParts> {
        let request = OwnedRequest::read(method, url, headers, peer, client_cert, now)?;
        decide_now(&self.inner, &request, None, route.map(|r| &*r.inner), keep.unwrap_or(true))
    }

    /// `decide` on the libuv pool.
    #[napi(catch_unwind, ts_return_type = "Promise<[string, ExternalObject<unknown>]>")]
    #[allow(clippy::too_many_arguments)]
    pub fn decide_async(
        &self,
        method: Text,
        url: Text,
        headers: Vec<Text>,
        peer: Option<String>,
        client_cert: Option<Buffer>,
        now: Option<f64>,
        route: Option<&NativeRoute>,
        keep: Option<bool>,
    ) -> Result<AsyncTask<DecideTask>> {
        let request = OwnedRequest::read(method, url, headers, peer, client_cert, now)?;
        Ok(decide_task(DecideTask {
            verifier: Arc::clone(&self.inner),
            request,
            previous: None,
            route: route.map(|r| Arc::clone(&r.inner)),
            keep: keep.unwrap_or(true),
        }))
    }

    /// The decision of a later layer of the same request: the token
    /// `previous` verified is not verified again.
    #[napi(catch_unwind)]
    #[allow(clippy::too_many_arguments)]
    pub fn decide_after(
        &self,
        previous: &DecisionHandle,
        method: Text,
        url: Text,
        headers: Vec<Text>,
        peer: Option<String>,
        client_cert: Option<Buffer>,
        now: Option<f64>,
        route: Option<&NativeRoute>,
        keep: Option<bool>,
    ) -> Result<DecisionParts> {
        let request = OwnedRequest::read(method, url, headers, peer, client_cert, now)?;
        decide_now(&self.inner, &request, Some(&***previous), route.map(|r| &*r.inner), keep.unwrap_or(true))
    }

    /// `decideAfter` on the libuv pool (a previous layer that verified
    /// nothing, such as an excluded path, leaves the verification to it).
    #[napi(catch_unwind, ts_return_type = "Promise<[string, ExternalObject<unknown>]>")]
    #[allow(clippy::too_many_arguments)]
    pub fn decide_after_async(
        &self,
        previous: &DecisionHandle,
        method: Text,
        url: Text,
        headers: Vec<Text>,
        peer: Option<String>,
        client_cert: Option<Buffer>,
        now: Option<f64>,
        route: Option<&NativeRoute>,
        keep: Option<bool>,
    ) -> Result<AsyncTask<DecideTask>> {
        let request = OwnedRequest::read(method, url, headers, peer, client_cert, now)?;
        Ok(decide_task(DecideTask {
            verifier: Arc::clone(&self.inner),
            request,
            previous: Some(Arc::clone(previous)),
            route: route.map(|r| Arc::clone(&r.inner)),
            keep: keep.unwrap_or(true),
        }))
    }

    /// Empties the verified-token cache.
    #[napi]
    pub fn clear_cache(&self) {
        self.inner.clear_cache();
    }
}

/// A header's value when it is a string (Node gives arrays only for headers
/// that may repeat, which token sources do not use).
fn header_text(headers: &Object, name: &str) -> Result<Option<String>> {
    let Some(value) = headers.get::<Unknown>(name)? else { return Ok(None) };
    if value.get_type()? != ValueType::String {
        return Ok(None);
    }
    Ok(Some(value.coerce_to_string()?.into_utf8()?.into_owned()?))
}

/// One verification on the libuv pool.
pub struct VerifyTask {
    verifier: Arc<jwtgate::Verifier>,
    token: Vec<u8>,
    now: Option<f64>,
}

impl Task for VerifyTask {
    type Output = std::result::Result<jwtgate::Verified, jwtgate::Error>;
    type JsValue = Outcome;

    fn compute(&mut self) -> Result<Self::Output> {
        let verifier = &self.verifier;
        let (token, now) = (&self.token, self.now);
        catch_unwind(AssertUnwindSafe(|| verifier.verify(token, now))).map_err(panic_error)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(outcome(&output))
    }
}

/// A batch of verifications on one libuv pool thread.
pub struct BatchTask {
    verifier: Arc<jwtgate::Verifier>,
    tokens: Vec<Vec<u8>>,
    nows: Vec<f64>,
}

impl Task for BatchTask {
    type Output = Vec<std::result::Result<jwtgate::Verified, jwtgate::Error>>;
    type JsValue = Vec<Outcome>;

    fn compute(&mut self) -> Result<Self::Output> {
        let verifier = &self.verifier;
        let (tokens, nows) = (&self.tokens, &self.nows);
        catch_unwind(AssertUnwindSafe(|| {
            tokens.iter().zip(nows).map(|(t, n)| verifier.verify(t, (!n.is_nan()).then_some(*n))).collect()
        }))
        .map_err(panic_error)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.iter().map(outcome).collect())
    }
}
