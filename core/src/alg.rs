//! The JWS algorithms jwtgate supports: one table holds every fact about
//! each of them (name, key type, hash, signature length, the aws-lc-rs
//! primitives that sign and verify it), and the rest of the crate asks the
//! table instead of matching on algorithms itself.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::signature::{
    self, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, EdDSAParameters, PqdsaSigningAlgorithm,
    PqdsaVerificationAlgorithm, RsaParameters, RsaSignatureEncoding,
};
use aws_lc_rs::{digest, hmac};

/// A JWS `alg` value (RFC 7518, RFC 8037, RFC 8812, RFC 9864, and
/// draft-ietf-cose-dilithium for ML-DSA). `none` is deliberately absent:
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
    /// Ed25519 under the polymorphic name of RFC 8037 (deprecated by
    /// RFC 9864, still the name most issuers send).
    EdDSA,
    /// ECDSA on secp256k1 with SHA-256 (RFC 8812).
    ES256K,
    /// Ed25519 under its fully specified name (RFC 9864). The same keys as
    /// `EdDSA`, but a distinct `alg`: a policy accepts the names it lists.
    Ed25519,
    /// ML-DSA-44 (FIPS 204) with `AKP` keys (draft-ietf-cose-dilithium).
    #[allow(non_camel_case_types)]
    ML_DSA_44,
    /// ML-DSA-65 (FIPS 204).
    #[allow(non_camel_case_types)]
    ML_DSA_65,
    /// ML-DSA-87 (FIPS 204).
    #[allow(non_camel_case_types)]
    ML_DSA_87,
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
    /// An EC key on secp256k1 (RFC 8812, `crv: secp256k1`).
    Secp256k1,
    /// An ML-DSA-44 key (`kty: AKP`, `alg: ML-DSA-44`).
    MlDsa44,
    /// An ML-DSA-65 key (`kty: AKP`, `alg: ML-DSA-65`).
    MlDsa65,
    /// An ML-DSA-87 key (`kty: AKP`, `alg: ML-DSA-87`).
    MlDsa87,
}

impl KeyType {
    /// Every key type.
    pub const ALL: [KeyType; 10] = [
        KeyType::Oct,
        KeyType::Rsa,
        KeyType::P256,
        KeyType::P384,
        KeyType::P521,
        KeyType::Ed25519,
        KeyType::Secp256k1,
        KeyType::MlDsa44,
        KeyType::MlDsa65,
        KeyType::MlDsa87,
    ];

    /// The JWK `kty` of keys of this type (RFC 7518 section 6.1, RFC 8037,
    /// draft-ietf-cose-dilithium's Algorithm Key Pair).
    pub const fn jwk_kty(self) -> &'static str {
        match self {
            KeyType::Oct => "oct",
            KeyType::Rsa => "RSA",
            KeyType::P256 | KeyType::P384 | KeyType::P521 | KeyType::Secp256k1 => "EC",
            KeyType::Ed25519 => "OKP",
            KeyType::MlDsa44 | KeyType::MlDsa65 | KeyType::MlDsa87 => "AKP",
        }
    }

    /// The JWK `crv` of curve keys; `None` for `oct`, RSA and `AKP`.
    pub const fn jwk_crv(self) -> Option<&'static str> {
        match self {
            KeyType::Oct | KeyType::Rsa | KeyType::MlDsa44 | KeyType::MlDsa65 | KeyType::MlDsa87 => None,
            KeyType::P256 => Some("P-256"),
            KeyType::P384 => Some("P-384"),
            KeyType::P521 => Some("P-521"),
            KeyType::Ed25519 => Some("Ed25519"),
            KeyType::Secp256k1 => Some("secp256k1"),
        }
    }

    /// The length in bytes of one JWK coordinate (`x`, and `y` for EC) of
    /// a curve key; `None` for `oct` and RSA, whose members vary in length,
    /// and `AKP`, whose `pub` is checked by its algorithm.
    pub const fn coordinate_len(self) -> Option<usize> {
        match self {
            KeyType::Oct | KeyType::Rsa | KeyType::MlDsa44 | KeyType::MlDsa65 | KeyType::MlDsa87 => None,
            KeyType::P256 | KeyType::Ed25519 | KeyType::Secp256k1 => Some(32),
            KeyType::P384 => Some(48),
            KeyType::P521 => Some(66),
        }
    }

    /// The curve key type a JWK names with `kty` and `crv`.
    pub fn from_jwk_curve(kty: &str, crv: &str) -> Option<KeyType> {
        KeyType::ALL.into_iter().find(|t| t.jwk_kty() == kty && t.jwk_crv() == Some(crv))
    }

    /// The members of an RFC 7638 thumbprint of a public JWK of kind `kty`,
    /// in lexicographic order; `oct` for anything else. `AKP` keys hash
    /// `alg`, `kty` and `pub` (draft-ietf-cose-dilithium).
    pub const fn thumbprint_members(kty: &str) -> &'static [&'static str] {
        match kty.as_bytes() {
            b"RSA" => &["e", "kty", "n"],
            b"EC" => &["crv", "kty", "x", "y"],
            b"OKP" => &["crv", "kty", "x"],
            b"AKP" => &["alg", "kty", "pub"],
            _ => &["k", "kty"],
        }
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
    /// ML-DSA (FIPS 204), the pure variant with an empty context string.
    MlDsa { verify: &'static PqdsaVerificationAlgorithm, sign: &'static PqdsaSigningAlgorithm },
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
/// Adding an algorithm is one variant and one row here (and a [`KeyType`]
/// for a new kind of key), plus vectors in `tests/vectors` (made by
/// `core/examples/gen_vectors.rs` and `tests/vectors/gen_independent.py`).
/// Nothing else matches on algorithms: the compiler then points at every
/// `match` over [`KeyType`] and [`Primitive`] that a new key type has to
/// extend, and the check below refuses a row out of order. [`AlgorithmSet`]
/// is a `u32`: the thirty-third algorithm widens it.
pub(crate) const TABLE: [Spec; 18] = [
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
    ecdsa_row(
        Algorithm::ES256K,
        "ES256K",
        KeyType::Secp256k1,
        &digest::SHA256,
        64,
        &signature::ECDSA_P256K1_SHA256_FIXED,
        &signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
    ),
    Spec {
        alg: Algorithm::Ed25519,
        name: "Ed25519",
        key_type: KeyType::Ed25519,
        hash: &digest::SHA512,
        signature_len: Some(64),
        primitive: Primitive::Ed25519(&signature::ED25519),
    },
    ml_dsa_row(Algorithm::ML_DSA_44, "ML-DSA-44", KeyType::MlDsa44, 2420, &signature::ML_DSA_44),
    ml_dsa_row(Algorithm::ML_DSA_65, "ML-DSA-65", KeyType::MlDsa65, 3309, &signature::ML_DSA_65),
    ml_dsa_row(Algorithm::ML_DSA_87, "ML-DSA-87", KeyType::MlDsa87, 4627, &signature::ML_DSA_87),
];

/// The longest signature of any algorithm: ML-DSA-87's, or an RSA key's of
/// 8192 bits (the largest aws-lc-rs verifies).
pub(crate) const MAX_SIGNATURE_LEN: usize = {
    let mut max = 8192 / 8;
    let mut i = 0;
    while i < TABLE.len() {
        if let Some(len) = TABLE[i].signature_len
            && len > max
        {
            max = len;
        }
        i += 1;
    }
    max
};

// Every row sits at its algorithm's discriminant, so `spec` is an index,
// and every algorithm has a bit in an `AlgorithmSet`.
const _: () = {
    assert!(TABLE.len() <= u32::BITS as usize, "AlgorithmSet needs a wider integer");
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

/// An ML-DSA row. The signing algorithm is aws-lc-rs's constant for the
/// same parameter set; `hash` is SHAKE-256 inside ML-DSA, which aws-lc-rs's
/// digest module does not name, so the row carries SHA-512 (unused: the
/// hash only sizes HMAC secrets).
const fn ml_dsa_row(
    alg: Algorithm,
    name: &'static str,
    key_type: KeyType,
    len: usize,
    verify: &'static PqdsaVerificationAlgorithm,
) -> Spec {
    let sign = match alg {
        Algorithm::ML_DSA_44 => &signature::ML_DSA_44_SIGNING,
        Algorithm::ML_DSA_65 => &signature::ML_DSA_65_SIGNING,
        _ => &signature::ML_DSA_87_SIGNING,
    };
    Spec {
        alg,
        name,
        key_type,
        hash: &digest::SHA512,
        signature_len: Some(len),
        primitive: Primitive::MlDsa { verify, sign },
    }
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
    const fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// The HMAC algorithm and the shortest secret RFC 7518 section 3.2
    /// allows (the hash output length); `None` for asymmetric algorithms.
    pub(crate) fn hmac(self) -> Option<(hmac::Algorithm, usize)> {
        match self.spec().primitive {
            Primitive::Hmac(alg) => Some((alg, self.spec().hash.output_len())),
            Primitive::Rsa { .. }
            | Primitive::Ecdsa { .. }
            | Primitive::Ed25519(_)
            | Primitive::MlDsa { .. } => None,
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
            Primitive::MlDsa { verify, .. } => Some(verify),
        }
    }
}

/// Half the order of the secp256k1 group, big-endian: an ES256K `s` above
/// it is "high-S" (the other of the two valid `s` values for a signature).
const SECP256K1_HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5d,
    0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// Whether a 64-byte ES256K signature (r || s) has a high `s`. Signatures
/// of any other length are left to verification, which refuses them.
pub(crate) fn es256k_high_s(signature: &[u8]) -> bool {
    signature.len() == 64 && signature[32..] > SECP256K1_HALF_ORDER[..]
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
pub struct AlgorithmSet(u32);

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
        for bad in ["none", "None", "NONE", "hs256", "RS256 ", "es256k", "ED25519", "ML-DSA", "MLDSA44", ""] {
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
        assert!(err.ends_with("EdDSA, ES256K, Ed25519, ML-DSA-44, ML-DSA-65, ML-DSA-87"), "{err}");
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
                Primitive::MlDsa { verify, sign } => {
                    assert_eq!(spec.key_type.jwk_kty(), "AKP");
                    assert_eq!(spec.signature_len, Some(sign.signature_len()));
                    // The signing row makes signatures the verifying row accepts.
                    use aws_lc_rs::signature::{KeyPair, PqdsaKeyPair};
                    let pair = PqdsaKeyPair::generate(sign).unwrap();
                    let mut sig = vec![0; sign.signature_len()];
                    pair.sign(b"m", &mut sig).unwrap();
                    let public = signature::UnparsedPublicKey::new(verify, pair.public_key().as_ref());
                    assert!(public.verify(b"m", &sig).is_ok(), "{}", spec.name);
                }
            }
        }
    }

    #[test]
    fn high_s_is_above_half_the_order() {
        let mut sig = [0u8; 64];
        sig[32..].copy_from_slice(&SECP256K1_HALF_ORDER);
        assert!(!es256k_high_s(&sig), "n/2 itself is low");
        sig[63] += 1;
        assert!(es256k_high_s(&sig));
        assert!(!es256k_high_s(&sig[..63]));
    }

    #[test]
    fn sets_hold_what_was_inserted() {
        let set: AlgorithmSet = [Algorithm::RS256, Algorithm::EdDSA].into_iter().collect();
        assert!(set.contains(Algorithm::RS256) && set.contains(Algorithm::EdDSA));
        assert!(!set.contains(Algorithm::HS256));
        assert_eq!(set.iter().collect::<Vec<_>>(), [Algorithm::RS256, Algorithm::EdDSA]);
    }
}
