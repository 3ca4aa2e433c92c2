//! The seed corpus: built from the shared vectors, the test keys and the
//! demo policy (`mutate --write-corpus`), checked in under
//! `fuzz/corpus/<target>/`, loaded by the harness and by AFL.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use jwtgate::{base64url_decode, base64url_encode};
use serde_json::Value;

use crate::Target;
use crate::fixtures::{fixtures, root, vector_files, vector_tokens};

/// The corpus folder of a target.
pub fn dir(target: Target) -> PathBuf {
    root().join("fuzz/corpus").join(target.name())
}

/// The seeds of a target, sorted by file name.
pub fn load(target: Target) -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir(target))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .filter_map(|e| Some((e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).ok()?)))
        .collect();
    seeds.sort();
    seeds
}

/// Every policy document of the vector files, by name.
fn vector_policies() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (file, doc) in vector_files() {
        for (name, policy) in doc["policies"].as_object().into_iter().flatten() {
            out.push((format!("{file}-{name}"), policy.clone()));
        }
        for v in doc["vectors"].as_array().into_iter().flatten() {
            if v["policy"].is_object() {
                out.push((format!("{file}-{}", v["name"].as_str().unwrap_or("vector")), v["policy"].clone()));
            }
        }
    }
    out
}

fn jwks_of(policy: &Value) -> Vec<Value> {
    policy["issuers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["keys"].get("jwks").cloned())
        .collect()
}

/// The seeds of every target, generated.
pub fn generate() -> Vec<(Target, String, Vec<u8>)> {
    let f = fixtures();
    let mut out = Vec::new();
    let tokens = vector_tokens();
    for (name, token) in &tokens {
        out.push((Target::Token, name.clone(), token.clone().into_bytes()));
        out.push((Target::Unverified, name.clone(), token.clone().into_bytes()));
        let parts: Vec<&str> = token.split('.').collect();
        if let [h, p, _] = parts.as_slice()
            && let (Some(h), Some(p)) = (base64url_decode(h), base64url_decode(p))
            && !h.contains(&b'\n')
            && p.len() < 4096
        {
            out.push((Target::Claims, name.clone(), [h, b"\n".to_vec(), p].concat()));
        }
    }
    for (i, token) in f.sample_tokens.iter().enumerate() {
        let alg = f.signers[i].algorithm();
        out.push((Target::Token, format!("sample-{alg}"), token.clone().into_bytes()));
        out.push((
            Target::Sources,
            format!("bearer-{alg}"),
            format!("Bearer {token}\nsession=1\nx=1").into_bytes(),
        ));
    }
    let token = &f.sample_tokens[0];
    let escaped = token.replace('.', "%2E");
    for (name, text) in [
        ("cookie", format!("Basic abc\nsession=1; access_token={token}; theme=dark\n")),
        ("cookie-quoted", format!("\naccess_token=\"{token}\"\n")),
        ("query", format!("\n\nx=1&access_token={escaped}&y=2")),
        ("query-bad-utf8", "\n\naccess_token=%C3%28%FF".to_owned()),
        ("bearer-spaces", format!("bEaReR    {token}   \n\n")),
    ] {
        out.push((Target::Sources, name.to_owned(), text.into_bytes()));
    }
    let claims_payloads = [
        ("gateway-a", fixtures().gateway_doc["issuers"][0]["issuer"].clone()),
        ("gateway-b", fixtures().gateway_doc["issuers"][1]["issuer"].clone()),
    ];
    for (name, iss) in claims_payloads {
        let payload = serde_json::json!({"iss": iss, "sub": "ada", "aud": "api://orders", "exp": 1_700_000_600,
            "nbf": 1_699_999_990, "iat": 1_699_999_990, "dept": "IT", "roles": ["admin", "dev"], "internal": true,
            "bldg": 4, "scope": "orders:read", "realm_access": {"roles": ["user"]}, "org": {"name": "x"}});
        let header = r#"{"alg":"RS256","typ":"at+jwt","kid":"ec1"}"#;
        out.push((Target::Claims, format!("rules-{name}"), format!("{header}\n{payload}").into_bytes()));
    }
    for (name, policy) in vector_policies() {
        out.push((Target::Policy, name.clone(), policy.to_string().into_bytes()));
        for (i, jwks) in jwks_of(&policy).into_iter().enumerate() {
            out.push((Target::Jwks, format!("{name}-{i}"), jwks.to_string().into_bytes()));
        }
    }
    if let Ok(text) = std::fs::read_to_string(root().join("demo/policy.json")) {
        out.push((Target::Policy, "demo-policy".into(), text.into_bytes()));
    }
    let all_keys = jwtgate::jwks(&f.signers);
    out.push((Target::Jwks, "all-signers".into(), all_keys.to_string().into_bytes()));
    for signer in &f.signers {
        if let Some(jwk) = signer.public_jwk() {
            let one = serde_json::json!({"keys": [jwk]});
            out.push((Target::Jwks, format!("signer-{}", signer.algorithm()), one.to_string().into_bytes()));
        }
    }
    let oct = serde_json::json!({"keys": [{"kty": "oct", "k": base64url_encode([7u8; 64]), "alg": "HS512"}]});
    out.push((Target::Jwks, "oct-hs512".into(), oct.to_string().into_bytes()));
    out
}

fn file_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    clean.chars().take(80).collect()
}

/// Writes the generated seeds under `fuzz/corpus/`, replacing what is
/// there; identical inputs of one target are written once. Returns the
/// number of files written.
pub fn write(base: &Path) -> std::io::Result<usize> {
    let mut written = 0;
    for target in Target::ALL {
        let dir = base.join(target.name());
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
    }
    let mut seen: HashSet<(&'static str, Vec<u8>)> = HashSet::new();
    let mut names: HashSet<(&'static str, String)> = HashSet::new();
    for (target, name, data) in generate() {
        if !seen.insert((target.name(), data.clone())) {
            continue;
        }
        let mut file = file_name(&name);
        let mut n = 1;
        while !names.insert((target.name(), file.clone())) {
            n += 1;
            file = format!("{}-{n}", file_name(&name));
        }
        std::fs::write(base.join(target.name()).join(file), data)?;
        written += 1;
    }
    Ok(written)
}
