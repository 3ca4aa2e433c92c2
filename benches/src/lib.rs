//! Shared setup of the core benchmarks: one typical gateway token per
//! algorithm, signed with a freshly generated key, and every contender
//! ready to verify it (keys parsed once, outside any timed loop).
//!
//! Used by the criterion benches (`benches/verify.rs`) and by the `profile`
//! binary, which runs one contender in a loop for callgrind or perf.

mod clock;

pub use clock::BenchClock;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use jsonwebtoken::{DecodingKey, Validation};
use jwtgate::{Algorithm, Signer, Verifier, base64url_decode, generate_key};
use serde::Deserialize;
use serde_json::{Value, json};

/// The `iss` of the benchmark token.
pub const ISSUER: &str = "https://idp.example.com/";
/// The `aud` of the benchmark token.
pub const AUDIENCE: &str = "api://orders";
/// Lifetime of the benchmark token, seconds.
pub const LIFETIME_S: u64 = 3600;

/// The algorithms benchmarked, with jsonwebtoken's name for each.
pub const ALGS: [(Algorithm, jsonwebtoken::Algorithm); 6] = [
    (Algorithm::RS256, jsonwebtoken::Algorithm::RS256),
    (Algorithm::PS256, jsonwebtoken::Algorithm::PS256),
    (Algorithm::ES256, jsonwebtoken::Algorithm::ES256),
    (Algorithm::ES384, jsonwebtoken::Algorithm::ES384),
    (Algorithm::EdDSA, jsonwebtoken::Algorithm::EdDSA),
    (Algorithm::HS256, jsonwebtoken::Algorithm::HS256),
];

/// The claims jsonwebtoken deserializes: everything in the token, as a
/// typed struct the way its users write it.
#[derive(Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub nbf: u64,
    pub tenant: String,
    pub scope: String,
    pub roles: Vec<String>,
}

/// The signature floor: the key as aws-lc-rs holds it, parsed once.
pub enum RawKey {
    /// RSA, ECDSA or Ed25519.
    Public(ParsedPublicKey),
    /// HMAC.
    Hmac(Box<hmac::Key>),
}

impl RawKey {
    /// Whether `sig` is a valid signature of `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            RawKey::Public(key) => key.verify_sig(message, sig).is_ok(),
            RawKey::Hmac(key) => hmac::verify(key, message, sig).is_ok(),
        }
    }
}

/// One algorithm's token, its verifiers and keys.
pub struct Case {
    /// The algorithm.
    pub alg: Algorithm,
    /// The signed token.
    pub token: String,
    /// The fixed `now` given to jwtgate, inside the token's window.
    pub now: f64,
    /// The signature floor.
    pub raw_key: RawKey,
    /// jwtgate with the verified-token cache off.
    pub jwtgate: Verifier,
    /// jwtgate with the cache on.
    pub jwtgate_cached: Verifier,
    /// jsonwebtoken's key, built once.
    pub jwt_key: DecodingKey,
    /// The signer of the token (for more tokens under the same key).
    pub signer: Signer,
    /// The policy's `keys` member that trusts the signer.
    pub keys: Value,
    /// When the token was issued (unix seconds).
    pub issued: f64,
    /// jsonwebtoken's validation, equivalent to the jwtgate policy.
    pub jwt_validation: Validation,
}

fn b64(jwk: &Value, member: &str) -> Vec<u8> {
    base64url_decode(jwk[member].as_str().expect("JWK member")).expect("base64url JWK member")
}

/// The claims of the benchmark token, valid from `issued` (unix seconds).
pub fn claims(issued: f64) -> Value {
    json!({
        "iss": ISSUER,
        "sub": "user_4711",
        "aud": AUDIENCE,
        "nbf": issued as u64,
        "tenant": "acme",
        "scope": "orders:read orders:write profile",
        "roles": ["admin", "dev"]
    })
}

/// The benchmark policy for `alg` with these `keys` and cache size.
pub fn policy(alg: Algorithm, keys: Value, cache_entries: usize) -> Value {
    json!({
        "issuers": [{
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "algorithms": [alg.name()],
            "keys": keys,
            "claims": {"tenant": {"equals": "acme"}}
        }],
        "cache": {"max_entries": cache_entries}
    })
}

impl Case {
    /// Generates a key for `alg`, signs the token and builds every contender.
    pub fn new(alg: Algorithm, jwt_alg: jsonwebtoken::Algorithm) -> Case {
        let generated = generate_key(alg, Some(format!("bench-{}", alg.name()))).expect("generate key");
        // Real time, so jsonwebtoken (which reads the system clock) sees a
        // valid token too; jwtgate gets a fixed `now` inside the window.
        let issued = jwtgate::unix_now().floor();
        let now = issued + 10.0;
        let claims = claims(issued);

        let (signer, raw_key, keys, jwt_key) = match &generated.public_jwk {
            None => {
                let secret = base64url_decode(&generated.private_key).expect("secret");
                let signer = Signer::from_secret(alg, &secret, None).expect("HMAC signer");
                let raw = RawKey::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, &secret)));
                let keys = json!({"hmac_secret": generated.private_key});
                (signer, raw, keys, DecodingKey::from_secret(&secret))
            }
            Some(jwk) => {
                let signer = Signer::from_pem(alg, &generated.private_key, Some(generated.kid.clone()))
                    .expect("signer");
                let s = |m: &str| jwk[m].as_str().expect("JWK member");
                let (parsed, jwt_key) = match jwk["kty"].as_str() {
                    Some("RSA") => {
                        let (n, e) = (b64(jwk, "n"), b64(jwk, "e"));
                        let params = if alg == Algorithm::RS256 {
                            &signature::RSA_PKCS1_2048_8192_SHA256
                        } else {
                            &signature::RSA_PSS_2048_8192_SHA256
                        };
                        let components = RsaPublicKeyComponents { n: &n[..], e: &e[..] };
                        let parsed = components.to_parsed_public_key(params).expect("RSA key");
                        (parsed, DecodingKey::from_rsa_components(s("n"), s("e")).expect("jsonwebtoken RSA"))
                    }
                    Some("EC") => {
                        let mut point = vec![4u8];
                        point.extend(b64(jwk, "x"));
                        point.extend(b64(jwk, "y"));
                        let verification = if alg == Algorithm::ES256 {
                            &signature::ECDSA_P256_SHA256_FIXED
                        } else {
                            &signature::ECDSA_P384_SHA384_FIXED
                        };
                        let parsed = ParsedPublicKey::new(verification, &point).expect("EC key");
                        (parsed, DecodingKey::from_ec_components(s("x"), s("y")).expect("jsonwebtoken EC"))
                    }
                    _ => {
                        let parsed =
                            ParsedPublicKey::new(&signature::ED25519, b64(jwk, "x")).expect("Ed key");
                        (parsed, DecodingKey::from_ed_components(s("x")).expect("jsonwebtoken Ed"))
                    }
                };
                (signer, RawKey::Public(parsed), json!({"jwks": {"keys": [jwk]}}), jwt_key)
            }
        };

        let token = signer.sign(&claims, Some(LIFETIME_S), Some(issued)).expect("sign");
        let jwtgate = Verifier::from_value(policy(alg, keys.clone(), 0)).expect("policy");
        let jwtgate_cached = Verifier::from_value(policy(alg, keys.clone(), 10_000)).expect("policy");

        let mut jwt_validation = Validation::new(jwt_alg);
        jwt_validation.leeway = 0;
        jwt_validation.validate_nbf = true;
        jwt_validation.set_issuer(&[ISSUER]);
        jwt_validation.set_audience(&[AUDIENCE]);
        jwt_validation.set_required_spec_claims(&["exp", "iss", "aud"]);

        let case = Case {
            alg,
            token,
            now,
            raw_key,
            jwtgate,
            jwtgate_cached,
            jwt_key,
            jwt_validation,
            signer,
            keys,
            issued,
        };
        case.check();
        case
    }

    /// Every contender accepts the token (and rejects a tampered one), so
    /// the benchmark times real work.
    pub fn check(&self) {
        let (message, sig) = self.split();
        assert!(self.raw_key.verify(message, &sig), "{}: raw verify", self.alg);
        let verified = self.jwtgate.verify(&self.token, Some(self.now)).expect("jwtgate verify");
        assert_eq!(verified.claims()["tenant"], "acme");
        self.jwtgate_cached.verify(&self.token, Some(self.now)).expect("jwtgate verify");
        assert_eq!(self.jwtgate_cached.cached_tokens(), 1, "{}: token cached", self.alg);
        assert!(self.jsonwebtoken().expect("jsonwebtoken decode"), "{}: jsonwebtoken", self.alg);

        let mut tampered = self.token.clone().into_bytes();
        let last = tampered.len() - 5;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ASCII");
        let err = self.jwtgate.verify(&tampered, Some(self.now)).expect_err("tampered token");
        assert_eq!(err.code(), "signature", "{}: tampered token", self.alg);
        assert!(jsonwebtoken::decode::<Claims>(&tampered, &self.jwt_key, &self.jwt_validation).is_err());
        assert!(self.jwtgate.verify(&self.token, Some(self.now + LIFETIME_S as f64)).is_err());
    }

    /// The signing input and the decoded signature.
    pub fn split(&self) -> (&[u8], Vec<u8>) {
        let dot = self.token.rfind('.').expect("three segments");
        (&self.token.as_bytes()[..dot], base64url_decode(&self.token[dot + 1..]).expect("signature"))
    }

    /// jsonwebtoken's decode plus the custom rule the jwtgate policy has.
    pub fn jsonwebtoken(&self) -> Result<bool, jsonwebtoken::errors::Error> {
        let data = jsonwebtoken::decode::<Claims>(&self.token, &self.jwt_key, &self.jwt_validation)?;
        Ok(data.claims.tenant == "acme")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every contender of every case accepts its token and jwtgate rejects
    /// a tampered one (`Case::check` panics otherwise), so the benches time
    /// real verifications.
    #[test]
    fn every_case_verifies_its_token() {
        for (alg, jwt_alg) in ALGS {
            let case = Case::new(alg, jwt_alg);
            let (message, sig) = case.split();
            let mut bad = sig.clone();
            bad[0] ^= 1;
            assert!(!case.raw_key.verify(message, &bad), "{alg}: raw check accepts a bad signature");
        }
    }
}
