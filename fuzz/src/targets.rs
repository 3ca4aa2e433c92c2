//! The fuzz targets. Each takes arbitrary bytes and returns `Err` with a
//! reason when an invariant breaks; a panic is a failure too (the harness
//! catches it, AFL sees the abort).

use std::cell::RefCell;
use std::path::PathBuf;

use jwtgate::unverified::decode_unverified;
use jwtgate::{Error, ErrorKind, Verified, Verifier, base64url_encode};
use serde_json::Value;

use crate::fixtures::{NOW, fixtures};

/// Why an input failed.
pub type Outcome = Result<(), String>;

thread_local! {
    static TRACE: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Records an outcome class (error code and the stable start of its
/// message) so the harness can tell inputs that reach new behavior.
fn note(kind: &str, message: &str) {
    let stable = message.split(['"', ':', '(']).next().unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain(stable.bytes().filter(|b| !b.is_ascii_digit())) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    TRACE.with(|t| t.borrow_mut().push(h));
}

/// Takes the outcome classes noted since the last call, as one hash.
pub fn take_trace() -> u64 {
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        let h = t.iter().fold(0u64, |acc, x| acc.rotate_left(7) ^ x);
        t.clear();
        h
    })
}

/// Largest leeway a policy may set (the verifier's bound).
const MAX_LEEWAY: f64 = jwtgate::MAX_LEEWAY_S as f64;

/// Checks what a verify call returned, whatever it was.
fn check_result(token: &[u8], result: &Result<Verified, Error>, issuers_named: bool) -> Outcome {
    match result {
        Ok(v) => {
            note("ok", v.issuer().unwrap_or_default());
            check_verified(token, v, issuers_named)
        }
        Err(e) => {
            note(e.code(), e.message());
            check_error(e, false)
        }
    }
}

/// Invariants of every error: a known code, a status, a header value
/// nothing can break.
pub fn check_error(e: &Error, policy_allowed: bool) -> Outcome {
    if !ErrorKind::ALL.contains(&e.kind()) || ErrorKind::from_code(e.code()) != Some(e.kind()) {
        return Err(format!("unknown error kind {:?}", e.kind()));
    }
    let status = e.http_status();
    let expected_status = match e.kind() {
        ErrorKind::Policy | ErrorKind::Key | ErrorKind::InvalidArgument | ErrorKind::Serialization => None,
        // A claim rule may choose 401 (`invalid_token`) over 403 (`insufficient_scope`).
        ErrorKind::Claim if e.bearer_error() == Some("invalid_token") => Some(401),
        ErrorKind::Claim => Some(403),
        ErrorKind::JwksUnavailable | ErrorKind::ReplayStoreUnavailable => Some(503),
        ErrorKind::InvalidRequest => Some(400),
        // MissingClaim and MissingToken, like every other token failure.
        _ => Some(401),
    };
    if status != expected_status {
        return Err(format!("{} has status {status:?}", e.code()));
    }
    if status.is_none() && !(policy_allowed && e.kind() == ErrorKind::Policy) {
        return Err(format!("verify returned a configuration or argument error: {e}"));
    }
    let www = e.www_authenticate();
    // Two quoted attributes (error, error_description), three with scope.
    let quotes = match (e.bearer_error(), e.scope()) {
        (None, _) => 0,
        (Some(_), None) => 4,
        (Some(_), Some(_)) => 6,
    };
    if !www.bytes().all(|b| (b' '..=b'~').contains(&b)) || www.matches('"').count() != quotes {
        return Err(format!("WWW-Authenticate value can break the header: {www:?}"));
    }
    Ok(())
}

fn number(claims: &Value, name: &str) -> Option<f64> {
    claims.get(name).and_then(Value::as_f64)
}

/// Invariants of an accepted token.
fn check_verified(token: &[u8], v: &Verified, issuers_named: bool) -> Outcome {
    let text = std::str::from_utf8(token).map_err(|_| "a token that is not UTF-8 verified".to_owned())?;
    let claims = v.claims();
    if !claims.is_object() {
        return Err(format!("verified claims are not an object: {claims}"));
    }
    if !v.header().is_object() {
        return Err("verified header is not an object".into());
    }
    let alg = v.header()["alg"].as_str().unwrap_or_default();
    if alg.eq_ignore_ascii_case("none") || jwtgate::Algorithm::from_name(alg).is_none() {
        return Err(format!("verified with alg {alg:?}"));
    }
    let unverified =
        decode_unverified(text).map_err(|e| format!("verified but decode_unverified fails: {e}"))?;
    if &unverified.claims != claims || &unverified.header != v.header() {
        return Err("verified claims or header differ from the decoded ones".into());
    }
    if issuers_named && claims.get("iss").and_then(Value::as_str) != v.issuer() {
        return Err(format!("issuer {:?} vouched for iss {}", v.issuer(), claims["iss"]));
    }
    if let Some(exp) = number(claims, "exp")
        && exp <= NOW - MAX_LEEWAY
    {
        return Err(format!("expired token accepted: exp {exp}"));
    }
    if let Some(nbf) = number(claims, "nbf")
        && nbf > NOW + MAX_LEEWAY
    {
        return Err(format!("future token accepted: nbf {nbf}"));
    }
    for (name, value) in v.headers() {
        if value.chars().any(char::is_control) || name.chars().any(|c| c.is_control() || c == ':') {
            return Err(format!("forwarded header {name:?} carries control characters: {value:?}"));
        }
    }
    let _ = v.claim("sub");
    let _ = v.claim("/realm_access/roles/0");
    let _ = v.claim("/a~");
    Ok(())
}

/// (a) The token parser and verifier over the fixed policies. A token may
/// only verify if its signed part is one the test keys signed.
pub fn token(data: &[u8]) -> Outcome {
    let f = fixtures();
    for (verifier, named) in [(&f.gateway, true), (&f.all_algs, false)] {
        let result = verifier.verify(data, Some(NOW));
        check_result(data, &result, named)?;
        if result.is_ok() {
            let signed = data.iter().rposition(|b| *b == b'.').map(|i| &data[..i]).unwrap_or_default();
            if !f.signed_inputs.contains(signed) {
                return Err("a token the test keys never signed verified".into());
            }
        }
    }
    let first = f.gateway_cached.verify(data, Some(NOW));
    let second = f.gateway_cached.verify(data, Some(NOW));
    check_result(data, &second, true)?;
    let plain = f.gateway.verify(data, Some(NOW));
    let code = |r: &Result<Verified, Error>| r.as_ref().err().map(Error::code);
    if code(&first) != code(&second) || code(&first) != code(&plain) {
        return Err(format!(
            "the cache changes the decision: {:?}, {:?}, uncached {:?}",
            code(&first),
            code(&second),
            code(&plain)
        ));
    }
    Ok(())
}

/// (a) The claim engine: the input is a header and a payload (JSON text
/// separated by the first newline; without one, a header is chosen), signed
/// with the test key its `alg` names, so the checks after the signature run
/// on arbitrary claims.
pub fn claims(data: &[u8]) -> Outcome {
    let f = fixtures();
    let (header, payload) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (data[..i].to_vec(), &data[i + 1..]),
        None => {
            let alg =
                f.signers[usize::from(data.first().copied().unwrap_or(0)) % f.signers.len()].algorithm();
            (format!("{{\"alg\":\"{alg}\"}}").into_bytes(), data)
        }
    };
    let alg_named = serde_json::from_slice::<Value>(&header)
        .ok()
        .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned));
    let signer = match alg_named.as_deref().and_then(jwtgate::Algorithm::from_name) {
        Some(alg) => f.signers.iter().find(|s| s.algorithm() == alg).expect("a signer per algorithm"),
        None => &f.signers[header.len() % f.signers.len()],
    };
    let input = format!("{}.{}", base64url_encode(&header), base64url_encode(payload));
    let signature = signer.sign_bytes(input.as_bytes()).map_err(|e| format!("signing failed: {e}"))?;
    let token = format!("{input}.{}", base64url_encode(signature));
    for (verifier, named) in [(&f.gateway, true), (&f.all_algs, false)] {
        let result = verifier.verify(&token, Some(NOW));
        check_result(token.as_bytes(), &result, named)?;
    }
    Ok(())
}

thread_local! {
    static SCRATCH: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// A scratch file for this thread under the workspace `target/` folder.
fn scratch_file() -> PathBuf {
    SCRATCH.with(|s| {
        s.borrow_mut()
            .get_or_insert_with(|| {
                let dir = crate::fixtures::root().join("target/fuzz-scratch");
                let _ = std::fs::create_dir_all(&dir);
                let thread =
                    format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_alphanumeric(), "");
                dir.join(format!("jwks-{}-{thread}.json", std::process::id()))
            })
            .clone()
    })
}

/// Removes the scratch files this process wrote.
pub fn remove_scratch_files() {
    let dir = crate::fixtures::root().join("target/fuzz-scratch");
    let prefix = format!("jwks-{}-", std::process::id());
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Runs the sample tokens against a verifier built from fuzzed input.
fn exercise(verifier: &Verifier) -> Outcome {
    for token in &fixtures().sample_tokens {
        check_result(token.as_bytes(), &verifier.verify(token, Some(NOW)), false)?;
    }
    Ok(())
}

fn check_load(result: &Result<Verifier, Error>) -> Outcome {
    match result {
        Ok(v) => {
            note("loaded", "");
            exercise(v)
        }
        Err(e) if e.kind() == ErrorKind::Policy => {
            note(e.code(), e.message());
            check_error(e, true)
        }
        Err(e) => Err(format!("policy load failed with {} instead of policy: {e}", e.code())),
    }
}

/// (b) JWK and JWKS parsing: the input as an issuer's inline `jwks` and as
/// its `jwks_file`.
pub fn jwks(data: &[u8]) -> Outcome {
    let algorithms = r#"["RS256","PS256","ES256","ES384","ES512","EdDSA","HS256","HS512"]"#;
    if let Ok(text) = std::str::from_utf8(data) {
        let policy = format!(r#"{{"issuers":[{{"algorithms":{algorithms},"keys":{{"jwks":{text}}}}}]}}"#);
        let inline = Verifier::from_json(&policy);
        check_load(&inline)?;
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            let doc = serde_json::json!({"issuers": [{"algorithms": serde_json::from_str::<Value>(algorithms).unwrap(), "keys": {"jwks": value}}]});
            let from_value = Verifier::from_value(doc);
            check_load(&from_value)?;
            if inline.is_ok() && from_value.is_err() {
                return Err("a JWKS loads from text but not from a value".into());
            }
        }
    }
    let path = scratch_file();
    std::fs::write(&path, data).map_err(|e| format!("scratch file: {e}"))?;
    let policy = serde_json::json!({"issuers": [{"algorithms": ["RS256", "ES256", "EdDSA", "HS256"], "keys": {"jwks_file": path}}]});
    let from_file = Verifier::from_value(policy);
    check_load(&from_file)
}

/// Whether a policy reads only regular, small files (no `/dev/zero`, no
/// pipes) and fetches nothing, so fuzzing it is safe and offline.
fn offline_and_bounded(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().all(|(k, v)| {
            let file_ok = !k.ends_with("_file")
                || v.as_str().is_none_or(|p| {
                    !p.starts_with("/proc")
                        && !p.starts_with("/sys")
                        && std::fs::metadata(p).map(|m| m.is_file() && m.len() < 1 << 20).unwrap_or(true)
                });
            file_ok && offline_and_bounded(v)
        }),
        Value::Array(items) => items.iter().all(offline_and_bounded),
        _ => true,
    }
}

fn fetches(verifier: &Verifier) -> bool {
    verifier
        .policy()
        .doc()
        .issuers
        .iter()
        .any(|i| i.keys.jwks_uri.is_some() || i.keys.discovery.is_some() || !i.allowed_jku.is_empty())
}

/// (c) Policy loading: `Verifier::from_json` on arbitrary text; a policy
/// that loads and fetches nothing then verifies the sample tokens.
pub fn policy(data: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(data);
    let lenient = serde_json::from_str::<Value>(&text).ok();
    if lenient.as_ref().is_some_and(|v| !offline_and_bounded(v)) {
        return Ok(());
    }
    let strict = Verifier::from_json(&text);
    match &strict {
        Ok(v) if fetches(v) => {}
        other => check_load(other)?,
    }
    if strict.is_ok() {
        let value = lenient.ok_or("a policy loads but serde_json rejects its text")?;
        if let Err(e) = Verifier::from_value(value) {
            return Err(format!("a policy loads from text but not from its value: {e}"));
        }
    }
    Ok(())
}

/// (d) The unverified decoder (inspection tools).
pub fn unverified(data: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(data);
    let u = match decode_unverified(&text) {
        Ok(u) => u,
        Err(e) => {
            note(e.code(), e.message());
            return check_error(&e, false);
        }
    };
    let again =
        format!("{}.{}.", base64url_encode(u.header.to_string()), base64url_encode(u.claims.to_string()));
    match decode_unverified(&again) {
        Ok(v) if close(&v.header, &u.header) && close(&v.claims, &u.claims) => Ok(()),
        Ok(_) => Err("decoded values change when encoded again".into()),
        Err(e) => Err(format!("decoded values do not decode again: {e}")),
    }
}

/// JSON equality with numbers compared to a few ULPs: serde_json (without
/// its `float_roundtrip` feature) may read a printed float back one ULP off.
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => {
                (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
            }
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

/// (e) Token sources: the input is an `Authorization` value, a `Cookie`
/// header and a query string, one per line.
pub fn sources(data: &[u8]) -> Outcome {
    let f = fixtures();
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(3, '\n');
    let (auth, cookie, query) = (lines.next(), lines.next(), lines.next());
    let lookup = |name: &str| match name.to_ascii_lowercase().as_str() {
        "authorization" => auth,
        "cookie" => cookie,
        _ => None,
    };
    // The gateway policy's sources: the Authorization header (Bearer), the
    // access_token cookie and query parameter.
    let found = match f.gateway_sources.find_token_by_lookup(&lookup, query) {
        Ok(found) => found,
        // A cookie or query parameter given twice: refused, not a token.
        Err(e) if e.kind() == jwtgate::ErrorKind::InvalidRequest => return Ok(()),
        Err(e) => return Err(format!("find_token: {e}")),
    };
    if let Some(token) = found {
        if token.is_empty() {
            return Err("an empty token was found".into());
        }
        check_result(token.as_bytes(), &f.gateway.verify(token.as_bytes(), Some(NOW)), true)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forgery_oracle_knows_every_valid_gateway_vector() {
        let f = fixtures();
        let mut valid = 0;
        for (file, doc) in crate::fixtures::vector_files() {
            for v in doc["vectors"].as_array().into_iter().flatten() {
                if v["policy"] == "gateway" && v["expect"]["valid"] == true {
                    let token = v["token"].as_str().unwrap();
                    let signed = token.rsplit_once('.').unwrap().0;
                    assert!(f.signed_inputs.contains(signed.as_bytes()), "{file} / {}", v["name"]);
                    valid += 1;
                }
            }
        }
        assert!(valid > 10, "only {valid} valid gateway vectors");
    }

    #[test]
    fn every_target_accepts_its_seeds_and_flags_nothing_valid() {
        for target in crate::Target::ALL {
            let seeds = crate::corpus::load(target);
            assert!(!seeds.is_empty(), "{} has no seeds", target.name());
            for (name, data) in seeds.iter().take(20) {
                assert_eq!(target.run(data), Ok(()), "{} / {name}", target.name());
            }
        }
    }

    #[test]
    fn floats_that_do_not_round_trip_exactly_are_not_a_failure() {
        let crash = "eyJhbGciOiJcdTAwMDBcclxuIiwidHlwIjotOTIyMzM3LjAzNjg1NDc3NTgwOH0.e30.";
        assert_eq!(unverified(crash.as_bytes()), Ok(()));
        assert!(!close(&serde_json::json!(1.0), &serde_json::json!(1.0000001)));
        assert!(!close(&serde_json::json!({"a": 1}), &serde_json::json!({"a": "1"})));
    }

    #[test]
    fn the_token_target_reaches_the_cache() {
        let f = fixtures();
        let claims =
            std::fs::read_to_string(crate::fixtures::root().join("tests/vectors/claims.json")).unwrap();
        let claims: Value = serde_json::from_str(&claims).unwrap();
        let first = &claims["vectors"][0];
        assert_eq!(first["expect"]["valid"], true);
        let good = first["token"].as_str().unwrap();
        assert_eq!(token(good.as_bytes()), Ok(()));
        assert!(f.gateway_cached.cached_tokens() >= 1, "the token target never filled the cache");
    }
}
