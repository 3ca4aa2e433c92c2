//! The registered-claim checks (RFC 7519 section 4.1) that run once the
//! signature holds: presence, the time window, the audience, the issuer's
//! claim rules and the `cnf` confirmation.

use serde_json::Value;

use crate::compiled::Issuer;
use crate::error::{Error, ErrorKind};
use crate::json::{ClaimRef, Members};
use crate::verified::{Confirmation, Window};

pub(super) fn find<'v>(members: &'v Members<'_>, name: &str) -> Option<ClaimRef<'v>> {
    members.iter().find(|(n, _)| crate::names::short_eq(n, name)).map(|(_, v)| v.claim())
}

/// A NumericDate (RFC 7519 section 2): a JSON number, fractions allowed.
/// Any other type, `null` included, is malformed.
fn numeric_date(members: &Members<'_>, name: &str) -> Result<Option<f64>, Error> {
    match find(members, name) {
        None => Ok(None),
        Some(ClaimRef::Json(Value::Number(n))) => Ok(n.as_f64()),
        Some(_) => Err(Error::with_claim(ErrorKind::Malformed, name, format!("{name} must be a number"))),
    }
}

/// The token's `cnf` (RFC 7800): an object whose `jkt` and `x5t#S256`, when
/// present, are strings. Other members are ignored; another type is
/// malformed.
pub(super) fn confirmation(members: &Members<'_>) -> Result<Confirmation, Error> {
    let bad = |m: &str| Error::with_claim(ErrorKind::Malformed, "cnf", m);
    let cnf = match find(members, "cnf") {
        None | Some(ClaimRef::Json(Value::Null)) => return Ok(Confirmation::default()),
        Some(ClaimRef::Json(Value::Object(cnf))) => cnf,
        Some(_) => return Err(bad("cnf must be an object")),
    };
    let member = |name: &str| match cnf.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(Box::from(s.as_str()))),
        Some(_) => Err(bad(&format!("cnf.{name} must be a string"))),
    };
    Ok(Confirmation { jkt: member("jkt")?, x5t_s256: member("x5t#S256")? })
}

/// A registered claim the issuer requires is absent or null (401).
fn missing_claim(name: &str, message: String) -> Error {
    Error::with_claim(ErrorKind::MissingClaim, name, message)
}

/// The registered claims (`exp`, `nbf`, `iat`, `aud`, `require`d ones)
/// and the issuer's claim rules; returns the window the token is valid in.
pub(super) fn check_claims(issuer: &Issuer, members: &Members<'_>, now: f64) -> Result<Window, Error> {
    // Presence first: a required claim that is absent or null is
    // `missing_claim`, never `malformed` or a time error.
    for path in &issuer.require {
        if path.lookup(members).is_none() {
            return Err(missing_claim(path.display(), format!("claim {} is required", path.display())));
        }
    }
    if issuer.max_age.is_some() && matches!(find(members, "iat"), None | Some(ClaimRef::Json(Value::Null))) {
        return Err(missing_claim("iat", "iat is required with max_age_s".into()));
    }
    let exp = numeric_date(members, "exp")?;
    let nbf = numeric_date(members, "nbf")?;
    let iat = numeric_date(members, "iat")?;
    let leeway = issuer.leeway;
    let mut window = Window::ALWAYS;
    if let Some(exp) = exp {
        window.expires_at = exp + leeway;
    }
    let start = match (nbf, iat.filter(|_| issuer.iat_as_nbf)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    if let Some(start) = start {
        window.not_before = start - leeway;
    }
    if let Some(max_age) = issuer.max_age {
        let iat = iat.ok_or_else(|| missing_claim("iat", "iat is required with max_age_s".into()))?;
        window.too_old_after = iat + max_age + leeway;
        // An iat in the future would keep the token young for as long as
        // its issuer claims: beyond the leeway it is not yet valid.
        window.not_before = window.not_before.max(iat - leeway);
    }
    window.check(now)?;

    check_audience(&issuer.audiences, issuer.any_audience, find(members, "aud"))?;
    issuer.rules.check(|path| path.lookup(members))?;
    Ok(window)
}

/// RFC 7519 section 4.1.3: with `audiences` set, `aud` must be present and
/// share one of them; without, a token that carries `aud` is rejected
/// unless the issuer sets `any_audience`. A `null` aud is absent.
fn check_audience(accepted: &[String], any_audience: bool, aud: Option<ClaimRef<'_>>) -> Result<(), Error> {
    let fail = |m: &str| Err(Error::with_claim(ErrorKind::Audience, "aud", m));
    let aud = aud.filter(|a| !matches!(a, ClaimRef::Json(Value::Null)));
    let Some(aud) = aud else {
        return if accepted.is_empty() { Ok(()) } else { fail("aud is required") };
    };
    let shares = |a: &str| accepted.iter().any(|x| x == a);
    let shared = match aud {
        ClaimRef::Str(a) => shares(a),
        ClaimRef::Json(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().any(|a| a.as_str().is_some_and(shares))
        }
        _ => return fail("aud must be a string or an array of strings"),
    };
    if shared || any_audience {
        Ok(())
    } else if accepted.is_empty() {
        fail("aud given but the issuer accepts no audience")
    } else {
        fail("no accepted audience")
    }
}
