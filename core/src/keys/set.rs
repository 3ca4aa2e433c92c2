//! A set of verification keys and the rule that picks one for a token.

use super::VerifyKey;
use crate::alg::Algorithm;
use crate::error::{Error, ErrorKind};

/// Most keys tried for a token that names no `kid`.
pub const MAX_KID_LESS_CANDIDATES: usize = 4;

/// The keys of one issuer.
///
/// A token with a `kid` uses exactly the key with that id. A token without
/// one (or any token, when no key in the set has an id, as with PEM keys)
/// tries the keys whose type fits its `alg`, at most
/// [`MAX_KID_LESS_CANDIDATES`] of them, which covers a primary plus a backup
/// key during rotation.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<VerifyKey>,
    any_kid: bool,
}

impl KeySet {
    /// A set of already bound keys.
    pub fn new(keys: Vec<VerifyKey>) -> KeySet {
        let any_kid = keys.iter().any(|k| k.kid.is_some());
        KeySet { keys, any_kid }
    }

    /// The keys in the set.
    pub fn keys(&self) -> &[VerifyKey] {
        &self.keys
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether some key in the set has the id `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid() == Some(kid))
    }

    /// Verifies `signature` over `message` with the key the token's `kid`
    /// and `alg` select.
    pub(crate) fn verify(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), Error> {
        match kid {
            Some(kid) if self.any_kid => {
                let mut named = self.keys.iter().filter(|k| k.kid() == Some(kid)).peekable();
                if named.peek().is_none() {
                    return Err(Error::new(ErrorKind::KeyNotFound, "no key for the token's kid"));
                }
                let mut fitting = named.filter(|k| k.supports(alg)).peekable();
                if fitting.peek().is_none() {
                    return Err(Error::new(
                        ErrorKind::Algorithm,
                        format!("the key named by kid is not for {alg}"),
                    ));
                }
                check(fitting, alg, message, signature)
            }
            _ => {
                let mut fitting =
                    self.keys.iter().filter(|k| k.supports(alg)).take(MAX_KID_LESS_CANDIDATES).peekable();
                if fitting.peek().is_none() {
                    return Err(Error::new(ErrorKind::Algorithm, format!("no key for {alg}")));
                }
                check(fitting, alg, message, signature)
            }
        }
    }
}

fn check<'k>(
    mut keys: impl Iterator<Item = &'k VerifyKey>,
    alg: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    if keys.any(|k| k.verify(alg, message, signature)) {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::Signature, "signature does not verify"))
    }
}
