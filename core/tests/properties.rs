//! Properties over random input: every algorithm round-trips, any single
//! bit flip is rejected, arbitrary bytes never panic.

use std::sync::OnceLock;

use jwtgate::{Algorithm, Signer, Verifier, base64url_encode, generate_key};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const NOW: f64 = 1_700_000_000.0;

struct Fixture {
    signers: Vec<Signer>,
    verifier: Verifier,
}

/// One key per algorithm, generated once for all cases.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut signers = Vec::new();
        let mut jwks = Vec::new();
        for alg in Algorithm::ALL {
            let key = generate_key(alg, Some(format!("k-{alg}"))).unwrap();
            let signer = match &key.public_jwk {
                Some(jwk) => {
                    jwks.push(jwk.clone());
                    Signer::from_pem(alg, &key.private_key, Some(key.kid.clone())).unwrap()
                }
                None => {
                    let secret = jwtgate::base64url_decode(&key.private_key).unwrap();
                    jwks.push(json!({"kty": "oct", "kid": key.kid, "alg": alg.name(), "k": base64url_encode(&secret)}));
                    Signer::from_secret(alg, &secret, Some(key.kid.clone())).unwrap()
                }
            };
            signers.push(signer);
        }
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        let verifier = Verifier::from_value(json!({
            "issuers": [{"algorithms": names, "keys": {"jwks": {"keys": jwks}}}],
            "cache": {"max_entries": 0}
        }))
        .unwrap();
        Fixture { signers, verifier }
    })
}

fn claim_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
        prop::collection::vec("[a-z]{1,8}", 0..4).prop_map(Value::from),
    ]
}

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z_]{1,10}", claim_value(), 0..8).prop_map(|m| {
        m.into_iter().filter(|(k, _)| !["iss", "aud", "exp", "nbf", "iat"].contains(&k.as_str())).collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_algorithm_round_trips(alg in 0..Algorithm::ALL.len(), claims in claims()) {
        let f = fixture();
        let claims = Value::Object(claims);
        let token = f.signers[alg].sign(&claims, Some(60), Some(NOW)).unwrap();
        let verified = f.verifier.verify(&token, Some(NOW)).unwrap();
        for (k, v) in claims.as_object().unwrap() {
            prop_assert!(jwtgate::json_eq(&verified.claims()[k], v), "{} differs", k);
        }
    }

    #[test]
    fn any_single_bit_flip_is_rejected(alg in 0..Algorithm::ALL.len(), position in any::<prop::sample::Index>(), bit in 0..8u8) {
        let f = fixture();
        let token = f.signers[alg].sign(&json!({"sub": "x"}), Some(60), Some(NOW)).unwrap();
        let mut bytes = token.into_bytes();
        let i = position.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(f.verifier.verify(&bytes, Some(NOW)).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(fixture().verifier.verify(&bytes, Some(NOW)).is_err());
    }

    #[test]
    fn arbitrary_segments_never_panic(h in "[A-Za-z0-9_-]{0,80}", p in "[A-Za-z0-9_-]{0,200}", s in "[A-Za-z0-9_-]{0,120}") {
        let token = format!("{h}.{p}.{s}");
        prop_assert!(fixture().verifier.verify(&token, Some(NOW)).is_err());
    }
}
