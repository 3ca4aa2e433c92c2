//! String arguments read with their size checked first.
//!
//! V8 knows a string's length in UTF-16 code units without a scan, so the
//! addon asks for it before copying anything: a 100 MB token costs nothing
//! more than a short one to reject.
//!
//! A token is ASCII, so it is read as UTF-16 and narrowed to bytes: every
//! non-ASCII code unit becomes `0xFF`, a byte that is never valid in a
//! token, so the core still rejects such a string as `malformed` and
//! nothing non-ASCII can turn into a valid token. One code unit is one
//! byte, so the length checked is exactly the length the core sees.

use napi::bindgen_prelude::{FromNapiValue, TypeName, ValidateNapiValue};
use napi::{Error, Result, Status, ValueType, sys};

/// A string argument, not yet copied: read it with [`Token::bytes`] or
/// [`Text::read`] while the call that received it runs.
pub struct Token {
    env: sys::napi_env,
    value: sys::napi_value,
    /// The length in UTF-16 code units.
    units: usize,
}

/// The length of a JavaScript string in UTF-16 code units, without a copy.
///
/// # Safety
/// `env` and `value` must come from napi-rs for the current call.
unsafe fn utf16_len(env: sys::napi_env, value: sys::napi_value, what: &str) -> Result<usize> {
    let mut len = 0usize;
    // SAFETY: a null buffer asks only for the length; a value that is not
    // a string makes napi return a status, not fail.
    let status = unsafe { sys::napi_get_value_string_utf16(env, value, std::ptr::null_mut(), 0, &mut len) };
    if status != sys::Status::napi_ok {
        return Err(Error::new(Status::StringExpected, format!("{what} must be a string")));
    }
    Ok(len)
}

/// The first `units` UTF-16 code units of a string (at most its length).
///
/// # Safety
/// `env` and `value` must come from napi-rs for the current call, and
/// `value` must be a string.
unsafe fn utf16_prefix(env: sys::napi_env, value: sys::napi_value, units: usize) -> Result<Vec<u16>> {
    let mut buf: Vec<u16> = Vec::with_capacity(units + 1);
    let mut written = 0usize;
    // SAFETY: `buf` has room for `units + 1` code units (napi writes at
    // most `units` of the string and a terminating NUL); `written` reports
    // how many were initialised, which bounds `set_len` below.
    let status =
        unsafe { sys::napi_get_value_string_utf16(env, value, buf.as_mut_ptr(), units + 1, &mut written) };
    if status != sys::Status::napi_ok {
        return Err(Error::new(Status::StringExpected, "expected a string"));
    }
    // SAFETY: napi initialised the first `written` (<= units) code units.
    unsafe { buf.set_len(written.min(units)) };
    Ok(buf)
}

impl Token {
    /// The length in UTF-16 code units (the token's length in bytes when
    /// it is ASCII).
    pub fn units(&self) -> usize {
        self.units
    }

    /// The token's bytes, copying at most `limit + 1` code units: a token
    /// over `limit` reaches the core one byte too long, so the core answers
    /// `too_large` with its own message, and the rest is never copied.
    pub fn bytes(&self, limit: usize) -> Result<Vec<u8>> {
        let take = self.units.min(limit.saturating_add(1));
        // SAFETY: `env` and `value` were given to this call and checked to
        // be a string in `from_napi_value`.
        let units = unsafe { utf16_prefix(self.env, self.value, take)? };
        Ok(units.iter().map(|&u| if u < 0x80 { u as u8 } else { 0xFF }).collect())
    }
}

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
        // SAFETY: napi-rs passes this call's `env` and `value`.
        let units = unsafe { utf16_len(env, value, "token")? };
        Ok(Token { env, value, units })
    }
}

/// Any other string argument of the request layer (method, URL, header
/// names and values): read as UTF-16, its length known before the copy.
pub struct Text {
    env: sys::napi_env,
    value: sys::napi_value,
    units: usize,
}

impl Text {
    /// The length in UTF-16 code units.
    pub fn units(&self) -> usize {
        self.units
    }

    /// The string (lone surrogates become U+FFFD).
    pub fn read(&self) -> Result<String> {
        // SAFETY: `env` and `value` were given to this call and checked to
        // be a string in `from_napi_value`.
        let units = unsafe { utf16_prefix(self.env, self.value, self.units)? };
        if units.iter().all(|&u| u < 0x80) {
            // The common case (HTTP is ASCII): one byte per unit.
            let bytes: Vec<u8> = units.iter().map(|&u| u as u8).collect();
            return Ok(String::from_utf8(bytes).unwrap_or_default());
        }
        Ok(String::from_utf16_lossy(&units))
    }
}

impl TypeName for Text {
    fn type_name() -> &'static str {
        "String"
    }

    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ValidateNapiValue for Text {}

impl FromNapiValue for Text {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        // SAFETY: napi-rs passes this call's `env` and `value`.
        let units = unsafe { utf16_len(env, value, "request fields")? };
        Ok(Text { env, value, units })
    }
}
