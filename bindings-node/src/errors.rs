//! Conversions of the core's results and errors to JavaScript values.

use napi::{Error, Status};
use napi_derive::napi;

/// Prefix of the message of every configuration error the addon throws; the
/// rest of the message is a JSON object with the [`RawError`] fields. The
/// JavaScript wrapper turns such errors into `JwtError`s.
pub const ERROR_PREFIX: &str = "\u{1}jwtgate:";

/// A verified token as the addon hands it to JavaScript: the claims and the
/// header as the token's JSON text (`JSON.parse` in V8 is faster than
/// building the objects property by property through N-API), the issuer and
/// the forwarded headers as a flat `[name, value, name, value, ...]` list.
#[napi(object)]
pub struct RawVerified {
    /// The payload, JSON text.
    pub claims: String,
    /// The protected header, JSON text.
    pub header: String,
    /// The policy issuer that matched, if it names one.
    pub issuer: Option<String>,
    /// Forwarded headers, names and values alternating, in policy order.
    pub headers: Vec<String>,
}

impl From<&jwtgate::Verified> for RawVerified {
    fn from(v: &jwtgate::Verified) -> Self {
        let mut headers = Vec::with_capacity(v.headers().len() * 2);
        for (name, value) in v.headers() {
            headers.push(name.clone());
            headers.push(value.clone());
        }
        RawVerified {
            claims: v.claims_json().to_owned(),
            header: v.header_json().to_owned(),
            issuer: v.issuer().map(str::to_owned),
            headers,
        }
    }
}

/// A core error as plain fields; the wrapper builds a `JwtError` from it.
#[napi(object)]
pub struct RawError {
    /// The stable code, e.g. `expired`.
    pub code: String,
    /// The human message (not stable).
    pub message: String,
    /// 401, 403 or 503; `null` for `policy`, which never answers a request.
    pub status: Option<u32>,
    /// The claim to blame, where there is one.
    pub claim: Option<String>,
    /// A ready RFC 6750 `WWW-Authenticate` value.
    pub www_authenticate: String,
}

impl From<&jwtgate::Error> for RawError {
    fn from(e: &jwtgate::Error) -> Self {
        let status = e.http_status();
        RawError {
            code: e.code().to_owned(),
            message: e.message().to_owned(),
            status: (status != 0).then_some(u32::from(status)),
            claim: e.claim().map(str::to_owned),
            www_authenticate: e.www_authenticate(),
        }
    }
}

/// A verification outcome: the result, or the rejection.
pub type Outcome = napi::Either<RawVerified, RawError>;

/// The outcome of one verification.
pub fn outcome(result: &Result<jwtgate::Verified, jwtgate::Error>) -> Outcome {
    match result {
        Ok(v) => napi::Either::A(v.into()),
        Err(e) => napi::Either::B(e.into()),
    }
}

/// A core error to throw: [`ERROR_PREFIX`] then its fields as JSON.
pub fn throw(e: &jwtgate::Error) -> Error {
    let status = e.http_status();
    let fields = serde_json::json!({
        "code": e.code(),
        "message": e.message(),
        "status": (status != 0).then_some(status),
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
