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

impl PanicValue for bool {
    fn panic_value() -> Self {
        false
    }
}

impl PanicValue for usize {
    fn panic_value() -> Self {
        0
    }
}

impl PanicValue for u64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn boom() -> jwtgate_code {
        ffi_boundary! {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            jwtgate_code::JWTGATE_OK
        }
    }

    fn fine() -> usize {
        ffi_boundary! { 7 }
    }

    #[test]
    fn a_panic_becomes_the_panic_value() {
        assert_eq!(boom(), jwtgate_code::JWTGATE_PANIC);
        assert_eq!(fine(), 7);
        let s: jwtgate_str = ffi_boundary! { panic!("boom") };
        assert!(s.data.is_null());
    }
}
