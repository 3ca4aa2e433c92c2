//! The signer handle: issues tokens (for tests, demos and token services).

use std::ffi::{CString, c_char};

use jwtgate::{Algorithm, Signer};

use crate::error::{jwtgate_code, jwtgate_error};
use crate::ffi::{bytes, finish, handle, optional_text, out_ptr, text};

/// Signs claims into compact JWS tokens. Made by `jwtgate_signer_from_pem`
/// or `jwtgate_signer_from_secret`; freed by `jwtgate_signer_free`. May be
/// used by several threads at once.
pub struct jwtgate_signer {
    inner: Signer,
}

fn algorithm(name: &str) -> Result<Algorithm, jwtgate_error> {
    name.parse().map_err(|e: jwtgate::UnknownAlgorithm| {
        jwtgate_error::binding(jwtgate_code::JWTGATE_INVALID_PARAMETER, e.to_string())
    })
}

fn boxed(inner: Signer) -> *mut jwtgate_signer {
    Box::into_raw(Box::new(jwtgate_signer { inner }))
}

/// Makes a signer for a private key in PEM (PKCS#8, PKCS#1 RSA or SEC1 EC)
/// and the algorithm named `alg` (e.g. `"RS256"`, `"ES256"`, `"EdDSA"`). `kid`
/// (NULL for none) goes into every token's header. All strings are pointer +
/// length, UTF-8, no NUL needed. On success `*out` receives a signer the
/// caller frees with `jwtgate_signer_free`; on failure (`JWTGATE_POLICY` for
/// a bad key, `JWTGATE_INVALID_PARAMETER` for an unknown algorithm) `*out` is
/// untouched and `*out_error` (when not NULL) receives an error to free.
///
/// # Safety
/// Each pointer must be NULL or point at its length in readable bytes;
/// `out` and `out_error` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_signer_from_pem(
    alg: *const c_char,
    alg_len: usize,
    pem: *const c_char,
    pem_len: usize,
    kid: *const c_char,
    kid_len: usize,
    out: *mut *mut jwtgate_signer,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        let result = (|| {
            let out = out_ptr(out, "out")?;
            // SAFETY: the caller promises the lengths of readable bytes.
            let (alg, pem, kid) = unsafe {
                (text(alg, alg_len, "alg")?, text(pem, pem_len, "pem")?, optional_text(kid, kid_len, "kid")?)
            };
            Ok((out, Signer::from_pem(algorithm(alg)?, pem, kid.map(str::to_owned))?))
        })();
        // SAFETY: out was checked non-NULL; out_error is NULL or writable.
        unsafe { finish(result, |(out, s)| *out = boxed(s), out_error) }
    }
}

/// Makes an HMAC signer (`alg` `"HS256"`, `"HS384"` or `"HS512"`) for the raw
/// secret bytes at `secret` (at least as long as the hash output). Ownership
/// and errors as for `jwtgate_signer_from_pem`.
///
/// # Safety
/// As for `jwtgate_signer_from_pem`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_signer_from_secret(
    alg: *const c_char,
    alg_len: usize,
    secret: *const u8,
    secret_len: usize,
    kid: *const c_char,
    kid_len: usize,
    out: *mut *mut jwtgate_signer,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        let result = (|| {
            let out = out_ptr(out, "out")?;
            // SAFETY: the caller promises the lengths of readable bytes.
            let (alg, secret, kid) = unsafe {
                (
                    text(alg, alg_len, "alg")?,
                    bytes(secret.cast(), secret_len, "secret")?,
                    optional_text(kid, kid_len, "kid")?,
                )
            };
            Ok((out, Signer::from_secret(algorithm(alg)?, secret, kid.map(str::to_owned))?))
        })();
        // SAFETY: out was checked non-NULL; out_error is NULL or writable.
        unsafe { finish(result, |(out, s)| *out = boxed(s), out_error) }
    }
}

/// Signs a claims object (JSON text, `claims_len` bytes). When
/// `has_lifetime` is true, `iat` and `exp = iat + lifetime_s` are set; when
/// `has_now` is true, `now` (unix seconds) is the signing time, otherwise the
/// system clock. On success `*out_token` receives a NUL-terminated token the
/// caller frees with `jwtgate_string_free`, and `*out_len` (when not NULL)
/// its length. Errors as for `jwtgate_signer_from_pem` (`JWTGATE_MALFORMED`
/// for claims that are not a JSON object).
///
/// # Safety
/// `signer` must be NULL or a live signer; `claims_json` NULL or
/// `claims_len` readable bytes; `out_token`, `out_len` and `out_error` NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_signer_sign(
    signer: *const jwtgate_signer,
    claims_json: *const c_char,
    claims_len: usize,
    has_lifetime: bool,
    lifetime_s: u64,
    has_now: bool,
    now: f64,
    out_token: *mut *mut c_char,
    out_len: *mut usize,
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    ffi_boundary! {
        let result = (|| {
            // SAFETY: the caller passes NULL or a live signer.
            let signer = unsafe { handle(signer, "signer") }?;
            let out = out_ptr(out_token, "out_token")?;
            // SAFETY: the caller promises claims_len readable bytes.
            let claims = unsafe { text(claims_json, claims_len, "claims_json") }?;
            let claims = jwtgate::json::parse_strict(claims).map_err(|e| {
                jwtgate_error::from(jwtgate::Error::new(jwtgate::ErrorKind::Malformed, format!("claims: {e}")))
            })?;
            if !claims.is_object() {
                return Err(jwtgate::Error::new(jwtgate::ErrorKind::Malformed, "claims must be a JSON object").into());
            }
            let token = signer.inner.sign(&claims, has_lifetime.then_some(lifetime_s), has_now.then_some(now))?;
            let len = token.len();
            // A token is base64url and dots: it never holds a NUL.
            let token = CString::new(token).map_err(|_| {
                jwtgate_error::binding(jwtgate_code::JWTGATE_INVALID_PARAMETER, "token holds a NUL")
            })?;
            Ok((out, token, len))
        })();
        // SAFETY: out was checked non-NULL; out_len and out_error are NULL or writable.
        unsafe {
            finish(
                result,
                |(out, token, len)| {
                    *out = token.into_raw();
                    if !out_len.is_null() {
                        *out_len = len;
                    }
                },
                out_error,
            )
        }
    }
}

/// Frees a signer. `jwtgate_signer_free(NULL)` does nothing.
///
/// # Safety
/// `signer` must be NULL or a signer from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_signer_free(signer: *mut jwtgate_signer) {
    ffi_boundary! {
        if !signer.is_null() {
            // SAFETY: signer came from Box::into_raw here and is freed once.
            drop(unsafe { Box::from_raw(signer) });
        }
    }
}

/// Frees a string this library allocated (a token from
/// `jwtgate_signer_sign`). `jwtgate_string_free(NULL)` does nothing. Never
/// pass it memory from anywhere else.
///
/// # Safety
/// `string` must be NULL or a string from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_string_free(string: *mut c_char) {
    ffi_boundary! {
        if !string.is_null() {
            // SAFETY: string came from CString::into_raw here and is freed once.
            drop(unsafe { CString::from_raw(string) });
        }
    }
}
