//! `jwtgate sign`, `jwtgate keygen` and `jwtgate jwks`.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgGroup, Args};
use jwtgate::json::parse_strict;
use jwtgate::{Algorithm, Signer};
use serde_json::Value;

use crate::{Fail, Outcome, ordered_object, parse_alg, parse_lifetime, parse_now, print_line, read_text};

#[derive(Args)]
#[command(group(ArgGroup::new("signing_key").required(true).args(["key", "jwk", "secret", "secret_file"])))]
pub struct SignArgs {
    /// The algorithm (optional with --jwk when the JWK names one).
    #[arg(long, value_name = "ALG", value_parser = parse_alg, required_unless_present = "jwk")]
    alg: Option<Algorithm>,
    /// A private key in PEM (PKCS#8, PKCS#1 RSA or SEC1 EC).
    #[arg(long, value_name = "PEMFILE")]
    key: Option<PathBuf>,
    /// A private JWK (JSON); its "kid" goes in the header unless --kid is given.
    #[arg(long, value_name = "JWKFILE")]
    jwk: Option<PathBuf>,
    /// An HMAC secret in base64url (visible to other local users: prefer --secret-file).
    #[arg(long, value_name = "B64URL", allow_hyphen_values = true)]
    secret: Option<String>,
    /// A file holding an HMAC secret in base64url (as `keygen` writes it).
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// The key id put in the header (for --key, defaults to the kid of the
    /// KEY.jwk.json that `keygen --out-dir` wrote next to it, else the RFC 7638
    /// thumbprint: the kid `jwks` publishes for the same file).
    #[arg(long, value_name = "KID", allow_hyphen_values = true)]
    kid: Option<String>,
    /// The header "typ" (defaults to JWT; RFC 9068 access tokens use at+jwt).
    #[arg(long, value_name = "TYP")]
    typ: Option<String>,
    /// Set "iat" to now and "exp" to now + DURATION: 90s, 30m, 1h, 2d, 1h30m,
    /// or plain seconds (300).
    #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
    lifetime: Option<u64>,
    /// Pin "now" for --lifetime (unix seconds).
    #[arg(long, value_name = "SECS", value_parser = parse_now, requires = "lifetime")]
    now: Option<f64>,
    /// The claims, a JSON object; read from stdin when absent.
    #[arg(value_name = "CLAIMS_JSON")]
    claims: Option<String>,
}

pub fn sign(args: SignArgs) -> Outcome {
    let mut signer = if let Some(path) = &args.key {
        let alg = args.alg.ok_or_else(|| Fail("--key needs --alg".into()))?;
        let pem = read_text(path)?;
        let named = |e: jwtgate::Error| Fail(format!("{}: {e}", path.display()));
        let signer = Signer::from_pem(alg, &pem, args.kid.clone()).map_err(named)?;
        // Without --kid, the kid `jwks` publishes for this file: its keygen
        // sibling's, else the thumbprint.
        match (&args.kid, signer.public_jwk()) {
            (None, Some(jwk)) => {
                let kid = sibling_kid(path, &jwk).or_else(|| jwk["kid"].as_str().map(str::to_owned));
                Signer::from_pem(alg, &pem, kid).map_err(named)?
            }
            _ => signer,
        }
    } else if let Some(path) = &args.jwk {
        let mut jwk = read_json(path)?;
        if let (Some(kid), Value::Object(map)) = (&args.kid, &mut jwk) {
            map.insert("kid".into(), kid.clone().into());
        }
        Signer::from_jwk(&jwk, args.alg).map_err(|e| Fail(format!("{}: {e}", path.display())))?
    } else {
        let alg = args.alg.ok_or_else(|| Fail("an HMAC secret needs --alg".into()))?;
        let (text, origin) = match (&args.secret, &args.secret_file) {
            (Some(text), _) => (text.clone(), "--secret".to_owned()),
            (None, Some(path)) => (read_text(path)?, path.display().to_string()),
            (None, None) => return Err(Fail("give --key, --jwk, --secret or --secret-file".into())),
        };
        let secret = jwtgate::base64url_decode(text.trim())
            .ok_or_else(|| Fail(format!("{origin}: the secret is not unpadded base64url")))?;
        Signer::from_secret(alg, &secret, args.kid.clone()).map_err(|e| Fail(format!("{origin}: {e}")))?
    };
    if let Some(typ) = &args.typ {
        signer = signer.with_typ(typ.clone());
    }
    let text = match args.claims {
        Some(text) => text,
        None => {
            let mut text = String::new();
            io::stdin().lock().read_to_string(&mut text).map_err(|e| Fail(format!("stdin: {e}")))?;
            text
        }
    };
    let claims = parse_strict(&text).map_err(|e| Fail(format!("claims are not JSON: {e}")))?;
    let token = signer.sign(&claims, args.lifetime, args.now)?;
    print_line(&mut io::stdout().lock(), &token)?;
    Ok(ExitCode::SUCCESS)
}

/// The kid of the public JWK `keygen --out-dir` wrote next to a PEM key
/// (`NAME.pem` beside `NAME.jwk.json`), when that JWK is the same public key.
fn sibling_kid(pem_path: &Path, public_jwk: &Value) -> Option<String> {
    let sibling = pem_path.with_extension("jwk.json");
    let text = fs::read_to_string(sibling).ok()?;
    let Value::Object(found) = parse_strict(&text).ok()? else { return None };
    let Value::Object(ours) = public_jwk else { return None };
    let same_key = ours
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "kid" | "use" | "alg"))
        .all(|(name, value)| found.get(name) == Some(value));
    if !same_key {
        return None;
    }
    found.get("kid")?.as_str().map(str::to_owned)
}

fn read_json(path: &Path) -> Result<Value, Fail> {
    parse_strict(&read_text(path)?).map_err(|e| Fail(format!("{}: not JSON: {e}", path.display())))
}

#[derive(Args)]
pub struct KeygenArgs {
    /// The algorithm: RSA 2048 for RS*/PS*, the named curve for ES* (secp256k1
    /// for ES256K), Ed25519 for EdDSA and Ed25519, an ML-DSA key (PKCS#8 with
    /// the seed) for ML-DSA-*, a random secret as long as the hash for HS*.
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    alg: Algorithm,
    /// The key id (defaults to the RFC 7638 thumbprint of the key).
    #[arg(long, value_name = "KID", allow_hyphen_values = true)]
    kid: Option<String>,
    /// Write KID.pem (or KID.secret for HS*, mode 0600) and KID.jwk.json here
    /// instead of printing the private key; existing files are never overwritten.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

pub fn keygen(args: KeygenArgs) -> Outcome {
    if let (Some(_), Some(kid)) = (&args.out_dir, &args.kid) {
        check_file_name(kid)?;
    }
    let key = jwtgate::generate_key(args.alg, args.kid)?;
    let public_jwk = key.public_jwk.clone().unwrap_or(Value::Null);
    let mut members =
        vec![("alg", Value::from(key.algorithm.name())), ("kid", Value::from(key.kid.as_str()))];
    match &args.out_dir {
        None => members.push(("private_key", key.private_key.clone().into())),
        Some(dir) => {
            check_file_name(&key.kid)?;
            let secret_ext = if key.public_jwk.is_some() { "pem" } else { "secret" };
            let private_path = dir.join(format!("{}.{secret_ext}", key.kid));
            let public_path = dir.join(format!("{}.jwk.json", key.kid));
            let writes_public = key.public_jwk.is_some();
            for path in [Some(&private_path), writes_public.then_some(&public_path)].into_iter().flatten() {
                if path.exists() {
                    return Err(Fail(format!("{}: already exists; not overwriting a key", path.display())));
                }
            }
            fs::create_dir_all(dir).map_err(|e| Fail(format!("{}: {e}", dir.display())))?;
            let mut private_text = key.private_key.clone();
            if !private_text.ends_with('\n') {
                private_text.push('\n');
            }
            write_new(&private_path, &private_text, true)?;
            members.push(("private_key_file", private_path.display().to_string().into()));
            if let Some(jwk) = &key.public_jwk {
                let text = serde_json::to_string_pretty(jwk).unwrap_or_default() + "\n";
                write_new(&public_path, &text, false)?;
                members.push(("public_jwk_file", public_path.display().to_string().into()));
            }
        }
    }
    members.push(("public_jwk", public_jwk));
    print_line(&mut io::stdout().lock(), &ordered_object(&members, true))?;
    Ok(ExitCode::SUCCESS)
}

/// A key id that names files: letters, digits, '.', '_', '-', not leading '.'.
fn check_file_name(kid: &str) -> Result<(), Fail> {
    let ok = !kid.is_empty()
        && kid.len() <= 200
        && !kid.starts_with('.')
        && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Fail(format!(
            "kid {kid:?} cannot name a file in --out-dir: use letters, digits, '.', '_' and '-'"
        )))
    }
}

/// Creates a new file (never replacing one); private files get mode 0600.
fn write_new(path: &Path, text: &str, private: bool) -> Result<(), Fail> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let written = options.open(path).and_then(|mut file| file.write_all(text.as_bytes()));
    written.map_err(|e| Fail(format!("{}: {e}", path.display())))
}

#[derive(Args)]
pub struct JwksArgs {
    /// Private key files: PEM, or a private JWK (JSON). Write ALG:FILE to give
    /// one file its own algorithm.
    #[arg(value_name = "KEYFILE", required = true)]
    files: Vec<String>,
    /// The algorithm of the files that do not name one (JWKs may carry their own).
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    alg: Option<Algorithm>,
    /// Use each PEM file's name without its extension as its kid (as `keygen
    /// --out-dir` names them). Without it, a PEM file's kid is the one in the
    /// NAME.jwk.json `keygen --out-dir` wrote next to it (when that holds the
    /// same public key), else the RFC 7638 thumbprint.
    #[arg(long)]
    kid_from_file_name: bool,
}

pub fn jwks(args: JwksArgs) -> Outcome {
    let mut signers = Vec::with_capacity(args.files.len());
    let mut kids = HashSet::new();
    for spec in &args.files {
        let (alg, file) = match spec.split_once(':') {
            Some((name, rest)) if Algorithm::from_name(name).is_some() => (Algorithm::from_name(name), rest),
            _ => (args.alg, spec.as_str()),
        };
        let path = Path::new(file);
        let text = read_text(path)?;
        let named = |e: jwtgate::Error| Fail(format!("{file}: {e}"));
        let signer = if text.trim_start().starts_with('{') {
            let jwk = parse_strict(&text).map_err(|e| Fail(format!("{file}: not JSON: {e}")))?;
            Signer::from_jwk(&jwk, alg).map_err(named)?
        } else {
            let alg = alg.ok_or_else(|| Fail(format!("{file}: give --alg or write ALG:{file}")))?;
            let signer = Signer::from_pem(alg, &text, None).map_err(named)?;
            let kid = if args.kid_from_file_name {
                path.file_stem().map(|s| s.to_string_lossy().into_owned())
            } else {
                signer.public_jwk().and_then(|jwk| sibling_kid(path, &jwk))
            };
            match kid {
                Some(kid) => Signer::from_pem(alg, &text, Some(kid)).map_err(named)?,
                None => signer,
            }
        };
        let jwk =
            signer.public_jwk().ok_or_else(|| Fail(format!("{file}: an HMAC secret has no public JWK")))?;
        let kid = jwk["kid"].as_str().unwrap_or_default().to_owned();
        if !kids.insert(kid.clone()) {
            return Err(Fail(format!("{file}: kid {kid:?} is already used by another key")));
        }
        signers.push(signer);
    }
    let set = jwtgate::jwks(&signers);
    print_line(&mut io::stdout().lock(), &serde_json::to_string_pretty(&set).unwrap_or_default())?;
    Ok(ExitCode::SUCCESS)
}
