//! `jwtgate decide`: the gateway decision for one request, as every runtime
//! makes it, printed as one JSON object.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use jwtgate::{Request, Route, Verifier};

use crate::{Fail, Outcome, REJECTED, parse_now, print_line};

pub const DECIDE_HELP: &str = "\
Prints {\"allow\", \"status\", \"code\", \"set_headers\", \"remove_headers\",
\"www_authenticate\", ...} and exits 0 when the request is allowed, 1 when
it is rejected. Example:
  jwtgate decide --policy policy.json --url '/orders?page=2' \\
      -H 'Authorization: Bearer eyJ...' -H 'X-User: spoofed'
A DPoP request adds -H 'DPoP: eyJ...' (and --now to pin the clock); a
certificate-bound token needs --client-cert FILE, or a forwarded
certificate header with --peer set to a trusted proxy.";

#[derive(Args)]
pub struct DecideArgs {
    /// The policy file.
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The request method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// The request target, e.g. `/orders?page=2`.
    #[arg(long, default_value = "/", allow_hyphen_values = true)]
    url: String,
    /// A request header as `Name: value`; repeat for more (and for repeated headers).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", allow_hyphen_values = true)]
    headers: Vec<String>,
    /// Route requirements as JSON (`{"claims": ..., "scopes": [...], "mode": ...}`);
    /// repeat for nested levels, outermost first.
    #[arg(long, value_name = "JSON", allow_hyphen_values = true)]
    route: Vec<String>,
    /// Decide at these unix seconds instead of now.
    #[arg(long, value_parser = parse_now)]
    now: Option<f64>,
    /// The peer's IP address (matched against `trusted_proxies`).
    #[arg(long, value_name = "IP")]
    peer: Option<std::net::IpAddr>,
    /// The client's TLS certificate, a PEM or DER file (for tokens bound
    /// with `cnf["x5t#S256"]`).
    #[arg(long, value_name = "FILE")]
    client_cert: Option<PathBuf>,
    /// Pretty-print the decision.
    #[arg(long)]
    pretty: bool,
}

pub fn decide(args: DecideArgs) -> Outcome {
    let verifier = Verifier::from_file(&args.policy)?;
    let mut headers = Vec::with_capacity(args.headers.len());
    for line in &args.headers {
        let (name, value) =
            line.split_once(':').ok_or_else(|| Fail(format!("header {line:?} is not `Name: value`")))?;
        headers.push((name.trim(), value.trim()));
    }
    let mut route = Route::new();
    for (i, level) in args.route.iter().enumerate() {
        let value =
            jwtgate::json::parse_strict(level).map_err(|e| Fail(format!("--route {}: {e}", i + 1)))?;
        route = route.merge(&verifier.route(value)?)?;
    }
    let client_cert = match &args.client_cert {
        None => None,
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| Fail(format!("{}: {e}", path.display())))?;
            Some(match pem::parse(&bytes) {
                Ok(block) if block.tag() == "CERTIFICATE" => block.into_contents(),
                Ok(block) => {
                    return Err(Fail(format!("{}: a {} is no certificate", path.display(), block.tag())));
                }
                Err(_) => bytes,
            })
        }
    };
    let request = Request {
        now: args.now,
        peer: args.peer,
        client_cert: client_cert.as_deref(),
        ..Request::new(&args.method, &args.url, &headers)
    };
    let decision = verifier.decide(&request, Some(&route));
    let json = decision.to_json();
    let text = if args.pretty { serde_json::to_string_pretty(&json) } else { serde_json::to_string(&json) }
        .map_err(|e| Fail(e.to_string()))?;
    print_line(&mut io::stdout().lock(), &text)?;
    Ok(if decision.allow { ExitCode::SUCCESS } else { ExitCode::from(REJECTED) })
}
