//! The issuer role: sign tokens, generate key pairs, publish the public JWKS.
//!
//! Signing goes straight to aws-lc-rs, the library the verifier uses:
//! jsonwebtoken's aws-lc backend cannot sign ES512, and one code path for
//! every algorithm keeps the signer and the verifier in step.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{
    EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, PqdsaKeyPair, PqdsaSigningAlgorithm,
    RsaKeyPair, RsaPublicKeyComponents, RsaSignatureEncoding,
};
use aws_lc_rs::{digest, hmac, rsa};
use serde_json::{Map, Value, json};

use crate::alg::{Algorithm, KeyType, Primitive};
use crate::base64url;
use crate::clock::unix_now;
use crate::error::{Error, ErrorKind, key_rejected_reason};
use crate::keys::MIN_RSA_BITS;

/// Signs tokens with one private key.
pub struct Signer {
    alg: Algorithm,
    kid: Option<String>,
    typ: String,
    key: SigningKey,
}

enum SigningKey {
    Hmac(Box<hmac::Key>),
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    MlDsa(PqdsaKeyPair),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("alg", &self.alg).field("kid", &self.kid).finish_non_exhaustive()
    }
}

fn key_error(message: impl Into<String>) -> Error {
    Error::key(message)
}

/// The ECDSA signing algorithm of an EC algorithm, from the table.
fn ec_signing(alg: Algorithm) -> Result<&'static EcdsaSigningAlgorithm, Error> {
    match alg.spec().primitive {
        Primitive::Ecdsa { sign, .. } => Ok(sign),
        Primitive::Hmac(_) | Primitive::Rsa { .. } | Primitive::Ed25519(_) | Primitive::MlDsa { .. } => {
            Err(key_error(format!("{alg} is not an ECDSA algorithm")))
        }
    }
}

/// The ML-DSA signing algorithm of an ML-DSA algorithm, from the table.
fn ml_dsa_signing(alg: Algorithm) -> Result<&'static PqdsaSigningAlgorithm, Error> {
    match alg.spec().primitive {
        Primitive::MlDsa { sign, .. } => Ok(sign),
        Primitive::Hmac(_) | Primitive::Rsa { .. } | Primitive::Ecdsa { .. } | Primitive::Ed25519(_) => {
            Err(key_error(format!("{alg} is not an ML-DSA algorithm")))
        }
    }
}

/// The RSA padding of an RSA algorithm, from the table.
fn rsa_padding(alg: Algorithm) -> Result<&'static RsaSignatureEncoding, Error> {
    match alg.spec().primitive {
        Primitive::Rsa { sign, .. } => Ok(sign),
        Primitive::Hmac(_) | Primitive::Ecdsa { .. } | Primitive::Ed25519(_) | Primitive::MlDsa { .. } => {
            Err(key_error(format!("{alg} is not an RSA algorithm")))
        }
    }
}

fn checked_rsa(pair: RsaKeyPair) -> Result<SigningKey, Error> {
    let bits = pair.public_modulus_len() * 8;
    if bits < MIN_RSA_BITS {
        return Err(key_error(format!("RSA key of {bits} bits is under the {MIN_RSA_BITS}-bit minimum")));
    }
    Ok(SigningKey::Rsa(pair))
}

fn jwk_bytes(jwk: &Value, name: &str) -> Result<Vec<u8>, Error> {
    let text =
        jwk.get(name).and_then(Value::as_str).ok_or_else(|| key_error(format!("JWK has no \"{name}\"")))?;
    base64url::decode(text.as_bytes()).ok_or_else(|| key_error(format!("JWK \"{name}\" is not base64url")))
}

impl Signer {
    /// A signer for a private key in PEM: PKCS#8 (`PRIVATE KEY`), PKCS#1
    /// (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    pub fn from_pem(alg: Algorithm, pem: &str, kid: Option<String>) -> Result<Signer, Error> {
        let block = ::pem::parse(pem).map_err(|e| key_error(format!("not a PEM block: {e}")))?;
        let der = block.contents();
        let rejected = |e: aws_lc_rs::error::KeyRejected| {
            key_error(format!("private key rejected for {alg}: {}", key_rejected_reason(&e)))
        };
        let key = match (alg.key_type(), block.tag()) {
            (KeyType::Oct, _) => return Err(key_error("HMAC keys are secrets, not PEM: use from_secret")),
            (KeyType::Rsa, "PRIVATE KEY") => checked_rsa(RsaKeyPair::from_pkcs8(der).map_err(rejected)?)?,
            (KeyType::Rsa, "RSA PRIVATE KEY") => checked_rsa(RsaKeyPair::from_der(der).map_err(rejected)?)?,
            (KeyType::Ed25519, "PRIVATE KEY") => {
                SigningKey::Ed(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?)
            }
            (KeyType::P256 | KeyType::P384 | KeyType::P521 | KeyType::Secp256k1, "PRIVATE KEY") => {
                SigningKey::Ec(EcdsaKeyPair::from_pkcs8(ec_signing(alg)?, der).map_err(rejected)?)
            }
            (KeyType::P256 | KeyType::P384 | KeyType::P521 | KeyType::Secp256k1, "EC PRIVATE KEY") => {
                let curve = ec_signing(alg)?;
                SigningKey::Ec(EcdsaKeyPair::from_private_key_der(curve, der).map_err(rejected)?)
            }
            (KeyType::MlDsa44 | KeyType::MlDsa65 | KeyType::MlDsa87, "PRIVATE KEY") => {
                SigningKey::MlDsa(PqdsaKeyPair::from_pkcs8(ml_dsa_signing(alg)?, der).map_err(rejected)?)
            }
            (_, tag) => return Err(key_error(format!("a {tag} PEM block cannot sign {alg}"))),
        };
        Ok(Signer { alg, kid, typ: "JWT".into(), key })
    }

    /// A signer for an HMAC secret (at least as long as the hash output).
    pub fn from_secret(alg: Algorithm, secret: &[u8], kid: Option<String>) -> Result<Signer, Error> {
        let (hmac_alg, min_len) =
            alg.hmac().ok_or_else(|| key_error(format!("{alg} is not an HMAC algorithm")))?;
        if secret.len() < min_len {
            return Err(key_error(format!(
                "HMAC secret of {} bytes is shorter than the {min_len} bytes {alg} needs",
                secret.len()
            )));
        }
        Ok(Signer {
            alg,
            kid,
            typ: "JWT".into(),
            key: SigningKey::Hmac(Box::new(hmac::Key::new(hmac_alg, secret))),
        })
    }

    /// A signer for a private JWK (`d` and friends, or `k` for `oct`). The
    /// algorithm is `alg` or else the JWK's own `alg`; the key id is the JWK's.
    pub fn from_jwk(jwk: &Value, alg: Option<Algorithm>) -> Result<Signer, Error> {
        let jwk_alg = jwk.get("alg").and_then(Value::as_str).and_then(Algorithm::from_name);
        let alg = alg.or(jwk_alg).ok_or_else(|| key_error("give the algorithm: the JWK names none"))?;
        let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
        let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
        let rejected = |e: aws_lc_rs::error::KeyRejected| {
            key_error(format!("private JWK rejected for {alg}: {}", key_rejected_reason(&e)))
        };
        let key = match (alg.key_type(), kty) {
            (KeyType::Oct, "oct") => return Signer::from_secret(alg, &jwk_bytes(jwk, "k")?, kid),
            (KeyType::Rsa, "RSA") => {
                let components = rsa::KeyPairComponents {
                    public_key: RsaPublicKeyComponents { n: jwk_bytes(jwk, "n")?, e: jwk_bytes(jwk, "e")? },
                    d: jwk_bytes(jwk, "d")?,
                    p: jwk_bytes(jwk, "p")?,
                    q: jwk_bytes(jwk, "q")?,
                    dP: jwk_bytes(jwk, "dp")?,
                    dQ: jwk_bytes(jwk, "dq")?,
                    qInv: jwk_bytes(jwk, "qi")?,
                };
                checked_rsa(RsaKeyPair::from_components(&components).map_err(rejected)?)?
            }
            (KeyType::Ed25519, "OKP") => SigningKey::Ed(
                Ed25519KeyPair::from_seed_and_public_key(&jwk_bytes(jwk, "d")?, &jwk_bytes(jwk, "x")?)
                    .map_err(rejected)?,
            ),
            (KeyType::P256 | KeyType::P384 | KeyType::P521 | KeyType::Secp256k1, "EC") => {
                let curve = ec_signing(alg)?;
                let mut point = vec![0x04];
                point.extend(jwk_bytes(jwk, "x")?);
                point.extend(jwk_bytes(jwk, "y")?);
                SigningKey::Ec(
                    EcdsaKeyPair::from_private_key_and_public_key(curve, &jwk_bytes(jwk, "d")?, &point)
                        .map_err(rejected)?,
                )
            }
            (KeyType::MlDsa44 | KeyType::MlDsa65 | KeyType::MlDsa87, "AKP") => {
                // `priv` is the 32-byte seed (draft-ietf-cose-dilithium);
                // the key it expands to must be the JWK's `pub`.
                let pair = PqdsaKeyPair::from_seed(ml_dsa_signing(alg)?, &jwk_bytes(jwk, "priv")?)
                    .map_err(rejected)?;
                if pair.public_key().as_ref() != jwk_bytes(jwk, "pub")? {
                    return Err(key_error("private JWK: \"pub\" is not the public key of \"priv\""));
                }
                SigningKey::MlDsa(pair)
            }
            (_, kty) => return Err(key_error(format!("a {kty:?} JWK cannot sign {alg}"))),
        };
        Ok(Signer { alg, kid, typ: "JWT".into(), key })
    }

    /// Sets the header `typ` of the tokens (defaults to `JWT`; RFC 9068
    /// access tokens use `at+jwt`).
    pub fn with_typ(mut self, typ: impl Into<String>) -> Signer {
        self.typ = typ.into();
        self
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id put in every token's header.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Signs `claims` (a JSON object). With `lifetime_s`, sets `iat` to now
    /// and `exp` to now + lifetime; `now` pins the clock (unix seconds).
    pub fn sign(&self, claims: &Value, lifetime_s: Option<u64>, now: Option<f64>) -> Result<String, Error> {
        let Value::Object(claims) = claims else {
            return Err(Error::new(ErrorKind::Malformed, "claims must be a JSON object"));
        };
        let mut claims: Map<String, Value> = claims.clone();
        if let Some(lifetime) = lifetime_s {
            let now = now.unwrap_or_else(unix_now).floor() as i64;
            claims.insert("iat".into(), now.into());
            claims.insert("exp".into(), now.saturating_add(lifetime as i64).into());
        }
        let mut header = Map::new();
        header.insert("alg".into(), self.alg.name().into());
        header.insert("typ".into(), self.typ.clone().into());
        if let Some(kid) = &self.kid {
            header.insert("kid".into(), kid.clone().into());
        }
        let mut token = base64url::encode(Value::Object(header).to_string());
        token.push('.');
        token.push_str(&base64url::encode(Value::Object(claims).to_string()));
        let signature = self.sign_bytes(token.as_bytes())?;
        token.push('.');
        token.push_str(&base64url::encode(signature));
        Ok(token)
    }

    /// Signs an arbitrary JWS signing input (`header.payload`), for tests
    /// and tools that build unusual tokens on purpose.
    pub fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let failed = |_| key_error("signing failed");
        match &self.key {
            SigningKey::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            SigningKey::Rsa(pair) => {
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(rsa_padding(self.alg)?, &SystemRandom::new(), message, &mut out).map_err(failed)?;
                Ok(out)
            }
            SigningKey::Ec(pair) => {
                Ok(pair.sign(&SystemRandom::new(), message).map_err(failed)?.as_ref().to_vec())
            }
            SigningKey::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            SigningKey::MlDsa(pair) => {
                let mut out = vec![0; pair.algorithm().signature_len()];
                let len = pair.sign(message, &mut out).map_err(failed)?;
                out.truncate(len);
                Ok(out)
            }
        }
    }

    /// The public JWK of the key (with `kid`, `use: sig` and `alg`); `None`
    /// for HMAC, whose key is secret.
    pub fn public_jwk(&self) -> Option<Value> {
        let mut jwk = match &self.key {
            SigningKey::Hmac(_) => return None,
            SigningKey::Rsa(pair) => {
                let c = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"kty": "RSA", "n": base64url::encode(c.n), "e": base64url::encode(c.e)})
            }
            SigningKey::Ec(pair) => {
                let point = pair.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                let crv = self.alg.key_type().jwk_crv();
                json!({"kty": "EC", "crv": crv,
                       "x": base64url::encode(&point[1..1 + half]), "y": base64url::encode(&point[1 + half..])})
            }
            SigningKey::Ed(pair) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": base64url::encode(pair.public_key().as_ref())})
            }
            SigningKey::MlDsa(pair) => {
                json!({"kty": "AKP", "alg": self.alg.name(), "pub": base64url::encode(pair.public_key().as_ref())})
            }
        };
        let kid = self.kid.clone().unwrap_or_else(|| thumbprint(&jwk));
        if let Value::Object(map) = &mut jwk {
            map.insert("kid".into(), kid.into());
            map.insert("use".into(), "sig".into());
            map.insert("alg".into(), self.alg.name().into());
        }
        Some(jwk)
    }
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK, base64url: a stable
/// key id derived from the key itself.
pub fn thumbprint(jwk: &Value) -> String {
    let required = KeyType::thumbprint_members(jwk.get("kty").and_then(Value::as_str).unwrap_or_default());
    // serde_json's Map keeps keys sorted, which is the order RFC 7638 wants.
    let canonical: Map<String, Value> =
        required.iter().filter_map(|k| jwk.get(*k).map(|v| ((*k).to_owned(), v.clone()))).collect();
    base64url::encode(digest::digest(&digest::SHA256, Value::Object(canonical).to_string().as_bytes()))
}

/// The public JWKS (`{"keys": [...]}`) of some signers; HMAC signers are left out.
pub fn jwks(signers: &[Signer]) -> Value {
    json!({"keys": signers.iter().filter_map(Signer::public_jwk).collect::<Vec<_>>()})
}

/// A freshly generated key.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The algorithm it is for.
    pub algorithm: Algorithm,
    /// Its key id (the RFC 7638 thumbprint unless one was given).
    pub kid: String,
    /// The private key: PKCS#8 PEM, or for HMAC the secret as base64url.
    pub private_key: String,
    /// The public JWK (`None` for HMAC).
    pub public_jwk: Option<Value>,
}

/// Generates a key for `alg`: RSA 2048, the curve the algorithm names,
/// Ed25519, an ML-DSA key (PKCS#8 holding the seed), or a random HMAC
/// secret as long as the hash output.
pub fn generate_key(alg: Algorithm, kid: Option<String>) -> Result<GeneratedKey, Error> {
    let failed = |_| key_error("key generation failed");
    let der: Vec<u8> = match alg.key_type() {
        KeyType::Oct => {
            let (_, len) = alg.hmac().ok_or_else(|| key_error(format!("{alg} is not an HMAC algorithm")))?;
            let mut secret = vec![0u8; len];
            SystemRandom::new().fill(&mut secret).map_err(failed)?;
            let private_key = base64url::encode(&secret);
            let kid = kid.unwrap_or_else(|| thumbprint(&json!({"kty": "oct", "k": private_key})));
            return Ok(GeneratedKey { algorithm: alg, kid, private_key, public_jwk: None });
        }
        KeyType::Rsa => {
            let pair = RsaKeyPair::generate(rsa::KeySize::Rsa2048).map_err(failed)?;
            AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).map_err(failed)?.as_ref().to_vec()
        }
        KeyType::Ed25519 => {
            Ed25519KeyPair::generate().map_err(failed)?.to_pkcs8v1().map_err(failed)?.as_ref().to_vec()
        }
        KeyType::P256 | KeyType::P384 | KeyType::P521 | KeyType::Secp256k1 => {
            let pair = EcdsaKeyPair::generate(ec_signing(alg)?).map_err(failed)?;
            pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec()
        }
        KeyType::MlDsa44 | KeyType::MlDsa65 | KeyType::MlDsa87 => {
            let pair = PqdsaKeyPair::generate(ml_dsa_signing(alg)?).map_err(failed)?;
            pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec()
        }
    };
    let private_key = ::pem::encode(&::pem::Pem::new("PRIVATE KEY", der));
    let signer = Signer::from_pem(alg, &private_key, kid)?;
    let public_jwk = signer.public_jwk();
    let kid = public_jwk.as_ref().and_then(|j| j["kid"].as_str()).unwrap_or_default().to_owned();
    Ok(GeneratedKey { algorithm: alg, kid, private_key, public_jwk })
}
