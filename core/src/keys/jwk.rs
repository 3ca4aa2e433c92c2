//! Public keys from JWK (RFC 7517, RFC 7518 section 6, RFC 8037, RFC 8812,
//! and draft-ietf-cose-dilithium's `AKP` keys for ML-DSA).
//!
//! A small struct of our own rather than jsonwebtoken's `Jwk`: that type
//! cannot describe ES512 keys, and a gateway must decide key by key what to
//! skip (encryption keys, unknown types) without failing the whole set.

use serde::Deserialize;
use serde_json::Value;

use super::KeyMaterial;
use crate::alg::{Algorithm, KeyType, Primitive};
use crate::base64url;

#[derive(Deserialize)]
struct JwkDoc {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    k: Option<String>,
    /// The public key of an `AKP` key.
    #[serde(rename = "pub")]
    pub_: Option<String>,
    // Private members (RFC 7518 sections 6.3.2 and 6.2.2.1): present only to
    // refuse them. Any JSON type counts; `null` counts as absent.
    d: Option<Value>,
    p: Option<Value>,
    q: Option<Value>,
    dp: Option<Value>,
    dq: Option<Value>,
    qi: Option<Value>,
    oth: Option<Value>,
    /// The private seed of an `AKP` key.
    #[serde(rename = "priv")]
    priv_: Option<Value>,
}

impl JwkDoc {
    /// The first private-key member the JWK carries, if any: a verification
    /// set holds public keys only, and a private key found in one has leaked.
    /// `k` is private too, except on an `oct` key, where it is the secret.
    fn private_member(&self) -> Option<&'static str> {
        let members = [
            ("d", &self.d),
            ("p", &self.p),
            ("q", &self.q),
            ("dp", &self.dp),
            ("dq", &self.dq),
            ("qi", &self.qi),
            ("oth", &self.oth),
            ("priv", &self.priv_),
        ];
        if let Some((name, _)) = members.iter().find(|(_, v)| v.is_some()) {
            return Some(name);
        }
        (self.k.is_some() && self.kty != "oct").then_some("k")
    }
}

/// Why a JWK was not turned into a key.
#[derive(Debug)]
pub(crate) enum JwkError {
    /// Not a signature-verification key for us: `use: enc`, `key_ops`
    /// without `verify`, an algorithm or key type jwtgate does not verify.
    /// Key sets routinely hold such keys; they are skipped.
    NotForUs(String),
    /// Meant for signatures but broken (bad base64url, wrong lengths,
    /// missing members).
    Invalid(String),
}

/// A parsed JWK: its id, its `alg` (if any) and its key material.
pub(crate) struct Jwk {
    pub kid: Option<String>,
    pub alg: Option<Algorithm>,
    pub material: KeyMaterial,
}

fn member(doc: &Option<String>, name: &str) -> Result<Vec<u8>, JwkError> {
    let text = doc.as_deref().ok_or_else(|| JwkError::Invalid(format!("missing \"{name}\"")))?;
    base64url::decode(text.as_bytes())
        .ok_or_else(|| JwkError::Invalid(format!("\"{name}\" is not base64url")))
}

fn coordinate(doc: &Option<String>, name: &str, len: usize) -> Result<Vec<u8>, JwkError> {
    let bytes = member(doc, name)?;
    if bytes.len() != len {
        return Err(JwkError::Invalid(format!("\"{name}\" must be {len} bytes, not {}", bytes.len())));
    }
    Ok(bytes)
}

/// An `AKP` key: its `alg` is required and names the parameter set, and
/// `pub` is the raw public key of exactly that set's length.
fn akp_material(doc: &JwkDoc, alg: Option<Algorithm>) -> Result<KeyMaterial, JwkError> {
    let Some(alg) = alg else {
        return Err(JwkError::Invalid("AKP key without \"alg\"".into()));
    };
    let Primitive::MlDsa { sign, .. } = alg.spec().primitive else {
        return Err(JwkError::NotForUs(format!("\"kty\": \"AKP\", \"alg\": {:?}", alg.name())));
    };
    Ok(KeyMaterial::Public(alg.key_type(), coordinate(&doc.pub_, "pub", sign.public_key_len())?))
}

/// Parses one JWK.
pub(crate) fn parse_jwk(value: &Value) -> Result<Jwk, JwkError> {
    let doc = JwkDoc::deserialize(value).map_err(|e| JwkError::Invalid(e.to_string()))?;
    if let Some(name) = doc.private_member() {
        return Err(JwkError::Invalid(format!(
            "private key member \"{name}\" in a verification key set: publish the public key only"
        )));
    }
    if let Some(use_) = &doc.use_
        && use_ != "sig"
    {
        return Err(JwkError::NotForUs(format!("\"use\": {use_:?}")));
    }
    if let Some(ops) = &doc.key_ops
        && !ops.iter().any(|op| op == "verify")
    {
        return Err(JwkError::NotForUs("\"key_ops\" without \"verify\"".into()));
    }
    let alg = match doc.alg.as_deref() {
        None => None,
        Some(name) => {
            Some(Algorithm::from_name(name).ok_or_else(|| JwkError::NotForUs(format!("\"alg\": {name:?}")))?)
        }
    };
    let material = match (doc.kty.as_str(), doc.crv.as_deref()) {
        ("RSA", _) => KeyMaterial::RsaComponents { n: member(&doc.n, "n")?, e: member(&doc.e, "e")? },
        ("EC" | "OKP", Some(crv)) => {
            let found = KeyType::from_jwk_curve(&doc.kty, crv).and_then(|t| Some((t, t.coordinate_len()?)));
            let Some((key_type, len)) = found else {
                return Err(JwkError::NotForUs(if doc.kty == "EC" {
                    format!("\"crv\": {crv:?}")
                } else {
                    format!("\"kty\": {:?}, \"crv\": {:?}", doc.kty, Some(crv))
                }));
            };
            if doc.kty == "OKP" {
                KeyMaterial::Public(key_type, coordinate(&doc.x, "x", len)?)
            } else {
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend(coordinate(&doc.x, "x", len)?);
                point.extend(coordinate(&doc.y, "y", len)?);
                KeyMaterial::Public(key_type, point)
            }
        }
        ("oct", _) => KeyMaterial::Secret(member(&doc.k, "k")?),
        ("AKP", _) => akp_material(&doc, alg)?,
        ("EC", None) => return Err(JwkError::Invalid("EC key without \"crv\"".into())),
        (kty, crv) => return Err(JwkError::NotForUs(format!("\"kty\": {kty:?}, \"crv\": {crv:?}"))),
    };
    if let Some(alg) = alg
        && alg.key_type() != material.key_type()
    {
        return Err(JwkError::Invalid(format!("\"alg\": {alg} does not fit the key type")));
    }
    Ok(Jwk { kid: doc.kid, alg, material })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refusal(jwk: Value) -> String {
        match parse_jwk(&jwk) {
            Err(JwkError::Invalid(why)) => why,
            Err(JwkError::NotForUs(why)) => panic!("skipped, not refused: {why}"),
            Ok(_) => panic!("loaded: {jwk}"),
        }
    }

    #[test]
    fn private_members_are_refused_by_name() {
        let n = "mXfO4PbffwEKjzHJ-idXANA2hCRSII8chO10fOUmXyd8PbBEmTDbdXhP_puYkur13wPRzKnQ_Uv9-W1RJpMrtw";
        let rsa = json!({"kty": "RSA", "n": n, "e": "AQAB"});
        assert!(parse_jwk(&rsa).is_ok());
        for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "priv", "k"] {
            let mut jwk = rsa.clone();
            jwk[member] =
                if member == "oth" { json!([{"r": "AQ", "d": "AQ", "t": "AQ"}]) } else { json!("AQAB") };
            let why = refusal(jwk.clone());
            assert!(why.contains(&format!("\"{member}\"")), "{member}: {why}");
            // Also on a key that would otherwise be skipped as an encryption key.
            jwk["use"] = json!("enc");
            assert!(refusal(jwk).contains(&format!("\"{member}\"")), "{member}");
        }
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"});
        assert!(refusal(ed).contains("\"d\""));
        let ec = json!({"kty": "EC", "crv": "P-256", "x": "AQ", "y": "AQ", "k": "AQ"});
        assert!(refusal(ec).contains("\"k\""));
        // `k` is the secret of an oct key; a null member counts as absent.
        assert!(parse_jwk(&json!({"kty": "oct", "k": "AQAB"})).is_ok());
        assert!(parse_jwk(&json!({"kty": "RSA", "n": n, "e": "AQAB", "d": null})).is_ok());
    }

    #[test]
    fn akp_keys_need_their_alg_and_a_public_key_of_its_length() {
        let public = crate::base64url::encode([7u8; 1312]);
        let ok = parse_jwk(&json!({"kty": "AKP", "alg": "ML-DSA-44", "pub": public})).unwrap();
        assert_eq!(ok.material.key_type(), KeyType::MlDsa44);
        assert!(refusal(json!({"kty": "AKP", "pub": public})).contains("\"alg\""));
        let why = refusal(json!({"kty": "AKP", "alg": "ML-DSA-65", "pub": public}));
        assert!(why.contains("1952 bytes, not 1312"), "{why}");
        assert!(matches!(
            parse_jwk(&json!({"kty": "AKP", "alg": "ES256", "pub": public})),
            Err(JwkError::NotForUs(_))
        ));
        let seed = json!({"kty": "AKP", "alg": "ML-DSA-44", "pub": public, "priv": "AQ"});
        assert!(refusal(seed).contains("\"priv\""));
    }
}
