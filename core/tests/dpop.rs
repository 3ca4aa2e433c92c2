//! DPoP (RFC 9449) through `Verifier::decide`: the proofs and tokens of
//! `tests/dpop/dpop.json`, made by jwcrypto (`tests/dpop/gen_vectors.py`),
//! replayed in order with the clock pinned; the challenges and the
//! protected resource metadata (RFC 9728) field by field.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use jwtgate::{MemoryStore, ReplayStore, Request, StoreError, Verifier};
use serde_json::{Value, json};
use support::{decide, headers_of};

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/dpop/dpop.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
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
        if let Some(word) = expect["message_contains"].as_str() {
            let message = decision.error.as_ref().map(|e| e.message()).unwrap_or_default();
            if !message.contains(word) {
                failures.push(format!("{name}: refused with {message:?}, not for {word:?}"));
            }
        }
        if let Some(prefix) = expect["www_authenticate"].as_str() {
            let challenge = decision.www_authenticate().unwrap_or_default();
            if !challenge.starts_with(prefix) {
                failures.push(format!("{name}: challenge {challenge:?} does not start with {prefix:?}"));
            }
        }
        if let Some(nonce) = expect.get("dpop_nonce")
            && response_header(&decision, "DPoP-Nonce") != nonce.as_str()
        {
            let got = response_header(&decision, "DPoP-Nonce");
            failures.push(format!("{name}: DPoP-Nonce {got:?}, not {nonce}"));
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

/// The first vector case: a valid proof and its bound token.
fn valid_case() -> (Value, Value) {
    let doc = vectors();
    let case = doc["cases"][0].clone();
    assert_eq!(case["expect"]["allow"], true);
    (doc["policies"][case["policy"].as_str().unwrap()].clone(), case["request"].clone())
}

/// A store that is never reachable.
struct Down;

impl ReplayStore for Down {
    fn insert_once(&self, _: &str, _: f64, _: f64) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
}

#[test]
fn an_unreachable_store_fails_closed_unless_the_policy_fails_open() {
    let (policy, request) = valid_case();
    let verifier = Verifier::from_value(policy.clone()).unwrap();
    verifier.set_replay_store(Arc::new(Down));
    let decision = decide(&verifier, &request);
    assert_eq!(
        (decision.allow, decision.status, decision.code()),
        (false, 503, Some("replay_store_unavailable"))
    );
    assert_eq!(response_header(&decision, "Retry-After"), Some("1"));

    let mut open = policy;
    open["replay_store"] = json!({"on_error": "fail_open"});
    let verifier = Verifier::from_value(open).unwrap();
    verifier.set_replay_store(Arc::new(Down));
    assert!(decide(&verifier, &request).allow, "fail_open accepts the proof without the replay check");
}

#[test]
fn a_full_store_refuses_new_proofs_and_keeps_live_ones() {
    let (policy, request) = valid_case();
    let verifier = Verifier::from_value(policy).unwrap();
    let store = Arc::new(MemoryStore::new(1));
    verifier.set_replay_store(store.clone());
    let now = request["now"].as_f64().unwrap();
    // Fill every shard with live entries.
    for i in 0..1000 {
        let _ = store.insert_once(&format!("filler-{i}"), now + 3600.0, now);
    }
    let decision = decide(&verifier, &request);
    assert_eq!(decision.code(), Some("replay_store_unavailable"), "{:?}", decision.error);
    assert_eq!(store.insert_once("filler-0", now + 3600.0, now), Ok(false), "live entries stay");
    // Failing open is for an unreachable store, never for a full one.
    let mut open = vectors()["policies"]["allowed"].clone();
    open["replay_store"] = json!({"on_error": "fail_open"});
    let verifier = Verifier::from_value(open).unwrap();
    verifier.set_replay_store(store);
    assert_eq!(decide(&verifier, &request).code(), Some("replay_store_unavailable"));
}

#[test]
fn routes_and_later_layers_share_the_replay_check() {
    let (policy, request) = valid_case();
    let verifier = Verifier::from_value(policy).unwrap();
    let route = verifier.route(json!({"scopes": ["orders:read"]})).unwrap();
    let headers = headers_of(&request);
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let mut req = Request::new("GET", "/orders/1", &borrowed);
    req.now = request["now"].as_f64();
    let outer = verifier.decide(&req, None);
    assert!(outer.allow, "{:?}", outer.error);
    // A later layer of the same request reuses the outcome: no second use of the proof.
    let inner = verifier.decide_after(&outer, &req, &route);
    assert!(inner.allow, "{:?}", inner.error);
    // A new request with the same proof is a replay, also through a derived verifier.
    let derived = verifier.with_claims(json!({"sub": {"equals": "ada"}})).unwrap();
    assert_eq!(derived.decide(&req, None).code(), Some("invalid_dpop_proof"));
    assert_eq!(verifier.decide(&req, Some(&route)).code(), Some("invalid_dpop_proof"));
}

#[test]
fn two_dpop_authorization_headers_joined_by_a_server_are_invalid_request() {
    // WSGI servers join repeated headers with a comma: the vector with two
    // Authorization headers must answer the same there.
    let doc = vectors();
    let case =
        doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == "two Authorization headers").unwrap();
    let verifier = Verifier::from_value(doc["policies"][case["policy"].as_str().unwrap()].clone()).unwrap();
    let mut request = case["request"].clone();
    let headers = request["headers"].as_array().unwrap().clone();
    let joined: Vec<&str> =
        headers.iter().filter(|h| h[0] == "Authorization").map(|h| h[1].as_str().unwrap()).collect();
    assert_eq!(joined.len(), 2);
    let mut one: Vec<Value> = headers.iter().filter(|h| h[0] != "Authorization").cloned().collect();
    one.insert(0, json!(["Authorization", joined.join(", ")]));
    request["headers"] = json!(one);
    let decision = decide(&verifier, &request);
    assert_eq!((decision.status, decision.code()), (400, Some("invalid_request")), "{:?}", decision.error);
    assert!(decision.error.unwrap().message().contains("more than one Authorization header"));
}

#[test]
fn threads_racing_on_one_proof_get_it_accepted_once() {
    let (policy, request) = valid_case();
    let verifier = Verifier::from_value(policy).unwrap();
    let barrier = std::sync::Barrier::new(8);
    let wins = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    decide(&verifier, &request).allow
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).filter(|w| *w).count()
    });
    assert_eq!(wins, 1);
}

#[test]
fn the_binding_is_checked_on_cache_hits() {
    let (policy, request) = valid_case();
    let verifier = Verifier::from_value(policy).unwrap();
    assert!(decide(&verifier, &request).allow);
    let token = request["headers"][0][1].as_str().unwrap().strip_prefix("DPoP ").unwrap().to_owned();
    // The token is cached now; as Bearer, or with the spent proof, it is still refused.
    let bearer = [("Authorization".to_owned(), format!("Bearer {token}"))];
    let borrowed: Vec<(&str, &str)> = bearer.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let mut req = Request::new("GET", "/orders/1", &borrowed);
    req.now = request["now"].as_f64();
    let before = verifier.stats(req.now).cache_hits;
    assert_eq!(verifier.decide(&req, None).code(), Some("dpop_binding"));
    assert_eq!(decide(&verifier, &request).code(), Some("invalid_dpop_proof"));
    assert_eq!(verifier.stats(req.now).cache_hits, before + 2, "both were cache hits");
}

#[test]
fn challenges_name_the_schemes_and_the_metadata() {
    let (policy, request) = valid_case();
    let verifier = Verifier::from_value(policy).unwrap();
    let mut req = Request::new("GET", "/orders/1", &[]);
    req.now = request["now"].as_f64();
    let decision = verifier.decide(&req, None);
    let meta = "https://api.example.com/.well-known/oauth-protected-resource/orders";
    let algs = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA ES256K Ed25519 ML-DSA-44 ML-DSA-65 \
                ML-DSA-87";
    assert_eq!(
        decision.www_authenticate(),
        Some(
            format!(
                "Bearer resource_metadata=\"{meta}\", DPoP algs=\"{algs}\", resource_metadata=\"{meta}\""
            )
            .as_str()
        )
    );
    let headers = [("Authorization", "DPoP not.a.token"), ("DPoP", "x")];
    let mut req = Request::new("GET", "/orders/1", &headers);
    req.now = request["now"].as_f64();
    let decision = verifier.decide(&req, None);
    assert_eq!(decision.code(), Some("malformed"));
    let challenge = decision.www_authenticate().unwrap();
    assert!(challenge.starts_with("DPoP error=\"invalid_token\", error_description=\""), "{challenge}");
    assert!(challenge.ends_with(&format!(", algs=\"{algs}\", resource_metadata=\"{meta}\"")), "{challenge}");
}

#[test]
fn resource_metadata_follows_rfc_9728() {
    let (mut policy, request) = valid_case();
    policy["resource"]["resource_name"] = json!("Orders API");
    policy["token_sources"] =
        json!([{"header": "Authorization", "scheme": "Bearer"}, {"query": "access_token"}, {"cookie": "at"}]);
    let verifier = Verifier::from_value(policy.clone()).unwrap();
    let doc = verifier.resource_metadata().unwrap();
    let fields = doc.as_object().unwrap();
    // Section 2: resource is required; every other member is optional.
    assert_eq!(doc["resource"], "https://api.example.com/orders");
    assert_eq!(doc["authorization_servers"], json!(["https://idp.example.com/"]));
    assert_eq!(doc["scopes_supported"], json!(["orders:read", "orders:write"]));
    assert_eq!(doc["bearer_methods_supported"], json!(["header", "query"]), "cookies are no RFC 6750 method");
    assert_eq!(doc["resource_name"], "Orders API");
    assert_eq!(doc["dpop_signing_alg_values_supported"].as_array().unwrap().len(), 15);
    assert_eq!(doc["dpop_bound_access_tokens_required"], false);
    assert_eq!(doc["tls_client_certificate_bound_access_tokens"], false);
    let known = [
        "resource",
        "authorization_servers",
        "scopes_supported",
        "bearer_methods_supported",
        "resource_name",
        "resource_documentation",
        "dpop_signing_alg_values_supported",
        "dpop_bound_access_tokens_required",
        "tls_client_certificate_bound_access_tokens",
    ];
    assert!(fields.keys().all(|k| known.contains(&k.as_str())), "{doc}");
    // Section 3.1: the well-known segment goes between host and path.
    assert_eq!(verifier.resource_metadata_path(), Some("/.well-known/oauth-protected-resource/orders"));

    // decide answers the GET itself: a 200 that goes nowhere upstream.
    let mut req = Request::new("GET", "/.well-known/oauth-protected-resource/orders", &[]);
    req.now = request["now"].as_f64();
    let decision = verifier.decide(&req, None);
    assert_eq!((decision.allow, decision.status, decision.code()), (false, 200, None));
    assert_eq!(response_header(&decision, "Content-Type"), Some("application/json"));
    assert!(decision.www_authenticate().is_none());
    let body: Value = serde_json::from_str(decision.body.as_deref().unwrap()).unwrap();
    assert_eq!(body, doc);
    req.method = "POST";
    assert_eq!(verifier.decide(&req, None).code(), Some("missing_token"));

    // A resource at the root: no path suffix; every issuer requiring DPoP says so.
    policy["resource"]["uri"] = json!("https://api.example.com/");
    policy["issuers"][0]["dpop"] = json!({"mode": "required", "algorithms": ["ES256", "EdDSA"]});
    policy["issuers"][0]["mtls_binding"] = json!("allowed");
    let verifier = Verifier::from_value(policy).unwrap();
    assert_eq!(verifier.resource_metadata_path(), Some("/.well-known/oauth-protected-resource"));
    let doc = verifier.resource_metadata().unwrap();
    assert_eq!(doc["dpop_signing_alg_values_supported"], json!(["ES256", "EdDSA"]));
    assert_eq!(doc["dpop_bound_access_tokens_required"], true);
    assert_eq!(doc["tls_client_certificate_bound_access_tokens"], true);
}

#[test]
fn the_audience_defaults_to_the_resource() {
    let secret = [9u8; 32];
    let signer = jwtgate::Signer::from_secret(jwtgate::Algorithm::HS256, &secret, None).unwrap();
    let policy = json!({
        "issuers": [{"issuer": "https://idp.example.com/", "algorithms": ["HS256"],
                     "keys": {"hmac_secret": jwtgate::base64url_encode(secret)}}],
        "resource": {"uri": "https://api.example.com/orders"}
    });
    let verifier = Verifier::from_value(policy).unwrap();
    let token = |aud: Value| {
        let mut claims = json!({"iss": "https://idp.example.com/", "sub": "ada"});
        if !aud.is_null() {
            claims["aud"] = aud;
        }
        signer.sign(&claims, Some(60), None).unwrap()
    };
    assert!(verifier.verify(token(json!("https://api.example.com/orders")), None).is_ok());
    assert_eq!(
        verifier.verify(token(json!("https://other.example.com/")), None).unwrap_err().code(),
        "audience"
    );
    assert_eq!(verifier.verify(token(Value::Null), None).unwrap_err().code(), "audience");
}

#[test]
fn policy_mistakes_are_named() {
    let keys = vectors()["policies"]["allowed"]["issuers"][0]["keys"].clone();
    let base = |issuer_extra: Value, top: Value| {
        let mut issuer = json!({"issuer": "https://idp.example.com/", "algorithms": ["ES256"], "keys": keys});
        for (k, v) in issuer_extra.as_object().unwrap() {
            issuer[k] = v.clone();
        }
        let mut policy = json!({"issuers": [issuer]});
        for (k, v) in top.as_object().unwrap() {
            policy[k] = v.clone();
        }
        Verifier::from_value(policy).map(|_| ()).map_err(|e| e.message().to_owned())
    };
    let resource = json!({"resource": {"uri": "https://api.example.com/"}});
    assert!(base(json!({"dpop": "required"}), json!({})).unwrap_err().contains("dpop.origin"));
    assert!(base(json!({"dpop": "required"}), resource.clone()).is_ok());
    assert!(
        base(json!({"dpop": {"mode": "allowed", "origin": "https://api.example.com"}}), json!({})).is_ok()
    );
    assert!(
        base(json!({"dpop": {"mode": "allowed", "origin": "https://api.example.com/x"}}), json!({})).is_err()
    );
    assert!(base(json!({"dpop": {"mode": "sometimes"}}), resource.clone()).is_err());
    assert!(
        base(json!({"dpop": {"algorithms": ["HS256"]}}), resource.clone())
            .unwrap_err()
            .contains("asymmetric")
    );
    assert!(
        base(json!({"dpop": {"nonce": {"secret": "c2hvcnQ"}}}), resource.clone())
            .unwrap_err()
            .contains("32 bytes")
    );
    assert!(base(json!({"dpop": {"iat_window": 5}}), resource.clone()).is_err(), "unknown field");
    assert!(base(json!({"mtls_binding": "always"}), json!({})).is_err());
    assert!(
        base(json!({}), json!({"resource": {"uri": "http://api.example.com/"}}))
            .unwrap_err()
            .contains("https")
    );
    assert!(base(json!({}), json!({"resource": {"uri": "https://api.example.com/?a=1"}})).is_err());
    assert!(
        base(json!({}), json!({"trusted_proxies": ["10.0.0.0/33"]})).unwrap_err().contains("trusted_proxies")
    );
    assert!(
        base(json!({}), json!({"replay_store": {"redis": "nope://x"}})).unwrap_err().contains("replay_store")
    );
    assert!(base(json!({}), json!({"replay_store": {"max_entries": 0}})).is_err());
}

/// A client of its own: an Ed25519 key (or one for `alg`), its access
/// tokens (HS256 issuer) and its proofs, for cases the vectors cannot pin.
struct Client {
    alg: jwtgate::Algorithm,
    signer: jwtgate::Signer,
    jwk: Value,
    issuer: jwtgate::Signer,
}

const SECRET: [u8; 32] = [3; 32];

impl Client {
    fn new() -> Client {
        Client::with(jwtgate::Algorithm::EdDSA)
    }

    fn with(alg: jwtgate::Algorithm) -> Client {
        let key = jwtgate::generate_key(alg, None).unwrap();
        let signer = jwtgate::Signer::from_pem(alg, &key.private_key, None).unwrap();
        let mut jwk = key.public_jwk.unwrap();
        jwk.as_object_mut().unwrap().remove("kid");
        let issuer = jwtgate::Signer::from_secret(jwtgate::Algorithm::HS256, &SECRET, None).unwrap();
        Client { alg, signer, jwk, issuer }
    }

    fn policy(nonce: Value) -> Value {
        json!({"issuers": [{"issuer": "https://idp.example.com/", "algorithms": ["HS256"],
                            "keys": {"hmac_secret": jwtgate::base64url_encode(SECRET)},
                            "dpop": {"mode": "required", "nonce": nonce, "algorithms": ["EdDSA"]}}],
               "resource": {"uri": "https://api.example.com/"}})
    }

    fn token(&self) -> String {
        let claims = json!({"iss": "https://idp.example.com/", "sub": "ada", "aud": "https://api.example.com/",
                            "cnf": {"jkt": jwtgate::thumbprint(&self.jwk)}});
        self.issuer.sign(&claims, Some(300), None).unwrap()
    }

    fn proof(&self, token: &str, nonce: Option<&str>) -> String {
        use aws_lc_rs::digest;
        let header = json!({"typ": "dpop+jwt", "alg": self.alg.name(), "jwk": self.jwk});
        let mut claims = json!({"jti": jwtgate::base64url_encode(jwtgate::unix_now().to_be_bytes()) + &rand_suffix(),
                                "htm": "GET", "htu": "https://api.example.com/x", "iat": jwtgate::unix_now().floor(),
                                "ath": jwtgate::base64url_encode(digest::digest(&digest::SHA256, token.as_bytes()))});
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let input = format!(
            "{}.{}",
            jwtgate::base64url_encode(header.to_string()),
            jwtgate::base64url_encode(claims.to_string())
        );
        let signature = self.signer.sign_bytes(input.as_bytes()).unwrap();
        format!("{input}.{}", jwtgate::base64url_encode(signature))
    }

    fn decide(&self, verifier: &Verifier, token: &str, proof: &str) -> jwtgate::Decision {
        let authorization = format!("DPoP {token}");
        let headers = [("Authorization", authorization.as_str()), ("DPoP", proof)];
        verifier.decide(&Request::new("GET", "/x", &headers), None)
    }
}

fn rand_suffix() -> String {
    let mut bytes = [0u8; 12];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    jwtgate::base64url_encode(bytes)
}

#[test]
fn proofs_of_every_asymmetric_algorithm_are_accepted_by_default() {
    use jwtgate::Algorithm;
    for alg in [Algorithm::ES256K, Algorithm::Ed25519, Algorithm::ML_DSA_44, Algorithm::ML_DSA_87] {
        let client = Client::with(alg);
        let mut policy = Client::policy(json!(false));
        policy["issuers"][0]["dpop"].as_object_mut().unwrap().remove("algorithms");
        let verifier = Verifier::from_value(policy.clone()).unwrap();
        let token = client.token();
        let decision = client.decide(&verifier, &token, &client.proof(&token, None));
        assert!(decision.allow, "{alg}: {:?}", decision.error);
        // Listed algorithms still narrow it.
        policy["issuers"][0]["dpop"]["algorithms"] = json!(["ES256"]);
        let narrow = Verifier::from_value(policy).unwrap();
        let refused = client.decide(&narrow, &token, &client.proof(&token, None));
        assert_eq!(refused.code(), Some("invalid_dpop_proof"), "{alg}");
    }
}

#[test]
fn processes_sharing_the_nonce_secret_accept_each_others_nonces() {
    let client = Client::new();
    let token = client.token();
    let shared = json!({"secret": jwtgate::base64url_encode([11u8; 32]), "window_s": 300});
    let a = Verifier::from_value(Client::policy(shared.clone())).unwrap();
    let b = Verifier::from_value(Client::policy(shared)).unwrap();
    let asked = client.decide(&a, &token, &client.proof(&token, None));
    assert_eq!(asked.code(), Some("use_dpop_nonce"));
    assert!(asked.www_authenticate().unwrap().starts_with("DPoP error=\"use_dpop_nonce\""));
    let nonce = response_header(&asked, "DPoP-Nonce").unwrap().to_owned();
    let decision = client.decide(&b, &token, &client.proof(&token, Some(&nonce)));
    assert!(decision.allow, "{:?}", decision.error);

    // `true`: a secret per verifier, so another process's nonce is not current.
    let c = Verifier::from_value(Client::policy(json!(true))).unwrap();
    let d = Verifier::from_value(Client::policy(json!(true))).unwrap();
    let asked = client.decide(&c, &token, &client.proof(&token, None));
    let nonce = response_header(&asked, "DPoP-Nonce").unwrap().to_owned();
    assert_eq!(client.decide(&d, &token, &client.proof(&token, Some(&nonce))).code(), Some("use_dpop_nonce"));
    assert!(client.decide(&c, &token, &client.proof(&token, Some(&nonce))).allow);
    // And without nonces configured, a proof needs none (real clock here).
    let e = Verifier::from_value(Client::policy(json!(false))).unwrap();
    assert!(client.decide(&e, &token, &client.proof(&token, None)).allow);
}

/// The nonce a verifier hands out to a proof without one.
fn nonce_of(client: &Client, verifier: &Verifier, token: &str) -> String {
    let asked = client.decide(verifier, token, &client.proof(token, None));
    assert_eq!(asked.code(), Some("use_dpop_nonce"));
    response_header(&asked, "DPoP-Nonce").unwrap().to_owned()
}

#[test]
fn a_runtime_shares_a_nonce_secret_unless_the_policy_names_one() {
    let client = Client::new();
    let token = client.token();
    let runtime_secret = [21u8; 32];
    // `true` and `{"window_s"}` without a secret take the runtime's.
    for nonce in [json!(true), json!({"window_s": 120})] {
        let a = Verifier::from_value(Client::policy(nonce.clone())).unwrap();
        let b = Verifier::from_value(Client::policy(nonce)).unwrap();
        let route = b.with_claims(json!({"sub": {"equals": "ada"}})).unwrap();
        a.set_nonce_secret(&runtime_secret).unwrap();
        let before = nonce_of(&client, &b, &token);
        b.set_nonce_secret(&runtime_secret).unwrap();
        let nonce = nonce_of(&client, &a, &token);
        assert_ne!(nonce, before, "the random secret is replaced");
        for verifier in [&b, &route] {
            let decision = client.decide(verifier, &token, &client.proof(&token, Some(&nonce)));
            assert!(decision.allow, "{:?}", decision.error);
        }
        let stale = client.decide(&b, &token, &client.proof(&token, Some(&before)));
        assert_eq!(stale.code(), Some("use_dpop_nonce"), "nonces of the old secret are refused");
    }
    // A policy's own secret wins over the runtime's.
    let own = json!({"secret": jwtgate::base64url_encode([11u8; 32])});
    let a = Verifier::from_value(Client::policy(own.clone())).unwrap();
    let b = Verifier::from_value(Client::policy(own)).unwrap();
    b.set_nonce_secret(&runtime_secret).unwrap();
    let decision = client.decide(&b, &token, &client.proof(&token, Some(&nonce_of(&client, &a, &token))));
    assert!(decision.allow, "{:?}", decision.error);
    // Short secrets are refused; a policy without nonces takes any secret.
    let error = a.set_nonce_secret(&[1u8; 31]).unwrap_err();
    assert_eq!(error.code(), "invalid_argument");
    assert!(error.to_string().contains("at least 32 bytes"), "{error}");
    Verifier::from_value(Client::policy(json!(false))).unwrap().set_nonce_secret(&runtime_secret).unwrap();
}

#[test]
fn a_runtime_can_tell_whether_proofs_stay_in_the_process() {
    let doc = vectors();
    let allowed = doc["policies"]["allowed"].clone();
    assert!(Verifier::from_value(allowed.clone()).unwrap().replay_store_in_process());
    let mut shared = allowed.clone();
    shared["replay_store"] = json!({"redis": "redis://127.0.0.1:1/0"});
    assert!(!Verifier::from_value(shared).unwrap().replay_store_in_process(), "Redis is shared");
    let mut no_dpop = allowed;
    no_dpop["issuers"][0].as_object_mut().unwrap().remove("dpop");
    assert!(!Verifier::from_value(no_dpop).unwrap().replay_store_in_process(), "no proofs to remember");
}
