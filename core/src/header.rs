//! The protected header: the few members the verifier acts on, and the
//! RFC 8725 rules about the rest.

use serde_json::Value;

use crate::alg::Algorithm;
use crate::error::{Error, ErrorKind};
use crate::json::scan_object;

/// What the verifier takes from the header.
pub(crate) struct Header {
    pub alg: Algorithm,
    pub kid: Option<String>,
    pub typ: Option<String>,
    /// A `jku` URL; trusted only inside the issuer's `allowed_jku`.
    pub jku: Option<String>,
}

fn read_members(name: &str) -> bool {
    matches!(name, "alg" | "kid" | "typ" | "crit" | "b64" | "jku" | "x5u" | "jwk")
}

/// Parses and checks a decoded header.
///
/// - `alg` must name a supported algorithm; `none` in any spelling never
///   verifies (`algorithm`).
/// - `crit` is rejected: jwtgate implements no extension, so every critical
///   extension is unknown to it (RFC 7515 section 4.1.11) (`header`).
/// - `b64: false` (RFC 7797, unencoded payload) is rejected (`header`).
/// - `x5u` and an embedded `jwk` would let the token pick its own key; they
///   are rejected rather than ignored (`header`). `jku` is returned for the
///   verifier, which accepts it only inside the issuer's `allowed_jku`.
pub(crate) fn parse_header(text: &str) -> Result<Header, Error> {
    let members = scan_object(text, &read_members)
        .map_err(|e| Error::new(ErrorKind::Malformed, format!("header is not a JSON object: {e}")))?;
    let mut alg = None;
    let mut kid = None;
    let mut typ = None;
    let mut jku = None;
    let mut refused = None;
    for (name, value) in members {
        match (name.as_ref(), value) {
            ("alg", Value::String(s)) => alg = Some(s),
            ("alg", _) => return Err(Error::new(ErrorKind::Malformed, "header alg must be a string")),
            ("kid", Value::String(s)) => kid = Some(s),
            ("kid", _) => return Err(Error::new(ErrorKind::Malformed, "header kid must be a string")),
            ("typ", Value::String(s)) => typ = Some(s),
            ("typ", _) => return Err(Error::new(ErrorKind::Malformed, "header typ must be a string")),
            ("crit", _) => refused = refused.or(Some("unsupported critical header extension")),
            ("b64", Value::Bool(true)) => {}
            ("b64", _) => refused = refused.or(Some("unencoded payloads (b64) are not accepted")),
            ("jku", Value::String(s)) => jku = Some(s),
            ("jku", _) => return Err(Error::new(ErrorKind::Malformed, "header jku must be a string")),
            ("x5u", _) => refused = refused.or(Some("header x5u is not trusted")),
            (_, _) => refused = refused.or(Some("an embedded jwk is not trusted")),
        }
    }
    let alg = alg.ok_or_else(|| Error::new(ErrorKind::Malformed, "header has no alg"))?;
    let alg = Algorithm::from_name(&alg).ok_or_else(|| {
        if alg.eq_ignore_ascii_case("none") {
            Error::new(ErrorKind::Algorithm, "alg none is never accepted")
        } else {
            Error::new(ErrorKind::Algorithm, "unsupported alg")
        }
    })?;
    if let Some(why) = refused {
        return Err(Error::new(ErrorKind::Header, why));
    }
    Ok(Header { alg, kid, typ, jku })
}
