//! Runs every shared vector in `tests/vectors/*.json`, the same files the C,
//! Node and Python tests read. See `tests/vectors/README.md` for the format.

use std::path::PathBuf;

use jwtgate::Verifier;
use serde_json::Value;

fn vector_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

/// Runs one vector and returns a description of any mismatch.
fn run(file: &Value, vector: &Value) -> Result<(), String> {
    let policy = match &vector["policy"] {
        Value::String(name) => file["policies"][name].clone(),
        inline => inline.clone(),
    };
    let expect = &vector["expect"];
    let verifier = match Verifier::from_value(policy) {
        Ok(v) => v,
        Err(e) => {
            return if expect["code"] == "policy" {
                Ok(())
            } else {
                Err(format!("policy failed to load: {e}"))
            };
        }
    };
    if expect["code"] == "policy" {
        return Err("policy loaded but should not have".into());
    }
    let token = vector["token"].as_str().ok_or("vector has no token")?;
    let now = vector["now"].as_f64();
    match (verifier.verify(token, now), expect["valid"].as_bool()) {
        (Ok(v), Some(true)) => {
            if let Some(claims) = expect.get("claims")
                && v.claims() != claims
            {
                return Err(format!("claims {} != {}", v.claims(), claims));
            }
            if let Some(issuer) = expect.get("issuer")
                && v.issuer() != issuer.as_str()
            {
                return Err(format!("issuer {:?} != {issuer}", v.issuer()));
            }
            if let Some(headers) = expect.get("headers") {
                let got: Value =
                    v.headers().iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect();
                if &got != headers {
                    return Err(format!("headers {got} != {headers}"));
                }
            }
            Ok(())
        }
        (Ok(_), _) => Err(format!("verified, expected {}", expect["code"])),
        (Err(e), Some(true)) => Err(format!("expected valid, got {e}")),
        (Err(e), _) => {
            if expect["code"] != e.code() {
                return Err(format!("expected {}, got {e}", expect["code"]));
            }
            if let Some(claim) = expect.get("claim")
                && claim.as_str() != e.claim()
            {
                return Err(format!("expected claim {claim}, got {:?} ({e})", e.claim()));
            }
            Ok(())
        }
    }
}

#[test]
fn shared_vectors() {
    let mut files: Vec<_> = std::fs::read_dir(vector_dir())
        .expect("tests/vectors exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for path in &files {
        let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for vector in file["vectors"].as_array().expect("a vectors array") {
            count += 1;
            if let Err(why) = run(&file, vector) {
                failures.push(format!("{} / {}: {why}", path.display(), vector["name"]));
            }
        }
    }
    assert!(count > 0, "no vectors found");
    assert!(failures.is_empty(), "{} of {count} vectors failed:\n{}", failures.len(), failures.join("\n"));
    eprintln!("{count} vectors passed");
}
