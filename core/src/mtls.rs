//! Certificate-bound tokens (RFC 8705 section 3): where the client
//! certificate comes from, and which proxies may forward it.

use std::borrow::Cow;
use std::net::IpAddr;

use percent_encoding::percent_decode_str;

use crate::error::Error;

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `::1/128` or a bare address (a /32 or /128).
    pub(crate) fn parse(text: &str) -> Result<Cidr, Error> {
        let bad = || Error::policy(format!("trusted_proxies: {text:?} is not an IP address or CIDR"));
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside the network. An IPv4-mapped IPv6 peer
    /// (`::ffff:10.0.0.1`) is compared as IPv4.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = ((bits / 8) as usize, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

/// The DER of a certificate forwarded in a header, in the forms proxies
/// send: PEM; PEM URL-encoded (nginx `$ssl_client_escaped_cert`, AWS ALB);
/// PEM with tab-indented lines (nginx `$ssl_client_cert`); bare base64 DER
/// (Traefik). `None` unless it is exactly one X.509 certificate.
pub(crate) fn cert_from_header(value: &str) -> Option<Vec<u8>> {
    let value = value.trim();
    let text: Cow<'_, str> =
        if value.contains('%') { percent_decode_str(value).decode_utf8().ok()? } else { value.into() };
    let der = if text.contains("-----BEGIN") {
        // Lines may be indented (nginx) or run together with spaces.
        let lines: String = text.split(['\n', '\r', '\t']).map(str::trim).filter(|l| !l.is_empty()).fold(
            String::new(),
            |mut out, line| {
                out.push_str(line);
                out.push('\n');
                out
            },
        );
        let parsed = pem::parse(lines.as_bytes()).ok()?;
        if parsed.tag() != "CERTIFICATE" {
            return None;
        }
        parsed.into_contents()
    } else {
        use base64_simd::STANDARD;
        STANDARD.decode_to_vec(text.as_bytes()).ok()?
    };
    use x509_cert::der::Decode;
    x509_cert::Certificate::from_der(&der).ok()?;
    Some(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_certificates_are_read_in_every_proxy_form() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["client".to_owned()]).unwrap().self_signed(&key).unwrap();
        let (der, pem) = (cert.der().to_vec(), cert.pem());
        let escaped =
            percent_encoding::utf8_percent_encode(&pem, percent_encoding::NON_ALPHANUMERIC).to_string();
        let tabbed = pem.trim_end().replace('\n', "\n\t");
        let bare = base64_simd::STANDARD.encode_to_string(&der);
        for form in [pem.as_str(), &escaped, &tabbed, &bare] {
            assert_eq!(cert_from_header(form).as_deref(), Some(&der[..]), "{form}");
        }
        let key_pem = key.serialize_pem();
        for bad in ["", "not a certificate", "%ZZ", "AAAA", key_pem.as_str()] {
            assert_eq!(cert_from_header(bad), None, "{bad}");
        }
    }

    #[test]
    fn networks_hold_what_their_prefix_says() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()) && !one.contains("127.0.0.2".parse().unwrap()));
        let odd = Cidr::parse("192.168.0.0/23").unwrap();
        assert!(
            odd.contains("192.168.1.255".parse().unwrap()) && !odd.contains("192.168.2.0".parse().unwrap())
        );
        assert!(Cidr::parse("fd00::/8").unwrap().contains("fd12::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nope", "10.0.0/8", "::/129", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
