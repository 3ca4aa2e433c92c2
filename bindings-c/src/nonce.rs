//! The DPoP nonce secret a server shares between its processes (the Nginx
//! module's workers), handed to each process's verifiers.

use crate::error::jwtgate_code;
use crate::ffi::{bytes, handle};
use crate::verifier::jwtgate_verifier;

/// Gives DPoP server nonces a secret shared by the processes that serve the
/// policy: every issuer whose `dpop.nonce` is `true` or names no `secret`
/// issues and accepts nonces under `secret` from now on, instead of the
/// random secret this process made. Without it a nonce issued by one
/// process (an Nginx worker) is refused by another, and a client sent from
/// one to the other is asked for a new nonce each time. An issuer whose
/// policy names `nonce.secret` keeps its own. Applies to every verifier
/// derived from the same policy; safe while other threads decide (they use
/// the old secret or the new one).
///
/// The bytes are copied: `secret` stays the caller's. Returns
/// `JWTGATE_NULL_PARAMETER` when `verifier` or `secret` is NULL and
/// `JWTGATE_INVALID_ARGUMENT` when `secret_len` is below 32.
///
/// # Safety
/// `verifier` must be NULL or a live verifier; `secret` must be NULL or
/// point at `secret_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_set_nonce_secret(
    verifier: *const jwtgate_verifier,
    secret: *const u8,
    secret_len: usize,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live verifier.
        let Ok(verifier) = (unsafe { handle(verifier, "verifier") }) else {
            return jwtgate_code::JWTGATE_NULL_PARAMETER;
        };
        // SAFETY: the caller passes NULL or secret_len readable bytes.
        let secret = match unsafe { bytes(secret.cast(), secret_len, "secret") } {
            Ok(secret) => secret,
            Err(error) => return error.code,
        };
        match verifier.inner.set_nonce_secret(secret) {
            Ok(()) => jwtgate_code::JWTGATE_OK,
            Err(e) => jwtgate_code::from_kind(e.kind()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{"issuers": [{"issuer": "https://idp.example.com/", "algorithms": ["HS256"],
        "keys": {"hmac_secret": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"},
        "dpop": {"nonce": true, "origin": "https://api.example.com"}}]}"#;

    #[test]
    fn the_secret_is_checked_before_it_is_used() {
        let verifier = jwtgate_verifier { inner: jwtgate::Verifier::from_json(POLICY).unwrap() };
        let secret = [5u8; 32];
        // SAFETY: a live verifier and 32 readable bytes, or NULLs.
        unsafe {
            assert_eq!(
                jwtgate_verifier_set_nonce_secret(&verifier, secret.as_ptr(), 32),
                jwtgate_code::JWTGATE_OK
            );
            assert_eq!(
                jwtgate_verifier_set_nonce_secret(&verifier, secret.as_ptr(), 31),
                jwtgate_code::JWTGATE_INVALID_ARGUMENT
            );
            assert_eq!(
                jwtgate_verifier_set_nonce_secret(&verifier, std::ptr::null(), 32),
                jwtgate_code::JWTGATE_NULL_PARAMETER
            );
            assert_eq!(
                jwtgate_verifier_set_nonce_secret(std::ptr::null(), secret.as_ptr(), 32),
                jwtgate_code::JWTGATE_NULL_PARAMETER
            );
        }
    }
}
