//! The shared gateway vectors (`tests/gateway/*.json`) through
//! `Verifier::decide`: the decision, and the request the upstream would
//! see once the decision is applied.

mod support;

use std::path::Path;

use jwtgate::{Decision, Request, Route, Verifier};
use serde_json::Value;
use support::headers_of;

fn vector_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/gateway");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no gateway vectors in {}", dir.display());
    files
}

/// The route of a case: its levels merged outermost first.
fn route(verifier: &Verifier, levels: &Value) -> Route {
    let mut route = Route::new();
    for level in levels.as_array().unwrap() {
        route = route.merge(&verifier.route(level.clone()).unwrap()).unwrap();
    }
    route
}

/// The headers the upstream receives: the request's, minus
/// `remove_headers`, plus `set_headers`.
fn upstream_headers(request: &[(String, String)], decision: &Decision) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        request.iter().filter(|(n, _)| !decision.removes_header(n)).cloned().collect();
    out.extend(decision.set_headers.iter().cloned());
    out
}

pub fn check_case(verifier: &Verifier, case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().unwrap();
    let request = &case["request"];
    let expect = &case["expect"];
    let headers = headers_of(request);
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let url = request["url"].as_str().unwrap();
    let req = Request::new(request["method"].as_str().unwrap(), url, &borrowed);
    let route = route(verifier, &case["routes"]);
    let decision = verifier.decide(&req, Some(&route));

    let got = decision.to_json();
    for field in ["allow", "status", "code", "www_authenticate"] {
        if got[field] != expect[field] {
            return Err(format!("{name}: {field} is {} instead of {}", got[field], expect[field]));
        }
    }
    if !decision.allow {
        let body: Value = serde_json::from_str(decision.body.as_deref().unwrap()).unwrap();
        if body["error"] != expect["code"] {
            return Err(format!("{name}: body {body}"));
        }
        // A document the gateway answers itself (RFC 9728 metadata).
        if let Some(want) = expect.get("body")
            && &body != want
        {
            return Err(format!("{name}: body {body} instead of {want}"));
        }
        return Ok(());
    }
    let upstream = upstream_headers(&headers, &decision);
    for (header, want) in expect["upstream_headers"].as_object().unwrap() {
        let seen: Vec<&str> = upstream
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(header))
            .map(|(_, v)| v.as_str())
            .collect();
        let ok = match want {
            Value::Null => seen.is_empty(),
            Value::String(w) => seen == [w.as_str()],
            _ => false,
        };
        if !ok {
            return Err(format!("{name}: upstream {header} is {seen:?} instead of {want}"));
        }
    }
    let upstream_url = decision.upstream_url.as_deref().unwrap_or(url);
    if upstream_url != expect["upstream_url"] {
        return Err(format!("{name}: upstream URL {upstream_url} instead of {}", expect["upstream_url"]));
    }
    Ok(())
}

#[test]
fn every_gateway_vector_decides_as_expected() {
    let mut failures = Vec::new();
    let mut count = 0;
    // The sender-constrained cases (DPoP, resource metadata) run here, in
    // the core, until every runtime's runner takes them.
    let dpop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/dpop/gateway_dpop.json");
    for file in vector_files().into_iter().chain([dpop]) {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let verifier = Verifier::from_value(doc["policy"].clone()).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            count += 1;
            if let Err(e) = check_case(&verifier, case) {
                failures.push(e);
            }
        }
    }
    assert!(count >= 30, "only {count} gateway cases");
    assert!(failures.is_empty(), "{} of {count} cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_later_layer_does_not_verify_again() {
    let file = &vector_files()[0];
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut policy = doc["policy"].clone();
    policy["cache"] = serde_json::json!({"max_entries": 0});
    let verifier = Verifier::from_value(policy).unwrap();
    let case = &doc["cases"][0];
    let headers = headers_of(&case["request"]);
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = Request::new("GET", "/api/orders", &borrowed);
    let outer = verifier.decide(&req, None);
    assert!(outer.allow);
    let before: u64 = verifier.stats(None).verifications.values().sum();
    let inner_route = verifier.route(serde_json::json!({"scopes": ["orders:read"]})).unwrap();
    let inner = verifier.decide_after(&outer, &req, &inner_route);
    assert!(inner.allow, "{:?}", inner.error);
    assert_eq!(
        verifier.stats(None).verifications.values().sum::<u64>(),
        before,
        "the inner layer verified the token again"
    );
    let strict = verifier.route(serde_json::json!({"scopes": ["orders:write"]})).unwrap();
    let denied = verifier.decide_after(&outer, &req, &strict);
    assert_eq!((denied.allow, denied.status, denied.code()), (false, 403, Some("claim")));
}

#[test]
fn report_only_counts_what_it_lets_through() {
    let file = &vector_files()[0];
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let verifier = Verifier::from_value(doc["policy"].clone()).unwrap();
    let route = verifier.route(serde_json::json!({"mode": "report_only"})).unwrap();
    let decision = verifier.decide(&Request::new("GET", "/x", &[]), Some(&route));
    assert_eq!((decision.allow, decision.code()), (true, Some("missing_token")));
    let headers = [("Authorization", "Bearer not.a.token")];
    let decision = verifier.decide(&Request::new("GET", "/x", &headers), Some(&route));
    assert_eq!((decision.allow, decision.code()), (true, Some("malformed")));
    assert_eq!(verifier.stats(None).report_only_rejections, 2);
    assert!(verifier.decide(&Request::new("GET", "/x", &[]), None).code() == Some("missing_token"));
    assert_eq!(verifier.stats(None).report_only_rejections, 2, "required mode does not count");
}

#[test]
fn a_decision_of_another_verifier_is_not_trusted() {
    let file = &vector_files()[0];
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let lenient = Verifier::from_value(doc["policy"].clone()).unwrap();
    let mut strict_policy = doc["policy"].clone();
    strict_policy["issuers"][0]["claims"]["dept"] = serde_json::json!({"equals": "HR"});
    let strict = Verifier::from_value(strict_policy).unwrap();
    let token = doc["cases"][0]["request"]["headers"][0][1].as_str().unwrap().to_owned();
    let headers = [("Authorization", token.as_str())];
    let req = Request::new("GET", "/", &headers);
    let outer = lenient.decide(&req, None);
    assert!(outer.allow);
    let inner = strict.decide_after(&outer, &req, &Route::new());
    assert_eq!((inner.allow, inner.code()), (false, Some("claim")), "the strict policy's own rule holds");
}

#[test]
fn a_503_says_retry_later_without_the_key_servers_details() {
    let policy = serde_json::json!({"issuers": [{"algorithms": ["RS256"],
        "keys": {"jwks_uri": "http://127.0.0.1:9/jwks.json", "allow_http": true, "initial_wait_ms": 0}}]});
    let verifier = Verifier::from_value(policy).unwrap();
    let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str())];
    let decision = verifier.decide(&Request::new("GET", "/", &headers), None);
    assert_eq!((decision.status, decision.code()), (503, Some("jwks_unavailable")));
    assert_eq!(decision.www_authenticate(), Some("Bearer"));
    let body = decision.body.as_deref().unwrap();
    assert!(!body.contains("127.0.0.1") && body.contains("retry later"), "{body}");
    assert!(decision.response_headers.iter().any(|(n, _)| n == "Retry-After"));
}

/// A server that joins repeated headers (WSGI) hands over one value with a
/// comma: `invalid_request`, whether the first token is valid or not, in
/// every mode (a token that verified never holds a comma).
#[test]
fn joined_authorization_headers_are_two_headers() {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&vector_files()[0]).unwrap()).unwrap();
    let verifier = Verifier::from_value(doc["policy"].clone()).unwrap();
    let valid = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["expect"]["allow"] == true
                && c["expect"]["code"].is_null()
                && c["routes"] == serde_json::json!([])
        })
        .and_then(|c| c["request"]["headers"].as_array().unwrap().iter().find(|h| h[0] == "Authorization"))
        .map(|h| h[1].as_str().unwrap().to_owned())
        .expect("a vector with a valid Authorization header");
    let single = [("Authorization", valid.as_str())];
    assert!(verifier.decide(&Request::new("GET", "/", &single), None).allow);
    for joined in [format!("{valid}, Bearer other.token.x"), "Bearer a.b.c, Bearer d.e.f".to_owned()] {
        let headers = [("Authorization", joined.as_str())];
        for mode in ["required", "optional"] {
            let route = verifier.route(serde_json::json!({"mode": mode})).unwrap();
            let decision = verifier.decide(&Request::new("GET", "/", &headers), Some(&route));
            assert_eq!((decision.status, decision.code()), (400, Some("invalid_request")), "{joined} {mode}");
        }
    }
}

/// The headers `Verifier::reads_header` leaves out cannot change a
/// decision: every vector decides the same with only the headers it names
/// (each side with its own verifier, so a DPoP proof is fresh for both).
#[test]
fn headers_the_decision_does_not_read_do_not_change_it() {
    let dpop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/dpop/gateway_dpop.json");
    let mut count = 0;
    for file in vector_files().into_iter().chain([dpop]) {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let all = Verifier::from_value(doc["policy"].clone()).unwrap();
        let read = Verifier::from_value(doc["policy"].clone()).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            let request = &case["request"];
            let headers: Vec<(&str, &str)> = request["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap()))
                .collect();
            let (method, url) = (request["method"].as_str().unwrap(), request["url"].as_str().unwrap());
            let read_route = route(&read, &case["routes"]);
            let kept: Vec<(&str, &str)> =
                headers.iter().copied().filter(|(n, _)| read.reads_header(Some(&read_route), n)).collect();
            let full = all.decide(&Request::new(method, url, &headers), Some(&route(&all, &case["routes"])));
            let filtered = read.decide(&Request::new(method, url, &kept), Some(&read_route));
            assert_eq!(full.to_json(), filtered.to_json(), "{}", case["name"]);
            assert_eq!(full.body, filtered.body, "{}", case["name"]);
            count += 1;
        }
    }
    assert!(count >= 30);
}
