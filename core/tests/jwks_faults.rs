//! Fault injection against the JWKS fetcher: a real IdP on 127.0.0.1 that
//! hangs, drips, fails, rate-limits, redirects, rotates and answers 304;
//! `jku` URLs that try to leave their allow-list; junk `jku` floods; warm
//! starts from `cache_file`. Every test bounds latency (generously), counts
//! fetches and checks that no valid token is refused.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jwtgate::{Error, ErrorKind, Verified, Verifier, base64url_encode};
use serde_json::{Value, json};
use support::{Behavior, JwksServer, Key, jwks, key, serve};

const NOW: f64 = 1_700_000_000.0;
const ISS: &str = "https://idp.example.com/";

fn token(key: &Key) -> String {
    key.signer.sign(&json!({"iss": ISS, "sub": "ada", "exp": NOW + 1e9}), None, None).unwrap()
}

/// A token whose header names `jku` and `kid`, signed by `key`.
fn jku_token(key: &Key, kid: &str, jku: &str) -> String {
    let header = json!({"alg": "ES256", "kid": kid, "jku": jku}).to_string();
    let claims = json!({"iss": ISS, "exp": NOW + 1e9});
    let input = format!("{}.{}", base64url_encode(header), base64url_encode(claims.to_string()));
    let sig = key.signer.sign_bytes(input.as_bytes()).unwrap();
    format!("{input}.{}", base64url_encode(sig))
}

fn verifier(keys: Value) -> Verifier {
    policy(keys, json!([]))
}

fn policy(keys: Value, allowed_jku: Value) -> Verifier {
    let mut keys = keys;
    keys["allow_http"] = json!(true);
    Verifier::from_value(json!({
        "issuers": [{"issuer": ISS, "algorithms": ["ES256"], "keys": keys, "allowed_jku": allowed_jku}],
        "cache": {"max_entries": 0}
    }))
    .unwrap()
}

fn code(result: &Result<Verified, Error>) -> &'static str {
    match result {
        Ok(_) => "valid",
        Err(e) => e.code(),
    }
}

fn fetches(v: &Verifier) -> u64 {
    v.stats(Some(NOW)).key_sets.iter().map(|k| k.remote.fetches).sum()
}

fn last_error(v: &Verifier) -> String {
    v.stats(Some(NOW))
        .key_sets
        .iter()
        .filter_map(|k| k.remote.last_error.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Waits (bounded) until `f` holds, for background fetches.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `f`, asserting it returns within `bound`.
fn within<R>(bound: Duration, what: &str, f: impl FnOnce() -> R) -> R {
    let start = Instant::now();
    let r = f();
    assert!(start.elapsed() < bound, "{what} took {:?}", start.elapsed());
    r
}

const GENEROUS: Duration = Duration::from_millis(1500);

#[test]
fn a_hanging_idp_costs_each_caller_at_most_initial_wait() {
    let k1 = key("k1");
    let server = JwksServer::start(Behavior::Hang(Duration::from_secs(6)));
    let v = verifier(json!({"jwks_uri": server.jwks_url(), "initial_wait_ms": 200, "timeout_ms": 4000}));
    for i in 0..5 {
        let result = within(GENEROUS, &format!("call {i}"), || v.verify(token(&k1), None));
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::JwksUnavailable);
        assert!(err.is_pending(), "the one fetch is still in flight: {err:?}");
        assert!(err.retry_after_s().is_some_and(|s| s >= 1), "{err:?}");
    }
    // Non-blocking callers do not wait at all.
    let err = within(Duration::from_millis(500), "verify_nowait", || v.verify_nowait(token(&k1), None))
        .unwrap_err();
    assert!(err.is_pending());
    // Sequential callers shared the one fetch in flight.
    assert_eq!(server.requests(), 1);
    assert_eq!(fetches(&v), 1);
    // Dropping the verifier does not wait for the fetch either.
    within(Duration::from_millis(500), "drop", || drop(v));
}

#[test]
fn verify_nowait_reports_pending_then_verifies() {
    let (k1, k2) = (key("k1"), key("k2"));
    let server = JwksServer::start(Behavior::Slow { body: jwks(&[&k1]), delay: Duration::from_millis(600) });
    let v = verifier(json!({"jwks_uri": server.jwks_url()}));
    let err = within(Duration::from_millis(400), "first call", || v.verify_nowait(token(&k1), Some(NOW)))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::JwksUnavailable);
    assert!(err.is_pending() && err.retry_after_s() == Some(1), "{err:?}");
    assert_eq!(err.http_status(), Some(503));
    eventually("the background load", || v.verify_nowait(token(&k1), Some(NOW)).is_ok());
    // A rotation: the first token of the new key is "pending", not "no such key".
    server.set(Behavior::Slow { body: jwks(&[&k1, &k2]), delay: Duration::from_millis(600) });
    let err = within(Duration::from_millis(400), "new kid", || v.verify_nowait(token(&k2), Some(NOW + 1.0)))
        .unwrap_err();
    assert!(err.is_pending(), "{err:?}");
    eventually("the refetch", || v.verify_nowait(token(&k2), Some(NOW + 1.0)).is_ok());
    assert_eq!(server.requests(), 2);
}

#[test]
fn retry_after_on_429_bounds_the_fetches() {
    let k1 = key("k1");
    for retry_after in ["30".to_string(), httpdate_in(30)] {
        let server =
            JwksServer::start(Behavior::RetryAfter { status: 429, retry_after: retry_after.clone() });
        let v = verifier(json!({"jwks_uri": server.jwks_url()}));
        for i in 0..50 {
            let result = within(GENEROUS, "a call", || v.verify(token(&k1), Some(NOW + i as f64 * 0.5)));
            let err = result.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::JwksUnavailable, "{retry_after}");
            if i > 0 {
                assert!(err.retry_after_s().is_some_and(|s| s >= 4), "{err:?}");
            }
        }
        assert!(server.requests() <= 2, "{} GETs under Retry-After {retry_after}", server.requests());
        assert!(last_error(&v).contains("429"), "{}", last_error(&v));
        // The IdP recovers: after the Retry-After the keys load.
        server.set(serve(&[&k1]));
        assert_eq!(code(&v.verify(token(&k1), Some(NOW + 31.0))), "valid");
    }
}

/// An HTTP-date `seconds` from now.
fn httpdate_in(seconds: u64) -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + seconds;
    let (days, rest) = (t / 86_400, t % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    format!(
        "{weekday}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        months[m as usize - 1],
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[test]
fn failures_back_off_exponentially() {
    let k1 = key("k1");
    let server = JwksServer::start(Behavior::Status(500));
    let v = verifier(json!({"jwks_uri": server.jwks_url(), "backoff_min_ms": 1000, "backoff_max_s": 8}));
    // 40 s of calls, 4 a second: 1, 2, 4, then 8 s apart (x1-1.5 jitter,
    // at most 8 s): at most 9 fetches, at least 5.
    for i in 0..160 {
        let now = NOW + i as f64 * 0.25;
        let _ = within(GENEROUS, "a call", || v.verify(token(&k1), Some(now)));
        eventually("the fetch to end", || v.stats(Some(now)).key_sets[0].remote.failures == fetches(&v));
    }
    let n = server.requests();
    assert!((5..=9).contains(&n), "{n} fetches in 40 s");
    // Recovery: keys load on the next attempt, and no valid token is refused after.
    server.set(serve(&[&k1]));
    assert_eq!(code(&v.verify(token(&k1), Some(NOW + 60.0))), "valid");
}

#[test]
fn a_set_that_goes_stale_at_once_is_not_fetched_per_request() {
    let k1 = key("k1");
    let server = JwksServer::start(serve(&[&k1]));
    let v = verifier(json!({"jwks_uri": server.jwks_url(), "max_stale_s": 0, "backoff_min_ms": 1000}));
    assert_eq!(code(&v.verify(token(&k1), Some(NOW))), "valid");
    // Every later call finds the set too old: fetches stay one a second.
    for i in 1..=50 {
        let _ = within(GENEROUS, "a call", || v.verify(token(&k1), Some(NOW + i as f64 * 0.1)));
    }
    assert!(server.requests() <= 6, "{} fetches in 5 s", server.requests());
}

#[test]
fn every_fault_keeps_the_last_good_set_without_making_callers_wait() {
    let k1 = key("k1");
    for fault in [
        Behavior::Hang(Duration::from_secs(3)),
        Behavior::Drip { body: jwks(&[&k1]), every: Duration::from_millis(100) },
        Behavior::Status(500),
        Behavior::Huge(4 << 20),
        Behavior::Serve { body: "{\"keys\": [{\"kty\": \"EC\"".into(), max_age: None },
        Behavior::Serve { body: "<html>maintenance</html>".into(), max_age: None },
        Behavior::Serve { body: "{\"keys\": []}".into(), max_age: None },
        Behavior::Redirect("/elsewhere.json".into()),
        Behavior::Drop,
    ] {
        let server = JwksServer::start(serve(&[&k1]));
        server.route("/elsewhere.json", serve(&[&k1]));
        let v = verifier(
            json!({"jwks_uri": server.jwks_url(), "min_ttl_s": 60, "max_ttl_s": 60, "timeout_ms": 1000}),
        );
        assert_eq!(code(&v.verify(token(&k1), Some(NOW))), "valid");
        server.set(fault.clone());
        // Past the lifetime: a refresh starts in the background and fails;
        // every call meanwhile answers at once from the cached set.
        for i in 0..20 {
            let now = NOW + 100.0 + i as f64;
            let r =
                within(Duration::from_millis(500), &format!("{fault:?}"), || v.verify(token(&k1), Some(now)));
            assert_eq!(code(&r), "valid", "{fault:?}");
        }
        eventually("the refresh to fail", || v.stats(Some(NOW)).key_sets[0].remote.failures >= 1);
        assert!(!last_error(&v).is_empty(), "{fault:?}");
        assert!(fetches(&v) <= 1 + 5, "{fault:?}: {} fetches", fetches(&v));
        assert_eq!(server.requests_to("/elsewhere.json"), 0, "{fault:?}: a redirect was followed");
    }
}

#[test]
fn redirects_are_never_followed() {
    let k1 = key("k1");
    let server = JwksServer::start(serve(&[&k1]));
    server.route("/moved.json", Behavior::Redirect(server.jwks_url()));
    // jwks_uri
    let v = verifier(json!({"jwks_uri": format!("{}/moved.json", server.base)}));
    assert_eq!(code(&v.verify(token(&k1), Some(NOW))), "jwks_unavailable");
    assert!(last_error(&v).contains("302") && last_error(&v).contains("redirect"), "{}", last_error(&v));
    // discovery
    server.route("/.well-known/openid-configuration", Behavior::Redirect("/real-config".into()));
    let v = verifier(json!({"discovery": server.discovery_url()}));
    assert_eq!(code(&v.verify(token(&k1), Some(NOW))), "jwks_unavailable");
    assert!(last_error(&v).contains("redirect"), "{}", last_error(&v));
    assert_eq!(server.requests_to("/jwks.json"), 0);
    assert_eq!(server.requests_to("/real-config"), 0);
}

#[test]
fn an_open_redirect_under_the_jku_prefix_does_not_lead_elsewhere() {
    let (a, b) = (key("a"), key("b"));
    let server = JwksServer::start(Behavior::Status(404));
    server.route("/tenant-a/jwks.json", serve(&[&a]));
    server.route("/tenant-b/jwks.json", serve(&[&b]));
    server.route("/tenant-a/go", Behavior::Redirect(format!("{}/tenant-b/jwks.json", server.base)));
    let v = policy(static_keys(), json!([format!("{}/tenant-a/", server.base)]));
    let forged = jku_token(&b, "b", &format!("{}/tenant-a/go", server.base));
    assert_ne!(code(&v.verify(&forged, Some(NOW))), "valid");
    assert_eq!(server.requests_to("/tenant-b/jwks.json"), 0);
    // The tenant's own set still works.
    let good = jku_token(&a, "a", &format!("{}/tenant-a/jwks.json", server.base));
    assert_eq!(code(&v.verify(&good, Some(NOW))), "valid");
}

/// An issuer's own (static) keys, beside its `jku` allow-list.
fn static_keys() -> Value {
    json!({"jwks": {"keys": [key("static").jwk]}})
}

#[test]
fn encoded_traversal_out_of_a_jku_prefix_is_refused() {
    let (a, b) = (key("a"), key("b"));
    let server = JwksServer::start(Behavior::Status(404));
    server.route("/tenant-a/jwks.json", serve(&[&a]));
    server.route("/tenant-b/jwks.json", serve(&[&b]));
    let base = &server.base;
    let v = policy(static_keys(), json!([format!("{base}/tenant-a/")]));
    for jku in [
        format!("{base}/tenant-a/%2e%2e/tenant-b/jwks.json"),
        format!("{base}/tenant-a/.%2e/tenant-b/jwks.json"),
        format!("{base}/tenant-a/%2E%2E%2Ftenant-b%2Fjwks.json"),
        format!("{base}/tenant-a/%2e%2E/tenant-b/jwks.json"),
        format!("{base}/tenant-a/..%2ftenant-b%2fjwks.json"),
        format!("{base}/tenant-a/..%5Ctenant-b%5Cjwks.json"),
        format!("{base}/tenant-a/%252e%252e/tenant-b/jwks.json"),
        format!("{base}/tenant-a/../tenant-b/jwks.json"),
        format!("{base}/tenant-a\\..\\tenant-b/jwks.json"),
        format!("{base}/tenant-a/jwks.json/../../tenant-b/jwks.json"),
        format!("{base}/tenant-a/jwks.json?tenant=b"),
        format!("{base}/tenant-a/jwks.json#b"),
        format!("http://user@{}/tenant-a/jwks.json", base.trim_start_matches("http://")),
        format!("{base}/tenant-a"),
        format!("{base}/tenant-ab/jwks.json"),
    ] {
        let result = v.verify(jku_token(&b, "b", &jku), Some(NOW));
        assert_eq!(code(&result), "header", "{jku}");
    }
    assert_eq!(server.requests_to("/tenant-b/jwks.json"), 0);
    assert_eq!(v.stats(Some(NOW)).key_sets.len(), 0);
    let good = jku_token(&a, "a", &format!("{base}/tenant-a/jwks.json"));
    assert_eq!(code(&v.verify(&good, Some(NOW))), "valid");
}

#[test]
fn junk_jku_urls_neither_push_out_nor_block_working_ones() {
    let (a, a2, junk, forger) = (key("a"), key("a2"), key("j"), key("j"));
    let server = JwksServer::start(serve(&[&junk]));
    server.route("/tenant-a/jwks.json", serve(&[&a]));
    server.route("/tenant-a/new.json", serve(&[&a2]));
    let base = &server.base;
    let v = {
        let mut keys = static_keys();
        keys["refetch_cooldown_s"] = json!(30);
        policy(keys, json!([format!("{base}/tenant-a/")]))
    };
    let good = jku_token(&a, "a", &format!("{base}/tenant-a/jwks.json"));
    assert_eq!(code(&v.verify(&good, Some(NOW))), "valid");
    // 40 junk URLs, each serving a real JWKS, with forged signatures.
    for i in 0..40 {
        let now = NOW + 1.0 + i as f64 * 0.5;
        let forged = jku_token(&forger, "j", &format!("{base}/tenant-a/junk-{i}.json"));
        let r = within(GENEROUS, "a junk call", || v.verify(&forged, Some(now)));
        assert_ne!(code(&r), "valid");
        // The working set stays, without refetching.
        assert_eq!(code(&v.verify(&good, Some(now))), "valid");
    }
    let junk_fetches = server.requests() - 1;
    assert!(junk_fetches <= 4, "{junk_fetches} junk fetches in 20 s (4 new URLs per 30 s)");
    assert_eq!(server.requests_to("/tenant-a/jwks.json"), 1);
    // A new working URL after the cooldown loads and verifies.
    let newcomer = jku_token(&a2, "a2", &format!("{base}/tenant-a/new.json"));
    assert_eq!(code(&v.verify(&newcomer, Some(NOW + 40.0))), "valid");
    assert_eq!(code(&v.verify(&good, Some(NOW + 40.0))), "valid");
    assert!(v.stats(Some(NOW)).key_sets.len() <= 16 + 4);
}

#[test]
fn conditional_refresh_keeps_the_set_on_304_and_restarts_its_lifetime() {
    let k1 = key("k1");
    for (etag, last_modified) in [("\"v1\"", ""), ("", "Tue, 14 Nov 2023 22:13:20 GMT")] {
        let server = JwksServer::start(Behavior::Tagged {
            body: jwks(&[&k1]),
            etag: etag.into(),
            last_modified: last_modified.into(),
            max_age: Some(60),
        });
        let v = verifier(json!({"jwks_uri": server.jwks_url(), "min_ttl_s": 60, "max_ttl_s": 60}));
        assert_eq!(code(&v.verify(token(&k1), Some(NOW))), "valid");
        assert_eq!(code(&v.verify(token(&k1), Some(NOW + 70.0))), "valid");
        eventually("the conditional refresh", || {
            v.stats(Some(NOW + 70.0)).key_sets[0].remote.age_s == Some(0.0)
        });
        assert_eq!((fetches(&v), server.not_modified()), (2, 1));
        let stats = v.stats(Some(NOW + 70.0));
        assert_eq!(stats.key_sets[0].remote.age_s, Some(0.0), "the lifetime restarted");
        assert_eq!(stats.key_sets[0].remote.kids, ["k1"]);
        assert_eq!(stats.key_sets[0].remote.last_error, None);
        // Within the new lifetime: no fetch.
        assert_eq!(code(&v.verify(token(&k1), Some(NOW + 100.0))), "valid");
        assert_eq!(server.requests(), 2);
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jwtgate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn cache_file_warm_starts_during_an_outage() {
    use std::os::unix::fs::PermissionsExt;
    let k1 = key("k1");
    let dir = temp_dir("cache");
    let file = dir.join("idp.json");
    let server = JwksServer::start(serve(&[&k1]));
    let keys = json!({"jwks_uri": server.jwks_url(), "cache_file": file.to_str().unwrap()});
    let first = verifier(keys.clone());
    assert_eq!(code(&first.verify(token(&k1), None)), "valid");
    eventually("the cache file", || file.exists());
    assert_eq!(mode(&file), 0o600);

    // The IdP goes down; a new worker still verifies from the file at once.
    server.set(Behavior::Status(503));
    let second = verifier(keys.clone());
    let r = within(Duration::from_millis(500), "warm start", || second.verify(token(&k1), None));
    assert_eq!(code(&r), "valid");
    drop((first, second));

    // A file written for another URL is ignored.
    let other = JwksServer::start(Behavior::Status(503));
    let elsewhere = verifier(json!({"jwks_uri": other.jwks_url(), "cache_file": file.to_str().unwrap()}));
    assert_eq!(code(&elsewhere.verify(token(&k1), None)), "jwks_unavailable");

    // Writable by others, owned by someone else, or a symbolic link: refused.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o622)).unwrap();
    let loose = verifier(keys.clone());
    assert!(last_error(&loose).contains("writable by group or others"), "{}", last_error(&loose));
    assert_eq!(code(&loose.verify(token(&k1), None)), "jwks_unavailable");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.join("link.json");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let linked = verifier(json!({"jwks_uri": server.jwks_url(), "cache_file": link.to_str().unwrap()}));
    assert!(last_error(&linked).contains("symbolic link"), "{}", last_error(&linked));
    assert_eq!(code(&linked.verify(token(&k1), None)), "jwks_unavailable");
    if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&dir).unwrap()) == 0 {
        std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
        let foreign = verifier(keys.clone());
        assert!(last_error(&foreign).contains("owned by uid 65534"), "{}", last_error(&foreign));
        assert_eq!(code(&foreign.verify(token(&k1), None)), "jwks_unavailable");
        std::os::unix::fs::chown(&file, Some(0), None).unwrap();
    }
    // Back in order, it warm-starts again; too old a file does not.
    let again = verifier(keys.clone());
    assert_eq!(code(&again.verify(token(&k1), None)), "valid");
    let strict = verifier(
        json!({"jwks_uri": server.jwks_url(), "cache_file": file.to_str().unwrap(), "max_stale_s": 0}),
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(code(&strict.verify(token(&k1), None)), "jwks_unavailable");
    // jku sets never use one.
    let err = Verifier::from_value(
        json!({"issuers": [{"algorithms": ["ES256"], "allowed_jku": ["https://idp.example/"],
        "keys": {"jwks": {"keys": [key("static").jwk]}, "cache_file": "x.json"}}]}),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Policy);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn prefetch_starts_the_first_fetch_without_waiting() {
    let k1 = key("k1");
    let server = JwksServer::start(Behavior::Slow { body: jwks(&[&k1]), delay: Duration::from_millis(600) });
    let v = verifier(json!({"jwks_uri": server.jwks_url()}));
    within(Duration::from_millis(200), "prefetch", || v.prefetch());
    eventually("the prefetched set", || server.requests() == 1 && fetches(&v) == 1);
    eventually("keys without a wait", || v.verify_nowait(token(&k1), None).is_ok());
    within(Duration::from_millis(200), "a second prefetch", || v.prefetch());
    assert_eq!(server.requests(), 1, "a loaded set is not fetched again");
}
