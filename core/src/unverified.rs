//! Decoding WITHOUT verification, for inspection tools only.
//!
//! Nothing returned here is trustworthy: anyone can write any header and
//! claims. Never base a decision on it; use [`crate::Verifier`].

use serde_json::Value;

use crate::base64url;
use crate::error::{Error, ErrorKind};
use crate::json::parse_strict;

/// The header and claims of a token, decoded but NOT verified.
#[derive(Debug, Clone)]
pub struct Unverified {
    /// The protected header, unverified.
    pub header: Value,
    /// The claims, unverified.
    pub claims: Value,
}

/// Decodes a compact JWS without checking anything but its form.
pub fn decode_unverified(token: &str) -> Result<Unverified, Error> {
    let malformed = |m: String| Error::new(ErrorKind::Malformed, m);
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [header, payload, _signature] = parts.as_slice() else {
        return Err(malformed("a token is three base64url segments separated by dots".into()));
    };
    let decode = |segment: &str, what: &str| -> Result<Value, Error> {
        let bytes = base64url::decode(segment.as_bytes())
            .ok_or_else(|| malformed(format!("{what} is not base64url")))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| malformed(format!("{what} is not UTF-8")))?;
        parse_strict(text).map_err(|e| malformed(format!("{what} is not JSON: {e}")))
    };
    Ok(Unverified { header: decode(header, "header")?, claims: decode(payload, "payload")? })
}
