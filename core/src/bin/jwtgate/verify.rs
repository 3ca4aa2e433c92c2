//! `jwtgate verify` and `jwtgate inspect`.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use jwtgate::{Error, Policy, Verified, Verifier};
use serde_json::Value;

use crate::{Fail, Outcome, REJECTED, ordered_object, parse_now, print_line};

pub const VERIFY_HELP: &str = "\
Output, one JSON object per token and line, in input order:
  {\"valid\":true,\"issuer\":...,\"claims\":{...},\"header\":{...},\"headers\":{...}}
  {\"valid\":false,\"code\":\"expired\",\"message\":...,\"claim\":\"exp\"}
\"header\" is the token's protected header; \"headers\" are the headers the
policy forwards to the backend. \"claims\" and \"header\" are the token's own
JSON (its member order).

Reading stdin, verdicts are written in blocks, and always as soon as no
more input is waiting: a program may write one token, read its line, then
write the next.

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
    /// Keep the policy's verified-token cache. Off by default: in a stream of
    /// distinct tokens every lookup misses and every insert is wasted work;
    /// turn it on for streams where the same tokens repeat.
    #[arg(long)]
    cache: bool,
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
    let keep_cache = args.cache;
    let verifier = Verifier::new(Policy::from_file_with(&args.policy, |doc| {
        if !keep_cache {
            doc.cache.max_entries = 0;
        }
    })?);
    // Verdicts collect here and reach stdout in large writes: one write per
    // token would cost more than the verification of a fast token.
    let mut out = BufWriter::with_capacity(OUTPUT_BUFFER, io::stdout().lock());
    let mut rejected = false;
    let mut count = 0usize;
    let mut check = |out: &mut BufWriter<_>, token: &[u8]| -> io::Result<()> {
        let result = verifier.verify(token, args.now);
        rejected |= result.is_err();
        count += 1;
        write_verdict(out, &result)
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
        let mut input = BufReader::with_capacity(INPUT_BUFFER, stdin.lock());
        let mut line = Vec::new();
        // Before every read that may wait for input, the verdicts so far go
        // out: a caller that writes one token and waits for its line gets it.
        while read_line(&mut input, limit, &mut line, || out.flush())? {
            check(&mut out, &line)?;
        }
    } else {
        for token in &args.tokens {
            check(&mut out, &os_bytes(token))?;
        }
    }
    out.flush()?;
    if count == 0 {
        return Err(Fail("no tokens: give them as arguments or one per line on stdin".into()));
    }
    Ok(if rejected { ExitCode::from(REJECTED) } else { ExitCode::SUCCESS })
}

/// Bytes of verdicts held before they are written to stdout.
const OUTPUT_BUFFER: usize = 64 * 1024;
/// Bytes of stdin read at once.
const INPUT_BUFFER: usize = 64 * 1024;

/// Writes one verdict as a line of JSON:
/// `{"valid":true,"issuer":..,"claims":{..},"header":{..},"headers":{..}}` or
/// `{"valid":false,"code":..,"message":..,"claim":..}`.
fn write_verdict(out: &mut impl Write, result: &Result<Verified, Error>) -> io::Result<()> {
    match result {
        Ok(v) => {
            out.write_all(b"{\"valid\":true,\"issuer\":")?;
            serde_json::to_writer(&mut *out, &v.issuer())?;
            out.write_all(b",\"claims\":")?;
            write_json_text(out, v.claims_json(), || v.claims())?;
            out.write_all(b",\"header\":")?;
            write_json_text(out, v.header_json(), || v.header())?;
            out.write_all(b",\"headers\":{")?;
            for (i, (name, value)) in v.headers().iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, name)?;
                out.write_all(b":")?;
                serde_json::to_writer(&mut *out, value)?;
            }
            out.write_all(b"}}\n")
        }
        Err(e) => {
            out.write_all(b"{\"valid\":false,\"code\":")?;
            serde_json::to_writer(&mut *out, e.code())?;
            out.write_all(b",\"message\":")?;
            serde_json::to_writer(&mut *out, e.message())?;
            out.write_all(b",\"claim\":")?;
            serde_json::to_writer(&mut *out, &e.claim())?;
            out.write_all(b"}\n")
        }
    }
}

/// Writes JSON text the library has already parsed strictly (so it is one
/// valid JSON value) as it is, unless it spans lines: a raw newline can only
/// be whitespace between tokens, and then the parsed value is re-serialised
/// so the verdict stays on one line.
fn write_json_text<'v>(
    out: &mut impl Write,
    text: &str,
    parsed: impl FnOnce() -> &'v Value,
) -> io::Result<()> {
    if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_none() {
        out.write_all(text.as_bytes())
    } else {
        Ok(serde_json::to_writer(out, parsed())?)
    }
}

/// Reads one line into `line` without its "\n" or "\r\n" ending, keeping
/// at most `limit` bytes of it. False at the end of the input. Calls
/// `before_wait` before each read from the underlying stream (when
/// nothing read ahead is left), which is when reading may block.
fn read_line<R: Read>(
    input: &mut BufReader<R>,
    limit: usize,
    line: &mut Vec<u8>,
    mut before_wait: impl FnMut() -> io::Result<()>,
) -> io::Result<bool> {
    line.clear();
    let mut any = false;
    loop {
        if input.buffer().is_empty() {
            before_wait()?;
        }
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(any);
        }
        any = true;
        let newline = memchr::memchr(b'\n', buf);
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
