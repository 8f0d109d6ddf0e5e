//! `cluster/firewall/<node>.sh`: host firewall rules for the ports of [`ports::required`]
//! (MS801), idempotent iptables/ip6tables commands plus the same as `ufw` comments.
//!
//! Servers open every port; agents only those every node dials. Each port is opened only where
//! its traffic arrives ([`sources_for`]): node ports from the mesh range(s) on the mesh
//! interface and from the node's own site subnets when peers share its LAN; the pod tunnel
//! (VXLAN, Geneve, flannel's WireGuard) only on the path the tunnel really takes, since an
//! exposed VXLAN port lets anyone who reaches it inject packets into the pod network (k3s
//! docs, installation/requirements: "the VXLAN port on nodes should not be exposed to the
//! world"). Pods and services reach the node from the pod and service CIDRs, which k3s's
//! requirements tell ufw/firewalld users to allow (`ufw allow from 10.42.0.0/16`,
//! `10.43.0.0/16`): without that, under default-deny, pods cannot reach the API server through
//! the `kubernetes` service. With Tailscale, 41641/udp is open for direct (non-DERP) paths.
//! It does not set default policies or remove rules.

use std::fmt::Write as _;

use crate::cidr::{Cidr, Family};
use crate::cluster::{Cluster, Node};
use crate::ports::{self, Port, Proto, Scope};
use crate::render::shell::{comment, quote};

/// One source the rules accept from: an address block, optionally only on one interface.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    /// The interface (`-i`), for mesh traffic.
    pub iface: Option<String>,
    /// The source block (`-s`).
    pub cidr: Cidr,
}

/// Tailscale's default WireGuard port: peers that reach it connect directly instead of through
/// a DERP relay (tailscale.com/kb/1082/firewall-ports).
pub const TAILSCALE_PORT: u16 = 41641;

/// The ports this node must accept: servers all of them, agents the [`Scope::AllNodes`] ones.
#[must_use]
pub fn ports_for(c: &Cluster, n: &Node) -> Vec<Port> {
    ports::required(c)
        .into_iter()
        .filter(|p| n.is_server() || p.scope == Scope::AllNodes)
        .collect()
}

/// Where the node's peers reach it from: the mesh range(s) (or each peer's mesh address when
/// the mesh has no range) on the mesh interface, and its site's subnets when a peer shares it.
#[must_use]
pub fn sources(c: &Cluster, n: &Node) -> Vec<Source> {
    let iface = Some(c.mesh.interface.clone());
    let mut out: Vec<Source> = c
        .mesh
        .ranges()
        .into_iter()
        .map(|cidr| Source {
            iface: iface.clone(),
            cidr,
        })
        .collect();
    if out.is_empty() {
        for peer in c.nodes.iter().filter(|p| p.name != n.name) {
            for ip in &peer.mesh_ips {
                out.push(Source {
                    iface: iface.clone(),
                    cidr: Cidr::host(*ip),
                });
            }
        }
    }
    let shares_site = n.site.as_deref().is_some_and(|s| c.site_population(s) > 1);
    if shares_site && let Some(site) = n.site.as_deref().and_then(|s| c.site(s)) {
        out.extend(site.subnets.iter().map(|cidr| Source {
            iface: None,
            cidr: *cidr,
        }));
    }
    out
}

/// Where one port's traffic arrives on this node. The pod tunnel arrives on the mesh when the
/// node's tunnel rides it ([`Node::tunnel_over_mesh`]) and from its LAN otherwise; every other
/// port from both.
#[must_use]
pub fn sources_for(c: &Cluster, n: &Node, p: &Port) -> Vec<Source> {
    port_sources(n, p, &sources(c, n))
}

/// [`sources_for`], given the node's [`sources`].
fn port_sources(n: &Node, p: &Port, all: &[Source]) -> Vec<Source> {
    if !p.is_tunnel() {
        return all.to_vec();
    }
    let mesh = n.tunnel_over_mesh();
    all.iter()
        .filter(|s| s.iface.is_some() == mesh)
        .cloned()
        .collect()
}

/// The pod and service networks (Cilium's pool included) that pods and services reach the node
/// from.
#[must_use]
pub fn cluster_sources(c: &Cluster) -> Vec<Cidr> {
    let mut out: Vec<Cidr> = c.network.cluster_cidrs.clone();
    out.extend(c.cilium_pool());
    out.extend(c.network.service_cidrs.iter().copied());
    out
}

fn match_args(p: &Port, family: Family) -> String {
    match (p.proto, family) {
        (Proto::Icmp, Family::Ipv4) => "-p icmp --icmp-type echo-request".to_owned(),
        (Proto::Icmp, Family::Ipv6) => "-p ipv6-icmp --icmpv6-type echo-request".to_owned(),
        (proto, _) if p.from == p.to => format!("-p {proto} --dport {}", p.from),
        (proto, _) => format!("-p {proto} --dport {}:{}", p.from, p.to),
    }
}

fn ufw_line(p: &Port, src: &Source) -> String {
    let on = src
        .iface
        .as_ref()
        .map_or_else(String::new, |i| format!(" in on {i}"));
    match p.proto {
        Proto::Icmp => format!(
            "# ICMP echo from {}: ufw allows it by default (/etc/ufw/before.rules)",
            src.cidr
        ),
        proto => {
            let port = if p.from == p.to {
                p.from.to_string()
            } else {
                format!("{}:{}", p.from, p.to)
            };
            let line = format!(
                "ufw allow{on} from {} to any port {port} proto {proto} comment {}",
                src.cidr,
                quote(&format!("meshspec: {}", p.why))
            );
            format!("# {}", comment(&line))
        }
    }
}

/// The script for one node: [`header`] then [`body`] of the node's [`rules`].
///
/// ```
/// use meshspec::Cluster;
/// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
/// let sh = meshspec::render::firewall::script(&c, &c.nodes[0]);
/// assert!(sh.contains("-i tailscale0 -s 100.64.0.0/10 -p tcp --dport 6443"));
/// ```
#[must_use]
pub fn script(c: &Cluster, n: &Node) -> String {
    let mut s = header(c, n);
    s.push_str(&body(c, &rules(c, n)));
    s
}

/// The ports this node opens, each with the sources it accepts (ports without a source are
/// left out), plus Tailscale's direct-connection port on a Tailscale node. Nodes with equal
/// rules get the same [`body`], which the bundle renders once.
#[must_use]
pub fn rules(c: &Cluster, n: &Node) -> Vec<(Port, Vec<Source>)> {
    let ports = ports_for(c, n);
    let all = sources(c, n);
    let mut rules: Vec<(Port, Vec<Source>)> = ports
        .iter()
        .map(|p| (p.clone(), port_sources(n, p, &all)))
        .filter(|(_, src)| !src.is_empty())
        .collect();
    if c.mesh.is_tailscale() && !n.mesh_ips.is_empty() {
        let any = ["0.0.0.0/0", "::/0"]
            .iter()
            .filter_map(|x| x.parse::<Cidr>().ok())
            .map(|cidr| Source { iface: None, cidr })
            .collect();
        rules.push((
            Port {
                scope: Scope::AllNodes,
                proto: Proto::Udp,
                from: TAILSCALE_PORT,
                to: TAILSCALE_PORT,
                why: "Tailscale direct connections (otherwise peers relay through DERP)",
            },
            any,
        ));
    }
    rules
}

/// The lines that name the cluster and the node, up to the `rule` helper.
#[must_use]
pub fn header(c: &Cluster, n: &Node) -> String {
    format!(
        "#!/bin/sh\n\
         # Generated by meshspec (cluster `{}`): host firewall openings on `{}` ({}), MS801.\n\
         # Idempotent: each rule is checked (-C) before it is inserted (-I), so rerunning adds nothing.\n\
         # Rules are not persisted: save them with your distribution's tool (netfilter-persistent, iptables-save).\n\
         set -eu\n\
         rule() {{ cmd=$1; shift; \"$cmd\" -C INPUT \"$@\" 2>/dev/null || \"$cmd\" -I INPUT \"$@\"; }}\n",
        comment(&c.name),
        comment(&n.name),
        if n.is_server() { "server" } else { "agent" }
    )
}

/// The rest of the script: the tool checks, one iptables/ip6tables rule per port and source,
/// the pod and service networks, and the same as `ufw` comments. It depends on the cluster and
/// the rules only, never on the node's name.
#[must_use]
pub fn body(c: &Cluster, rules: &[(Port, Vec<Source>)]) -> String {
    let mut s = String::with_capacity(4096);
    // every tool the rules need is checked before the first rule: under `set -e` a missing
    // ip6tables would otherwise stop the script half-way, with the IPv4 rules applied
    let cluster = cluster_sources(c);
    let mut tools: Vec<&str> = Vec::new();
    let families = rules
        .iter()
        .flat_map(|(_, src)| src.iter().map(|x| x.cidr.family()))
        .chain(cluster.iter().map(Cidr::family));
    for family in families {
        let cmd = match family {
            Family::Ipv4 => "iptables",
            Family::Ipv6 => "ip6tables",
        };
        if !tools.contains(&cmd) {
            tools.push(cmd);
        }
    }
    for cmd in tools {
        let _ = writeln!(
            s,
            "command -v {cmd} >/dev/null 2>&1 || {{ echo 'firewall: {cmd} is not installed; no rule was added (install the iptables package, or use the ufw lines below)' >&2; exit 1; }}"
        );
    }
    let mut ufw = Vec::new();
    for (p, sources) in rules {
        let _ = writeln!(s, "\n# {}: {}", p.spec(), p.why);
        for src in sources {
            let family = src.cidr.family();
            let cmd = match family {
                Family::Ipv4 => "iptables",
                Family::Ipv6 => "ip6tables",
            };
            let iface = src
                .iface
                .as_ref()
                .map_or_else(String::new, |i| format!("-i {} ", quote(i)));
            let _ = writeln!(
                s,
                "rule {cmd} {iface}-s {} {} -m comment --comment {} -j ACCEPT",
                src.cidr,
                match_args(p, family),
                quote(&format!("meshspec: {}", p.why))
            );
            ufw.push(ufw_line(p, src));
        }
    }
    s.push_str("\n# pods and services reach this node (the API server through the `kubernetes` service, metrics, DNS):\n# k3s requirements tell ufw/firewalld users to allow the pod and service networks as sources\n");
    for cidr in &cluster {
        let cmd = match cidr.family() {
            Family::Ipv4 => "iptables",
            Family::Ipv6 => "ip6tables",
        };
        let _ = writeln!(
            s,
            "rule {cmd} -s {cidr} -m comment --comment 'meshspec: pods and services' -j ACCEPT"
        );
        ufw.push(format!(
            "# ufw allow from {cidr} comment 'meshspec: pods and services'"
        ));
    }
    s.push_str("\n# The same for ufw users (run instead of the rules above):\n");
    for line in ufw {
        s.push_str(&line);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLANNEL: &str =
        include_str!("../../../examples/specs/flannel-over-tailscale-gpu-worker.yaml");

    #[test]
    fn servers_open_the_api_agents_do_not() {
        let c = Cluster::from_yaml(FLANNEL).unwrap();
        let server = script(&c, c.node("k3s-master").unwrap());
        let agent = script(&c, c.node("k3s-gpu-worker").unwrap());
        assert!(
            server.contains("rule iptables -i tailscale0 -s 100.64.0.0/10 -p tcp --dport 6443 ")
        );
        assert!(!agent.contains("--dport 6443"));
        for sh in [&server, &agent] {
            assert!(sh.contains("-p udp --dport 8472"));
            assert!(sh.contains("-p tcp --dport 10250"));
            assert!(sh.contains("-C INPUT"));
            assert!(sh.contains(
                "# ufw allow in on tailscale0 from 100.64.0.0/10 to any port 10250 proto tcp"
            ));
        }
    }

    #[test]
    fn lan_peers_are_accepted_only_where_a_site_is_shared() {
        let c = Cluster::from_yaml(FLANNEL).unwrap();
        let worker = script(&c, c.node("k3s-worker-01").unwrap());
        assert!(worker.contains("rule iptables -s 192.168.2.0/24 -p tcp --dport 10250"));
        let gpu = script(&c, c.node("k3s-gpu-worker").unwrap());
        assert!(!gpu.contains("192.168.0.0/24"), "{gpu}");
    }

    #[test]
    fn vxlan_opens_only_where_the_tunnel_runs() {
        // flannel over tailscale0: VXLAN arrives on the mesh, never from the LAN
        let c = Cluster::from_yaml(FLANNEL).unwrap();
        let worker = script(&c, c.node("k3s-worker-01").unwrap());
        assert!(
            worker.contains("rule iptables -i tailscale0 -s 100.64.0.0/10 -p udp --dport 8472 ")
        );
        assert!(
            !worker.contains("-s 192.168.2.0/24 -p udp --dport 8472"),
            "{worker}"
        );
        // the kubelet still answers LAN peers
        assert!(worker.contains("rule iptables -s 192.168.2.0/24 -p tcp --dport 10250"));
        // one LAN, LAN node-ips: VXLAN from the LAN only, not from the mesh
        let lan = Cluster::from_yaml("version: 1\nname: lab\nsites: [{name: home, subnets: [192.168.2.0/24]}]\nnodes:\n  - {name: a, role: server, site: home, lan_ip: 192.168.2.10, mesh_ip: 100.64.0.1}\n  - {name: b, role: agent, site: home, lan_ip: 192.168.2.11, mesh_ip: 100.64.0.2}\n").unwrap();
        let sh = script(&lan, &lan.nodes[1]);
        assert!(
            sh.contains("rule iptables -s 192.168.2.0/24 -p udp --dport 8472 "),
            "{sh}"
        );
        assert!(
            !sh.contains("-i tailscale0 -s 100.64.0.0/10 -p udp --dport 8472"),
            "{sh}"
        );
    }

    #[test]
    fn pods_services_and_direct_tailscale_paths_are_allowed() {
        let c = Cluster::from_yaml(FLANNEL).unwrap();
        let sh = script(&c, c.node("k3s-master").unwrap());
        assert!(sh.contains("rule iptables -s 10.42.0.0/16 -m comment --comment 'meshspec: pods and services' -j ACCEPT"), "{sh}");
        assert!(sh.contains("rule iptables -s 10.43.0.0/16 -m comment"));
        assert!(sh.contains("rule iptables -s 0.0.0.0/0 -p udp --dport 41641 "));
        assert!(sh.contains("rule ip6tables -s ::/0 -p udp --dport 41641 "));
        let wg = Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: wireguard, interface: wg0, ipv4_range: 10.99.0.0/24}\nnodes:\n  - {name: a, role: server, mesh_ip: 10.99.0.1}\n").unwrap();
        assert!(!script(&wg, &wg.nodes[0]).contains("41641"));
    }

    #[test]
    fn etcd_range_between_servers() {
        let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: server, mesh_ip: 100.64.0.2}\n  - {name: d, role: server, mesh_ip: 100.64.0.3}\n").unwrap();
        let sh = script(&c, &c.nodes[1]);
        assert!(sh.contains("--dport 2379:2380"), "{sh}");
        assert!(sh.contains("port 2379:2380 proto tcp"));
    }
}
