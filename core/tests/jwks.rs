//! The JWKS cache against a real HTTP endpoint on 127.0.0.1.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jwtgate::{ErrorKind, Verifier};
use serde_json::{Value, json};
use support::{Behavior, JwksServer, Key, jwks, key, serve};

const NOW: f64 = 1_700_000_000.0;
const ISS: &str = "https://idp.example.com/";

fn token(key: &Key) -> String {
    key.signer.sign(&json!({"iss": ISS, "sub": "ada", "exp": NOW + 1e6}), None, None).unwrap()
}

fn verifier(keys: Value) -> Verifier {
    let mut keys = keys;
    keys["allow_http"] = json!(true);
    Verifier::from_value(json!({
        "issuers": [{"issuer": ISS, "algorithms": ["ES256"], "keys": keys}],
        "cache": {"max_entries": 0}
    }))
    .unwrap()
}

fn fetches(v: &Verifier) -> u64 {
    v.stats(Some(NOW)).key_sets.iter().map(|k| k.remote.fetches).sum()
}

fn failures(v: &Verifier) -> u64 {
    v.stats(Some(NOW)).key_sets.iter().map(|k| k.remote.failures).sum()
}

fn code(result: Result<jwtgate::Verified, jwtgate::Error>) -> &'static str {
    match result {
        Ok(_) => "valid",
        Err(e) => e.code(),
    }
}

/// Waits (bounded) until `f` holds, for background fetches.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn fetches_once_and_serves_from_cache() {
    let k1 = key("k1");
    let server = JwksServer::start(serve(&[&k1]));
    let v = verifier(json!({"jwks_uri": server.jwks_url()}));
    for _ in 0..20 {
        assert_eq!(code(v.verify(token(&k1), Some(NOW))), "valid");
    }
    assert_eq!(fetches(&v), 1);
    let stats = v.stats(Some(NOW + 7.0));
    assert_eq!(stats.key_sets[0].remote.kids, ["k1"]);
    assert_eq!(stats.key_sets[0].remote.age_s, Some(7.0));
    assert_eq!(stats.verifications["valid"], 20);
    // A per-route verifier shares the cached set: no fetch of its own.
    let route = v.with_claims(json!({"sub": {"equals": "ada"}})).unwrap();
    assert_eq!(code(route.verify(token(&k1), Some(NOW))), "valid");
    assert_eq!(server.requests(), 1);
}

#[test]
fn rotation_without_a_failed_request() {
    let (k1, k2) = (key("k1"), key("k2"));
    let server = JwksServer::start(serve(&[&k1]));
    let v = verifier(json!({"jwks_uri": server.jwks_url()}));
    assert_eq!(code(v.verify(token(&k1), Some(NOW))), "valid");
    // The IdP rotates: k2 in, k1 out. The first k2 token refetches.
    server.set(serve(&[&k2]));
    assert_eq!(code(v.verify(token(&k2), Some(NOW + 1.0))), "valid");
    assert_eq!(code(v.verify(token(&k1), Some(NOW + 2.0))), "key_not_found");
    assert_eq!(fetches(&v), 2);
}

#[test]
fn concurrent_tokens_of_a_new_key_all_wait_for_the_one_refetch() {
    let (k1, k2) = (key("k1"), key("k2"));
    let server = JwksServer::start(serve(&[&k1]));
    let v = Arc::new(verifier(json!({"jwks_uri": server.jwks_url()})));
    assert_eq!(code(v.verify(token(&k1), Some(NOW))), "valid");
    // The IdP rotates and answers slowly: every request carrying the new
    // kid during the refetch must wait for it, not fail against the old set.
    server.set(Behavior::Slow { body: jwks(&[&k1, &k2]), delay: Duration::from_millis(400) });
    let tok = token(&k2);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (v, tok) = (Arc::clone(&v), tok.clone());
            std::thread::spawn(move || code(v.verify(&tok, Some(NOW + 1.0))))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), "valid");
    }
    assert_eq!(fetches(&v), 2, "one refetch for all of them");
}

#[test]
fn a_refresh_sent_before_a_rotation_does_not_hide_the_new_key() {
    let (k1, k2) = (key("k1"), key("k2"));
    let server = JwksServer::start(serve(&[&k1]));
    let v = verifier(json!({"jwks_uri": server.jwks_url(), "min_ttl_s": 1, "max_ttl_s": 1}));
    assert_eq!(code(v.verify(token(&k1), Some(NOW))), "valid");
    // Past the lifetime: this call starts a background refresh, which the
    // server answers slowly with the set from before the rotation.
    server.set(Behavior::Slow { body: jwks(&[&k1]), delay: Duration::from_millis(400) });
    assert_eq!(code(v.verify(token(&k1), Some(NOW + 2.0))), "valid");
    eventually("the refresh to reach the server", || server.requests() == 2);
    std::thread::sleep(Duration::from_millis(50));
    // The issuer rotates while that refresh is in flight. The first token
    // of the new key waits for it, still misses its kid, and fetches again.
    server.set(serve(&[&k1, &k2]));
    assert_eq!(code(v.verify(token(&k2), Some(NOW + 2.1))), "valid");
    assert_eq!(fetches(&v), 3);
}

#[test]
fn a_refresh_that_brings_the_kid_leaves_the_refetch_for_the_next_rotation() {
    let (k1, k2, k3) = (key("k1"), key("k2"), key("k3"));
    let server = JwksServer::start(serve(&[&k1]));
    let v = verifier(json!({"jwks_uri": server.jwks_url(), "min_ttl_s": 1, "max_ttl_s": 1}));
    assert_eq!(code(v.verify(token(&k1), Some(NOW))), "valid");
    // A gateway idle through a rotation: its first token of the new key
    // arrives when a refresh is due anyway, and that refresh brings the key.
    server.set(serve(&[&k1, &k2]));
    assert_eq!(code(v.verify(token(&k2), Some(NOW + 5.0))), "valid");
    eventually("the refresh to land", || fetches(&v) == 2);
    // The issuer rotates again within the cooldown, before the next refresh
    // is due: the unknown kid still gets its refetch.
    server.set(serve(&[&k2, &k3]));
    assert_eq!(code(v.verify(token(&k3), Some(NOW + 5.2))), "valid");
    assert_eq!(fetches(&v), 3);
}

#[test]
fn stale_if_error_then_unavailable_after_max_stale() {
    let k1 = key("k1");
    let server = JwksServer::start(serve(&[&k1]));
    let v = verifier(
        json!({"jwks_uri": server.jwks_url(), "max_ttl_s": 60, "min_ttl_s": 60, "max_stale_s": 3600}),
    );
    assert_eq!(code(v.verify(token(&k1), Some(NOW))), "valid");
    server.set(Behavior::Status(500));
    // Past the lifetime: served from the stale set while a refresh fails.
    assert_eq!(code(v.verify(token(&k1), Some(NOW + 120.0))), "valid");
    eventually("the background refresh to fail", || failures(&v) == 1);
    assert_eq!(code(v.verify(token(&k1), Some(NOW + 3600.0))), "valid");
    // Beyond max_stale_s with the endpoint still failing: 503.
    let err = v.verify(token(&k1), Some(NOW + 3601.0)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::JwksUnavailable);
    assert_eq!(err.http_status(), Some(503));
    assert!(err.retry_after_s().is_some_and(|s| s >= 1), "{err:?}");
    // The endpoint recovers: keys load again once the backoff has passed.
    server.set(serve(&[&k1]));
    assert_eq!(code(v.verify(token(&k1), Some(NOW + 3700.0))), "valid");
}

#[test]
fn a_hanging_endpoint_costs_at_most_the_timeout() {
    let k1 = key("k1");
    let server = JwksServer::start(Behavior::Hang(Duration::from_secs(5)));
    let v = verifier(json!({"jwks_uri": server.jwks_url(), "timeout_ms": 300, "initial_wait_ms": 3000}));
    let start = Instant::now();
    assert_eq!(code(v.verify(token(&k1), Some(NOW))), "jwks_unavailable");
    assert!(start.elapsed() < Duration::from_secs(3), "took {:?}", start.elapsed());
    assert_eq!(failures(&v), 1);
}

#[test]
fn bad_responses_are_failures_and_keep_the_previous_set() {
    let k1 = key("k1");
    for bad in [
        Behavior::Status(500),
        Behavior::Serve { body: "{\"keys\": [".into(), max_age: None },
        Behavior::Serve { body: "{\"keys\": [], \"keys\": []}".into(), max_age: None },
        Behavior::Huge(10 << 20),
        Behavior::Drop,
    ] {
        let server = JwksServer::start(bad.clone());
        let v = verifier(json!({"jwks_uri": server.jwks_url()}));
        assert_eq!(code(v.verify(token(&k1), Some(NOW))), "jwks_unavailable", "{bad:?}");
        // Once good keys load, the same fault on a refetch keeps them.
        server.set(serve(&[&k1]));
        assert_eq!(code(v.verify(token(&k1), Some(NOW + 40.0))), "valid", "{bad:?}");
        server.set(bad.clone());
        let stranger = key("unknown");
        assert_eq!(code(v.verify(token(&stranger), Some(NOW + 80.0))), "key_not_found", "{bad:?}");
        assert_eq!(code(v.verify(token(&k1), Some(NOW + 81.0))), "valid", "{bad:?}");
        assert_eq!(failures(&v), 2, "{bad:?}");
    }
}

#[test]
fn unknown_kid_storm_fetches_at_most_once_per_cooldown() {
    let k1 = key("k1");
    let server = JwksServer::start(serve(&[&k1]));
    let v = Arc::new(verifier(json!({"jwks_uri": server.jwks_url(), "refetch_cooldown_s": 30})));
    assert_eq!(code(v.verify(token(&k1), Some(NOW))), "valid");
    let strangers: Arc<Vec<String>> =
        Arc::new((0..16).map(|i| token(&key(&format!("random-{i}")))).collect());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (v, strangers) = (Arc::clone(&v), Arc::clone(&strangers));
            std::thread::spawn(move || {
                for i in 0..50 {
                    let tok = &strangers[(t * 50 + i) % strangers.len()];
                    assert_eq!(code(v.verify(tok, Some(NOW + 1.0 + (i as f64) * 0.1))), "key_not_found");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(fetches(&v), 2, "one initial fetch and one refetch for the whole storm");
    // After the cooldown one more refetch is allowed.
    assert_eq!(code(v.verify(&strangers[0], Some(NOW + 40.0))), "key_not_found");
    assert_eq!(fetches(&v), 3);
}

#[test]
fn concurrent_first_requests_share_one_fetch() {
    let k1 = key("k1");
    let server = JwksServer::start(Behavior::Slow { body: jwks(&[&k1]), delay: Duration::from_millis(300) });
    let v = Arc::new(verifier(json!({"jwks_uri": server.jwks_url()})));
    let tok = token(&k1);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (v, tok) = (Arc::clone(&v), tok.clone());
            std::thread::spawn(move || code(v.verify(&tok, Some(NOW))))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), "valid");
    }
    assert_eq!(server.requests(), 1);
}

#[test]
fn fail_fast_then_loaded_in_the_background() {
    let k1 = key("k1");
    let server = JwksServer::start(Behavior::Slow { body: jwks(&[&k1]), delay: Duration::from_millis(2000) });
    let v = verifier(json!({"jwks_uri": server.jwks_url(), "initial_wait_ms": 0}));
    let start = Instant::now();
    assert_eq!(code(v.verify(token(&k1), Some(NOW))), "jwks_unavailable");
    // The answer does not wait for the 2 s fetch (a wide bound for busy CI machines).
    assert!(start.elapsed() < Duration::from_millis(1500), "took {:?}", start.elapsed());
    eventually("the background load", || v.stats(Some(NOW)).key_sets[0].remote.kids == ["k1"]);
    assert_eq!(code(v.verify(token(&k1), Some(NOW))), "valid");
}

#[test]
fn discovery_checks_the_issuer() {
    let k1 = key("k1");
    let server = JwksServer::start(serve(&[&k1]));
    server.set_discovery_issuer(ISS);
    let v = verifier(json!({"discovery": server.discovery_url()}));
    assert_eq!(code(v.verify(token(&k1), Some(NOW))), "valid");

    let evil = JwksServer::start(serve(&[&k1]));
    evil.set_discovery_issuer("https://evil.example.com/");
    let v = verifier(json!({"discovery": evil.discovery_url()}));
    let err = v.verify(token(&k1), Some(NOW)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::JwksUnavailable);
    assert!(err.message().contains("issuer"), "{err}");
}

#[test]
fn jku_inside_the_allow_list_is_fetched_outside_refused() {
    let k1 = key("k1");
    let server = JwksServer::start(serve(&[&k1]));
    let policy = |prefix: String| {
        Verifier::from_value(json!({
            "issuers": [{"issuer": ISS, "algorithms": ["ES256"], "allowed_jku": [prefix],
                         "keys": {"pem": "unused", "allow_http": true}}]
        }))
    };
    // allowed_jku works beside static keys; the static pem here is invalid
    // on purpose to show the error is a policy error, then a real one.
    assert_eq!(policy(format!("{}/", server.base)).unwrap_err().kind(), ErrorKind::Policy);
    let v = Verifier::from_value(json!({
        "issuers": [{"issuer": ISS, "algorithms": ["HS256", "ES256"], "allowed_jku": [format!("{}/", server.base)],
                     "keys": {"hmac_secret": jwtgate::base64url_encode([9u8; 32]), "allow_http": true}}],
        "cache": {"max_entries": 0}
    }))
    .unwrap();
    let claims = json!({"iss": ISS, "exp": NOW + 60.0});
    let signed_with_jku = |url: &str| {
        let header = json!({"alg": "ES256", "kid": "k1", "jku": url}).to_string();
        let input = format!(
            "{}.{}",
            jwtgate::base64url_encode(header),
            jwtgate::base64url_encode(claims.to_string())
        );
        let sig = k1.signer.sign_bytes(input.as_bytes()).unwrap();
        format!("{input}.{}", jwtgate::base64url_encode(sig))
    };
    assert_eq!(code(v.verify(signed_with_jku(&server.jwks_url()), Some(NOW))), "valid");
    assert_eq!(code(v.verify(signed_with_jku("https://evil.example.com/jwks.json"), Some(NOW))), "header");
    assert_eq!(code(v.verify(signed_with_jku(&format!("{}/../x", server.base)), Some(NOW))), "header");
    assert_eq!(
        code(v.verify(signed_with_jku(&format!("{}.evil.com/jwks.json", server.base)), Some(NOW))),
        "header"
    );
    assert_eq!(v.stats(Some(NOW)).key_sets.len(), 1);
}

#[test]
fn remote_policies_are_checked_at_load() {
    let bad = |keys: Value| {
        Verifier::from_value(json!({"issuers": [{"algorithms": ["ES256"], "keys": keys}]}))
            .unwrap_err()
            .message()
            .to_owned()
    };
    assert!(bad(json!({"jwks_uri": "http://127.0.0.1:1/jwks.json"})).contains("allow_http"));
    assert!(bad(json!({"jwks_uri": "ftp://x/jwks.json"})).contains("http"));
    assert!(bad(json!({"pem": "x", "max_stale_s": 5})).contains("fetch settings"));
    assert!(bad(json!({"jwks_uri": "https://x/j", "min_ttl_s": 10, "max_ttl_s": 5})).contains("min_ttl_s"));
    assert!(bad(json!({"jwks_uri": "https://x/j", "pem": "x"})).contains("only one"));
}
