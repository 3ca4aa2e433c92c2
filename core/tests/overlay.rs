//! Per-route additions: extra rules hold together with the policy's, the
//! derived verifier shares the original's keys, and bad overlays are
//! policy errors.

use jwtgate::{Algorithm, ErrorKind, PolicyOverlay, Signer, Verifier, base64url_encode};
use serde_json::json;

const NOW: f64 = 1_700_000_000.0;
const SECRET: [u8; 32] = [5; 32];

fn base() -> Verifier {
    Verifier::from_value(json!({
        "issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": base64url_encode(SECRET)},
                     "claims": {"roles": {"contains_all": ["user"], "required": true}},
                     "forward": {"claims_to_headers": {"sub": "X-User"}}}],
        "cache": {"max_entries": 0}
    }))
    .unwrap()
}

fn token(claims: serde_json::Value) -> String {
    Signer::from_secret(Algorithm::HS256, &SECRET, None).unwrap().sign(&claims, None, None).unwrap()
}

#[test]
fn extra_rules_hold_together_with_the_policys() {
    let v = base();
    let route = v
        .with_claims(json!({"subscribedAPIs": {"contains_all": ["orders"], "required": true},
                                     "roles": {"contains_all": ["admin"]}}))
        .unwrap();
    let both =
        token(json!({"sub": "a", "roles": ["user", "admin"], "subscribedAPIs": ["orders", "billing"]}));
    assert!(route.verify(&both, Some(NOW)).is_ok());
    let no_sub = token(json!({"sub": "a", "roles": ["user", "admin"], "subscribedAPIs": ["billing"]}));
    let e = route.verify(&no_sub, Some(NOW)).unwrap_err();
    assert_eq!((e.kind(), e.http_status(), e.claim()), (ErrorKind::Claim, Some(403), Some("subscribedAPIs")));
    // The route's roles rule and the policy's both hold.
    let not_admin = token(json!({"sub": "a", "roles": ["user"], "subscribedAPIs": ["orders"]}));
    assert_eq!(route.verify(&not_admin, Some(NOW)).unwrap_err().claim(), Some("roles"));
    let not_user = token(json!({"sub": "a", "roles": ["admin"], "subscribedAPIs": ["orders"]}));
    assert_eq!(route.verify(&not_user, Some(NOW)).unwrap_err().claim(), Some("roles"));
    // The original verifier is unchanged.
    assert!(v.verify(&no_sub, Some(NOW)).is_ok());
    // The derived document keeps both rules, so it compiles to the same policy.
    let claims = &route.policy().doc().issuers[0].claims;
    assert!(claims.contains_key("roles") && claims.contains_key("/roles"), "{claims:?}");
}

#[test]
fn overlays_add_forwarded_headers_and_refuse_conflicts() {
    let v = base();
    let overlay = PolicyOverlay::from_value(
        json!({"claims_to_headers": {"/org/id": "X-Org"}, "payload_header": "X-JWT"}),
    )
    .unwrap();
    let route = v.with_overlay(&overlay).unwrap();
    let t = token(json!({"sub": "a", "roles": ["user"], "org": {"id": 7}}));
    let verified = route.verify(&t, Some(NOW)).unwrap();
    // The merged document's order: claims by name (`/org/id` before
    // `sub`), then the payload header; the same as compiling that document.
    let names: Vec<&str> = verified.headers().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["X-Org", "X-User", "X-JWT"]);
    assert_eq!(verified.headers()[0].1, "7");
    let again = Verifier::new(jwtgate::Policy::from_doc(route.policy().doc().clone(), None).unwrap());
    assert_eq!(again.verify(&t, Some(NOW)).unwrap().headers(), verified.headers());

    let clash = PolicyOverlay::from_value(json!({"claims_to_headers": {"name": "x-user"}})).unwrap();
    assert_eq!(v.with_overlay(&clash).unwrap_err().kind(), ErrorKind::Policy);
    let payload = PolicyOverlay::from_value(json!({"payload_header": "X-A"})).unwrap();
    let other = PolicyOverlay::from_value(json!({"payload_header": "X-B"})).unwrap();
    let with_payload = v.with_overlay(&payload).unwrap();
    assert!(with_payload.with_overlay(&payload).is_ok(), "the same payload header again");
    assert_eq!(with_payload.with_overlay(&other).unwrap_err().kind(), ErrorKind::Policy);
    let bad_name = PolicyOverlay::from_value(json!({"claims_to_headers": {"a": "X Bad"}})).unwrap();
    assert!(v.with_overlay(&bad_name).unwrap_err().message().contains("not a header name"));
    let typo = PolicyOverlay::from_value(json!({"claim": {}})).unwrap_err();
    assert!(typo.message().contains("claim"), "{typo}");
    assert_eq!(v.with_claims(json!({"x": {"regex": "("}})).unwrap_err().kind(), ErrorKind::Policy);
    assert_eq!(v.with_claims(json!({"x": {"equal": 1}})).unwrap_err().kind(), ErrorKind::Policy);
    assert_eq!(v.with_claims(json!(["x"])).unwrap_err().kind(), ErrorKind::Policy);
}

#[test]
fn overlay_any_of_and_operators_hold_with_the_policys_rules() {
    let v = base();
    let overlay = PolicyOverlay::from_value(json!({
        "claims": {"level": {"ge": 2, "status": 401}},
        "any_of": [{"roles": {"contains_any": ["admin"]}}, {"scope": {"contains_any": ["orders:write"]}}]
    }))
    .unwrap();
    let route = v.with_overlay(&overlay).unwrap();
    let ok = token(json!({"sub": "a", "roles": ["user"], "level": 2, "scope": "orders:write"}));
    assert!(route.verify(&ok, Some(NOW)).is_ok());
    let neither = token(json!({"sub": "a", "roles": ["user"], "level": 2}));
    let e = route.verify(&neither, Some(NOW)).unwrap_err();
    assert_eq!((e.claim(), e.http_status()), (Some("roles"), Some(403)));
    let low = token(json!({"sub": "a", "roles": ["user", "admin"], "level": 1.5}));
    let e = route.verify(&low, Some(NOW)).unwrap_err();
    assert_eq!((e.claim(), e.http_status()), (Some("level"), Some(401)));
    assert!(e.www_authenticate().starts_with("Bearer error=\"invalid_token\""), "{}", e.www_authenticate());
    // The policy's own rule still holds, and the derived document carries any_of.
    let not_user = token(json!({"sub": "a", "roles": ["admin"], "level": 3}));
    assert_eq!(route.verify(&not_user, Some(NOW)).unwrap_err().claim(), Some("roles"));
    assert!(route.policy().doc().issuers[0].any_of.is_some());
    // A policy document holds one group per issuer: a second one is refused
    // with a pointer to routes, which take any number.
    let again = route.with_overlay(&overlay).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Policy);
    assert!(again.message().contains("any_of"), "{}", again.message());
}
