//! `Signer`, `generate_key` and `jwks`: issuing tokens, mostly for tests
//! and small identity services.

use jwtgate::Algorithm;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::convert::{clock, to_json, to_py, type_name};
use crate::errors::to_pyerr;

fn algorithm(name: &str) -> PyResult<Algorithm> {
    name.parse().map_err(|e: jwtgate::UnknownAlgorithm| PyValueError::new_err(e.to_string()))
}

/// Signs tokens with one private key.
#[pyclass(module = "jwtgate", frozen)]
pub struct Signer {
    inner: jwtgate::Signer,
}

impl Signer {
    fn wrap(
        py: Python<'_>,
        signer: jwtgate::Result<jwtgate::Signer>,
        typ: Option<String>,
    ) -> PyResult<Signer> {
        let signer = signer.map_err(|e| to_pyerr(py, &e))?;
        Ok(Signer {
            inner: match typ {
                Some(typ) => signer.with_typ(typ),
                None => signer,
            },
        })
    }
}

#[pymethods]
impl Signer {
    /// A signer for a private key in PEM (PKCS#8, PKCS#1 RSA or SEC1 EC).
    /// `typ` sets the header `typ` of its tokens (default `JWT`).
    #[staticmethod]
    #[pyo3(signature = (alg, pem, kid=None, typ=None))]
    fn from_pem(
        py: Python<'_>,
        alg: &str,
        pem: &str,
        kid: Option<String>,
        typ: Option<String>,
    ) -> PyResult<Signer> {
        let alg = algorithm(alg)?;
        Signer::wrap(py, jwtgate::Signer::from_pem(alg, pem, kid), typ)
    }

    /// A signer for an HMAC secret (bytes, or str taken as UTF-8).
    #[staticmethod]
    #[pyo3(signature = (alg, secret, kid=None, typ=None))]
    fn from_secret(
        py: Python<'_>,
        alg: &str,
        secret: &Bound<'_, PyAny>,
        kid: Option<String>,
        typ: Option<String>,
    ) -> PyResult<Signer> {
        let alg = algorithm(alg)?;
        let secret: Vec<u8> = if let Ok(b) = secret.cast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else if let Ok(s) = secret.cast::<PyString>() {
            s.extract::<String>()?.into_bytes()
        } else {
            return Err(PyTypeError::new_err(format!(
                "secret must be bytes or str, not {}",
                type_name(secret)
            )));
        };
        Signer::wrap(py, jwtgate::Signer::from_secret(alg, &secret, kid), typ)
    }

    /// A signer for a private JWK (a dict or JSON text); `alg` defaults to
    /// the JWK's own `alg`.
    #[staticmethod]
    #[pyo3(signature = (jwk, alg=None, typ=None))]
    fn from_jwk(
        py: Python<'_>,
        jwk: &Bound<'_, PyAny>,
        alg: Option<&str>,
        typ: Option<String>,
    ) -> PyResult<Signer> {
        let alg = alg.map(algorithm).transpose()?;
        let jwk = if let Ok(text) = jwk.cast::<PyString>() {
            jwtgate::json::parse_strict(&text.extract::<String>()?)
                .map_err(|e| to_pyerr(py, &jwtgate::Error::key(format!("JWK is not JSON: {e}"))))?
        } else if jwk.cast::<PyDict>().is_ok() {
            to_json(jwk)?
        } else {
            return Err(PyTypeError::new_err(format!(
                "jwk must be a dict or JSON text, not {}",
                type_name(jwk)
            )));
        };
        Signer::wrap(py, jwtgate::Signer::from_jwk(&jwk, alg), typ)
    }

    /// The algorithm name, e.g. `"RS256"`.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm().name()
    }

    /// The key id put in every token's header, or None.
    #[getter]
    fn kid(&self) -> Option<&str> {
        self.inner.kid()
    }

    /// Signs `claims` (a dict). With `lifetime_s`, sets `iat` to now and
    /// `exp` to now + lifetime; `now` pins the clock. The GIL is released
    /// while signing.
    #[pyo3(signature = (claims, lifetime_s=None, now=None))]
    fn sign(
        &self,
        py: Python<'_>,
        claims: &Bound<'_, PyAny>,
        lifetime_s: Option<u64>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        if claims.cast::<PyDict>().is_err() {
            return Err(PyTypeError::new_err(format!("claims must be a dict, not {}", type_name(claims))));
        }
        let claims = to_json(claims)?;
        let now = clock(now)?;
        py.detach(|| self.inner.sign(&claims, lifetime_s, now)).map_err(|e| to_pyerr(py, &e))
    }

    /// Signs raw bytes (a JWS signing input `header.payload`), for building
    /// unusual tokens in tests.
    fn sign_bytes<'py>(&self, py: Python<'py>, message: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let message = message.to_vec();
        let signature = py.detach(|| self.inner.sign_bytes(&message)).map_err(|e| to_pyerr(py, &e))?;
        Ok(PyBytes::new(py, &signature))
    }

    /// The public JWK (with kid, use and alg), or None for HMAC.
    fn public_jwk<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.inner.public_jwk() {
            Some(jwk) => to_py(py, &jwk),
            None => Ok(py.None().into_bound(py)),
        }
    }

    fn __repr__(&self) -> String {
        format!("Signer(algorithm={:?}, kid={:?})", self.inner.algorithm().name(), self.inner.kid())
    }
}

/// Generates a key for `alg`: a dict with `algorithm`, `kid`, `private_key`
/// (PKCS#8 PEM, or the HMAC secret as base64url) and `public_jwk`.
#[pyfunction]
#[pyo3(signature = (alg, kid=None))]
pub fn generate_key<'py>(py: Python<'py>, alg: &str, kid: Option<String>) -> PyResult<Bound<'py, PyDict>> {
    let alg = algorithm(alg)?;
    let key = py.detach(|| jwtgate::generate_key(alg, kid)).map_err(|e| to_pyerr(py, &e))?;
    let dict = PyDict::new(py);
    dict.set_item("algorithm", key.algorithm.name())?;
    dict.set_item("kid", key.kid)?;
    dict.set_item("private_key", key.private_key)?;
    match &key.public_jwk {
        Some(jwk) => dict.set_item("public_jwk", to_py(py, jwk)?)?,
        None => dict.set_item("public_jwk", py.None())?,
    }
    Ok(dict)
}

/// The public JWKS (`{"keys": [...]}`) of some signers; HMAC signers are
/// left out, as in the core's `jwks`.
#[pyfunction]
pub fn jwks<'py>(py: Python<'py>, signers: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let keys = PyList::empty(py);
    for item in signers.try_iter()? {
        let item = item?;
        let signer = item.cast::<Signer>().map_err(|_| {
            PyTypeError::new_err(format!("jwks takes Signer objects, not {}", type_name(&item)))
        })?;
        if let Some(jwk) = signer.get().inner.public_jwk() {
            keys.append(to_py(py, &jwk)?)?;
        }
    }
    let dict = PyDict::new(py);
    dict.set_item("keys", keys)?;
    Ok(dict)
}
