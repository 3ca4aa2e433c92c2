//! Public keys from PEM: SPKI (`PUBLIC KEY`), PKCS#1 (`RSA PUBLIC KEY`) and
//! X.509 certificates (`CERTIFICATE`, whose subject key is used; the
//! certificate itself is not validated, as with NGINX's `auth_jwt_key_file`).

use aws_lc_rs::signature::ParsedPublicKey;
use x509_cert::der::{Decode, Encode};

use super::KeyMaterial;
use crate::alg::{Algorithm, KeyType};

/// Reads the first PEM block of `text` as a public key.
pub(crate) fn public_key_from_pem(text: &str) -> Result<KeyMaterial, String> {
    let block = ::pem::parse(text).map_err(|e| format!("not a PEM block: {e}"))?;
    match block.tag() {
        "RSA PUBLIC KEY" => Ok(KeyMaterial::RsaDer(block.into_contents())),
        "PUBLIC KEY" => classify_spki(block.into_contents()),
        "CERTIFICATE" => {
            let cert = x509_cert::Certificate::from_der(block.contents())
                .map_err(|e| format!("invalid X.509 certificate: {e}"))?;
            let spki = cert
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| format!("invalid certificate key: {e}"))?;
            classify_spki(spki)
        }
        tag if tag.contains("PRIVATE") => {
            Err(format!("a {tag} is not a public key: give the public key or certificate"))
        }
        tag => Err(format!("unsupported PEM block {tag:?}")),
    }
}

/// Finds the key type of a DER SubjectPublicKeyInfo by asking aws-lc which
/// parser accepts it.
fn classify_spki(der: Vec<u8>) -> Result<KeyMaterial, String> {
    if aws_lc_rs::rsa::PublicKey::from_der(&der).is_ok() {
        return Ok(KeyMaterial::RsaDer(der));
    }
    // Each curve type is probed with the verification algorithm of its
    // first algorithm in the table.
    for key_type in KeyType::ALL {
        let Some(alg) = Algorithm::ALL.into_iter().find(|a| a.key_type() == key_type) else { continue };
        let Some(verification) = alg.verification() else { continue };
        if key_type != KeyType::Rsa && ParsedPublicKey::new(verification, &der).is_ok() {
            return Ok(KeyMaterial::Public(key_type, der));
        }
    }
    Err("unsupported or invalid public key (expected RSA, EC P-256/P-384/P-521/secp256k1, Ed25519 or \
         ML-DSA-44/65/87)"
        .into())
}
