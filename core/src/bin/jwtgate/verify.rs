//! `jwtgate verify` and `jwtgate inspect`.

use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use jwtgate::{Error, Verified, Verifier};
use serde_json::{Map, Value};

use crate::{Fail, Outcome, REJECTED, ordered_object, parse_now, print_line};

pub const VERIFY_HELP: &str = "\
Output, one JSON object per token and line, in input order:
  {\"valid\":true,\"issuer\":...,\"claims\":{...},\"header\":{...},\"headers\":{...}}
  {\"valid\":false,\"code\":\"expired\",\"message\":...,\"claim\":\"exp\"}
\"header\" is the token's protected header; \"headers\" are the headers the
policy forwards to the backend.

Exit status: 0 when every token is valid, 1 when any is not, 2 for a bad
policy, usage error or no tokens at all.";

#[derive(Args)]
pub struct VerifyArgs {
    /// The policy document (JSON); relative key files are read from its folder.
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Pin the clock to these unix seconds instead of the system clock.
    #[arg(long, value_name = "SECS", value_parser = parse_now)]
    now: Option<f64>,
    /// Tokens, taken byte for byte. With none, tokens are read one per line
    /// from stdin (only the "\n" or "\r\n" line ending is removed).
    #[arg(value_name = "TOKEN", value_parser = clap::value_parser!(OsString), allow_hyphen_values = true)]
    tokens: Vec<OsString>,
}

#[derive(Args)]
pub struct InspectArgs {
    /// The token, or "-" to read one line from stdin.
    #[arg(value_name = "TOKEN", allow_hyphen_values = true)]
    token: String,
}

pub fn verify(args: VerifyArgs) -> Outcome {
    let verifier = Verifier::from_file(&args.policy)?;
    let mut out = io::stdout().lock();
    let mut rejected = false;
    let mut count = 0usize;
    let mut check = |token: &[u8]| -> io::Result<()> {
        let result = verifier.verify(token, args.now);
        rejected |= result.is_err();
        count += 1;
        print_line(&mut out, &verdict(result))
    };
    if args.tokens.is_empty() {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            eprintln!("jwtgate: reading tokens from stdin, one per line (end with Ctrl-D)");
        }
        // A token longer than the policy allows is cut here: the verifier
        // still sees more than max_token_bytes and answers too_large,
        // without this command holding an unbounded line in memory.
        let limit = verifier.policy().max_token_bytes().saturating_add(2);
        let mut input = stdin.lock();
        let mut line = Vec::new();
        while read_line(&mut input, limit, &mut line)? {
            check(&line)?;
        }
    } else {
        for token in &args.tokens {
            check(&os_bytes(token))?;
        }
    }
    if count == 0 {
        return Err(Fail("no tokens: give them as arguments or one per line on stdin".into()));
    }
    Ok(if rejected { ExitCode::from(REJECTED) } else { ExitCode::SUCCESS })
}

/// One verdict as a line of JSON.
fn verdict(result: Result<Verified, Error>) -> String {
    match result {
        Ok(v) => {
            let headers: Map<String, Value> =
                v.headers().iter().map(|(name, value)| (name.clone(), Value::from(value.as_str()))).collect();
            ordered_object(
                &[
                    ("valid", Value::Bool(true)),
                    ("issuer", v.issuer().into()),
                    // Re-serialised from the parsed value: the token's own
                    // JSON text may hold newlines.
                    ("claims", v.claims().clone()),
                    ("header", v.header().clone()),
                    ("headers", Value::Object(headers)),
                ],
                false,
            )
        }
        Err(e) => ordered_object(
            &[
                ("valid", Value::Bool(false)),
                ("code", e.code().into()),
                ("message", e.message().into()),
                ("claim", e.claim().into()),
            ],
            false,
        ),
    }
}

/// Reads one line into `line` without its "\n" or "\r\n" ending, keeping
/// at most `limit` bytes of it. False at the end of the input.
fn read_line(input: &mut impl BufRead, limit: usize, line: &mut Vec<u8>) -> io::Result<bool> {
    line.clear();
    let mut any = false;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(any);
        }
        any = true;
        let newline = buf.iter().position(|&b| b == b'\n');
        let content = &buf[..newline.unwrap_or(buf.len())];
        let room = limit.saturating_sub(line.len());
        line.extend_from_slice(&content[..content.len().min(room)]);
        let used = newline.map_or(buf.len(), |i| i + 1);
        input.consume(used);
        if newline.is_some() {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(true);
        }
    }
}

#[cfg(unix)]
fn os_bytes(arg: &OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    arg.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn os_bytes(arg: &OsString) -> Vec<u8> {
    arg.to_string_lossy().into_owned().into_bytes()
}

pub fn inspect(args: InspectArgs) -> Outcome {
    let token = if args.token == "-" {
        let mut text = String::new();
        io::stdin().lock().read_to_string(&mut text).map_err(|e| Fail(format!("stdin: {e}")))?;
        let line = text.strip_suffix('\n').unwrap_or(&text);
        line.strip_suffix('\r').unwrap_or(line).to_owned()
    } else {
        args.token
    };
    eprintln!("jwtgate: WARNING: decoded WITHOUT verification; do not trust this header or these claims");
    match jwtgate::unverified::decode_unverified(&token) {
        Ok(decoded) => {
            let text = ordered_object(
                &[("verified", Value::Bool(false)), ("header", decoded.header), ("claims", decoded.claims)],
                true,
            );
            print_line(&mut io::stdout().lock(), &text)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("jwtgate: {e}");
            Ok(ExitCode::from(REJECTED))
        }
    }
}
