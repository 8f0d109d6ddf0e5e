//! NO_PROXY: synthesis from the cluster's addresses, entry syntax, and a coverage check.
//!
//! Behind an HTTP proxy, `kubectl logs` and `exec` break when NO_PROXY misses the nodes'
//! addresses (k3s#6705): k3s itself only adds the pod and service CIDRs, `.svc` and
//! `.cluster.local`. [`synthesize`] builds a complete list in one of two [`Style`]s,
//! [`required`] says what any NO_PROXY for the cluster must cover, and [`missing`] checks a
//! list against it with the matching rules of Go's `golang.org/x/net/http/httpproxy` (rule
//! MS501). [`parse_entry`] checks the syntax of one entry (MS502), and [`hosts_only`] gives
//! the list for tools that do not understand CIDR entries (MS503).
//!
//! This module does not read the environment or decide whether a proxy is in use; it does not
//! resolve names either, so a host name only matches name entries and an address only matches
//! address and CIDR entries, as in Go.
//!
//! ```
//! use meshspec::cidr::Cidr;
//! use meshspec::no_proxy::{join, missing, required, synthesize, Inputs, Style};
//! let c = |s: &str| s.parse::<Cidr>().unwrap();
//! let inputs = Inputs {
//!     style: Style::Precise,
//!     cluster_cidrs: &[c("10.42.0.0/16")],
//!     service_cidrs: &[c("10.43.0.0/16")],
//!     node_addresses: &["192.168.2.20".parse().unwrap(), "100.84.89.67".parse().unwrap()],
//!     site_subnets: &[c("192.168.2.0/24")],
//!     mesh_ranges: &[c("100.64.0.0/10")],
//!     server_hosts: &["100.84.89.67".to_string()],
//!     cluster_domain: "cluster.local",
//!     dns_suffix: None,
//!     extra: &[".local".to_string()],
//! };
//! let entries = synthesize(&inputs);
//! assert_eq!(
//!     join(&entries),
//!     "10.42.0.0/15,100.64.0.0/10,127.0.0.0/8,192.168.2.0/24,.local,.svc,localhost"
//! );
//! assert!(missing(&entries, &required(&inputs)).is_empty());
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::cidr::{self, Cidr, CidrError, Family};

/// How broad the synthesized NO_PROXY is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    /// Exactly the ranges the cluster uses (pod, service, mesh, site subnets), collapsed.
    #[default]
    Precise,
    /// The whole private IPv4 blocks (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`), the
    /// mesh ranges, and whatever else is required that those do not cover.
    Broad,
}

/// What NO_PROXY is synthesized from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs<'a> {
    /// How broad the result is.
    pub style: Style,
    /// The pod CIDRs (`cluster-cidr`).
    pub cluster_cidrs: &'a [Cidr],
    /// The service CIDRs (`service-cidr`).
    pub service_cidrs: &'a [Cidr],
    /// Every address of every node (LAN and mesh).
    pub node_addresses: &'a [IpAddr],
    /// The subnets of all sites.
    pub site_subnets: &'a [Cidr],
    /// The address ranges the mesh hands out (`100.64.0.0/10`, `fd7a:115c:a1e0::/48`).
    pub mesh_ranges: &'a [Cidr],
    /// The hosts of the server URL(s): IP addresses or DNS names.
    pub server_hosts: &'a [String],
    /// The cluster domain (`cluster.local`).
    pub cluster_domain: &'a str,
    /// The mesh's DNS suffix, such as Tailscale's `tail1234.ts.net`.
    pub dns_suffix: Option<&'a str>,
    /// Entries added as written (`no_proxy_extra`).
    pub extra: &'a [String],
}

/// One parsed NO_PROXY entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entry {
    /// `*`: no host uses the proxy.
    Wildcard,
    /// A CIDR block: matches addresses inside it.
    Cidr(Cidr),
    /// An address: matches exactly that address.
    Ip(IpAddr),
    /// `.example.com` or `*.example.com`, stored lowercase without the leading `.`: matches
    /// names strictly below it (`a.example.com`), not `example.com` itself.
    Domain(String),
    /// `example.com`, stored lowercase: matches the name itself and every name below it.
    Host(String),
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wildcard => f.write_str("*"),
            Self::Cidr(c) => write!(f, "{c}"),
            Self::Ip(a) => write!(f, "{a}"),
            Self::Domain(d) => write!(f, ".{d}"),
            Self::Host(h) => f.write_str(h),
        }
    }
}

/// Why a text is not a NO_PROXY entry (rule MS502).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Nothing (or only whitespace).
    #[error("empty NO_PROXY entry")]
    Empty,
    /// Whitespace inside the entry.
    #[error("`{entry}` contains whitespace; NO_PROXY entries are separated by commas")]
    Whitespace {
        /// The entry as written.
        entry: String,
    },
    /// A URL instead of a host.
    #[error("`{entry}` is a URL; NO_PROXY takes a bare host such as `{host}`")]
    Scheme {
        /// The entry as written.
        entry: String,
        /// The host inside the URL.
        host: String,
    },
    /// A host followed by a path.
    #[error("`{entry}` has a path; NO_PROXY takes a bare host such as `{host}`")]
    Path {
        /// The entry as written.
        entry: String,
        /// The part before the `/`.
        host: String,
    },
    /// `host:port` or `[v6]:port`.
    #[error(
        "`{entry}` names a port: Go honours it on that port only and curl and wget not at all; write `{host}`"
    )]
    Port {
        /// The entry as written.
        entry: String,
        /// The host without the port.
        host: String,
    },
    /// `:port` with no host.
    #[error(
        "`{entry}` is only a port; NO_PROXY entries name hosts, domains, addresses or CIDR blocks"
    )]
    PortOnly {
        /// The entry as written.
        entry: String,
    },
    /// An IPv6 address in brackets.
    #[error("`{entry}` has brackets; write the address as `{host}`")]
    Brackets {
        /// The entry as written.
        entry: String,
        /// The address without brackets.
        host: String,
    },
    /// Something with a `/` that is not a valid CIDR block.
    #[error("`{entry}` is not a valid CIDR block")]
    Cidr {
        /// The entry as written.
        entry: String,
        /// What is wrong with the block.
        #[source]
        source: CidrError,
    },
    /// A character no host name holds.
    #[error("`{entry}` contains `{}`, which cannot appear in a host name", .ch.escape_debug())]
    Character {
        /// The entry as written.
        entry: String,
        /// The first offending character.
        ch: char,
    },
    /// Two dots in a row, or a trailing dot.
    #[error("`{entry}` has an empty label between dots")]
    EmptyLabel {
        /// The entry as written.
        entry: String,
    },
    /// A label longer than 63 characters.
    #[error("`{entry}` has a label longer than 63 characters: `{label}`")]
    LabelTooLong {
        /// The entry as written.
        entry: String,
        /// The label.
        label: String,
    },
    /// A name longer than 253 characters.
    #[error("`{entry}` is {len} characters long; a host name has at most 253")]
    NameTooLong {
        /// The entry as written.
        entry: String,
        /// Its length.
        len: usize,
    },
    /// Digits and dots that do not make an address (`10.0.0`, `10.0.0.256`).
    #[error("`{entry}` looks like an IP address but is not one")]
    NotAnAddress {
        /// The entry as written.
        entry: String,
    },
}

/// Whether a port text is a plausible port.
fn is_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

/// Parses one NO_PROXY entry.
///
/// Accepted: `*`; an IPv4 or IPv6 address; a CIDR block without host bits; `.example.com` and
/// `*.example.com` (names below `example.com`); `example.com` (the name and names below it).
/// Surrounding whitespace is trimmed, as Go does; names are lowercased.
///
/// Refused, although Go would take some of them: `host:port` and `[v6]:port` (Go applies them
/// to that port only, and curl and wget do not understand them, so they never cover what a
/// cluster needs), a CIDR with host bits (Go silently truncates; the typo is flagged instead),
/// bracketed addresses without a port (Go treats them as a name that never matches), URLs,
/// paths, whitespace, empty labels, and digit-only names that are not addresses.
///
/// # Errors
/// An [`EntryError`] saying what is wrong and, where possible, what to write instead.
///
/// ```
/// use meshspec::no_proxy::{parse_entry, Entry};
/// assert_eq!(parse_entry(".svc").unwrap(), Entry::Domain("svc".into()));
/// assert_eq!(parse_entry("Example.COM").unwrap(), Entry::Host("example.com".into()));
/// assert!(matches!(parse_entry("10.0.0.0/8").unwrap(), Entry::Cidr(_)));
/// assert_eq!(
///     parse_entry("http://proxy.lan:3128").unwrap_err().to_string(),
///     "`http://proxy.lan:3128` is a URL; NO_PROXY takes a bare host such as `proxy.lan`"
/// );
/// ```
pub fn parse_entry(s: &str) -> Result<Entry, EntryError> {
    let t = s.trim();
    let entry = || t.to_owned();
    if t.is_empty() {
        return Err(EntryError::Empty);
    }
    if t == "*" {
        return Ok(Entry::Wildcard);
    }
    if t.chars().any(char::is_whitespace) {
        return Err(EntryError::Whitespace { entry: entry() });
    }
    if let Some((_, rest)) = t.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = match hostport.strip_prefix('[').and_then(|h| h.split_once(']')) {
            Some((inner, _)) => inner,
            None => strip_port(hostport).unwrap_or(hostport),
        };
        return Err(EntryError::Scheme {
            entry: entry(),
            host: host.to_owned(),
        });
    }
    if let Some((addr, rest)) = t.split_once('/') {
        let looks_like_cidr = addr.parse::<IpAddr>().is_ok()
            || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()));
        if looks_like_cidr {
            return t
                .parse::<Cidr>()
                .map(Entry::Cidr)
                .map_err(|source| EntryError::Cidr {
                    entry: entry(),
                    source,
                });
        }
        return Err(EntryError::Path {
            entry: entry(),
            host: addr.to_owned(),
        });
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(Entry::Ip(ip));
    }
    if let Some(inner) = t.strip_prefix('[') {
        return Err(match inner.split_once(']') {
            Some((host, "")) => EntryError::Brackets {
                entry: entry(),
                host: host.to_owned(),
            },
            Some((host, port)) if port.strip_prefix(':').is_some_and(is_port) => EntryError::Port {
                entry: entry(),
                host: host.to_owned(),
            },
            _ => EntryError::Character {
                entry: entry(),
                ch: '[',
            },
        });
    }
    if let Some(host) = strip_port(t) {
        return Err(if host.is_empty() {
            EntryError::PortOnly { entry: entry() }
        } else {
            EntryError::Port {
                entry: entry(),
                host: host.to_owned(),
            }
        });
    }
    let (domain, name) = match t.strip_prefix("*.").or_else(|| t.strip_prefix('.')) {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    check_name(t, name)?;
    let name = name.to_ascii_lowercase();
    Ok(if domain {
        Entry::Domain(name)
    } else {
        Entry::Host(name)
    })
}

/// An entry as Go's proxy matching reads it (`golang.org/x/net/http/httpproxy`, which k3s,
/// containerd and kubectl use): like [`parse_entry`], except that a CIDR with host bits set is
/// accepted as its network, because `net.ParseCIDR` returns the masked network
/// (`192.168.2.20/24` matches all of `192.168.2.0/24`). The second value is that clean form
/// when the entry was written with host bits, so callers can suggest it.
///
/// ```
/// use meshspec::no_proxy::{parse_entry_as_go, Entry};
/// let (e, clean) = parse_entry_as_go("192.168.2.20/24").unwrap();
/// assert_eq!(e, Entry::Cidr("192.168.2.0/24".parse().unwrap()));
/// assert_eq!(clean.unwrap().to_string(), "192.168.2.0/24");
/// assert_eq!(parse_entry_as_go("10.0.0.0/8").unwrap().1, None);
/// ```
pub fn parse_entry_as_go(s: &str) -> Result<(Entry, Option<Cidr>), EntryError> {
    match parse_entry(s) {
        Ok(e) => Ok((e, None)),
        Err(EntryError::Cidr {
            source: crate::cidr::CidrError::HostBits { network, .. },
            ..
        }) => Ok((Entry::Cidr(network), Some(network))),
        Err(e) => Err(e),
    }
}

/// `host` when `s` is `host:port` with a numeric port and a host that is not an IPv6 address.
fn strip_port(s: &str) -> Option<&str> {
    let (host, port) = s.rsplit_once(':')?;
    (!host.contains(':') && is_port(port)).then_some(host)
}

/// Checks the name part of an entry (after any leading `.` or `*.`).
fn check_name(entry: &str, name: &str) -> Result<(), EntryError> {
    let owned = || entry.to_owned();
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    if let Some(ch) = name.chars().find(|c| !ok(*c)) {
        return Err(EntryError::Character { entry: owned(), ch });
    }
    if name.len() > 253 {
        return Err(EntryError::NameTooLong {
            entry: owned(),
            len: name.len(),
        });
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(EntryError::EmptyLabel { entry: owned() });
        }
        if label.len() > 63 {
            return Err(EntryError::LabelTooLong {
                entry: owned(),
                label: label.to_owned(),
            });
        }
    }
    let last = name.rsplit('.').next().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EntryError::NotAnAddress { entry: owned() });
    }
    Ok(())
}

/// Something a NO_PROXY for the cluster must cover.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Requirement {
    /// One address (a node, or a server URL host given as an address).
    Address(IpAddr),
    /// A whole range (pod, service or mesh CIDR).
    Range(Cidr),
    /// A host name, lowercase (`localhost`, a server URL host).
    Host(String),
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(a) => write!(f, "{a}"),
            Self::Range(c) => write!(f, "{c}"),
            Self::Host(h) => f.write_str(h),
        }
    }
}

/// A server URL host, normalised: an address, or a lowercase name without a trailing dot.
enum ServerHost {
    Ip(IpAddr),
    Name(String),
}

fn server_host(raw: &str) -> ServerHost {
    let t = raw.trim();
    let unbracketed = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(t);
    match unbracketed.parse::<IpAddr>() {
        Ok(ip) => ServerHost::Ip(ip.to_canonical()),
        Err(_) => ServerHost::Name(t.strip_suffix('.').unwrap_or(t).to_ascii_lowercase()),
    }
}

/// What any NO_PROXY for the cluster must cover: every node address, each mesh, pod and
/// service range, each server URL host, `127.0.0.1` and `localhost`.
///
/// Loopback is required although Go never proxies it: curl and other tools do. The result is
/// sorted (addresses, ranges, names) and free of duplicates.
///
/// ```
/// use meshspec::no_proxy::{required, Inputs, Requirement, Style};
/// let inputs = Inputs {
///     style: Style::Precise,
///     cluster_cidrs: &[],
///     service_cidrs: &[],
///     node_addresses: &["100.84.89.67".parse().unwrap()],
///     site_subnets: &[],
///     mesh_ranges: &[],
///     server_hosts: &["K3S.example.com".to_string()],
///     cluster_domain: "cluster.local",
///     dns_suffix: None,
///     extra: &[],
/// };
/// let text: Vec<String> = required(&inputs).iter().map(ToString::to_string).collect();
/// assert_eq!(text, ["100.84.89.67", "127.0.0.1", "k3s.example.com", "localhost"]);
/// ```
#[must_use]
pub fn required(inputs: &Inputs<'_>) -> Vec<Requirement> {
    let mut out: Vec<Requirement> = inputs
        .node_addresses
        .iter()
        .map(|a| Requirement::Address(a.to_canonical()))
        .chain(
            inputs
                .mesh_ranges
                .iter()
                .chain(inputs.cluster_cidrs)
                .chain(inputs.service_cidrs)
                .map(|c| Requirement::Range(*c)),
        )
        .chain(inputs.server_hosts.iter().map(|h| match server_host(h) {
            ServerHost::Ip(ip) => Requirement::Address(ip),
            ServerHost::Name(n) => Requirement::Host(n),
        }))
        .chain([
            Requirement::Address(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            Requirement::Host("localhost".into()),
        ])
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether name entry `a` matches every name entry `b` matches.
fn name_covers(a: &Entry, b: &Entry) -> bool {
    let below = |x: &str, d: &str| x.strip_suffix(d).is_some_and(|h| h.ends_with('.'));
    match (a, b) {
        (Entry::Wildcard, _) => true,
        (Entry::Host(h), Entry::Host(x) | Entry::Domain(x)) => x == h || below(x, h),
        (Entry::Domain(d), Entry::Domain(x)) => x == d || below(x, d),
        (Entry::Domain(d), Entry::Host(x)) => below(x, d),
        _ => false,
    }
}

/// Whether the parsed entries cover one requirement, by Go's httpproxy rules.
fn is_covered(entries: &[Entry], blocks: &[Cidr], r: &Requirement) -> bool {
    if entries.contains(&Entry::Wildcard) {
        return true;
    }
    match r {
        Requirement::Address(a) => cidr::covers(blocks, &Cidr::host(a.to_canonical())),
        Requirement::Range(c) => cidr::covers(blocks, c),
        Requirement::Host(h) => {
            if let Ok(ip) = h.parse::<IpAddr>() {
                cidr::covers(blocks, &Cidr::host(ip.to_canonical()))
            } else {
                let host = Entry::Host(h.to_ascii_lowercase());
                entries.iter().any(|e| name_covers(e, &host))
            }
        }
    }
}

/// The address blocks among parsed entries (addresses as single-address blocks).
fn address_blocks(entries: &[Entry]) -> Vec<Cidr> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Cidr(c) => Some(*c),
            Entry::Ip(a) => Some(Cidr::host(a.to_canonical())),
            _ => None,
        })
        .collect()
}

/// The requirements `entries` do not cover, in the order given.
///
/// Matching follows Go's `golang.org/x/net/http/httpproxy`, case-insensitively: `*` matches
/// everything; an address entry matches that address; a CIDR entry matches addresses inside
/// it; `.example.com` matches names below `example.com`; `example.com` matches the name and
/// names below it; names never match addresses nor the reverse. A [`Requirement::Range`] is
/// covered when the union of the address and CIDR entries holds all of it. Entries that do
/// not parse ([`parse_entry`]) match nothing, and Go's built-in exemption of `localhost` and
/// loopback is not applied (other tools lack it).
///
/// ```
/// use meshspec::no_proxy::{missing, Requirement};
/// let entries = ["10.0.0.0/8".to_string(), ".example.com".to_string()];
/// let req = [
///     Requirement::Address("10.1.2.3".parse().unwrap()),
///     Requirement::Range("10.42.0.0/16".parse().unwrap()),
///     Requirement::Host("k3s.example.com".into()),
///     Requirement::Host("example.com".into()),
/// ];
/// assert_eq!(missing(&entries, &req), [Requirement::Host("example.com".into())]);
/// ```
#[must_use]
pub fn missing(entries: &[String], required: &[Requirement]) -> Vec<Requirement> {
    // what the consumers (Go programs) match, so a block written with host bits still covers
    let parsed: Vec<Entry> = entries
        .iter()
        .filter_map(|e| parse_entry_as_go(e).ok().map(|(e, _)| e))
        .collect();
    let blocks = address_blocks(&parsed);
    required
        .iter()
        .filter(|r| !is_covered(&parsed, &blocks, r))
        .cloned()
        .collect()
}

/// The private IPv4 blocks of [`Style::Broad`].
fn private_v4() -> Vec<Cidr> {
    [
        ([10, 0, 0, 0], 8),
        ([172, 16, 0, 0], 12),
        ([192, 168, 0, 0], 16),
    ]
    .into_iter()
    .filter_map(|(a, p)| Cidr::truncated(IpAddr::V4(Ipv4Addr::from(a)), p))
    .collect()
}

/// A block as NO_PROXY text: single addresses without a prefix length.
fn block_text(c: &Cidr) -> String {
    if c.prefix() == c.family().bits() {
        c.network().to_string()
    } else {
        c.to_string()
    }
}

/// A domain-suffix entry for a configured suffix such as `cluster.local` or `.ts.net.`.
fn suffix_entry(suffix: &str) -> Option<Entry> {
    let s = suffix.trim().trim_matches('.');
    if s.is_empty() {
        return None;
    }
    match parse_entry(&format!(".{s}")) {
        Ok(e @ Entry::Domain(_)) => Some(e),
        _ => None,
    }
}

/// A complete NO_PROXY for the cluster, as a list of entries (see [`join`]).
///
/// Always present: `127.0.0.0/8`, `::1` when any IPv6 address or range is involved,
/// `localhost`, `.svc`, `.<cluster_domain>`, `.<dns_suffix>` when set, the server hosts that
/// are names, and the extras. The addresses are the pod, service and mesh ranges plus, in
/// [`Style::Precise`], the site subnets, or in [`Style::Broad`], the private IPv4 blocks; node
/// and server addresses are listed only where no range covers them.
///
/// All address entries are collapsed with [`cidr::collapse`], so an entry inside a broader one
/// disappears and neighbours merge (`10.42.0.0/16` and `10.43.0.0/16` become `10.42.0.0/15`);
/// IP and CIDR extras take part in that. A name entry covered by another (`.cluster.local` under
/// an extra `.local`) is dropped. Other extras are kept as written, even malformed ones, which
/// [`parse_entry`] reports; an extra `*` makes the result just `*`.
///
/// Order: IPv4 entries by address, IPv6 entries by address, then names sorted.
#[must_use]
pub fn synthesize(inputs: &Inputs<'_>) -> Vec<String> {
    let mut blocks: Vec<Cidr> = Cidr::truncated(IpAddr::V4(Ipv4Addr::LOCALHOST), 8)
        .into_iter()
        .collect();
    blocks.extend(
        inputs
            .cluster_cidrs
            .iter()
            .chain(inputs.service_cidrs)
            .chain(inputs.mesh_ranges),
    );
    match inputs.style {
        Style::Precise => blocks.extend(inputs.site_subnets),
        Style::Broad => blocks.extend(private_v4()),
    }
    blocks.extend(
        inputs
            .node_addresses
            .iter()
            .map(|a| Cidr::host(a.to_canonical())),
    );

    // (text as written, parsed form if any)
    let mut names: Vec<(String, Option<Entry>)> = Vec::new();
    let mut push_name = |e: Entry| names.push((e.to_string(), Some(e)));
    push_name(Entry::Host("localhost".into()));
    push_name(Entry::Domain("svc".into()));
    if let Some(e) = suffix_entry(inputs.cluster_domain) {
        push_name(e);
    }
    if let Some(e) = inputs.dns_suffix.and_then(suffix_entry) {
        push_name(e);
    }
    for h in inputs.server_hosts {
        match server_host(h) {
            ServerHost::Ip(ip) => blocks.push(Cidr::host(ip)),
            ServerHost::Name(n) => {
                if let Ok(e @ Entry::Host(_)) = parse_entry(&n) {
                    push_name(e);
                }
            }
        }
    }
    for x in inputs.extra {
        let text = x.trim();
        match parse_entry(text) {
            Ok(Entry::Wildcard) => return vec!["*".into()],
            Ok(Entry::Cidr(c)) => blocks.push(c),
            Ok(Entry::Ip(a)) => blocks.push(Cidr::host(a.to_canonical())),
            Ok(e) => names.push((text.to_owned(), Some(e))),
            Err(_) if text.is_empty() => {}
            Err(_) => names.push((text.to_owned(), None)),
        }
    }

    if blocks.iter().any(|b| b.family() == Family::Ipv6) {
        blocks.push(Cidr::host(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    }
    let mut out: Vec<String> = cidr::collapse(&blocks).iter().map(block_text).collect();
    out.extend(keep_broadest(&names));
    out
}

/// Name entries with duplicates and entries covered by another removed, sorted by text.
///
/// An entry is covered by one naming it or one of its ancestors (`name_covers`), so each
/// entry looks up only its own name and its dot-suffixes in a map: linear in the entries
/// times their labels (a pairwise comparison took 12 s for 40,000 extras).
fn keep_broadest(names: &[(String, Option<Entry>)]) -> Vec<String> {
    use std::collections::{HashMap, HashSet};
    // name -> (first Host index, first Domain index)
    let mut first: HashMap<&str, (Option<usize>, Option<usize>)> = HashMap::new();
    for (i, (_, parsed)) in names.iter().enumerate() {
        match parsed {
            Some(Entry::Host(h)) => {
                first.entry(h.as_str()).or_default().0.get_or_insert(i);
            }
            Some(Entry::Domain(d)) => {
                first.entry(d.as_str()).or_default().1.get_or_insert(i);
            }
            _ => {}
        }
    }
    let covered_by_ancestor = |x: &str| {
        x.match_indices('.')
            .any(|(at, _)| first.contains_key(&x[at + 1..]))
    };
    let mut unparsed_seen: HashSet<&str> = HashSet::new();
    let mut kept: Vec<String> = Vec::new();
    for (i, (text, parsed)) in names.iter().enumerate() {
        let dropped = match parsed {
            None => !unparsed_seen.insert(text.as_str()),
            // a host is covered by an earlier equal host, or by any entry for an ancestor
            Some(Entry::Host(h)) => {
                first
                    .get(h.as_str())
                    .is_some_and(|f| f.0.is_some_and(|j| j < i))
                    || covered_by_ancestor(h)
            }
            // a domain also by a host of the same name (which matches it and more)
            Some(Entry::Domain(d)) => {
                first
                    .get(d.as_str())
                    .is_some_and(|f| f.0.is_some() || f.1.is_some_and(|j| j < i))
                    || covered_by_ancestor(d)
            }
            Some(e) => names.iter().enumerate().any(|(j, (_, other))| {
                other
                    .as_ref()
                    .is_some_and(|o| j != i && name_covers(o, e) && (!name_covers(e, o) || j < i))
            }),
        };
        if !dropped {
            kept.push(text.clone());
        }
    }
    kept.sort_by_cached_key(|t| t.to_ascii_lowercase());
    kept
}

/// [`keep_broadest`] as it was written first: every pair compared. The reference for the
/// property test.
#[cfg(test)]
fn keep_broadest_pairwise(names: &[(String, Option<Entry>)]) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for (i, (text, parsed)) in names.iter().enumerate() {
        let dropped = match parsed {
            None => names.iter().take(i).any(|(t, p)| p.is_none() && t == text),
            Some(e) => names.iter().enumerate().any(|(j, (_, other))| {
                other
                    .as_ref()
                    .is_some_and(|o| j != i && name_covers(o, e) && (!name_covers(e, o) || j < i))
            }),
        };
        if !dropped {
            kept.push(text.clone());
        }
    }
    kept.sort_by_cached_key(|t| t.to_ascii_lowercase());
    kept
}

/// The entries as one NO_PROXY value: comma-separated, no spaces.
///
/// ```
/// use meshspec::no_proxy::join;
/// assert_eq!(join(&["10.0.0.0/8".into(), "localhost".into()]), "10.0.0.0/8,localhost");
/// ```
#[must_use]
pub fn join(entries: &[String]) -> String {
    entries.join(",")
}

/// The entries of a NO_PROXY value: split at commas, trimmed, empty ones dropped.
///
/// ```
/// use meshspec::no_proxy::split;
/// assert_eq!(split(" 10.0.0.0/8, ,localhost,"), ["10.0.0.0/8", "localhost"]);
/// ```
#[must_use]
pub fn split(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether any entry is a CIDR block, which older curl and wget do not understand (MS503).
///
/// ```
/// use meshspec::no_proxy::uses_cidrs;
/// assert!(uses_cidrs(&["10.0.0.0/8".into()]));
/// assert!(!uses_cidrs(&["10.0.0.1".into(), ".svc".into()]));
/// ```
#[must_use]
pub fn uses_cidrs(entries: &[String]) -> bool {
    entries
        .iter()
        .any(|e| matches!(parse_entry(e), Ok(Entry::Cidr(_))))
}

/// The entries for tools that do not honour CIDR entries (curl before 7.86, wget).
///
/// A single-address block becomes the bare address, a block holding `127.0.0.1` becomes
/// `127.0.0.1`, other blocks are dropped; everything else is kept as written. The caller's
/// help text should say that addresses inside the dropped blocks now go through the proxy
/// for those tools.
///
/// ```
/// use meshspec::no_proxy::hosts_only;
/// let all = ["127.0.0.0/8", "10.0.0.0/8", "192.168.2.20/32", "::1", ".svc", "localhost"];
/// let all: Vec<String> = all.iter().map(|s| s.to_string()).collect();
/// assert_eq!(hosts_only(&all), ["127.0.0.1", "192.168.2.20", "::1", ".svc", "localhost"]);
/// ```
#[must_use]
pub fn hosts_only(entries: &[String]) -> Vec<String> {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut out: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for e in entries {
        let text = match parse_entry(e) {
            Ok(Entry::Cidr(c)) if c.prefix() == c.family().bits() => c.network().to_string(),
            Ok(Entry::Cidr(c)) if c.contains_addr(loopback) => loopback.to_string(),
            Ok(Entry::Cidr(_)) => continue,
            _ => e.trim().to_owned(),
        };
        if seen.insert(text.clone()) {
            out.push(text);
        }
    }
    out
}

#[cfg(test)]
mod tests;
