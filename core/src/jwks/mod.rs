//! The JWKS cache: remote key sets fetched from `jwks_uri`, `discovery` or
//! an allow-listed `jku`, kept fresh without ever making a request wait on
//! the network while usable keys are cached.
//!
//! - The verify path reads the current set through an `ArcSwap`: no lock a
//!   fetch holds, and keys are parsed at fetch time, never per token.
//! - Lifetime from `Cache-Control: max-age`, clamped to `[min_ttl_s,
//!   max_ttl_s]` (5 minutes when absent). From 75-90% of it (random jitter,
//!   so a fleet does not fetch together) the next verify call starts a
//!   refresh on a short-lived background thread.
//! - Stale-if-error: a failed refresh keeps the last good set, served until
//!   it is `max_stale_s` old; after that, `jwks_unavailable`.
//! - First use waits up to `initial_wait_ms` for the first fetch (0 fails
//!   fast); concurrent callers share that one fetch.
//! - An unknown `kid` triggers at most one refetch per `refetch_cooldown_s`.
//! - No thread exists until a fetch is needed, and an in-flight marker from
//!   another process (after `fork`) is ignored, so a verifier made before
//!   a fork keeps working in the children.
//!
//! All times come from the `now` of the verify call, so tests and replays
//! can pin the clock.

mod fetch;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use parking_lot::{Condvar, Mutex};
use serde_json::Value;

use crate::alg::{Algorithm, AlgorithmSet};
use crate::error::{Error, ErrorKind};
use crate::keys::{KeySet, Strictness, keyset_from_jwks};
use fetch::Fetcher;

/// Fetch settings of a remote key source (the `keys` section of an issuer).
#[derive(Debug, Clone)]
pub(crate) struct RemoteSettings {
    pub allow_http: bool,
    pub min_ttl_s: f64,
    pub max_ttl_s: f64,
    pub refetch_cooldown_s: f64,
    pub max_stale_s: f64,
    pub initial_wait: Duration,
    pub timeout: Duration,
    pub max_bytes: u64,
    /// CA certificates (DER) trusted instead of Mozilla's roots.
    pub ca_certs: Option<Vec<Vec<u8>>>,
}

/// Lifetime used when the endpoint sends no `max-age`.
const DEFAULT_TTL_S: f64 = 300.0;

/// Where the set comes from.
#[derive(Debug, Clone)]
pub(crate) enum RemoteSource {
    /// A JWKS URL.
    Jwks(String),
    /// An OpenID configuration URL; `issuer` (when known) must match it.
    Discovery { url: String, issuer: Option<String> },
}

/// A loaded key set and when it was fetched.
pub(crate) struct Loaded {
    pub keys: KeySet,
    pub fetched_at: f64,
    refresh_at: f64,
}

#[derive(Default)]
struct Control {
    /// Process id of the fetch in flight, if any.
    in_flight: Option<u32>,
    /// Bumped after every fetch, so waiters know one finished.
    generation: u64,
    last_kid_refetch: Option<f64>,
    last_error: Option<String>,
}

/// One remote key set with its cache state.
pub(crate) struct RemoteKeys {
    source: RemoteSource,
    settings: RemoteSettings,
    allowed: AlgorithmSet,
    fetcher: Fetcher,
    current: ArcSwapOption<Loaded>,
    control: Mutex<Control>,
    fetched: Condvar,
    fetches: AtomicU64,
    failures: AtomicU64,
}

/// A snapshot of one remote set's counters.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RemoteStats {
    /// The URL keys (or the discovery document) come from.
    pub url: String,
    /// Fetches attempted.
    pub fetches: u64,
    /// Fetches that failed (network, status, size, parse, issuer mismatch).
    pub failures: u64,
    /// Key ids in the current set.
    pub kids: Vec<String>,
    /// Age of the current set in seconds at `now`, if one is loaded.
    pub age_s: Option<f64>,
    /// The last fetch error, if the last fetch failed.
    pub last_error: Option<String>,
}

fn unavailable(why: impl Into<String>) -> Error {
    Error::new(ErrorKind::JwksUnavailable, why)
}

/// A factor in [0.75, 0.9): when in a set's lifetime to refresh it.
fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let _ = aws_lc_rs::rand::fill(&mut b);
    0.75 + 0.15 * (u16::from_le_bytes(b) as f64 / 65536.0)
}

impl RemoteKeys {
    pub(crate) fn new(source: RemoteSource, settings: RemoteSettings, allowed: AlgorithmSet) -> RemoteKeys {
        let fetcher = Fetcher::new(&settings);
        RemoteKeys {
            source,
            settings,
            allowed,
            fetcher,
            current: ArcSwapOption::empty(),
            control: Mutex::new(Control::default()),
            fetched: Condvar::new(),
            fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// Verifies a signature with the set that serves `kid` at `now`.
    ///
    /// The common case reads the current set through an `arc_swap` guard:
    /// no lock, and no shared reference count that threads would fight
    /// over. Only a missing, too stale or kid-less set goes further.
    pub(crate) fn verify(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
        now: f64,
    ) -> Result<(), Error> {
        {
            let guard = self.current.load();
            if let Some(set) = guard.as_ref().filter(|s| self.is_usable(s, now)) {
                let known = kid.is_none_or(|kid| set.keys.has_kid(kid));
                if now >= set.refresh_at {
                    self.refresh_in_background(now);
                }
                if known {
                    return set.keys.verify(kid, alg, message, signature);
                }
                // An unknown kid: wait (bounded) for a set that has it, then
                // verify with whatever set is current.
                drop(guard);
                if let Some(kid) = kid {
                    self.await_kid(kid, now);
                }
                return self.with_usable(now, |keys| keys.verify(kid, alg, message, signature));
            }
        }
        // Nothing usable: wait (bounded) for a fetch, shared with others.
        self.fetch_and_wait(now, self.settings.initial_wait);
        self.with_usable(now, |keys| keys.verify(kid, alg, message, signature))
    }

    fn is_usable(&self, set: &Loaded, now: f64) -> bool {
        now - set.fetched_at <= self.settings.max_stale_s
    }

    /// Runs `f` on the current set if it is usable, else `jwks_unavailable`.
    fn with_usable<R>(&self, now: f64, f: impl FnOnce(&KeySet) -> Result<R, Error>) -> Result<R, Error> {
        let guard = self.current.load();
        match guard.as_ref().filter(|s| self.is_usable(s, now)) {
            Some(set) => f(&set.keys),
            None => {
                let why =
                    self.control.lock().last_error.clone().unwrap_or_else(|| "no key set loaded yet".into());
                Err(unavailable(format!("keys unavailable: {why}")))
            }
        }
    }

    /// Claims the per-cooldown unknown-`kid` refetch, if it is free.
    fn may_refetch_for_kid(&self, control: &mut Control, now: f64) -> bool {
        match control.last_kid_refetch {
            Some(at) if now - at < self.settings.refetch_cooldown_s && now >= at => false,
            _ => {
                control.last_kid_refetch = Some(now);
                true
            }
        }
    }

    /// Starts a fetch unless one is in flight in this process, and waits up
    /// to `wait` for a fetch to finish.
    fn fetch_and_wait(self: &Arc<Self>, now: f64, wait: Duration) {
        let mut control = self.control.lock();
        let generation = control.generation;
        if !self.claim(&mut control) {
            if !wait.is_zero() {
                let _ = self.fetched.wait_while_for(&mut control, |c| c.generation == generation, wait);
            }
            return;
        }
        drop(control);
        if wait.is_zero() {
            // Fail fast now, but still load the keys for the next request.
            self.run_in_background(now);
            return;
        }
        self.run_fetch(now);
    }

    /// For a token whose `kid` the current set lacks: waits, at most
    /// `timeout` in all, for a set that has it.
    ///
    /// - A fetch in flight (a background refresh, another request's
    ///   refetch) is waited for first: it may bring the new key.
    /// - If the kid is still missing and nothing is in flight, this request
    ///   starts a fetch of its own, so the set it ends with was fetched after
    ///   it arrived (a fetch already in flight may have been sent before the
    ///   issuer rotated). These fetches, and only these, are what
    ///   `refetch_cooldown_s` limits: one per cooldown however many unknown
    ///   kids arrive. A request that only waited leaves the cooldown free,
    ///   so a rotation right after it still gets its fetch.
    fn await_kid(self: &Arc<Self>, kid: &str, now: f64) {
        let deadline = Instant::now() + self.settings.timeout;
        let has_kid = || self.current.load().as_ref().is_some_and(|set| set.keys.has_kid(kid));
        let mut started = false;
        let mut control = self.control.lock();
        loop {
            if has_kid() {
                return;
            }
            if control.in_flight == Some(std::process::id()) {
                let generation = control.generation;
                let waited =
                    self.fetched.wait_while_until(&mut control, |c| c.generation == generation, deadline);
                if waited.timed_out() {
                    return;
                }
                continue;
            }
            if started || !self.may_refetch_for_kid(&mut control, now) {
                return;
            }
            started = true;
            self.claim(&mut control);
            drop(control);
            self.run_in_background(now);
            control = self.control.lock();
        }
    }

    fn refresh_in_background(self: &Arc<Self>, now: f64) {
        let mut control = self.control.lock();
        if self.claim(&mut control) {
            drop(control);
            self.run_in_background(now);
        }
    }

    /// Runs a claimed fetch on a short-lived thread.
    fn run_in_background(self: &Arc<Self>, now: f64) {
        let this = Arc::clone(self);
        let spawned =
            std::thread::Builder::new().name("jwtgate-jwks".into()).spawn(move || this.run_fetch(now));
        if spawned.is_err() {
            self.finish(Err("could not start a fetch thread".into()), now);
        }
    }

    /// Marks a fetch in flight; false when one already is (in this process).
    fn claim(&self, control: &mut Control) -> bool {
        let pid = std::process::id();
        if control.in_flight == Some(pid) {
            return false;
        }
        control.in_flight = Some(pid);
        true
    }

    fn run_fetch(&self, now: f64) {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let outcome = self.fetch_set();
        self.finish(outcome, now);
    }

    fn finish(&self, outcome: Result<(KeySet, Option<u64>), String>, now: f64) {
        let mut control = self.control.lock();
        match outcome {
            Ok((keys, max_age)) => {
                let ttl = max_age.map_or(DEFAULT_TTL_S, |s| s as f64);
                let ttl = ttl.clamp(self.settings.min_ttl_s, self.settings.max_ttl_s);
                self.current.store(Some(Arc::new(Loaded {
                    keys,
                    fetched_at: now,
                    refresh_at: now + ttl * jitter(),
                })));
                control.last_error = None;
            }
            Err(why) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                control.last_error = Some(why);
            }
        }
        control.in_flight = None;
        control.generation += 1;
        drop(control);
        self.fetched.notify_all();
    }

    /// Fetches and parses the set. A set that fails to parse or holds no
    /// usable key is an error: the previous set stays.
    fn fetch_set(&self) -> Result<(KeySet, Option<u64>), String> {
        let url = match &self.source {
            RemoteSource::Jwks(url) => url.clone(),
            RemoteSource::Discovery { url, issuer } => {
                let doc = self.fetcher.get(url)?;
                let doc: Value = crate::json::parse_strict(&String::from_utf8_lossy(&doc.body))
                    .map_err(|e| format!("discovery document is not JSON: {e}"))?;
                if let Some(expected) = issuer
                    && doc.get("issuer").and_then(Value::as_str) != Some(expected)
                {
                    return Err(format!("discovery issuer does not match {expected:?}"));
                }
                doc.get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or("discovery document has no jwks_uri")?
                    .to_owned()
            }
        };
        let fetched = self.fetcher.get(&url)?;
        let text = std::str::from_utf8(&fetched.body).map_err(|_| "JWKS is not UTF-8".to_string())?;
        let jwks = crate::json::parse_strict(text).map_err(|e| format!("JWKS is not JSON: {e}"))?;
        let (keys, _skipped) = keyset_from_jwks(&jwks, self.allowed, Strictness::Lenient)?;
        if keys.is_empty() {
            return Err("JWKS holds no key for the issuer's algorithms".into());
        }
        Ok((keys, fetched.max_age))
    }

    pub(crate) fn stats(&self, now: f64) -> RemoteStats {
        let current = self.current.load_full();
        RemoteStats {
            url: match &self.source {
                RemoteSource::Jwks(url) | RemoteSource::Discovery { url, .. } => url.clone(),
            },
            fetches: self.fetches.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            kids: current
                .as_ref()
                .map(|s| s.keys.keys().iter().filter_map(|k| k.kid().map(str::to_owned)).collect())
                .unwrap_or_default(),
            age_s: current.as_ref().map(|s| now - s.fetched_at),
            last_error: self.control.lock().last_error.clone(),
        }
    }
}
