//! The panic boundary every `extern "C"` body runs in: a panic must never
//! unwind into C, so it becomes a value (`JWTGATE_PANIC`, NULL, 0 or an
//! empty string, by return type).

use crate::error::jwtgate_code;
use crate::ffi::jwtgate_str;

/// What an entry point returns when its body panicked.
pub(crate) trait PanicValue {
    fn panic_value() -> Self;
}

impl PanicValue for jwtgate_code {
    fn panic_value() -> Self {
        jwtgate_code::JWTGATE_PANIC
    }
}

impl PanicValue for () {
    fn panic_value() -> Self {}
}

impl PanicValue for usize {
    fn panic_value() -> Self {
        0
    }
}

impl PanicValue for u16 {
    fn panic_value() -> Self {
        0
    }
}

impl<T> PanicValue for *const T {
    fn panic_value() -> Self {
        std::ptr::null()
    }
}

impl PanicValue for jwtgate_str {
    fn panic_value() -> Self {
        jwtgate_str::NONE
    }
}

/// Runs the body, turning a panic into the return type's panic value.
macro_rules! ffi_boundary {
    ($($body:tt)*) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| { $($body)* })) {
            Ok(value) => value,
            Err(_) => $crate::panic::PanicValue::panic_value(),
        }
    };
}
