//! Turns an issuer's `keys` section into a key set at load time.

use std::path::Path;

use crate::alg::AlgorithmSet;
use crate::base64url;
use crate::error::Error;
use crate::keys::{KeyMaterial, KeySet, Strictness, VerifyKey, keyset_from_jwks, public_key_from_pem};
use crate::policy::KeysDoc;

fn read(base: Option<&Path>, file: &str, what: &str) -> Result<String, Error> {
    let path = match base {
        Some(dir) => dir.join(file),
        None => file.into(),
    };
    std::fs::read_to_string(&path).map_err(|e| Error::policy(format!("keys.{what}: {}: {e}", path.display())))
}

/// Checks that exactly one key source is given.
pub(crate) fn check_single_source(doc: &KeysDoc) -> Result<(), Error> {
    let sources = [
        doc.jwks.is_some(),
        doc.jwks_file.is_some(),
        doc.jwks_uri.is_some(),
        doc.discovery.is_some(),
        doc.pem.is_some(),
        doc.pem_file.is_some(),
        doc.hmac_secret.is_some(),
    ];
    match sources.iter().filter(|s| **s).count() {
        1 => {}
        0 => {
            return Err(Error::policy(
                "keys: give one of jwks, jwks_file, jwks_uri, discovery, pem, pem_file, hmac_secret",
            ));
        }
        _ => {
            return Err(Error::policy(
                "keys: give only one of jwks, jwks_file, jwks_uri, discovery, pem, pem_file, hmac_secret",
            ));
        }
    }
    let has_pem = doc.pem.is_some() || doc.pem_file.is_some();
    if !has_pem && (doc.backup_pem.is_some() || doc.backup_pem_file.is_some()) {
        return Err(Error::policy("keys: backup_pem goes with pem or pem_file"));
    }
    if doc.backup_pem.is_some() && doc.backup_pem_file.is_some() {
        return Err(Error::policy("keys: give backup_pem or backup_pem_file, not both"));
    }
    Ok(())
}

/// Builds the static key set of an issuer. `base` resolves relative file
/// names (the policy file's folder).
pub(crate) fn load_static_keys(
    doc: &KeysDoc,
    allowed: AlgorithmSet,
    base: Option<&Path>,
) -> Result<KeySet, Error> {
    check_single_source(doc)?;
    if let Some(jwks) = &doc.jwks {
        return from_jwks(jwks, allowed, "jwks");
    }
    if let Some(file) = &doc.jwks_file {
        let text = read(base, file, "jwks_file")?;
        let jwks = crate::json::parse_strict(&text)
            .map_err(|e| Error::policy(format!("keys.jwks_file: {file}: {e}")))?;
        return from_jwks(&jwks, allowed, "jwks_file");
    }
    if let Some(secret) = &doc.hmac_secret {
        let bytes = base64url::decode(secret.as_bytes())
            .ok_or_else(|| Error::policy("keys.hmac_secret: not base64url (no padding)"))?;
        return bind_all(vec![KeyMaterial::Secret(bytes)], allowed, "hmac_secret");
    }

    let mut pems = Vec::with_capacity(2);
    match (&doc.pem, &doc.pem_file) {
        (Some(pem), _) => pems.push((pem.clone(), "pem")),
        (_, Some(file)) => pems.push((read(base, file, "pem_file")?, "pem_file")),
        _ => {}
    }
    match (&doc.backup_pem, &doc.backup_pem_file) {
        (Some(pem), _) => pems.push((pem.clone(), "backup_pem")),
        (_, Some(file)) => pems.push((read(base, file, "backup_pem_file")?, "backup_pem_file")),
        _ => {}
    }
    let mut materials = Vec::with_capacity(pems.len());
    for (text, what) in &pems {
        materials.push(public_key_from_pem(text).map_err(|e| Error::policy(format!("keys.{what}: {e}")))?);
    }
    bind_all(materials, allowed, "pem")
}

fn from_jwks(jwks: &serde_json::Value, allowed: AlgorithmSet, what: &str) -> Result<KeySet, Error> {
    let (set, _skipped) = keyset_from_jwks(jwks, allowed, Strictness::Strict)
        .map_err(|e| Error::policy(format!("keys.{what}: {e}")))?;
    if set.is_empty() {
        return Err(Error::policy(format!("keys.{what}: no key fits the issuer's algorithms")));
    }
    Ok(set)
}

fn bind_all(materials: Vec<KeyMaterial>, allowed: AlgorithmSet, what: &str) -> Result<KeySet, Error> {
    let mut keys = Vec::with_capacity(materials.len());
    for material in materials {
        let key_type = material.key_type();
        match VerifyKey::bind(material, None, None, allowed) {
            Ok(Some(key)) => keys.push(key),
            Ok(None) => {
                return Err(Error::policy(format!(
                    "keys.{what}: a {key_type:?} key fits none of the issuer's algorithms"
                )));
            }
            Err(e) => return Err(Error::policy(format!("keys.{what}: {e}"))),
        }
    }
    Ok(KeySet::new(keys))
}
