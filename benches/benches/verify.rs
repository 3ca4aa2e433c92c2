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
//! These run on the benchmark thread's CPU time (see `BenchClock`), so
//! ops/s is per core and other load on the machine does not skew ratios;
//! `JWTGATE_BENCH_CLOCK=wall` switches to wall time.
//!
//! And `rs256_threads/{1,2}` (wall time): RS256 verify, cache off, on one
//! and on two threads, reported as aggregate time per verification (so
//! ops/s is the throughput of all threads together). Wall-clock scaling
//! needs two idle cores; the `scaling` binary also reports CPU-time scaling.
//!
//! `benches/report.py` turns the results into the BENCHMARKS.md table.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jwtgate::Algorithm;
use jwtgate_benches::{ALGS, BenchClock, Case};

fn config<M: criterion::measurement::Measurement>(criterion: Criterion<M>) -> Criterion<M> {
    criterion
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(30)
        .configure_from_args()
}

fn per_algorithm(c: &mut Criterion<BenchClock>) {
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
        group.bench_function("c_jsonwebtoken", |b| b.iter(|| assert!(case.jsonwebtoken().expect("decode"))));
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
    name = algorithms;
    config = config(Criterion::default().with_measurement(BenchClock::from_env()));
    targets = per_algorithm
}
criterion_group! {
    name = threads;
    config = config(Criterion::default());
    targets = rs256_threads
}
criterion_main!(algorithms, threads);
