//! Small helpers for hosts in URLs (`https://100.84.89.67:6443`, `http://proxy.lan:3128`).

use std::net::IpAddr;

/// A URL's host: an IP address or a DNS name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Host {
    /// An IP literal.
    Ip(IpAddr),
    /// A DNS name (lowercased).
    Name(String),
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

fn host_of(rest: &str) -> Option<Host> {
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        let (h, port) = authority.rsplit_once(':').unwrap_or((authority, ""));
        if !port.is_empty() && port.parse::<u16>().is_err() {
            return None;
        }
        h
    };
    if host.is_empty() {
        return None;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(Host::Ip(ip));
    }
    let ok = host.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    ok.then(|| Host::Name(host.to_ascii_lowercase()))
}

/// The host of an `https://` URL (k3s server URLs are https only).
///
/// ```
/// use meshspec::netaddr::{url_host, Host};
/// assert_eq!(url_host("https://100.84.89.67:6443"), Some(Host::Ip("100.84.89.67".parse().unwrap())));
/// assert_eq!(url_host("http://x:6443"), None);
/// ```
#[must_use]
pub fn url_host(url: &str) -> Option<Host> {
    host_of(url.trim().strip_prefix("https://")?)
}

/// The port of an `https://` URL, 443 when absent.
#[must_use]
pub fn url_port(url: &str) -> Option<u16> {
    let rest = url.trim().strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let after_host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(_, r)| r)?,
        None => authority.rsplit_once(':').map_or("", |(_, p)| p),
    };
    let port = after_host.trim_start_matches(':');
    if port.is_empty() {
        Some(443)
    } else {
        port.parse().ok()
    }
}

/// Whether a URL carries a user name or password (`http://user:pw@proxy:3128`).
///
/// ```
/// use meshspec::netaddr::has_credentials;
/// assert!(has_credentials("http://user:pw@proxy.lan:3128"));
/// assert!(!has_credentials("http://proxy.lan:3128"));
/// assert!(!has_credentials("localhost,10.0.0.0/8"));
/// ```
#[must_use]
pub fn has_credentials(url: &str) -> bool {
    url::Url::parse(url.trim()).is_ok_and(|u| !u.username().is_empty() || u.password().is_some())
}

/// The host of a proxy URL (`http://`, `https://` or `socks5://`).
#[must_use]
pub fn proxy_url_host(url: &str) -> Option<Host> {
    let t = url.trim();
    let rest = t
        .strip_prefix("http://")
        .or_else(|| t.strip_prefix("https://"))
        .or_else(|| t.strip_prefix("socks5://"))?;
    host_of(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports() {
        assert_eq!(
            url_host("https://k3s.tail1234.ts.net:6443/"),
            Some(Host::Name("k3s.tail1234.ts.net".into()))
        );
        assert_eq!(
            url_host("https://[fd7a:115c:a1e0::1]:6443"),
            Some(Host::Ip("fd7a:115c:a1e0::1".parse().unwrap()))
        );
        assert_eq!(url_port("https://[fd7a::1]:6443"), Some(6443));
        assert_eq!(url_port("https://a:6443"), Some(6443));
        assert_eq!(url_port("https://a"), Some(443));
        assert_eq!(url_host("https://"), None);
        assert_eq!(url_host("https://a b"), None);
        assert_eq!(
            proxy_url_host("http://user:pw@proxy.lan:3128"),
            Some(Host::Name("proxy.lan".into()))
        );
        assert_eq!(proxy_url_host("proxy.lan:3128"), None);
    }
}
