//! `NativeSigner` and `generateKey`: issuing tokens, for tests and small
//! identity services.

use napi::bindgen_prelude::Buffer;
use napi::{Error, Result, Status};
use napi_derive::napi;

use crate::errors::{throw, type_error};

fn algorithm(name: &str) -> Result<jwtgate::Algorithm> {
    name.parse().map_err(|e: jwtgate::UnknownAlgorithm| Error::new(Status::InvalidArg, e.to_string()))
}

/// Signs tokens with one private key.
#[napi]
pub struct NativeSigner {
    inner: jwtgate::Signer,
}

impl NativeSigner {
    /// Wraps a core signer; `typ` sets the header `typ` (defaults to `JWT`).
    fn new(inner: jwtgate::Signer, typ: Option<String>) -> NativeSigner {
        NativeSigner {
            inner: match typ {
                Some(typ) => inner.with_typ(typ),
                None => inner,
            },
        }
    }
}

#[napi]
impl NativeSigner {
    /// A signer for a private key in PEM (PKCS#8, PKCS#1 RSA or SEC1 EC).
    #[napi(factory, catch_unwind)]
    pub fn from_pem(
        alg: String,
        pem: String,
        kid: Option<String>,
        typ: Option<String>,
    ) -> Result<NativeSigner> {
        let alg = algorithm(&alg)?;
        jwtgate::Signer::from_pem(alg, &pem, kid).map(|s| NativeSigner::new(s, typ)).map_err(|e| throw(&e))
    }

    /// A signer for an HMAC secret (raw bytes).
    #[napi(factory, catch_unwind)]
    pub fn from_secret(
        alg: String,
        secret: Buffer,
        kid: Option<String>,
        typ: Option<String>,
    ) -> Result<NativeSigner> {
        let alg = algorithm(&alg)?;
        jwtgate::Signer::from_secret(alg, &secret, kid)
            .map(|s| NativeSigner::new(s, typ))
            .map_err(|e| throw(&e))
    }

    /// A signer for a private JWK (JSON text); `alg` defaults to the JWK's.
    #[napi(factory, catch_unwind)]
    pub fn from_jwk(jwk: String, alg: Option<String>, typ: Option<String>) -> Result<NativeSigner> {
        let jwk: serde_json::Value =
            jwtgate::json::parse_strict(&jwk).map_err(|e| type_error(format!("jwk is not JSON: {e}")))?;
        let alg = alg.as_deref().map(algorithm).transpose()?;
        jwtgate::Signer::from_jwk(&jwk, alg).map(|s| NativeSigner::new(s, typ)).map_err(|e| throw(&e))
    }

    /// The signing algorithm.
    #[napi(getter)]
    pub fn algorithm(&self) -> String {
        self.inner.algorithm().name().to_owned()
    }

    /// The key id put in every token's header.
    #[napi(getter)]
    pub fn kid(&self) -> Option<String> {
        self.inner.kid().map(str::to_owned)
    }

    /// Signs claims (JSON text of an object). With `lifetime_s`, sets `iat`
    /// and `exp`; `now` pins the clock.
    #[napi(catch_unwind)]
    pub fn sign(&self, claims: String, lifetime_s: Option<f64>, now: Option<f64>) -> Result<String> {
        let claims: serde_json::Value =
            serde_json::from_str(&claims).map_err(|e| type_error(format!("claims are not JSON: {e}")))?;
        let lifetime = match lifetime_s {
            None => None,
            Some(l) if l.is_finite() && l >= 0.0 => Some(l as u64),
            Some(_) => return Err(type_error("lifetimeS must be a non-negative number of seconds")),
        };
        if now.is_some_and(|n| !n.is_finite()) {
            return Err(type_error("now must be a finite number of unix seconds"));
        }
        self.inner.sign(&claims, lifetime, now).map_err(|e| throw(&e))
    }

    /// Signs an arbitrary JWS signing input; returns the raw signature.
    #[napi(catch_unwind)]
    pub fn sign_bytes(&self, message: Buffer) -> Result<Buffer> {
        self.inner.sign_bytes(&message).map(Buffer::from).map_err(|e| throw(&e))
    }

    /// The public JWK as JSON text; `null` for HMAC.
    #[napi]
    pub fn public_jwk_json(&self) -> Option<String> {
        self.inner.public_jwk().map(|j| j.to_string())
    }
}

/// A freshly generated key.
#[napi(object)]
pub struct GeneratedKey {
    /// The algorithm it is for.
    pub algorithm: String,
    /// Its key id (the RFC 7638 thumbprint unless one was given).
    pub kid: String,
    /// PKCS#8 PEM, or for HMAC the secret as base64url.
    pub private_key: String,
    /// The public JWK as JSON text (`null` for HMAC).
    pub public_jwk: Option<String>,
}

/// Generates a key for `alg`.
#[napi(catch_unwind)]
pub fn generate_key(alg: String, kid: Option<String>) -> Result<GeneratedKey> {
    let alg = algorithm(&alg)?;
    let key = jwtgate::generate_key(alg, kid).map_err(|e| throw(&e))?;
    Ok(GeneratedKey {
        algorithm: key.algorithm.name().to_owned(),
        kid: key.kid,
        private_key: key.private_key,
        public_jwk: key.public_jwk.map(|j| j.to_string()),
    })
}
