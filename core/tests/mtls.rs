//! Certificate-bound tokens (RFC 8705 section 3) through `Verifier::decide`:
//! the client certificate of the connection, or the one a trusted proxy
//! forwards in a header; certificates made here with rcgen.

use std::net::IpAddr;

use aws_lc_rs::digest;
use jwtgate::{Algorithm, Decision, Request, Signer, Verifier, base64url_encode};
use rcgen::{CertificateParams, KeyPair};
use serde_json::{Value, json};

const SECRET: [u8; 32] = [5; 32];
const ISS: &str = "https://idp.example.com/";

struct Cert {
    der: Vec<u8>,
    pem: String,
}

fn cert(name: &str) -> Cert {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![name.to_owned()]).unwrap().self_signed(&key).unwrap();
    Cert { der: cert.der().to_vec(), pem: cert.pem() }
}

fn x5t(der: &[u8]) -> String {
    base64url_encode(digest::digest(&digest::SHA256, der))
}

fn token(cnf: Option<Value>) -> String {
    let signer = Signer::from_secret(Algorithm::HS256, &SECRET, None).unwrap();
    let mut claims = json!({"iss": ISS, "sub": "ada"});
    if let Some(cnf) = cnf {
        claims["cnf"] = cnf;
    }
    signer.sign(&claims, Some(300), None).unwrap()
}

fn verifier(mtls: Option<&str>) -> Verifier {
    let mut issuer =
        json!({"issuer": ISS, "algorithms": ["HS256"], "keys": {"hmac_secret": base64url_encode(SECRET)}});
    if let Some(mode) = mtls {
        issuer["mtls_binding"] = json!(mode);
    }
    Verifier::from_value(json!({"issuers": [issuer], "trusted_proxies": ["10.0.0.0/8", "::1"]})).unwrap()
}

/// nginx's `$ssl_client_escaped_cert`: the PEM, URL-encoded.
fn escaped(pem: &str) -> String {
    percent_encoding::utf8_percent_encode(pem, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn decide(
    verifier: &Verifier,
    token: &str,
    extra: &[(&str, &str)],
    peer: Option<&str>,
    client_cert: Option<&[u8]>,
) -> Decision {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![("Authorization", bearer.as_str())];
    headers.extend_from_slice(extra);
    let mut request = Request::new("GET", "/orders", &headers);
    request.peer = peer.map(|p| p.parse::<IpAddr>().unwrap());
    request.client_cert = client_cert;
    verifier.decide(&request, None)
}

#[test]
fn the_connection_certificate_must_be_the_bound_one() {
    let (client, other) = (cert("client"), cert("other"));
    let verifier = verifier(Some("allowed"));
    let bound = token(Some(json!({"x5t#S256": x5t(&client.der)})));
    assert!(decide(&verifier, &bound, &[], None, Some(&client.der)).allow);
    let wrong = decide(&verifier, &bound, &[], None, Some(&other.der));
    assert_eq!((wrong.allow, wrong.status, wrong.code()), (false, 401, Some("mtls_binding")));
    assert!(wrong.www_authenticate().unwrap().starts_with("Bearer error=\"invalid_token\""));
    assert_eq!(decide(&verifier, &bound, &[], None, None).code(), Some("mtls_binding"));
    // allowed: an unbound token needs no certificate.
    assert!(decide(&verifier, &token(None), &[], None, None).allow);
}

#[test]
fn a_trusted_proxy_forwards_the_certificate_in_a_header() {
    let (client, other) = (cert("client"), cert("other"));
    let verifier = verifier(Some("required"));
    let bound = token(Some(json!({"x5t#S256": x5t(&client.der)})));
    let header = escaped(&client.pem);
    let forwarded = [("X-Client-Cert", header.as_str())];
    let decision = decide(&verifier, &bound, &forwarded, Some("10.1.2.3"), None);
    assert!(decision.allow, "{:?}", decision.error);
    assert!(decision.remove_headers.contains(&"x-client-cert".to_owned()), "never passed upstream");
    assert!(decide(&verifier, &bound, &forwarded, Some("::1"), None).allow);
    assert!(decide(&verifier, &bound, &forwarded, Some("::ffff:10.9.9.9"), None).allow);
    // The proxy's header wins over the proxy's own connection certificate.
    assert!(decide(&verifier, &bound, &forwarded, Some("10.1.2.3"), Some(&other.der)).allow);
    // Two forwarded certificates, or one that is not PEM, are refused.
    let two = [forwarded[0], forwarded[0]];
    assert_eq!(decide(&verifier, &bound, &two, Some("10.1.2.3"), None).code(), Some("mtls_binding"));
    let junk = [("X-Client-Cert", "not a certificate")];
    assert_eq!(decide(&verifier, &bound, &junk, Some("10.1.2.3"), None).code(), Some("mtls_binding"));
}

#[test]
fn an_untrusted_peer_cannot_set_the_certificate_header() {
    let (client, other) = (cert("client"), cert("other"));
    let verifier = verifier(Some("allowed"));
    let bound = token(Some(json!({"x5t#S256": x5t(&client.der)})));
    let header = escaped(&client.pem);
    let forwarded = [("X-Client-Cert", header.as_str())];
    for peer in [Some("192.168.1.10"), Some("11.0.0.1"), None] {
        let decision = decide(&verifier, &bound, &forwarded, peer, None);
        assert_eq!(decision.code(), Some("mtls_binding"), "{peer:?}: the header is ignored");
        assert!(decision.remove_headers.contains(&"x-client-cert".to_owned()));
        let decision = decide(&verifier, &bound, &forwarded, peer, Some(&other.der));
        assert_eq!(decision.code(), Some("mtls_binding"), "{peer:?}: its own certificate counts");
    }
    let decision = decide(&verifier, &bound, &forwarded, Some("192.168.1.10"), Some(&client.der));
    assert!(decision.allow);
}

#[test]
fn cache_hits_are_checked_against_the_certificate() {
    let (client, other) = (cert("client"), cert("other"));
    let verifier = verifier(Some("allowed"));
    let bound = token(Some(json!({"x5t#S256": x5t(&client.der)})));
    assert!(decide(&verifier, &bound, &[], None, Some(&client.der)).allow);
    let hits = verifier.stats(None).cache_hits;
    assert_eq!(decide(&verifier, &bound, &[], None, Some(&other.der)).code(), Some("mtls_binding"));
    assert_eq!(decide(&verifier, &bound, &[], None, None).code(), Some("mtls_binding"));
    assert!(decide(&verifier, &bound, &[], None, Some(&client.der)).allow);
    assert_eq!(verifier.stats(None).cache_hits, hits + 3);
}

#[test]
fn modes_decide_what_an_unbound_or_unexpected_token_gets() {
    let client = cert("client");
    let bound = token(Some(json!({"x5t#S256": x5t(&client.der)})));
    // Off: a certificate-bound token cannot be checked, so it is refused.
    assert_eq!(decide(&verifier(None), &bound, &[], None, Some(&client.der)).code(), Some("mtls_binding"));
    assert!(decide(&verifier(None), &token(None), &[], None, None).allow);
    // Required: an unbound token is refused.
    assert_eq!(
        decide(&verifier(Some("required")), &token(None), &[], None, Some(&client.der)).code(),
        Some("mtls_binding")
    );
    // A cnf of the wrong shape is malformed.
    assert_eq!(
        decide(&verifier(Some("allowed")), &token(Some(json!("x"))), &[], None, None).code(),
        Some("malformed")
    );
    let numeric = token(Some(json!({"x5t#S256": 5})));
    assert_eq!(decide(&verifier(Some("allowed")), &numeric, &[], None, None).code(), Some("malformed"));
}

#[test]
fn the_peer_is_read_only_where_trusted_proxies_are_named() {
    assert!(verifier(Some("required")).reads_peer());
    let issuer = json!({"issuer": "https://idp.example.com/", "algorithms": ["RS256"],
        "keys": {"pem_file": concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/rsa.pub.pem")}});
    let plain = Verifier::from_value(json!({"issuers": [issuer]})).unwrap();
    assert!(!plain.reads_peer());
    assert!(!plain.reads_client_cert());
}
