//! `Verifier::verify_if_cheap`: answers what costs no public-key operation
//! and no key fetch, exactly as `verify` would (counters included), and
//! leaves everything else to `verify`, having counted nothing.

mod support;

use jwtgate::{Algorithm, Signer, Verifier, base64url_encode, generate_key};
use serde_json::{Value, json};
use support::{JwksServer, key, serve};

const NOW: f64 = 1_700_000_000.0;
const SECRET: [u8; 32] = [7; 32];

fn hmac_verifier(entries: usize) -> Verifier {
    Verifier::from_value(json!({
        "issuers": [{"issuer": "https://a/", "algorithms": ["HS256"], "keys": {"hmac_secret": base64url_encode(SECRET)}}],
        "cache": {"max_entries": entries}
    }))
    .unwrap()
}

fn hmac_token(claims: Value) -> String {
    Signer::from_secret(Algorithm::HS256, &SECRET, None).unwrap().sign(&claims, None, None).unwrap()
}

fn code(result: Option<Result<jwtgate::Verified, jwtgate::Error>>) -> &'static str {
    match result {
        None => "deferred",
        Some(Ok(_)) => "valid",
        Some(Err(e)) => e.code(),
    }
}

#[test]
fn hmac_tokens_are_answered_and_counted_like_verify() {
    let v = hmac_verifier(100);
    let good = hmac_token(json!({"iss": "https://a/", "sub": "ada", "exp": NOW + 60.0}));
    let expired = hmac_token(json!({"iss": "https://a/", "exp": NOW - 60.0}));
    let verified = v.verify_if_cheap(&good, Some(NOW)).unwrap().unwrap();
    assert_eq!(verified.claims()["sub"], "ada");
    assert_eq!(code(v.verify_if_cheap(&good, Some(NOW))), "valid", "now from the cache");
    assert_eq!(code(v.verify_if_cheap(&expired, Some(NOW))), "expired");
    assert_eq!(code(v.verify_if_cheap("not a token", Some(NOW))), "malformed");
    assert_eq!(code(v.verify_if_cheap(&good, Some(f64::NAN))), "invalid_argument");
    let stats = v.stats(Some(NOW));
    assert_eq!((stats.cache_hits, stats.cache_misses), (1, 3));
    assert_eq!(stats.verifications["valid"], 2);
    assert_eq!(stats.verifications["expired"], 1);
    assert_eq!(stats.verifications["malformed"], 1);
    assert_eq!(stats.verifications["invalid_argument"], 1);
}

#[test]
fn public_key_tokens_are_deferred_until_cached() {
    let generated = generate_key(Algorithm::RS256, Some("k".into())).unwrap();
    let signer = Signer::from_pem(Algorithm::RS256, &generated.private_key, Some("k".into())).unwrap();
    let v = Verifier::from_value(json!({
        "issuers": [{"algorithms": ["RS256"], "keys": {"jwks": {"keys": [generated.public_jwk.unwrap()]}}}],
        "cache": {"max_entries": 100}
    }))
    .unwrap();
    let token = signer.sign(&json!({"sub": "ada"}), None, None).unwrap();
    let mut forged = token.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    assert_eq!(code(v.verify_if_cheap(&token, Some(NOW))), "deferred");
    assert_eq!(code(v.verify_if_cheap(&forged, Some(NOW))), "deferred");
    let stats = v.stats(Some(NOW));
    assert_eq!((stats.cache_hits, stats.cache_misses), (0, 0), "a deferred call counts nothing");
    assert!(stats.verifications.values().all(|&n| n == 0));
    // Once verified in full, the cached token is answered at once.
    assert!(v.verify(&token, Some(NOW)).is_ok());
    assert_eq!(code(v.verify_if_cheap(&token, Some(NOW))), "valid");
    assert_eq!(code(v.verify_if_cheap(&forged, Some(NOW))), "deferred", "a forgery is never a cache hit");
    let stats = v.stats(Some(NOW));
    assert_eq!((stats.cache_hits, stats.cache_misses, stats.verifications["valid"]), (1, 1, 2));
}

#[test]
fn a_token_that_may_wait_on_a_key_fetch_is_deferred_without_fetching() {
    let k1 = key("k1");
    let server = JwksServer::start(serve(&[&k1]));
    let v = Verifier::from_value(json!({
        "issuers": [{"algorithms": ["ES256"], "keys": {"jwks_uri": server.jwks_url(), "allow_http": true}}],
    }))
    .unwrap();
    let token = k1.signer.sign(&json!({"sub": "ada"}), None, None).unwrap();
    assert_eq!(code(v.verify_if_cheap(&token, Some(NOW))), "deferred");
    assert_eq!(server.requests(), 0);
    assert!(v.verify(&token, Some(NOW)).is_ok());
    assert_eq!(server.requests(), 1);
}

#[test]
fn an_hmac_token_with_a_jku_header_is_deferred() {
    let v = hmac_verifier(0);
    let token = hmac_token(json!({"iss": "https://a/"}));
    let header = base64url_encode(br#"{"alg":"HS256","jku":"https://keys.example/jwks.json"}"#);
    let with_jku = format!("{header}{}", &token[token.find('.').unwrap()..]);
    assert_eq!(code(v.verify_if_cheap(&with_jku, Some(NOW))), "deferred");
    assert_eq!(code(Some(v.verify(&with_jku, Some(NOW)))), "header", "verify answers it");
}
