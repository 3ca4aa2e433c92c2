//! Header forwarding: which claims become upstream headers, and the one
//! rule for every value that reaches a header or an Nginx variable:
//! printable ASCII and spaces only.
//!
//! CR and LF would split a response or inject an upstream header, NUL
//! truncates C strings, other controls confuse parsers, and non-ASCII text
//! has no single meaning in a header (Latin-1 by the letter of RFC 9110,
//! UTF-8 in practice; Node refuses it outright). A claim whose value breaks
//! the rule is not forwarded at all: the header stays absent, never holding
//! the client's value or a mangled one. The payload header (base64url)
//! always carries the full claims for backends that need the rest.

use std::io;

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, Serializer};

use crate::claims::ClaimPath;
use crate::json::{ClaimRef, Members};
use crate::verified::Verified;

/// Whether `value` may be put into a header as it is: printable ASCII
/// (`0x20..=0x7e`) only.
pub fn is_header_safe(value: &str) -> bool {
    value.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// The header form of a claim: a string as it is, any other value as
/// compact JSON; `None` when the claim is absent, null, or breaks the
/// header rule.
pub fn claim_header_value(claims: &Value, path: &ClaimPath) -> Option<String> {
    let text = match path.lookup_value(claims)? {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    is_header_safe(&text).then_some(text)
}

impl Verified {
    /// The header (and Nginx variable) form of one claim, by name or JSON
    /// Pointer: see [`claim_header_value`].
    pub fn claim_header_value(&self, name: &str) -> Option<String> {
        let path = ClaimPath::parse(name).ok()?;
        claim_header_value(self.claims(), &path)
    }

    /// The claims as compact JSON in pure ASCII (non-ASCII characters as
    /// `\uXXXX` escapes, controls escaped as JSON requires), safe for a
    /// header or an Nginx variable. The token's own text may hold raw CR/LF
    /// between members; this never does.
    pub fn claims_ascii_json(&self) -> String {
        ascii_json(self.claims())
    }
}

/// Compact JSON with every non-ASCII character escaped.
pub fn ascii_json(value: &Value) -> String {
    let mut out = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut out, AsciiFormatter);
    // Writing to a Vec cannot fail, and a Value always serializes.
    if value.serialize(&mut serializer).is_err() {
        return "null".to_owned();
    }
    String::from_utf8(out).unwrap_or_else(|_| "null".to_owned())
}

struct AsciiFormatter;

impl Formatter for AsciiFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        CompactFormatter.write_char_escape(writer, escape)
    }
}

/// An HTTP header name: one or more RFC 9110 `tchar`s.
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Header value for a claim: strings as they are, anything else as compact
/// JSON; `None` for null and for values that break the one header rule
/// ([`is_header_safe`]): such a claim is not forwarded.
fn header_value(value: ClaimRef<'_>) -> Option<String> {
    let text = match value {
        ClaimRef::Str(s) => s.to_owned(),
        ClaimRef::Json(Value::Null) => return None,
        ClaimRef::Json(other) => other.to_string(),
    };
    is_header_safe(&text).then_some(text)
}

/// The headers a verified token forwards: each `(claim, header)` of
/// `forward` whose claim is present and header-safe, and the whole payload
/// segment (base64url) under `payload_header`.
pub(crate) fn forward_headers(
    forward: &[(ClaimPath, String)],
    payload_header: Option<&str>,
    members: &Members<'_>,
    payload_b64: &[u8],
) -> Vec<(String, String)> {
    let mut headers = Vec::with_capacity(forward.len() + usize::from(payload_header.is_some()));
    for (path, name) in forward {
        if let Some(value) = path.lookup(members).and_then(header_value) {
            headers.push((name.clone(), value));
        }
    }
    if let Some(name) = payload_header {
        // The segment is already base64url; it was decoded, so it is ASCII.
        headers.push((name.to_owned(), String::from_utf8_lossy(payload_b64).into_owned()));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_printable_ascii_reaches_a_header() {
        assert!(is_header_safe("ada lovelace <ada@example.com>"));
        for bad in ["a\r\nX-Admin: yes", "a\nb", "nul\0", "tab\t", "del\x7f", "José", "\u{85}"] {
            assert!(!is_header_safe(bad), "{bad:?}");
        }
    }

    #[test]
    fn claims_become_header_values_or_nothing() {
        let claims = json!({"sub": "ada", "n": 4, "roles": ["a", "b"], "nul": null, "evil": "x\r\ny",
                            "org": {"name": "Ünï"}});
        let value = |name: &str| claim_header_value(&claims, &ClaimPath::parse(name).unwrap());
        assert_eq!(value("sub").as_deref(), Some("ada"));
        assert_eq!(value("n").as_deref(), Some("4"));
        assert_eq!(value("roles").as_deref(), Some(r#"["a","b"]"#));
        assert_eq!(value("nul"), None);
        assert_eq!(value("evil"), None);
        assert_eq!(value("/org/name"), None);
        assert_eq!(value("absent"), None);
    }

    #[test]
    fn ascii_json_escapes_everything_outside_ascii() {
        let v = json!({"name": "Zoë 😀", "evil": "a\r\nb\u{0}"});
        let text = ascii_json(&v);
        assert!(text.is_ascii() && is_header_safe(&text), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    }
}
