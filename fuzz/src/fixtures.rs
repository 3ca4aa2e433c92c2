//! The fixed keys, signers and verifiers every target runs against, built
//! once from `tests/keys/` and `tests/vectors/`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jwtgate::{Algorithm, Signer, Verifier, base64url_decode, base64url_encode};
use serde_json::{Value, json};

/// The clock every target pins (the vectors' `now`).
pub const NOW: f64 = 1_700_000_000.0;

/// The repository root.
pub fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The HMAC secret of `tests/keys/hs256.secret` (32 bytes).
pub fn hs256_secret() -> Vec<u8> {
    base64url_decode(read("tests/keys/hs256.secret").trim()).expect("hs256.secret is base64url")
}

/// A 64-byte secret for HS384 and HS512 (long enough for both).
pub const HS_LONG: [u8; 64] = [0x5a; 64];

/// Everything the targets share.
pub struct Fixtures {
    /// The `gateway` policy of `tests/vectors/attacks.json`: four issuers
    /// (RS256 with claim rules and forwarding, ES256 over an inline JWKS
    /// with `typ`, HS256 with `iat_as_nbf`, EdDSA), cache off.
    pub gateway: Verifier,
    /// The same policy with the verified-token cache on.
    pub gateway_cached: Verifier,
    /// The same policy looking for the token in the `Authorization` header
    /// (Bearer), the `access_token` cookie and the `access_token` query
    /// parameter, in that order.
    pub gateway_sources: Verifier,
    /// One unnamed issuer allowing every algorithm over a JWKS with kids,
    /// with pointer rules, `require` and forwarding.
    pub all_algs: Verifier,
    /// One signer per algorithm over the keys of both policies.
    pub signers: Vec<Signer>,
    /// A valid token per signer for `all_algs`, to run against loaded
    /// key sets and policies.
    pub sample_tokens: Vec<String>,
    /// Signing inputs (`header.payload`) of the vector tokens that verify
    /// against one of the verifiers above: the only messages a mutated
    /// token may carry and still verify.
    pub signed_inputs: HashSet<Vec<u8>>,
    /// The `gateway` policy document.
    pub gateway_doc: Value,
}

fn pem_signer(alg: Algorithm, file: &str, kid: &str) -> Signer {
    Signer::from_pem(alg, &read(&format!("tests/keys/{file}")), Some(kid.to_owned()))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn build_signers() -> Vec<Signer> {
    let mut signers = Vec::new();
    for alg in Algorithm::ALL {
        let signer = match alg.name() {
            "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => pem_signer(alg, "rsa.pem", "rsa"),
            "ES256" => pem_signer(alg, "ecp256.pem", "ec1"),
            "ES384" => pem_signer(alg, "ecp384.pem", "ec384"),
            "ES512" => pem_signer(alg, "ecp521.pem", "ec521"),
            "EdDSA" | "Ed25519" => pem_signer(alg, "ed25519.pem", "ed"),
            "ES256K" => pem_signer(alg, "secp256k1.pem", "k1"),
            "ML-DSA-44" => pem_signer(alg, "mldsa44.pem", "mldsa44"),
            "ML-DSA-65" => pem_signer(alg, "mldsa65.pem", "mldsa65"),
            "ML-DSA-87" => pem_signer(alg, "mldsa87.pem", "mldsa87"),
            "HS256" => Signer::from_secret(alg, &hs256_secret(), Some("hs".into())).unwrap(),
            "HS384" | "HS512" => Signer::from_secret(alg, &HS_LONG, Some("hs64".into())).unwrap(),
            other => panic!("no fuzz signer for {other}: add its key here"),
        };
        signers.push(signer);
    }
    signers
}

fn all_algs_policy(signers: &[Signer]) -> Value {
    let mut keys: Vec<Value> = Vec::new();
    let mut kids = HashSet::new();
    for signer in signers {
        if let Some(jwk) = signer.public_jwk() {
            let kid = signer.kid().unwrap_or_default().to_owned();
            if kids.insert(kid.clone()) {
                let mut jwk = jwk;
                jwk["kid"] = json!(kid);
                // Without `alg` a key serves every algorithm of its type;
                // an AKP (ML-DSA) key must name its parameter set.
                if let Some(map) = jwk.as_object_mut()
                    && map.get("kty").and_then(Value::as_str) != Some("AKP")
                {
                    map.remove("alg");
                }
                keys.push(jwk);
            }
        }
    }
    keys.push(json!({"kty": "oct", "kid": "hs", "alg": "HS256", "k": base64url_encode(hs256_secret())}));
    keys.push(json!({"kty": "oct", "kid": "hs64", "k": base64url_encode(HS_LONG)}));
    keys.push(json!({"kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB"}));
    let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
    json!({
        "issuers": [{
            "algorithms": names,
            "keys": {"jwks": {"keys": keys}},
            "leeway_s": 60,
            "require": ["sub"],
            "claims": {
                "sub": {"regex": "^[^\\s]{1,64}$"},
                "/realm_access/roles": {"contains_all": ["user"]},
                "scope": {"contains_any": ["read", "write"]},
                "tier": {"one_of": ["gold", 3, true, null]},
                "n": {"equals": 4},
                "https://example.com/tenant": {"equals": {"id": 1, "tags": ["a"]}}
            },
            "forward": {
                "claims_to_headers": {"sub": "X-Sub", "/realm_access/roles": "X-Roles", "tier": "X-Tier"},
                "payload_header": "X-JWT-Payload"
            }
        }],
        "cache": {"max_entries": 0}
    })
}

/// Every token of every vector file.
pub fn vector_tokens() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (file, doc) in vector_files() {
        for v in doc["vectors"].as_array().into_iter().flatten() {
            if let (Some(name), Some(token)) = (v["name"].as_str(), v["token"].as_str()) {
                out.push((format!("{file}-{name}"), token.to_owned()));
            }
        }
    }
    out
}

/// The vector files by stem, sorted.
pub fn vector_files() -> Vec<(String, Value)> {
    let dir = root().join("tests/vectors");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        })
        .collect()
}

fn build() -> Fixtures {
    let attacks: Value = serde_json::from_str(&read("tests/vectors/attacks.json")).expect("attacks.json");
    let gateway_doc = attacks["policies"]["gateway"].clone();
    let gateway = Verifier::from_value(gateway_doc.clone()).expect("gateway policy loads");
    let mut cached_doc = gateway_doc.clone();
    cached_doc["cache"] = json!({"max_entries": 64});
    let gateway_cached = Verifier::from_value(cached_doc).expect("gateway policy loads");
    let mut sources_doc = gateway_doc.clone();
    sources_doc["token_sources"] = json!([
        {"header": "Authorization", "scheme": "Bearer"}, {"cookie": "access_token"}, {"query": "access_token"}
    ]);
    let gateway_sources = Verifier::from_value(sources_doc).expect("gateway policy loads");
    let signers = build_signers();
    let all_algs = Verifier::from_value(all_algs_policy(&signers)).expect("all-algorithms policy loads");
    let claims = json!({"sub": "fuzz", "realm_access": {"roles": ["user"]}, "scope": "read", "n": 4});
    let sample_tokens: Vec<String> =
        signers.iter().map(|s| s.sign(&claims, Some(600), Some(NOW)).expect("signs")).collect();
    for token in &sample_tokens {
        if let Err(e) = all_algs.verify(token, Some(NOW)) {
            panic!("fixture token does not verify: {e}");
        }
    }
    let mut signed_inputs = HashSet::new();
    let tokens = vector_tokens().into_iter().map(|(_, t)| t).chain(sample_tokens.iter().cloned());
    for token in tokens {
        let ok = [&gateway, &all_algs].iter().any(|v| v.verify(&token, Some(NOW)).is_ok());
        if let (true, Some((input, _))) = (ok, token.rsplit_once('.')) {
            signed_inputs.insert(input.as_bytes().to_vec());
        }
    }
    Fixtures {
        gateway,
        gateway_cached,
        gateway_sources,
        all_algs,
        signers,
        sample_tokens,
        signed_inputs,
        gateway_doc,
    }
}

/// The shared fixtures, built on first use.
pub fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(build)
}
