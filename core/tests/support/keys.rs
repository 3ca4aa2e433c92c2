//! ES256 keys for the tokens a test signs, and the JWKS documents that
//! carry them.

use super::jwks_server::Behavior;

/// An ES256 signing key and its public JWK, for tokens the server's sets verify.
pub struct Key {
    pub signer: jwtgate::Signer,
    pub jwk: serde_json::Value,
}

/// A fresh ES256 key with key id `kid`.
pub fn key(kid: &str) -> Key {
    let generated = jwtgate::generate_key(jwtgate::Algorithm::ES256, Some(kid.into())).unwrap();
    let signer =
        jwtgate::Signer::from_pem(jwtgate::Algorithm::ES256, &generated.private_key, Some(kid.into()))
            .unwrap();
    Key { jwk: generated.public_jwk.unwrap(), signer }
}

/// The JWKS document of `keys`.
pub fn jwks(keys: &[&Key]) -> String {
    serde_json::json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

/// Serves `keys` with a ten-minute `max-age`.
pub fn serve(keys: &[&Key]) -> Behavior {
    Behavior::Serve { body: jwks(keys), max_age: Some(600) }
}
