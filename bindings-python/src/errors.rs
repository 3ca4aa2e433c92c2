//! The exception hierarchy: `JwtError` and one subclass per stable code.
//!
//! Each raised exception carries `.code`, `.status`, `.claim`,
//! `.www_authenticate` and `.message`, all taken from the core's error.
//! The subclasses also hold their `code` and `status` as class attributes,
//! so `except ExpiredTokenError` and `exc.code == "expired"` agree.

use jwtgate::{Error, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyType;

create_exception!(jwtgate, JwtError, PyException, "A token was rejected or a policy is invalid.");
create_exception!(jwtgate, MalformedTokenError, JwtError, "Code `malformed`: not a well-formed JWS.");
create_exception!(jwtgate, TokenTooLargeError, JwtError, "Code `too_large`: longer than max_token_bytes.");
create_exception!(jwtgate, HeaderError, JwtError, "Code `header`: unsupported or forbidden header.");
create_exception!(jwtgate, AlgorithmError, JwtError, "Code `algorithm`: alg not allowed or not the key's.");
create_exception!(jwtgate, KeyNotFoundError, JwtError, "Code `key_not_found`: no key for the kid.");
create_exception!(
    jwtgate,
    InvalidSignatureError,
    JwtError,
    "Code `signature`: the signature does not verify."
);
create_exception!(jwtgate, ExpiredTokenError, JwtError, "Code `expired`: exp passed (beyond leeway).");
create_exception!(jwtgate, NotYetValidError, JwtError, "Code `not_yet_valid`: nbf in the future.");
create_exception!(jwtgate, IssuerError, JwtError, "Code `issuer`: unknown or mismatched iss.");
create_exception!(jwtgate, AudienceError, JwtError, "Code `audience`: no shared audience.");
create_exception!(jwtgate, ClaimError, JwtError, "Code `claim`: a claim rule failed; `.claim` names it.");
create_exception!(
    jwtgate,
    JwksUnavailableError,
    JwtError,
    "Code `jwks_unavailable`: keys could not be fetched."
);
create_exception!(jwtgate, PolicyError, JwtError, "Code `policy`: the policy document is invalid.");
create_exception!(
    jwtgate,
    MissingTokenError,
    JwtError,
    "Code `missing_token`: the request carries no token."
);
create_exception!(
    jwtgate,
    MissingClaimError,
    JwtError,
    "Code `missing_claim`: a claim the issuer requires is absent or null."
);
create_exception!(
    jwtgate,
    InvalidRequestError,
    JwtError,
    "Code `invalid_request`: the request itself is malformed (400)."
);
create_exception!(
    jwtgate,
    InvalidDpopProofError,
    JwtError,
    "Code `invalid_dpop_proof`: a DPoP proof is missing or fails a check (RFC 9449)."
);
create_exception!(
    jwtgate,
    UseDpopNonceError,
    JwtError,
    "Code `use_dpop_nonce`: the DPoP proof must carry the server's nonce."
);
create_exception!(
    jwtgate,
    DpopBindingError,
    JwtError,
    "Code `dpop_binding`: the token's cnf.jkt does not match how it was presented."
);
create_exception!(
    jwtgate,
    MtlsBindingError,
    JwtError,
    "Code `mtls_binding`: the token's cnf x5t#S256 does not match the client certificate."
);
create_exception!(
    jwtgate,
    ReplayStoreUnavailableError,
    JwtError,
    "Code `replay_store_unavailable`: the DPoP replay store cannot be reached (503)."
);
create_exception!(
    jwtgate,
    InvalidKeyError,
    JwtError,
    "Code `key`: a signing key is unusable (wrong type, too short, too small)."
);
create_exception!(
    jwtgate,
    InvalidArgumentError,
    JwtError,
    "Code `invalid_argument`: an argument the core checks is out of range."
);
create_exception!(
    jwtgate,
    SerializationError,
    JwtError,
    "Code `serialization`: a value could not be written as JSON."
);

/// The exception class of a kind.
fn class_of(py: Python<'_>, kind: ErrorKind) -> Bound<'_, PyType> {
    match kind {
        ErrorKind::Malformed => py.get_type::<MalformedTokenError>(),
        ErrorKind::TooLarge => py.get_type::<TokenTooLargeError>(),
        ErrorKind::Header => py.get_type::<HeaderError>(),
        ErrorKind::Algorithm => py.get_type::<AlgorithmError>(),
        ErrorKind::KeyNotFound => py.get_type::<KeyNotFoundError>(),
        ErrorKind::Signature => py.get_type::<InvalidSignatureError>(),
        ErrorKind::Expired => py.get_type::<ExpiredTokenError>(),
        ErrorKind::NotYetValid => py.get_type::<NotYetValidError>(),
        ErrorKind::Issuer => py.get_type::<IssuerError>(),
        ErrorKind::Audience => py.get_type::<AudienceError>(),
        ErrorKind::Claim => py.get_type::<ClaimError>(),
        ErrorKind::JwksUnavailable => py.get_type::<JwksUnavailableError>(),
        ErrorKind::Policy => py.get_type::<PolicyError>(),
        ErrorKind::MissingToken => py.get_type::<MissingTokenError>(),
        ErrorKind::MissingClaim => py.get_type::<MissingClaimError>(),
        ErrorKind::InvalidRequest => py.get_type::<InvalidRequestError>(),
        ErrorKind::InvalidDpopProof => py.get_type::<InvalidDpopProofError>(),
        ErrorKind::UseDpopNonce => py.get_type::<UseDpopNonceError>(),
        ErrorKind::DpopBinding => py.get_type::<DpopBindingError>(),
        ErrorKind::MtlsBinding => py.get_type::<MtlsBindingError>(),
        ErrorKind::ReplayStoreUnavailable => py.get_type::<ReplayStoreUnavailableError>(),
        ErrorKind::Key => py.get_type::<InvalidKeyError>(),
        ErrorKind::InvalidArgument => py.get_type::<InvalidArgumentError>(),
        ErrorKind::Serialization => py.get_type::<SerializationError>(),
        // A kind added to the core later still raises a JwtError with its code.
        _ => py.get_type::<JwtError>(),
    }
}

/// The exception instance for a core error, with every field set.
pub fn exception<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyAny>> {
    let exc = class_of(py, e.kind()).call1((e.message(),))?;
    exc.setattr(intern!(py, "code"), e.code())?;
    exc.setattr(intern!(py, "status"), e.http_status())?;
    exc.setattr(intern!(py, "claim"), e.claim())?;
    exc.setattr(intern!(py, "www_authenticate"), e.www_authenticate())?;
    exc.setattr(intern!(py, "message"), e.message())?;
    Ok(exc)
}

/// The `PyErr` to raise for a core error.
pub fn to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    match exception(py, e) {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

/// Adds the classes to the module, with their class-level `code`/`status`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let base = py.get_type::<JwtError>();
    m.add("JwtError", &base)?;
    for kind in ErrorKind::ALL {
        let class = class_of(py, kind);
        if class.is(&base) {
            continue; // no class of its own yet: never relabel the base
        }
        class.setattr("code", kind.code())?;
        class.setattr("status", kind.http_status())?;
        let name: String = class.name()?.extract()?;
        m.add(name, &class)?;
    }
    Ok(())
}
