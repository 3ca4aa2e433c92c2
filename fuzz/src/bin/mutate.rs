//! The stable mutation harness: loads the seed corpus, mutates it for a
//! bounded time, runs every target under `catch_unwind` and writes every
//! failing input (panic, broken invariant, slow call) to `fuzz/crashes/`.
//!
//! ```text
//! mutate [--seconds 60] [--threads 2] [--target NAME]... [--seed N]
//!        [--slow-ms 2000] [--hang-s 20] [--crashes DIR]
//! mutate --replay [--target NAME] FILE...
//! mutate --write-corpus
//! ```
//!
//! Inputs whose outcome (error code and message class) is new join the
//! pool of inputs to mutate, a cheap stand-in for coverage feedback.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jwtgate_fuzz::Target;
use jwtgate_fuzz::corpus;
use jwtgate_fuzz::mutate::Rng;
use jwtgate_fuzz::targets::take_trace;

/// Largest input kept in the pool.
const MAX_INPUT: usize = 64 * 1024;
/// Most inputs in a target's pool.
const MAX_POOL: usize = 4000;
/// Most crash files written per target.
const MAX_CRASH_FILES: usize = 20;

struct Options {
    seconds: f64,
    threads: usize,
    targets: Vec<Target>,
    seed: u64,
    slow: Duration,
    hang: Duration,
    crashes: PathBuf,
    replay: Option<Vec<PathBuf>>,
    write_corpus: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        seconds: 60.0,
        threads: 2,
        targets: Vec::new(),
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        slow: Duration::from_millis(2000),
        hang: Duration::from_secs(20),
        crashes: jwtgate_fuzz::fixtures::root().join("fuzz/crashes"),
        replay: None,
        write_corpus: false,
    };
    let mut args = std::env::args().skip(1);
    let mut files = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--seconds" => o.seconds = value("--seconds")?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--threads" => o.threads = value("--threads")?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--seed" => o.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--slow-ms" => {
                o.slow =
                    Duration::from_millis(value("--slow-ms")?.parse().map_err(|e| format!("--slow-ms: {e}"))?)
            }
            "--hang-s" => {
                o.hang =
                    Duration::from_secs(value("--hang-s")?.parse().map_err(|e| format!("--hang-s: {e}"))?)
            }
            "--crashes" => o.crashes = value("--crashes")?.into(),
            "--target" => {
                let name = value("--target")?;
                o.targets.push(Target::from_name(&name).ok_or(format!("unknown target {name}"))?);
            }
            "--replay" => o.replay = Some(Vec::new()),
            "--write-corpus" => o.write_corpus = true,
            "-h" | "--help" => return Err(String::new()),
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            file => files.push(PathBuf::from(file)),
        }
    }
    if let Some(replay) = &mut o.replay {
        *replay = files;
    } else if !files.is_empty() {
        return Err("files are only read with --replay".into());
    }
    if o.targets.is_empty() {
        o.targets = Target::ALL.to_vec();
    }
    o.threads = o.threads.max(1);
    Ok(o)
}

thread_local! {
    static LAST_PANIC: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Runs a target on one input, catching panics; `Err` is the failure.
fn run_one(target: Target, data: &[u8], slow: Duration) -> (Result<(), String>, Duration) {
    let timed = || {
        let start = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| target.run(data)));
        (result, start.elapsed())
    };
    let (result, mut took) = timed();
    // A stall of the machine (other builds, disk writeback) is not the
    // input's fault: a slow call counts only when two more runs are slow too.
    for _ in 0..2 {
        if took <= slow || result.is_err() {
            break;
        }
        took = took.min(timed().1);
    }
    let result = match result {
        Ok(Ok(())) if took > slow => Err(format!("slow: one call took {took:?}")),
        Ok(outcome) => outcome,
        Err(_) => Err(format!("panic: {}", LAST_PANIC.with(|p| p.borrow().clone()))),
    };
    (result, took)
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// Saves a failing input and its reason; returns the file written.
fn save_crash(dir: &std::path::Path, target: Target, data: &[u8], why: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}-{:016x}", target.name(), fnv(data)));
    std::fs::write(&path, data)?;
    std::fs::write(path.with_extension("txt"), format!("target: {}\nreason: {why}\n", target.name()))?;
    Ok(path)
}

/// What one worker is running, for the hang watchdog.
#[derive(Default)]
struct Busy {
    since: Option<Instant>,
    target: Option<Target>,
    input: Vec<u8>,
}

struct Report {
    target: Target,
    seeds: usize,
    runs: usize,
    failed: usize,
    pool: usize,
    slowest: Duration,
}

fn fuzz_target(target: Target, o: &Options, seconds: f64, seed: u64, busy: &Mutex<Busy>) -> Report {
    let seeds = corpus::load(target);
    let mut report =
        Report { target, seeds: seeds.len(), runs: 0, failed: 0, pool: 0, slowest: Duration::ZERO };
    let mut crash_files = 0;
    let mut failure_kinds = HashSet::new();
    let mut fail = |data: &[u8], why: String, report: &mut Report| {
        report.failed += 1;
        let kind = why.chars().take(80).filter(|c| !c.is_ascii_digit()).collect::<String>();
        if failure_kinds.insert(kind) || crash_files < MAX_CRASH_FILES {
            crash_files += 1;
            match save_crash(&o.crashes, target, data, &why) {
                Ok(path) => eprintln!("FAIL {}: {why}\n  input saved to {}", target.name(), path.display()),
                Err(e) => eprintln!("FAIL {}: {why}\n  (could not save the input: {e})", target.name()),
            }
        }
    };
    let mut traces = HashSet::new();
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut run = |data: &[u8], report: &mut Report| -> Option<u64> {
        {
            let mut b = busy.lock().unwrap();
            b.since = Some(Instant::now());
            b.target = Some(target);
            b.input.clear();
            b.input.extend_from_slice(data);
        }
        let (result, took) = run_one(target, data, o.slow);
        busy.lock().unwrap().since = None;
        let trace = take_trace();
        report.runs += 1;
        report.slowest = report.slowest.max(took);
        match result {
            Ok(()) => Some(trace),
            Err(why) => {
                report.runs -= 1;
                fail(data, why, report);
                None
            }
        }
    };
    for (_, data) in &seeds {
        if let Some(trace) = run(data, &mut report) {
            traces.insert(trace);
        }
        pool.push(data.clone());
    }
    if pool.is_empty() {
        eprintln!("FAIL {}: no seeds in {}", target.name(), corpus::dir(target).display());
        report.failed += 1;
        return report;
    }
    let mut rng = Rng::new(seed ^ jwtgate_fuzz::mutate::Rng::new(target as u64).next_u64());
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < deadline {
        for _ in 0..16 {
            let base = if pool.len() > seeds.len() && rng.one_in(2) {
                &pool[seeds.len() + rng.below(pool.len() - seeds.len())]
            } else {
                &pool[rng.below(pool.len())]
            };
            let others: Vec<&[u8]> = (0..2).map(|_| pool[rng.below(pool.len())].as_slice()).collect();
            let mut input = target.mutate(base, &mut rng, &others);
            for _ in 0..rng.below(3) {
                input = target.mutate(&input, &mut rng, &others);
            }
            input.truncate(MAX_INPUT);
            if let Some(trace) = run(&input, &mut report)
                && traces.insert(trace)
                && pool.len() < MAX_POOL
            {
                pool.push(input);
            }
        }
    }
    report.pool = pool.len();
    report
}

fn watchdog(busy: Arc<Vec<Mutex<Busy>>>, hang: Duration, crashes: PathBuf) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(250));
            for slot in busy.iter() {
                let b = slot.lock().unwrap();
                if let (Some(since), Some(target)) = (b.since, b.target)
                    && since.elapsed() > hang
                {
                    let why = format!("hang: one call ran for more than {hang:?}");
                    let saved = save_crash(&crashes, target, &b.input, &why);
                    eprintln!("FAIL {}: {why}\n  input saved to {saved:?}", target.name());
                    println!("fuzz: 0 passed, 1 failed");
                    std::process::exit(1);
                }
            }
        }
    });
}

fn replay(o: &Options, files: &[PathBuf]) -> ExitCode {
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let data = match std::fs::read(file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                failed += 1;
                continue;
            }
        };
        for target in &o.targets {
            match run_one(*target, &data, o.slow).0 {
                Ok(()) => passed += 1,
                Err(why) => {
                    failed += 1;
                    eprintln!("FAIL {} {}: {why}", target.name(), file.display());
                }
            }
        }
    }
    println!("fuzz: {passed} passed, {failed} failed");
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(why) => {
            eprintln!(
                "{why}\n\nusage: mutate [--seconds S] [--threads N] [--target NAME]... [--seed N] [--slow-ms MS] [--hang-s S] [--crashes DIR]\n       mutate --replay [--target NAME]... FILE...\n       mutate --write-corpus\ntargets: {}",
                Target::ALL.map(Target::name).join(" ")
            );
            return ExitCode::from(2);
        }
    };
    std::panic::set_hook(Box::new(|info| {
        LAST_PANIC.with(|p| *p.borrow_mut() = info.to_string());
    }));
    if o.write_corpus {
        let base = jwtgate_fuzz::fixtures::root().join("fuzz/corpus");
        return match corpus::write(&base) {
            Ok(n) => {
                println!("wrote {n} seeds under {}", base.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("writing the corpus: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // Build the fixtures before the clock starts.
    let _ = jwtgate_fuzz::fixtures::fixtures();
    if let Some(files) = &o.replay {
        return replay(&o, files);
    }
    println!(
        "fuzz: {} targets, {:.0} s on {} threads, seed {} (replay with --seed)",
        o.targets.len(),
        o.seconds,
        o.threads,
        o.seed
    );
    let per_target = o.seconds * o.threads as f64 / o.targets.len() as f64;
    let busy: Arc<Vec<Mutex<Busy>>> = Arc::new((0..o.threads).map(|_| Mutex::default()).collect());
    watchdog(Arc::clone(&busy), o.hang, o.crashes.clone());
    let next = AtomicUsize::new(0);
    let reports: Mutex<HashMap<usize, Report>> = Mutex::default();
    std::thread::scope(|s| {
        for worker in 0..o.threads {
            let (o, next, reports, busy) = (&o, &next, &reports, &busy);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = o.targets.get(i) else { break };
                    let report =
                        fuzz_target(*target, o, per_target, o.seed.wrapping_add(i as u64), &busy[worker]);
                    reports.lock().unwrap().insert(i, report);
                }
            });
        }
    });
    jwtgate_fuzz::targets::remove_scratch_files();
    let reports = reports.into_inner().unwrap();
    let (mut passed, mut failed) = (0, 0);
    for i in 0..o.targets.len() {
        let r = &reports[&i];
        println!(
            "  {:<10} {:>8} runs ({} seeds, pool {}), {} failed, slowest call {:.1} ms",
            r.target.name(),
            r.runs,
            r.seeds,
            r.pool,
            r.failed,
            r.slowest.as_secs_f64() * 1000.0
        );
        passed += r.runs;
        failed += r.failed;
    }
    println!("fuzz: {passed} passed, {failed} failed");
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
