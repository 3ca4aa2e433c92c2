//! RS256 verification (cache off) on 1 and on 2 threads, with the CPU time
//! each thread got, so scaling can be judged on a busy machine too.
//!
//! Wall-clock speedup needs two idle cores. The CPU time per verification
//! does not: if it stays the same on two threads as on one, the verifier
//! itself scales (no lock, no contended cache line) and any shortfall in
//! wall-clock speedup is other load on the machine, which the runqueue
//! wait (time a thread was ready but not running) shows. Time a thread
//! spent neither running nor waiting for a core (wall - CPU - runqueue
//! wait) would be time blocked, on a lock for instance; it is printed too.
//!
//! Usage: `scaling [ITERATIONS_PER_THREAD]` (default 20000). Reads
//! `/proc/thread-self/schedstat` (Linux).

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use jwtgate::Algorithm;
use jwtgate_benches::Case;

/// CPU time and runqueue wait of the calling thread, nanoseconds.
fn schedstat() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    Some((fields.next()??, fields.next()??))
}

struct Run {
    wall: Duration,
    cpu_ns: u64,
    wait_ns: u64,
    /// Summed over threads: own wall time - CPU time - runqueue wait.
    blocked_ns: i64,
    ops: u64,
}

fn run(case: &Case, threads: u64, iters: u64) -> Option<Run> {
    let start = Instant::now();
    let per_thread: Vec<Option<(u64, u64, u64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let (cpu0, wait0) = schedstat()?;
                    let own = Instant::now();
                    for _ in 0..iters {
                        black_box(
                            case.jwtgate.verify(black_box(&case.token), Some(case.now)).expect("verify"),
                        );
                    }
                    let own = own.elapsed().as_nanos() as u64;
                    let (cpu1, wait1) = schedstat()?;
                    Some((cpu1 - cpu0, wait1 - wait0, own))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("bench thread")).collect()
    });
    let wall = start.elapsed();
    let mut run = Run { wall, cpu_ns: 0, wait_ns: 0, blocked_ns: 0, ops: threads * iters };
    for (cpu, wait, own) in per_thread.into_iter().collect::<Option<Vec<_>>>()? {
        run.cpu_ns += cpu;
        run.wait_ns += wait;
        run.blocked_ns += own as i64 - cpu as i64 - wait as i64;
    }
    Some(run)
}

fn main() -> ExitCode {
    let iters = match std::env::args().nth(1).map(|a| a.parse::<u64>()) {
        None => 20_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: scaling [ITERATIONS_PER_THREAD]");
            return ExitCode::from(2);
        }
    };
    let case = Case::new(Algorithm::RS256, jsonwebtoken::Algorithm::RS256);
    run(&case, 1, iters / 10); // warm up
    let (Some(one), Some(two)) = (run(&case, 1, iters), run(&case, 2, iters)) else {
        eprintln!("/proc/thread-self/schedstat is not readable");
        return ExitCode::FAILURE;
    };
    let ops_s = |r: &Run| r.ops as f64 / r.wall.as_secs_f64();
    let cpu_per_op = |r: &Run| r.cpu_ns as f64 / r.ops as f64;
    for (threads, r) in [(1, &one), (2, &two)] {
        println!(
            "RS256 {threads} thread(s): {:.0} ops/s wall, {:.0} ns CPU per verification, \
             runqueue wait {:.0} ms, blocked {:.1} ms (of {:.0} ms wall)",
            ops_s(r),
            cpu_per_op(r),
            r.wait_ns as f64 / 1e6,
            r.blocked_ns as f64 / 1e6,
            r.wall.as_secs_f64() * 1e3
        );
    }
    println!("wall-clock speedup 2 threads / 1: {:.2}x", ops_s(&two) / ops_s(&one));
    println!(
        "CPU-time speedup 2 threads / 1 (2 x CPU per op on 1 / CPU per op on 2): {:.2}x",
        2.0 * cpu_per_op(&one) / cpu_per_op(&two)
    );
    ExitCode::SUCCESS
}
