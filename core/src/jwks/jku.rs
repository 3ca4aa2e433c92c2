//! `jku` key sets: the allow-list match of a token's `jku` URL and the
//! bounded cache of the sets fetched through it.
//!
//! Matching parses URLs (WHATWG rules, as an HTTP client would) instead of
//! comparing text:
//!
//! - the `jku` must be printable ASCII without `%` (so no percent-encoded
//!   dot, slash or backslash in any case, and no double encoding), without
//!   `\` and without `.` or `..` segments, and must have no userinfo, query
//!   or fragment;
//! - scheme, host and port must equal an allow-list entry's exactly
//!   (`https`, or `http` with `allow_http`);
//! - the entry's path segments must be the first segments of the `jku`'s
//!   path, which must name a document below them. The parsed URL is what
//!   is fetched and cached.
//!
//! A query is refused rather than matched: a query string can select
//! another tenant's keys on a server whose path is trusted.
//!
//! The cache holds at most [`MAX_UNPROVEN`] sets that never verified a
//! signature; a new URL pushes out the least recently used of them and
//! trims the sets that did verify one to the [`MAX_PROVEN`] most recently
//! used (so at most 20 in all): URLs whose tokens never verify can only
//! push out each other.
//! At most [`NEW_PER_COOLDOWN`] sets of URLs not in the cache are created
//! per `refetch_cooldown_s` and issuer, which bounds the fetches junk URLs
//! cause; each set then has the backoff and cooldown of any remote set.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use url::Url;

use super::{RemoteKeys, RemoteSettings, RemoteSource};
use crate::alg::AlgorithmSet;
use crate::error::{Error, ErrorKind};

/// Most `jku` sets that verified a signature kept per issuer.
pub(crate) const MAX_PROVEN: usize = 16;
/// Most `jku` sets that have not verified a signature kept per issuer.
pub(crate) const MAX_UNPROVEN: usize = 4;
/// Most sets created for new `jku` URLs per `refetch_cooldown_s`.
pub(crate) const NEW_PER_COOLDOWN: usize = 4;

/// A parsed allow-list entry.
#[derive(Debug)]
struct Prefix {
    scheme: String,
    host: String,
    port: Option<u16>,
    segments: Vec<String>,
}

struct Entry {
    url: String,
    set: Arc<RemoteKeys>,
    used: u64,
}

#[derive(Default)]
struct State {
    entries: Vec<Entry>,
    tick: u64,
    /// When the latest sets for new URLs were created.
    created: VecDeque<f64>,
}

/// The `jku` allow-list of an issuer and the sets fetched through it.
pub(crate) struct JkuCache {
    prefixes: Vec<Prefix>,
    settings: RemoteSettings,
    allowed: AlgorithmSet,
    state: Mutex<State>,
}

/// Parses a URL the way both allow-list entries and `jku` values must be
/// written; the error says why not.
fn parse(text: &str, allow_http: bool) -> Result<Url, &'static str> {
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("not printable ASCII without spaces");
    }
    if text.contains(['%', '\\']) {
        return Err("percent-encoding and backslashes are refused");
    }
    if text.split('/').any(|segment| segment == "." || segment == "..") {
        return Err("dot segments are refused");
    }
    let url = Url::parse(text).map_err(|_| "not a URL")?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err("plain http needs \"allow_http\": true"),
        _ => return Err("not an http(s) URL"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("userinfo is refused");
    }
    if url.query().is_some() {
        return Err("a query is refused");
    }
    if url.fragment().is_some() {
        return Err("a fragment is refused");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host");
    }
    Ok(url)
}

fn segments(url: &Url) -> Vec<String> {
    url.path_segments().map(|s| s.map(str::to_owned).collect()).unwrap_or_default()
}

impl JkuCache {
    pub(crate) fn new(
        prefixes: &[String],
        settings: RemoteSettings,
        allowed: AlgorithmSet,
    ) -> Result<Self, Error> {
        let mut parsed = Vec::with_capacity(prefixes.len());
        for text in prefixes {
            let bad = |why: &str| Error::policy(format!("keys.allowed_jku: {text:?}: {why}"));
            let url = parse(text, settings.allow_http).map_err(bad)?;
            let mut segments = segments(&url);
            if !text.ends_with('/') || segments.pop().as_deref() != Some("") {
                return Err(bad(
                    "must name a host and end with '/', so it cannot match another host or path",
                ));
            }
            parsed.push(Prefix {
                scheme: url.scheme().to_owned(),
                host: url.host_str().unwrap_or_default().to_owned(),
                port: url.port_or_known_default(),
                segments,
            });
        }
        Ok(JkuCache { prefixes: parsed, settings, allowed, state: Mutex::new(State::default()) })
    }

    /// The URL to fetch for an allowed `jku`, resolved; `None` when refused.
    fn resolve(&self, jku: &str) -> Option<String> {
        let url = parse(jku, self.settings.allow_http).ok()?;
        let path = segments(&url);
        let inside = |p: &Prefix| {
            p.scheme == url.scheme()
                && Some(p.host.as_str()) == url.host_str()
                && p.port == url.port_or_known_default()
                && path.len() > p.segments.len()
                && path.starts_with(&p.segments)
                && path.last().is_some_and(|s| !s.is_empty())
        };
        self.prefixes.iter().any(inside).then(|| url.into())
    }

    /// The cached set for an allowed `jku` at `now`: a `header` error when
    /// the URL is refused, `jwks_unavailable` when too many new URLs came
    /// in the last `refetch_cooldown_s`.
    pub(crate) fn set_for(&self, jku: &str, now: f64) -> Result<Arc<RemoteKeys>, Error> {
        let url = self
            .resolve(jku)
            .ok_or_else(|| Error::new(ErrorKind::Header, "header jku is not in the allow-list"))?;
        let mut state = self.state.lock();
        state.tick += 1;
        let tick = state.tick;
        if let Some(entry) = state.entries.iter_mut().find(|e| e.url == url) {
            entry.used = tick;
            return Ok(Arc::clone(&entry.set));
        }
        let cooldown = self.settings.refetch_cooldown_s;
        while state.created.front().is_some_and(|&at| now - at >= cooldown || now < at) {
            state.created.pop_front();
        }
        if state.created.len() >= NEW_PER_COOLDOWN {
            let wait = state.created.front().map_or(1.0, |&at| (at + cooldown - now).ceil().max(1.0));
            return Err(Error::new(ErrorKind::JwksUnavailable, "too many new jku URLs: try again later")
                .with_retry_after(wait as u64));
        }
        state.created.push_back(now);
        // Room for the newcomer among the sets that have not verified yet,
        // and no more proven sets than the bound.
        evict(&mut state.entries, false, MAX_UNPROVEN - 1);
        evict(&mut state.entries, true, MAX_PROVEN);
        let mut settings = self.settings.clone();
        settings.cache_file = None;
        let set = Arc::new(RemoteKeys::new(RemoteSource::Jwks(url.clone()), settings, self.allowed));
        state.entries.push(Entry { url, set: Arc::clone(&set), used: tick });
        Ok(set)
    }

    pub(crate) fn sets(&self) -> Vec<Arc<RemoteKeys>> {
        self.state.lock().entries.iter().map(|e| Arc::clone(&e.set)).collect()
    }
}

/// Drops the least recently used entries of one kind (proven or not)
/// until at most `keep` of that kind remain.
fn evict(entries: &mut Vec<Entry>, proven: bool, keep: usize) {
    loop {
        let of_kind = entries.iter().filter(|e| e.set.is_proven() == proven);
        if of_kind.clone().count() <= keep {
            return;
        }
        let Some(oldest) = of_kind.min_by_key(|e| e.used).map(|e| e.used) else { return };
        entries.retain(|e| e.used != oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(prefixes: &[&str]) -> JkuCache {
        let settings = RemoteSettings {
            allow_http: false,
            min_ttl_s: 60.0,
            max_ttl_s: 60.0,
            refetch_cooldown_s: 30.0,
            max_stale_s: 60.0,
            initial_wait: std::time::Duration::ZERO,
            timeout: std::time::Duration::from_secs(1),
            max_bytes: 1024,
            ca_certs: None,
            backoff_min_s: 1.0,
            backoff_max_s: 300.0,
            cache_file: None,
        };
        let prefixes: Vec<String> = prefixes.iter().map(|p| p.to_string()).collect();
        JkuCache::new(&prefixes, settings, AlgorithmSet::default()).unwrap()
    }

    #[test]
    fn matches_by_parsed_parts_and_refuses_tricks() {
        let c = cache(&["https://idp.example/tenant-a/"]);
        let ok = "https://idp.example/tenant-a/jwks.json";
        assert_eq!(c.resolve(ok).as_deref(), Some(ok));
        assert_eq!(
            c.resolve("https://IDP.example:443/tenant-a/keys/jwks.json").as_deref(),
            Some("https://idp.example/tenant-a/keys/jwks.json")
        );
        for refused in [
            "https://idp.example/tenant-a/../tenant-b/jwks.json",
            "https://idp.example/tenant-a/./jwks.json",
            "https://idp.example/tenant-a/../tenant-a/jwks.json",
            "https://idp.example/tenant-a/%2e%2e/tenant-b/jwks.json",
            "https://idp.example/tenant-a/.%2e/tenant-b/jwks.json",
            "https://idp.example/tenant-a/%2E%2E%2Ftenant-b%2Fjwks.json",
            "https://idp.example/tenant-a/..%2ftenant-b/jwks.json",
            "https://idp.example/tenant-a/..%5ctenant-b/jwks.json",
            "https://idp.example/tenant-a\\..\\tenant-b/jwks.json",
            "https://idp.example/tenant-a/%252e%252e/tenant-b/jwks.json",
            "https://idp.example/tenant-a/jwks.json?tenant=b",
            "https://idp.example/tenant-a/jwks.json#x",
            "https://idp.example/tenant-a/jwks.json#",
            "https://user@idp.example/tenant-a/jwks.json",
            "https://idp.example@evil.example/tenant-a/jwks.json",
            "https://idp.example:8443/tenant-a/jwks.json",
            "http://idp.example/tenant-a/jwks.json",
            "https://idp.example.evil/tenant-a/jwks.json",
            "https://idp.example/tenant-a",
            "https://idp.example/tenant-a/",
            "https://idp.example/tenant-ab/jwks.json",
            "https://idp.example/tenant-a/\tjwks.json",
            " https://idp.example/tenant-a/jwks.json",
            "https://idp.example/tenant-a/jwks.json\n",
        ] {
            assert_eq!(c.resolve(refused), None, "{refused}");
        }
    }
}
