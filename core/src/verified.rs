//! The result of a successful verification.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// The time window in which a verified token stays valid, with leeway
/// already applied. Kept with cached results so every cache hit re-checks
/// the clock exactly as a full verification would.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// Valid from this instant (`nbf`, or `iat` as nbf, minus leeway).
    pub not_before: f64,
    /// Expired from this instant on (`exp` plus leeway).
    pub expires_at: f64,
    /// Too old after this instant (`iat + max_age_s` plus leeway).
    pub too_old_after: f64,
}

impl Window {
    pub(crate) const ALWAYS: Window =
        Window { not_before: f64::NEG_INFINITY, expires_at: f64::INFINITY, too_old_after: f64::INFINITY };

    /// RFC 7519: expired when `exp <= now - leeway`, not yet valid when
    /// `nbf > now + leeway`.
    pub(crate) fn check(&self, now: f64) -> Result<(), Error> {
        if now >= self.expires_at {
            return Err(Error::with_claim(ErrorKind::Expired, "exp", "token expired"));
        }
        if now > self.too_old_after {
            return Err(Error::with_claim(ErrorKind::Expired, "iat", "token older than max_age_s"));
        }
        if now < self.not_before {
            return Err(Error::new(ErrorKind::NotYetValid, "token not yet valid"));
        }
        Ok(())
    }
}

/// The key a token is bound to: `cnf.jkt` (RFC 9449 section 6) and
/// `cnf["x5t#S256"]` (RFC 8705 section 3.1).
#[derive(Debug, Clone, Default)]
pub(crate) struct Confirmation {
    pub jkt: Option<Box<str>>,
    pub x5t_s256: Option<Box<str>>,
}

/// A verified token: its claims and header, the issuer that vouched for it
/// and the headers to forward to the backend. Cheap to clone (shared).
///
/// The claims are kept as the token's JSON text and parsed into a `Value`
/// only when [`Verified::claims`] is first called, so a gateway that only
/// needs the decision and the forward headers never pays for it.
#[derive(Clone)]
pub struct Verified(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub header_json: Arc<str>,
    pub claims_json: String,
    pub issuer: Option<Arc<str>>,
    pub headers: Vec<(String, String)>,
    pub window: Window,
    /// The token's confirmation (RFC 7800 `cnf`), read at verification.
    pub cnf: Confirmation,
    pub header: OnceLock<Value>,
    pub claims: OnceLock<Value>,
}

impl Verified {
    /// The claims (the payload object).
    pub fn claims(&self) -> &Value {
        self.0.claims.get_or_init(|| parse_checked(&self.0.claims_json))
    }

    /// The claims as the token carried them (JSON text).
    pub fn claims_json(&self) -> &str {
        &self.0.claims_json
    }

    /// The protected header.
    pub fn header(&self) -> &Value {
        self.0.header.get_or_init(|| parse_checked(&self.0.header_json))
    }

    /// The protected header as JSON text.
    pub fn header_json(&self) -> &str {
        &self.0.header_json
    }

    /// The `issuer` of the policy entry that matched, if it names one.
    pub fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }

    /// Header name and value pairs to forward to the backend, in policy
    /// order (`claims_to_headers`, then `payload_header`).
    pub fn headers(&self) -> &[(String, String)] {
        &self.0.headers
    }

    /// The RFC 7638 thumbprint the token is bound to (`cnf.jkt`), if any.
    pub fn cnf_jkt(&self) -> Option<&str> {
        self.0.cnf.jkt.as_deref()
    }

    /// The certificate thumbprint the token is bound to
    /// (`cnf["x5t#S256"]`), if any.
    pub fn cnf_x5t_s256(&self) -> Option<&str> {
        self.0.cnf.x5t_s256.as_deref()
    }

    /// One claim by top-level name, or by JSON Pointer when it starts with `/`.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        crate::claims::ClaimPath::parse(name).ok()?.lookup_value(self.claims())
    }
}

/// Parses JSON that the verifier already validated; it cannot fail, and if
/// it somehow did, `null` is returned rather than a panic.
fn parse_checked(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("issuer", &self.issuer())
            .field("claims", &self.0.claims_json)
            .field("headers", &self.0.headers)
            .finish()
    }
}
