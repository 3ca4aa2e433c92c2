//! Core verification benchmarks, all in one run so the ratios compare like
//! with like.
//!
//! Per algorithm (RS256, PS256, ES256, ES384, EdDSA, HS256), on one typical
//! gateway token (iss, sub, aud, exp, iat, nbf and three custom claims):
//!
//! - `a_raw`: the aws-lc-rs signature check alone, key parsed once: the floor;
//! - `b_jwtgate`: `Verifier::verify` with the cache off (`max_entries: 0`),
//!   policy checking iss, aud, exp and `tenant` equals "acme";
//! - `c_jsonwebtoken`: jsonwebtoken 11 `decode` with the same checks
//!   (`DecodingKey` built once, the `tenant` check on the decoded struct);
//! - `d_cache_hit`: `Verifier::verify` of the same token with the cache on.
//!
//! And `rs256_threads/{1,2}`: RS256 verify, cache off, on one and on two
//! threads, reported as aggregate time per verification (so ops/s is the
//! throughput of all threads together).
//!
//! `benches/report.py` turns the results into the BENCHMARKS.md table.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, Validation};
use jwtgate::{Algorithm, Signer, Verifier, base64url_decode, generate_key};
use serde::Deserialize;
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.example.com/";
const AUDIENCE: &str = "api://orders";
const LIFETIME_S: u64 = 3600;

/// The algorithms benchmarked, with jsonwebtoken's name for each.
const ALGS: [(Algorithm, jsonwebtoken::Algorithm); 6] = [
    (Algorithm::RS256, jsonwebtoken::Algorithm::RS256),
    (Algorithm::PS256, jsonwebtoken::Algorithm::PS256),
    (Algorithm::ES256, jsonwebtoken::Algorithm::ES256),
    (Algorithm::ES384, jsonwebtoken::Algorithm::ES384),
    (Algorithm::EdDSA, jsonwebtoken::Algorithm::EdDSA),
    (Algorithm::HS256, jsonwebtoken::Algorithm::HS256),
];

/// The claims jsonwebtoken deserializes: everything in the token.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    nbf: u64,
    tenant: String,
    scope: String,
    roles: Vec<String>,
}

/// The signature floor: the key as aws-lc-rs holds it, parsed once.
enum RawKey {
    Public(ParsedPublicKey),
    Hmac(hmac::Key),
}

impl RawKey {
    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            RawKey::Public(key) => key.verify_sig(message, sig).is_ok(),
            RawKey::Hmac(key) => hmac::verify(key, message, sig).is_ok(),
        }
    }
}

/// One algorithm's token, its verifiers and keys.
struct Case {
    alg: Algorithm,
    token: String,
    now: f64,
    raw_key: RawKey,
    jwtgate: Verifier,
    jwtgate_cached: Verifier,
    jwt_key: DecodingKey,
    jwt_validation: Validation,
}

fn b64(jwk: &Value, member: &str) -> Vec<u8> {
    base64url_decode(jwk[member].as_str().expect("JWK member")).expect("base64url JWK member")
}

fn policy(alg: Algorithm, keys: Value, cache_entries: usize) -> Value {
    json!({
        "issuers": [{
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "algorithms": [alg.name()],
            "keys": keys,
            "claims": {"tenant": {"equals": "acme"}}
        }],
        "cache": {"max_entries": cache_entries}
    })
}

impl Case {
    fn new(alg: Algorithm, jwt_alg: jsonwebtoken::Algorithm) -> Case {
        let generated = generate_key(alg, Some(format!("bench-{}", alg.name()))).expect("generate key");
        // Real time, so jsonwebtoken (which reads the system clock) sees a
        // valid token too; jwtgate gets a fixed `now` inside the window.
        let issued = jwtgate::unix_now().floor();
        let now = issued + 10.0;
        let claims = json!({
            "iss": ISSUER,
            "sub": "user_4711",
            "aud": AUDIENCE,
            "nbf": issued as u64,
            "tenant": "acme",
            "scope": "orders:read orders:write profile",
            "roles": ["admin", "dev"]
        });

        let (signer, raw_key, keys, jwt_key) = match &generated.public_jwk {
            None => {
                let secret = base64url_decode(&generated.private_key).expect("secret");
                let signer = Signer::from_secret(alg, &secret, None).expect("HMAC signer");
                let raw = RawKey::Hmac(hmac::Key::new(hmac::HMAC_SHA256, &secret));
                let keys = json!({"hmac_secret": generated.private_key});
                (signer, raw, keys, DecodingKey::from_secret(&secret))
            }
            Some(jwk) => {
                let signer =
                    Signer::from_pem(alg, &generated.private_key, Some(generated.kid.clone())).expect("signer");
                let s = |m: &str| jwk[m].as_str().expect("JWK member");
                let (parsed, jwt_key) = match jwk["kty"].as_str() {
                    Some("RSA") => {
                        let (n, e) = (b64(jwk, "n"), b64(jwk, "e"));
                        let params = if alg == Algorithm::RS256 {
                            &signature::RSA_PKCS1_2048_8192_SHA256
                        } else {
                            &signature::RSA_PSS_2048_8192_SHA256
                        };
                        let components = RsaPublicKeyComponents { n: &n[..], e: &e[..] };
                        let parsed = components.to_parsed_public_key(params).expect("RSA key");
                        (parsed, DecodingKey::from_rsa_components(s("n"), s("e")).expect("jsonwebtoken RSA"))
                    }
                    Some("EC") => {
                        let mut point = vec![4u8];
                        point.extend(b64(jwk, "x"));
                        point.extend(b64(jwk, "y"));
                        let verification = if alg == Algorithm::ES256 {
                            &signature::ECDSA_P256_SHA256_FIXED
                        } else {
                            &signature::ECDSA_P384_SHA384_FIXED
                        };
                        let parsed = ParsedPublicKey::new(verification, &point).expect("EC key");
                        (parsed, DecodingKey::from_ec_components(s("x"), s("y")).expect("jsonwebtoken EC"))
                    }
                    _ => {
                        let parsed = ParsedPublicKey::new(&signature::ED25519, b64(jwk, "x")).expect("Ed key");
                        (parsed, DecodingKey::from_ed_components(s("x")).expect("jsonwebtoken Ed"))
                    }
                };
                (signer, RawKey::Public(parsed), json!({"jwks": {"keys": [jwk]}}), jwt_key)
            }
        };

        let token = signer.sign(&claims, Some(LIFETIME_S), Some(issued)).expect("sign");
        let jwtgate = Verifier::from_value(policy(alg, keys.clone(), 0)).expect("policy");
        let jwtgate_cached = Verifier::from_value(policy(alg, keys, 10_000)).expect("policy");

        let mut jwt_validation = Validation::new(jwt_alg);
        jwt_validation.leeway = 0;
        jwt_validation.validate_nbf = true;
        jwt_validation.set_issuer(&[ISSUER]);
        jwt_validation.set_audience(&[AUDIENCE]);
        jwt_validation.set_required_spec_claims(&["exp", "iss", "aud"]);

        let case = Case { alg, token, now, raw_key, jwtgate, jwtgate_cached, jwt_key, jwt_validation };
        case.check();
        case
    }

    /// Every contender accepts the token (and rejects a tampered one), so
    /// the benchmark times real work.
    fn check(&self) {
        let (message, sig) = self.split();
        assert!(self.raw_key.verify(message, &sig), "{}: raw verify", self.alg);
        let verified = self.jwtgate.verify(&self.token, Some(self.now)).expect("jwtgate verify");
        assert_eq!(verified.claims()["tenant"], "acme");
        self.jwtgate_cached.verify(&self.token, Some(self.now)).expect("jwtgate verify");
        assert!(self.jsonwebtoken().expect("jsonwebtoken decode"), "{}: jsonwebtoken", self.alg);

        let mut tampered = self.token.clone().into_bytes();
        let last = tampered.len() - 5;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ASCII");
        let err = self.jwtgate.verify(&tampered, Some(self.now)).expect_err("tampered token");
        assert_eq!(err.code(), "signature", "{}: tampered token", self.alg);
        assert!(jsonwebtoken::decode::<Claims>(&tampered, &self.jwt_key, &self.jwt_validation).is_err());
        assert!(self.jwtgate.verify(&self.token, Some(self.now + LIFETIME_S as f64)).is_err());
    }

    /// The signing input and the decoded signature.
    fn split(&self) -> (&[u8], Vec<u8>) {
        let dot = self.token.rfind('.').expect("three segments");
        (&self.token.as_bytes()[..dot], base64url_decode(&self.token[dot + 1..]).expect("signature"))
    }

    /// jsonwebtoken's decode plus the custom rule the jwtgate policy has.
    fn jsonwebtoken(&self) -> Result<bool, jsonwebtoken::errors::Error> {
        let data = jsonwebtoken::decode::<Claims>(&self.token, &self.jwt_key, &self.jwt_validation)?;
        Ok(data.claims.tenant == "acme")
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(30)
        .configure_from_args()
}

fn per_algorithm(c: &mut Criterion) {
    for (alg, jwt_alg) in ALGS {
        let case = Case::new(alg, jwt_alg);
        let (message, sig) = case.split();
        let mut group = c.benchmark_group(alg.name());
        group.bench_function("a_raw", |b| {
            b.iter(|| assert!(case.raw_key.verify(black_box(message), black_box(&sig))))
        });
        group.bench_function("b_jwtgate", |b| {
            b.iter(|| case.jwtgate.verify(black_box(&case.token), Some(case.now)).expect("verify"))
        });
        group.bench_function("c_jsonwebtoken", |b| {
            b.iter(|| assert!(case.jsonwebtoken().expect("decode")))
        });
        group.bench_function("d_cache_hit", |b| {
            b.iter(|| case.jwtgate_cached.verify(black_box(&case.token), Some(case.now)).expect("verify"))
        });
        group.finish();
    }
}

/// RS256 through one verifier on `threads` threads, each doing `iters`
/// verifications. Returns wall time divided by the thread count, so the
/// per-iteration figure criterion derives is the aggregate time per token.
fn threaded(case: &Case, threads: u32, iters: u64) -> Duration {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..iters {
                    case.jwtgate.verify(black_box(&case.token), Some(case.now)).expect("verify");
                }
            });
        }
    });
    start.elapsed() / threads
}

fn rs256_threads(c: &mut Criterion) {
    let case = Case::new(Algorithm::RS256, jsonwebtoken::Algorithm::RS256);
    let mut group = c.benchmark_group("rs256_threads");
    for threads in [1u32, 2] {
        group.bench_function(threads.to_string(), |b| b.iter_custom(|iters| threaded(&case, threads, iters)));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = per_algorithm, rs256_threads
}
criterion_main!(benches);
