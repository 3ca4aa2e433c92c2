//! JWKS over HTTPS: a real TLS endpoint on 127.0.0.1 with a certificate from
//! a private CA, trusted through the policy's `ca_file` and refused without it.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use jwtgate::{Algorithm, Signer, Verifier, generate_key};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;

const NOW: f64 = 1_700_000_000.0;

/// A CA (PEM) and a TLS server for 127.0.0.1 whose certificate it signed,
/// serving `body` at any path. Returns the CA PEM and the server's base URL.
fn https_server(body: String) -> (String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf =
        CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap().signed_by(&leaf_key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            let body = body.clone();
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes());
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    (ca_cert.pem(), base)
}

#[test]
fn https_jwks_with_a_private_ca() {
    let key = generate_key(Algorithm::ES256, Some("k1".into())).unwrap();
    let signer = Signer::from_pem(Algorithm::ES256, &key.private_key, Some("k1".into())).unwrap();
    let token = signer.sign(&json!({"sub": "ada", "exp": NOW + 60.0}), None, None).unwrap();
    let (ca_pem, base) = https_server(json!({"keys": [key.public_jwk.unwrap()]}).to_string());

    let dir = std::env::temp_dir().join(format!("jwtgate-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), &ca_pem).unwrap();
    let policy = |keys: serde_json::Value| json!({"issuers": [{"algorithms": ["ES256"], "keys": keys}], "cache": {"max_entries": 0}});
    let file = dir.join("policy.json");
    let uri = format!("{base}/jwks.json");
    std::fs::write(
        &file,
        policy(json!({"jwks_uri": uri, "ca_file": "ca.pem", "timeout_ms": 3000})).to_string(),
    )
    .unwrap();
    let trusted = Verifier::from_file(&file).unwrap();
    assert_eq!(trusted.verify(&token, Some(NOW)).unwrap().claims()["sub"], "ada");

    // Mozilla's roots do not know this CA: the fetch fails, nothing verifies.
    let untrusted = Verifier::from_value(policy(json!({"jwks_uri": uri, "timeout_ms": 3000}))).unwrap();
    let err = untrusted.verify(&token, Some(NOW)).unwrap_err();
    assert_eq!(err.code(), "jwks_unavailable", "{err}");
    assert!(err.message().contains("certificate") || err.message().contains("issuer"), "{err}");

    std::fs::write(dir.join("empty.pem"), "no certificates here").unwrap();
    std::fs::write(&file, policy(json!({"jwks_uri": uri, "ca_file": "empty.pem"})).to_string()).unwrap();
    assert_eq!(Verifier::from_file(&file).unwrap_err().code(), "policy");

    // A CERTIFICATE block that is not a certificate (alone or beside a good
    // one) would leave every fetch failing: the policy does not load.
    let junk = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQsIEkgYW0gbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    for (name, text) in [("junk.pem", junk.to_string()), ("mixed.pem", format!("{ca_pem}{junk}"))] {
        std::fs::write(dir.join(name), text).unwrap();
        std::fs::write(&file, policy(json!({"jwks_uri": uri, "ca_file": name})).to_string()).unwrap();
        let err = Verifier::from_file(&file).unwrap_err();
        assert_eq!(err.code(), "policy", "{name}");
        assert!(err.message().contains("not a certificate"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
