//! The verifier: one policy, its keys and its cache, shared by any number
//! of threads.

mod registered;

use std::mem::MaybeUninit;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::alg::{Algorithm, MAX_SIGNATURE_LEN, es256k_high_s};
use crate::base64url;
use crate::cache::TokenCache;
use crate::clock::unix_now;
use crate::compiled::{Issuer, IssuerKeys, Policy, PolicyOverlay};
use crate::error::{Error, ErrorKind};
use crate::forward::forward_headers;
use crate::header::{Header, HeaderCache};
use crate::json::{ClaimRef, Members, scan_object_into};
use crate::sources::TokenSource;
use crate::stats::{Counters, KeySetStats, Stats};
use crate::verified::{Inner, Verified};
use registered::{check_claims, confirmation, find};

/// Longest signature accepted: ML-DSA-87 (4627 bytes; RSA-8192 is 1024).
const MAX_SIGNATURE_BYTES: usize = MAX_SIGNATURE_LEN;

/// Longest token [`Verifier::verify_if_cheap`] verifies itself: beyond
/// this, hashing and parsing it take microseconds too.
const CHEAP_TOKEN_BYTES: usize = 4096;

/// Verifies tokens against one policy. `Send + Sync`: share one per process.
pub struct Verifier {
    /// Tells this verifier's decisions from another's (see `decide_after`).
    id: u64,
    policy: Policy,
    cache: Option<TokenCache>,
    headers: HeaderCache,
    counters: Counters,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("policy", &self.policy).finish()
    }
}

impl Verifier {
    /// A verifier for a compiled policy.
    pub fn new(policy: Policy) -> Verifier {
        let cache = TokenCache::new(policy.cache_entries);
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Verifier { id, policy, cache, headers: HeaderCache::new(), counters: Counters::new() }
    }

    /// A verifier for a policy in JSON text.
    pub fn from_json(text: &str) -> Result<Verifier, Error> {
        Policy::from_json(text).map(Verifier::new)
    }

    /// A verifier for a policy file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Verifier, Error> {
        Policy::from_file(path).map(Verifier::new)
    }

    /// A verifier for a policy as a JSON value.
    pub fn from_value(value: Value) -> Result<Verifier, Error> {
        Policy::from_value(value).map(Verifier::new)
    }

    /// A verifier for this policy plus per-route additions (extra claim
    /// rules, forwarded headers), sharing this verifier's keys and JWKS
    /// caches. Build it once per route, not per request.
    pub fn with_overlay(&self, overlay: &PolicyOverlay) -> Result<Verifier, Error> {
        self.policy.with_overlay(overlay).map(Verifier::new)
    }

    /// [`Verifier::with_overlay`] for claim rules only: `rules` is an object
    /// of rules in the policy's syntax, e.g. `{"subscribedAPIs": {"contains_all": ["orders"]}}`.
    pub fn with_claims(&self, rules: Value) -> Result<Verifier, Error> {
        self.with_overlay(&PolicyOverlay::from_claims(rules)?)
    }

    /// The compiled policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Where gateways look for the token.
    pub fn token_sources(&self) -> &[TokenSource] {
        self.policy.token_sources()
    }

    /// Number of tokens in the verified-token cache.
    pub fn cached_tokens(&self) -> usize {
        self.cache.as_ref().map_or(0, TokenCache::len)
    }

    /// Empties the verified-token cache (for instance after a key rotation).
    /// Verifications already running on other threads do not put their
    /// results back: after this returns, every token is verified in full.
    pub fn clear_cache(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
    }

    /// Verifies a compact JWS token. `now` (unix seconds) pins the clock;
    /// `None` uses the system clock; a non-finite `now` is an `invalid_argument` error.
    pub fn verify(&self, token: impl AsRef<[u8]>, now: Option<f64>) -> Result<Verified, Error> {
        let result = match now {
            // A NaN clock would make every time comparison false and so
            // accept any exp and nbf: refuse it rather than guess.
            Some(now) if !now.is_finite() => {
                Err(Error::invalid_argument("now must be a finite number of unix seconds"))
            }
            now => self.verify_counted(token.as_ref(), now.unwrap_or_else(unix_now), Wait::Policy),
        };
        self.counters.result(result.as_ref().err().map(Error::kind));
        result
    }

    /// [`Verifier::verify`] when its answer is cheap, `None` when it is not.
    ///
    /// For a binding that holds a lock while it calls in (Python's GIL):
    /// releasing and retaking the lock costs more than a cache hit or an
    /// HMAC check, but a public-key signature check or a key fetch must not
    /// hold it. Answers (and counts, exactly as `verify` does) when the
    /// token is in the verified-token cache, is refused before its
    /// signature matters (too large, not three segments, a bad header), or
    /// is a short HMAC token on the policy's own keys. Returns `None`, having
    /// counted nothing, for everything else: a public-key algorithm, a
    /// `jku` header, an issuer with remote keys for the token's algorithm;
    /// the caller then releases its lock and calls [`Verifier::verify`].
    pub fn verify_if_cheap(
        &self,
        token: impl AsRef<[u8]>,
        now: Option<f64>,
    ) -> Option<Result<Verified, Error>> {
        let token = token.as_ref();
        let result = match now {
            Some(now) if !now.is_finite() => {
                Err(Error::invalid_argument("now must be a finite number of unix seconds"))
            }
            now => {
                let now = now.unwrap_or_else(unix_now);
                match self.cached(token, now) {
                    Some(result) => result,
                    None if self.cheap_to_verify(token) => self.verify_and_cache(token, now, Wait::Policy),
                    None => return None,
                }
            }
        };
        self.counters.result(result.as_ref().err().map(Error::kind));
        Some(result)
    }

    /// Whether verifying `token` (not cached) needs no public-key operation
    /// and cannot wait for a key fetch; a token refused by its first
    /// segment counts as cheap (its answer is an error found at once).
    fn cheap_to_verify(&self, token: &[u8]) -> bool {
        if token.len() > CHEAP_TOKEN_BYTES {
            return false;
        }
        let Some(d1) = memchr::memchr(b'.', token) else { return true };
        let Ok(header) = self.headers.get_or_parse(&token[..d1]) else { return true };
        let alg = header.alg;
        alg.key_type() == crate::alg::KeyType::Oct
            && header.jku.is_none()
            && !self
                .policy
                .issuers
                .iter()
                .any(|i| i.algorithms.contains(alg) && matches!(i.keys, IssuerKeys::Remote(_)))
    }

    /// [`Verifier::verify`] for event-loop callers: never waits for a key
    /// fetch. When a remote key set (or the key id) is not loaded yet, the
    /// fetch runs in the background and this returns `jwks_unavailable`
    /// marked [`Error::is_pending`], with [`Error::retry_after_s`] set; call
    /// again later (or answer 503 with `Retry-After`).
    pub fn verify_nowait(&self, token: impl AsRef<[u8]>, now: Option<f64>) -> Result<Verified, Error> {
        let result = match now {
            Some(now) if !now.is_finite() => {
                Err(Error::invalid_argument("now must be a finite number of unix seconds"))
            }
            now => self.verify_counted(token.as_ref(), now.unwrap_or_else(unix_now), Wait::No),
        };
        self.counters.result(result.as_ref().err().map(Error::kind));
        result
    }

    /// Starts fetching every remote key set (`jwks_uri`, `discovery`)
    /// that has no usable keys yet, without waiting: for a process or an
    /// Nginx worker that just started, so its first requests find keys.
    /// Never blocks; fetches run on background threads.
    pub fn prefetch(&self) {
        let now = unix_now();
        for issuer in &self.policy.issuers {
            if let IssuerKeys::Remote(remote) = &issuer.keys {
                remote.prefetch(now);
            }
        }
    }

    /// A number no other verifier of this process has.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Counts a `report_only` decision that let a failing request through.
    pub(crate) fn count_report_only(&self) {
        self.counters.report_only();
    }

    /// Counters and remote key set states, as of `now` (unix seconds;
    /// `None` for the system clock).
    pub fn stats(&self, now: Option<f64>) -> Stats {
        let now = now.unwrap_or_else(unix_now);
        let mut key_sets = Vec::new();
        for issuer in &self.policy.issuers {
            let name = issuer.iss.as_deref().map(str::to_owned);
            if let IssuerKeys::Remote(remote) = &issuer.keys {
                key_sets.push(KeySetStats { issuer: name.clone(), remote: remote.stats(now) });
            }
            for remote in issuer.jku.iter().flat_map(|j| j.sets()) {
                key_sets.push(KeySetStats { issuer: name.clone(), remote: remote.stats(now) });
            }
        }
        self.counters.snapshot(self.cached_tokens(), key_sets)
    }

    fn verify_counted(&self, token: &[u8], now: f64, wait: Wait) -> Result<Verified, Error> {
        match self.cached(token, now) {
            Some(result) => result,
            None => self.verify_and_cache(token, now, wait),
        }
    }

    /// The answer found without verifying: a token too large, or a cache
    /// hit (counted as one). `None`: the token must be verified.
    fn cached(&self, token: &[u8], now: f64) -> Option<Result<Verified, Error>> {
        if token.len() > self.policy.max_token_bytes {
            return Some(Err(Error::new(
                ErrorKind::TooLarge,
                format!("token longer than {} bytes", self.policy.max_token_bytes),
            )));
        }
        let cache = self.cache.as_ref()?;
        let hit = cache.get(token)?;
        self.counters.cache(true);
        Some(match hit.0.window.check(now) {
            Ok(()) => Ok(hit),
            Err(e) => {
                if e.kind() == ErrorKind::Expired {
                    cache.remove(token);
                }
                Err(e)
            }
        })
    }

    /// Verifies a token [`Verifier::cached`] did not answer (a cache miss,
    /// counted here) and caches the result.
    fn verify_and_cache(&self, token: &[u8], now: f64, wait: Wait) -> Result<Verified, Error> {
        let Some(cache) = &self.cache else { return self.verify_uncached(token, now, wait) };
        self.counters.cache(false);
        let generation = cache.generation();
        let verified = self.verify_uncached(token, now, wait)?;
        cache.insert(token, verified.clone(), generation);
        Ok(verified)
    }

    fn verify_uncached(&self, token: &[u8], now: f64, wait: Wait) -> Result<Verified, Error> {
        let malformed = |m: &str| Error::new(ErrorKind::Malformed, m);
        let mut dots = memchr::memchr_iter(b'.', token);
        let (Some(d1), Some(d2), None) = (dots.next(), dots.next(), dots.next()) else {
            return Err(malformed("a token is three base64url segments separated by dots"));
        };
        let (header_b64, payload_b64, signature_b64) = (&token[..d1], &token[d1 + 1..d2], &token[d2 + 1..]);

        let header = self.headers.get_or_parse(header_b64)?;

        let payload_bytes =
            base64url::decode(payload_b64).ok_or_else(|| malformed("payload is not base64url"))?;
        let payload_text = String::from_utf8(payload_bytes).map_err(|_| malformed("payload is not UTF-8"))?;
        let policy = &self.policy;
        let mut members = Members::new();
        scan_object_into(&payload_text, &|name| policy.wants(name), &mut members)
            .map_err(|e| Error::new(ErrorKind::Malformed, format!("payload is not a JSON object: {e}")))?;

        let iss = match find(&members, "iss") {
            None => None,
            Some(ClaimRef::Str(s)) => Some(s),
            Some(_) => return Err(Error::with_claim(ErrorKind::Issuer, "iss", "iss must be a string")),
        };
        let issuer = policy
            .issuer_for(iss)
            .ok_or_else(|| Error::with_claim(ErrorKind::Issuer, "iss", "issuer not accepted"))?;
        if !issuer.algorithms.contains(header.alg) {
            return Err(Error::new(
                ErrorKind::Algorithm,
                format!("alg {} not allowed for the issuer", header.alg),
            ));
        }

        let mut signature_buf = [MaybeUninit::uninit(); MAX_SIGNATURE_BYTES];
        let signature = base64url::decode_into(signature_b64, &mut signature_buf).ok_or_else(|| {
            Error::new(ErrorKind::Signature, "signature is not base64url of a valid length")
        })?;
        if issuer.es256k_low_s && header.alg == Algorithm::ES256K && es256k_high_s(signature) {
            return Err(Error::new(
                ErrorKind::Signature,
                "high-S ES256K signature; the issuer requires low S",
            ));
        }
        verify_signature(issuer, &header, &token[..d2], signature, now, wait)?;

        // The signature holds: from here on the claims are the issuer's.
        if let Some(expected) = &issuer.typ {
            match &header.typ {
                Some(typ) if typ == expected => {}
                _ => return Err(Error::new(ErrorKind::Header, format!("header typ must be {expected}"))),
            }
        }
        let window = check_claims(issuer, &members, now)?;
        let cnf = confirmation(&members)?;
        let headers =
            forward_headers(&issuer.forward, issuer.payload_header.as_deref(), &members, payload_b64);
        drop(members);
        Ok(Verified(Arc::new(Inner {
            header_json: Arc::clone(&header.json),
            claims_json: payload_text,
            issuer: issuer.iss.clone(),
            headers,
            window,
            cnf,
            header: OnceLock::new(),
            claims: OnceLock::new(),
        })))
    }
}

/// How long a verification may wait for a key fetch.
#[derive(Clone, Copy)]
enum Wait {
    /// Up to the issuer's `initial_wait_ms`.
    Policy,
    /// Not at all ([`Verifier::verify_nowait`]).
    No,
}

/// Checks the signature with the key set the issuer and header select:
/// static keys, the issuer's JWKS cache, or an allow-listed `jku` set.
fn verify_signature(
    issuer: &Issuer,
    header: &Header,
    message: &[u8],
    signature: &[u8],
    now: f64,
    wait: Wait,
) -> Result<(), Error> {
    let kid = header.kid.as_deref();
    let jku_set;
    let remote = if let Some(jku) = &header.jku {
        let sets =
            issuer.jku.as_ref().ok_or_else(|| Error::new(ErrorKind::Header, "header jku is not trusted"))?;
        jku_set = sets.set_for(jku, now)?;
        &jku_set
    } else {
        match &issuer.keys {
            IssuerKeys::Static(keys) => return keys.verify(kid, header.alg, message, signature),
            IssuerKeys::Remote(remote) => remote,
        }
    };
    let wait = match wait {
        Wait::Policy => remote.initial_wait(),
        Wait::No => std::time::Duration::ZERO,
    };
    remote.verify(kid, header.alg, message, signature, now, wait)
}
