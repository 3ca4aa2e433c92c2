//! Where a gateway finds the token in a request: a header (with an auth
//! scheme such as `Bearer`), a cookie or a query-string parameter, in the
//! order the policy's `token_sources` lists them. Every binding calls this,
//! so Express, ASGI and Nginx read tokens the same way.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

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
        let token = match scheme {
            None => value.trim(),
            Some(scheme) => {
                let (given, rest) = value.trim_start().split_once(' ')?;
                if !given.eq_ignore_ascii_case(scheme) {
                    return None;
                }
                rest.trim()
            }
        };
        (!token.is_empty()).then_some(token)
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"')).filter(|v| !v.is_empty())
    })
}

/// The percent-decoded value of parameter `name` in a query string (without
/// the leading `?`).
pub fn query_value<'a>(query: &'a str, name: &str) -> Option<Cow<'a, str>> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        if k != name || v.is_empty() {
            return None;
        }
        percent_decode_str(v).decode_utf8().ok()
    })
}

/// The first token the sources find. `header` looks a request header up by
/// name (case-insensitively); `query` is the raw query string, if any.
pub fn find_token<'a>(
    sources: &[TokenSource],
    header: &dyn Fn(&str) -> Option<&'a str>,
    query: Option<&'a str>,
) -> Option<Cow<'a, str>> {
    sources.iter().find_map(|source| match source {
        TokenSource::Header { name, .. } => {
            header(name).and_then(|v| source.from_header_value(v)).map(Cow::Borrowed)
        }
        TokenSource::Cookie(name) => header("cookie").and_then(|c| cookie_value(c, name)).map(Cow::Borrowed),
        TokenSource::Query(name) => query.and_then(|q| query_value(q, name)),
    })
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
        assert_eq!(query_value("x=1&access_token=a%2Eb", "access_token").as_deref(), Some("a.b"));
        assert_eq!(query_value("access_token=", "access_token"), None);
    }

    #[test]
    fn sources_are_tried_in_order() {
        let sources = [bearer(), TokenSource::Cookie("c".into()), TokenSource::Query("q".into())];
        let headers = |name: &str| match name.to_ascii_lowercase().as_str() {
            "cookie" => Some("c=fromcookie"),
            _ => None,
        };
        assert_eq!(find_token(&sources, &headers, Some("q=fromquery")).as_deref(), Some("fromcookie"));
        assert_eq!(find_token(&sources, &|_| None, Some("q=fromquery")).as_deref(), Some("fromquery"));
        assert_eq!(find_token(&sources, &|_| None, None), None);
    }
}
