//! Writes the generated shared vectors (`tests/vectors/{claims,attacks,keys,rules}.json`)
//! from the test keys in `tests/keys/`.
//!
//! Run `cargo run -p jwtgate --example gen_vectors` after changing a case,
//! or `... -- rules.json` for one file.
//! RSA PKCS#1 and HMAC signatures are deterministic; ECDSA, PSS and the
//! random parts differ from run to run, so regenerated files differ in
//! those tokens only.

use std::path::{Path, PathBuf};

use jwtgate::{Algorithm, Signer, base64url_decode, base64url_encode};
use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000;
const ISS_A: &str = "https://idp.example.com/";
const ISS_B: &str = "https://ec.example.com/";
const ISS_C: &str = "https://hmac.example.com/";
const ISS_D: &str = "https://ed.example.com/";

/// An RSA public key whose modulus has 2047 bits (256 bytes: counting bytes
/// would call it 2048 bits).
const RSA_2047_PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
MIIBITANBgkqhkiG9w0BAQEFAAOCAQ4AMIIBCQKCAQBgWmulbzU6BLko0JMb6OIT\n\
X7I5J7gECI6ErrIkn6dvjiYkNm29VXpwkRnWeQ+xCT1/0URuZeeo8D9KvXglYAcL\n\
jaWDNeQoRcXBQQgEgg7xmfcbPq9ChqD7V1Sjk52LbmCBTGyzv7UipkKceaS5hX0W\n\
DpdVGj+WDBvG9OMlBHYozKXuWMjj6dMYqkhNo/QJnlydjvwxL3TXDhr0tk7ZZr10\n\
do3INFlrXLo9H3wGotE3Y7k64rVz5pRMisGy8fTybc2jRkFP5njMOEJlTsJ6zDpy\n\
0PIqPE+3NCGk7ggL7YIzfDQQO0nzeVHNLIcsOQjR9sklAcIfgPF2r6QURFhHQX3t\n\
AgMBAAE=\n\
-----END PUBLIC KEY-----\n";
/// The modulus of [`RSA_2047_PEM`], base64url.
const RSA_2047_N: &str = "YFprpW81OgS5KNCTG-jiE1-yOSe4BAiOhK6yJJ-nb44mJDZtvVV6cJEZ1nkPsQk9f9FEbmXnqPA_Sr14JWAHC42lgzXkKEXFwUEIBIIO8Zn3Gz6vQoag-1dUo5Odi25ggUxss7-1IqZCnHmkuYV9Fg6XVRo_lgwbxvTjJQR2KMyl7ljI4-nTGKpITaP0CZ5cnY78MS901w4a9LZO2Wa9dHaNyDRZa1y6PR98BqLRN2O5OuK1c-aUTIrBsvH08m3No0ZBT-Z4zDhCZU7Cesw6ctDyKjxPtzQhpO4IC-2CM3w0EDtJ83lRzSyHLDkI0fbJJQHCH4Dxdq-kFERYR0F97Q";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn key(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/keys").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn signer(alg: Algorithm, file: &str, kid: Option<&str>) -> Signer {
    Signer::from_pem(alg, &key(file), kid.map(str::to_owned)).unwrap()
}

fn hmac_signer() -> Signer {
    let secret = base64url_decode(key("hs256.secret").trim()).unwrap();
    Signer::from_secret(Algorithm::HS256, &secret, None).unwrap()
}

/// A token from raw header and payload JSON text, signed by `signer`.
fn raw(signer: &Signer, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", base64url_encode(header), base64url_encode(payload));
    let sig = signer.sign_bytes(input.as_bytes()).unwrap();
    format!("{input}.{}", base64url_encode(sig))
}

fn header(alg: &str, kid: Option<&str>) -> String {
    match kid {
        Some(kid) => json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string(),
        None => json!({"alg": alg, "typ": "JWT"}).to_string(),
    }
}

/// The claims of a token that passes every rule of issuer A.
fn good_a() -> Value {
    json!({
        "iss": ISS_A, "sub": "ada_lovelace", "aud": "api://orders",
        "exp": NOW + 600, "iat": NOW - 10, "nbf": NOW - 10,
        "dept": "IT", "roles": ["admin", "dev", "ops"], "internal": true, "bldg": 4
    })
}

fn with(mut base: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

fn policies() -> Value {
    let ec_jwk = with(signer(Algorithm::ES256, "ecp256.pem", Some("ec1")).public_jwk().unwrap(), json!({}));
    json!({
        "gateway": {
            "issuers": [
                {
                    "issuer": ISS_A,
                    "audiences": ["api://orders"],
                    "algorithms": ["RS256"],
                    "keys": {"pem": key("rsa.pub.pem"), "backup_pem": key("rsa2.pub.pem")},
                    "leeway_s": 5,
                    "require": ["exp", "sub"],
                    "max_age_s": 86400,
                    "claims": {
                        "sub": {"regex": "^[A-Za-z0-9_]+$"},
                        "dept": {"equals": "IT", "required": true},
                        "roles": {"contains_all": ["admin", "dev"], "required": true},
                        "internal": {"equals": true, "required": true},
                        "bldg": {"equals": 4}
                    },
                    "forward": {"claims_to_headers": {"sub": "X-User", "/org/name": "X-Org"}, "payload_header": "X-JWT-Payload"}
                },
                {
                    "issuer": ISS_B,
                    "algorithms": ["ES256"],
                    "keys": {"jwks": {"keys": [ec_jwk]}},
                    "typ": "at+jwt",
                    "claims": {
                        "scope": {"contains_any": ["orders:read", "orders:write"], "required": true},
                        "tier": {"one_of": ["gold", "silver", 3]},
                        "/realm_access/roles": {"contains_all": ["user"]},
                        "https://example.com/tenant": {"equals": "acme"}
                    }
                },
                {
                    "issuer": ISS_C,
                    "algorithms": ["HS256"],
                    "keys": {"hmac_secret": key("hs256.secret").trim()},
                    "iat_as_nbf": true
                },
                {
                    "issuer": ISS_D,
                    "algorithms": ["EdDSA"],
                    "keys": {"pem": key("ed25519.pub.pem")}
                }
            ],
            "cache": {"max_entries": 0}
        }
    })
}

fn valid(name: &str, token: String, extra: Value) -> Value {
    let mut expect = json!({"valid": true});
    for (k, v) in extra.as_object().unwrap() {
        expect[k] = v.clone();
    }
    json!({"name": name, "policy": "gateway", "token": token, "now": NOW, "expect": expect})
}

fn invalid(name: &str, token: String, code: &str, claim: Option<&str>) -> Value {
    let expect = match claim {
        Some(c) => json!({"valid": false, "code": code, "claim": c}),
        None => json!({"valid": false, "code": code}),
    };
    json!({"name": name, "policy": "gateway", "token": token, "now": NOW, "expect": expect})
}

fn claims_vectors() -> Vec<Value> {
    let rsa = signer(Algorithm::RS256, "rsa.pem", None);
    let rsa2 = signer(Algorithm::RS256, "rsa2.pem", None);
    let ec = signer(Algorithm::ES256, "ecp256.pem", Some("ec1"));
    let hs = hmac_signer();
    let ed = signer(Algorithm::EdDSA, "ed25519.pem", None);
    let a = |changes: Value| raw(&rsa, &header("RS256", None), &with(good_a(), changes).to_string());
    let b_claims = json!({"iss": ISS_B, "sub": "svc", "scope": "orders:read profile", "exp": NOW + 60,
                          "realm_access": {"roles": ["user", "viewer"]}, "https://example.com/tenant": "acme"});
    let b = |changes: Value, typ: &str| {
        raw(
            &ec,
            &json!({"alg": "ES256", "typ": typ, "kid": "ec1"}).to_string(),
            &with(b_claims.clone(), changes).to_string(),
        )
    };

    let good = a(json!({"org": {"name": "Analytical Engines"}}));
    let payload_b64 = good.split('.').nth(1).unwrap().to_owned();
    let mut v = vec![
        valid(
            "a-all-rules-pass",
            good,
            json!({
                "issuer": ISS_A,
                "claims": with(good_a(), json!({"org": {"name": "Analytical Engines"}})),
                "headers": {"X-User": "ada_lovelace", "X-Org": "Analytical Engines", "X-JWT-Payload": payload_b64}
            }),
        ),
        valid(
            "a-backup-key-verifies",
            raw(&rsa2, &header("RS256", None), &good_a().to_string()),
            json!({"issuer": ISS_A}),
        ),
        valid(
            "a-forwarded-claim-absent-is-skipped",
            a(json!({})),
            json!({"headers": {
            "X-User": "ada_lovelace", "X-JWT-Payload": a(json!({})).split('.').nth(1).unwrap()}}),
        ),
        invalid("a-sub-regex-fails", a(json!({"sub": "ada lovelace"})), "claim", Some("sub")),
        invalid("a-sub-not-a-string-fails-regex", a(json!({"sub": 42})), "claim", Some("sub")),
        invalid("a-dept-differs", a(json!({"dept": "HR"})), "claim", Some("dept")),
        invalid("a-dept-missing-but-required", a(json!({"dept": null})), "claim", Some("dept")),
        invalid("a-roles-missing-one", a(json!({"roles": ["admin", "ops"]})), "claim", Some("roles")),
        valid("a-roles-as-space-delimited-string", a(json!({"roles": "ops admin dev"})), json!({})),
        invalid("a-roles-wrong-type", a(json!({"roles": {"admin": true}})), "claim", Some("roles")),
        invalid("a-internal-string-is-not-bool", a(json!({"internal": "true"})), "claim", Some("internal")),
        invalid("a-bldg-string-is-not-number", a(json!({"bldg": "4"})), "claim", Some("bldg")),
        valid("a-bldg-4.0-equals-4", a(json!({"bldg": 4.0})), json!({})),
        valid("a-bldg-absent-not-required", a(json!({"bldg": null})), json!({})),
        invalid("a-require-sub-missing", a(json!({"sub": null})), "missing_claim", Some("sub")),
        invalid("a-require-exp-missing", a(json!({"exp": null})), "missing_claim", Some("exp")),
        invalid("a-exp-at-leeway-edge-expired", a(json!({"exp": NOW - 5})), "expired", Some("exp")),
        valid("a-exp-inside-leeway", a(json!({"exp": NOW - 4})), json!({})),
        valid("a-exp-fractional", a(json!({"exp": NOW as f64 - 4.5})), json!({})),
        invalid("a-exp-negative", a(json!({"exp": -1})), "expired", Some("exp")),
        valid("a-nbf-at-leeway-edge", a(json!({"nbf": NOW + 5})), json!({})),
        invalid("a-nbf-beyond-leeway", a(json!({"nbf": NOW + 6})), "not_yet_valid", None),
        invalid("a-max-age-exceeded", a(json!({"iat": NOW - 86400 - 6})), "expired", Some("iat")),
        valid("a-max-age-inside-leeway", a(json!({"iat": NOW - 86400 - 5})), json!({})),
        invalid("a-max-age-needs-iat", a(json!({"iat": null})), "missing_claim", Some("iat")),
        invalid("a-exp-string", a(json!({"exp": (NOW + 60).to_string()})), "malformed", Some("exp")),
        invalid("a-exp-bool", a(json!({"exp": true})), "malformed", Some("exp")),
        invalid("a-nbf-array", a(json!({"nbf": [NOW]})), "malformed", Some("nbf")),
        invalid("a-iat-object", a(json!({"iat": {"t": NOW}})), "malformed", Some("iat")),
        invalid("a-aud-missing", a(json!({"aud": null})), "audience", Some("aud")),
        invalid("a-aud-other", a(json!({"aud": "api://billing"})), "audience", Some("aud")),
        valid("a-aud-array-shares-one", a(json!({"aud": ["api://billing", "api://orders"]})), json!({})),
        invalid("a-aud-array-shares-none", a(json!({"aud": ["api://billing"]})), "audience", Some("aud")),
        invalid("a-aud-number", a(json!({"aud": 7})), "audience", Some("aud")),
        invalid("a-aud-array-with-number", a(json!({"aud": ["api://orders", 7]})), "audience", Some("aud")),
        invalid("iss-unknown", a(json!({"iss": "https://evil.example.com/"})), "issuer", Some("iss")),
        invalid("iss-missing-with-several-issuers", a(json!({"iss": null})), "issuer", Some("iss")),
        invalid("iss-not-a-string", a(json!({"iss": 1})), "issuer", Some("iss")),
        invalid(
            "iss-trailing-slash-matters",
            a(json!({"iss": "https://idp.example.com"})),
            "issuer",
            Some("iss"),
        ),
        {
            // CR/LF in a forwarded claim: the token verifies, the header stays absent.
            let token = a(json!({"sub": "ok", "org": {"name": "x\r\nX-Admin: 1"}}));
            let payload = token.split('.').nth(1).unwrap().to_owned();
            valid(
                "a-forward-header-injection-not-forwarded",
                token,
                json!({"headers": {"X-User": "ok", "X-JWT-Payload": payload}}),
            )
        },
        valid("b-es256-with-kid-and-typ", b(json!({}), "at+jwt"), json!({"issuer": ISS_B, "headers": {}})),
        valid("b-typ-with-application-prefix-any-case", b(json!({}), "application/AT+JWT"), json!({})),
        invalid("b-typ-jwt-is-not-an-access-token", b(json!({}), "JWT"), "header", None),
        invalid(
            "b-scope-contains-none",
            b(json!({"scope": "profile email"}), "at+jwt"),
            "claim",
            Some("scope"),
        ),
        invalid("b-scope-missing", b(json!({"scope": null}), "at+jwt"), "claim", Some("scope")),
        valid("b-scope-array", b(json!({"scope": ["orders:write"]}), "at+jwt"), json!({})),
        valid("b-tier-one-of-number", b(json!({"tier": 3}), "at+jwt"), json!({})),
        invalid("b-tier-one-of-type-strict", b(json!({"tier": "3"}), "at+jwt"), "claim", Some("tier")),
        invalid(
            "b-pointer-rule-fails",
            b(json!({"realm_access": {"roles": ["viewer"]}}), "at+jwt"),
            "claim",
            Some("/realm_access/roles"),
        ),
        invalid(
            "b-dotted-claim-name",
            b(json!({"https://example.com/tenant": "other"}), "at+jwt"),
            "claim",
            Some("https://example.com/tenant"),
        ),
        valid("b-no-exp-is-accepted-when-not-required", b(json!({"exp": null}), "at+jwt"), json!({})),
        valid(
            "c-hs256",
            raw(&hs, &header("HS256", None), &json!({"iss": ISS_C, "iat": NOW}).to_string()),
            json!({"issuer": ISS_C}),
        ),
        invalid(
            "c-iat-as-nbf-in-future",
            raw(&hs, &header("HS256", None), &json!({"iss": ISS_C, "iat": NOW + 1}).to_string()),
            "not_yet_valid",
            None,
        ),
        valid(
            "d-eddsa",
            raw(&ed, &header("EdDSA", None), &json!({"iss": ISS_D}).to_string()),
            json!({"issuer": ISS_D, "claims": {"iss": ISS_D}}),
        ),
    ];
    for vector in &mut v {
        vector["description"] = json!("claim engine and registered claims; see the name");
    }
    v.extend(null_audience_and_time_vectors(&rsa, &ec, &hs));
    v.extend(inline_policy_vectors(&hs));
    v
}

/// Issuer A's token with `claims` set as given: unlike [`with`], a `null`
/// stays in the payload as a null claim.
fn with_nulls(changes: Value) -> Value {
    let mut base = good_a();
    for (k, v) in changes.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

/// Null claims are absent, `aud` without configured audiences, `max_age_s`
/// against a future `iat`, and `missing_claim` for what `require` lists.
fn null_audience_and_time_vectors(rsa: &Signer, ec: &Signer, hs: &Signer) -> Vec<Value> {
    let a = |claims: Value| raw(rsa, &header("RS256", None), &claims.to_string());
    let b = |changes: Value| {
        let mut claims = json!({"iss": ISS_B, "sub": "svc", "scope": "orders:read", "exp": NOW + 60});
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        raw(ec, &json!({"alg": "ES256", "typ": "at+jwt", "kid": "ec1"}).to_string(), &claims.to_string())
    };
    let c = |claims: Value| raw(hs, &header("HS256", None), &claims.to_string());
    let org_null = a(with_nulls(json!({"org": {"name": null}})));
    let org_null_payload = org_null.split('.').nth(1).unwrap().to_owned();
    let ten_years = 10 * 365 * 86_400;
    [
        (
            "a-require-sub-null",
            "null does not satisfy require: a null claim is absent (missing_claim, 401)",
            a(with_nulls(json!({"sub": null}))),
            json!({"valid": false, "code": "missing_claim", "claim": "sub"}),
        ),
        (
            "a-require-exp-null",
            "a null exp the issuer requires is missing, not malformed",
            a(with_nulls(json!({"exp": null}))),
            json!({"valid": false, "code": "missing_claim", "claim": "exp"}),
        ),
        (
            "a-dept-null-but-required",
            "null does not satisfy a required rule (claim, 403)",
            a(with_nulls(json!({"dept": null}))),
            json!({"valid": false, "code": "claim", "claim": "dept"}),
        ),
        (
            "a-bldg-null-not-required",
            "a null claim is absent: a rule that does not require it passes",
            a(with_nulls(json!({"bldg": null}))),
            json!({"valid": true}),
        ),
        (
            "a-forwarded-claim-null-is-skipped",
            "a null claim is absent: it is not forwarded",
            org_null,
            json!({"valid": true, "headers": {"X-User": "ada_lovelace", "X-JWT-Payload": org_null_payload}}),
        ),
        (
            "b-scope-null-but-required",
            "null does not satisfy a required rule (claim, 403)",
            b(json!({"scope": null})),
            json!({"valid": false, "code": "claim", "claim": "scope"}),
        ),
        (
            "a-max-age-iat-null",
            "max_age_s needs iat; a null iat is missing (missing_claim, 401)",
            a(with_nulls(json!({"iat": null}))),
            json!({"valid": false, "code": "missing_claim", "claim": "iat"}),
        ),
        (
            "a-max-age-iat-ten-years-ahead",
            "with max_age_s an iat in the future is not yet valid, not forever young",
            a(with_nulls(json!({"iat": NOW + ten_years}))),
            json!({"valid": false, "code": "not_yet_valid"}),
        ),
        (
            "a-max-age-iat-beyond-leeway",
            "with max_age_s an iat beyond now + leeway is not yet valid",
            a(with_nulls(json!({"iat": NOW + 6}))),
            json!({"valid": false, "code": "not_yet_valid"}),
        ),
        (
            "a-max-age-iat-at-leeway-edge",
            "an iat at now + leeway is still valid",
            a(with_nulls(json!({"iat": NOW + 5}))),
            json!({"valid": true}),
        ),
        (
            "b-iat-in-future-without-max-age",
            "without max_age_s or iat_as_nbf, iat is informational",
            b(json!({"iat": NOW + ten_years})),
            json!({"valid": true}),
        ),
        (
            "c-aud-without-audiences",
            "RFC 7519 section 4.1.3: aud present while the issuer lists no audiences is rejected",
            c(json!({"iss": ISS_C, "aud": "api://orders"})),
            json!({"valid": false, "code": "audience", "claim": "aud"}),
        ),
        (
            "c-aud-array-without-audiences",
            "RFC 7519 section 4.1.3: an aud array without configured audiences is rejected",
            c(json!({"iss": ISS_C, "aud": ["api://orders", "api://billing"]})),
            json!({"valid": false, "code": "audience", "claim": "aud"}),
        ),
        (
            "c-aud-null-without-audiences",
            "a null aud is absent",
            c(json!({"iss": ISS_C, "aud": null})),
            json!({"valid": true}),
        ),
    ]
    .into_iter()
    .map(|(name, why, token, expect)| {
        json!({"name": name, "description": why, "policy": "gateway", "token": token, "now": NOW, "expect": expect})
    })
    .collect()
}

/// A single-issuer HS256 policy with `extra` members on the issuer.
fn hs_policy(extra: Value) -> Value {
    let mut issuer = json!({"algorithms": ["HS256"], "keys": {"hmac_secret": key("hs256.secret").trim()}});
    for (k, v) in extra.as_object().unwrap() {
        issuer[k] = v.clone();
    }
    json!({"issuers": [issuer], "cache": {"max_entries": 0}})
}

/// Vectors with their own small HS256 policy: `any_audience` and
/// whole-value `regex` rules.
fn inline_policy_vectors(hs: &Signer) -> Vec<Value> {
    let token = |claims: Value| raw(hs, &header("HS256", None), &claims.to_string());
    let any = hs_policy(json!({"any_audience": true}));
    let role = hs_policy(json!({"claims": {"role": {"regex": "^admin|root$"}}}));
    let fail = |code: &str, claim: &str| json!({"valid": false, "code": code, "claim": claim});
    let cases = [
        (
            "any-audience-accepts-aud",
            "any_audience accepts any aud",
            &any,
            token(json!({"aud": "api://x"})),
            json!({"valid": true}),
        ),
        (
            "any-audience-accepts-aud-array",
            "any_audience accepts any aud",
            &any,
            token(json!({"aud": ["a", "b"]})),
            json!({"valid": true}),
        ),
        (
            "any-audience-accepts-no-aud",
            "any_audience does not require aud",
            &any,
            token(json!({"sub": "x"})),
            json!({"valid": true}),
        ),
        (
            "any-audience-aud-number",
            "aud must still be a string or an array of strings",
            &any,
            token(json!({"aud": 7})),
            fail("audience", "aud"),
        ),
        (
            "regex-whole-value-admin",
            "regex rules match the whole value: ^(?:^admin|root$)$",
            &role,
            token(json!({"role": "admin"})),
            json!({"valid": true}),
        ),
        (
            "regex-whole-value-root",
            "regex rules match the whole value",
            &role,
            token(json!({"role": "root"})),
            json!({"valid": true}),
        ),
        (
            "regex-whole-value-admin-evil",
            "^admin|root$ searched would accept admin-evil; the whole value must match",
            &role,
            token(json!({"role": "admin-evil"})),
            fail("claim", "role"),
        ),
        (
            "regex-whole-value-evil-root",
            "^admin|root$ searched would accept evil-root; the whole value must match",
            &role,
            token(json!({"role": "evil-root"})),
            fail("claim", "role"),
        ),
    ];
    let mut v: Vec<Value> = cases
        .into_iter()
        .map(|(name, why, policy, token, expect)| {
            json!({"name": name, "description": why, "policy": policy, "token": token, "now": NOW, "expect": expect})
        })
        .collect();
    v.push(json!({"name": "policy-any-audience-with-audiences", "description": "any_audience and audiences contradict each other",
        "policy": hs_policy(json!({"any_audience": true, "audiences": ["api://orders"]})),
        "token": token(json!({"aud": "api://orders"})), "now": NOW, "expect": {"valid": false, "code": "policy"}}));
    v
}

/// Claim rule operators, `any_of` and per-rule status, on small HS256
/// policies of their own (deterministic tokens).
fn rule_vectors() -> Vec<Value> {
    let hs = hmac_signer();
    let token = |claims: Value| raw(&hs, &header("HS256", None), &claims.to_string());
    let numbers = hs_policy(json!({"claims": {
        "level": {"ge": 2, "lt": 10},
        "score": {"gt": 0.5, "required": false},
        "big": {"gt": 9_007_199_254_740_992u64, "required": false}
    }}));
    let negations =
        hs_policy(json!({"claims": {"tier": {"not_equals": "trial"}, "roles": {"none_of": ["suspended"]}}}));
    let optional = hs_policy(json!({"claims": {"tier": {"not_equals": "trial", "required": false}}}));
    let any_of = hs_policy(json!({
        "claims": {"sub": {"regex": "[a-z]+"}},
        "any_of": [{"roles": {"contains_any": ["admin"]}}, {"scope": {"contains_any": ["orders:write"]}}]
    }));
    let step_up = hs_policy(json!({"any_of": [
        {"acr": {"equals": "mfa", "status": 401}},
        {"amr": {"contains_any": ["hwk"]}, "auth_level": {"ge": 3}}
    ]}));
    let verified_email =
        hs_policy(json!({"claims": {"email_verified": {"equals": true, "required": true, "status": 401}}}));
    let ok = json!({"valid": true});
    let fail =
        |claim: &str, status: u16| json!({"valid": false, "code": "claim", "claim": claim, "status": status});
    let cases = [
        (
            "number-bounds-hold",
            "ge 2 and lt 10 hold for 2; gt 0.5 for 0.51",
            &numbers,
            json!({"level": 2, "score": 0.51}),
            ok.clone(),
        ),
        (
            "number-float-inside",
            "a float inside integer bounds",
            &numbers,
            json!({"level": 9.99}),
            ok.clone(),
        ),
        ("number-upper-bound", "lt 10 refuses 10", &numbers, json!({"level": 10}), fail("level", 403)),
        ("number-lower-bound", "ge 2 refuses 1.5", &numbers, json!({"level": 1.5}), fail("level", 403)),
        (
            "number-string-fails",
            "\"5\" is not a number: it fails the bound",
            &numbers,
            json!({"level": "5"}),
            fail("level", 403),
        ),
        ("number-bool-fails", "true is not a number", &numbers, json!({"level": true}), fail("level", 403)),
        (
            "number-absent-fails",
            "a bound makes the claim required unless the rule says otherwise",
            &numbers,
            json!({"sub": "x"}),
            fail("level", 403),
        ),
        (
            "number-strict-float",
            "gt 0.5 refuses 0.5",
            &numbers,
            json!({"level": 3, "score": 0.5}),
            fail("score", 403),
        ),
        (
            "number-optional-absent",
            "required false: an absent claim passes the bound",
            &numbers,
            json!({"level": 3}),
            ok.clone(),
        ),
        (
            "number-large-integers-exact",
            "2^53 + 1 > 2^53 compares exactly (a float would call them equal)",
            &numbers,
            json!({"level": 3, "big": 9_007_199_254_740_993u64}),
            ok.clone(),
        ),
        (
            "number-large-integers-equal",
            "2^53 is not greater than 2^53",
            &numbers,
            json!({"level": 3, "big": 9_007_199_254_740_992u64}),
            fail("big", 403),
        ),
        (
            "negation-holds",
            "tier not trial, roles without suspended",
            &negations,
            json!({"tier": "gold", "roles": ["user"]}),
            ok.clone(),
        ),
        (
            "not-equals-refuses",
            "not_equals refuses the value",
            &negations,
            json!({"tier": "trial", "roles": ["user"]}),
            fail("tier", 403),
        ),
        (
            "not-equals-absent",
            "a token without the claim does not pass an exclusion",
            &negations,
            json!({"roles": ["user"]}),
            fail("tier", 403),
        ),
        (
            "not-equals-optional-absent",
            "required false: the policy says the claim is optional",
            &optional,
            json!({"sub": "x"}),
            ok.clone(),
        ),
        (
            "none-of-array-member",
            "none_of refuses an array holding the value",
            &negations,
            json!({"tier": "gold", "roles": ["user", "suspended"]}),
            fail("roles", 403),
        ),
        (
            "none-of-scope-word",
            "none_of refuses a word of a space-delimited string",
            &negations,
            json!({"tier": "gold", "roles": "user suspended"}),
            fail("roles", 403),
        ),
        (
            "none-of-absent",
            "a token without the claim does not pass an exclusion",
            &negations,
            json!({"tier": "gold"}),
            fail("roles", 403),
        ),
        (
            "any-of-first",
            "roles contains admin",
            &any_of,
            json!({"sub": "ada", "roles": ["admin"]}),
            ok.clone(),
        ),
        (
            "any-of-second",
            "scope contains orders:write",
            &any_of,
            json!({"sub": "ada", "scope": "profile orders:write"}),
            ok.clone(),
        ),
        (
            "any-of-none",
            "neither alternative: the first alternative's claim is named",
            &any_of,
            json!({"sub": "ada", "roles": ["user"], "scope": "profile"}),
            fail("roles", 403),
        ),
        (
            "any-of-absent-claims",
            "absent claims satisfy no alternative",
            &any_of,
            json!({"sub": "ada"}),
            fail("roles", 403),
        ),
        (
            "any-of-claims-still-hold",
            "claims hold on top of any_of",
            &any_of,
            json!({"sub": "Ada1", "roles": ["admin"]}),
            fail("sub", 403),
        ),
        (
            "any-of-in-full",
            "the second alternative holds only in full",
            &step_up,
            json!({"amr": ["hwk"], "auth_level": 2}),
            fail("acr", 401),
        ),
        (
            "any-of-second-in-full",
            "every rule of the second alternative holds",
            &step_up,
            json!({"amr": ["pwd", "hwk"], "auth_level": 3}),
            ok.clone(),
        ),
        (
            "any-of-status-401",
            "the first alternative's rule answers 401",
            &step_up,
            json!({"acr": "pwd"}),
            fail("acr", 401),
        ),
        (
            "status-401",
            "a rule with status 401",
            &verified_email,
            json!({"email_verified": false}),
            fail("email_verified", 401),
        ),
        (
            "status-401-absent",
            "a required rule with status 401, claim absent",
            &verified_email,
            json!({"sub": "x"}),
            fail("email_verified", 401),
        ),
    ];
    let mut v: Vec<Value> = cases
        .into_iter()
        .map(|(name, why, policy, claims, expect)| {
            json!({"name": name, "description": why, "policy": policy, "token": token(claims), "now": NOW, "expect": expect})
        })
        .collect();
    let refused = [
        (
            "policy-status-500",
            "a rule's status is 401 or 403",
            json!({"claims": {"a": {"equals": 1, "status": 500}}}),
        ),
        ("policy-bound-not-number", "a bound is a JSON number", json!({"claims": {"a": {"gt": "5"}}})),
        (
            "policy-bounds-empty",
            "gt 5 and lt 3 leave no number",
            json!({"claims": {"a": {"gt": 5, "lt": 3}}}),
        ),
        (
            "policy-none-of-empty",
            "none_of lists at least one value",
            json!({"claims": {"a": {"none_of": []}}}),
        ),
        ("policy-any-of-empty", "an empty any_of is an error, not no requirement", json!({"any_of": []})),
        (
            "policy-any-of-empty-alternative",
            "an alternative without rules would always hold",
            json!({"any_of": [{"a": {"equals": 1}}, {}]}),
        ),
        (
            "policy-any-of-bad-rule",
            "a rule in an alternative is checked as any rule",
            json!({"any_of": [{"a": {"equls": 1}}]}),
        ),
        (
            "policy-any-of-status",
            "status is checked in alternatives too",
            json!({"any_of": [{"a": {"equals": 1, "status": 402}}]}),
        ),
    ];
    for (name, why, issuer) in refused {
        v.push(json!({"name": name, "description": why, "policy": hs_policy(issuer),
            "token": token(json!({"a": 1})), "now": NOW, "expect": {"valid": false, "code": "policy"}}));
    }
    v
}

fn tamper_signature(token: &str) -> String {
    let (rest, sig) = token.rsplit_once('.').unwrap();
    let mut bytes = base64url_decode(sig).unwrap();
    bytes[0] ^= 1;
    format!("{rest}.{}", base64url_encode(bytes))
}

/// DER encoding of a fixed-length ECDSA signature (the form JWS forbids).
fn ecdsa_der(fixed: &[u8]) -> Vec<u8> {
    let int = |x: &[u8]| {
        let x = &x[x.iter().take_while(|b| **b == 0).count()..];
        let mut out = vec![0x02];
        let pad = x.first().is_some_and(|b| b & 0x80 != 0);
        out.push((x.len() + usize::from(pad)) as u8);
        if pad {
            out.push(0);
        }
        out.extend_from_slice(x);
        out
    };
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let body = [int(r), int(s)].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

fn attack_vectors() -> Vec<Value> {
    let rsa = signer(Algorithm::RS256, "rsa.pem", None);
    let ec = signer(Algorithm::ES256, "ecp256.pem", Some("ec1"));
    let claims_a = good_a().to_string();
    let a_with_header = |h: Value| raw(&rsa, &h.to_string(), &claims_a);
    let good = raw(&rsa, &header("RS256", None), &claims_a);
    let parts: Vec<&str> = good.split('.').collect();
    let b_claims = json!({"iss": ISS_B, "scope": "orders:read", "exp": NOW + 60}).to_string();
    let good_ec = raw(&ec, &json!({"alg": "ES256", "typ": "at+jwt", "kid": "ec1"}).to_string(), &b_claims);
    let ec_parts: Vec<&str> = good_ec.split('.').collect();
    let ec_sig = base64url_decode(ec_parts[2]).unwrap();
    let with_sig = |sig: &[u8]| format!("{}.{}.{}", ec_parts[0], ec_parts[1], base64url_encode(sig));
    let unsigned = |alg: &str| format!("{}.{}.", base64url_encode(json!({"alg": alg}).to_string()), parts[1]);
    let hmac_with_public_key = {
        let pem = key("rsa.pub.pem");
        let s = Signer::from_secret(Algorithm::HS256, pem.as_bytes(), None).unwrap();
        raw(&s, &header("HS256", None), &claims_a)
    };
    let nested = format!("{{\"iss\":\"{ISS_A}\",\"x\":{}1{}}}", "[".repeat(40), "]".repeat(40));
    let mut v = vec![
        ("alg-none", unsigned("none"), "algorithm", "alg none never verifies"),
        ("alg-None", unsigned("None"), "algorithm", "case variants of none"),
        ("alg-NONE", unsigned("NONE"), "algorithm", "case variants of none"),
        ("alg-nOnE", unsigned("nOnE"), "algorithm", "case variants of none"),
        (
            "alg-none-with-signature",
            format!("{}.{}.{}", base64url_encode(r#"{"alg":"none"}"#), parts[1], parts[2]),
            "algorithm",
            "none with a stolen signature",
        ),
        ("alg-missing", a_with_header(json!({"typ": "JWT"})), "malformed", "a header must name alg"),
        (
            "alg-fullwidth-unicode",
            a_with_header(json!({"alg": "\u{ff32}S256"})),
            "algorithm",
            "look-alike characters are not RS256",
        ),
        ("alg-with-nul", a_with_header(json!({"alg": "RS256\u{0}"})), "algorithm", "no trailing NUL tricks"),
        (
            "alg-not-allowed-for-issuer",
            a_with_header(json!({"alg": "PS256"})),
            "algorithm",
            "PS256 is not in issuer A's list",
        ),
        (
            "hmac-signed-with-rsa-public-key",
            hmac_with_public_key,
            "algorithm",
            "key confusion: HS256 over the RSA public key PEM",
        ),
        ("ecdsa-r-s-zero", with_sig(&[0u8; 64]), "signature", "psychic signature (CVE-2022-21449)"),
        (
            "ecdsa-der-encoded",
            with_sig(&ecdsa_der(&ec_sig)),
            "signature",
            "JWS ECDSA signatures are raw r||s, never DER",
        ),
        ("ecdsa-short-signature", with_sig(&ec_sig[..63]), "signature", "exact length required"),
        ("ecdsa-tampered", tamper_signature(&good_ec), "signature", "one flipped bit"),
        ("rsa-tampered", tamper_signature(&good), "signature", "one flipped bit"),
        ("rsa-empty-signature", format!("{}.{}.", parts[0], parts[1]), "signature", "empty signature"),
        (
            "payload-swapped",
            format!(
                "{}.{}.{}",
                parts[0],
                base64url_encode(
                    with(good_a(), json!({"dept": "IT", "roles": ["admin","dev","root"]})).to_string()
                ),
                parts[2]
            ),
            "signature",
            "claims changed after signing",
        ),
        (
            "kid-unknown",
            raw(&ec, &json!({"alg": "ES256", "typ": "at+jwt", "kid": "nope"}).to_string(), &b_claims),
            "key_not_found",
            "kid not in the set",
        ),
        (
            "kid-injection-path",
            raw(
                &ec,
                &json!({"alg": "ES256", "typ": "at+jwt", "kid": "../../dev/null"}).to_string(),
                &b_claims,
            ),
            "key_not_found",
            "kid is only ever looked up, never used as a path or query",
        ),
        (
            "kid-right-alg-wrong",
            raw(
                &hmac_signer(),
                &json!({"alg": "HS256", "typ": "at+jwt", "kid": "ec1"}).to_string(),
                &b_claims,
            ),
            "algorithm",
            "HS256 is not allowed for issuer B",
        ),
        (
            "jku-header",
            a_with_header(json!({"alg": "RS256", "jku": "https://evil.example.com/jwks.json"})),
            "header",
            "jku is never fetched without an allow-list",
        ),
        (
            "x5u-header",
            a_with_header(json!({"alg": "RS256", "x5u": "https://evil.example.com/cert.pem"})),
            "header",
            "x5u is never fetched",
        ),
        (
            "embedded-jwk",
            a_with_header(json!({"alg": "RS256", "jwk": {"kty": "oct", "k": "AAAA"}})),
            "header",
            "an embedded key is never trusted",
        ),
        (
            "crit-unknown",
            a_with_header(json!({"alg": "RS256", "crit": ["exp"]})),
            "header",
            "unknown critical extension",
        ),
        (
            "crit-empty",
            a_with_header(json!({"alg": "RS256", "crit": []})),
            "header",
            "crit must not be empty either",
        ),
        (
            "b64-false",
            a_with_header(json!({"alg": "RS256", "b64": false, "crit": ["b64"]})),
            "header",
            "unencoded payloads are refused",
        ),
        (
            "header-duplicate-alg",
            raw(&rsa, r#"{"alg":"none","alg":"RS256"}"#, &claims_a),
            "malformed",
            "duplicate member names in the header",
        ),
        (
            "payload-duplicate-exp",
            raw(
                &rsa,
                &header("RS256", None),
                &format!("{{\"iss\":\"{ISS_A}\",\"exp\":1,\"exp\":{}}}", NOW + 60),
            ),
            "malformed",
            "duplicate member names in the payload",
        ),
        (
            "payload-duplicate-iss-escaped",
            raw(&rsa, &header("RS256", None), &format!("{{\"iss\":\"{ISS_A}\",\"\\u0069ss\":\"{ISS_B}\"}}")),
            "malformed",
            "duplicates are found after unescaping",
        ),
        ("payload-nested-40", raw(&rsa, &header("RS256", None), &nested), "malformed", "nesting bomb"),
        ("header-not-object", raw(&rsa, r#"["RS256"]"#, &claims_a), "malformed", "header must be an object"),
        (
            "payload-not-object",
            raw(&rsa, &header("RS256", None), "\"hello\""),
            "malformed",
            "payload must be an object",
        ),
        (
            "payload-lone-surrogate",
            raw(&rsa, &header("RS256", None), &format!("{{\"iss\":\"{ISS_A}\",\"sub\":\"\\ud800\"}}")),
            "malformed",
            "invalid unicode escapes",
        ),
        (
            "payload-huge-number",
            raw(&rsa, &header("RS256", None), &format!("{{\"iss\":\"{ISS_A}\",\"exp\":1e400}}")),
            "malformed",
            "numbers beyond f64",
        ),
        ("segments-two", format!("{}.{}", parts[0], parts[1]), "malformed", "wrong segment count"),
        ("segments-four", format!("{good}.x"), "malformed", "wrong segment count"),
        (
            "segments-five-jwe",
            format!("{}.{}.{}.{}.{}", parts[0], "a", "b", "c", "d"),
            "malformed",
            "JWE is not accepted",
        ),
        (
            "base64-padding",
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            "malformed",
            "padding is not base64url",
        ),
        (
            "base64-standard-alphabet",
            format!("{}.{}+.{}", parts[0], parts[1], parts[2]),
            "malformed",
            "+ is not base64url",
        ),
        (
            "base64-whitespace",
            format!("{}.{} .{}", parts[0], parts[1], parts[2]),
            "malformed",
            "no whitespace",
        ),
        ("signature-padding", format!("{good}="), "signature", "padding in the signature"),
        ("empty-token", String::new(), "malformed", "nothing at all"),
        (
            "oversized",
            format!("{}.{}.{}", parts[0], "A".repeat(17_000), parts[2]),
            "too_large",
            "checked before any decoding",
        ),
    ]
    .into_iter()
    .map(|(name, token, code, why)| {
        json!({"name": name, "description": why, "policy": "gateway", "token": token, "now": NOW,
               "expect": {"valid": false, "code": code}})
    })
    .collect::<Vec<_>>();
    let bad_policies = [
        (
            "policy-rsa-1024-refused",
            json!({"issuers": [{"algorithms": ["RS256"], "keys": {"pem": key("rsa1024.pub.pem")}}]}),
            "RSA under 2048 bits",
        ),
        (
            "policy-hmac-secret-too-short",
            json!({"issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": base64url_encode([1u8; 31])}}]}),
            "HS256 needs 32 bytes",
        ),
        (
            "policy-hs512-needs-64-bytes",
            json!({"issuers": [{"algorithms": ["HS512"], "keys": {"hmac_secret": base64url_encode([1u8; 32])}}]}),
            "HS512 needs 64 bytes",
        ),
        (
            "policy-alg-none",
            json!({"issuers": [{"algorithms": ["none"], "keys": {"pem": key("rsa.pub.pem")}}]}),
            "none is not an algorithm",
        ),
        (
            "policy-unknown-field",
            json!({"issuers": [{"algorithms": ["RS256"], "keys": {"pem": key("rsa.pub.pem")}, "leway_s": 5}]}),
            "typos are errors",
        ),
        (
            "policy-leeway-too-large",
            json!({"issuers": [{"algorithms": ["RS256"], "keys": {"pem": key("rsa.pub.pem")}, "leeway_s": 301}]}),
            "leeway at most 300",
        ),
        (
            "policy-private-key-as-public",
            json!({"issuers": [{"algorithms": ["RS256"], "keys": {"pem": key("rsa.pem")}}]}),
            "a private key is not a public key",
        ),
        (
            "policy-key-type-fits-no-alg",
            json!({"issuers": [{"algorithms": ["ES256"], "keys": {"pem": key("rsa.pub.pem")}}]}),
            "an RSA key cannot serve ES256",
        ),
        (
            "policy-bad-regex",
            json!({"issuers": [{"algorithms": ["RS256"], "keys": {"pem": key("rsa.pub.pem")}, "claims": {"sub": {"regex": "("}}}]}),
            "regexes compile at load",
        ),
        (
            "policy-two-issuers-one-unnamed",
            json!({"issuers": [
            {"algorithms": ["RS256"], "keys": {"pem": key("rsa.pub.pem")}},
            {"issuer": ISS_B, "algorithms": ["RS256"], "keys": {"pem": key("rsa.pub.pem")}}]}),
            "with several issuers each needs a name",
        ),
    ];
    for (name, policy, why) in bad_policies {
        v.push(json!({"name": name, "description": why, "policy": policy, "token": good, "now": NOW,
                      "expect": {"valid": false, "code": "policy"}}));
    }
    v.extend(more_attack_vectors(&rsa, &good_ec, &ec_sig));
    v.extend(key_refusal_vectors());
    v
}

/// A PEM block (standard base64, 64 columns) of `der`.
fn pem_block(tag: &str, der: &[u8]) -> String {
    let b64: String = base64url_encode(der)
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let padded = format!("{b64}{}", "=".repeat((4 - b64.len() % 4) % 4));
    let lines: Vec<&str> = padded.as_bytes().chunks(64).map(|l| std::str::from_utf8(l).unwrap()).collect();
    format!("-----BEGIN {tag}-----\n{}\n-----END {tag}-----\n", lines.join("\n"))
}

/// Keys that must not load: Ed25519 keys of small order, RSA moduli of
/// 2047 bits, overlong exponents, and JWKs carrying private members.
fn key_refusal_vectors() -> Vec<Value> {
    // The identity point; with it R = identity, S = 0 verifies any payload.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let forged = {
        let input = format!(
            "{}.{}",
            base64url_encode(header("EdDSA", None)),
            base64url_encode(json!({"iss": ISS_D, "sub": "root", "exp": NOW + 600}).to_string())
        );
        format!("{input}.{}", base64url_encode([&identity[..], &[0u8; 32]].concat()))
    };
    let okp = |x: &[u8]| json!({"kty": "OKP", "crv": "Ed25519", "x": base64url_encode(x)});
    let ed_policy = |keys: Value| json!({"issuers": [{"algorithms": ["EdDSA"], "keys": keys}], "cache": {"max_entries": 0}});
    let spki = |raw: &[u8]| {
        let prefix = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
        pem_block("PUBLIC KEY", &[&prefix[..], raw].concat())
    };
    let mut order_8 = base64url_decode("JuiVj8KyJ7BFw_SJ8u-Y8NXfrAXTxjM5sTgCiG1T_AU").unwrap();
    order_8[31] |= 0x80;
    let mut identity_p_plus_1 = [0xffu8; 32];
    identity_p_plus_1[0] = 0xee;
    let mut order_2 = [0xffu8; 32];
    order_2[0] = 0xec;
    order_2[31] = 0x7f;

    let rsa_jwk = signer(Algorithm::RS256, "rsa.pem", Some("r1")).public_jwk().unwrap();
    let rs_policy = |jwk: Value| json!({"issuers": [{"algorithms": ["RS256"], "keys": {"jwks": {"keys": [jwk]}}}], "cache": {"max_entries": 0}});
    let member = |name: &str, value: Value| {
        let mut jwk = rsa_jwk.clone();
        jwk[name] = value;
        jwk
    };
    let mut cases: Vec<(String, &str, Value)> = [
        (
            "policy-ed25519-identity-jwk",
            "Ed25519 identity key (RFC 8032 section 5.1.7): it verifies R = identity, S = 0 over any payload, as this token is",
            ed_policy(json!({"jwks": {"keys": [okp(&identity)]}})),
        ),
        (
            "policy-ed25519-identity-pem",
            "the Ed25519 identity key as SPKI PEM",
            ed_policy(json!({"pem": spki(&identity)})),
        ),
        (
            "policy-ed25519-order-8-jwk",
            "an Ed25519 point of order 8 (x sign bit set)",
            ed_policy(json!({"jwks": {"keys": [okp(&order_8)]}})),
        ),
        (
            "policy-ed25519-order-2-pem",
            "the Ed25519 point of order 2 (y = p - 1)",
            ed_policy(json!({"pem": spki(&order_2)})),
        ),
        (
            "policy-ed25519-noncanonical-identity-jwk",
            "y = p + 1 with the sign bit: a non-canonical encoding of the identity",
            ed_policy(json!({"jwks": {"keys": [okp(&identity_p_plus_1)]}})),
        ),
        (
            "policy-ed25519-order-4-jwk",
            "y = 0: a point of order 4",
            ed_policy(json!({"jwks": {"keys": [okp(&[0u8; 32])]}})),
        ),
        (
            "policy-rsa-2047-bits-pem",
            "a 2047-bit modulus is under 2048 bits, though 256 bytes long",
            json!({"issuers": [{"algorithms": ["RS256"], "keys": {"pem": RSA_2047_PEM}}]}),
        ),
        (
            "policy-rsa-2047-bits-jwk",
            "a 2047-bit modulus is under 2048 bits, though 256 bytes long",
            rs_policy(json!({"kty": "RSA", "n": RSA_2047_N, "e": "AQAB"})),
        ),
        (
            "policy-rsa-jwk-exponent-34-bits",
            "RSA exponents longer than 33 bits are refused",
            rs_policy(member("e", json!(base64url_encode([2, 0, 0, 0, 1])))),
        ),
        (
            "policy-rsa-jwk-exponent-even",
            "RSA exponents must be odd",
            rs_policy(member("e", json!(base64url_encode([1, 0, 0, 0, 0])))),
        ),
    ]
    .into_iter()
    .map(|(name, why, policy)| (name.to_owned(), why, policy))
    .collect();
    for name in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        let why = if name == "k" {
            "k is a private member on any key but oct"
        } else {
            "a verification set holds public keys only"
        };
        cases.push((
            format!("policy-jwk-private-member-{name}"),
            why,
            rs_policy(member(name, json!("AQAB"))),
        ));
    }
    cases.push((
        "policy-jwk-private-member-oth".into(),
        "a verification set holds public keys only",
        rs_policy(member("oth", json!([{"r": "AQAB", "d": "AQAB", "t": "AQAB"}]))),
    ));
    cases.push((
        "policy-jwk-private-member-d-ed25519".into(),
        "an Ed25519 private key in a verification set",
        ed_policy(json!({"jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}})),
    ));
    cases.push((
        "policy-jwk-private-member-d-enc-key".into(),
        "a private key is refused even on a key that would be skipped (use: enc) next to a good one",
        json!({"issuers": [{"algorithms": ["RS256"], "keys": {"jwks": {"keys": [
            with(member("d", json!("AQAB")), json!({"use": "enc", "kid": "enc"})), rsa_jwk]}}}],
            "cache": {"max_entries": 0}}),
    ));
    cases
        .into_iter()
        .map(|(name, why, policy)| {
            json!({"name": name, "description": why, "policy": policy, "token": forged, "now": NOW,
                   "expect": {"valid": false, "code": "policy"}})
        })
        .collect()
}

/// Edge cases found while fuzzing: numbers, look-alike names, curve-order
/// signatures, ignored and nested headers, broken keys and header names.
fn more_attack_vectors(rsa: &Signer, good_ec: &str, ec_sig: &[u8]) -> Vec<Value> {
    let hs = hmac_signer();
    let vector = |name: &str, why: &str, token: String, expect: Value| json!({"name": name, "description": why, "policy": "gateway", "token": token, "now": NOW, "expect": expect});
    let fail = |code: &str, claim: Option<&str>| match claim {
        Some(c) => json!({"valid": false, "code": code, "claim": c}),
        None => json!({"valid": false, "code": code}),
    };
    let mut lookalike = good_a();
    let sub = lookalike.as_object_mut().unwrap().remove("sub").unwrap();
    lookalike["\u{0455}ub"] = sub;
    // The order n of P-256: s = n is out of range.
    let order = base64url_decode("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE").unwrap();
    let ec_parts: Vec<&str> = good_ec.split('.').collect();
    let s_is_order = [&ec_sig[..32], &order[..]].concat();
    let nested_header = format!("{{\"alg\":\"HS256\",\"x\":{}1{}}}", "[".repeat(40), "]".repeat(40));
    let mut v = vec![
        vector(
            "c-exp-null",
            "a NumericDate is a number, never null",
            raw(&hs, &header("HS256", None), &format!("{{\"iss\":\"{ISS_C}\",\"exp\":null}}")),
            fail("malformed", Some("exp")),
        ),
        vector(
            "c-nbf-1e308",
            "huge but finite dates compare as numbers",
            raw(&hs, &header("HS256", None), &format!("{{\"iss\":\"{ISS_C}\",\"nbf\":1e308}}")),
            fail("not_yet_valid", None),
        ),
        vector(
            "a-sub-lookalike",
            "a Cyrillic look-alike is another claim name",
            raw(rsa, &header("RS256", None), &lookalike.to_string()),
            fail("missing_claim", Some("sub")),
        ),
        vector(
            "a-dept-fullwidth",
            "full-width IT is not IT",
            raw(
                rsa,
                &header("RS256", None),
                &with(good_a(), json!({"dept": "\u{ff29}\u{ff34}"})).to_string(),
            ),
            fail("claim", Some("dept")),
        ),
        vector(
            "ecdsa-s-equals-order",
            "s must be below the curve order",
            format!("{}.{}.{}", ec_parts[0], ec_parts[1], base64url_encode(s_is_order)),
            fail("signature", None),
        ),
        vector(
            "x5c-header-ignored",
            "keys come only from the policy; x5c is never used",
            raw(rsa, &json!({"alg": "RS256", "x5c": ["MIIB"]}).to_string(), &good_a().to_string()),
            json!({"valid": true}),
        ),
        vector(
            "header-nested-40",
            "nesting bomb in the header",
            raw(&hs, &nested_header, &json!({"iss": ISS_C}).to_string()),
            fail("malformed", None),
        ),
        vector(
            "alg-lowercase",
            "alg names are case-sensitive",
            raw(rsa, &json!({"alg": "rs256"}).to_string(), &good_a().to_string()),
            fail("algorithm", None),
        ),
    ];
    let mut off_curve = signer(Algorithm::ES256, "ecp256.pem", Some("ec1")).public_jwk().unwrap();
    let mut y = base64url_decode(off_curve["y"].as_str().unwrap()).unwrap();
    y[31] ^= 1;
    off_curve["y"] = json!(base64url_encode(y));
    for (name, why, policy) in [
        (
            "policy-ec-point-off-curve",
            "an EC point must lie on its curve",
            json!({"issuers": [{"algorithms": ["ES256"], "keys": {"jwks": {"keys": [off_curve]}}}]}),
        ),
        (
            "policy-forward-header-name-crlf",
            "header names are checked at load",
            json!({"issuers": [{"algorithms": ["RS256"], "keys": {"pem": key("rsa.pub.pem")},
                             "forward": {"claims_to_headers": {"sub": "X-User\r\nX: 1"}}}]}),
        ),
    ] {
        v.push(json!({"name": name, "description": why, "policy": policy, "token": good_ec, "now": NOW,
                      "expect": {"valid": false, "code": "policy"}}));
    }
    v
}

/// Every algorithm and key format round trip.
fn key_vectors() -> Vec<Value> {
    let mut v = Vec::new();
    let claims = json!({"sub": "k", "exp": NOW + 60}).to_string();
    let cases: [(Algorithm, &str, &str); 13] = [
        (Algorithm::RS256, "rsa.pem", "rsa.pub.pem"),
        (Algorithm::RS384, "rsa.pem", "rsa.pkcs1.pub.pem"),
        (Algorithm::RS512, "rsa.pem", "rsa.cert.pem"),
        (Algorithm::PS256, "rsa.pem", "rsa.pub.pem"),
        (Algorithm::PS384, "rsa.pem", "rsa.pub.pem"),
        (Algorithm::PS512, "rsa.pem", "rsa.pub.pem"),
        (Algorithm::ES256, "ecp256.pem", "ecp256.pub.pem"),
        (Algorithm::ES384, "ecp384.pem", "ecp384.pub.pem"),
        (Algorithm::ES512, "ecp521.pem", "ecp521.pub.pem"),
        (Algorithm::EdDSA, "ed25519.pem", "ed25519.pub.pem"),
        (Algorithm::HS256, "", ""),
        (Algorithm::HS384, "", ""),
        (Algorithm::HS512, "", ""),
    ];
    let secret = base64url_decode(key("hs256.secret").trim()).unwrap();
    for (alg, private, public) in cases {
        let (s, keys) = if private.is_empty() {
            (
                Signer::from_secret(alg, &secret, None).unwrap(),
                json!({"hmac_secret": key("hs256.secret").trim()}),
            )
        } else {
            (signer(alg, private, None), json!({"pem": key(public)}))
        };
        let token = raw(&s, &header(alg.name(), None), &claims);
        let pem_policy =
            json!({"issuers": [{"algorithms": [alg.name()], "keys": keys}], "cache": {"max_entries": 0}});
        v.push(json!({"name": format!("{alg}-{}", if public.is_empty() { "secret" } else { public }),
            "description": "round trip per algorithm and key format", "policy": pem_policy, "token": token, "now": NOW,
            "expect": {"valid": true, "claims": serde_json::from_str::<Value>(&claims).unwrap()}}));
        v.push(json!({"name": format!("{alg}-tampered"), "description": "one flipped bit",
            "policy": pem_policy, "token": tamper_signature(&token), "now": NOW, "expect": {"valid": false, "code": "signature"}}));
        // The same key as a JWKS with kid, use and alg.
        let jwk = match s.public_jwk() {
            Some(jwk) => jwk,
            None => {
                json!({"kty": "oct", "k": key("hs256.secret").trim(), "alg": alg.name(), "kid": "hs", "use": "sig"})
            }
        };
        let kid = jwk["kid"].as_str().unwrap().to_owned();
        let jwks_policy = json!({"issuers": [{"algorithms": [alg.name()], "keys": {"jwks": {"keys": [
            {"kty": "RSA", "use": "enc", "kid": "enc-key", "n": "AQAB", "e": "AQAB"},
            jwk
        ]}}}], "cache": {"max_entries": 0}});
        let kid_token = raw(&s, &header(alg.name(), Some(&kid)), &claims);
        v.push(
            json!({"name": format!("{alg}-jwks-kid"), "description": "JWKS with kid; the enc key is skipped",
            "policy": jwks_policy, "token": kid_token, "now": NOW, "expect": {"valid": true}}),
        );
        v.push(json!({"name": format!("{alg}-jwks-no-kid-in-token"), "description": "no kid: keys of the right type are tried",
            "policy": jwks_policy, "token": token, "now": NOW, "expect": {"valid": true}}));
    }
    // key_ops without verify and alg mismatch mean the key is not used.
    let ec = signer(Algorithm::ES256, "ecp256.pem", Some("ec1"));
    let mut jwk = ec.public_jwk().unwrap();
    jwk["key_ops"] = json!(["sign"]);
    let token = raw(&ec, &header("ES256", Some("ec1")), &claims);
    v.push(json!({"name": "jwks-key-ops-without-verify", "description": "a key whose key_ops lack verify is not used",
        "policy": {"issuers": [{"algorithms": ["ES256"], "keys": {"jwks": {"keys": [jwk]}}}]},
        "token": token, "now": NOW, "expect": {"valid": false, "code": "policy"}}));
    v
}

fn write(name: &str, description: &str, vectors: Vec<Value>, with_policies: bool) {
    let mut file = json!({"description": description, "vectors": vectors});
    if with_policies {
        file["policies"] = policies();
    }
    let path = root().join("tests/vectors").join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap() + "\n").unwrap();
    eprintln!("wrote {}", path.display());
}

fn main() {
    // `-- rules.json` writes that file only (the others hold ECDSA and PSS
    // tokens that change on every run).
    let only: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if wanted("rules.json") {
        write(
            "rules.json",
            "Claim rule operators (bounds, negations), any_of alternatives and per-rule status.",
            rule_vectors(),
            false,
        );
    }
    if !only.is_empty() {
        return;
    }
    write(
        "claims.json",
        "Claim rules, registered claims, issuers, audiences, time and forwarding.",
        claims_vectors(),
        true,
    );
    write(
        "attacks.json",
        "RFC 8725 and known JWT attacks, and policies that must not load.",
        attack_vectors(),
        true,
    );
    write(
        "keys.json",
        "Every algorithm and key format: PEM (SPKI, PKCS#1, X.509), JWKS with kid, HMAC.",
        key_vectors(),
        false,
    );
}
