//! The request as a gateway sees it, and where its token is.

use std::borrow::Cow;
use std::net::IpAddr;

use percent_encoding::percent_decode_str;

use crate::error::{Error, ErrorKind};
use crate::sources::{TokenSource, cookie_value};

/// One incoming request, borrowed from the runtime's own request object.
///
/// Headers are name/value pairs in arrival order, so a repeated header
/// (two `Authorization` lines) stays visible; names compare
/// case-insensitively.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// The request target: origin-form (`/path?query`) or an absolute URL.
    pub url: &'a str,
    /// Header name and value pairs as received.
    pub headers: &'a [(&'a str, &'a str)],
    /// The peer's address, where the runtime knows it: matched against the
    /// policy's `trusted_proxies` before a forwarded client certificate is
    /// believed.
    pub peer: Option<IpAddr>,
    /// The client's TLS certificate (DER), where the connection has one:
    /// what a certificate-bound token (`cnf["x5t#S256"]`) is checked
    /// against.
    pub client_cert: Option<&'a [u8]>,
    /// Unix seconds to decide at; `None` uses the system clock.
    pub now: Option<f64>,
    /// Never wait for a key fetch: answer `jwks_unavailable` marked pending
    /// instead (for event loops that poll again later). Defaults to false.
    pub no_wait: bool,
}

impl<'a> Request<'a> {
    /// A request with a method, a URL and headers; every other field unset.
    pub fn new(method: &'a str, url: &'a str, headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
        Request { method, url, headers, ..Request::default() }
    }

    /// Every value of header `name`, in order; names compare as
    /// [`same_header_name`] does.
    pub fn header_values(&self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let headers = self.headers;
        headers.iter().filter(move |(n, _)| same_header_name(n, name)).map(|(_, v)| *v)
    }

    /// The path, without query and fragment.
    pub fn path(&self) -> &'a str {
        split_target(self.url).0
    }

    /// The raw query string, without `?`.
    pub fn query(&self) -> Option<&'a str> {
        split_target(self.url).1
    }
}

/// Whether two header names are one to an upstream: equal ignoring case,
/// with `_` and `-` alike, since CGI, WSGI and FastCGI turn both `X-User`
/// and `X_User` into `HTTP_X_USER`.
pub(crate) fn same_header_name(a: &str, b: &str) -> bool {
    same_header_name_bytes(a.as_bytes(), b.as_bytes())
}

/// Header name bytes as [`same_header_name`] compares them: ASCII letters
/// in lower case, `_` read as `-`, every other byte as it is.
const FOLD: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = if b.is_ascii_uppercase() {
            b.to_ascii_lowercase()
        } else if b == b'_' {
            b'-'
        } else {
            b
        };
        i += 1;
    }
    table
};

/// [`same_header_name`] over bytes. Inlined, and one table lookup a byte:
/// every request compares each of its header names with the names a
/// decision reads.
#[inline]
pub(crate) fn same_header_name_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| FOLD[usize::from(*x)] == FOLD[usize::from(*y)])
}

/// The path and the query of a request target; an absolute URL is reduced
/// to its path first.
fn split_target(url: &str) -> (&str, Option<&str>) {
    // A byte scan: targets are short, and a char searcher's setup costs
    // more than the scan.
    let url = match url.bytes().position(|b| b == b'#') {
        Some(i) => &url[..i],
        None => url,
    };
    // Origin-form (`/path?query`), what nearly every request carries, has
    // no scheme to look for.
    let scheme_end = if url.starts_with('/') { None } else { url.find("://") };
    let origin_form = match scheme_end {
        Some(i) if !url[..i].contains('/') => {
            let rest = &url[i + 3..];
            rest.find(['/', '?']).map_or("/", |j| &rest[j..])
        }
        _ => url,
    };
    match origin_form.bytes().position(|b| b == b'?') {
        Some(i) => {
            let path = &origin_form[..i];
            (if path.is_empty() { "/" } else { path }, Some(&origin_form[i + 1..]))
        }
        None => (if origin_form.is_empty() { "/" } else { origin_form }, None),
    }
}

/// Where a token was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundToken<'a> {
    pub token: Cow<'a, str>,
    /// The query parameter that held it, when it came from the query.
    pub query_param: Option<&'a str>,
    /// The header that held it, when it came from a header.
    pub header: Option<&'a str>,
}

impl FoundToken<'_> {
    /// `invalid_request` when the token came from a header that a server
    /// joined from repeated ones (WSGI joins with a comma, which no token
    /// holds; another scheme's value may). A token that verified has no
    /// comma, so a decision asks only after a failure.
    pub(crate) fn joined_headers(&self) -> Option<Error> {
        let name = self.header?;
        self.token.contains(',').then(|| invalid(format!("the request has more than one {name} header")))
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidRequest, message)
}

/// The token of a request: the first configured source that holds one
/// wins (the sources' order is the policy's). A source that appears more
/// than once in the request (two `Authorization` headers, a cookie or a
/// query parameter given twice) is `invalid_request`: the gateway and the
/// upstream could otherwise read different tokens.
pub(crate) fn find_token<'a>(
    sources: &'a [TokenSource],
    request: &Request<'a>,
) -> Result<Option<FoundToken<'a>>, Error> {
    let found = locate_token(sources, request)?;
    match found.as_ref().and_then(FoundToken::joined_headers) {
        Some(e) => Err(e),
        None => Ok(found),
    }
}

/// [`find_token`] without the joined-headers check, which the caller makes
/// ([`FoundToken::joined_headers`]) when the token fails: a scan of every
/// token byte that a verified token never needs.
pub(crate) fn locate_token<'a>(
    sources: &'a [TokenSource],
    request: &Request<'a>,
) -> Result<Option<FoundToken<'a>>, Error> {
    for source in sources {
        let found = match source {
            TokenSource::Header { name, .. } => {
                let mut values = request.header_values(name);
                let first = values.next();
                if values.next().is_some() {
                    return Err(invalid(format!("the request has more than one {name} header")));
                }
                let token = first.and_then(|v| source.from_header_value(v));
                token.map(|t| (Cow::Borrowed(t), None, Some(name.as_str())))
            }
            TokenSource::Cookie(name) => {
                let mut found = None;
                for header in request.header_values("cookie") {
                    let mut rest = header;
                    while let Some(value) = cookie_value(rest, name) {
                        if found.replace(value).is_some() {
                            return Err(invalid(format!("the request has more than one {name} cookie")));
                        }
                        // Continue after this occurrence to find a second one.
                        let at = value.as_ptr() as usize - rest.as_ptr() as usize + value.len();
                        rest = &rest[at..];
                    }
                }
                found.map(|t| (Cow::Borrowed(t), None, None))
            }
            TokenSource::Query(name) => {
                let mut found = None;
                for (k, v) in
                    request.query().into_iter().flat_map(|q| q.split('&')).filter_map(|p| p.split_once('='))
                {
                    if decoded(k).as_deref() != Some(name.as_str()) {
                        continue;
                    }
                    if found.is_some() {
                        return Err(invalid(format!("the query has more than one {name} parameter")));
                    }
                    found = Some(v);
                }
                match found {
                    None => None,
                    Some(raw) => {
                        let token = decoded(raw).ok_or_else(|| {
                            invalid(format!("the {name} query parameter is not percent-encoded UTF-8"))
                        })?;
                        (!token.is_empty()).then_some((token, Some(name.as_str()), None))
                    }
                }
            }
        };
        if let Some((token, query_param, header)) = found {
            return Ok(Some(FoundToken { token, query_param, header }));
        }
    }
    Ok(None)
}

/// A query component, percent-decoded (`+` stays `+`: tokens never hold spaces).
fn decoded(raw: &str) -> Option<Cow<'_, str>> {
    percent_decode_str(raw).decode_utf8().ok()
}

/// The query parameters the sources name that the request carries: cut
/// from the URL passed upstream whichever source the token came from, so a
/// second token never reaches the upstream or its logs.
pub(crate) fn query_params_present<'s>(sources: &'s [TokenSource], request: &Request<'_>) -> Vec<&'s str> {
    if !sources.iter().any(|s| matches!(s, TokenSource::Query(_))) {
        return Vec::new();
    }
    let Some(query) = request.query() else { return Vec::new() };
    sources
        .iter()
        .filter_map(|s| match s {
            TokenSource::Query(name) => Some(name.as_str()),
            _ => None,
        })
        .filter(|name| {
            query.split('&').any(|pair| {
                let key = pair.split_once('=').map_or(pair, |(k, _)| k);
                decoded(key).as_deref() == Some(*name)
            })
        })
        .collect()
}

/// The request target without query parameter `name` (every occurrence),
/// for the URL passed upstream (RFC 6750 section 5.3: a token in a URL ends
/// up in logs). The fragment, if any, is dropped.
pub(crate) fn without_query_param(url: &str, name: &str) -> String {
    let url = url.split('#').next().unwrap_or("");
    let Some((base, query)) = url.split_once('?') else { return url.to_owned() };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            decoded(key).as_deref() != Some(name)
        })
        .collect();
    if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer() -> TokenSource {
        TokenSource::Header { name: "Authorization".into(), scheme: Some("Bearer".into()) }
    }

    #[test]
    fn targets_split_into_path_and_query() {
        assert_eq!(split_target("/a/b?x=1#f"), ("/a/b", Some("x=1")));
        assert_eq!(split_target("https://h.example:8443/p?q"), ("/p", Some("q")));
        assert_eq!(split_target("https://h.example?q"), ("/", Some("q")));
        assert_eq!(split_target(""), ("/", None));
        assert_eq!(split_target("/p/x://y"), ("/p/x://y", None));
    }

    #[test]
    fn the_first_configured_source_wins_and_duplicates_are_invalid() {
        let sources = [bearer(), TokenSource::Cookie("at".into()), TokenSource::Query("access_token".into())];
        let headers = [("Cookie", "a=1; at=fromcookie"), ("authorization", "Bearer fromheader")];
        let r = Request::new("GET", "/x?access_token=fromquery", &headers);
        assert_eq!(find_token(&sources, &r).unwrap().unwrap().token, "fromheader");

        let headers = [("Cookie", "a=1; at=fromcookie")];
        let r = Request::new("GET", "/x?access_token=fromquery", &headers);
        assert_eq!(find_token(&sources, &r).unwrap().unwrap().token, "fromcookie");

        let r = Request::new("GET", "/x?y=1&access_token=a%2Eb", &[]);
        let found = find_token(&sources, &r).unwrap().unwrap();
        assert_eq!((found.token.as_ref(), found.query_param), ("a.b", Some("access_token")));

        let two = [("Authorization", "Bearer a"), ("AUTHORIZATION", "Bearer b")];
        let e = find_token(&sources, &Request::new("GET", "/", &two)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        let joined = [("Authorization", "Bearer a, Bearer b")];
        assert!(find_token(&sources, &Request::new("GET", "/", &joined)).is_err());
        let two = [("Cookie", "at=a"), ("Cookie", "at=b")];
        assert!(find_token(&sources, &Request::new("GET", "/", &two)).is_err());
        let two = [("Cookie", "at=a; x=1; at=b")];
        assert!(find_token(&sources, &Request::new("GET", "/", &two)).is_err());
        assert!(
            find_token(&sources, &Request::new("GET", "/?access_token=a&access_%74oken=b", &[])).is_err()
        );
        assert_eq!(find_token(&sources, &Request::new("GET", "/", &[])).unwrap(), None);
    }

    #[test]
    fn header_spellings_an_upstream_merges_count_as_one_header() {
        let sources = [TokenSource::Header { name: "X-Api-Token".into(), scheme: None }];
        let two = [("X-Api-Token", "a.b.c"), ("X_Api_Token", "forged")];
        assert_eq!(
            find_token(&sources, &Request::new("GET", "/", &two)).unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
        assert!(same_header_name("X_USER", "x-user") && !same_header_name("x-users", "x-user"));
    }

    #[test]
    fn header_name_bytes_are_alike_ignoring_ascii_case_and_dash_against_underscore_only() {
        for x in 0..=u8::MAX {
            for y in 0..=u8::MAX {
                let alike =
                    x.eq_ignore_ascii_case(&y) || (matches!(x, b'-' | b'_') && matches!(y, b'-' | b'_'));
                assert_eq!(
                    same_header_name_bytes(&[b'a', x], &[b'A', y]),
                    alike,
                    "{x:#04x} against {y:#04x}"
                );
            }
        }
    }

    #[test]
    fn only_space_and_tab_surround_a_token() {
        let sources = [bearer()];
        let nbsp = [("Authorization", "Bearer \u{a0}abc\t")];
        let found = find_token(&sources, &Request::new("GET", "/", &nbsp)).unwrap().unwrap();
        assert_eq!(found.token, "\u{a0}abc", "a Unicode space is part of the token (and fails it)");
        let comma = [("Authorization", "Digest a=\"1\", b=\"2\"")];
        assert_eq!(find_token(&sources, &Request::new("GET", "/", &comma)).unwrap(), None);
    }

    #[test]
    fn query_tokens_are_removed_from_the_upstream_url() {
        assert_eq!(without_query_param("/a?access_token=t&x=1", "access_token"), "/a?x=1");
        assert_eq!(without_query_param("/a?x=1&access%5Ftoken=t", "access_token"), "/a?x=1");
        assert_eq!(without_query_param("/a?access_token=t", "access_token"), "/a");
        assert_eq!(without_query_param("/a", "access_token"), "/a");
    }
}
