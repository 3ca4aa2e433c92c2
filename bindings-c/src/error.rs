//! Result codes and the error type behind the error handle: the bottom of
//! the C binding (the accessors C calls live in `error_access`).

use jwtgate::{Error, ErrorKind};

/// The result of a call. `JWTGATE_OK` (0) is success; 1 to 24 are the
/// core's codes, numbered in the order of its `ErrorKind::ALL`; 1000 and up
/// are the C binding's own codes (misuse of the API). Numbers are never
/// reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum jwtgate_code {
    /// Success.
    JWTGATE_OK = 0,
    /// `malformed`: not three base64url segments, bad JSON, header not an object.
    JWTGATE_MALFORMED = 1,
    /// `too_large`: token longer than `max_token_bytes`.
    JWTGATE_TOO_LARGE = 2,
    /// `header`: unsupported `crit`, `b64: false`, forbidden header use.
    JWTGATE_HEADER = 3,
    /// `algorithm`: alg not allowed for the issuer, or not the key's type.
    JWTGATE_ALGORITHM = 4,
    /// `key_not_found`: no key for the `kid`.
    JWTGATE_KEY_NOT_FOUND = 5,
    /// `signature`: the signature does not verify.
    JWTGATE_SIGNATURE = 6,
    /// `expired`: `exp` passed (beyond leeway), or older than `max_age_s`.
    JWTGATE_EXPIRED = 7,
    /// `not_yet_valid`: `nbf` (or `iat` as nbf) in the future.
    JWTGATE_NOT_YET_VALID = 8,
    /// `issuer`: unknown or mismatched `iss`.
    JWTGATE_ISSUER = 9,
    /// `audience`: no shared audience.
    JWTGATE_AUDIENCE = 10,
    /// `claim`: a claim rule failed; the error names the claim.
    JWTGATE_CLAIM = 11,
    /// `jwks_unavailable`: keys could not be fetched and none are cached.
    JWTGATE_JWKS_UNAVAILABLE = 12,
    /// `policy`: the policy or route document is invalid.
    JWTGATE_POLICY = 13,
    /// `missing_token`: the request carries no token (401, plain `Bearer` challenge).
    JWTGATE_MISSING_TOKEN = 14,
    /// `missing_claim`: a claim the issuer requires is absent or null (401).
    JWTGATE_MISSING_CLAIM = 15,
    /// `invalid_request`: the request is malformed, e.g. two `Authorization` headers (400).
    JWTGATE_INVALID_REQUEST = 16,
    /// `invalid_dpop_proof`: a DPoP proof is missing, malformed or fails a check (401, RFC 9449).
    JWTGATE_INVALID_DPOP_PROOF = 17,
    /// `use_dpop_nonce`: the proof must carry the server's nonce (401 with a `DPoP-Nonce` header).
    JWTGATE_USE_DPOP_NONCE = 18,
    /// `dpop_binding`: the token's `cnf.jkt` does not match how it was presented (401).
    JWTGATE_DPOP_BINDING = 19,
    /// `mtls_binding`: the token's `cnf["x5t#S256"]` does not match the client certificate (401).
    JWTGATE_MTLS_BINDING = 20,
    /// `replay_store_unavailable`: the DPoP replay store cannot be reached (503).
    JWTGATE_REPLAY_STORE_UNAVAILABLE = 21,
    /// `key`: a signing key is unusable (wrong type, RSA under 2048 bits,
    /// an HMAC secret shorter than the hash).
    JWTGATE_KEY = 22,
    /// `invalid_argument`: an argument the core checks is out of range,
    /// e.g. a `now` that is not a finite number of unix seconds.
    JWTGATE_INVALID_ARGUMENT = 23,
    /// `serialization`: a value could not be written as JSON.
    JWTGATE_SERIALIZATION = 24,
    /// A pointer argument that must not be NULL was NULL.
    JWTGATE_NULL_PARAMETER = 1000,
    /// Text that must be UTF-8 was not.
    JWTGATE_INVALID_UTF8 = 1001,
    /// The caller's buffer is too small; `*out_n` holds the length needed
    /// (without the terminating NUL).
    JWTGATE_BUFFER_TOO_SMALL = 1002,
    /// The value asked for does not exist (a claim, a token in a request).
    JWTGATE_NOT_FOUND = 1003,
    /// An argument is out of range (an index, a length, an unknown name).
    JWTGATE_INVALID_PARAMETER = 1004,
    /// An error kind this version of the header does not know.
    JWTGATE_UNKNOWN_ERROR = 1005,
    /// The library panicked; the call had no effect. Please report it.
    JWTGATE_PANIC = 1099,
}

use jwtgate_code::*;

impl jwtgate_code {
    /// Every code, for the tests and `jwtgate_code_name`.
    pub(crate) const ALL: [jwtgate_code; 31] = [
        JWTGATE_OK,
        JWTGATE_MALFORMED,
        JWTGATE_TOO_LARGE,
        JWTGATE_HEADER,
        JWTGATE_ALGORITHM,
        JWTGATE_KEY_NOT_FOUND,
        JWTGATE_SIGNATURE,
        JWTGATE_EXPIRED,
        JWTGATE_NOT_YET_VALID,
        JWTGATE_ISSUER,
        JWTGATE_AUDIENCE,
        JWTGATE_CLAIM,
        JWTGATE_JWKS_UNAVAILABLE,
        JWTGATE_POLICY,
        JWTGATE_MISSING_TOKEN,
        JWTGATE_MISSING_CLAIM,
        JWTGATE_INVALID_REQUEST,
        JWTGATE_INVALID_DPOP_PROOF,
        JWTGATE_USE_DPOP_NONCE,
        JWTGATE_DPOP_BINDING,
        JWTGATE_MTLS_BINDING,
        JWTGATE_REPLAY_STORE_UNAVAILABLE,
        JWTGATE_KEY,
        JWTGATE_INVALID_ARGUMENT,
        JWTGATE_SERIALIZATION,
        JWTGATE_NULL_PARAMETER,
        JWTGATE_INVALID_UTF8,
        JWTGATE_BUFFER_TOO_SMALL,
        JWTGATE_NOT_FOUND,
        JWTGATE_INVALID_PARAMETER,
        JWTGATE_UNKNOWN_ERROR,
    ];

    /// The code for a core error kind.
    pub(crate) fn from_kind(kind: ErrorKind) -> jwtgate_code {
        match kind {
            ErrorKind::Malformed => JWTGATE_MALFORMED,
            ErrorKind::TooLarge => JWTGATE_TOO_LARGE,
            ErrorKind::Header => JWTGATE_HEADER,
            ErrorKind::Algorithm => JWTGATE_ALGORITHM,
            ErrorKind::KeyNotFound => JWTGATE_KEY_NOT_FOUND,
            ErrorKind::Signature => JWTGATE_SIGNATURE,
            ErrorKind::Expired => JWTGATE_EXPIRED,
            ErrorKind::NotYetValid => JWTGATE_NOT_YET_VALID,
            ErrorKind::Issuer => JWTGATE_ISSUER,
            ErrorKind::Audience => JWTGATE_AUDIENCE,
            ErrorKind::Claim => JWTGATE_CLAIM,
            ErrorKind::JwksUnavailable => JWTGATE_JWKS_UNAVAILABLE,
            ErrorKind::Policy => JWTGATE_POLICY,
            ErrorKind::MissingToken => JWTGATE_MISSING_TOKEN,
            ErrorKind::MissingClaim => JWTGATE_MISSING_CLAIM,
            ErrorKind::InvalidRequest => JWTGATE_INVALID_REQUEST,
            ErrorKind::InvalidDpopProof => JWTGATE_INVALID_DPOP_PROOF,
            ErrorKind::UseDpopNonce => JWTGATE_USE_DPOP_NONCE,
            ErrorKind::DpopBinding => JWTGATE_DPOP_BINDING,
            ErrorKind::MtlsBinding => JWTGATE_MTLS_BINDING,
            ErrorKind::ReplayStoreUnavailable => JWTGATE_REPLAY_STORE_UNAVAILABLE,
            ErrorKind::Key => JWTGATE_KEY,
            ErrorKind::InvalidArgument => JWTGATE_INVALID_ARGUMENT,
            ErrorKind::Serialization => JWTGATE_SERIALIZATION,
            _ => JWTGATE_UNKNOWN_ERROR,
        }
    }

    /// The stable name: the core's code for 1 to 24.
    pub(crate) fn name(self) -> &'static str {
        match self {
            JWTGATE_OK => "ok",
            JWTGATE_MALFORMED => ErrorKind::Malformed.code(),
            JWTGATE_TOO_LARGE => ErrorKind::TooLarge.code(),
            JWTGATE_HEADER => ErrorKind::Header.code(),
            JWTGATE_ALGORITHM => ErrorKind::Algorithm.code(),
            JWTGATE_KEY_NOT_FOUND => ErrorKind::KeyNotFound.code(),
            JWTGATE_SIGNATURE => ErrorKind::Signature.code(),
            JWTGATE_EXPIRED => ErrorKind::Expired.code(),
            JWTGATE_NOT_YET_VALID => ErrorKind::NotYetValid.code(),
            JWTGATE_ISSUER => ErrorKind::Issuer.code(),
            JWTGATE_AUDIENCE => ErrorKind::Audience.code(),
            JWTGATE_CLAIM => ErrorKind::Claim.code(),
            JWTGATE_JWKS_UNAVAILABLE => ErrorKind::JwksUnavailable.code(),
            JWTGATE_POLICY => ErrorKind::Policy.code(),
            JWTGATE_MISSING_TOKEN => ErrorKind::MissingToken.code(),
            JWTGATE_MISSING_CLAIM => ErrorKind::MissingClaim.code(),
            JWTGATE_INVALID_REQUEST => ErrorKind::InvalidRequest.code(),
            JWTGATE_INVALID_DPOP_PROOF => ErrorKind::InvalidDpopProof.code(),
            JWTGATE_USE_DPOP_NONCE => ErrorKind::UseDpopNonce.code(),
            JWTGATE_DPOP_BINDING => ErrorKind::DpopBinding.code(),
            JWTGATE_MTLS_BINDING => ErrorKind::MtlsBinding.code(),
            JWTGATE_REPLAY_STORE_UNAVAILABLE => ErrorKind::ReplayStoreUnavailable.code(),
            JWTGATE_KEY => ErrorKind::Key.code(),
            JWTGATE_INVALID_ARGUMENT => ErrorKind::InvalidArgument.code(),
            JWTGATE_SERIALIZATION => ErrorKind::Serialization.code(),
            JWTGATE_NULL_PARAMETER => "null_parameter",
            JWTGATE_INVALID_UTF8 => "invalid_utf8",
            JWTGATE_BUFFER_TOO_SMALL => "buffer_too_small",
            JWTGATE_NOT_FOUND => "not_found",
            JWTGATE_INVALID_PARAMETER => "invalid_parameter",
            JWTGATE_UNKNOWN_ERROR => "unknown_error",
            JWTGATE_PANIC => "panic",
        }
    }
}

/// An error: its code, a human message, the claim to blame (if any), the
/// HTTP status a gateway answers with and a ready `WWW-Authenticate` value.
/// Made by failing calls through their `out_error` parameter; the caller
/// owns it and frees it with `jwtgate_error_free`.
pub struct jwtgate_error {
    pub(crate) code: jwtgate_code,
    pub(crate) message: String,
    pub(crate) claim: Option<String>,
    /// `None` for configuration and programming errors; the C accessor
    /// reads it as 0.
    pub(crate) status: Option<u16>,
    pub(crate) www_authenticate: Option<String>,
}

impl jwtgate_error {
    /// An error of the C binding itself (misuse of the API).
    pub(crate) fn binding(code: jwtgate_code, message: impl Into<String>) -> jwtgate_error {
        jwtgate_error { code, message: message.into(), claim: None, status: None, www_authenticate: None }
    }

    /// A NULL argument.
    pub(crate) fn null(what: &str) -> jwtgate_error {
        jwtgate_error::binding(JWTGATE_NULL_PARAMETER, format!("{what} is NULL"))
    }
}

impl From<Error> for jwtgate_error {
    fn from(e: Error) -> jwtgate_error {
        let status = e.http_status();
        jwtgate_error {
            code: jwtgate_code::from_kind(e.kind()),
            www_authenticate: status.map(|_| e.www_authenticate()),
            message: e.message().to_owned(),
            claim: e.claim().map(str::to_owned),
            status,
        }
    }
}
