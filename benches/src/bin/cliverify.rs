//! `jwtgate verify` on a stream of tokens against the raw signature check
//! of the same tokens, in the same run: the command's throughput as a
//! fraction of the floor.
//!
//! ```text
//! cargo build --profile bench -p jwtgate --features cli --bin jwtgate
//! cargo build --profile bench -p jwtgate-benches --bin cliverify
//! taskset -c 0 target/release/cliverify target/release/jwtgate [--tokens 20000] [--rounds 7]
//! ```
//!
//! For RS256 and ES256 it signs `--tokens` distinct tokens (a `jti` each)
//! with a fresh key, then per round and algorithm times
//! - raw: aws-lc-rs `verify_sig` of every token's signing input, the
//!   signature already decoded, in this process;
//! - cli: `jwtgate verify --policy P` reading the tokens from stdin (a file)
//!   and writing one JSON line each into a pipe this process drains (and
//!   checks: one `"valid":true` line per token); wall time from spawn to exit.
//!
//! Both run on whatever cores this process may use (`taskset -c 0` pins
//! both to one core: the command inherits the affinity). Rounds alternate
//! the order of the two, so a change in the machine's load reaches both;
//! the median of the per-round ratios is the result.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use jwtgate::Algorithm;
use jwtgate_benches::{ALGS, Case, LIFETIME_S, claims, policy};
use serde_json::Value;

struct Setup {
    alg: Algorithm,
    case: Case,
    policy: PathBuf,
    tokens: PathBuf,
    /// Signing input and decoded signature of every token.
    raw: Vec<(Vec<u8>, Vec<u8>)>,
}

fn setup(dir: &Path, alg: Algorithm, count: usize) -> Setup {
    let jwt_alg = ALGS.iter().find(|(a, _)| *a == alg).expect("benchmarked algorithm").1;
    let case = Case::new(alg, jwt_alg);
    let mut text = String::new();
    let mut raw = Vec::with_capacity(count);
    for i in 0..count {
        let mut claims = claims(case.issued);
        claims["jti"] = Value::from(format!("token-{i}"));
        let token = case.signer.sign(&claims, Some(LIFETIME_S), Some(case.issued)).expect("sign");
        let dot = token.rfind('.').expect("three segments");
        let sig = jwtgate::base64url_decode(&token[dot + 1..]).expect("signature");
        raw.push((token.as_bytes()[..dot].to_vec(), sig));
        text.push_str(&token);
        text.push('\n');
    }
    let name = alg.name();
    let tokens = dir.join(format!("{name}.tokens"));
    fs::write(&tokens, text).expect("write tokens");
    // The policy an operator writes: the default verified-token cache.
    let mut doc = policy(alg, case.keys.clone(), 0);
    doc.as_object_mut().expect("policy object").remove("cache");
    let policy = dir.join(format!("{name}.policy.json"));
    fs::write(&policy, doc.to_string()).expect("write policy");
    Setup { alg, case, policy, tokens, raw }
}

/// Tokens per second of the raw signature check.
fn raw_rate(setup: &Setup) -> f64 {
    let start = Instant::now();
    let mut ok = 0usize;
    for (message, sig) in &setup.raw {
        ok += usize::from(setup.case.raw_key.verify(std::hint::black_box(message), sig));
    }
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(ok, setup.raw.len(), "{}: raw verify", setup.alg);
    setup.raw.len() as f64 / elapsed
}

/// Tokens per second of `jwtgate verify` over the token file.
fn cli_rate(jwtgate: &Path, setup: &Setup) -> f64 {
    let start = Instant::now();
    let mut child = Command::new(jwtgate)
        .arg("verify")
        .arg("--policy")
        .arg(&setup.policy)
        .stdin(File::open(&setup.tokens).expect("open tokens"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start jwtgate");
    let mut out = Vec::with_capacity(setup.raw.len() * 512);
    child.stdout.take().expect("stdout").read_to_end(&mut out).expect("read verdicts");
    let status = child.wait().expect("wait for jwtgate");
    let elapsed = start.elapsed().as_secs_f64();
    assert!(status.success(), "{}: jwtgate verify exited with {status}", setup.alg);
    let valid = out.split(|&b| b == b'\n').filter(|l| l.starts_with(b"{\"valid\":true,")).count();
    assert_eq!(valid, setup.raw.len(), "{}: one valid verdict per token", setup.alg);
    setup.raw.len() as f64 / elapsed
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 }
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut jwtgate, mut count, mut rounds) = (PathBuf::from("target/release/jwtgate"), 20_000usize, 7usize);
    while let Some(arg) = args.next() {
        let mut number = |what: &str| {
            args.next()
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| panic!("{what} takes a positive whole number"))
        };
        match arg.as_str() {
            "--tokens" => count = number("--tokens"),
            "--rounds" => rounds = number("--rounds"),
            path => jwtgate = PathBuf::from(path),
        }
    }
    let dir = std::env::temp_dir().join(format!("jwtgate-cliverify-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let setups: Vec<Setup> =
        [Algorithm::RS256, Algorithm::ES256].into_iter().map(|alg| setup(&dir, alg, count)).collect();
    let load_before = loadavg();
    println!("{count} distinct tokens per run, {rounds} rounds, load average before: {load_before}");
    println!("{:<7}{:>6}{:>14}{:>14}{:>8}", "alg", "round", "raw tok/s", "cli tok/s", "ratio");
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); setups.len()];
    for round in 0..rounds {
        for (setup, ratios) in setups.iter().zip(&mut ratios) {
            let (raw, cli) = if round % 2 == 0 {
                let raw = raw_rate(setup);
                (raw, cli_rate(&jwtgate, setup))
            } else {
                let cli = cli_rate(&jwtgate, setup);
                (raw_rate(setup), cli)
            };
            ratios.push(cli / raw);
            println!("{:<7}{:>6}{:>14.0}{:>14.0}{:>8.3}", setup.alg.name(), round + 1, raw, cli, cli / raw);
            let _ = std::io::stdout().flush();
        }
    }
    println!("load average after: {}", loadavg());
    for (setup, ratios) in setups.iter().zip(&mut ratios) {
        let (lo, hi) = ratios.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        println!("{}: median cli/raw {:.3} (range {lo:.3} to {hi:.3})", setup.alg.name(), median(ratios));
    }
    let _ = fs::remove_dir_all(&dir);
    ExitCode::SUCCESS
}
