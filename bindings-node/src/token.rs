//! The token argument: read from the JavaScript string in one pass.
//!
//! napi-rs converts a `String` argument with two UTF-8 calls (the first
//! scans the whole string only to learn its UTF-8 length). A token is
//! ASCII, so it is read as UTF-16 instead, whose length V8 knows without a
//! scan, and narrowed to bytes: every non-ASCII code unit becomes `0xFF`,
//! a byte that is never valid in a token, so the core still rejects such a
//! string as `malformed`; nothing non-ASCII can turn into a valid token.

use napi::bindgen_prelude::{FromNapiValue, TypeName, ValidateNapiValue};
use napi::{Error, Result, Status, ValueType, sys};

/// The bytes of a token argument.
pub struct Token(pub Vec<u8>);

impl TypeName for Token {
    fn type_name() -> &'static str {
        "String"
    }

    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ValidateNapiValue for Token {}

impl FromNapiValue for Token {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let mut len = 0usize;
        // SAFETY: `env` and `value` come from napi-rs for this call; a null
        // buffer asks only for the length in UTF-16 code units, and a value
        // that is not a string makes napi return a status, not fail.
        let status =
            unsafe { sys::napi_get_value_string_utf16(env, value, std::ptr::null_mut(), 0, &mut len) };
        if status != sys::Status::napi_ok {
            return Err(Error::new(Status::StringExpected, "token must be a string"));
        }
        let mut units: Vec<u16> = Vec::with_capacity(len + 1);
        let mut written = 0usize;
        // SAFETY: `units` has room for `len + 1` code units (napi writes a
        // terminating NUL and never more than the given size); `written`
        // reports how many were initialised, which bounds `set_len` below.
        let status = unsafe {
            sys::napi_get_value_string_utf16(env, value, units.as_mut_ptr(), len + 1, &mut written)
        };
        if status != sys::Status::napi_ok {
            return Err(Error::new(Status::StringExpected, "token must be a string"));
        }
        // SAFETY: napi initialised the first `written` (<= len) code units.
        unsafe { units.set_len(written.min(len)) };
        Ok(Token(units.iter().map(|&u| if u < 0x80 { u as u8 } else { 0xFF }).collect()))
    }
}
