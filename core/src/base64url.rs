//! Strict base64url (RFC 7515 section 2): URL-safe alphabet, no padding, no
//! whitespace, no non-canonical trailing bits. Anything else is `malformed`.
//! base64-simd decodes with SIMD where the CPU has it: the payload is
//! decoded on every verification.

use std::mem::MaybeUninit;

use base64_simd::{Out, URL_SAFE_NO_PAD as B64};

/// Decodes strict base64url into a new vector.
pub(crate) fn decode(input: &[u8]) -> Option<Vec<u8>> {
    B64.decode_to_vec(input).ok()
}

/// Decodes strict base64url into the start of `out` and returns the decoded
/// bytes, or `None` when the input is not strict base64url or does not fit.
/// `out` may be uninitialised, so a stack buffer sized for the largest
/// signature costs nothing to set up.
pub(crate) fn decode_into<'o>(input: &[u8], out: &'o mut [MaybeUninit<u8>]) -> Option<&'o [u8]> {
    let len = B64.decoded_length(input).ok()?;
    let out = out.get_mut(..len)?;
    B64.decode(input, Out::from_uninit_slice(out)).ok().map(|d| &*d)
}

/// Encodes bytes as base64url without padding.
pub(crate) fn encode(input: impl AsRef<[u8]>) -> String {
    B64.encode_to_string(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_strict_base64url() {
        assert_eq!(decode(b"aGk").as_deref(), Some(&b"hi"[..]));
        assert_eq!(decode(b"").as_deref(), Some(&b""[..]));
        assert!(decode(b"aGk=").is_none(), "padding");
        assert!(decode(b"a+8").is_none(), "standard alphabet");
        assert!(decode(b"a/8").is_none(), "standard alphabet");
        assert!(decode(b"aG k").is_none(), "whitespace");
        assert!(decode(b"aGl").is_none(), "non-canonical trailing bits");
        assert!(decode(b"a").is_none(), "impossible length");
    }

    #[test]
    fn decode_into_refuses_what_does_not_fit() {
        let mut buf = [MaybeUninit::uninit(); 2];
        assert_eq!(decode_into(b"aGk", &mut buf), Some(&b"hi"[..]));
        assert_eq!(decode_into(b"aGVsbG8", &mut buf), None);
        assert_eq!(decode_into(b"aGk=", &mut buf), None);
    }
}
