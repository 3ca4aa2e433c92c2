//! HTTP(S) GET of JWKS and OpenID configuration documents.
//!
//! ureq (blocking, small) on rustls with the aws-lc-rs provider, the same
//! cryptography as the verifier, and Mozilla's root certificates (or the
//! policy's `ca_file`). Connect
//! and total timeouts and a body size limit bound every fetch, so a slow or
//! hostile endpoint costs at most `timeout_ms` and `max_bytes`.

use std::sync::Arc;

use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use super::RemoteSettings;

/// What a fetch returned.
pub(crate) struct Fetched {
    pub body: Vec<u8>,
    /// `Cache-Control: max-age`, when the response had one.
    pub max_age: Option<u64>,
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
            .max_redirects(3)
            .timeout_connect(Some(timeout))
            .timeout_global(Some(timeout))
            .build()
            .new_agent();
        Fetcher { agent, max_bytes }
    }

    pub(crate) fn get(&self, url: &str) -> Result<Fetched, String> {
        let mut response = self.agent.get(url).call().map_err(|e| format!("GET {url}: {e}"))?;
        let max_age =
            response.headers().get("cache-control").and_then(|v| v.to_str().ok()).and_then(parse_max_age);
        let body = response
            .body_mut()
            .with_config()
            .limit(self.max_bytes)
            .read_to_vec()
            .map_err(|e| format!("GET {url}: {e}"))?;
        Ok(Fetched { body, max_age })
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

#[cfg(test)]
mod tests {
    use super::parse_max_age;

    #[test]
    fn reads_max_age() {
        assert_eq!(parse_max_age("public, max-age=3600"), Some(3600));
        assert_eq!(parse_max_age("max-age=\"60\", must-revalidate"), Some(60));
        assert_eq!(parse_max_age("no-store"), Some(0));
        assert_eq!(parse_max_age("public"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }
}
