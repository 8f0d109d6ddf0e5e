//! MS5xx: proxy and NO_PROXY.

use crate::cluster::{Cluster, Proxy};
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::diagnostic::Diagnostics;
use crate::no_proxy::{self, Requirement};

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
    // the cluster-wide block, then each site's and node's own block that a node uses: each
    // node's NO_PROXY is checked under its own proxy, each block reported where it is written
    let mut seen: Vec<&str> = Vec::new();
    for p in c
        .proxy
        .iter()
        .chain(c.nodes.iter().filter_map(|n| n.proxy.as_ref()))
    {
        if !seen.contains(&p.path.as_str()) {
            seen.push(&p.path);
            check_one(c, p, out);
        }
    }
}

fn check_one(c: &Cluster, proxy: &Proxy, out: &mut Vec<Diagnostic>) {
    let at = &proxy.path;
    let mut malformed = false;
    for (i, e) in proxy.no_proxy_extra.iter().enumerate() {
        if let Err(err) = no_proxy::parse_entry(e) {
            malformed = true;
            out.push(Diagnostic::new(Code::NoProxyMalformed, format!("{at}.no_proxy_extra[{i}]"), format!("NO_PROXY entry `{e}` is not a host, domain suffix, IP or CIDR: {err}")).with_help("write a host (`registry.lan`), a suffix (`.lan`), an IP or a CIDR (`10.0.0.0/8`)"));
        }
    }
    let entries = c.no_proxy_of(proxy);
    if proxy.has_proxy() && !malformed {
        // meshspec's own NO_PROXY covers everything by construction; this keeps it honest
        out.extend(missing(
            &entries,
            &c.no_proxy_requirements(),
            &format!("{at}.no_proxy_extra"),
        ));
    }
    if no_proxy::uses_cidrs(&entries) {
        out.push(Diagnostic::new(Code::NoProxyCidrSupport, at.as_str(), "NO_PROXY holds CIDR ranges: Go programs (k3s, kubectl, containerd) and curl 7.86+ honour them; older curl and wget match names only").with_help(format!("for such tools use the host list: NO_PROXY={}", no_proxy::join(&no_proxy::hosts_only(&entries)))));
    }
}

fn missing(entries: &[String], required: &[Requirement], path: &str) -> Vec<Diagnostic> {
    let missing = no_proxy::missing(entries, required);
    if missing.is_empty() {
        return Vec::new();
    }
    let list: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
    vec![Diagnostic::new(
        Code::NoProxyMissing,
        path,
        format!("NO_PROXY misses {}: `kubectl logs`/`exec` and node traffic would go through the proxy (k3s#6705)", list.join(", ")),
    )
    .with_help(format!(
        "add them: {}",
        missing.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
    ))]
}

/// Checks a NO_PROXY value already in use (an existing `/etc/environment`, a CI variable)
/// against what a cluster needs: MS502 for each malformed entry, MS501 for what it misses.
///
/// ```
/// use meshspec::{Cluster, Code};
/// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
/// let d = c.check_no_proxy("localhost,127.0.0.0/8,10.0.0.0/8");
/// assert_eq!(d.codes(), vec![Code::NoProxyMissing]);
/// assert!(d.iter().next().unwrap().help.as_deref().unwrap().contains("100.64.0.0/10"));
/// ```
#[must_use]
pub fn check_no_proxy_value(value: &str, required: &[Requirement], path: &str) -> Vec<Diagnostic> {
    let entries = no_proxy::split(value);
    let mut out = Vec::new();
    for e in &entries {
        // a value already in use is read as its consumers read it: Go's `net.ParseCIDR`
        // accepts a block with host bits and matches its whole network
        match no_proxy::parse_entry_as_go(e) {
            Err(err) => out.push(Diagnostic::new(Code::NoProxyMalformed, path, format!("NO_PROXY entry `{e}` is not a host, domain suffix, IP or CIDR: {err}")).with_help("write a host (`registry.lan`), a suffix (`.lan`), an IP or a CIDR (`10.0.0.0/8`)")),
            Ok((_, Some(clean))) => out.push(Diagnostic::new(Code::NoProxyCidrSupport, path, format!("NO_PROXY entry `{e}` has host bits set: Go programs (k3s, containerd, kubectl: `net.ParseCIDR` in golang.org/x/net/http/httpproxy) match all of `{clean}`, so it is accepted as that block")).with_help(format!("write the clean form `{clean}`: it reads the same everywhere and says what it matches"))),
            Ok((_, None)) => {}
        }
    }
    out.extend(missing(&entries, required, path));
    out
}

impl Cluster {
    /// Checks a NO_PROXY value already in use against this cluster's needs (MS501, MS502).
    #[must_use]
    pub fn check_no_proxy(&self, value: &str) -> Diagnostics {
        Diagnostics::from_vec(check_no_proxy_value(
            value,
            &self.no_proxy_requirements(),
            "NO_PROXY",
        ))
    }
}
