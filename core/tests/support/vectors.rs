//! The requests of the shared vectors (tests/gateway, tests/dpop), as the
//! core's `Request`.

use jwtgate::{Decision, Request, Verifier};
use serde_json::Value;

/// A vector request's `headers` (`[name, value]` pairs), owned.
pub fn headers_of(request: &Value) -> Vec<(String, String)> {
    request["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h[0].as_str().unwrap().to_owned(), h[1].as_str().unwrap().to_owned()))
        .collect()
}

/// `verifier.decide` with no route on a vector request: its method, URL,
/// headers and `now`.
pub fn decide(verifier: &Verifier, request: &Value) -> Decision {
    let headers = headers_of(request);
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let mut req =
        Request::new(request["method"].as_str().unwrap(), request["url"].as_str().unwrap(), &borrowed);
    req.now = request["now"].as_f64();
    verifier.decide(&req, None)
}
