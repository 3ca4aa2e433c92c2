//! The JWS algorithms jwtgate supports: one table holds every fact about
//! each of them (name, key type, hash, signature length, the aws-lc-rs
//! primitives that sign and verify it), and the rest of the crate asks the
//! table instead of matching on algorithms itself.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::signature::{
    self, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, EdDSAParameters, RsaParameters,
    RsaSignatureEncoding,
};
use aws_lc_rs::{digest, hmac};

/// A JWS `alg` value (RFC 7518, RFC 8037). `none` is deliberately absent:
/// it never verifies. The discriminant is the algorithm's row in the
/// crate's algorithm table, which holds every per-algorithm fact.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

/// The kind of key an algorithm works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// A shared HMAC secret (`kty: oct`).
    Oct,
    /// An RSA key of 2048 bits or more.
    Rsa,
    /// An EC key on P-256.
    P256,
    /// An EC key on P-384.
    P384,
    /// An EC key on P-521.
    P521,
    /// An Ed25519 key (`kty: OKP`).
    Ed25519,
}

impl KeyType {
    /// Every key type.
    pub const ALL: [KeyType; 6] =
        [KeyType::Oct, KeyType::Rsa, KeyType::P256, KeyType::P384, KeyType::P521, KeyType::Ed25519];

    /// The JWK `kty` of keys of this type (RFC 7518 section 6.1, RFC 8037).
    pub const fn jwk_kty(self) -> &'static str {
        match self {
            KeyType::Oct => "oct",
            KeyType::Rsa => "RSA",
            KeyType::P256 | KeyType::P384 | KeyType::P521 => "EC",
            KeyType::Ed25519 => "OKP",
        }
    }

    /// The JWK `crv` of curve keys; `None` for `oct` and RSA.
    pub const fn jwk_crv(self) -> Option<&'static str> {
        match self {
            KeyType::Oct | KeyType::Rsa => None,
            KeyType::P256 => Some("P-256"),
            KeyType::P384 => Some("P-384"),
            KeyType::P521 => Some("P-521"),
            KeyType::Ed25519 => Some("Ed25519"),
        }
    }

    /// The length in bytes of one JWK coordinate (`x`, and `y` for EC) of
    /// a curve key; `None` for `oct` and RSA, whose members vary in length.
    pub const fn coordinate_len(self) -> Option<usize> {
        match self {
            KeyType::Oct | KeyType::Rsa => None,
            KeyType::P256 | KeyType::Ed25519 => Some(32),
            KeyType::P384 => Some(48),
            KeyType::P521 => Some(66),
        }
    }

    /// The curve key type a JWK names with `kty` and `crv`.
    pub fn from_jwk_curve(kty: &str, crv: &str) -> Option<KeyType> {
        KeyType::ALL.into_iter().find(|t| t.jwk_kty() == kty && t.jwk_crv() == Some(crv))
    }
}

/// How aws-lc-rs signs and verifies an algorithm.
#[derive(Clone, Copy)]
pub(crate) enum Primitive {
    /// HMAC: the same key signs and verifies.
    Hmac(hmac::Algorithm),
    /// RSA with a padding: PKCS#1 v1.5 or PSS.
    Rsa { verify: &'static RsaParameters, sign: &'static RsaSignatureEncoding },
    /// ECDSA in the fixed-length r||s form JWS uses (never DER).
    Ecdsa { verify: &'static EcdsaVerificationAlgorithm, sign: &'static EcdsaSigningAlgorithm },
    /// Ed25519.
    Ed25519(&'static EdDSAParameters),
}

/// Everything jwtgate knows about one algorithm.
pub(crate) struct Spec {
    /// The algorithm this row describes (its discriminant is the row index).
    pub alg: Algorithm,
    /// The exact `alg` name.
    pub name: &'static str,
    /// The key type it needs.
    pub key_type: KeyType,
    /// The hash it uses; for HMAC also the shortest secret RFC 7518
    /// section 3.2 allows (the hash output length).
    pub hash: &'static digest::Algorithm,
    /// The signature length in bytes; `None` where it is the length of the
    /// key (RSA: the modulus).
    pub signature_len: Option<usize>,
    /// The aws-lc-rs primitives.
    pub primitive: Primitive,
}

/// The algorithm table: one row per [`Algorithm`], in the enum's order.
///
/// Adding an algorithm is one variant and one row here, plus vectors in
/// `tests/vectors` (made by `core/examples/gen_vectors.rs`). For example,
/// ES256K would be:
///
/// ```text
/// // in `Algorithm`:
/// ES256K,
/// // here (and a `KeyType::Secp256k1` with its `kty`/`crv`, as it is a new curve):
/// Spec { alg: Algorithm::ES256K, name: "ES256K", key_type: KeyType::Secp256k1,
///        hash: &digest::SHA256, signature_len: Some(64),
///        primitive: Primitive::Ecdsa { verify: &signature::ECDSA_P256K1_SHA256_FIXED,
///                                      sign: &signature::ECDSA_P256K1_SHA256_FIXED_SIGNING } },
/// ```
///
/// Nothing else matches on algorithms: the compiler then points at every
/// `match` over [`KeyType`] that a new key type has to extend, and the
/// check below refuses a row out of order. [`AlgorithmSet`] is a `u16`: the
/// seventeenth algorithm widens it.
pub(crate) const TABLE: [Spec; 13] = [
    hmac_row(Algorithm::HS256, "HS256", hmac::HMAC_SHA256, &digest::SHA256, 32),
    hmac_row(Algorithm::HS384, "HS384", hmac::HMAC_SHA384, &digest::SHA384, 48),
    hmac_row(Algorithm::HS512, "HS512", hmac::HMAC_SHA512, &digest::SHA512, 64),
    rsa_row(
        Algorithm::RS256,
        "RS256",
        &digest::SHA256,
        &signature::RSA_PKCS1_2048_8192_SHA256,
        &signature::RSA_PKCS1_SHA256,
    ),
    rsa_row(
        Algorithm::RS384,
        "RS384",
        &digest::SHA384,
        &signature::RSA_PKCS1_2048_8192_SHA384,
        &signature::RSA_PKCS1_SHA384,
    ),
    rsa_row(
        Algorithm::RS512,
        "RS512",
        &digest::SHA512,
        &signature::RSA_PKCS1_2048_8192_SHA512,
        &signature::RSA_PKCS1_SHA512,
    ),
    rsa_row(
        Algorithm::PS256,
        "PS256",
        &digest::SHA256,
        &signature::RSA_PSS_2048_8192_SHA256,
        &signature::RSA_PSS_SHA256,
    ),
    rsa_row(
        Algorithm::PS384,
        "PS384",
        &digest::SHA384,
        &signature::RSA_PSS_2048_8192_SHA384,
        &signature::RSA_PSS_SHA384,
    ),
    rsa_row(
        Algorithm::PS512,
        "PS512",
        &digest::SHA512,
        &signature::RSA_PSS_2048_8192_SHA512,
        &signature::RSA_PSS_SHA512,
    ),
    ecdsa_row(
        Algorithm::ES256,
        "ES256",
        KeyType::P256,
        &digest::SHA256,
        64,
        &signature::ECDSA_P256_SHA256_FIXED,
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    ),
    ecdsa_row(
        Algorithm::ES384,
        "ES384",
        KeyType::P384,
        &digest::SHA384,
        96,
        &signature::ECDSA_P384_SHA384_FIXED,
        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
    ),
    ecdsa_row(
        Algorithm::ES512,
        "ES512",
        KeyType::P521,
        &digest::SHA512,
        132,
        &signature::ECDSA_P521_SHA512_FIXED,
        &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
    ),
    Spec {
        alg: Algorithm::EdDSA,
        name: "EdDSA",
        key_type: KeyType::Ed25519,
        hash: &digest::SHA512,
        signature_len: Some(64),
        primitive: Primitive::Ed25519(&signature::ED25519),
    },
];

// Every row sits at its algorithm's discriminant, so `spec` is an index,
// and every algorithm has a bit in an `AlgorithmSet`.
const _: () = {
    assert!(TABLE.len() <= u16::BITS as usize, "AlgorithmSet needs a wider integer");
    let mut i = 0;
    while i < TABLE.len() {
        assert!(TABLE[i].alg as usize == i, "TABLE rows must follow the order of Algorithm");
        i += 1;
    }
};

const fn hmac_row(
    alg: Algorithm,
    name: &'static str,
    hmac: hmac::Algorithm,
    hash: &'static digest::Algorithm,
    len: usize,
) -> Spec {
    Spec {
        alg,
        name,
        key_type: KeyType::Oct,
        hash,
        signature_len: Some(len),
        primitive: Primitive::Hmac(hmac),
    }
}

const fn rsa_row(
    alg: Algorithm,
    name: &'static str,
    hash: &'static digest::Algorithm,
    verify: &'static RsaParameters,
    sign: &'static RsaSignatureEncoding,
) -> Spec {
    Spec {
        alg,
        name,
        key_type: KeyType::Rsa,
        hash,
        signature_len: None,
        primitive: Primitive::Rsa { verify, sign },
    }
}

const fn ecdsa_row(
    alg: Algorithm,
    name: &'static str,
    key_type: KeyType,
    hash: &'static digest::Algorithm,
    len: usize,
    verify: &'static EcdsaVerificationAlgorithm,
    sign: &'static EcdsaSigningAlgorithm,
) -> Spec {
    Spec { alg, name, key_type, hash, signature_len: Some(len), primitive: Primitive::Ecdsa { verify, sign } }
}

impl Algorithm {
    /// Every supported algorithm, in table order.
    pub const ALL: [Algorithm; TABLE.len()] = {
        let mut all = [Algorithm::HS256; TABLE.len()];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].alg;
            i += 1;
        }
        all
    };

    /// This algorithm's row of the table.
    pub(crate) const fn spec(self) -> &'static Spec {
        &TABLE[self as usize]
    }

    /// The algorithm for an exact (case-sensitive) `alg` name.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        TABLE.iter().find(|row| row.name == name).map(|row| row.alg)
    }

    /// The `alg` name.
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// The key type this algorithm needs.
    pub const fn key_type(self) -> KeyType {
        self.spec().key_type
    }

    /// The signature length in bytes; `None` for RSA, whose signatures are
    /// as long as the key's modulus.
    pub const fn signature_len(self) -> Option<usize> {
        self.spec().signature_len
    }

    /// A bit for this algorithm in an [`AlgorithmSet`].
    const fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// The HMAC algorithm and the shortest secret RFC 7518 section 3.2
    /// allows (the hash output length); `None` for asymmetric algorithms.
    pub(crate) fn hmac(self) -> Option<(hmac::Algorithm, usize)> {
        match self.spec().primitive {
            Primitive::Hmac(alg) => Some((alg, self.spec().hash.output_len())),
            Primitive::Rsa { .. } | Primitive::Ecdsa { .. } | Primitive::Ed25519(_) => None,
        }
    }

    /// The aws-lc-rs verification algorithm for asymmetric algorithms. RSA
    /// keys under 2048 bits fail these; ECDSA takes only the fixed-length
    /// r||s form that JWS uses (never DER).
    pub(crate) fn verification(self) -> Option<&'static dyn signature::VerificationAlgorithm> {
        match self.spec().primitive {
            Primitive::Hmac(_) => None,
            Primitive::Rsa { verify, .. } => Some(verify),
            Primitive::Ecdsa { verify, .. } => Some(verify),
            Primitive::Ed25519(verify) => Some(verify),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An `alg` name jwtgate does not support; its message lists the ones it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAlgorithm(pub String);

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown algorithm {:?}; expected one of ", self.0)?;
        for (i, row) in TABLE.iter().enumerate() {
            f.write_str(if i == 0 { "" } else { ", " })?;
            f.write_str(row.name)?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownAlgorithm {}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// The exact (case-sensitive) `alg` name, as [`Algorithm::from_name`].
    fn from_str(name: &str) -> Result<Algorithm, UnknownAlgorithm> {
        Algorithm::from_name(name).ok_or_else(|| UnknownAlgorithm(name.to_owned()))
    }
}

/// A small set of algorithms (an issuer's allow-list).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// Adds an algorithm.
    pub fn insert(&mut self, alg: Algorithm) {
        self.0 |= alg.bit();
    }

    /// Whether the set holds `alg`.
    pub fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms in the set, in [`Algorithm::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = AlgorithmSet::default();
        for alg in iter {
            set.insert(alg);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_exact_and_none_is_absent() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        for bad in ["none", "None", "NONE", "hs256", "RS256 ", "ES256K", ""] {
            assert_eq!(Algorithm::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn from_str_and_display_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.to_string().parse::<Algorithm>(), Ok(alg));
        }
        let err = "none".parse::<Algorithm>().unwrap_err().to_string();
        assert!(err.starts_with("unknown algorithm \"none\"; expected one of HS256, "), "{err}");
        assert!(err.ends_with("ES512, EdDSA"), "{err}");
    }

    #[test]
    fn rows_agree_with_their_key_types() {
        for alg in Algorithm::ALL {
            let spec = alg.spec();
            match spec.primitive {
                Primitive::Hmac(h) => {
                    assert_eq!(spec.key_type, KeyType::Oct);
                    assert_eq!(h.digest_algorithm(), spec.hash);
                    assert_eq!(spec.signature_len, Some(spec.hash.output_len()));
                }
                Primitive::Rsa { .. } => {
                    assert_eq!((spec.key_type, spec.signature_len), (KeyType::Rsa, None))
                }
                Primitive::Ecdsa { .. } => {
                    let coordinate = spec.key_type.coordinate_len().expect("a curve");
                    assert_eq!(spec.key_type.jwk_kty(), "EC");
                    assert_eq!(spec.signature_len, Some(2 * coordinate));
                }
                Primitive::Ed25519(_) => assert_eq!(spec.key_type, KeyType::Ed25519),
            }
        }
    }

    #[test]
    fn sets_hold_what_was_inserted() {
        let set: AlgorithmSet = [Algorithm::RS256, Algorithm::EdDSA].into_iter().collect();
        assert!(set.contains(Algorithm::RS256) && set.contains(Algorithm::EdDSA));
        assert!(!set.contains(Algorithm::HS256));
        assert_eq!(set.iter().collect::<Vec<_>>(), [Algorithm::RS256, Algorithm::EdDSA]);
    }
}
