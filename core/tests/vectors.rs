//! Runs every shared vector in `tests/vectors/*.json`, the same files the C,
//! Node and Python tests read. See `tests/vectors/README.md` for the format.
//! Below them, tests of the claim semantics some vectors pin (`aud` without
//! audiences, `max_age_s` and a future `iat`, `missing_claim`, null claims,
//! whole-value `regex`) on small policies of their own.

use std::path::PathBuf;

use jwtgate::{Algorithm, ErrorKind, Signer, Verifier};
use serde_json::{Value, json};

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
            if let Some(status) = expect.get("status")
                && status.as_u64() != e.http_status().map(u64::from)
            {
                return Err(format!("expected status {status}, got {:?} ({e})", e.http_status()));
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

const NOW: f64 = 1_700_000_000.0;
const SECRET: [u8; 32] = [7; 32];

/// A single-issuer HS256 verifier with `extra` members on the issuer.
fn hs_verifier(extra: Value) -> Verifier {
    let mut issuer =
        json!({"algorithms": ["HS256"], "keys": {"hmac_secret": jwtgate::base64url_encode(SECRET)}});
    for (k, v) in extra.as_object().unwrap() {
        issuer[k] = v.clone();
    }
    Verifier::from_value(json!({"issuers": [issuer], "cache": {"max_entries": 0}})).unwrap()
}

fn hs_token(claims: Value) -> String {
    Signer::from_secret(Algorithm::HS256, &SECRET, None).unwrap().sign(&claims, None, None).unwrap()
}

/// The kind, HTTP status and claim of a verification that must fail.
fn failure(verifier: &Verifier, claims: Value) -> (ErrorKind, u16, Option<String>) {
    let e = verifier.verify(hs_token(claims), Some(NOW)).unwrap_err();
    (e.kind(), e.http_status().expect("a token failure has a status"), e.claim().map(str::to_owned))
}

#[test]
fn aud_without_configured_audiences_is_rejected_unless_any_audience() {
    let plain = hs_verifier(json!({}));
    for aud in [json!("api://orders"), json!(["a", "b"]), json!([])] {
        assert_eq!(failure(&plain, json!({"aud": aud})), (ErrorKind::Audience, 401, Some("aud".into())));
    }
    assert!(plain.verify(hs_token(json!({"sub": "x"})), Some(NOW)).is_ok(), "no aud, no audiences");
    assert!(plain.verify(hs_token(json!({"aud": null})), Some(NOW)).is_ok(), "a null aud is absent");

    let any = hs_verifier(json!({"any_audience": true}));
    for aud in [json!("api://orders"), json!(["a", "b"])] {
        assert!(any.verify(hs_token(json!({"aud": aud})), Some(NOW)).is_ok());
    }
    assert_eq!(failure(&any, json!({"aud": 7})).0, ErrorKind::Audience, "aud still has a type");

    let both = json!({"issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": jwtgate::base64url_encode(SECRET)},
                                  "audiences": ["api://orders"], "any_audience": true}]});
    let e = Verifier::from_value(both).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Policy);
    assert!(e.message().contains("any_audience"), "{e}");
}

#[test]
fn max_age_refuses_an_iat_in_the_future() {
    let v = hs_verifier(json!({"max_age_s": 600, "leeway_s": 5}));
    let ten_years = 10.0 * 365.0 * 86_400.0;
    assert_eq!(failure(&v, json!({"iat": NOW + ten_years})).0, ErrorKind::NotYetValid);
    assert_eq!(failure(&v, json!({"iat": NOW + 6.0})).0, ErrorKind::NotYetValid);
    assert!(v.verify(hs_token(json!({"iat": NOW + 5.0})), Some(NOW)).is_ok(), "inside the leeway");
    assert!(v.verify(hs_token(json!({"iat": NOW - 600.0})), Some(NOW)).is_ok());
    assert_eq!(failure(&v, json!({"iat": NOW - 606.0})).0, ErrorKind::Expired);
    // Without max_age_s (and iat_as_nbf) iat is informational.
    let plain = hs_verifier(json!({}));
    assert!(plain.verify(hs_token(json!({"iat": NOW + ten_years})), Some(NOW)).is_ok());
}

#[test]
fn required_registered_claims_are_missing_claim_and_custom_rules_claim() {
    let v = hs_verifier(json!({
        "require": ["sub", "exp"],
        "max_age_s": 600,
        "claims": {"dept": {"required": true}, "bldg": {"equals": 4}},
        "forward": {"claims_to_headers": {"dept": "X-Dept", "team": "X-Team"}}
    }));
    let good = json!({"sub": "ada", "exp": NOW + 60.0, "iat": NOW, "dept": "IT"});
    let with = |k: &str, value: Value| {
        let mut claims = good.clone();
        claims[k] = value;
        claims
    };
    let without = |k: &str| {
        let mut claims = good.clone();
        claims.as_object_mut().unwrap().remove(k);
        claims
    };
    assert!(v.verify(hs_token(good.clone()), Some(NOW)).is_ok());
    for name in ["sub", "exp", "iat"] {
        let expected = (ErrorKind::MissingClaim, 401, Some(name.to_owned()));
        assert_eq!(failure(&v, without(name)), expected, "{name} absent");
        assert_eq!(failure(&v, with(name, Value::Null)), expected, "{name} null");
    }
    let e = v.verify(hs_token(without("sub")), Some(NOW)).unwrap_err();
    assert_eq!(e.code(), "missing_claim");
    assert!(e.message().contains("sub"), "{e}");
    // A custom rule's `required` stays a 403 claim failure, null or absent.
    assert_eq!(failure(&v, without("dept")), (ErrorKind::Claim, 403, Some("dept".into())));
    assert_eq!(failure(&v, with("dept", Value::Null)), (ErrorKind::Claim, 403, Some("dept".into())));
    // A null claim is absent: an optional rule passes and nothing is forwarded.
    let ok = v.verify(hs_token(with("bldg", Value::Null)), Some(NOW)).unwrap();
    assert_eq!(ok.headers(), [("X-Dept".to_owned(), "IT".to_owned())]);
    let ok = v.verify(hs_token(with("team", Value::Null)), Some(NOW)).unwrap();
    assert_eq!(ok.headers(), [("X-Dept".to_owned(), "IT".to_owned())]);
    assert_eq!(failure(&v, with("bldg", json!("4"))).0, ErrorKind::Claim);
}

#[test]
fn regex_rules_match_the_whole_value() {
    let v = hs_verifier(json!({"claims": {"role": {"regex": "^admin|root$"}}}));
    for ok in ["admin", "root"] {
        assert!(v.verify(hs_token(json!({"role": ok})), Some(NOW)).is_ok(), "{ok}");
    }
    for bad in ["admin-evil", "evil-root", "admin\nroot"] {
        assert_eq!(failure(&v, json!({"role": bad})), (ErrorKind::Claim, 403, Some("role".into())), "{bad}");
    }
}
