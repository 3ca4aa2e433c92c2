//! Keys from a JWKS cache cost nothing extra on the hot path.
//!
//! Per algorithm, the same token through two verifiers with the same key:
//! `inline` (the key in the policy's `jwks`) and `jwks_uri` (the key fetched
//! once from a JWKS endpoint on 127.0.0.1, then read from the cache). The
//! verified-token cache is off in both, so every iteration checks the
//! signature with the key set. Timed on thread CPU time like `verify`.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jwtgate::{Algorithm, Verifier};
use jwtgate_benches::{AUDIENCE, BenchClock, Case, ISSUER};
use serde_json::json;
use support::{Behavior, JwksServer};

/// A verifier whose keys come from a JWKS endpoint on 127.0.0.1, fetched
/// once (max-age one hour); the endpoint stays up as long as the verifier.
fn jwks_verifier(case: &Case) -> (Verifier, JwksServer) {
    let jwks = case.jwtgate.policy().doc().issuers[0].keys.jwks.clone().expect("inline jwks");
    let server = JwksServer::start(Behavior::Serve { body: jwks.to_string(), max_age: Some(3600) });
    let url = server.jwks_url();
    let verifier = Verifier::from_value(json!({
        "issuers": [{
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "algorithms": [case.alg.name()],
            "keys": {"jwks_uri": url, "allow_http": true},
            "claims": {"tenant": {"equals": "acme"}}
        }],
        "cache": {"max_entries": 0}
    }))
    .expect("policy");
    verifier.verify(&case.token, Some(case.now)).expect("first verify fetches the keys");
    (verifier, server)
}

fn inline_vs_jwks(c: &mut Criterion<BenchClock>) {
    for (alg, jwt_alg) in [
        (Algorithm::RS256, jsonwebtoken::Algorithm::RS256),
        (Algorithm::ES256, jsonwebtoken::Algorithm::ES256),
        (Algorithm::EdDSA, jsonwebtoken::Algorithm::EdDSA),
    ] {
        let case = Case::new(alg, jwt_alg);
        let (remote, _idp) = jwks_verifier(&case);
        let mut group = c.benchmark_group(format!("jwks_{}", alg.name()));
        group.bench_function("inline", |b| {
            b.iter(|| case.jwtgate.verify(black_box(&case.token), Some(case.now)).expect("verify"))
        });
        group.bench_function("jwks_uri", |b| {
            b.iter(|| remote.verify(black_box(&case.token), Some(case.now)).expect("verify"))
        });
        group.finish();
        let fetches: u64 = remote.stats(Some(case.now)).key_sets.iter().map(|k| k.remote.fetches).sum();
        assert_eq!(fetches, 1, "the timed loop never fetched");
    }
}

criterion_group! {
    name = jwks;
    config = Criterion::default()
        .with_measurement(BenchClock::from_env())
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(30)
        .configure_from_args();
    targets = inline_vs_jwks
}
criterion_main!(jwks);
