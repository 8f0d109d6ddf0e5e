//! `nodes[].public_endpoint`: where nodes of other sites reach a node's WireGuard interface.
//!
//! Written `host:port`, `[IPv6]:port`, or a bare address (the port is then the mesh's
//! `listen_port`); the host is an IP address or a DNS name. The value is parsed into its parts
//! when the spec is read, so the `Endpoint =` line of a rendered `wg-quick` file is built from
//! an address or a DNS name and a number, never from text as written.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use serde::Serialize;

use crate::netaddr::Host;

/// A node's public endpoint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    /// An IP address, or a DNS name (lowercased).
    pub host: Host,
    /// The UDP port, when the spec names one.
    pub port: Option<u16>,
}

const HELP: &str = "write `host:port`, `[IPv6]:port` or just the address (the port is then `mesh.wireguard.listen_port`): the host is an IP address or a DNS name, the port 1-65535, e.g. `vpn.example.com:51820`";

fn fail<T>(what: impl Into<String>) -> Result<T, (String, String)> {
    Err((what.into(), HELP.to_owned()))
}

fn port(s: &str) -> Result<u16, (String, String)> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return fail("is not `host:port`: the port is not a number from 1 to 65535");
    }
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => fail("is not `host:port`: the port is not a number from 1 to 65535"),
    }
}

/// A DNS name as `wg` resolves it: dot-separated labels of `A-Za-z0-9-` (1-63 each, not
/// starting or ending with `-`), at most 253 characters, not all digits (a dotted number that
/// is no IPv4 address is a typo, not a name). Lowercased.
fn dns_name(s: &str) -> Result<String, (String, String)> {
    let s = s.strip_suffix('.').unwrap_or(s);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if s.is_empty() || s.len() > 253 || !s.split('.').all(label_ok) {
        return fail("is not an IP address or a DNS name followed by an optional `:port`");
    }
    if s.split('.').all(|l| l.bytes().all(|b| b.is_ascii_digit())) {
        return fail("is not an IP address (and all digits, so no DNS name either)");
    }
    Ok(s.to_ascii_lowercase())
}

impl FromStr for Endpoint {
    type Err = (String, String);

    /// ```
    /// use meshspec::wireguard::Endpoint;
    /// let e: Endpoint = "[2001:db8::1]:51821".parse().unwrap();
    /// assert_eq!((e.to_string(), e.port), ("[2001:db8::1]:51821".to_owned(), Some(51821)));
    /// assert_eq!("VPN.example.com".parse::<Endpoint>().unwrap().with_port(51820), "vpn.example.com:51820");
    /// assert!("203.0.113.7:0".parse::<Endpoint>().is_err());
    /// assert_eq!("2001:db8::1".parse::<Endpoint>().unwrap().port, None); // a bare IPv6 address
    /// assert!("vpn example:1".parse::<Endpoint>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return fail("is empty");
        }
        if let Some(rest) = s.strip_prefix('[') {
            let Some((addr, after)) = rest.split_once(']') else {
                return fail("opens `[` without closing it");
            };
            let Ok(ip) = addr.parse::<Ipv6Addr>() else {
                return fail("is not `[IPv6]:port`: the text in brackets is not an IPv6 address");
            };
            let port = match after {
                "" => None,
                p => match p.strip_prefix(':') {
                    Some(p) => Some(port(p)?),
                    None => return fail("is not `[IPv6]:port`: `]` is not followed by `:port`"),
                },
            };
            return Ok(Endpoint {
                host: Host::Ip(IpAddr::V6(ip)),
                port,
            });
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Endpoint {
                host: Host::Ip(ip),
                port: None,
            });
        }
        if s.bytes().filter(|b| *b == b':').count() > 1 {
            return fail(
                "is not an IP address, and an IPv6 address with a port goes in brackets (`[2001:db8::1]:51820`)",
            );
        }
        let (host, port) = match s.split_once(':') {
            Some((h, p)) => (h, Some(port(p)?)),
            None => (s, None),
        };
        let host = match host.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(dns_name(host)?),
        };
        Ok(Endpoint { host, port })
    }
}

impl Endpoint {
    /// The value of a `wg-quick` `Endpoint =` line: `host:port`, `[IPv6]:port`, with
    /// `default_port` when the spec names none.
    #[must_use]
    pub fn with_port(&self, default_port: u16) -> String {
        let port = self.port.unwrap_or(default_port);
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
            h => format!("{h}:{port}"),
        }
    }

    /// The IP address, when the host is one (not a DNS name).
    #[must_use]
    pub fn ip(&self) -> Option<IpAddr> {
        match self.host {
            Host::Ip(ip) => Some(ip),
            Host::Name(_) => None,
        }
    }
}

impl fmt::Display for Endpoint {
    /// As the spec writes it: `host:port`, `[IPv6]:port`, or the bare host without a port.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.port, &self.host) {
            (Some(_), _) => f.write_str(&self.with_port(0)),
            (None, h) => write!(f, "{h}"),
        }
    }
}

impl Serialize for Endpoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_written_form() {
        for (text, host, port, line) in [
            (
                "203.0.113.7:51820",
                "203.0.113.7",
                Some(51820),
                "203.0.113.7:51820",
            ),
            ("203.0.113.7", "203.0.113.7", None, "203.0.113.7:51999"),
            (
                "[2001:db8::7]:443",
                "2001:db8::7",
                Some(443),
                "[2001:db8::7]:443",
            ),
            ("[2001:db8::7]", "2001:db8::7", None, "[2001:db8::7]:51999"),
            ("2001:db8::7", "2001:db8::7", None, "[2001:db8::7]:51999"),
            (
                "Home.Example.NET:65535",
                "home.example.net",
                Some(65535),
                "home.example.net:65535",
            ),
            (
                "vpn.example.com.",
                "vpn.example.com",
                None,
                "vpn.example.com:51999",
            ),
            ("gw", "gw", None, "gw:51999"),
        ] {
            let e: Endpoint = text.parse().unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(e.host.to_string(), host, "{text}");
            assert_eq!(e.port, port, "{text}");
            assert_eq!(e.with_port(51999), line, "{text}");
            // what the spec prints reads back to the same endpoint
            assert_eq!(e.to_string().parse::<Endpoint>(), Ok(e), "{text}");
        }
    }

    #[test]
    fn refuses_what_a_wg_quick_line_cannot_hold() {
        for bad in [
            "",
            ":51820",
            "203.0.113.7:",
            "203.0.113.7:0",
            "203.0.113.7:65536",
            "203.0.113.7:+1",
            "203.0.113.7:51820 # x",
            "203.0.113.7\nPostUp = id",
            "[2001:db8::7",
            "[2001:db8::7]51820",
            "[203.0.113.7]:1",
            "[gw]:1",
            "2001:db8::7:51820x",
            "300.1.2.3",
            "1.2.3:51820",
            "-gw.example.com",
            "gw_1.example.com",
            "gw..example.com",
            "vpn.example.com:51820:1",
            "vpn.example.com;id",
            "$(id)",
            "ex\u{202e}ample.com",
        ] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}.com", "a".repeat(64));
        assert!(long.parse::<Endpoint>().is_err());
    }
}
