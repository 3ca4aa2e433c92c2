//! What the gateway layer costs on top of verification: `Verifier::decide`
//! on a typical request (8 headers, the token in `Authorization`, two
//! forwarded claims plus the payload header) against `Verifier::verify` of
//! the same token through the same verifier, cache off and cache on, for
//! RS256 and HS256. The difference of the two rows is the cost of `decide`
//! (token extraction, header removal list, forwarded values, decision).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jwtgate::{Request, Verifier};
use jwtgate_benches::{ALGS, BenchClock, Case};
use serde_json::json;

fn with_forwarding(case: &Case, cache_entries: usize) -> Verifier {
    let mut policy = serde_json::to_value(case.jwtgate.policy().doc()).expect("policy document");
    policy["issuers"][0]["forward"] = json!({"claims_to_headers": {"sub": "X-User", "tenant": "X-Tenant"}, "payload_header": "X-JWT-Payload"});
    policy["cache"] = json!({"max_entries": cache_entries});
    Verifier::from_value(policy).expect("policy")
}

fn decide(c: &mut Criterion<BenchClock>) {
    for (alg, jwt_alg) in ALGS.iter().filter(|(a, _)| matches!(a.name(), "RS256" | "HS256")) {
        let case = Case::new(*alg, *jwt_alg);
        let authorization = format!("Bearer {}", case.token);
        let headers = [
            ("Host", "api.example.com"),
            ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
            ("Accept", "application/json"),
            ("Accept-Encoding", "gzip, deflate, br"),
            ("Accept-Language", "en-US,en;q=0.9"),
            ("Authorization", authorization.as_str()),
            ("X-Request-Id", "0f8fad5b-d9cb-469f-a165-70867728950e"),
            ("Connection", "keep-alive"),
        ];
        let request =
            Request { now: Some(case.now), ..Request::new("GET", "/orders/42?expand=items", &headers) };
        for (label, entries) in [("cache_off", 0), ("cache_on", 10_000)] {
            let verifier = with_forwarding(&case, entries);
            assert!(verifier.decide(&request, None).allow);
            let mut group = c.benchmark_group(format!("{}_{label}", alg.name()));
            group.bench_function("a_verify", |b| {
                b.iter(|| verifier.verify(black_box(&case.token), Some(case.now)).expect("verify"))
            });
            group.bench_function("b_decide", |b| b.iter(|| verifier.decide(black_box(&request), None)));
            group.finish();
        }
    }
}

criterion_group! {
    name = gateway;
    config = Criterion::default()
        .with_measurement(BenchClock::from_env())
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    targets = decide
}
criterion_main!(gateway);
