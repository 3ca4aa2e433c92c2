//! DPoP proofs (RFC 9449): the proof checks of section 4.3, the key
//! thumbprint of RFC 7638, `ath`, and stateless server nonces (section 8).
//!
//! The replay check (`jti`) and the binding to the access token's
//! `cnf.jkt` are done by the gateway layer after these checks pass, so a
//! proof that fails here never takes room in the replay store.

use std::sync::Arc;

use aws_lc_rs::{digest, hmac};
use parking_lot::RwLock;
use serde_json::{Map, Value};

use crate::alg::{Algorithm, AlgorithmSet, KeyType};
use crate::base64url;
use crate::error::{Error, ErrorKind};
use crate::header::normalize_typ;
use crate::json::parse_strict;
use crate::keys::{JwkError, VerifyKey, parse_jwk};
use crate::policy::BindingMode;

/// The proof algorithms accepted when a policy lists none: every
/// asymmetric algorithm jwtgate verifies.
pub(crate) fn default_algorithms() -> AlgorithmSet {
    Algorithm::ALL.into_iter().filter(|a| a.key_type() != KeyType::Oct).collect()
}

/// Longest `jti` accepted, in bytes.
const MAX_JTI_BYTES: usize = 256;

/// Most distinct proof headers whose parsed key is remembered.
const PROOF_KEY_CACHE: usize = 4096;

/// An issuer's compiled DPoP settings.
pub(crate) struct DpopConfig {
    pub mode: BindingMode,
    /// Seconds a proof's `iat` may be from now, either way.
    pub iat_window: f64,
    pub nonce: Option<NonceKey>,
    /// Normalised external origin, e.g. `https://api.example.com`.
    pub origin: String,
    pub algorithms: AlgorithmSet,
    /// Parsed proof headers by their base64url segment: a client signs every
    /// proof with the same header (`typ`, `alg`, `jwk`), so its key is
    /// parsed and thumbprinted once.
    keys: quick_cache::sync::Cache<Box<[u8]>, Arc<ProofKey>>,
}

impl std::fmt::Debug for DpopConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopConfig")
            .field("mode", &self.mode)
            .field("iat_window", &self.iat_window)
            .field("nonce", &self.nonce.is_some())
            .field("origin", &self.origin)
            .finish()
    }
}

impl DpopConfig {
    pub(crate) fn new(
        mode: BindingMode,
        iat_window: f64,
        nonce: Option<NonceKey>,
        origin: String,
        algorithms: AlgorithmSet,
    ) -> DpopConfig {
        DpopConfig {
            mode,
            iat_window,
            nonce,
            origin,
            algorithms,
            keys: quick_cache::sync::Cache::new(PROOF_KEY_CACHE),
        }
    }
}

/// A proof header's key, checked and ready.
struct ProofKey {
    alg: Algorithm,
    key: VerifyKey,
    jkt: String,
}

/// What a proof that passed every check of its own says.
#[derive(Debug, Clone)]
pub(crate) struct CheckedProof {
    /// RFC 7638 thumbprint of the proof key (base64url SHA-256).
    pub jkt: String,
    pub jti: String,
    /// When the proof can no longer be accepted (`iat` plus the window):
    /// how long its `jti` must be remembered.
    pub expires_at: f64,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidDpopProof, message)
}

/// Shortest nonce secret accepted, in bytes: the policy's `nonce.secret`
/// and a secret handed in by the runtime alike.
pub(crate) const MIN_NONCE_SECRET_BYTES: usize = 32;

/// Stateless nonces: HMAC-SHA256 of the time window number under a secret,
/// so that every process holding the secret issues and accepts the same
/// nonces without sharing state. A nonce is accepted in its window and the
/// next one.
///
/// The secret is the policy's own `nonce.secret`, or else a random one made
/// when the policy is compiled, which only this process knows. The runtime
/// replaces that random one with a secret its processes share
/// ([`NonceKey::share_secret`]): Nginx workers and OpenResty workers each
/// compile the policy, and a nonce one of them issued must be accepted by
/// the others.
pub(crate) struct NonceKey {
    key: RwLock<hmac::Key>,
    window_s: u64,
    /// The policy names the secret: a runtime's secret does not replace it.
    from_policy: bool,
}

impl NonceKey {
    /// Nonces under the policy's own secret.
    pub(crate) fn new(secret: &[u8], window_s: u64) -> NonceKey {
        NonceKey {
            key: RwLock::new(hmac::Key::new(hmac::HMAC_SHA256, secret)),
            window_s: window_s.max(1),
            from_policy: true,
        }
    }

    /// Nonces under a random secret until the runtime shares one.
    pub(crate) fn per_process(window_s: u64) -> Result<NonceKey, Error> {
        let mut secret = [0u8; MIN_NONCE_SECRET_BYTES];
        aws_lc_rs::rand::fill(&mut secret).map_err(|_| Error::policy("dpop.nonce: no random secret"))?;
        Ok(NonceKey { from_policy: false, ..NonceKey::new(&secret, window_s) })
    }

    /// Replaces a per-process secret with `secret`; a secret the policy
    /// names stays.
    pub(crate) fn share_secret(&self, secret: &[u8]) {
        if !self.from_policy {
            *self.key.write() = hmac::Key::new(hmac::HMAC_SHA256, secret);
        }
    }

    fn window(&self, now: f64) -> u64 {
        (now.max(0.0) as u64) / self.window_s
    }

    /// The nonce of window `w`: base64url of the first 18 bytes of
    /// HMAC-SHA256(secret, "jwtgate-dpop-nonce" || w as 8 big-endian bytes).
    fn for_window(key: &hmac::Key, w: u64) -> String {
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(b"jwtgate-dpop-nonce");
        ctx.update(&w.to_be_bytes());
        base64url::encode(&ctx.sign().as_ref()[..18])
    }

    /// The nonce to hand out now.
    pub(crate) fn current(&self, now: f64) -> String {
        Self::for_window(&self.key.read(), self.window(now))
    }

    /// Whether `nonce` is this window's or the previous one's.
    pub(crate) fn accepts(&self, nonce: &str, now: f64) -> bool {
        let w = self.window(now);
        let key = self.key.read();
        nonce == Self::for_window(&key, w) || (w > 0 && nonce == Self::for_window(&key, w - 1))
    }
}

/// RFC 7638 thumbprint of a public JWK: SHA-256 over the required members
/// in lexicographic order, without whitespace, base64url.
pub(crate) fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members = match jwk.get("kty")?.as_str()? {
        kty @ ("EC" | "RSA" | "OKP" | "AKP") => KeyType::thumbprint_members(kty),
        _ => return None,
    };
    let mut canonical = String::with_capacity(160);
    canonical.push('{');
    for (i, name) in members.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        let value = jwk.get(*name)?.as_str()?;
        canonical.push('"');
        canonical.push_str(name);
        canonical.push_str("\":");
        canonical.push_str(&serde_json::to_string(value).ok()?);
    }
    canonical.push('}');
    Some(base64url::encode(digest::digest(&digest::SHA256, canonical.as_bytes())))
}

/// base64url(SHA-256(bytes)): `ath` of an access token, `x5t#S256` of a
/// certificate.
pub(crate) fn sha256_b64(bytes: &[u8]) -> String {
    base64url::encode(digest::digest(&digest::SHA256, bytes))
}

/// A JSON object from one base64url segment, held to the strict parser.
fn object(segment: &str, what: &str) -> Result<Map<String, Value>, Error> {
    let bytes =
        base64url::decode(segment.as_bytes()).ok_or_else(|| invalid(format!("{what} is not base64url")))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid(format!("{what} is not UTF-8")))?;
    match parse_strict(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid(format!("{what} is not a JSON object"))),
        Err(e) => Err(invalid(format!("{what} is not JSON: {e}"))),
    }
}

/// Private members a proof's `jwk` must not carry (RFC 9449 section 4.3,
/// check 7).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

impl DpopConfig {
    /// The key of a proof header segment: `typ`, `alg` and `jwk` checked
    /// (checks 4 to 7 of RFC 9449 section 4.3), parsed once per distinct
    /// header.
    fn proof_key(&self, segment: &str) -> Result<Arc<ProofKey>, Error> {
        if let Some(key) = self.keys.get(segment.as_bytes()) {
            return Ok(key);
        }
        let header = object(segment, "the proof header")?;
        match header.get("typ").and_then(Value::as_str) {
            Some(typ) if normalize_typ(typ) == "dpop+jwt" => {}
            _ => return Err(invalid("the proof typ must be dpop+jwt")),
        }
        if header.contains_key("crit") {
            return Err(invalid("the proof has a critical header extension"));
        }
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Algorithm::from_name)
            .filter(|a| self.algorithms.contains(*a))
            .ok_or_else(|| invalid("the proof alg is not an accepted asymmetric algorithm"))?;
        let Some(Value::Object(jwk)) = header.get("jwk") else {
            return Err(invalid("the proof header has no jwk object"));
        };
        if let Some(name) = PRIVATE_MEMBERS.iter().find(|m| jwk.get(**m).is_some_and(|v| !v.is_null())) {
            return Err(invalid(format!("the proof jwk carries the private member \"{name}\"")));
        }
        let parsed = parse_jwk(&Value::Object(jwk.clone())).map_err(|e| match e {
            JwkError::NotForUs(why) | JwkError::Invalid(why) => invalid(format!("the proof jwk: {why}")),
        })?;
        let allowed: AlgorithmSet = [alg].into_iter().collect();
        let key = VerifyKey::bind(parsed.material, None, parsed.alg, allowed)
            .map_err(|why| invalid(format!("the proof jwk: {why}")))?
            .ok_or_else(|| invalid(format!("the proof jwk is not a key for {alg}")))?;
        let jkt = thumbprint(jwk).ok_or_else(|| invalid("the proof jwk has no thumbprint"))?;
        let key = Arc::new(ProofKey { alg, key, jkt });
        self.keys.insert(Box::from(segment.as_bytes()), Arc::clone(&key));
        Ok(key)
    }

    /// Checks one proof against the request and its access token: every
    /// check of RFC 9449 section 4.3 except the replay of `jti` and the
    /// token's `cnf.jkt` (the caller's).
    pub(crate) fn check_proof(
        &self,
        proof: &str,
        method: &str,
        path: &str,
        token: &str,
        now: f64,
    ) -> Result<CheckedProof, Error> {
        let mut parts = proof.split('.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("the proof is not a compact JWS"));
        };
        let key = self.proof_key(header_b64)?;
        let signature = base64url::decode(sig_b64.as_bytes())
            .ok_or_else(|| invalid("the proof signature is not base64url"))?;
        let signed = &proof[..header_b64.len() + 1 + payload_b64.len()];
        if !key.key.verify(key.alg, signed.as_bytes(), &signature) {
            return Err(invalid("the proof signature does not verify"));
        }

        let claims = object(payload_b64, "the proof payload")?;
        let string = |name: &str| -> Result<&str, Error> {
            match claims.get(name) {
                Some(Value::String(s)) => Ok(s),
                None | Some(Value::Null) => Err(invalid(format!("the proof has no {name}"))),
                Some(_) => Err(invalid(format!("the proof {name} must be a string"))),
            }
        };
        let jti = string("jti")?;
        if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
            return Err(invalid(format!("the proof jti must be 1 to {MAX_JTI_BYTES} bytes")));
        }
        if string("htm")? != method {
            return Err(invalid("the proof htm is not the request method"));
        }
        let htu =
            normalize_htu(string("htu")?).ok_or_else(|| invalid("the proof htu is not an http(s) URL"))?;
        let expected = match plain_path(path) {
            // Already normal: no URL parse needed.
            true => format!("{}{}", self.origin, path),
            false => normalize_htu(&format!("{}{}", self.origin, path))
                .ok_or_else(|| invalid("the request path does not make a URL"))?,
        };
        if htu != expected {
            return Err(invalid("the proof htu is not the request URL"));
        }
        let iat = match claims.get("iat") {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            None | Some(Value::Null) => return Err(invalid("the proof has no iat")),
            Some(_) => return Err(invalid("the proof iat must be a number")),
        };
        let within = (now - iat).abs() <= self.iat_window; // false for NaN
        if !within {
            return Err(invalid("the proof iat is outside the accepted window"));
        }
        let ath = string("ath")?;
        if ath != sha256_b64(token.as_bytes()) {
            return Err(invalid("the proof ath is not the hash of the access token"));
        }
        if let Some(nonce_key) = &self.nonce {
            match claims.get("nonce") {
                None | Some(Value::Null) => {
                    return Err(Error::new(ErrorKind::UseDpopNonce, "the resource server requires a nonce"));
                }
                Some(Value::String(n)) if nonce_key.accepts(n, now) => {}
                Some(_) => return Err(Error::new(ErrorKind::UseDpopNonce, "the proof nonce is not current")),
            }
        }
        Ok(CheckedProof { jkt: key.jkt.clone(), jti: jti.to_owned(), expires_at: iat + self.iat_window })
    }
}

/// An `http(s)` URL as RFC 9449 compares `htu`: parsed (scheme and host
/// lower case, default port dropped, dot segments removed), without query
/// and fragment, percent-encodings normalised (RFC 3986 section 6.2.2:
/// unreserved characters decoded, hex digits upper case). `None` for
/// anything else, userinfo included.
pub(crate) fn normalize_htu(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    url.host_str()?;
    let mut out = url.origin().ascii_serialization();
    let path = url.path().as_bytes();
    let mut i = 0;
    while i < path.len() {
        let b = path[i];
        if b == b'%' && i + 2 < path.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(path[i + 1]), hex(path[i + 2])) {
                let byte = (h * 16 + l) as u8;
                if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                    out.push(byte as char);
                } else {
                    out.push('%');
                    out.push(path[i + 1].to_ascii_uppercase() as char);
                    out.push(path[i + 2].to_ascii_uppercase() as char);
                }
                i += 3;
                continue;
            }
        }
        out.push(b as char);
        i += 1;
    }
    Some(out)
}

/// Whether a request path is already in the form [`normalize_htu`] gives:
/// it starts with `/`, holds only unreserved characters, sub-delimiters,
/// `:`, `@` and `/` (no `%`, nothing to encode) and no dot segment.
fn plain_path(path: &str) -> bool {
    path.starts_with('/')
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b))
        && !path.split('/').any(|segment| segment == "." || segment == "..")
}

/// The normalised origin of a URL (`https://host[:port]`), for the
/// configured DPoP origin and `resource.uri`.
pub(crate) fn origin_of(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn ath_matches_rfc_9449_example() {
        // RFC 9449 section 7.1: the access token and its ath.
        let token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
        assert_eq!(sha256_b64(token.as_bytes()), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
    }

    #[test]
    fn htu_is_compared_after_normalisation() {
        let n = |s: &str| normalize_htu(s);
        assert_eq!(
            n("https://Server.Example.COM:443/a/%7euser/../b?q=1#f").as_deref(),
            Some("https://server.example.com/a/b")
        );
        assert_eq!(n("https://h.example/%7Ex/%2f").as_deref(), Some("https://h.example/~x/%2F"));
        assert_eq!(n("https://h.example").as_deref(), Some("https://h.example/"));
        assert_eq!(n("https://h.example:8443/x").as_deref(), Some("https://h.example:8443/x"));
        assert_eq!(n("https://user@h.example/x"), None);
        assert_eq!(n("ftp://h.example/x"), None);
        assert_eq!(n("/relative"), None);
    }

    #[test]
    fn plain_paths_are_what_normalisation_gives() {
        for path in ["/", "/orders/1", "/a-b_c~d/e.f/@x:y/!$&'()*+,;="] {
            assert!(plain_path(path), "{path}");
            let url = format!("https://h.example{path}");
            assert_eq!(normalize_htu(&url).as_deref(), Some(url.as_str()), "{path}");
        }
        for path in ["/a/../b", "/a/./b", "/..", "/%41", "/a b", "/é", "relative", "/a\\b", "/a\"b", "/{x}"]
        {
            assert!(!plain_path(path), "{path}");
        }
    }

    #[test]
    fn nonces_are_accepted_in_their_window_and_the_next() {
        let key = NonceKey::new(&[7; 32], 300);
        let nonce = key.current(1_000_000.0);
        assert!(key.accepts(&nonce, 1_000_000.0));
        assert!(key.accepts(&nonce, 1_000_000.0 + 300.0));
        assert!(!key.accepts(&nonce, 1_000_000.0 + 600.0));
        assert!(!NonceKey::new(&[8; 32], 300).accepts(&nonce, 1_000_000.0));
    }
}
