//! `jwtgate bench`: verifications per second for one policy and token.

use std::hint::black_box;
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use jwtgate::{DEFAULT_CACHE_ENTRIES, Policy, Verifier};
use serde_json::json;

use crate::{Outcome, REJECTED, ordered_object, parse_now, print_line};

/// Verifications between two looks at the stop flag.
const BATCH: u64 = 16;

#[derive(Args)]
pub struct BenchArgs {
    /// The policy document (JSON).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Seconds per measurement (four measurements in all).
    #[arg(long, value_name = "N", default_value = "2", value_parser = parse_seconds)]
    seconds: f64,
    /// Threads for the parallel runs (defaults to the available parallelism).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    /// Pin the clock to these unix seconds instead of the system clock.
    #[arg(long, value_name = "SECS", value_parser = parse_now)]
    now: Option<f64>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// The token; it must verify under the policy.
    #[arg(value_name = "TOKEN", allow_hyphen_values = true)]
    token: String,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Ok(s),
        _ => Err("expected seconds above 0 and at most 3600, such as 2 or 0.5".into()),
    }
}

pub fn bench(args: BenchArgs) -> Outcome {
    let policy = Policy::from_file(&args.policy)?;
    let base = args.policy.parent();
    // Two verifiers from the same document, differing only in the cache.
    let mut uncached_doc = policy.doc().clone();
    uncached_doc.cache.max_entries = 0;
    let mut cached_doc = policy.doc().clone();
    if cached_doc.cache.max_entries == 0 {
        cached_doc.cache.max_entries = DEFAULT_CACHE_ENTRIES;
    }
    let cache_entries = cached_doc.cache.max_entries;
    let cached = Verifier::new(Policy::from_doc(cached_doc, base)?);
    let uncached = Verifier::new(Policy::from_doc(uncached_doc, base)?);

    let token = args.token.as_bytes();
    let alg = match uncached.verify(token, args.now) {
        Ok(v) => v.header()["alg"].as_str().unwrap_or_default().to_owned(),
        Err(e) => {
            eprintln!("jwtgate: the token does not verify under this policy: {e}");
            return Ok(ExitCode::from(REJECTED));
        }
    };
    // Warm the cache so the cached runs measure hits.
    cached.verify(token, args.now)?;

    let threads = args
        .threads
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map(usize::from).unwrap_or(1));
    let progress = Progress::new(args.seconds);
    let mut step = 0;
    let mut run = |verifier: &Verifier, cache: &str, n: usize| {
        step += 1;
        progress.show(step, cache, n);
        rate(verifier, token, args.now, n, args.seconds)
    };
    let on = (run(&cached, "on", 1), run(&cached, "on", threads));
    let off = (run(&uncached, "off", 1), run(&uncached, "off", threads));
    progress.clear();

    let mut out = io::stdout().lock();
    if args.json {
        let text = ordered_object(
            &[
                ("alg", alg.into()),
                ("threads", threads.into()),
                ("seconds", args.seconds.into()),
                ("cache_entries", cache_entries.into()),
                ("cache_on", json!({"one_thread": on.0, "all_threads": on.1})),
                ("cache_off", json!({"one_thread": off.0, "all_threads": off.1})),
            ],
            false,
        );
        print_line(&mut out, &text)?;
    } else {
        let threads_label = format!("{threads} threads");
        let lines = [
            format!("alg {alg}, {} s per run, tokens per second", args.seconds),
            format!("{:<12}{:>16}{:>16}", "", "1 thread", threads_label),
            format!("{:<12}{:>16.0}{:>16.0}", "cache on", on.0, on.1),
            format!("{:<12}{:>16.0}{:>16.0}", "cache off", off.0, off.1),
        ];
        for line in lines {
            print_line(&mut out, &line)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `bench` is measuring, on one stderr line rewritten in place; shown
/// only when stderr is a terminal, so pipes, logs and `--json` consumers
/// see nothing but the result.
struct Progress {
    seconds: f64,
    shown: bool,
}

impl Progress {
    fn new(seconds: f64) -> Progress {
        Progress { seconds, shown: io::stderr().is_terminal() }
    }

    fn show(&self, step: usize, cache: &str, threads: usize) {
        if self.shown {
            let plural = if threads == 1 { "" } else { "s" };
            eprint!(
                "\r\x1b[Kjwtgate bench: run {step} of {RUNS}, cache {cache}, {threads} thread{plural}, {} s left",
                self.seconds * (RUNS + 1 - step) as f64
            );
        }
    }

    fn clear(&self) {
        if self.shown {
            eprint!("\r\x1b[K");
        }
    }
}

/// Measurements per `bench`: cache on and off, one thread and all.
const RUNS: usize = 4;

/// Verifications per second of `token` on `threads` threads for `seconds`.
fn rate(verifier: &Verifier, token: &[u8], now: Option<f64>, threads: usize, seconds: f64) -> f64 {
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..BATCH {
                            let _ = black_box(verifier.verify(black_box(token), now));
                        }
                        done += BATCH;
                    }
                    done
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}
