//! DPoP (RFC 9449) through `Verifier::decide`: the proofs and tokens of
//! `tests/dpop/dpop.json`, made by jwcrypto (`tests/dpop/gen_vectors.py`),
//! replayed in order with the clock pinned; the challenges and the
//! protected resource metadata (RFC 9728) field by field.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use jwtgate::{MemoryStore, ReplayStore, Request, StoreError, Verifier};
use serde_json::{Value, json};

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/dpop/dpop.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn headers_of(request: &Value) -> Vec<(String, String)> {
    request["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h[0].as_str().unwrap().to_owned(), h[1].as_str().unwrap().to_owned()))
        .collect()
}

fn decide(verifier: &Verifier, request: &Value) -> jwtgate::Decision {
    let headers = headers_of(request);
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let mut req =
        Request::new(request["method"].as_str().unwrap(), request["url"].as_str().unwrap(), &borrowed);
    req.now = request["now"].as_f64();
    verifier.decide(&req, None)
}

fn response_header<'d>(decision: &'d jwtgate::Decision, name: &str) -> Option<&'d str> {
    decision.response_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[test]
fn jwcrypto_proofs_decide_as_expected() {
    let doc = vectors();
    let mut verifiers: HashMap<String, Verifier> = HashMap::new();
    for (name, policy) in doc["policies"].as_object().unwrap() {
        verifiers.insert(name.clone(), Verifier::from_value(policy.clone()).unwrap());
    }
    let mut failures = Vec::new();
    let cases = doc["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let expect = &case["expect"];
        let verifier = &verifiers[case["policy"].as_str().unwrap()];
        let decision = decide(verifier, &case["request"]);
        let got = json!({"allow": decision.allow, "status": decision.status, "code": decision.code()});
        let want = json!({"allow": expect["allow"], "status": expect["status"], "code": expect["code"]});
        if got != want {
            failures.push(format!(
                "{name}: {got} instead of {want} ({:?})",
                decision.error.map(|e| e.to_string())
            ));
            continue;
        }
        if let Some(prefix) = expect["www_authenticate"].as_str() {
            let challenge = decision.www_authenticate().unwrap_or_default();
            if !challenge.starts_with(prefix) {
                failures.push(format!("{name}: challenge {challenge:?} does not start with {prefix:?}"));
            }
        }
        if let Some(nonce) = expect.get("dpop_nonce") {
            if response_header(&decision, "DPoP-Nonce") != nonce.as_str() {
                failures.push(format!(
                    "{name}: DPoP-Nonce {:?}, not {nonce}",
                    response_header(&decision, "DPoP-Nonce")
                ));
            }
        }
        if !decision.allow {
            let challenge = decision.www_authenticate().unwrap();
            assert!(challenge.contains("resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource/orders\""), "{name}: {challenge}");
        }
    }
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
