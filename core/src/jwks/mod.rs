//! The JWKS cache: remote key sets fetched from `jwks_uri`, `discovery` or
//! an allow-listed `jku`, kept fresh without ever making a request wait on
//! the network while usable keys are cached.
//!
//! - The verify path reads the current set through an `ArcSwap`: no lock a
//!   fetch holds, and keys are parsed at fetch time, never per token.
//! - Every fetch runs on a short-lived background thread. A caller waits at
//!   most `initial_wait_ms` for it (0: not at all), concurrent and later
//!   callers share the one fetch in flight, and nothing (dropping the
//!   verifier, exiting) ever joins that thread.
//! - Lifetime from `Cache-Control: max-age`, clamped to `[min_ttl_s,
//!   max_ttl_s]` (5 minutes when absent). From 75-90% of it (random jitter,
//!   so a fleet does not fetch together) the next verify call starts a
//!   refresh. Refreshes are conditional (`If-None-Match`,
//!   `If-Modified-Since`); a 304 keeps the set and restarts its lifetime.
//! - A failure keeps the last good set (served until it is `max_stale_s`
//!   old; after that, `jwks_unavailable`) and backs off: no fetch of this
//!   set starts before `backoff_min_ms` doubled per failure in a row (with
//!   jitter, at most `backoff_max_s`, at least a 429/503's `Retry-After`).
//! - An unknown `kid` triggers at most one refetch per `refetch_cooldown_s`.
//! - No thread exists until a fetch is needed. The fetch state (lock,
//!   condition variable, HTTP client) belongs to one process: after `fork`
//!   the child starts from a fresh one, so no in-flight marker, waiter
//!   queue or connection of the parent is inherited.
//! - `cache_file` keeps the last good set on disk for a warm start.
//!
//! All times come from the `now` of the verify call, so tests and replays
//! can pin the clock.

mod backoff;
mod cache_file;
mod fetch;
mod httpdate;
mod jku;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};
use serde_json::Value;

use crate::alg::{Algorithm, AlgorithmSet};
use crate::error::{Error, ErrorKind};
use crate::keys::{KeySet, Strictness, keyset_from_jwks};
use fetch::{Failure, Fetched, Fetcher, Validators};
pub(crate) use jku::JkuCache;

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
    /// Shortest wait after a failed fetch.
    pub backoff_min_s: f64,
    /// Longest wait after failed fetches (also caps `Retry-After`).
    pub backoff_max_s: f64,
    /// Where the last good set is kept for a warm start.
    pub cache_file: Option<PathBuf>,
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

impl RemoteSource {
    fn url(&self) -> &str {
        match self {
            RemoteSource::Jwks(url) | RemoteSource::Discovery { url, .. } => url,
        }
    }
}

/// A loaded key set and where and when it was fetched.
struct Loaded {
    keys: Arc<KeySet>,
    fetched_at: f64,
    /// The JWKS URL it came from (for discovery, the one the document named).
    jwks_url: String,
    validators: Validators,
    /// The JWKS text, kept only for `cache_file`.
    raw: Option<Arc<str>>,
}

/// The fetch state of one process: a forked child builds its own.
struct Process {
    pid: u32,
    fetcher: Fetcher,
    control: Mutex<Control>,
    fetched: Condvar,
}

#[derive(Default, Clone)]
struct Control {
    in_flight: bool,
    last_kid_refetch: Option<f64>,
    /// Failed fetches since the last success.
    failures_in_row: u32,
    /// No fetch starts before this (the backoff after a failure).
    next_attempt: f64,
    /// When the last fetch started: a set that went unusable (older than
    /// `max_stale_s`) is fetched again no sooner than `backoff_min_ms`
    /// after it, even when that fetch succeeded.
    last_start: Option<f64>,
    /// The refresh time before the fetch in flight started (meanwhile the
    /// refresh time is infinite, so the verify path does not keep asking).
    due_before: f64,
}

impl Process {
    fn lock(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a finished fetch brings.
enum Update {
    New { keys: KeySet, max_age: Option<u64>, jwks_url: String, validators: Validators, raw: String },
    NotModified { max_age: Option<u64> },
}

/// One remote key set with its cache state.
pub(crate) struct RemoteKeys {
    source: RemoteSource,
    settings: RemoteSettings,
    allowed: AlgorithmSet,
    current: ArcSwapOption<Loaded>,
    /// Earliest `now` (f64 bits) a refresh may start: the set's refresh
    /// time, moved later by the backoff after a failure.
    refresh_due: AtomicU64,
    process: ArcSwap<Process>,
    last_error: ArcSwapOption<String>,
    /// Whether a signature ever verified with this set (jku sets that never
    /// did can be evicted first).
    proven: AtomicBool,
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

impl RemoteKeys {
    pub(crate) fn new(source: RemoteSource, settings: RemoteSettings, allowed: AlgorithmSet) -> RemoteKeys {
        let process = Process {
            pid: std::process::id(),
            fetcher: Fetcher::new(&settings),
            control: Mutex::new(Control::default()),
            fetched: Condvar::new(),
        };
        let keys = RemoteKeys {
            source,
            settings,
            allowed,
            current: ArcSwapOption::empty(),
            refresh_due: AtomicU64::new(0f64.to_bits()),
            process: ArcSwap::from_pointee(process),
            last_error: ArcSwapOption::empty(),
            proven: AtomicBool::new(false),
            fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        };
        keys.warm_start();
        keys
    }

    /// Loads the set kept in `cache_file`, if it is there, safe to trust,
    /// written for this URL and not older than `max_stale_s`. It is due for
    /// a refresh at once.
    fn warm_start(&self) {
        let Some(path) = &self.settings.cache_file else { return };
        let now = crate::clock::unix_now();
        let saved = match cache_file::load(path, self.source.url(), self.settings.max_bytes) {
            Ok(Some(saved)) => saved,
            Ok(None) => return,
            Err(why) => {
                self.last_error.store(Some(Arc::new(format!("cache_file {}: {why}", path.display()))));
                return;
            }
        };
        if now - saved.fetched_at > self.settings.max_stale_s || saved.fetched_at > now + 60.0 {
            return;
        }
        let Ok(Update::New { keys, jwks_url, validators, raw, .. }) =
            self.parse_jwks(saved.jwks.as_bytes(), saved.jwks_url, saved.validators, None)
        else {
            return;
        };
        self.current.store(Some(Arc::new(Loaded {
            keys: Arc::new(keys),
            fetched_at: saved.fetched_at,
            jwks_url,
            validators,
            raw: Some(raw.into()),
        })));
        self.refresh_due.store(saved.fetched_at.to_bits(), Ordering::Relaxed);
    }

    /// The fetch state of this process, made fresh after a `fork`: the
    /// child keeps what is plain data (backoff, cooldown) when it can read
    /// it, and never the parent's in-flight marker, waiters or connections.
    fn process(&self) -> Arc<Process> {
        let pid = std::process::id();
        loop {
            let current = self.process.load_full();
            if current.pid == pid {
                return current;
            }
            // The parent's lock may have been held by a thread that does
            // not exist here: only try it.
            let control = match current.control.try_lock() {
                // A fetch the parent had in flight never ends here: it
                // neither blocks nor spaces the child's own.
                Ok(c) if c.in_flight => Control { in_flight: false, last_start: None, ..c.clone() },
                Ok(c) => c.clone(),
                Err(_) => Control::default(),
            };
            let fresh = Arc::new(Process {
                pid,
                fetcher: Fetcher::new(&self.settings),
                control: Mutex::new(control),
                fetched: Condvar::new(),
            });
            let previous = self.process.compare_and_swap(&current, Arc::clone(&fresh));
            if Arc::ptr_eq(&previous, &current) {
                // A refresh the parent had in flight does not exist here.
                let due_before = fresh.lock().due_before;
                let _ = self.refresh_due.compare_exchange(
                    f64::INFINITY.to_bits(),
                    due_before.to_bits(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                return fresh;
            }
        }
    }

    /// Verifies a signature with the set that serves `kid` at `now`,
    /// waiting at most `wait` for a fetch.
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
        wait: Duration,
    ) -> Result<(), Error> {
        let usable_now = {
            let guard = self.current.load();
            match guard.as_ref().filter(|s| self.is_usable(s, now)) {
                Some(set) => {
                    if now >= f64::from_bits(self.refresh_due.load(Ordering::Relaxed)) {
                        self.start_refresh(now);
                    }
                    if kid.is_none_or(|kid| set.keys.has_kid(kid)) {
                        return self.note(set.keys.verify(kid, alg, message, signature));
                    }
                    true
                }
                None => false,
            }
        };
        let in_flight = match kid {
            Some(kid) if usable_now => self.await_kid(kid, now, wait),
            _ => self.await_any(now, wait),
        };
        let guard = self.current.load();
        match guard.as_ref().filter(|s| self.is_usable(s, now)) {
            // While a fetch that may bring an unknown kid is in flight, the
            // answer is "try again", not "no such key".
            Some(set) if !in_flight || kid.is_none_or(|kid| set.keys.has_kid(kid)) => {
                self.note(set.keys.verify(kid, alg, message, signature))
            }
            Some(_) => Err(self.unavailable(now, true, "a fetch that may bring the key id is in flight")),
            None => {
                let why = self.last_error.load_full();
                let why = why.as_deref().map_or("no key set loaded yet", String::as_str);
                Err(self.unavailable(now, in_flight, why))
            }
        }
    }

    /// Remembers that a signature verified with this set.
    fn note(&self, result: Result<(), Error>) -> Result<(), Error> {
        if result.is_ok() && !self.proven.load(Ordering::Relaxed) {
            self.proven.store(true, Ordering::Relaxed);
        }
        result
    }

    /// How long a verification waits for a fetch (`initial_wait_ms`).
    pub(crate) fn initial_wait(&self) -> Duration {
        self.settings.initial_wait
    }

    pub(crate) fn is_proven(&self) -> bool {
        self.proven.load(Ordering::Relaxed)
    }

    /// `jwks_unavailable` with the seconds until the next fetch attempt
    /// (at least 1), pending when a fetch is in flight.
    fn unavailable(&self, now: f64, in_flight: bool, why: &str) -> Error {
        let next = self.process().lock().next_attempt;
        let retry = if in_flight { 1.0 } else { (next - now).ceil().max(1.0) };
        let error = Error::new(ErrorKind::JwksUnavailable, format!("keys unavailable: {why}"))
            .with_retry_after(retry as u64)
            .with_wait_ms(self.settings.initial_wait.as_millis().try_into().unwrap_or(u64::MAX));
        if in_flight { error.into_pending() } else { error }
    }

    fn is_usable(&self, set: &Loaded, now: f64) -> bool {
        now - set.fetched_at <= self.settings.max_stale_s
    }

    fn has_kid(&self, kid: &str) -> bool {
        self.current.load().as_ref().is_some_and(|set| set.keys.has_kid(kid))
    }

    /// No usable set: starts a fetch unless one is in flight or the backoff
    /// forbids it, then waits up to `wait` for the fetch in flight to end.
    /// Returns whether a fetch is still in flight.
    fn await_any(self: &Arc<Self>, now: f64, wait: Duration) -> bool {
        let process = self.process();
        let mut control = process.lock();
        let spaced = control.last_start.is_none_or(|at| now - at >= self.settings.backoff_min_s || now < at);
        if !control.in_flight && now >= control.next_attempt && spaced {
            self.start(&process, &mut control, now);
        }
        let deadline = Instant::now() + wait;
        while control.in_flight {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            control = process.fetched.wait_timeout(control, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        control.in_flight
    }

    /// For a token whose `kid` the current set lacks: waits, at most `wait`
    /// in all, for a set that has it. Returns whether a fetch is still in
    /// flight.
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
    fn await_kid(self: &Arc<Self>, kid: &str, now: f64, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let process = self.process();
        let mut started = false;
        let mut control = process.lock();
        loop {
            if self.has_kid(kid) {
                return control.in_flight;
            }
            if control.in_flight {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return true;
                }
                control =
                    process.fetched.wait_timeout(control, left).unwrap_or_else(PoisonError::into_inner).0;
                continue;
            }
            if started || now < control.next_attempt || !self.may_refetch_for_kid(&mut control, now) {
                return false;
            }
            started = true;
            self.start(&process, &mut control, now);
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

    /// Starts a refresh of a usable set, unless one is in flight or the
    /// backoff forbids it.
    /// Starts a fetch when no usable set is loaded (a worker that just
    /// started), without waiting for it; the backoff and spacing of every
    /// other fetch apply.
    pub(crate) fn prefetch(self: &Arc<Self>, now: f64) {
        let usable = self.current.load().as_ref().is_some_and(|s| self.is_usable(s, now));
        if !usable {
            self.await_any(now, Duration::ZERO);
        }
    }

    fn start_refresh(self: &Arc<Self>, now: f64) {
        let process = self.process();
        let mut control = process.lock();
        if !control.in_flight
            && now >= control.next_attempt
            && now >= f64::from_bits(self.refresh_due.load(Ordering::Relaxed))
        {
            self.start(&process, &mut control, now);
        }
    }

    /// Runs a fetch on a short-lived thread of its own; nothing joins it.
    fn start(self: &Arc<Self>, process: &Arc<Process>, control: &mut Control, now: f64) {
        control.in_flight = true;
        control.last_start = Some(now);
        control.due_before =
            f64::from_bits(self.refresh_due.swap(f64::INFINITY.to_bits(), Ordering::Relaxed));
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let (this, on) = (Arc::clone(self), Arc::clone(process));
        let spawned = std::thread::Builder::new().name("jwtgate-jwks".into()).spawn(move || {
            let outcome = this.fetch_set(&on.fetcher);
            this.finish(&on, outcome, now);
        });
        if spawned.is_err() {
            control.in_flight = false;
            self.fail(control, Failure::from("could not start a fetch thread"), now);
        }
    }

    /// Records a failure and backs off.
    fn fail(&self, control: &mut Control, failure: Failure, now: f64) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        control.failures_in_row = control.failures_in_row.saturating_add(1);
        let s = &self.settings;
        let delay = backoff::delay_s(
            s.backoff_min_s,
            s.backoff_max_s,
            control.failures_in_row,
            failure.retry_after_s,
        );
        control.next_attempt = now + delay;
        self.refresh_due.store(control.due_before.max(control.next_attempt).to_bits(), Ordering::Relaxed);
        self.last_error.store(Some(Arc::new(failure.why)));
    }

    fn finish(&self, process: &Process, outcome: Result<Update, Failure>, now: f64) {
        let mut control = process.lock();
        let mut saved = None;
        match outcome.and_then(|update| self.loaded(update, now)) {
            Ok((loaded, max_age)) => {
                let ttl = max_age.map_or(DEFAULT_TTL_S, |s| s as f64);
                let ttl = ttl.clamp(self.settings.min_ttl_s, self.settings.max_ttl_s);
                let loaded = Arc::new(loaded);
                saved = Some(Arc::clone(&loaded));
                self.current.store(Some(loaded));
                self.refresh_due.store((now + ttl * backoff::refresh_factor()).to_bits(), Ordering::Relaxed);
                control.failures_in_row = 0;
                control.next_attempt = f64::MIN;
                self.last_error.store(None);
            }
            Err(failure) => self.fail(&mut control, failure, now),
        }
        control.in_flight = false;
        drop(control);
        process.fetched.notify_all();
        // On this background thread, after the waiters are released.
        if let (Some(path), Some(loaded)) = (&self.settings.cache_file, saved)
            && let Some(raw) = &loaded.raw
        {
            let _ = cache_file::store(
                path,
                &cache_file::Saved {
                    url: self.source.url().to_owned(),
                    fetched_at: loaded.fetched_at,
                    jwks_url: loaded.jwks_url.clone(),
                    validators: loaded.validators.clone(),
                    jwks: raw.to_string(),
                },
            );
        }
    }

    /// The set a fetch brings: a new one, or for a 304 the current keys
    /// with a fresh fetch time.
    fn loaded(&self, update: Update, now: f64) -> Result<(Loaded, Option<u64>), Failure> {
        match update {
            Update::New { keys, max_age, jwks_url, validators, raw } => {
                let raw = self.settings.cache_file.as_ref().map(|_| Arc::from(raw));
                Ok((Loaded { keys: Arc::new(keys), fetched_at: now, jwks_url, validators, raw }, max_age))
            }
            Update::NotModified { max_age } => {
                let previous = self.current.load_full().ok_or("HTTP 304 without a cached set")?;
                let loaded = Loaded {
                    keys: Arc::clone(&previous.keys),
                    fetched_at: now,
                    jwks_url: previous.jwks_url.clone(),
                    validators: previous.validators.clone(),
                    raw: previous.raw.clone(),
                };
                Ok((loaded, max_age))
            }
        }
    }

    /// Fetches and parses the set. A set that fails to parse or holds no
    /// usable key is an error: the previous set stays.
    fn fetch_set(&self, fetcher: &Fetcher) -> Result<Update, Failure> {
        let url = match &self.source {
            RemoteSource::Jwks(url) => url.clone(),
            RemoteSource::Discovery { url, issuer } => {
                let Fetched::Body { body, .. } = fetcher.get(url, None)? else {
                    return Err("discovery: 304 to an unconditional GET".into());
                };
                let doc: Value = crate::json::parse_strict(&String::from_utf8_lossy(&body))
                    .map_err(|e| format!("discovery document is not JSON: {e}"))?;
                if let Some(expected) = issuer
                    && doc.get("issuer").and_then(Value::as_str) != Some(expected)
                {
                    return Err(format!("discovery issuer does not match {expected:?}").into());
                }
                doc.get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or("discovery document has no jwks_uri")?
                    .to_owned()
            }
        };
        let previous = self.current.load_full();
        let validators = previous.as_ref().filter(|p| p.jwks_url == url).map(|p| &p.validators);
        match fetcher.get(&url, validators)? {
            Fetched::NotModified { max_age } => Ok(Update::NotModified { max_age }),
            Fetched::Body { body, max_age, validators } => {
                self.parse_jwks(&body, url, validators, max_age).map_err(Failure::from)
            }
        }
    }

    fn parse_jwks(
        &self,
        body: &[u8],
        jwks_url: String,
        validators: Validators,
        max_age: Option<u64>,
    ) -> Result<Update, String> {
        let text = std::str::from_utf8(body).map_err(|_| "JWKS is not UTF-8".to_string())?;
        let jwks = crate::json::parse_strict(text).map_err(|e| format!("JWKS is not JSON: {e}"))?;
        let (keys, _skipped) = keyset_from_jwks(&jwks, self.allowed, Strictness::Lenient)?;
        if keys.is_empty() {
            return Err("JWKS holds no key for the issuer's algorithms".into());
        }
        Ok(Update::New { keys, max_age, jwks_url, validators, raw: text.to_owned() })
    }

    pub(crate) fn stats(&self, now: f64) -> RemoteStats {
        let current = self.current.load_full();
        RemoteStats {
            url: self.source.url().to_owned(),
            fetches: self.fetches.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            kids: current
                .as_ref()
                .map(|s| s.keys.keys().iter().filter_map(|k| k.kid().map(str::to_owned)).collect())
                .unwrap_or_default(),
            age_s: current.as_ref().map(|s| now - s.fetched_at),
            last_error: self.last_error.load_full().map(|e| e.to_string()),
        }
    }
}
