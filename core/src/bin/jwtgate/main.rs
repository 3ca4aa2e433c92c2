//! `jwtgate`: the operator command over the jwtgate library.
//!
//! Every decision comes from the library: this binary parses arguments,
//! reads files and streams, and prints what the library returns.

mod bench;
mod decide;
mod docs;
mod keys;
mod verify;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jwtgate::Algorithm;
use serde_json::Value;

const EXIT_STATUS: &str = "\
Exit status:
  0  success (for verify: every token is valid)
  1  a token or request was rejected (verify, decide, inspect, bench)
  2  usage error, or a bad policy, key, file or input";

#[derive(Parser)]
#[command(
    name = "jwtgate",
    version,
    about = "Verify, inspect, sign and benchmark JSON Web Tokens with jwtgate policies",
    after_help = EXIT_STATUS,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify tokens against a policy and print one JSON verdict per line.
    #[command(after_help = verify::VERIFY_HELP)]
    Verify(verify::VerifyArgs),
    /// Decide one gateway request (token source, rejection, headers to set and remove).
    #[command(after_help = decide::DECIDE_HELP)]
    Decide(decide::DecideArgs),
    /// Decode a token WITHOUT verifying it (header and claims, untrusted).
    Inspect(verify::InspectArgs),
    /// Sign claims with a private key or an HMAC secret and print the token.
    Sign(keys::SignArgs),
    /// Generate a key pair (or an HMAC secret) and its public JWK.
    Keygen(keys::KeygenArgs),
    /// Print the public JWKS of private key files.
    Jwks(keys::JwksArgs),
    /// Measure verifications per second for a policy and a token.
    Bench(bench::BenchArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    #[command(after_help = docs::COMPLETIONS_HELP)]
    Completions(docs::CompletionsArgs),
    /// Print the man page, or write one per subcommand with --out-dir.
    #[command(after_help = docs::MAN_HELP)]
    Man(docs::ManArgs),
}

/// Why a command stopped: printed as `jwtgate: error: ...` on stderr,
/// with exit status 2. An empty message prints nothing (a closed pipe).
pub struct Fail(pub String);

impl From<jwtgate::Error> for Fail {
    fn from(e: jwtgate::Error) -> Fail {
        Fail(e.to_string())
    }
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Fail {
        if e.kind() == io::ErrorKind::BrokenPipe { Fail(String::new()) } else { Fail(e.to_string()) }
    }
}

/// What a command returns: its exit status, or a failure (status 2).
pub type Outcome = Result<ExitCode, Fail>;

/// Exit status when a token is rejected.
pub const REJECTED: u8 = 1;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version print to stdout and exit 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let outcome = match cli.command {
        Command::Verify(args) => verify::verify(args),
        Command::Decide(args) => decide::decide(args),
        Command::Inspect(args) => verify::inspect(args),
        Command::Sign(args) => keys::sign(args),
        Command::Keygen(args) => keys::keygen(args),
        Command::Jwks(args) => keys::jwks(args),
        Command::Bench(args) => bench::bench(args),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
    };
    match outcome {
        Ok(code) => code,
        Err(Fail(message)) => {
            if !message.is_empty() {
                eprintln!("jwtgate: error: {message}");
            }
            ExitCode::from(2)
        }
    }
}

/// Parses an algorithm name for clap, listing the valid ones on error.
pub fn parse_alg(name: &str) -> Result<Algorithm, String> {
    name.parse().map_err(|e: jwtgate::UnknownAlgorithm| e.to_string())
}

/// Parses `--now` (unix seconds, finite and not negative).
pub fn parse_now(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(now) if now.is_finite() && now >= 0.0 => Ok(now),
        _ => Err("expected unix seconds, such as 1700000000 or 1700000000.5".into()),
    }
}

/// Parses a lifetime: a duration with units (`90s`, `30m`, `1h`, `2d`,
/// `1h 30m`, as humantime reads them) or plain seconds (`300`), in whole
/// seconds because JWT times are.
pub fn parse_lifetime(text: &str) -> Result<u64, String> {
    const EXPECTED: &str =
        "expected a duration such as 90s, 30m, 1h, 2d or 1h30m, or plain seconds such as 300";
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| format!("{text} seconds is too long"));
    }
    let duration = humantime::parse_duration(text).map_err(|e| format!("{EXPECTED} ({e})"))?;
    if duration.subsec_nanos() != 0 {
        return Err(format!("{text} is not a whole number of seconds (JWT times are in seconds)"));
    }
    Ok(duration.as_secs())
}

/// Renders a JSON object with its members in the given order (serde_json
/// sorts map keys), compact on one line or pretty with two-space indents.
pub fn ordered_object(members: &[(&str, Value)], pretty: bool) -> String {
    let render = |v: &Value| {
        if pretty {
            // Pretty JSON never holds a raw newline inside a string, so
            // indenting after every newline only indents lines.
            serde_json::to_string_pretty(v).unwrap_or_default().replace('\n', "\n  ")
        } else {
            v.to_string()
        }
    };
    let parts: Vec<String> = members
        .iter()
        .map(|(name, value)| format!("{}:{}{}", Value::from(*name), sep(pretty), render(value)))
        .collect();
    if pretty { format!("{{\n  {}\n}}", parts.join(",\n  ")) } else { format!("{{{}}}", parts.join(",")) }
}

fn sep(pretty: bool) -> &'static str {
    if pretty { " " } else { "" }
}

/// Writes `text` and a newline to stdout and flushes, so each result
/// reaches a pipe as soon as it is known.
pub fn print_line(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Reads a file as UTF-8 text, naming the file in the error.
pub fn read_text(path: &std::path::Path) -> Result<String, Fail> {
    std::fs::read_to_string(path).map_err(|e| Fail(format!("{}: {e}", path.display())))
}
