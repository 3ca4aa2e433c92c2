//! Verification keys: parsed once when a policy or key set loads, never per
//! token.
//!
//! A [`VerifyKey`] holds one ready aws-lc-rs key object per algorithm the
//! issuer allows and the key can serve, so the hot path is a lookup and the
//! public-key operation itself.

mod jwk;
mod jwks;
mod pem;
mod set;

pub(crate) use jwk::{JwkError, parse_jwk};
pub use jwks::MAX_JWKS_KEYS;
pub(crate) use jwks::{Strictness, keyset_from_jwks};
pub(crate) use pem::public_key_from_pem;
pub use set::KeySet;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};

use crate::alg::{Algorithm, AlgorithmSet, KeyType};

/// Smallest RSA modulus accepted (RFC 7518 section 3.3).
pub const MIN_RSA_BITS: usize = 2048;

/// Key material as read from PEM, JWK or a policy secret, before it is
/// bound to algorithms.
#[derive(Debug)]
pub(crate) enum KeyMaterial {
    /// An HMAC secret.
    Secret(Vec<u8>),
    /// An RSA public key as DER (PKCS#1 `RSAPublicKey` or SPKI).
    RsaDer(Vec<u8>),
    /// An RSA public key as big-endian modulus and exponent (from a JWK).
    RsaComponents { n: Vec<u8>, e: Vec<u8> },
    /// An EC or Ed25519 public key: SPKI DER, or the raw point / raw key.
    Public(KeyType, Vec<u8>),
}

impl KeyMaterial {
    /// The key type of this material.
    pub(crate) fn key_type(&self) -> KeyType {
        match self {
            KeyMaterial::Secret(_) => KeyType::Oct,
            KeyMaterial::RsaDer(_) | KeyMaterial::RsaComponents { .. } => KeyType::Rsa,
            KeyMaterial::Public(t, _) => *t,
        }
    }
}

/// One key, ready to verify every algorithm it was bound to.
pub struct VerifyKey {
    kid: Option<String>,
    key_type: KeyType,
    algs: AlgorithmSet,
    material: Material,
}

enum Material {
    Hmac(Vec<(Algorithm, hmac::Key)>),
    Public(Vec<(Algorithm, ParsedPublicKey)>),
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("key_type", &self.key_type)
            .field("algorithms", &self.algs.iter().map(Algorithm::name).collect::<Vec<_>>())
            .finish()
    }
}

fn rsa_params(alg: Algorithm) -> &'static RsaParameters {
    match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        _ => &signature::RSA_PSS_2048_8192_SHA512,
    }
}

/// Bit length of a big-endian unsigned integer.
fn bit_len(n: &[u8]) -> usize {
    let n = &n[n.iter().take_while(|b| **b == 0).count()..];
    match n.first() {
        Some(first) => n.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

impl VerifyKey {
    /// Binds `material` to every algorithm in `allowed` that fits its type
    /// (and equals `alg_hint`, a JWK's `alg`, when given).
    ///
    /// Returns `Ok(None)` when no allowed algorithm fits: the key is not for
    /// this issuer. Returns an error for a key that fits but is unusable
    /// (RSA under 2048 bits, a short HMAC secret, a point not on the curve).
    pub(crate) fn bind(
        material: KeyMaterial,
        kid: Option<String>,
        alg_hint: Option<Algorithm>,
        allowed: AlgorithmSet,
    ) -> Result<Option<VerifyKey>, String> {
        let key_type = material.key_type();
        let fitting: AlgorithmSet =
            allowed.iter().filter(|a| a.key_type() == key_type && alg_hint.is_none_or(|h| h == *a)).collect();
        if fitting.is_empty() {
            return Ok(None);
        }
        let material = match material {
            KeyMaterial::Secret(secret) => {
                let mut keys = Vec::with_capacity(3);
                for alg in fitting.iter() {
                    let Some((hmac_alg, min_len)) = alg.hmac() else { continue };
                    if secret.len() < min_len {
                        return Err(format!(
                            "HMAC secret of {} bytes is shorter than the {min_len} bytes {alg} needs",
                            secret.len()
                        ));
                    }
                    keys.push((alg, hmac::Key::new(hmac_alg, &secret)));
                }
                Material::Hmac(keys)
            }
            KeyMaterial::RsaDer(der) => {
                let public = aws_lc_rs::rsa::PublicKey::from_der(&der)
                    .map_err(|e| format!("invalid RSA public key: {e}"))?;
                check_rsa_bits(public.modulus_len() * 8)?;
                check_rsa_exponent(public.exponent().big_endian_without_leading_zero())?;
                let mut keys = Vec::with_capacity(6);
                for alg in fitting.iter() {
                    let parsed = ParsedPublicKey::new(rsa_params(alg), &der)
                        .map_err(|e| format!("invalid RSA public key: {e}"))?;
                    keys.push((alg, parsed));
                }
                Material::Public(keys)
            }
            KeyMaterial::RsaComponents { n, e } => {
                check_rsa_bits(bit_len(&n))?;
                check_rsa_exponent(&e)?;
                let components = RsaPublicKeyComponents { n: &n[..], e: &e[..] };
                let mut keys = Vec::with_capacity(6);
                for alg in fitting.iter() {
                    let parsed = components
                        .to_parsed_public_key(rsa_params(alg))
                        .map_err(|e| format!("invalid RSA public key: {e}"))?;
                    keys.push((alg, parsed));
                }
                Material::Public(keys)
            }
            KeyMaterial::Public(_, bytes) => {
                let mut keys = Vec::with_capacity(6);
                for alg in fitting.iter() {
                    let verification = alg.verification().ok_or("no verification algorithm")?;
                    let parsed = ParsedPublicKey::new(verification, &bytes)
                        .map_err(|e| format!("invalid {key_type:?} public key: {e}"))?;
                    keys.push((alg, parsed));
                }
                Material::Public(keys)
            }
        };
        Ok(Some(VerifyKey { kid, key_type, algs: fitting, material }))
    }

    /// The key id, if the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Whether this key was bound to `alg`.
    pub fn supports(&self, alg: Algorithm) -> bool {
        self.algs.contains(alg)
    }

    /// Checks `signature` over `message`. HMAC tags are compared in
    /// constant time by aws-lc.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            Material::Hmac(keys) => keys
                .iter()
                .find(|(a, _)| *a == alg)
                .is_some_and(|(_, k)| hmac::verify(k, message, signature).is_ok()),
            Material::Public(keys) => keys
                .iter()
                .find(|(a, _)| *a == alg)
                .is_some_and(|(_, k)| k.verify_sig(message, signature).is_ok()),
        }
    }
}

fn check_rsa_bits(bits: usize) -> Result<(), String> {
    if bits < MIN_RSA_BITS {
        return Err(format!("RSA key of {bits} bits is under the {MIN_RSA_BITS}-bit minimum"));
    }
    Ok(())
}

/// RSA public exponents must be odd and at least 3 (RFC 8017 section 3.1);
/// 1 or an even exponent is no key at all.
fn check_rsa_exponent(e: &[u8]) -> Result<(), String> {
    let e = &e[e.iter().take_while(|b| **b == 0).count()..];
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    let at_least_3 = e.len() > 1 || e.first().is_some_and(|b| *b >= 3);
    if !(odd && at_least_3) {
        return Err("RSA public exponent must be odd and at least 3".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_len_ignores_leading_zeros() {
        assert_eq!(bit_len(&[0, 0, 1]), 1);
        assert_eq!(bit_len(&[0x80, 0]), 16);
        assert_eq!(bit_len(&[]), 0);
    }

    #[test]
    fn weak_rsa_exponents_are_refused() {
        assert!(check_rsa_exponent(&[1, 0, 1]).is_ok());
        assert!(check_rsa_exponent(&[0, 3]).is_ok());
        for bad in [&[][..], &[1], &[2], &[0, 1], &[1, 0, 0]] {
            assert!(check_rsa_exponent(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn short_hmac_secrets_are_refused() {
        let allowed: AlgorithmSet = [Algorithm::HS256].into_iter().collect();
        let short = VerifyKey::bind(KeyMaterial::Secret(vec![1; 31]), None, None, allowed);
        assert!(short.unwrap_err().contains("shorter"));
        let ok = VerifyKey::bind(KeyMaterial::Secret(vec![1; 32]), None, None, allowed);
        assert!(ok.unwrap().unwrap().supports(Algorithm::HS256));
    }

    #[test]
    fn keys_that_fit_no_allowed_algorithm_are_not_bound() {
        let allowed: AlgorithmSet = [Algorithm::RS256].into_iter().collect();
        let key = VerifyKey::bind(KeyMaterial::Secret(vec![1; 64]), None, None, allowed);
        assert!(key.unwrap().is_none());
    }
}
