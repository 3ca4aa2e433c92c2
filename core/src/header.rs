//! The protected header: the few members the verifier acts on, and the
//! RFC 8725 rules about the rest.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arc_swap::ArcSwap;
use serde_json::Value;

use crate::alg::Algorithm;
use crate::base64url;
use crate::error::{Error, ErrorKind};
use crate::json::scan_object;

/// What the verifier takes from the header.
#[derive(Debug)]
pub(crate) struct Header {
    /// The decoded header JSON, shared with every result that carries it.
    pub json: Arc<str>,
    pub alg: Algorithm,
    pub kid: Option<String>,
    /// `typ` lower-cased without `application/` (RFC 7515 section 4.1.9).
    pub typ: Option<String>,
    /// A `jku` URL; trusted only inside the issuer's `allowed_jku`.
    pub jku: Option<String>,
}

/// A header segment and its parse.
type Entry = (Box<[u8]>, Arc<Header>);

/// Most distinct headers remembered.
const HEADER_CACHE_ENTRIES: usize = 16;

/// Parsed headers by their base64url segment.
///
/// An issuer signs every token with the same few headers (one per key), so
/// the header segment repeats across tokens. Remembering the parse of the
/// last few (compared byte for byte, bounded, replaced round-robin, only
/// headers that parsed cleanly) takes base64 and JSON work off most
/// verifications. Readers never lock: the list is swapped whole.
pub(crate) struct HeaderCache {
    entries: ArcSwap<Vec<Entry>>,
    next_slot: AtomicUsize,
}

impl HeaderCache {
    pub(crate) fn new() -> HeaderCache {
        HeaderCache { entries: ArcSwap::from_pointee(Vec::new()), next_slot: AtomicUsize::new(0) }
    }

    /// The parsed header of a base64url header segment.
    pub(crate) fn get_or_parse(&self, segment: &[u8]) -> Result<Arc<Header>, Error> {
        if let Some((_, header)) = self.entries.load().iter().find(|(s, _)| **s == *segment) {
            return Ok(Arc::clone(header));
        }
        let bytes = base64url::decode(segment)
            .ok_or_else(|| Error::new(ErrorKind::Malformed, "header is not base64url"))?;
        let text =
            String::from_utf8(bytes).map_err(|_| Error::new(ErrorKind::Malformed, "header is not UTF-8"))?;
        let header = Arc::new(parse_header(text.into())?);
        self.entries.rcu(|entries| {
            let mut entries = Vec::clone(entries);
            let entry = (Box::from(segment), Arc::clone(&header));
            if entries.len() < HEADER_CACHE_ENTRIES {
                entries.push(entry);
            } else {
                entries[self.next_slot.fetch_add(1, Ordering::Relaxed) % HEADER_CACHE_ENTRIES] = entry;
            }
            entries
        });
        Ok(header)
    }
}

fn read_members(name: &str) -> bool {
    matches!(name, "alg" | "kid" | "typ" | "crit" | "b64" | "jku" | "x5u" | "jwk")
}

/// Parses and checks a decoded header.
///
/// - `alg` must name a supported algorithm; `none` in any spelling never
///   verifies (`algorithm`).
/// - `crit` is rejected: jwtgate implements no extension, so every critical
///   extension is unknown to it (RFC 7515 section 4.1.11) (`header`).
/// - `b64: false` (RFC 7797, unencoded payload) is rejected (`header`).
/// - `x5u` and an embedded `jwk` would let the token pick its own key; they
///   are rejected rather than ignored (`header`). `jku` is returned for the
///   verifier, which accepts it only inside the issuer's `allowed_jku`.
pub(crate) fn parse_header(text: Arc<str>) -> Result<Header, Error> {
    let members = scan_object(&text, &read_members)
        .map_err(|e| Error::new(ErrorKind::Malformed, format!("header is not a JSON object: {e}")))?;
    let mut alg = None;
    let mut kid = None;
    let mut typ = None;
    let mut jku = None;
    let mut refused = None;
    for (name, value) in members {
        match (name.as_ref(), value.into_value()) {
            ("alg", Value::String(s)) => alg = Some(s),
            ("alg", _) => return Err(Error::new(ErrorKind::Malformed, "header alg must be a string")),
            ("kid", Value::String(s)) => kid = Some(s),
            ("kid", _) => return Err(Error::new(ErrorKind::Malformed, "header kid must be a string")),
            ("typ", Value::String(s)) => typ = Some(s),
            ("typ", _) => return Err(Error::new(ErrorKind::Malformed, "header typ must be a string")),
            ("crit", _) => refused = refused.or(Some("unsupported critical header extension")),
            ("b64", Value::Bool(true)) => {}
            ("b64", _) => refused = refused.or(Some("unencoded payloads (b64) are not accepted")),
            ("jku", Value::String(s)) => jku = Some(s),
            ("jku", _) => return Err(Error::new(ErrorKind::Malformed, "header jku must be a string")),
            ("x5u", _) => refused = refused.or(Some("header x5u is not trusted")),
            (_, _) => refused = refused.or(Some("an embedded jwk is not trusted")),
        }
    }
    let alg = alg.ok_or_else(|| Error::new(ErrorKind::Malformed, "header has no alg"))?;
    let alg = Algorithm::from_name(&alg).ok_or_else(|| {
        if alg.eq_ignore_ascii_case("none") {
            Error::new(ErrorKind::Algorithm, "alg none is never accepted")
        } else {
            Error::new(ErrorKind::Algorithm, "unsupported alg")
        }
    })?;
    if let Some(why) = refused {
        return Err(Error::new(ErrorKind::Header, why));
    }
    Ok(Header { alg, kid, typ: typ.as_deref().map(normalize_typ), jku, json: Arc::clone(&text) })
}

/// Lower-cases a media type and drops an `application/` prefix (RFC 7515
/// section 4.1.9).
pub(crate) fn normalize_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(json: &str) -> String {
        base64url::encode(json)
    }

    #[test]
    fn cache_returns_the_same_parse_and_stays_bounded() {
        let cache = HeaderCache::new();
        let a = segment(r#"{"alg":"RS256","kid":"k1","typ":"Application/AT+JWT"}"#);
        let first = cache.get_or_parse(a.as_bytes()).unwrap();
        let second = cache.get_or_parse(a.as_bytes()).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(
            (first.alg, first.kid.as_deref(), first.typ.as_deref()),
            (Algorithm::RS256, Some("k1"), Some("at+jwt"))
        );
        for i in 0..100 {
            cache.get_or_parse(segment(&format!(r#"{{"alg":"HS256","kid":"{i}"}}"#)).as_bytes()).unwrap();
        }
        assert_eq!(cache.entries.load().len(), HEADER_CACHE_ENTRIES);
    }

    #[test]
    fn rejected_headers_are_not_remembered() {
        let cache = HeaderCache::new();
        let bad = segment(r#"{"alg":"none"}"#);
        assert_eq!(cache.get_or_parse(bad.as_bytes()).unwrap_err().kind(), ErrorKind::Algorithm);
        assert_eq!(cache.get_or_parse(bad.as_bytes()).unwrap_err().kind(), ErrorKind::Algorithm);
        assert!(cache.entries.load().is_empty());
        assert_eq!(cache.get_or_parse(b"e30=").unwrap_err().kind(), ErrorKind::Malformed);
    }
}
