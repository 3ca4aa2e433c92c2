//! What a DPoP request costs: `Verifier::decide` on a request with an
//! ES256 DPoP-bound access token and a fresh ES256 proof (RFC 9449), token
//! cache off, against the two signature checks it contains done raw
//! (aws-lc-rs, keys parsed once, as `a_raw` in verify.rs).
//!
//! - `a_raw_two_signatures`: the token's and the proof's signature, raw
//!   (a fresh proof per iteration too, its base64url decoded in the timing);
//! - `b_decide_memory`: `decide` with the in-process replay store;
//! - `c_decide_memory_cache_on`: the same with the token cache on (only the
//!   proof's signature is checked);
//! - `d_store_memory`: one `insert_once` of the in-process store;
//! - `redis/e_decide_redis` and `redis/f_store_redis` (wall time): the same
//!   against a `redis-server` on 127.0.0.1 that the bench starts and stops
//!   (skipped when `redis-server` is not on the PATH).
//!
//! Every iteration gets a new proof (new `jti`, signed outside the timing,
//! `iter_batched`) and a clock 1 ms later, so no proof is a replay and the
//! store keeps about a window's worth of entries.
//!
//! `cargo bench -p jwtgate-benches --bench dpop`

#[path = "../../core/tests/support/mod.rs"]
mod support;

use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{self, ParsedPublicKey};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jwtgate::{
    Algorithm, MemoryStore, RedisStore, ReplayStore, Request, Signer, Verifier, base64url_decode,
    base64url_encode, generate_key, thumbprint,
};
use jwtgate_benches::BenchClock;
use serde_json::{Value, json};
use support::RedisServer;

const ISS: &str = "https://idp.example.com/";
const RESOURCE: &str = "https://api.example.com/orders";
const HTU: &str = "https://api.example.com/orders/42";

struct Setup {
    token: String,
    authorization: String,
    client: Signer,
    client_jwk: Value,
    policy: Value,
    idp_raw: ParsedPublicKey,
    client_raw: ParsedPublicKey,
    base_now: f64,
}

fn raw_key(jwk: &Value) -> ParsedPublicKey {
    let coord = |name: &str| base64url_decode(jwk[name].as_str().unwrap()).unwrap();
    let point = [vec![4u8], coord("x"), coord("y")].concat();
    ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).unwrap()
}

fn setup() -> Setup {
    let idp_key = generate_key(Algorithm::ES256, Some("idp-1".into())).unwrap();
    let idp = Signer::from_pem(Algorithm::ES256, &idp_key.private_key, Some("idp-1".into())).unwrap();
    let idp_jwk = idp_key.public_jwk.clone().unwrap();
    let client_key = generate_key(Algorithm::ES256, None).unwrap();
    let client = Signer::from_pem(Algorithm::ES256, &client_key.private_key, None).unwrap();
    let mut client_jwk = client_key.public_jwk.clone().unwrap();
    client_jwk.as_object_mut().unwrap().remove("kid");
    let base_now = jwtgate::unix_now().floor();
    let claims = json!({"iss": ISS, "sub": "ada", "aud": RESOURCE, "iat": base_now, "exp": base_now + 1e6,
                        "scope": "orders:read", "cnf": {"jkt": thumbprint(&client_jwk)}});
    let token = idp.sign(&claims, None, None).unwrap();
    let policy = json!({
        "issuers": [{"issuer": ISS, "algorithms": ["ES256"], "keys": {"jwks": {"keys": [idp_jwk]}},
                     "dpop": {"mode": "required", "iat_window_s": 60}}],
        "resource": {"uri": RESOURCE},
        "cache": {"max_entries": 0},
        "replay_store": {"max_entries": 1_000_000}
    });
    Setup {
        authorization: format!("DPoP {token}"),
        idp_raw: raw_key(&idp_jwk),
        client_raw: raw_key(&client_jwk),
        token,
        client,
        client_jwk,
        policy,
        base_now,
    }
}

impl Setup {
    /// A new proof for `GET HTU` at `iat`.
    fn proof(&self, iat: f64, jti: u64) -> String {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.client_jwk});
        let ath =
            base64url_encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.token.as_bytes()));
        let claims =
            json!({"jti": format!("jti-{jti}"), "htm": "GET", "htu": HTU, "iat": iat.floor(), "ath": ath});
        let input =
            format!("{}.{}", base64url_encode(header.to_string()), base64url_encode(claims.to_string()));
        let sig = self.client.sign_bytes(input.as_bytes()).unwrap();
        format!("{input}.{}", base64url_encode(sig))
    }

    fn verifier(&self, cache: usize, store: Option<Arc<dyn ReplayStore>>) -> Verifier {
        let mut policy = self.policy.clone();
        policy["cache"] = json!({"max_entries": cache});
        let verifier = Verifier::from_value(policy).unwrap();
        if let Some(store) = store {
            verifier.set_replay_store(store);
        }
        verifier
    }
}

/// Runs `decide` on a fresh proof per iteration; the clock moves 1 ms each.
fn bench_decide<M: criterion::measurement::Measurement>(
    group: &mut criterion::BenchmarkGroup<'_, M>,
    name: &str,
    setup: &Setup,
    verifier: &Verifier,
) {
    let counter = Cell::new(0u64);
    let check = |proof: &str, now: f64| {
        let headers = [
            ("Host", "api.example.com"),
            ("Accept", "application/json"),
            ("Authorization", setup.authorization.as_str()),
            ("DPoP", proof),
        ];
        let request = Request { now: Some(now), ..Request::new("GET", "/orders/42", &headers) };
        verifier.decide(black_box(&request), None)
    };
    let first = check(&setup.proof(setup.base_now, u64::MAX), setup.base_now);
    assert!(first.allow, "{name}: {:?}", first.error);
    group.bench_function(name, |b| {
        b.iter_batched(
            || {
                let n = counter.get() + 1;
                counter.set(n);
                let now = setup.base_now + n as f64 * 0.001;
                (setup.proof(now, n), now)
            },
            |(proof, now)| {
                let decision = check(&proof, now);
                assert!(decision.allow, "{:?}", decision.error);
            },
            BatchSize::SmallInput,
        )
    });
}

fn memory(c: &mut Criterion<BenchClock>) {
    let setup = setup();
    let mut group = c.benchmark_group("dpop_ES256");
    let (message, token_sig) = split(&setup.token);
    let raw_n = Cell::new(0u64);
    group.bench_function("a_raw_two_signatures", |b| {
        // Fresh proofs as in the decide rows, made the same way outside the timing.
        b.iter_batched(
            || {
                raw_n.set(raw_n.get() + 1);
                setup.proof(setup.base_now + raw_n.get() as f64 * 0.001, raw_n.get())
            },
            |proof| {
                let (proof_message, proof_sig) = split(&proof);
                assert!(setup.idp_raw.verify_sig(black_box(message), black_box(&token_sig)).is_ok());
                assert!(setup.client_raw.verify_sig(black_box(proof_message), black_box(&proof_sig)).is_ok());
            },
            BatchSize::SmallInput,
        )
    });
    bench_decide(&mut group, "b_decide_memory", &setup, &setup.verifier(0, None));
    bench_decide(&mut group, "c_decide_memory_cache_on", &setup, &setup.verifier(10_000, None));
    let store = MemoryStore::new(1_000_000);
    let n = Cell::new(0u64);
    group.bench_function("d_store_memory", |b| {
        b.iter(|| {
            n.set(n.get() + 1);
            let now = setup.base_now + n.get() as f64 * 0.001;
            store.insert_once(&format!("jwtgate:dpop:{}", n.get()), now + 60.0, now).unwrap()
        })
    });
    group.finish();
}

fn split(jws: &str) -> (&[u8], Vec<u8>) {
    let dot = jws.rfind('.').unwrap();
    (&jws.as_bytes()[..dot], base64url_decode(&jws[dot + 1..]).unwrap())
}

fn redis(c: &mut Criterion) {
    let Some(server) = RedisServer::try_start(None) else {
        eprintln!("redis-server not available: the Redis rows are skipped");
        return;
    };
    let url = server.url();
    let setup = setup();
    let mut group = c.benchmark_group("dpop_ES256_redis");
    let store: Arc<dyn ReplayStore> = Arc::new(RedisStore::new(&url, Duration::from_millis(250)).unwrap());
    bench_decide(&mut group, "e_decide_redis", &setup, &setup.verifier(0, Some(store)));
    let raw = RedisStore::new(&url, Duration::from_millis(250)).unwrap();
    let n = Cell::new(0u64);
    group.bench_function("f_store_redis", |b| {
        b.iter(|| {
            n.set(n.get() + 1);
            let now = setup.base_now + n.get() as f64 * 0.001;
            raw.insert_once(&format!("jwtgate:bench:{}", n.get()), now + 60.0, now).unwrap()
        })
    });
    group.finish();
    drop(server);
}

criterion_group! {
    name = cpu;
    config = Criterion::default()
        .with_measurement(BenchClock::from_env())
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    targets = memory
}
criterion_group! {
    name = wall;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    targets = redis
}
criterion_main!(cpu, wall);
