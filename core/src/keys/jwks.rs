//! Key sets from JWKS documents (RFC 7517 section 5).

use serde_json::Value;

use super::{JwkError, KeySet, VerifyKey, parse_jwk};
use crate::alg::AlgorithmSet;

/// Most keys read from one JWKS; more is a sign of a hostile endpoint.
pub const MAX_JWKS_KEYS: usize = 256;

/// How to treat a key that is meant for signatures but cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// Fail the whole set (keys the operator wrote into the policy).
    Strict,
    /// Skip the key and keep the rest (keys fetched from an endpoint that
    /// may publish keys for other consumers).
    Lenient,
}

/// Binds every usable key of a JWKS to the issuer's allowed algorithms.
/// Returns the set and a note for each key skipped.
pub(crate) fn keyset_from_jwks(
    jwks: &Value,
    allowed: AlgorithmSet,
    strictness: Strictness,
) -> Result<(KeySet, Vec<String>), String> {
    let keys =
        jwks.get("keys").and_then(Value::as_array).ok_or("a JWKS is an object with a \"keys\" array")?;
    if keys.len() > MAX_JWKS_KEYS {
        return Err(format!("JWKS holds {} keys, more than {MAX_JWKS_KEYS}", keys.len()));
    }
    let mut bound = Vec::with_capacity(keys.len());
    let mut skipped = Vec::new();
    for (i, value) in keys.iter().enumerate() {
        let outcome = match parse_jwk(value) {
            Ok(jwk) => VerifyKey::bind(jwk.material, jwk.kid, jwk.alg, allowed).map_err(JwkError::Invalid),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(Some(key)) => bound.push(key),
            Ok(None) => skipped.push(format!("keys[{i}]: fits none of the allowed algorithms")),
            Err(JwkError::NotForUs(why)) => skipped.push(format!("keys[{i}]: not a signature key ({why})")),
            Err(JwkError::Invalid(why)) if strictness == Strictness::Lenient => {
                skipped.push(format!("keys[{i}]: {why}"))
            }
            Err(JwkError::Invalid(why)) => return Err(format!("keys[{i}]: {why}")),
        }
    }
    Ok((KeySet::new(bound), skipped))
}
