//! MS5xx: proxy and NO_PROXY.

use crate::cluster::Cluster;
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::no_proxy;

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let Some(proxy) = &c.proxy else { return };
    let mut malformed = false;
    for (i, e) in proxy.no_proxy_extra.iter().enumerate() {
        if let Err(err) = no_proxy::parse_entry(e) {
            malformed = true;
            out.push(Diagnostic::new(Code::NoProxyMalformed, format!("proxy.no_proxy_extra[{i}]"), format!("NO_PROXY entry `{e}` is not a host, domain suffix, IP or CIDR: {err}")).with_help("write a host (`registry.lan`), a suffix (`.lan`), an IP or a CIDR (`10.0.0.0/8`)"));
        }
    }
    let Some(entries) = c.no_proxy() else { return };
    if proxy.has_proxy() && !malformed {
        let missing = no_proxy::missing(&entries, &c.no_proxy_requirements());
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
            out.push(Diagnostic::new(Code::NoProxyMissing, "proxy.no_proxy_extra", format!("NO_PROXY misses {}: `kubectl logs`/`exec` and node traffic would go through the proxy (k3s#6705)", list.join(", "))).with_help(format!("add them to `no_proxy_extra`: {}", missing.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))));
        }
    }
    if no_proxy::uses_cidrs(&entries) {
        out.push(Diagnostic::new(Code::NoProxyCidrSupport, "proxy", "NO_PROXY holds CIDR ranges: Go programs (k3s, kubectl, containerd) and curl 7.86+ honour them; older curl and wget match names only").with_help(format!("for such tools use the host list: NO_PROXY={}", no_proxy::join(&no_proxy::hosts_only(&entries)))));
    }
}
