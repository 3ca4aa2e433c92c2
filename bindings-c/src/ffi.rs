//! Pointer and buffer helpers shared by the entry points. Every raw pointer
//! the C side hands over is checked here before it becomes a Rust reference.

use std::ffi::c_char;

use crate::error::{jwtgate_code, jwtgate_error};

/// A read-only view of text owned by a handle (or static): `data` points at
/// `len` bytes of UTF-8, not NUL-terminated. `data` is NULL (and `len` 0)
/// when there is no value, which differs from an empty string. The bytes stay
/// valid until the handle that returned them is freed; never free `data`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct jwtgate_str {
    /// First byte, or NULL for "no value".
    pub data: *const c_char,
    /// Number of bytes.
    pub len: usize,
}

impl jwtgate_str {
    /// No value.
    pub(crate) const NONE: jwtgate_str = jwtgate_str { data: std::ptr::null(), len: 0 };

    /// A view of `text`, which must outlive every use the caller makes of it.
    pub(crate) fn of(text: &str) -> jwtgate_str {
        jwtgate_str { data: text.as_ptr().cast(), len: text.len() }
    }

    pub(crate) fn of_option(text: Option<&str>) -> jwtgate_str {
        text.map_or(jwtgate_str::NONE, jwtgate_str::of)
    }
}

/// The bytes at `ptr`, checked for NULL and a sane length.
///
/// # Safety
/// When `ptr` is not NULL it must point at `len` readable bytes that stay
/// valid and unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const c_char,
    len: usize,
    what: &str,
) -> Result<&'a [u8], jwtgate_error> {
    if ptr.is_null() {
        return Err(jwtgate_error::null(what));
    }
    if len > isize::MAX as usize {
        return Err(jwtgate_error::binding(
            jwtgate_code::JWTGATE_INVALID_PARAMETER,
            format!("{what}: length {len} is out of range"),
        ));
    }
    // SAFETY: ptr is not NULL, len fits an isize, and the caller promises
    // len readable bytes that live for 'a.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// The UTF-8 text at `ptr`.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn text<'a>(ptr: *const c_char, len: usize, what: &str) -> Result<&'a str, jwtgate_error> {
    // SAFETY: forwarded from the caller.
    let raw = unsafe { bytes(ptr, len, what) }?;
    std::str::from_utf8(raw).map_err(|e| {
        jwtgate_error::binding(jwtgate_code::JWTGATE_INVALID_UTF8, format!("{what} is not UTF-8: {e}"))
    })
}

/// Optional UTF-8 text: NULL means none.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn optional_text<'a>(
    ptr: *const c_char,
    len: usize,
    what: &str,
) -> Result<Option<&'a str>, jwtgate_error> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { text(ptr, len, what) }.map(Some)
}

/// A shared reference to a handle, or a NULL_PARAMETER error.
///
/// # Safety
/// When not NULL, `ptr` must come from this library's matching constructor
/// and not have been freed.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, jwtgate_error> {
    // SAFETY: the caller promises a live handle or NULL.
    unsafe { ptr.as_ref() }.ok_or_else(|| jwtgate_error::null(what))
}

/// Checks that an out-pointer is not NULL.
pub(crate) fn out_ptr<T>(ptr: *mut T, what: &str) -> Result<*mut T, jwtgate_error> {
    if ptr.is_null() { Err(jwtgate_error::null(what)) } else { Ok(ptr) }
}

/// Ends a fallible call: on success stores `value` through `out` (checked
/// non-NULL by the caller of this helper) and returns `JWTGATE_OK`; on
/// failure stores the error through `out_error` when that is not NULL and
/// returns its code.
///
/// # Safety
/// `out` must be writable; `out_error` must be NULL or writable.
pub(crate) unsafe fn finish<T>(
    result: Result<T, jwtgate_error>,
    out: impl FnOnce(T),
    out_error: *mut *mut jwtgate_error,
) -> jwtgate_code {
    match result {
        Ok(value) => {
            out(value);
            jwtgate_code::JWTGATE_OK
        }
        // SAFETY: forwarded from the caller.
        Err(error) => unsafe { fail(error, out_error) },
    }
}

/// Stores `error` through `out_error` (when not NULL) and returns its code.
///
/// # Safety
/// `out_error` must be NULL or writable.
pub(crate) unsafe fn fail(error: jwtgate_error, out_error: *mut *mut jwtgate_error) -> jwtgate_code {
    let code = error.code;
    if !out_error.is_null() {
        // SAFETY: out_error is not NULL and the caller promises it is writable.
        unsafe { *out_error = Box::into_raw(Box::new(error)) };
    }
    code
}

/// Copies `text` into the caller's buffer with a terminating NUL.
/// `*out_n` receives the length without the NUL, also when the buffer is
/// too small (so the caller can allocate `*out_n + 1` bytes and retry).
///
/// # Safety
/// `buf` must be NULL or point at `buf_len` writable bytes; `out_n` must be
/// NULL or writable.
pub(crate) unsafe fn copy_out(
    text: &[u8],
    buf: *mut c_char,
    buf_len: usize,
    out_n: *mut usize,
) -> jwtgate_code {
    if out_n.is_null() {
        return jwtgate_code::JWTGATE_NULL_PARAMETER;
    }
    // SAFETY: out_n is not NULL and the caller promises it is writable.
    unsafe { *out_n = text.len() };
    if buf_len <= text.len() {
        return jwtgate_code::JWTGATE_BUFFER_TOO_SMALL;
    }
    if buf.is_null() {
        return jwtgate_code::JWTGATE_NULL_PARAMETER;
    }
    // SAFETY: buf holds buf_len > text.len() writable bytes, and cannot
    // overlap text, which Rust owns.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
        *buf.add(text.len()) = 0;
    }
    jwtgate_code::JWTGATE_OK
}
