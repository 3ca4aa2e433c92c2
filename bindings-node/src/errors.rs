//! Conversions of the core's results and errors to JavaScript values.

use napi::{Error, Status};
use napi_derive::napi;

/// Prefix of the message of every configuration error the addon throws; the
/// rest of the message is a JSON object with the [`RawError`] fields. The
/// JavaScript wrapper turns such errors into `JwtError`s.
pub const ERROR_PREFIX: &str = "\u{1}jwtgate:";

/// A verified token as the addon hands it to JavaScript: one string,
/// `claims NUL header NUL tail`, where claims and header are the token's
/// JSON text and tail is empty or a JSON array `[issuer, name, value, ...]`
/// (the policy issuer, or null, then the forwarded headers in policy
/// order). NUL cannot occur in valid JSON text, so the split is exact.
///
/// One string is the cheapest value to hand over: building an object
/// property by property through N-API costs several times more than the
/// verification of a cached token, and `JSON.parse` in V8 is fast.
pub fn raw_verified(v: &jwtgate::Verified) -> String {
    let (claims, header) = (v.claims_json(), v.header_json());
    let tail_len = v.issuer().map_or(4, str::len)
        + v.headers().iter().map(|(n, v)| n.len() + v.len() + 6).sum::<usize>();
    let mut out = Vec::with_capacity(claims.len() + header.len() + tail_len + 8);
    out.extend_from_slice(claims.as_bytes());
    out.push(0);
    out.extend_from_slice(header.as_bytes());
    out.push(0);
    if v.issuer().is_some() || !v.headers().is_empty() {
        let items = std::iter::once(v.issuer())
            .chain(v.headers().iter().flat_map(|(name, value)| [Some(name.as_str()), Some(value.as_str())]));
        // Writing strings into a Vec cannot fail.
        let _ = serde::Serializer::collect_seq(&mut serde_json::Serializer::new(&mut out), items);
    }
    // Every part is UTF-8 (JSON text, NUL separators).
    String::from_utf8(out).unwrap_or_default()
}

/// A core error as plain fields; the wrapper builds a `JwtError` from it.
#[napi(object)]
pub struct RawError {
    /// The stable code, e.g. `expired`.
    pub code: String,
    /// The human message (not stable).
    pub message: String,
    /// 400, 401, 403 or 503; `null` for the configuration and programming
    /// errors (`policy`, `key`, `invalid_argument`, `serialization`),
    /// which never answer a request.
    pub status: Option<u32>,
    /// The claim to blame, where there is one.
    pub claim: Option<String>,
    /// A ready RFC 6750 `WWW-Authenticate` value.
    pub www_authenticate: String,
}

impl From<&jwtgate::Error> for RawError {
    fn from(e: &jwtgate::Error) -> Self {
        RawError {
            code: e.code().to_owned(),
            message: e.message().to_owned(),
            status: e.http_status().map(u32::from),
            claim: e.claim().map(str::to_owned),
            www_authenticate: e.www_authenticate(),
        }
    }
}

/// A verification outcome: the result ([`raw_verified`]), or the rejection.
pub type Outcome = napi::Either<String, RawError>;

/// The outcome of one verification.
pub fn outcome(result: &Result<jwtgate::Verified, jwtgate::Error>) -> Outcome {
    match result {
        Ok(v) => napi::Either::A(raw_verified(v)),
        Err(e) => napi::Either::B(e.into()),
    }
}

/// A core error to throw: [`ERROR_PREFIX`] then its fields as JSON.
pub fn throw(e: &jwtgate::Error) -> Error {
    let fields = serde_json::json!({
        "code": e.code(),
        "message": e.message(),
        "status": e.http_status(),
        "claim": e.claim(),
        "wwwAuthenticate": e.www_authenticate(),
    });
    Error::new(Status::GenericFailure, format!("{ERROR_PREFIX}{fields}"))
}

/// A wrong argument (the wrapper throws it as a `TypeError`).
pub fn type_error(message: impl Into<String>) -> Error {
    Error::new(Status::InvalidArg, message.into())
}

/// The message of a caught panic.
pub fn panic_error(payload: Box<dyn std::any::Any + Send>) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    Error::new(Status::GenericFailure, format!("jwtgate panicked: {what}"))
}
