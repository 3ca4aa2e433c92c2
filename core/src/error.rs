//! The one error type of jwtgate and its stable codes.
//!
//! Every runtime (Rust, C, Node, Python) reports the same code strings, so
//! callers match on [`ErrorKind`] or [`Error::code`], never on message text.

use std::fmt;

/// What went wrong, as one of the stable codes of the design brief.
///
/// The C binding mirrors this enum with fixed numbers; add new kinds at the
/// end and never reuse a number.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Not three base64url segments, bad JSON, header or payload not an object.
    Malformed,
    /// Token longer than `max_token_bytes`.
    TooLarge,
    /// Unsupported `crit`, `b64: false`, or a forbidden header (`jku`, `x5u`, `jwk`).
    Header,
    /// `alg` not allowed for the issuer, or not the key's type.
    Algorithm,
    /// No key for the token's `kid`.
    KeyNotFound,
    /// The signature does not verify.
    Signature,
    /// `exp` passed (beyond leeway), or the token is older than `max_age_s`.
    Expired,
    /// `nbf` (or `iat` as nbf) in the future (beyond leeway).
    NotYetValid,
    /// Unknown or mismatched `iss`.
    Issuer,
    /// No shared audience.
    Audience,
    /// A claim rule failed; the error names the claim.
    Claim,
    /// Keys could not be fetched and no usable cached set exists.
    JwksUnavailable,
    /// The policy or route document itself is invalid.
    Policy,
    /// The request carries no token (RFC 6750 section 3.1: the challenge
    /// has no `error` attribute).
    MissingToken,
    /// A registered claim the issuer requires (`require`, or `iat` with
    /// `max_age_s`) is absent or null.
    MissingClaim,
    /// The request itself is malformed, e.g. two `Authorization` headers
    /// (RFC 6750 section 3.1, 400).
    InvalidRequest,
    /// A DPoP proof (RFC 9449 section 4.3) is missing, malformed, fails a
    /// check or was seen before (`error="invalid_dpop_proof"`).
    InvalidDpopProof,
    /// The DPoP proof lacks the server's current nonce (RFC 9449 section
    /// 8); the response carries a fresh one in `DPoP-Nonce`.
    UseDpopNonce,
    /// The token's binding does not fit how it was presented: a token bound
    /// with `cnf.jkt` sent as `Bearer`, an unbound token sent with the
    /// `DPoP` scheme, or a `Bearer` token where the issuer requires DPoP.
    DpopBinding,
    /// The token's `cnf["x5t#S256"]` does not match the client certificate
    /// (RFC 8705 section 3), or there is no certificate to match.
    MtlsBinding,
    /// The DPoP replay store could not be reached and the policy fails
    /// closed (503, with `Retry-After`).
    ReplayStoreUnavailable,
    /// A signing key is unusable: not a private key of the algorithm's
    /// type, RSA under 2048 bits, an HMAC secret shorter than the hash.
    Key,
    /// An argument of the call itself is out of range, such as a `now`
    /// that is not a finite number of unix seconds.
    InvalidArgument,
    /// A value could not be turned into JSON (a policy document or the
    /// counters handed to a binding).
    Serialization,
}

impl ErrorKind {
    /// Every kind, in the order of their C numbers (starting at 1).
    pub const ALL: [ErrorKind; 24] = [
        ErrorKind::Malformed,
        ErrorKind::TooLarge,
        ErrorKind::Header,
        ErrorKind::Algorithm,
        ErrorKind::KeyNotFound,
        ErrorKind::Signature,
        ErrorKind::Expired,
        ErrorKind::NotYetValid,
        ErrorKind::Issuer,
        ErrorKind::Audience,
        ErrorKind::Claim,
        ErrorKind::JwksUnavailable,
        ErrorKind::Policy,
        ErrorKind::MissingToken,
        ErrorKind::MissingClaim,
        ErrorKind::InvalidRequest,
        ErrorKind::InvalidDpopProof,
        ErrorKind::UseDpopNonce,
        ErrorKind::DpopBinding,
        ErrorKind::MtlsBinding,
        ErrorKind::ReplayStoreUnavailable,
        ErrorKind::Key,
        ErrorKind::InvalidArgument,
        ErrorKind::Serialization,
    ];

    /// The stable code string shared by every runtime.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Header => "header",
            ErrorKind::Algorithm => "algorithm",
            ErrorKind::KeyNotFound => "key_not_found",
            ErrorKind::Signature => "signature",
            ErrorKind::Expired => "expired",
            ErrorKind::NotYetValid => "not_yet_valid",
            ErrorKind::Issuer => "issuer",
            ErrorKind::Audience => "audience",
            ErrorKind::Claim => "claim",
            ErrorKind::JwksUnavailable => "jwks_unavailable",
            ErrorKind::Policy => "policy",
            ErrorKind::MissingToken => "missing_token",
            ErrorKind::MissingClaim => "missing_claim",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::InvalidDpopProof => "invalid_dpop_proof",
            ErrorKind::UseDpopNonce => "use_dpop_nonce",
            ErrorKind::DpopBinding => "dpop_binding",
            ErrorKind::MtlsBinding => "mtls_binding",
            ErrorKind::ReplayStoreUnavailable => "replay_store_unavailable",
            ErrorKind::Key => "key",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Serialization => "serialization",
        }
    }

    /// The kind for a code string, the inverse of [`ErrorKind::code`].
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The HTTP status a gateway answers with; `None` for the kinds that
    /// are never the answer to a request: configuration (`policy`, `key`)
    /// and programming errors (`invalid_argument`, `serialization`).
    pub const fn http_status(self) -> Option<u16> {
        match self {
            ErrorKind::Claim => Some(403),
            ErrorKind::JwksUnavailable | ErrorKind::ReplayStoreUnavailable => Some(503),
            ErrorKind::InvalidRequest => Some(400),
            ErrorKind::Malformed
            | ErrorKind::TooLarge
            | ErrorKind::Header
            | ErrorKind::Algorithm
            | ErrorKind::KeyNotFound
            | ErrorKind::Signature
            | ErrorKind::Expired
            | ErrorKind::NotYetValid
            | ErrorKind::Issuer
            | ErrorKind::Audience
            | ErrorKind::MissingToken
            | ErrorKind::MissingClaim
            | ErrorKind::InvalidDpopProof
            | ErrorKind::UseDpopNonce
            | ErrorKind::DpopBinding
            | ErrorKind::MtlsBinding => Some(401),
            ErrorKind::Policy | ErrorKind::Key | ErrorKind::InvalidArgument | ErrorKind::Serialization => {
                None
            }
        }
    }

    /// The RFC 6750 `error` attribute for this kind; `None` for a request
    /// without a token (section 3.1: "the resource server SHOULD NOT include
    /// an error code").
    pub const fn bearer_error(self) -> Option<&'static str> {
        match self {
            ErrorKind::Claim => Some("insufficient_scope"),
            ErrorKind::InvalidRequest => Some("invalid_request"),
            ErrorKind::InvalidDpopProof => Some("invalid_dpop_proof"),
            ErrorKind::UseDpopNonce => Some("use_dpop_nonce"),
            // RFC 6750 has no error code for a server that cannot check
            // tokens right now; "invalid_token" would blame the client.
            ErrorKind::MissingToken | ErrorKind::JwksUnavailable | ErrorKind::ReplayStoreUnavailable => None,
            _ => Some("invalid_token"),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A failed verification or an invalid policy: a code, a human message and,
/// where a claim is to blame, its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    claim: Option<String>,
    scope: Option<String>,
    /// A claim rule's own status (401) in place of the kind's.
    status: Option<u16>,
    // u32 keeps the error small (errors travel in every Result); both
    // saturate far beyond any real wait.
    retry_after_s: Option<u32>,
    pending: bool,
    wait_ms: Option<u32>,
    dpop_nonce: Option<String>,
}

impl Error {
    /// An error of `kind` with a human message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            claim: None,
            scope: None,
            status: None,
            retry_after_s: None,
            pending: false,
            wait_ms: None,
            dpop_nonce: None,
        }
    }

    /// An error that names the claim responsible.
    pub fn with_claim(kind: ErrorKind, claim: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            claim: Some(claim.into()),
            scope: None,
            status: None,
            retry_after_s: None,
            pending: false,
            wait_ms: None,
            dpop_nonce: None,
        }
    }

    /// This error with the scopes the resource needs (RFC 6750 section 3:
    /// the `scope` attribute of an `insufficient_scope` challenge).
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// This error answered with `status` instead of its kind's (a claim
    /// rule that chooses 401 over 403).
    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// This error with another message (an `any_of` failure citing every
    /// alternative).
    pub(crate) fn with_message(mut self, message: String) -> Self {
        self.message = message;
        self
    }

    /// This error with a `Retry-After` hint in seconds (a 503 while keys
    /// cannot be fetched).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(u32::try_from(seconds).unwrap_or(u32::MAX));
        self
    }

    /// This error with a fresh DPoP server nonce for the `DPoP-Nonce`
    /// response header (RFC 9449 section 8).
    pub fn with_dpop_nonce(mut self, nonce: impl Into<String>) -> Self {
        self.dpop_nonce = Some(nonce.into());
        self
    }

    /// The nonce a `use_dpop_nonce` answer hands out in `DPoP-Nonce`.
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.dpop_nonce.as_deref()
    }

    /// Seconds after which the request may succeed (`Retry-After`), where known.
    pub fn retry_after_s(&self) -> Option<u64> {
        self.retry_after_s.map(u64::from)
    }

    /// This `jwks_unavailable` error as "not yet": a key fetch is in flight
    /// and a caller that must not block (an event loop) may ask again.
    pub fn into_pending(mut self) -> Self {
        self.pending = true;
        self
    }

    /// This error with the time a caller that must not block may keep
    /// asking again while it is pending: the key set's `initial_wait_ms`.
    pub fn with_wait_ms(mut self, wait_ms: u64) -> Self {
        self.wait_ms = Some(u32::try_from(wait_ms).unwrap_or(u32::MAX));
        self
    }

    /// How long a caller that must not block may keep asking again while
    /// this error is pending (the key set's `initial_wait_ms`), where known.
    pub fn wait_ms(&self) -> Option<u64> {
        self.wait_ms.map(u64::from)
    }

    /// Whether the keys are still being fetched (see [`Error::into_pending`]).
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// The scopes the resource needs, for an `insufficient_scope` failure
    /// of a rule on `scope` or `scp`.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// A policy (configuration) error.
    pub fn policy(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Policy, message)
    }

    /// An unusable signing key.
    pub fn key(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Key, message)
    }

    /// An argument of the call out of range.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    /// A value that could not be turned into JSON.
    pub fn serialization(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Serialization, message)
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable code string, e.g. `"expired"`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The human-readable message. Not stable: match on the code instead.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The claim the error is about, where one is.
    pub fn claim(&self) -> Option<&str> {
        self.claim.as_deref()
    }

    /// The HTTP status a gateway answers with (400, 401, 403 or 503):
    /// the kind's (see [`ErrorKind::http_status`]), or for a failed claim
    /// rule the rule's own `status`; `None` for configuration and
    /// programming errors.
    pub fn http_status(&self) -> Option<u16> {
        self.status.or(self.kind.http_status())
    }

    /// The RFC 6750 `error` attribute of this error's challenge: the
    /// kind's (see [`ErrorKind::bearer_error`]), except that a claim rule
    /// answering 401 says `invalid_token` (section 3.1: 403 is
    /// `insufficient_scope`, a 401 for a token is `invalid_token`).
    pub fn bearer_error(&self) -> Option<&'static str> {
        match (self.kind, self.status) {
            (ErrorKind::Claim, Some(401)) => Some("invalid_token"),
            (kind, _) => kind.bearer_error(),
        }
    }

    /// A ready `WWW-Authenticate` header value (RFC 6750 section 3), e.g.
    /// `Bearer error="invalid_token", error_description="token expired"`;
    /// just `Bearer` for `missing_token`.
    ///
    /// RFC 6750 allows neither `"` nor `\\` inside `error_description`, not
    /// even escaped: both become `'`; other characters outside printable
    /// ASCII become a space (controls) or `?` (non-ASCII), so nothing from
    /// a token can break or split the header.
    pub fn www_authenticate(&self) -> String {
        challenge("Bearer", self)
    }
}

/// A challenge of `scheme` (`Bearer`, `DPoP`) for `error`.
pub(crate) fn challenge(scheme: &str, error: &Error) -> String {
    challenge_with(scheme, Some(error), &[])
}

/// A challenge of `scheme` with the error's attributes (when `error` is
/// given and has an `error` code) followed by `extra` attributes such as
/// `algs` (RFC 9449 section 7.1) or `resource_metadata` (RFC 9728 section
/// 5.1). Values pass through the same quoting rule as the description.
pub(crate) fn challenge_with(scheme: &str, error: Option<&Error>, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(&str, &str)> = Vec::with_capacity(3 + extra.len());
    if let Some(error) = error
        && let Some(code) = error.bearer_error()
    {
        params.push(("error", code));
        params.push(("error_description", &error.message));
        if let Some(scope) = &error.scope {
            params.push(("scope", scope));
        }
    }
    params.extend_from_slice(extra);
    let mut out = scheme.to_owned();
    for (i, (name, value)) in params.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        out.push_str(name);
        out.push_str("=\"");
        out.extend(value.chars().map(quoted_char));
        out.push('"');
    }
    out
}

/// The character RFC 6750's quoted attributes may hold in place of `c`.
fn quoted_char(c: char) -> char {
    match c {
        '"' | '\\' => '\'',
        ' '..='~' => c,
        c if c.is_control() => ' ',
        _ => '?',
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for Error {}

/// Why aws-lc-rs refused a key, in words for a message: its `KeyRejected`
/// displays as a Rust-style name (`WrongAlgorithm`, `InvalidEncoding`).
pub(crate) fn key_rejected_reason(e: &aws_lc_rs::error::KeyRejected) -> &'static str {
    match e.description_() {
        "WrongAlgorithm" => "the key is of another type than the algorithm needs",
        "InvalidEncoding" => "the key is not validly encoded",
        "TooSmall" => "the key is too small",
        "TooLarge" => "the key is too large",
        "InconsistentComponents" => "the key's parts do not belong together",
        _ => "the key is not usable",
    }
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            assert!(seen.insert(kind.code()), "duplicate code {}", kind.code());
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(ErrorKind::from_code("nope"), None);
    }

    #[test]
    fn statuses_follow_the_design_table() {
        assert_eq!(ErrorKind::Expired.http_status(), Some(401));
        assert_eq!(ErrorKind::Claim.http_status(), Some(403));
        assert_eq!(ErrorKind::JwksUnavailable.http_status(), Some(503));
        for kind in [ErrorKind::Policy, ErrorKind::Key, ErrorKind::InvalidArgument, ErrorKind::Serialization]
        {
            assert_eq!(kind.http_status(), None, "{kind}");
        }
    }

    #[test]
    fn www_authenticate_cannot_be_broken_by_message_text() {
        let e = Error::new(ErrorKind::Signature, "bad \"sig\"\r\nX-Evil: 1 \\ é");
        assert_eq!(
            e.www_authenticate(),
            "Bearer error=\"invalid_token\", error_description=\"bad 'sig'  X-Evil: 1 ' ?\""
        );
        assert_eq!(Error::new(ErrorKind::MissingToken, "no token").www_authenticate(), "Bearer");
        let s = Error::with_claim(ErrorKind::Claim, "scope", "claim scope must contain \"write\"")
            .with_scope("read write");
        assert_eq!(
            s.www_authenticate(),
            "Bearer error=\"insufficient_scope\", error_description=\"claim scope must contain 'write'\", scope=\"read write\""
        );
        let c = Error::with_claim(ErrorKind::Claim, "dept", "claim dept must equal \"IT\"");
        assert!(c.www_authenticate().starts_with("Bearer error=\"insufficient_scope\""));
        assert_eq!(c.claim(), Some("dept"));
    }
}
