//! The ports nodes must reach on each other (rule MS801), for firewalls and mesh ACLs.

use std::fmt;

use crate::cluster::{Cluster, Cni, NodeIpMode};
use crate::spec::FlannelBackend;

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP echo.
    Icmp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        })
    }
}

/// Which nodes a port is open on (and who dials it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Every node dials it on servers.
    ToServers,
    /// Servers dial it on servers.
    BetweenServers,
    /// Every node dials it on every node.
    AllNodes,
}

/// One opening.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port {
    /// Who reaches whom.
    pub scope: Scope,
    /// Protocol.
    pub proto: Proto,
    /// First port (0 for ICMP).
    pub from: u16,
    /// Last port (same as `from` for one port).
    pub to: u16,
    /// What uses it.
    pub why: &'static str,
}

/// Why strings of the ports that carry the pod tunnel (their traffic arrives where the tunnel
/// runs: the mesh interface, or the LAN when the tunnel endpoints are LAN node-ips).
const TUNNEL_WHY: &[&str] = &[WHY_CILIUM_TUNNEL, WHY_FLANNEL_VXLAN, WHY_FLANNEL_WG];
const WHY_CILIUM_TUNNEL: &str = "Cilium tunnel";
const WHY_FLANNEL_VXLAN: &str = "flannel VXLAN";
const WHY_FLANNEL_WG: &str = "flannel wireguard-native (IPv4, IPv6)";

impl Port {
    /// Whether the port carries the pod tunnel (VXLAN, Geneve, flannel's WireGuard).
    #[must_use]
    pub fn is_tunnel(&self) -> bool {
        TUNNEL_WHY.contains(&self.why)
    }

    /// `6443/tcp`, `2379-2380/tcp`, `icmp`.
    #[must_use]
    pub fn spec(&self) -> String {
        match (self.proto, self.from == self.to) {
            (Proto::Icmp, _) => "icmp".to_owned(),
            (p, true) => format!("{}/{p}", self.from),
            (p, false) => format!("{}-{}/{p}", self.from, self.to),
        }
    }
}

/// The openings the cluster needs between nodes.
///
/// ```
/// use meshspec::Cluster;
/// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
/// let specs: Vec<String> = meshspec::ports::required(&c).iter().map(|p| p.spec()).collect();
/// assert!(specs.contains(&"6443/tcp".to_owned()) && specs.contains(&"8472/udp".to_owned()));
/// ```
#[must_use]
pub fn required(c: &Cluster) -> Vec<Port> {
    c.ports_cache.get_or_init(|| compute(c)).clone()
}

fn compute(c: &Cluster) -> Vec<Port> {
    let p = |scope, proto, from, to, why| Port {
        scope,
        proto,
        from,
        to,
        why,
    };
    let mut v = vec![
        p(
            Scope::ToServers,
            Proto::Tcp,
            6443,
            6443,
            "k3s supervisor and Kubernetes API",
        ),
        p(
            Scope::AllNodes,
            Proto::Tcp,
            10250,
            10250,
            "kubelet (logs, exec, metrics)",
        ),
    ];
    if c.servers().count() > 1 {
        v.push(p(
            Scope::BetweenServers,
            Proto::Tcp,
            2379,
            2380,
            "embedded etcd client and peer traffic",
        ));
    }
    match &c.cni {
        Cni::Cilium(cil) => {
            v.push(p(
                Scope::AllNodes,
                Proto::Udp,
                cil.tunnel_port,
                cil.tunnel_port,
                WHY_CILIUM_TUNNEL,
            ));
            v.push(p(Scope::AllNodes, Proto::Tcp, 4240, 4240, "cilium-health"));
            v.push(p(Scope::AllNodes, Proto::Icmp, 0, 0, "cilium-health echo"));
            let hubble = cil.values.get("hubble");
            if hubble
                .and_then(|h| h.get("enabled"))
                .and_then(serde_json::Value::as_bool)
                == Some(true)
            {
                v.push(p(
                    Scope::AllNodes,
                    Proto::Tcp,
                    4244,
                    4244,
                    "Hubble server (the relay dials every node)",
                ));
            }
            if c.cilium_encryption() == crate::mtu::CiliumEncryption::WireGuard {
                v.push(p(
                    Scope::AllNodes,
                    Proto::Udp,
                    51871,
                    51871,
                    "Cilium WireGuard",
                ));
            }
        }
        Cni::Flannel(f) => {
            let vpn = c
                .nodes
                .iter()
                .any(|n| n.node_ip_mode == NodeIpMode::VpnAuth);
            match f.backend {
                _ if vpn => {}
                FlannelBackend::Vxlan => v.push(p(
                    Scope::AllNodes,
                    Proto::Udp,
                    8472,
                    8472,
                    WHY_FLANNEL_VXLAN,
                )),
                FlannelBackend::WireguardNative => {
                    v.push(p(Scope::AllNodes, Proto::Udp, 51820, 51821, WHY_FLANNEL_WG));
                }
                FlannelBackend::HostGw => {}
            }
        }
    }
    v.sort();
    v
}
