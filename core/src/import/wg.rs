//! A node's `wg-quick` config given to `import` beside its k3s configs: its addresses, listen
//! port and peers (public keys, allowed IPs, endpoints).
//!
//! The parser keeps no `PrivateKey` or `PresharedKey` value: it only notes that one was there.
//! Errors name the line, never its text (the line could hold a key).

use std::net::IpAddr;

use crate::cidr::Cidr;

/// Bytes and lines read at most, as the other inputs are bounded.
const MAX_BYTES: usize = 1 << 20;
const MAX_LINES: usize = 20_000;

/// One `[Peer]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Peer {
    pub public_key: Option<String>,
    /// `(address, prefix)` as written (host bits kept).
    pub allowed_ips: Vec<(IpAddr, u8)>,
    pub endpoint: Option<String>,
    pub keepalive: Option<u16>,
}

/// What a `wg-quick` config shows, secrets left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct WgConf {
    /// `[Interface] Address`: `(address, prefix)`.
    pub addresses: Vec<(IpAddr, u8)>,
    pub listen_port: Option<u16>,
    pub peers: Vec<Peer>,
    /// Whether a `PrivateKey` or `PresharedKey` line was there (its value is not kept).
    pub had_secret: bool,
    /// Keys `wg-quick` does not know, with their line: ignored.
    pub unknown: Vec<(usize, String)>,
}

/// Whether `text` is a `wg-quick` config: it has an `[Interface]` section.
#[must_use]
pub(super) fn is_wg_quick(text: &str) -> bool {
    text.lines()
        .take(MAX_LINES)
        .any(|l| strip_comment(l).trim().eq_ignore_ascii_case("[interface]"))
}

fn strip_comment(l: &str) -> &str {
    l.split_once('#').map_or(l, |(a, _)| a)
}

fn addr_prefix(s: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = a.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
        None => max,
    };
    Some((ip, prefix))
}

fn list(v: &str, line: usize, key: &str) -> Result<Vec<(IpAddr, u8)>, (usize, String)> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            addr_prefix(s).ok_or_else(|| {
                (
                    line,
                    format!("`{key}` holds something that is no address or address/prefix"),
                )
            })
        })
        .collect()
}

/// Parses a `wg-quick` config strictly: `[Interface]`/`[Peer]` sections, `Key = Value` lines,
/// `#` comments. `Err((line, why))`, 1-based, without the line's text.
pub(super) fn parse(text: &str) -> Result<WgConf, (usize, String)> {
    if text.len() > MAX_BYTES {
        return Err((0, format!("is larger than {MAX_BYTES} bytes")));
    }
    #[derive(PartialEq)]
    enum Sec {
        None,
        Interface,
        Peer,
    }
    let mut sec = Sec::None;
    let mut conf = WgConf::default();
    let mut interfaces = 0;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        if n > MAX_LINES {
            return Err((n, format!("has more than {MAX_LINES} lines")));
        }
        let l = strip_comment(raw).trim();
        if l.is_empty() {
            continue;
        }
        if l.starts_with('[') {
            if l.eq_ignore_ascii_case("[interface]") {
                interfaces += 1;
                if interfaces > 1 {
                    return Err((n, "a second `[Interface]` section".to_owned()));
                }
                sec = Sec::Interface;
            } else if l.eq_ignore_ascii_case("[peer]") {
                sec = Sec::Peer;
                conf.peers.push(Peer::default());
            } else {
                return Err((
                    n,
                    "a section other than `[Interface]` or `[Peer]`".to_owned(),
                ));
            }
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            return Err((
                n,
                "is neither a section header nor `Key = Value`".to_owned(),
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        let key = k.to_ascii_lowercase();
        if key == "privatekey" || key == "presharedkey" {
            conf.had_secret = true;
            if sec == Sec::None {
                return Err((n, "a key before any section".to_owned()));
            }
            continue;
        }
        if !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            || k.is_empty()
        {
            return Err((n, "the key is not a word".to_owned()));
        }
        match (&sec, key.as_str()) {
            (Sec::None, _) => return Err((n, "a key before any section".to_owned())),
            (Sec::Interface, "address") => conf.addresses.extend(list(v, n, "Address")?),
            (Sec::Interface, "listenport") => {
                conf.listen_port = Some(
                    v.parse()
                        .map_err(|_| (n, "`ListenPort` is no port number".to_owned()))?,
                );
            }
            (
                Sec::Interface,
                "mtu" | "dns" | "table" | "preup" | "postup" | "predown" | "postdown"
                | "saveconfig" | "fwmark",
            ) => {}
            (Sec::Peer, "publickey") => {
                if crate::wireguard::key::decode(v).is_none() {
                    return Err((
                        n,
                        "`PublicKey` is no WireGuard key (44 characters of base64)".to_owned(),
                    ));
                }
                if let Some(p) = conf.peers.last_mut() {
                    p.public_key = Some(v.to_owned());
                }
            }
            (Sec::Peer, "allowedips") => {
                let l = list(v, n, "AllowedIPs")?;
                if let Some(p) = conf.peers.last_mut() {
                    p.allowed_ips.extend(l);
                }
            }
            (Sec::Peer, "endpoint") => {
                if v.parse::<crate::wireguard::endpoint::Endpoint>().is_err() {
                    return Err((n, "`Endpoint` is no host:port".to_owned()));
                }
                if let Some(p) = conf.peers.last_mut() {
                    p.endpoint = Some(v.to_owned());
                }
            }
            (Sec::Peer, "persistentkeepalive") => {
                let k = if v.eq_ignore_ascii_case("off") {
                    0
                } else {
                    v.parse().map_err(|_| {
                        (
                            n,
                            "`PersistentKeepalive` is no number of seconds".to_owned(),
                        )
                    })?
                };
                if let Some(p) = conf.peers.last_mut() {
                    p.keepalive = Some(k);
                }
            }
            _ => conf
                .unknown
                .push((n, crate::render::line::one_line(k).into_owned())),
        }
    }
    if interfaces == 0 {
        return Err((1, "has no `[Interface]` section".to_owned()));
    }
    Ok(conf)
}

/// The network of `addr/prefix`.
pub(super) fn network(addr: IpAddr, prefix: u8) -> Option<Cidr> {
    Cidr::truncated(addr, prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIV: &str = "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHByaXZhdGUga2V5PQ==";

    #[test]
    fn parses_a_rendered_config_and_keeps_no_private_key() {
        let text = format!(
            "# header\n[Interface]\nAddress = 10.99.0.2/24\nListenPort = 51821\nPrivateKey = {PRIV}\nPostUp = wg set %i private-key /etc/wireguard/wg0.key\n\n[Peer]\nPublicKey = QnG9zjyLsfGZi3JO9HnBJ7YQuNTQcLAC/6y8DjMLon0=\nPresharedKey = {PRIV}\nAllowedIPs = 10.99.0.1/32, 10.42.0.0/24\nEndpoint = 203.0.113.10:51820\nPersistentKeepalive = 20\nFrobnicate = 1\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.addresses, [("10.99.0.2".parse().unwrap(), 24)]);
        assert_eq!(c.listen_port, Some(51821));
        assert!(c.had_secret);
        assert_eq!(c.peers.len(), 1);
        assert_eq!(c.peers[0].allowed_ips.len(), 2);
        assert_eq!(c.peers[0].endpoint.as_deref(), Some("203.0.113.10:51820"));
        assert_eq!(c.unknown, [(14, "Frobnicate".to_owned())]);
        assert!(!format!("{c:?}").contains(PRIV));
    }

    #[test]
    fn garbage_is_an_error_with_its_line_and_never_its_text() {
        for (text, line) in [
            ("[Interface]\nAddress = 10.0.0.1/24\nPrivateKey\n", 3),
            ("[Interface]\n[Bogus]\n", 2),
            ("[Interface]\nAddress = 10.0.0.300/24\n", 2),
            ("[Interface]\n[Peer]\nPublicKey = secretish\n", 3),
            ("[Interface]\n[Peer]\nEndpoint = a b c\n", 3),
            ("Address = 1.2.3.4\n[Interface]\n", 1),
            ("[Interface]\n[Interface]\n", 2),
            ("[Interface]\nListenPort = 99999\n", 2),
        ] {
            let (l, why) = parse(text).unwrap_err();
            assert_eq!(l, line, "{text}");
            assert!(
                !why.contains("secretish") && !why.contains("a b c"),
                "{why}"
            );
        }
        assert!(parse("[Peer]\n").is_err());
        assert!(is_wg_quick("# x\n[Interface]\n") && !is_wg_quick("node-ip: 10.0.0.1\n"));
        // never panics on any prefix of a valid config, nor on arbitrary text
        let valid = "[Interface]\nAddress = 10.0.0.1/24, fd00::1/64\nListenPort = 51820\n[Peer]\nPublicKey = QnG9zjyLsfGZi3JO9HnBJ7YQuNTQcLAC/6y8DjMLon0=\nAllowedIPs = 10.0.0.2/32\nEndpoint = [2001:db8::1]:51820\nPersistentKeepalive = off\n";
        assert!(parse(valid).is_ok());
        for (i, _) in valid.char_indices() {
            let _ = parse(&valid[..i]);
            let _ = parse(&valid[i..]);
        }
        for s in [
            "[",
            "=",
            "[Interface]\n=\n",
            "[Interface]\n\u{202e}=x\n",
            "\u{0}",
        ] {
            let _ = parse(s);
        }
    }
}
