//! The core's time per `Verifier::verify` call on a policy and tokens that
//! a binding benchmark hands over, so the binding's own cost is the
//! difference between its figure and this one, measured in the same run:
//!
//! ```text
//! cargo build --profile bench -p jwtgate-benches --bin percall
//! target/release/percall POLICY.json TOKENS.txt            # serve: one request per stdin line
//! target/release/percall POLICY.json TOKENS.txt --calls N  # N calls, then exit (for callgrind)
//! ```
//!
//! `TOKENS.txt` holds one token per line; they are verified in turn, the
//! way the binding benchmarks cycle them, with the system clock (no pinned
//! `now`), as the bindings' benchmarks call `verify(token)`. Every token
//! must verify before anything is timed.
//!
//! Serve mode reads a number of seconds per stdin line, verifies for that
//! long and answers `CALLS CPU_NS` (this thread's CPU time, so another
//! process's load on the machine is not charged to the core), one line per
//! request: the caller interleaves these runs with its own.

use std::hint::black_box;
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use jwtgate::Verifier;
use rustix::time::{ClockId, clock_gettime};

fn cpu_ns() -> u64 {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Verifies the tokens in turn, `calls` times in all.
fn run(verifier: &Verifier, tokens: &[String], calls: u64) {
    for i in 0..calls {
        let token = &tokens[(i % tokens.len() as u64) as usize];
        black_box(verifier.verify(black_box(token.as_bytes()), None).expect("verify"));
    }
}

/// Verifies for about `seconds`; returns the calls made and the CPU time.
fn timed(verifier: &Verifier, tokens: &[String], seconds: f64) -> (u64, u64) {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let (mut calls, start) = (0u64, cpu_ns());
    while Instant::now() < end {
        run(verifier, tokens, 64);
        calls += 64;
    }
    (calls, cpu_ns() - start)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (policy, tokens, calls) = match args.as_slice() {
        [p, t] => (p, t, None),
        [p, t, flag, n] if flag == "--calls" => match n.parse::<u64>() {
            Ok(n) => (p, t, Some(n)),
            Err(_) => {
                eprintln!("--calls takes a whole number");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: percall POLICY.json TOKENS.txt [--calls N]");
            return ExitCode::from(2);
        }
    };
    let verifier = match Verifier::from_file(policy) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("policy: {e}");
            return ExitCode::FAILURE;
        }
    };
    let tokens: Vec<String> = match std::fs::read_to_string(tokens) {
        Ok(text) => text.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect(),
        Err(e) => {
            eprintln!("tokens: {e}");
            return ExitCode::FAILURE;
        }
    };
    if tokens.is_empty() {
        eprintln!("no tokens");
        return ExitCode::FAILURE;
    }
    for token in &tokens {
        if let Err(e) = verifier.verify(token, None) {
            eprintln!("a token does not verify: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Some(calls) = calls {
        run(&verifier, &tokens, calls);
        return ExitCode::SUCCESS;
    }
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let Ok(seconds) = line.map(|l| l.trim().parse::<f64>()) else { break };
        let Ok(seconds) = seconds else {
            eprintln!("each line is a number of seconds");
            return ExitCode::from(2);
        };
        let (calls, ns) = timed(&verifier, &tokens, seconds);
        if writeln!(out, "{calls} {ns}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}
