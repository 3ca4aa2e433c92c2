//! The verified-token cache: hits re-check time, stay bounded, and never
//! serve a token that did not verify.

use std::sync::Arc;

use jwtgate::{Algorithm, Signer, Verifier, base64url_encode};
use serde_json::json;

const NOW: f64 = 1_700_000_000.0;
const SECRET: [u8; 32] = [42; 32];

fn verifier(entries: usize) -> Verifier {
    Verifier::from_value(json!({
        "issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": base64url_encode(SECRET)}, "leeway_s": 2}],
        "cache": {"max_entries": entries}
    }))
    .unwrap()
}

fn token(claims: serde_json::Value) -> String {
    Signer::from_secret(Algorithm::HS256, &SECRET, None).unwrap().sign(&claims, None, None).unwrap()
}

#[test]
fn hits_recheck_the_time_window() {
    let v = verifier(100);
    let t = token(json!({"sub": "a", "exp": NOW + 10.0, "nbf": NOW - 5.0}));
    assert_eq!(v.verify(&t, Some(NOW)).unwrap().claims()["sub"], "a");
    assert_eq!(v.cached_tokens(), 1);
    let hit = v.verify(&t, Some(NOW + 1.0)).unwrap();
    assert_eq!(hit.claims()["sub"], "a");
    assert_eq!(v.stats(Some(NOW)).cache_hits, 1);
    // Leeway applies on hits exactly as on a full verification.
    assert!(v.verify(&t, Some(NOW + 11.0)).is_ok());
    assert_eq!(v.verify(&t, Some(NOW + 12.0)).unwrap_err().code(), "expired");
    assert!(v.verify(&t, Some(NOW - 7.0)).is_ok());
    assert_eq!(v.verify(&t, Some(NOW - 8.0)).unwrap_err().code(), "not_yet_valid");
}

#[test]
fn a_non_finite_clock_is_refused_not_trusted() {
    let v = verifier(100);
    let t = token(json!({"sub": "a", "exp": 1000.0, "nbf": 5e9}));
    for now in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(v.verify(&t, Some(now)).unwrap_err().code(), "invalid_argument");
    }
    let fresh = token(json!({"sub": "b", "exp": NOW + 10.0}));
    v.verify(&fresh, Some(NOW)).unwrap();
    assert_eq!(
        v.verify(&fresh, Some(f64::NAN)).unwrap_err().code(),
        "invalid_argument",
        "not even from the cache"
    );
}

#[test]
fn a_cached_token_does_not_vouch_for_a_tampered_copy() {
    let v = verifier(100);
    let t = token(json!({"sub": "a"}));
    v.verify(&t, Some(NOW)).unwrap();
    let mut tampered = t.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(v.verify(&tampered, Some(NOW)).unwrap_err().code(), "signature");
    assert_eq!(v.cached_tokens(), 1, "rejected tokens are not cached");
}

#[test]
fn zero_entries_turns_it_off_and_the_size_is_bounded() {
    let off = verifier(0);
    let t = token(json!({"sub": "a"}));
    off.verify(&t, Some(NOW)).unwrap();
    off.verify(&t, Some(NOW)).unwrap();
    assert_eq!(off.cached_tokens(), 0);
    assert_eq!(off.stats(Some(NOW)).cache_hits, 0);

    let small = verifier(50);
    for i in 0..500 {
        small.verify(token(json!({"n": i})), Some(NOW)).unwrap();
    }
    assert!(small.cached_tokens() <= 60, "{} cached", small.cached_tokens());
}

#[test]
fn many_threads_share_one_cache() {
    let v = Arc::new(verifier(1000));
    let tokens: Arc<Vec<String>> = Arc::new((0..32).map(|i| token(json!({"n": i}))).collect());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (v, tokens) = (Arc::clone(&v), Arc::clone(&tokens));
            std::thread::spawn(move || {
                for i in 0..2000 {
                    let n = (i * 7 + t) % tokens.len();
                    assert_eq!(v.verify(&tokens[n], Some(NOW)).unwrap().claims()["n"], n);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = v.stats(Some(NOW));
    assert_eq!(stats.verifications["valid"], 16_000);
    assert_eq!(stats.cache_hits + stats.cache_misses, 16_000);
    assert!(stats.cache_misses >= 32 && stats.cache_misses < 1000, "{stats:?}");
}
