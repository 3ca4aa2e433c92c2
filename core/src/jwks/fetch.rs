//! HTTP(S) GET of JWKS and OpenID configuration documents.
//!
//! ureq (blocking, small) on rustls with the aws-lc-rs provider, the same
//! cryptography as the verifier, and Mozilla's root certificates (or the
//! policy's `ca_file`). Connect and total timeouts and a body size limit
//! bound every fetch, so a slow or hostile endpoint costs at most
//! `timeout_ms` and `max_bytes`.
//!
//! - No redirect is followed: a key URL must answer itself, so a 3xx is a
//!   failure that names its `Location`. An open redirect under a trusted
//!   prefix cannot lead the fetch elsewhere.
//! - No connection is kept: every fetch opens its own, so a process forked
//!   after a fetch inherits no socket that its siblings share.
//! - `ETag` and `Last-Modified` are sent back as `If-None-Match` and
//!   `If-Modified-Since`; a 304 keeps the set.
//! - `Retry-After` (seconds or an HTTP date) of a 429 or 503 is reported so
//!   the caller can back off for at least that long.

use std::sync::Arc;

use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use super::RemoteSettings;
use super::httpdate::parse_http_date;

/// The validators of a fetched document, sent back on the next fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub(crate) fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// What a successful fetch returned.
pub(crate) enum Fetched {
    /// 200 with a body.
    Body {
        body: Vec<u8>,
        /// `Cache-Control: max-age`, when the response had one.
        max_age: Option<u64>,
        validators: Validators,
    },
    /// 304: the document did not change since the validators were taken.
    NotModified { max_age: Option<u64> },
}

/// A failed fetch.
#[derive(Debug)]
pub(crate) struct Failure {
    pub why: String,
    /// Seconds the server asked us to wait (`Retry-After` on 429 or 503).
    pub retry_after_s: Option<f64>,
}

impl From<String> for Failure {
    fn from(why: String) -> Failure {
        Failure { why, retry_after_s: None }
    }
}

impl From<&str> for Failure {
    fn from(why: &str) -> Failure {
        Failure { why: why.to_owned(), retry_after_s: None }
    }
}

/// A client configured for one key source.
pub(crate) struct Fetcher {
    agent: ureq::Agent,
    max_bytes: u64,
}

impl Fetcher {
    pub(crate) fn new(settings: &RemoteSettings) -> Fetcher {
        let roots = match &settings.ca_certs {
            None => RootCerts::WebPki,
            Some(certs) => RootCerts::Specific(Arc::new(
                certs.iter().map(|der| Certificate::from_der(der).to_owned()).collect(),
            )),
        };
        let (timeout, max_bytes, allow_http) = (settings.timeout, settings.max_bytes, settings.allow_http);
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(roots)
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .https_only(!allow_http)
            .max_redirects(0)
            .http_status_as_error(false)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .timeout_connect(Some(timeout))
            .timeout_global(Some(timeout))
            .build()
            .new_agent();
        Fetcher { agent, max_bytes }
    }

    /// GETs `url`, conditionally when `validators` are given.
    pub(crate) fn get(&self, url: &str, validators: Option<&Validators>) -> Result<Fetched, Failure> {
        let mut request = self.agent.get(url).header("Accept", "application/jwk-set+json, application/json");
        let conditional = validators.is_some_and(|v| !v.is_empty());
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                request = request.header("If-None-Match", etag);
            }
            if let Some(date) = &v.last_modified {
                request = request.header("If-Modified-Since", date);
            }
        }
        let mut response = request.call().map_err(|e| format!("GET {url}: {e}"))?;
        let header =
            |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let max_age = header("cache-control").as_deref().and_then(parse_max_age);
        let status = response.status().as_u16();
        match status {
            200 => {}
            304 if conditional => return Ok(Fetched::NotModified { max_age }),
            300..=399 => {
                let to = header("location").unwrap_or_default();
                return Err(format!("GET {url}: HTTP {status} redirect to {to:?} not followed").into());
            }
            _ => {
                let retry_after_s = match status {
                    429 | 503 => header("retry-after").as_deref().and_then(parse_retry_after),
                    _ => None,
                };
                let why = match retry_after_s {
                    Some(s) => format!("GET {url}: HTTP {status} (Retry-After {s:.0} s)"),
                    None => format!("GET {url}: HTTP {status}"),
                };
                return Err(Failure { why, retry_after_s });
            }
        }
        let validators = Validators { etag: header("etag"), last_modified: header("last-modified") };
        let body = response
            .body_mut()
            .with_config()
            .limit(self.max_bytes)
            .read_to_vec()
            .map_err(|e| format!("GET {url}: {e}"))?;
        Ok(Fetched::Body { body, max_age, validators })
    }
}

/// `max-age` of a Cache-Control value; `no-cache`/`no-store` count as 0.
fn parse_max_age(value: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in value.split(',') {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "no-cache" || directive == "no-store" {
            return Some(0);
        }
        if let Some(v) = directive.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse().ok();
        }
    }
    max_age
}

/// Seconds to wait from a `Retry-After` value: delay-seconds or an
/// HTTP-date (RFC 9110 section 10.2.3), measured against the system clock.
fn parse_retry_after(value: &str) -> Option<f64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.parse::<u64>().map_or(f64::MAX, |s| s as f64));
    }
    let at = parse_http_date(value)?;
    Some((at - crate::clock::unix_now()).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::{parse_max_age, parse_retry_after};

    #[test]
    fn reads_max_age() {
        assert_eq!(parse_max_age("public, max-age=3600"), Some(3600));
        assert_eq!(parse_max_age("max-age=\"60\", must-revalidate"), Some(60));
        assert_eq!(parse_max_age("no-store"), Some(0));
        assert_eq!(parse_max_age("public"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }

    #[test]
    fn reads_retry_after() {
        assert_eq!(parse_retry_after("30"), Some(30.0));
        assert_eq!(parse_retry_after(" 0 "), Some(0.0));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
        // A date in the past means now; one far ahead is far ahead.
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(0.0));
        assert!(parse_retry_after("Fri, 31 Dec 19xx 23:59:59 GMT").is_none());
        assert!(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT").unwrap() > 1e9);
    }
}
