//! Verification keys: parsed once when a policy or key set loads, never per
//! token.
//!
//! A [`VerifyKey`] holds one ready aws-lc-rs key object per algorithm the
//! issuer allows and the key can serve, so the hot path is a lookup and the
//! public-key operation itself. Keys and key sets are built only from
//! policy documents and fetched JWKS, so they stay inside the crate: the
//! public way to verify is a `Verifier`.

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
use aws_lc_rs::signature::{ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};

use crate::alg::{Algorithm, AlgorithmSet, KeyType, Primitive};
use crate::error::key_rejected_reason;

/// Smallest RSA modulus accepted (RFC 7518 section 3.3).
pub const MIN_RSA_BITS: usize = 2048;

/// Longest RSA public exponent accepted, in bits (as ring and BoringSSL).
pub(crate) const MAX_RSA_EXPONENT_BITS: usize = 33;

/// Ed25519 public keys of small order (RFC 8032 section 5.1.7), compared
/// with the top bit (the sign of x) cleared: the 8 points of small order and
/// the non-canonical encodings of them (y = p, y = p + 1, x = -0). Such a
/// key verifies the signature R = identity, S = 0 over any message. The
/// list is libsodium's (`ge25519_has_small_order`).
const ED25519_SMALL_ORDER: [[u8; 32]; 7] = [
    // y = 0: the two points of order 4.
    [0; 32],
    // y = 1: the identity (order 1).
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    // The two pairs of points of order 8.
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5,
        0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a,
        0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
    ],
    // y = p - 1: the point of order 2.
    ed25519_high(0xec),
    // y = p: non-canonical y = 0 (order 4).
    ed25519_high(0xed),
    // y = p + 1: non-canonical y = 1 (the identity).
    ed25519_high(0xee),
];

/// `first` followed by thirty 0xff bytes and 0x7f: p - 1, p and p + 1.
const fn ed25519_high(first: u8) -> [u8; 32] {
    let mut out = [0xff; 32];
    out[0] = first;
    out[31] = 0x7f;
    out
}

/// Whether a raw Ed25519 public key is one of the small-order encodings.
fn ed25519_small_order(key: &[u8; 32]) -> bool {
    ED25519_SMALL_ORDER.iter().any(|bad| bad[..31] == key[..31] && bad[31] == key[31] & 0x7f)
}

/// Refuses an Ed25519 key of small order. `bytes` is the raw 32-byte key
/// (JWK `x`) or an SPKI, whose subject key is its last 32 bytes.
fn check_ed25519_key(bytes: &[u8]) -> Result<(), String> {
    let Some(raw) = bytes.len().checked_sub(32).and_then(|start| bytes[start..].try_into().ok()) else {
        return Err("invalid Ed25519 public key: shorter than 32 bytes".into());
    };
    if ed25519_small_order(raw) {
        return Err("Ed25519 public key of small order (RFC 8032 section 5.1.7): it would verify forged \
                    signatures"
            .into());
    }
    Ok(())
}

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

/// The RSA verification parameters of an RSA algorithm, from the table.
fn rsa_params(alg: Algorithm) -> Result<&'static RsaParameters, String> {
    match alg.spec().primitive {
        Primitive::Rsa { verify, .. } => Ok(verify),
        Primitive::Hmac(_) | Primitive::Ecdsa { .. } | Primitive::Ed25519(_) | Primitive::MlDsa { .. } => {
            Err(format!("{alg} is not an RSA algorithm"))
        }
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
                    .map_err(|e| format!("invalid RSA public key: {}", key_rejected_reason(&e)))?;
                check_rsa_bits(bit_len(public.modulus().big_endian_without_leading_zero()))?;
                check_rsa_exponent(public.exponent().big_endian_without_leading_zero())?;
                let mut keys = Vec::with_capacity(6);
                for alg in fitting.iter() {
                    let parsed = ParsedPublicKey::new(rsa_params(alg)?, &der)
                        .map_err(|e| format!("invalid RSA public key: {}", key_rejected_reason(&e)))?;
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
                        .to_parsed_public_key(rsa_params(alg)?)
                        .map_err(|e| format!("invalid RSA public key: {}", key_rejected_reason(&e)))?;
                    keys.push((alg, parsed));
                }
                Material::Public(keys)
            }
            KeyMaterial::Public(_, bytes) => {
                if key_type == KeyType::Ed25519 {
                    check_ed25519_key(&bytes)?;
                }
                let mut keys = Vec::with_capacity(6);
                for alg in fitting.iter() {
                    let verification = alg.verification().ok_or("no verification algorithm")?;
                    let parsed = ParsedPublicKey::new(verification, &bytes).map_err(|e| {
                        format!("invalid {key_type:?} public key: {}", key_rejected_reason(&e))
                    })?;
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
/// 1 or an even exponent is no key at all. Exponents longer than
/// [`MAX_RSA_EXPONENT_BITS`] are refused too: no genuine key uses one
/// (65537 is the norm), and a huge exponent only makes every verification
/// slow.
fn check_rsa_exponent(e: &[u8]) -> Result<(), String> {
    let e = &e[e.iter().take_while(|b| **b == 0).count()..];
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    let at_least_3 = e.len() > 1 || e.first().is_some_and(|b| *b >= 3);
    if !(odd && at_least_3) {
        return Err("RSA public exponent must be odd and at least 3".into());
    }
    let bits = bit_len(e);
    if bits > MAX_RSA_EXPONENT_BITS {
        return Err(format!(
            "RSA public exponent of {bits} bits is longer than {MAX_RSA_EXPONENT_BITS} bits"
        ));
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
        assert!(check_rsa_exponent(&[1, 0, 0, 0, 1]).is_ok(), "2^32 + 1 has 33 bits");
        for bad in [&[][..], &[1], &[2], &[0, 1], &[1, 0, 0], &[2, 0, 0, 0, 1], &[1, 0, 0, 0, 0, 1]] {
            assert!(check_rsa_exponent(bad).is_err(), "{bad:?}");
        }
        let long = check_rsa_exponent(&[2, 0, 0, 0, 1]).unwrap_err();
        assert!(long.contains("34 bits"), "{long}");
    }

    /// A 2047-bit modulus: 256 bytes, so counting bytes would call it 2048 bits.
    const RSA_2047_PEM: &str = r"-----BEGIN PUBLIC KEY-----
MIIBITANBgkqhkiG9w0BAQEFAAOCAQ4AMIIBCQKCAQBgWmulbzU6BLko0JMb6OIT
X7I5J7gECI6ErrIkn6dvjiYkNm29VXpwkRnWeQ+xCT1/0URuZeeo8D9KvXglYAcL
jaWDNeQoRcXBQQgEgg7xmfcbPq9ChqD7V1Sjk52LbmCBTGyzv7UipkKceaS5hX0W
DpdVGj+WDBvG9OMlBHYozKXuWMjj6dMYqkhNo/QJnlydjvwxL3TXDhr0tk7ZZr10
do3INFlrXLo9H3wGotE3Y7k64rVz5pRMisGy8fTybc2jRkFP5njMOEJlTsJ6zDpy
0PIqPE+3NCGk7ggL7YIzfDQQO0nzeVHNLIcsOQjR9sklAcIfgPF2r6QURFhHQX3t
AgMBAAE=
-----END PUBLIC KEY-----
";

    #[test]
    fn rsa_size_is_counted_in_bits() {
        let allowed: AlgorithmSet = [Algorithm::RS256].into_iter().collect();
        let material = public_key_from_pem(RSA_2047_PEM).unwrap();
        let e = VerifyKey::bind(material, None, None, allowed).unwrap_err();
        assert!(e.contains("2047 bits"), "{e}");
        let KeyMaterial::RsaDer(der) = public_key_from_pem(RSA_2047_PEM).unwrap() else { panic!("not RSA") };
        let public = aws_lc_rs::rsa::PublicKey::from_der(&der).unwrap();
        let (n, e) = (public.modulus().big_endian_without_leading_zero(), public.exponent());
        let components =
            KeyMaterial::RsaComponents { n: n.to_vec(), e: e.big_endian_without_leading_zero().to_vec() };
        let e = VerifyKey::bind(components, None, None, allowed).unwrap_err();
        assert!(e.contains("2047 bits"), "{e}");
    }

    #[test]
    fn ed25519_keys_of_small_order_are_refused() {
        let allowed: AlgorithmSet = [Algorithm::EdDSA].into_iter().collect();
        let identity = ED25519_SMALL_ORDER[1];
        // The attack: the identity key verifies R = identity, S = 0 over anything.
        let forged = [&identity[..], &[0; 32]].concat();
        let parsed = ParsedPublicKey::new(&aws_lc_rs::signature::ED25519, identity);
        assert!(parsed.is_ok_and(|k| k.verify_sig(b"any payload", &forged).is_ok()));
        let spki_prefix = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
        let mut refused = 0;
        for bad in ED25519_SMALL_ORDER {
            for sign in [0, 0x80] {
                let mut raw = bad;
                raw[31] |= sign;
                for bytes in [raw.to_vec(), [&spki_prefix[..], &raw].concat()] {
                    let e =
                        VerifyKey::bind(KeyMaterial::Public(KeyType::Ed25519, bytes), None, None, allowed)
                            .unwrap_err();
                    assert!(e.contains("small order"), "{e}");
                    refused += 1;
                }
            }
        }
        assert_eq!(refused, 28, "14 encodings, raw and SPKI");
        // RFC 8037 appendix A's key is an ordinary point.
        let good = crate::base64url::decode(b"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        let key = VerifyKey::bind(KeyMaterial::Public(KeyType::Ed25519, good), None, None, allowed);
        assert!(key.unwrap().is_some());
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
