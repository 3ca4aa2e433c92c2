//! The gateway layer: `Verifier.decide` and its `Decision`, `Route`.
//!
//! The binding converts the request (method, URL, headers, peer, client
//! certificate, clock) into owned Rust values while it holds the GIL, then
//! releases the GIL for the decision. Every rule (token sources, headers to
//! remove and set, route requirements, modes, rejection bodies) is the
//! core's (`jwtgate::Verifier::decide`).

use std::net::IpAddr;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3::{PyTypeInfo, intern};

use crate::convert::{clock, to_py, type_name};
use crate::errors::to_pyerr;
use crate::verified::Verified;

/// The most a request given to `decide` may hold: method, URL and every
/// header name and value together. Checked on the Python lengths before
/// anything is copied, so a huge header costs nothing.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// Compiled route requirements (a route document), built once per route
/// with `Verifier.route`.
#[pyclass(module = "jwtgate", frozen)]
pub struct Route {
    pub inner: jwtgate::Route,
}

#[pymethods]
impl Route {
    /// `child` on top of this route: rules, scopes, forwarded headers and
    /// excluded paths add up; the child's mode, token sources and
    /// query-token setting win where it sets them. Raises `PolicyError`
    /// when both forward the same header.
    fn merge(&self, py: Python<'_>, child: &Bound<'_, PyAny>) -> PyResult<Route> {
        let child = child
            .cast::<Route>()
            .map_err(|_| PyTypeError::new_err(format!("child must be a Route, not {}", type_name(child))))?;
        self.inner.merge(&child.get().inner).map(|inner| Route { inner }).map_err(|e| to_pyerr(py, &e))
    }

    fn __repr__(&self) -> String {
        let names: Vec<&str> = self.inner.forwarded_names().collect();
        format!("Route(forwards={names:?})")
    }
}

/// What a gateway does with one request: see `Verifier.decide`.
#[pyclass(module = "jwtgate", frozen)]
pub struct Decision {
    pub inner: jwtgate::Decision,
    claims: PyOnceLock<Py<PyAny>>,
}

impl Decision {
    pub fn new(inner: jwtgate::Decision) -> Decision {
        // Parse the claims while the GIL is released (the caller's detach).
        if let Some(v) = &inner.verified {
            v.claims();
        }
        Decision { inner, claims: PyOnceLock::new() }
    }
}

fn pairs<'py>(py: Python<'py>, list: &[(String, String)]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for (name, value) in list {
        out.append(PyTuple::new(py, [name.as_str(), value.as_str()])?)?;
    }
    Ok(out)
}

#[pymethods]
impl Decision {
    /// Whether the request goes on to the application.
    #[getter]
    fn allow(&self) -> bool {
        self.inner.allow
    }

    /// 200 when allowed, else the status to answer (400, 401, 403, 503).
    #[getter]
    fn status(&self) -> u16 {
        self.inner.status
    }

    /// The stable code of the rejection (in `report_only`, of the rejection
    /// it would have been); None when nothing failed.
    #[getter]
    fn code(&self) -> Option<&'static str> {
        self.inner.code()
    }

    /// The human message of the failure, if any (not stable: match on `code`).
    #[getter]
    fn message(&self) -> Option<&str> {
        self.inner.error.as_ref().map(jwtgate::Error::message)
    }

    /// The claim to blame, where one is.
    #[getter]
    fn claim(&self) -> Option<&str> {
        self.inner.error.as_ref().and_then(jwtgate::Error::claim)
    }

    /// The mode the request was checked in: `required`, `optional`,
    /// `report_only` or `off`.
    #[getter]
    fn mode(&self) -> &'static str {
        self.inner.mode.name()
    }

    /// The `issuer` of the policy entry that accepted the token.
    #[getter]
    fn issuer(&self) -> Option<&str> {
        self.inner.issuer()
    }

    /// The verified claims (a dict), or None when the request carries no
    /// identity (rejected, optional without a token, report-only failure, off).
    #[getter]
    fn claims(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let Some(claims) = self.inner.claims() else { return Ok(py.None()) };
        self.claims.get_or_try_init(py, || to_py(py, claims).map(Bound::unbind)).map(|c| c.clone_ref(py))
    }

    /// The verified token (a `Verified`), or None.
    #[getter]
    fn verified(&self) -> Option<Verified> {
        self.inner.verified.clone().map(Verified::new)
    }

    /// Headers to set on the request passed on, as (name, value) pairs;
    /// every value is printable ASCII.
    #[getter]
    fn set_headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        pairs(py, &self.inner.set_headers)
    }

    /// Header names (lower case) to remove from the request first, whatever
    /// the outcome.
    #[getter]
    fn remove_headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.inner.remove_headers.iter())
    }

    /// Whether request header `name` (str, or bytes as ASGI gives it) must be
    /// removed: a forwarded name, ignoring case, with `_` and `-` alike.
    fn removes_header(&self, name: &Bound<'_, PyAny>) -> PyResult<bool> {
        if let Ok(bytes) = name.cast::<pyo3::types::PyBytes>() {
            return Ok(std::str::from_utf8(bytes.as_bytes()).is_ok_and(|n| self.inner.removes_header(n)));
        }
        let name: String = name.extract()?;
        Ok(self.inner.removes_header(&name))
    }

    /// Headers of the rejection response, as (name, value) pairs; empty
    /// when allowed.
    #[getter]
    fn response_headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        pairs(py, &self.inner.response_headers)
    }

    /// The `WWW-Authenticate` value of a rejection.
    #[getter]
    fn www_authenticate(&self) -> Option<&str> {
        self.inner.www_authenticate()
    }

    /// The JSON body of a rejection (bytes); None when allowed.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.body.as_ref().map(|b| PyBytes::new(py, b.as_bytes()))
    }

    /// Whether the token came from the query string.
    #[getter]
    fn token_in_query(&self) -> bool {
        self.inner.token_in_query
    }

    /// The request target to pass on when it must change (a query token
    /// cut out); None keeps the original.
    #[getter]
    fn upstream_url(&self) -> Option<&str> {
        self.inner.upstream_url.as_deref()
    }

    /// Whether the decision waits on a key fetch in flight.
    #[getter]
    fn pending(&self) -> bool {
        self.inner.is_pending()
    }

    /// The decision as a dict with the field names every runtime uses.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.inner.to_json())
    }

    fn __bool__(&self) -> bool {
        self.inner.allow
    }

    fn __repr__(&self) -> String {
        format!(
            "Decision(allow={}, status={}, code={:?}, mode={:?})",
            if self.inner.allow { "True" } else { "False" },
            self.inner.status,
            self.inner.code(),
            self.inner.mode.name()
        )
    }
}

/// A request converted from Python, owned so the GIL can be released.
pub struct OwnedRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    peer: Option<IpAddr>,
    client_cert: Option<Vec<u8>>,
    now: Option<f64>,
}

impl OwnedRequest {
    /// Runs `f` on the borrowed form the core takes.
    pub fn with<R>(&self, f: impl FnOnce(&jwtgate::Request<'_>) -> R) -> R {
        let headers: Vec<(&str, &str)> = self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let mut request = jwtgate::Request::new(&self.method, &self.url, &headers);
        request.peer = self.peer;
        request.client_cert = self.client_cert.as_deref();
        request.now = self.now;
        f(&request)
    }
}

/// The length of a `str` (code points) or `bytes` without copying it:
/// UTF-8 is at least as long, so a bound on this is a lower bound on bytes.
fn text_len(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<usize> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return obj.len();
    }
    Err(PyTypeError::new_err(format!("{what} must be str or bytes, not {}", type_name(obj))))
}

/// A `str` as it is, `bytes` as Latin-1 (what ASGI and WSGI mean by a
/// header byte: every byte is kept, none is refused).
fn text(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return s.extract();
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        let bytes = b.as_bytes();
        return Ok(match std::str::from_utf8(bytes) {
            Ok(ascii) if bytes.is_ascii() => ascii.to_owned(),
            _ => bytes.iter().map(|&c| char::from(c)).collect(),
        });
    }
    Err(PyTypeError::new_err(format!("{what} must be str or bytes, not {}", type_name(obj))))
}

fn too_big(py: Python<'_>) -> PyErr {
    let e = jwtgate::Error::new(
        jwtgate::ErrorKind::InvalidRequest,
        format!("the request's method, URL and headers exceed {MAX_REQUEST_BYTES} bytes"),
    );
    to_pyerr(py, &e)
}

/// Header pairs from a mapping (its `items()`) or an iterable of
/// (name, value) pairs, str or bytes, in order and with repeats kept (the
/// core refuses two `Authorization` headers). Lengths are summed into
/// `total` and checked before each copy.
fn headers(headers: &Bound<'_, PyAny>, total: &mut usize) -> PyResult<Vec<(String, String)>> {
    let py = headers.py();
    let shape_error = || {
        PyTypeError::new_err(format!(
            "headers must be a mapping or an iterable of (name, value) pairs, not {}",
            type_name(headers)
        ))
    };
    if headers.is_instance_of::<PyString>() || headers.is_instance_of::<PyBytes>() {
        return Err(shape_error());
    }
    let iter = if let Ok(dict) = headers.cast::<PyDict>() {
        dict.items().into_any().try_iter()?
    } else if headers.hasattr(intern!(py, "items"))? {
        headers.call_method0(intern!(py, "items"))?.try_iter()?
    } else {
        headers.try_iter().map_err(|_| shape_error())?
    };
    let mut out = Vec::new();
    for item in iter {
        let item = item?;
        let (name, value) = if let Ok(pair) = item.cast::<PyTuple>() {
            if pair.len() != 2 {
                return Err(PyTypeError::new_err("each header must be a (name, value) pair"));
            }
            (pair.get_item(0)?, pair.get_item(1)?)
        } else if let Ok(pair) = item.cast::<PyList>() {
            if pair.len() != 2 {
                return Err(PyTypeError::new_err("each header must be a (name, value) pair"));
            }
            (pair.get_item(0)?, pair.get_item(1)?)
        } else {
            return Err(PyTypeError::new_err(format!(
                "each header must be a (name, value) pair, not {}",
                type_name(&item)
            )));
        };
        *total = total
            .saturating_add(text_len(&name, "header names")?)
            .saturating_add(text_len(&value, "header values")?);
        if *total > MAX_REQUEST_BYTES {
            return Err(too_big(py));
        }
        out.push((text(&name, "header names")?, text(&value, "header values")?));
    }
    Ok(out)
}

/// Converts the arguments of `decide` (everything but the route).
pub fn request(
    method: &Bound<'_, PyAny>,
    url: &Bound<'_, PyAny>,
    header_obj: &Bound<'_, PyAny>,
    now: Option<&Bound<'_, PyAny>>,
    peer: Option<&Bound<'_, PyAny>>,
    client_cert: Option<&Bound<'_, PyAny>>,
) -> PyResult<OwnedRequest> {
    let py = method.py();
    let mut total = text_len(method, "method")?.saturating_add(text_len(url, "url")?);
    if total > MAX_REQUEST_BYTES {
        return Err(too_big(py));
    }
    let method = text(method, "method")?;
    let url = text(url, "url")?;
    let headers = headers(header_obj, &mut total)?;
    let now = clock(now)?;
    let peer = match peer.filter(|p| !p.is_none()) {
        None => None,
        Some(p) => {
            let text: String = p
                .cast::<PyString>()
                .map_err(|_| {
                    PyTypeError::new_err(format!(
                        "peer must be an IP address (str) or None, not {}",
                        type_name(p)
                    ))
                })?
                .extract()?;
            Some(
                text.parse::<IpAddr>()
                    .map_err(|_| PyValueError::new_err(format!("peer: {text:?} is not an IP address")))?,
            )
        }
    };
    let client_cert = match client_cert.filter(|c| !c.is_none()) {
        None => None,
        Some(c) => {
            let der = c.cast::<PyBytes>().map_err(|_| {
                PyTypeError::new_err(format!("client_cert must be bytes (DER) or None, not {}", type_name(c)))
            })?;
            if der.len()? > MAX_REQUEST_BYTES {
                return Err(too_big(py));
            }
            Some(der.as_bytes().to_vec())
        }
    };
    Ok(OwnedRequest { method, url, headers, peer, client_cert, now })
}

/// A route argument: a `Route` or None.
pub fn route_arg<'py>(route: Option<&Bound<'py, PyAny>>) -> PyResult<Option<Bound<'py, Route>>> {
    match route.filter(|r| !r.is_none()) {
        None => Ok(None),
        Some(r) => r.cast::<Route>().map(|r| Some(r.clone())).map_err(|_| {
            PyTypeError::new_err(format!(
                "route must be a Route (from Verifier.route) or None, not {}",
                type_name(r)
            ))
        }),
    }
}

/// `asyncio.get_running_loop().run_in_executor(None, job)`.
pub fn run_in_executor<'py>(py: Python<'py>, job: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let get_loop = GET_RUNNING_LOOP
        .get_or_try_init(py, || py.import("asyncio")?.getattr("get_running_loop").map(Bound::unbind))?;
    let event_loop = get_loop.bind(py).call0()?;
    event_loop.call_method1(intern!(py, "run_in_executor"), (py.None(), job))
}

/// Checks that `obj` is a `Decision` (for `decide_after`).
pub fn decision_arg<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Decision>> {
    obj.cast::<Decision>().cloned().map_err(|_| {
        PyTypeError::new_err(format!(
            "previous must be a {} (from Verifier.decide), not {}",
            Decision::NAME,
            type_name(obj)
        ))
    })
}
