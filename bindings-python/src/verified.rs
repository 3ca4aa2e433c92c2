//! `Verified`: a verified token as Python sees it, its dicts built once.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};

use crate::claims::from_json;

/// A verified token.
#[pyclass(module = "jwtgate", frozen)]
pub struct Verified {
    inner: jwtgate::Verified,
    claims: PyOnceLock<Py<PyAny>>,
    header: PyOnceLock<Py<PyAny>>,
}

impl Verified {
    pub(crate) fn new(inner: jwtgate::Verified) -> Verified {
        Verified { inner, claims: PyOnceLock::new(), header: PyOnceLock::new() }
    }
}

#[pymethods]
impl Verified {
    /// The claims (a dict, built once, on first use: a caller that needs
    /// only the decision never pays for it). Built in Rust in one pass over
    /// the token's JSON, which the core already validated.
    #[getter]
    fn claims(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.claims
            .get_or_try_init(py, || from_json(py, self.inner.claims_json()).map(Bound::unbind))
            .map(|c| c.clone_ref(py))
    }

    /// The protected header (a dict).
    #[getter]
    fn header(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.header
            .get_or_try_init(py, || from_json(py, self.inner.header_json()).map(Bound::unbind))
            .map(|c| c.clone_ref(py))
    }

    /// The claims as the token carried them (JSON text).
    #[getter]
    fn claims_json(&self) -> &str {
        self.inner.claims_json()
    }

    /// The protected header as JSON text.
    #[getter]
    fn header_json(&self) -> &str {
        self.inner.header_json()
    }

    /// The `issuer` of the policy entry that matched, or None.
    #[getter]
    fn issuer(&self) -> Option<&str> {
        self.inner.issuer()
    }

    /// Headers to forward to the backend, in policy order.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self.inner.headers() {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    /// One claim by name, or by JSON Pointer when it starts with `/`.
    fn claim<'py>(&self, py: Python<'py>, name: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        let name: String = name.extract()?;
        match self.inner.claim(&name) {
            Some(value) => crate::convert::to_py(py, value),
            None => Ok(py.None().into_bound(py)),
        }
    }

    fn __repr__(&self) -> String {
        format!("Verified(issuer={:?}, claims={})", self.inner.issuer(), self.inner.claims_json())
    }
}
