//! Python extension for jwtgate: `jwtgate._jwtgate`, re-exported by the
//! pure-Python package `jwtgate`.
//!
//! The binding converts types and errors only. Every argument is converted
//! to Rust values first, then the GIL is released for the work that pays
//! for it (a public-key signature check, anything that may wait on a key
//! fetch, a decision), so verification scales with threads; a cache hit or
//! an HMAC check costs less than releasing and retaking the GIL and keeps it.

mod claims;
mod convert;
mod errors;
mod gateway;
mod signer;
mod verified;
mod verifier;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

#[pymodule]
fn _jwtgate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", jwtgate::VERSION)?;
    let codes: Vec<&str> = jwtgate::ErrorKind::ALL.iter().map(|k| k.code()).collect();
    m.add("ERROR_CODES", PyTuple::new(py, codes)?)?;
    let algorithms: Vec<&str> = jwtgate::Algorithm::ALL.iter().map(|a| a.name()).collect();
    m.add("ALGORITHMS", PyTuple::new(py, algorithms)?)?;
    errors::register(m)?;
    m.add_class::<verifier::Verifier>()?;
    m.add_class::<verified::Verified>()?;
    m.add_class::<gateway::Decision>()?;
    m.add_class::<gateway::Route>()?;
    m.add_class::<signer::Signer>()?;
    m.add_function(wrap_pyfunction!(signer::generate_key, m)?)?;
    m.add_function(wrap_pyfunction!(signer::jwks, m)?)?;
    m.add_function(wrap_pyfunction!(verifier::decode_unverified, m)?)?;
    Ok(())
}
