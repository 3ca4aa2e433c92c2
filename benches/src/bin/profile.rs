//! Runs one contender of the core benchmarks in a loop, for a profiler:
//!
//! ```text
//! cargo build --profile bench -p jwtgate-benches --bin profile
//! valgrind --tool=callgrind target/release/profile HS256 jwtgate 100000
//! ```
//!
//! Arguments: algorithm (RS256, PS256, ES256, ES384, EdDSA, HS256),
//! contender (raw, jwtgate, jsonwebtoken, cache_hit), iteration count.
//! Prints the wall time per iteration.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use jwtgate_benches::{ALGS, Case};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [alg, contender, iters] = args.as_slice() else {
        eprintln!("usage: profile ALG raw|jwtgate|jsonwebtoken|cache_hit ITERATIONS");
        return ExitCode::from(2);
    };
    let Some((alg, jwt_alg)) = ALGS.into_iter().find(|(a, _)| a.name() == alg) else {
        eprintln!("unknown algorithm {alg}");
        return ExitCode::from(2);
    };
    let Ok(iters) = iters.parse::<u64>() else {
        eprintln!("ITERATIONS must be a whole number");
        return ExitCode::from(2);
    };
    let case = Case::new(alg, jwt_alg);
    let (message, sig) = case.split();
    let start = Instant::now();
    match contender.as_str() {
        "raw" => (0..iters).for_each(|_| assert!(case.raw_key.verify(black_box(message), black_box(&sig)))),
        "jwtgate" => (0..iters).for_each(|_| {
            black_box(case.jwtgate.verify(black_box(&case.token), Some(case.now)).expect("verify"));
        }),
        "jsonwebtoken" => (0..iters).for_each(|_| assert!(case.jsonwebtoken().expect("decode"))),
        "cache_hit" => (0..iters).for_each(|_| {
            black_box(case.jwtgate_cached.verify(black_box(&case.token), Some(case.now)).expect("verify"));
        }),
        other => {
            eprintln!("unknown contender {other}");
            return ExitCode::from(2);
        }
    }
    let elapsed = start.elapsed();
    println!(
        "{} {contender}: {:.0} ns per iteration",
        alg.name(),
        elapsed.as_nanos() as f64 / iters.max(1) as f64
    );
    ExitCode::SUCCESS
}
