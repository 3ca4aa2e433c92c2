//! The token sources of a policy (a header with an auth scheme such as
//! `Bearer`, a cookie, a query-string parameter), compiled, and the parsing
//! of one header or cookie value. The search over a whole request is the
//! gateway's (`gateway::request::find_token`), so every runtime finds
//! tokens the same way.

use crate::error::Error;
use crate::policy::TokenSourceDoc;

/// One compiled token source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// A header, optionally with an auth scheme before the token.
    Header {
        /// Header name (compared case-insensitively by the caller's lookup).
        name: String,
        /// Scheme such as `Bearer`, compared case-insensitively.
        scheme: Option<String>,
    },
    /// A cookie.
    Cookie(String),
    /// A query-string parameter.
    Query(String),
}

impl TokenSource {
    pub(crate) fn compile(doc: &TokenSourceDoc) -> Result<TokenSource, Error> {
        let bad = |m: &str| Err(Error::policy(format!("token_sources: {m}")));
        match (&doc.header, &doc.cookie, &doc.query) {
            (Some(name), None, None) if !name.is_empty() => {
                Ok(TokenSource::Header { name: name.clone(), scheme: doc.scheme.clone() })
            }
            (None, Some(name), None) if doc.scheme.is_none() && !name.is_empty() => {
                Ok(TokenSource::Cookie(name.clone()))
            }
            (None, None, Some(name)) if doc.scheme.is_none() && !name.is_empty() => {
                Ok(TokenSource::Query(name.clone()))
            }
            _ => bad(
                "each source names exactly one non-empty header, cookie or query (scheme only with header)",
            ),
        }
    }

    /// The token in a header value, after the scheme when one is set.
    pub fn from_header_value<'a>(&self, value: &'a str) -> Option<&'a str> {
        let TokenSource::Header { scheme, .. } = self else { return None };
        // RFC 9110 whitespace only (SP, HTAB): Unicode spaces are bytes a
        // runtime may decode differently, so they stay part of the token.
        let token = match scheme {
            None => trim_ows(value),
            Some(scheme) => {
                let value = trim_ows(value);
                let space = value.bytes().position(|b| b == b' ')?;
                let (given, rest) = (&value[..space], &value[space + 1..]);
                if !given.eq_ignore_ascii_case(scheme) {
                    return None;
                }
                trim_ows(rest)
            }
        };
        (!token.is_empty()).then_some(token)
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (k, v) = trim_ows(pair).split_once('=')?;
        (trim_ows(k) == name).then(|| trim_ows(v).trim_matches('"')).filter(|v| !v.is_empty())
    })
}

/// `text` without leading and trailing SP and HTAB (RFC 9110 "OWS").
fn trim_ows(text: &str) -> &str {
    // Over bytes: SP and HTAB are ASCII, so every cut is a char boundary.
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !ows(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    &text[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer() -> TokenSource {
        TokenSource::Header { name: "Authorization".into(), scheme: Some("Bearer".into()) }
    }

    #[test]
    fn header_with_scheme() {
        assert_eq!(bearer().from_header_value("Bearer abc"), Some("abc"));
        assert_eq!(bearer().from_header_value("bearer   abc "), Some("abc"));
        assert_eq!(bearer().from_header_value("Basic abc"), None);
        assert_eq!(bearer().from_header_value("Bearer "), None);
        assert_eq!(bearer().from_header_value("Bearerabc"), None);
    }

    #[test]
    fn cookies_and_queries() {
        assert_eq!(cookie_value("a=1; access_token=tok; b=2", "access_token"), Some("tok"));
        assert_eq!(cookie_value("a=1", "access_token"), None);
    }
}
