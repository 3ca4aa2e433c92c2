//! `Verifier`: verification, decisions and the executor job of `decide_async`.

use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::convert::{check_token, clock, to_json, to_py, token_bytes, token_ref, type_name};
use crate::errors::{exception, to_pyerr};
use crate::gateway::{self, Decision, Route};
use crate::verified::Verified;

/// Verifies tokens against one policy. Thread-safe: share one per process.
#[pyclass(module = "jwtgate", frozen)]
pub struct Verifier {
    pub(crate) inner: jwtgate::Verifier,
}

/// A policy as given: a dict, JSON text, or a file path.
enum PolicySource {
    Value(serde_json::Value),
    Json(String),
    File(PathBuf),
}

fn policy_source(policy: &Bound<'_, PyAny>) -> PyResult<PolicySource> {
    if let Ok(dict) = policy.cast::<PyDict>() {
        return Ok(PolicySource::Value(to_json(dict.as_any())?));
    }
    if let Ok(text) = policy.cast::<PyString>() {
        let text: String = text.extract()?;
        return Ok(if text.trim_start().starts_with('{') {
            PolicySource::Json(text)
        } else {
            PolicySource::File(PathBuf::from(text))
        });
    }
    if let Ok(bytes) = policy.cast::<PyBytes>() {
        return Ok(PolicySource::Json(String::from_utf8_lossy(bytes.as_bytes()).into_owned()));
    }
    if let Ok(path) = policy.extract::<PathBuf>() {
        return Ok(PolicySource::File(path));
    }
    Err(PyTypeError::new_err(format!(
        "policy must be a dict, JSON text or a path, not {}",
        type_name(policy)
    )))
}

/// Header name/value pairs from a mapping or an iterable of pairs (str or
/// bytes, as ASGI gives them). Names are lower-cased; several `Cookie`
/// headers are joined as one.
fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    fn text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
        if let Ok(s) = obj.cast::<PyString>() {
            return s.extract();
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(String::from_utf8_lossy(b.as_bytes()).into_owned());
        }
        Err(PyTypeError::new_err(format!(
            "header names and values must be str or bytes, not {}",
            type_name(obj)
        )))
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut push = |name: String, value: String| {
        let name = name.to_ascii_lowercase();
        match pairs.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) if name == "cookie" => {
                existing.push_str("; ");
                existing.push_str(&value);
            }
            Some(_) => {}
            None => pairs.push((name, value)),
        }
    };
    if let Ok(dict) = headers.cast::<PyDict>() {
        for (k, v) in dict.iter() {
            push(text(&k)?, text(&v)?);
        }
        return Ok(pairs);
    }
    if headers.cast::<PyString>().is_ok() || headers.cast::<PyBytes>().is_ok() {
        return Err(PyTypeError::new_err("headers must be a mapping or an iterable of (name, value) pairs"));
    }
    let iter = match headers.hasattr(intern!(headers.py(), "items"))? {
        true => headers.call_method0(intern!(headers.py(), "items"))?.try_iter()?,
        false => headers.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "headers must be a mapping or an iterable of (name, value) pairs, not {}",
                type_name(headers)
            ))
        })?,
    };
    for item in iter {
        let item = item?;
        let pair = item
            .cast::<PyTuple>()
            .map_err(|_| PyTypeError::new_err("each header must be a (name, value) pair"))?;
        if pair.len() != 2 {
            return Err(PyTypeError::new_err("each header must be a (name, value) pair"));
        }
        push(text(&pair.get_item(0)?)?, text(&pair.get_item(1)?)?);
    }
    Ok(pairs)
}

#[pymethods]
impl Verifier {
    /// A verifier for a policy: a dict, JSON text, or the path of a JSON file.
    #[new]
    fn py_new(py: Python<'_>, policy: &Bound<'_, PyAny>) -> PyResult<Verifier> {
        let result = match policy_source(policy)? {
            PolicySource::Value(value) => py.detach(|| jwtgate::Verifier::from_value(value)),
            PolicySource::Json(text) => py.detach(|| jwtgate::Verifier::from_json(&text)),
            PolicySource::File(path) => py.detach(|| jwtgate::Verifier::from_file(&path)),
        };
        result.map(|inner| Verifier { inner }).map_err(|e| to_pyerr(py, &e))
    }

    /// Verifies a token (str or bytes); `now` pins the clock (unix seconds).
    /// Raises a `JwtError` subclass on rejection. The GIL is released while
    /// a public-key signature is checked or keys may be fetched; a cache hit
    /// or an HMAC check keeps it (releasing it would cost more than the
    /// check, and more again when threads contend for it).
    #[pyo3(signature = (token, now=None))]
    fn verify(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Verified> {
        let limit = self.inner.policy().max_token_bytes();
        let token = token_ref(token, limit)?.map_err(|e| to_pyerr(py, &e))?;
        let token = token.as_bytes();
        let now = clock(now)?;
        let result = match self.inner.verify_if_cheap(token, now) {
            Some(result) => result,
            None => py.detach(|| self.inner.verify(token, now)),
        };
        match result {
            Ok(v) => Ok(Verified::new(v)),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// Verifies many tokens with one release of the GIL. Returns, in order,
    /// a `Verified` or the `JwtError` for each token (nothing is raised for
    /// a rejected token).
    #[pyo3(signature = (tokens, now=None))]
    fn verify_many<'py>(
        &self,
        py: Python<'py>,
        tokens: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        if tokens.cast::<PyString>().is_ok() || tokens.cast::<PyBytes>().is_ok() {
            return Err(PyTypeError::new_err("tokens must be an iterable of tokens, not a single token"));
        }
        let now = clock(now)?;
        let limit = self.inner.policy().max_token_bytes();
        let tokens = tokens
            .try_iter()
            .map_err(|_| PyTypeError::new_err(format!("tokens must be iterable, not {}", type_name(tokens))))?
            .map(|t| token_bytes(&t?, limit))
            .collect::<PyResult<Vec<_>>>()?;
        let results: Vec<_> = py.detach(|| {
            tokens
                .iter()
                .map(|t| t.as_ref().map_err(Clone::clone).and_then(|t| self.inner.verify(t, now)))
                .collect()
        });
        let out = PyList::empty(py);
        for result in results {
            match result {
                Ok(v) => out.append(Bound::new(py, Verified::new(v))?)?,
                Err(e) => out.append(exception(py, &e)?)?,
            }
        }
        Ok(out)
    }

    /// Verifies a token in the running event loop's default executor, so the
    /// loop keeps serving while the signature is checked (the GIL is
    /// released during verification). Returns an awaitable `Verified`.
    #[pyo3(signature = (token, now=None))]
    fn verify_async<'py>(
        slf: &Bound<'py, Self>,
        token: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        check_token(token)?;
        clock(now)?;
        static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let get_loop = GET_RUNNING_LOOP
            .get_or_try_init(py, || py.import("asyncio")?.getattr("get_running_loop").map(Bound::unbind))?;
        let event_loop = get_loop.bind(py).call0()?;
        let verify = slf.getattr(intern!(py, "verify"))?;
        let now = now.map_or_else(|| py.None().into_bound(py), Bound::clone);
        event_loop.call_method1(intern!(py, "run_in_executor"), (py.None(), verify, token, now))
    }

    /// The decision for one request: `headers` is a mapping or an iterable
    /// of (name, value) pairs (str or bytes, as ASGI gives them), `url` the
    /// request target (`/path?query`), `route` a `Route` from
    /// `Verifier.route` (None: the policy alone), `peer` the client's IP
    /// address, `client_cert` its TLS certificate (DER). The arguments are
    /// converted first, then the GIL is released. Raises `InvalidRequestError`
    /// when method, URL and headers exceed 1 MiB together.
    #[pyo3(signature = (method, url, headers, now=None, route=None, peer=None, client_cert=None))]
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
        route: Option<&Bound<'_, PyAny>>,
        peer: Option<&Bound<'_, PyAny>>,
        client_cert: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decision> {
        let request = gateway::request(method, url, headers, now, peer, client_cert)?;
        let route = gateway::route_arg(route)?;
        let route = route.as_ref().map(|r| &r.get().inner);
        Ok(py.detach(|| Decision::new(request.with(|r| self.inner.decide(r, route)))))
    }

    /// `decide` in the running event loop's default executor (a worker
    /// thread, the GIL released), for async frameworks where a decision may
    /// wait on a key fetch. The arguments are converted before it returns.
    #[pyo3(signature = (method, url, headers, now=None, route=None, peer=None, client_cert=None))]
    #[allow(clippy::too_many_arguments)]
    fn decide_async<'py>(
        slf: &Bound<'py, Self>,
        method: &Bound<'py, PyAny>,
        url: &Bound<'py, PyAny>,
        headers: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        route: Option<&Bound<'py, PyAny>>,
        peer: Option<&Bound<'py, PyAny>>,
        client_cert: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let request = gateway::request(method, url, headers, now, peer, client_cert)?;
        let route = gateway::route_arg(route)?.map(Bound::unbind);
        let job = Bound::new(py, DecideJob { verifier: slf.clone().unbind(), request, route })?;
        gateway::run_in_executor(py, job.into_any())
    }

    /// The decision of a later layer of the same request (a dependency
    /// after the middleware): the token `previous` verified is not verified
    /// again, only `route`'s requirements are checked.
    #[pyo3(signature = (previous, method, url, headers, route, now=None))]
    #[allow(clippy::too_many_arguments)]
    fn decide_after(
        &self,
        py: Python<'_>,
        previous: &Bound<'_, PyAny>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        route: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decision> {
        let previous = gateway::decision_arg(previous)?;
        let request = gateway::request(method, url, headers, now, None, None)?;
        let route = gateway::route_arg(Some(route))?
            .ok_or_else(|| PyTypeError::new_err("route must be a Route (from Verifier.route), not None"))?;
        let (previous, route) = (&previous.get().inner, &route.get().inner);
        Ok(py.detach(|| Decision::new(request.with(|r| self.inner.decide_after(previous, r, route)))))
    }

    /// Compiles route requirements (a dict: `claims`, `scopes`,
    /// `claims_to_headers`, `payload_header`, `token_sources`, `mode`,
    /// `keep_query_token`, `exclude`) against this policy. Build once per
    /// route. Raises `PolicyError` naming the field that is wrong.
    fn route(&self, py: Python<'_>, doc: &Bound<'_, PyAny>) -> PyResult<Route> {
        let doc = doc.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err(format!("a route document must be a dict, not {}", type_name(doc)))
        })?;
        let doc = to_json(doc.as_any())?;
        py.detach(|| self.inner.route(doc)).map(|inner| Route { inner }).map_err(|e| to_pyerr(py, &e))
    }

    /// The token of a request per the policy's `token_sources`: `headers` is
    /// a mapping or an iterable of (name, value) pairs (str or bytes), `query`
    /// the raw query string without `?`. Returns None when there is none.
    #[pyo3(signature = (headers, query=None))]
    fn find_token(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        query: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<String>> {
        let pairs = header_pairs(headers)?;
        let query: Option<String> = match query.filter(|q| !q.is_none()) {
            None => None,
            Some(q) if q.cast::<PyString>().is_ok() => Some(q.extract()?),
            Some(q) => match q.cast::<PyBytes>() {
                Ok(b) => Some(String::from_utf8_lossy(b.as_bytes()).into_owned()),
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "query must be str, bytes or None, not {}",
                        type_name(q)
                    )));
                }
            },
        };
        let headers: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let url = query.map_or_else(|| "/".to_owned(), |q| format!("/?{q}"));
        self.inner.find_token(&jwtgate::Request::new("GET", &url, &headers)).map_err(|e| to_pyerr(py, &e))
    }

    /// A new verifier for the same policy with extra claim rules (the
    /// `claims` section of docs/policy.md) added to every issuer by the core
    /// (`Verifier::with_claims`): a route can only narrow what the policy
    /// accepts, a rule on a claim the policy already checks holds as well as
    /// the policy's, and keys and JWKS caches are shared.
    fn with_claims(&self, py: Python<'_>, rules: &Bound<'_, PyDict>) -> PyResult<Verifier> {
        let rules = to_json(rules.as_any())?;
        py.detach(|| self.inner.with_claims(rules))
            .map(|inner| Verifier { inner })
            .map_err(|e| to_pyerr(py, &e))
    }

    /// Whether a decision can use the client's TLS certificate (an issuer
    /// has `mtls_binding`): the integrations read it from the server only
    /// then.
    #[getter]
    fn reads_client_cert(&self) -> bool {
        self.inner.reads_client_cert()
    }

    /// Whether a decision may wait on the network (`jwks_uri`, `discovery`
    /// or allow-listed `jku`): async integrations then decide off the loop.
    #[getter]
    fn has_remote_keys(&self) -> bool {
        self.inner.policy().has_remote_keys()
    }

    /// The policy document (a dict, defaults filled in).
    #[getter]
    fn policy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let doc = serde_json::to_value(self.inner.policy().doc())
            .map_err(|e| to_pyerr(py, &jwtgate::Error::serialization(e.to_string())))?;
        to_py(py, &doc)
    }

    /// The core's counters as a dict: `verifications` by outcome (`valid` or
    /// an error code), `cache_hits`, `cache_misses`, `cached_tokens` and
    /// `key_sets` (the state of every remote key set as of `now`).
    #[pyo3(signature = (now=None))]
    fn stats<'py>(&self, py: Python<'py>, now: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let now = clock(now)?;
        let stats = py.detach(|| serde_json::to_value(self.inner.stats(now)));
        let stats = stats.map_err(|e| to_pyerr(py, &jwtgate::Error::serialization(e.to_string())))?;
        to_py(py, &stats)
    }

    /// Empties the verified-token cache.
    fn clear_cache(&self) {
        self.inner.clear_cache();
    }

    fn __repr__(&self) -> String {
        format!("Verifier(issuers={})", self.inner.policy().doc().issuers.len())
    }
}

/// Decodes a token WITHOUT verifying it, for inspection only: returns
/// `(header, claims)`. Never base a decision on the result.
#[pyfunction]
pub fn decode_unverified<'py>(py: Python<'py>, token: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let token = token_bytes(token, usize::MAX)?.map_err(|e| to_pyerr(py, &e))?;
    let token = String::from_utf8(token).map_err(|_| {
        to_pyerr(py, &jwtgate::Error::new(jwtgate::ErrorKind::Malformed, "token is not UTF-8"))
    })?;
    let decoded = jwtgate::unverified::decode_unverified(&token).map_err(|e| to_pyerr(py, &e))?;
    PyTuple::new(py, [to_py(py, &decoded.header)?, to_py(py, &decoded.claims)?])
}

/// A decision run in the event loop's executor by `decide_async`: the
/// request is converted on the loop's thread, decided on a worker thread
/// with the GIL released.
#[pyclass(module = "jwtgate", frozen)]
pub struct DecideJob {
    pub verifier: Py<Verifier>,
    pub request: gateway::OwnedRequest,
    pub route: Option<Py<Route>>,
}

#[pymethods]
impl DecideJob {
    fn __call__(&self, py: Python<'_>) -> Decision {
        let verifier = self.verifier.get();
        let route = self.route.as_ref().map(|r| &r.get().inner);
        py.detach(|| Decision::new(self.request.with(|r| verifier.inner.decide(r, route))))
    }
}
