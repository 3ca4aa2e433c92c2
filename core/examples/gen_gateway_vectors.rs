//! Writes the shared gateway vectors (`tests/gateway/gateway.json`): a
//! policy, route requirements, requests, and for each the decision and the
//! exact headers the upstream sees. Every runtime replays them (the core,
//! the CLI, C, Express, Fastify, ASGI, WSGI, FastAPI and a real nginx).
//!
//! Run `cargo run -p jwtgate --example gen_gateway_vectors` after changing a
//! case. HMAC signatures are deterministic, so the file only changes where
//! a case does. Tokens expire in 2100, so runners need no pinned clock.
//!
//! A case's `routes` is a list of route documents, outermost first (Nginx
//! `http` → `server` → `location`, Express `app.use` → router → route);
//! each level only adds. `expect.upstream_headers` maps lower-case header
//! names to the value the upstream must see, or `null` for "absent";
//! `expect.upstream_url` is the request target the upstream must see.

use std::path::Path;

use jwtgate::{Algorithm, Signer, base64url_encode};
use serde_json::{Value, json};

const ISS: &str = "https://idp.gateway.test/";
const FAR: i64 = 4_102_444_800; // 2100-01-01
const SECRET: &[u8; 32] = b"gateway-vectors-secret-32-bytes!";

fn signer() -> Signer {
    Signer::from_secret(Algorithm::HS256, SECRET, None).unwrap()
}

fn token(claims: Value) -> String {
    signer().sign(&claims, None, None).unwrap()
}

fn base() -> Value {
    json!({
        "iss": ISS, "sub": "ada", "aud": "api://gateway", "exp": FAR, "iat": 1_700_000_000,
        "roles": ["user"], "org": {"name": "Acme"}, "name": "Ada", "dept": "IT",
        "scope": "orders:read profile"
    })
}

fn with(changes: Value) -> Value {
    let mut claims = base();
    for (k, v) in changes.as_object().unwrap() {
        if v == &json!("__absent__") {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn payload_of(token: &str) -> String {
    token.split('.').nth(1).unwrap().to_owned()
}

fn policy() -> Value {
    json!({
        "issuers": [{
            "issuer": ISS,
            "audiences": ["api://gateway"],
            "algorithms": ["HS256"],
            "keys": {"hmac_secret": base64url_encode(SECRET)},
            "require": ["exp", "sub"],
            "claims": {"roles": {"contains_any": ["user", "admin"], "required": true}},
            "forward": {
                "claims_to_headers": {"sub": "X-User", "/org/name": "X-Org", "name": "X-Name"},
                "payload_header": "X-JWT-Payload"
            }
        }],
        "token_sources": [
            {"header": "Authorization", "scheme": "Bearer"},
            {"cookie": "access_token"},
            {"query": "access_token"}
        ]
    })
}

/// Headers a client sends to spoof every forwarded name.
fn spoofed() -> Vec<Value> {
    vec![
        json!(["X-User", "admin"]),
        json!(["X_User", "admin"]),
        json!(["X-Org", "evil"]),
        json!(["X-Name", "root"]),
        json!(["X-JWT-Payload", "forged"]),
        json!(["X-Tier", "gold"]),
    ]
}

fn bearer(token: &str) -> Value {
    json!(["Authorization", format!("Bearer {token}")])
}

fn headers(mut list: Vec<Value>, extra: Vec<Value>) -> Value {
    list.extend(extra);
    Value::Array(list)
}

struct Case {
    name: &'static str,
    routes: Value,
    method: &'static str,
    url: String,
    headers: Value,
    expect: Value,
}

fn case(name: &'static str, routes: Value, url: &str, headers: Value, expect: Value) -> Case {
    Case { name, routes, method: "GET", url: url.to_owned(), headers, expect }
}

fn allowed(code: Value, upstream: Value, url: &str) -> Value {
    json!({"allow": true, "status": 200, "code": code, "www_authenticate": null,
           "upstream_headers": upstream, "upstream_url": url})
}

fn rejected(status: u16, code: &str, challenge: &str) -> Value {
    json!({"allow": false, "status": status, "code": code, "www_authenticate": challenge})
}

fn no_identity() -> Value {
    json!({"x-user": null, "x_user": null, "x-org": null, "x-name": null, "x-jwt-payload": null})
}

fn main() {
    let good = token(base());
    let bob = token(with(json!({"sub": "bob"})));
    let no_org = token(with(json!({"org": "__absent__"})));
    let null_sub = token(with(json!({"sub": null})));
    let no_sub = token(with(json!({"sub": "__absent__"})));
    let no_exp = token(with(json!({"exp": "__absent__"})));
    let crlf = token(with(json!({"name": "ada\r\nX-Admin: yes", "org": {"name": "a\nb"}})));
    let nul = token(with(json!({"name": "ada\u{0}root"})));
    let non_ascii = token(with(json!({"name": "José", "org": {"name": "Ünïcode"}})));
    let numeric_name = token(with(json!({"name": 42, "org": {"name": ["a", "b"]}})));
    let expired = token(with(json!({"exp": 1_000_000_000})));
    let no_roles = token(with(json!({"roles": ["guest"]})));
    let hr = token(with(json!({"dept": "HR"})));
    let tier = token(with(json!({"tier": "gold", "scope": "orders:read orders:write"})));
    let scp = token(with(json!({"scope": "__absent__", "scp": ["orders:read", "orders:write"]})));
    let mut forged = good.clone();
    forged.pop();
    forged.push(if good.ends_with('A') { 'B' } else { 'A' });

    let full = json!({"x-user": "ada", "x_user": null, "x-org": "Acme", "x-name": "Ada",
                      "x-jwt-payload": payload_of(&good), "x-tier": "gold"});
    let none = json!([]);
    let cases = vec![
        case(
            "valid bearer token; spoofed forwarded headers are replaced",
            none.clone(),
            "/api/orders?page=2",
            headers(vec![bearer(&good)], spoofed()),
            allowed(Value::Null, full.clone(), "/api/orders?page=2"),
        ),
        case(
            "claim absent: the spoofed header is removed, not kept",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&no_org)], spoofed()),
            allowed(Value::Null, json!({"x-user": "ada", "x-org": null, "x-name": "Ada"}), "/api/orders"),
        ),
        case(
            "CR/LF in claim values: the headers stay absent",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&crlf)], spoofed()),
            allowed(
                Value::Null,
                json!({"x-user": "ada", "x-org": null, "x-name": null, "x-admin": null}),
                "/api/orders",
            ),
        ),
        case(
            "NUL in a claim value: the header stays absent",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&nul)], spoofed()),
            allowed(Value::Null, json!({"x-user": "ada", "x-name": null}), "/api/orders"),
        ),
        case(
            "non-ASCII claim values are not forwarded",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&non_ascii)], spoofed()),
            allowed(Value::Null, json!({"x-user": "ada", "x-org": null, "x-name": null}), "/api/orders"),
        ),
        case(
            "non-string claims are forwarded as compact JSON",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&numeric_name)], spoofed()),
            allowed(
                Value::Null,
                json!({"x-user": "ada", "x-org": "[\"a\",\"b\"]", "x-name": "42"}),
                "/api/orders",
            ),
        ),
        case(
            "missing token",
            none.clone(),
            "/api/orders",
            headers(vec![], spoofed()),
            rejected(401, "missing_token", "Bearer"),
        ),
        case(
            "wrong scheme counts as no token",
            none.clone(),
            "/api/orders",
            headers(vec![json!(["Authorization", format!("Basic {good}")])], vec![]),
            rejected(401, "missing_token", "Bearer"),
        ),
        case(
            "two Authorization headers",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&good), bearer(&bob)], vec![]),
            rejected(
                400,
                "invalid_request",
                "Bearer error=\"invalid_request\", error_description=\"the request has more than one Authorization header\"",
            ),
        ),
        case(
            "two Authorization values joined with a comma (as WSGI servers join repeated headers)",
            none.clone(),
            "/api/orders",
            headers(vec![json!(["Authorization", format!("Bearer {good}, Bearer {bob}")])], vec![]),
            rejected(
                400,
                "invalid_request",
                "Bearer error=\"invalid_request\", error_description=\"the request has more than one Authorization header\"",
            ),
        ),
        case(
            "header and cookie both present: the configured order (header first) decides",
            none.clone(),
            "/api/orders",
            headers(
                vec![json!(["Cookie", format!("theme=dark; access_token={bob}")]), bearer(&good)],
                vec![],
            ),
            allowed(Value::Null, json!({"x-user": "ada"}), "/api/orders"),
        ),
        case(
            "cookie token",
            none.clone(),
            "/api/orders",
            headers(vec![json!(["Cookie", format!("access_token={bob}; theme=dark")])], spoofed()),
            allowed(Value::Null, json!({"x-user": "bob"}), "/api/orders"),
        ),
        case(
            "query token is removed from the upstream URL",
            none.clone(),
            &format!("/api/orders?page=2&access_token={good}&sort=asc"),
            headers(vec![], spoofed()),
            allowed(Value::Null, json!({"x-user": "ada"}), "/api/orders?page=2&sort=asc"),
        ),
        case(
            "a token in the header and another in the query: the header's is used, the query's never reaches the upstream",
            none.clone(),
            &format!("/api/orders?access_token={bob}&page=2"),
            headers(vec![bearer(&good)], vec![]),
            allowed(Value::Null, json!({"x-user": "ada"}), "/api/orders?page=2"),
        ),
        case(
            "another scheme's Authorization value may hold commas (optional mode: no identity)",
            json!([{"mode": "optional"}]),
            "/api/feed",
            headers(vec![json!(["Authorization", "Digest username=\"a\", realm=\"b\""])], spoofed()),
            allowed(Value::Null, no_identity(), "/api/feed"),
        ),
        case(
            "query token kept when the route says so",
            json!([{"keep_query_token": true}]),
            &format!("/api/orders?access_token={good}"),
            headers(vec![], vec![]),
            allowed(Value::Null, json!({"x-user": "ada"}), &format!("/api/orders?access_token={good}")),
        ),
        case(
            "expired token",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&expired)], spoofed()),
            rejected(401, "expired", "Bearer error=\"invalid_token\", error_description=\"token expired\""),
        ),
        case(
            "bad signature",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&forged)], spoofed()),
            rejected(
                401,
                "signature",
                "Bearer error=\"invalid_token\", error_description=\"signature does not verify\"",
            ),
        ),
        case(
            "a required registered claim that is absent is 401 missing_claim",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&no_exp)], vec![]),
            rejected(
                401,
                "missing_claim",
                "Bearer error=\"invalid_token\", error_description=\"claim exp is required\"",
            ),
        ),
        case(
            "a required claim that is null counts as absent",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&null_sub)], vec![]),
            rejected(
                401,
                "missing_claim",
                "Bearer error=\"invalid_token\", error_description=\"claim sub is required\"",
            ),
        ),
        case(
            "a required claim that is absent",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&no_sub)], vec![]),
            rejected(
                401,
                "missing_claim",
                "Bearer error=\"invalid_token\", error_description=\"claim sub is required\"",
            ),
        ),
        case(
            "a policy rule fails: 403",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&no_roles)], spoofed()),
            rejected(
                403,
                "claim",
                "Bearer error=\"insufficient_scope\", error_description=\"claim roles contains none of the required values\"",
            ),
        ),
        case(
            "a route rule fails; quotes in the description become '",
            json!([{"claims": {"dept": {"equals": "IT"}}}]),
            "/api/orders",
            headers(vec![bearer(&hr)], vec![]),
            rejected(
                403,
                "claim",
                "Bearer error=\"insufficient_scope\", error_description=\"claim dept must equal 'IT'\"",
            ),
        ),
        case(
            "route scopes missing: 403 with scope=",
            json!([{"scopes": ["orders:read", "orders:write"]}]),
            "/api/orders",
            headers(vec![bearer(&good)], vec![]),
            rejected(
                403,
                "claim",
                "Bearer error=\"insufficient_scope\", error_description=\"scope orders:write is required\", scope=\"orders:read orders:write\"",
            ),
        ),
        case(
            "route scopes held in scp",
            json!([{"scopes": ["orders:read", "orders:write"]}]),
            "/api/orders",
            headers(vec![bearer(&scp)], vec![]),
            allowed(Value::Null, json!({"x-user": "ada"}), "/api/orders"),
        ),
        case(
            "excluded path: no check, spoofed headers removed",
            json!([{"exclude": ["/health"]}]),
            "/health/live",
            headers(vec![], spoofed()),
            allowed(Value::Null, no_identity(), "/health/live"),
        ),
        case(
            "excluded prefixes are segment-wise",
            json!([{"exclude": ["/health"]}]),
            "/healthz",
            headers(vec![], spoofed()),
            rejected(401, "missing_token", "Bearer"),
        ),
        case(
            "an excluded prefix never covers a path an upstream could normalise elsewhere: /health/../admin",
            json!([{"exclude": ["/health"]}]),
            "/health/../admin",
            headers(vec![], spoofed()),
            rejected(401, "missing_token", "Bearer"),
        ),
        case(
            "an excluded prefix never covers a path an upstream could normalise elsewhere: /health/%2e%2e/admin",
            json!([{"exclude": ["/health"]}]),
            "/health/%2e%2e/admin",
            headers(vec![], spoofed()),
            rejected(401, "missing_token", "Bearer"),
        ),
        case(
            "an excluded prefix never covers a path an upstream could normalise elsewhere: /health/.%2E/admin",
            json!([{"exclude": ["/health"]}]),
            "/health/.%2E/admin",
            headers(vec![], spoofed()),
            rejected(401, "missing_token", "Bearer"),
        ),
        case(
            "an excluded prefix never covers a path an upstream could normalise elsewhere: /health/..%2fadmin",
            json!([{"exclude": ["/health"]}]),
            "/health/..%2fadmin",
            headers(vec![], spoofed()),
            rejected(401, "missing_token", "Bearer"),
        ),
        case(
            "an excluded prefix never covers a path an upstream could normalise elsewhere: /health//../admin",
            json!([{"exclude": ["/health"]}]),
            "/health//../admin",
            headers(vec![], spoofed()),
            rejected(401, "missing_token", "Bearer"),
        ),
        case(
            "an excluded prefix never covers a path an upstream could normalise elsewhere: /health/x/../../admin",
            json!([{"exclude": ["/health"]}]),
            "/health/x/../../admin",
            headers(vec![], spoofed()),
            rejected(401, "missing_token", "Bearer"),
        ),
        case(
            "mode off: no check, spoofed headers removed",
            json!([{"mode": "off"}]),
            "/public",
            headers(vec![bearer(&expired)], spoofed()),
            allowed(Value::Null, no_identity(), "/public"),
        ),
        case(
            "optional mode without a token passes without identity",
            json!([{"mode": "optional"}]),
            "/api/feed",
            headers(vec![], spoofed()),
            allowed(Value::Null, no_identity(), "/api/feed"),
        ),
        case(
            "optional mode still rejects a bad token",
            json!([{"mode": "optional"}]),
            "/api/feed",
            headers(vec![bearer(&expired)], spoofed()),
            rejected(401, "expired", "Bearer error=\"invalid_token\", error_description=\"token expired\""),
        ),
        case(
            "report_only: a failing token is allowed with its code and no identity",
            json!([{"mode": "report_only"}]),
            "/api/orders",
            headers(vec![bearer(&expired)], spoofed()),
            allowed(json!("expired"), no_identity(), "/api/orders"),
        ),
        case(
            "report_only without a token",
            json!([{"mode": "report_only"}]),
            "/api/orders",
            headers(vec![], spoofed()),
            allowed(json!("missing_token"), no_identity(), "/api/orders"),
        ),
        case(
            "three levels: the outer rule still holds when inner levels add others",
            json!([{"claims": {"dept": {"equals": "IT"}}}, {"claims_to_headers": {"tier": "X-Tier"}}, {"scopes": ["orders:read"]}]),
            "/api/orders",
            headers(vec![bearer(&hr)], spoofed()),
            rejected(
                403,
                "claim",
                "Bearer error=\"insufficient_scope\", error_description=\"claim dept must equal 'IT'\"",
            ),
        ),
        case(
            "three levels: headers of every level are set, spoofed copies removed",
            json!([{"claims": {"dept": {"equals": "IT"}}}, {"claims_to_headers": {"tier": "X-Tier"}}, {"scopes": ["orders:write"]}]),
            "/api/orders",
            headers(vec![bearer(&tier)], spoofed()),
            allowed(Value::Null, json!({"x-user": "ada", "x-tier": "gold", "x-org": "Acme"}), "/api/orders"),
        ),
        case(
            "three levels: an inner route's header is removed even when the token lacks the claim",
            json!([{}, {"claims_to_headers": {"tier": "X-Tier"}}, {}]),
            "/api/orders",
            headers(vec![bearer(&good)], spoofed()),
            allowed(Value::Null, json!({"x-user": "ada", "x-tier": null}), "/api/orders"),
        ),
        case(
            "route any_of: one alternative in full is enough",
            json!([{"any_of": [{"roles": {"contains_any": ["admin"]}}, {"scope": {"contains_any": ["orders:write"]}, "dept": {"equals": "IT"}}]}]),
            "/api/orders",
            headers(vec![bearer(&tier)], vec![]),
            allowed(Value::Null, json!({"x-user": "ada"}), "/api/orders"),
        ),
        case(
            "route any_of: no alternative holds, the first one's claim and status answer",
            json!([{"any_of": [{"roles": {"contains_any": ["admin"]}}, {"scope": {"contains_any": ["orders:write"]}}]}]),
            "/api/orders",
            headers(vec![bearer(&good)], vec![]),
            rejected(
                403,
                "claim",
                "Bearer error=\"insufficient_scope\", error_description=\"no any_of alternative holds: claim roles contains none of the required values; claim scope contains none of the required values\"",
            ),
        ),
        case(
            "route any_of: an absent claim satisfies no alternative",
            json!([{"any_of": [{"tier": {"one_of": ["gold"]}}, {"roles": {"contains_any": ["admin"]}}]}]),
            "/api/orders",
            headers(vec![bearer(&good)], vec![]),
            rejected(
                403,
                "claim",
                "Bearer error=\"insufficient_scope\", error_description=\"no any_of alternative holds: claim tier is required; claim roles contains none of the required values\"",
            ),
        ),
        case(
            "route rule with status 401: invalid_token",
            json!([{"claims": {"dept": {"equals": "HR", "status": 401}}}]),
            "/api/orders",
            headers(vec![bearer(&good)], vec![]),
            rejected(
                401,
                "claim",
                "Bearer error=\"invalid_token\", error_description=\"claim dept must equal 'HR'\"",
            ),
        ),
        case(
            "nested any_of groups all hold; the failing group's first alternative answers 401",
            json!([{"any_of": [{"dept": {"equals": "IT"}}]}, {}, {"any_of": [{"level": {"ge": 3, "status": 401}}, {"roles": {"contains_any": ["admin"]}}]}]),
            "/api/orders",
            headers(vec![bearer(&good)], vec![]),
            rejected(
                401,
                "claim",
                "Bearer error=\"invalid_token\", error_description=\"no any_of alternative holds: claim level is required; claim roles contains none of the required values\"",
            ),
        ),
        case(
            "route none_of refuses a scope word; not_equals passes another value",
            json!([{"claims": {"scope": {"none_of": ["profile"]}, "dept": {"not_equals": "HR"}}}]),
            "/api/orders",
            headers(vec![bearer(&good)], vec![]),
            rejected(
                403,
                "claim",
                "Bearer error=\"insufficient_scope\", error_description=\"claim scope holds the refused value 'profile'\"",
            ),
        ),
        case(
            "route bounds and negations hold",
            json!([{"claims": {"iat": {"gt": 1_600_000_000, "le": 1_700_000_000.5}, "dept": {"not_equals": "HR"}, "roles": {"none_of": ["banned"]}}}]),
            "/api/orders",
            headers(vec![bearer(&good)], vec![]),
            allowed(Value::Null, json!({"x-user": "ada"}), "/api/orders"),
        ),
    ];

    let out: Vec<Value> = cases
        .into_iter()
        .map(|c| {
            json!({"name": c.name, "routes": c.routes,
                   "request": {"method": c.method, "url": c.url, "headers": c.headers},
                   "expect": c.expect})
        })
        .collect();
    let doc = json!({
        "description": "Gateway decisions: request in, decision and upstream headers out. See core/examples/gen_gateway_vectors.rs.",
        "policy": policy(),
        "cases": out,
    });
    write("tests/gateway/gateway.json", &doc);
    // The sender-constrained cases stay beside the DPoP vectors until every
    // runtime's runner serves the metadata answer and passes proofs through.
    write("tests/dpop/gateway_dpop.json", &dpop_doc());
}

fn write(name: &str, doc: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap() + "\n").unwrap();
    println!("wrote {}", path.display());
}

/// The DPoP client key: RFC 8037 appendix A's Ed25519 key (deterministic
/// signatures, so the file only changes where a case does).
const CLIENT_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const CLIENT_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RESOURCE: &str = "https://api.gateway.test/api";
const METADATA: &str = "https://api.gateway.test/.well-known/oauth-protected-resource/api";

fn client_public() -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": CLIENT_X})
}

/// A DPoP proof (RFC 9449 section 4.2) by the client key.
fn proof(htm: &str, htu: &str, token: &str, iat: i64, jti: &str) -> String {
    let signer = Signer::from_jwk(
        &json!({"kty": "OKP", "crv": "Ed25519", "d": CLIENT_D, "x": CLIENT_X}),
        Some(Algorithm::EdDSA),
    )
    .unwrap();
    let header = json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": client_public()});
    let ath = base64url_encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()));
    let claims = json!({"jti": jti, "htm": htm, "htu": htu, "iat": iat, "ath": ath});
    let signing_input =
        format!("{}.{}", base64url_encode(header.to_string()), base64url_encode(claims.to_string()));
    let signature = signer.sign_bytes(signing_input.as_bytes()).unwrap();
    format!("{signing_input}.{}", base64url_encode(signature))
}

/// DPoP and protected resource metadata cases that need no pinned clock:
/// every proof here fails before or at its (old) `iat`, so no runtime sees
/// an accepted proof and none depends on the replay store.
fn dpop_doc() -> Value {
    let policy = json!({
        "issuers": [{
            "issuer": ISS,
            "audiences": ["api://gateway"],
            "algorithms": ["HS256"],
            "keys": {"hmac_secret": base64url_encode(SECRET)},
            "forward": {"claims_to_headers": {"sub": "X-User"}},
            "dpop": {"mode": "allowed", "algorithms": ["EdDSA"]}
        }],
        "resource": {"uri": RESOURCE, "scopes_supported": ["orders:read"], "resource_name": "Gateway vectors"}
    });
    let jkt = jwtgate::thumbprint(&client_public());
    let bound = token(with(json!({"cnf": {"jkt": jkt}})));
    let unbound = token(base());
    let old = 1_000_000_000; // 2001: outside any iat window
    let htu = "https://api.gateway.test/api/orders";
    let dpop = |token: &str, proofs: &[String]| {
        let mut list = vec![json!(["Authorization", format!("DPoP {token}")])];
        list.extend(proofs.iter().map(|p| json!(["DPoP", p])));
        Value::Array(list)
    };
    let bearer_challenge = |error: &str| {
        let bearer = if error.is_empty() {
            format!("Bearer resource_metadata=\"{METADATA}\"")
        } else {
            format!("Bearer {error}, resource_metadata=\"{METADATA}\"")
        };
        format!("{bearer}, DPoP algs=\"EdDSA\", resource_metadata=\"{METADATA}\"")
    };
    let dpop_challenge =
        |error: &str| format!("DPoP {error}, algs=\"EdDSA\", resource_metadata=\"{METADATA}\"");
    let metadata = json!({
        "resource": RESOURCE,
        "authorization_servers": [ISS],
        "scopes_supported": ["orders:read"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Gateway vectors",
        "dpop_signing_alg_values_supported": ["EdDSA"],
        "dpop_bound_access_tokens_required": false,
        "tls_client_certificate_bound_access_tokens": false
    });
    let none = json!([]);
    let mut metadata_expect = json!({"allow": false, "status": 200, "code": null, "www_authenticate": null});
    metadata_expect["body"] = metadata;
    let cases = vec![
        case(
            "protected resource metadata (RFC 9728): answered by the gateway, 200, not passed upstream",
            none.clone(),
            "/.well-known/oauth-protected-resource/api",
            json!([]),
            metadata_expect,
        ),
        case(
            "missing token: Bearer and DPoP challenges name the metadata",
            none.clone(),
            "/api/orders",
            json!([]),
            rejected(401, "missing_token", &bearer_challenge("")),
        ),
        case(
            "unbound token as Bearer where DPoP is allowed",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&unbound)], vec![json!(["X-User", "admin"])]),
            allowed(Value::Null, json!({"x-user": "ada"}), "/api/orders"),
        ),
        case(
            "DPoP-bound token sent as Bearer",
            none.clone(),
            "/api/orders",
            headers(vec![bearer(&bound)], vec![]),
            rejected(
                401,
                "dpop_binding",
                &bearer_challenge(
                    "error=\"invalid_token\", error_description=\"a DPoP-bound token (cnf.jkt) must be sent with the DPoP scheme and a proof\"",
                ),
            ),
        ),
        case(
            "DPoP scheme without a DPoP header",
            none.clone(),
            "/api/orders",
            dpop(&bound, &[]),
            rejected(
                401,
                "invalid_dpop_proof",
                &dpop_challenge(
                    "error=\"invalid_dpop_proof\", error_description=\"a DPoP request needs exactly one DPoP header\"",
                ),
            ),
        ),
        case(
            "unbound token sent with the DPoP scheme",
            none.clone(),
            "/api/orders",
            dpop(&unbound, &[proof("GET", htu, &unbound, old, "j1")]),
            rejected(
                401,
                "dpop_binding",
                &dpop_challenge(
                    "error=\"invalid_token\", error_description=\"the token is not DPoP-bound (no cnf.jkt) but was sent with the DPoP scheme\"",
                ),
            ),
        ),
        case(
            "DPoP proof with an old iat",
            none.clone(),
            "/api/orders?page=2",
            dpop(&bound, &[proof("GET", htu, &bound, old, "j2")]),
            rejected(
                401,
                "invalid_dpop_proof",
                &dpop_challenge(
                    "error=\"invalid_dpop_proof\", error_description=\"the proof iat is outside the accepted window\"",
                ),
            ),
        ),
        case(
            "DPoP proof for another method",
            none.clone(),
            "/api/orders",
            dpop(&bound, &[proof("POST", htu, &bound, old, "j3")]),
            rejected(
                401,
                "invalid_dpop_proof",
                &dpop_challenge(
                    "error=\"invalid_dpop_proof\", error_description=\"the proof htm is not the request method\"",
                ),
            ),
        ),
        case(
            "DPoP proof for another URL",
            none.clone(),
            "/api/orders",
            dpop(&bound, &[proof("GET", "https://api.gateway.test/api/admin", &bound, old, "j4")]),
            rejected(
                401,
                "invalid_dpop_proof",
                &dpop_challenge(
                    "error=\"invalid_dpop_proof\", error_description=\"the proof htu is not the request URL\"",
                ),
            ),
        ),
        case(
            "two DPoP headers",
            none,
            "/api/orders",
            dpop(&bound, &[proof("GET", htu, &bound, old, "j5"), proof("GET", htu, &bound, old, "j6")]),
            rejected(
                401,
                "invalid_dpop_proof",
                &dpop_challenge(
                    "error=\"invalid_dpop_proof\", error_description=\"a DPoP request needs exactly one DPoP header\"",
                ),
            ),
        ),
    ];
    let out: Vec<Value> = cases
        .into_iter()
        .map(|c| {
            json!({"name": c.name, "routes": c.routes,
                   "request": {"method": c.method, "url": c.url, "headers": c.headers},
                   "expect": c.expect})
        })
        .collect();
    json!({
        "description": "DPoP and protected resource metadata decisions that need no pinned clock. See core/examples/gen_gateway_vectors.rs.",
        "policy": policy,
        "cases": out,
    })
}
