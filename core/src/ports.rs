//! The port matrix: the ports nodes must reach on each other (rule MS801), for the host
//! firewalls, the mesh ACLs, PLAN.md and `docs/ports.md`, in this one place.
//!
//! Each row says the port(s), the protocol, who dials whom ([`Scope`]: the peers are nodes,
//! never address ranges), when the row applies and the upstream page it comes from. The mesh's
//! own listen port is not a row between nodes: [`mesh_port`] gives it (it is dialed on the
//! underlay, from wherever the mesh peers' public endpoints are).

use std::fmt;

use crate::cluster::{Cluster, Cni, NodeIpMode};
use crate::spec::{FlannelBackend, Provider};

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
    /// When the row applies.
    pub when: &'static str,
    /// The upstream source of the row.
    pub cite: &'static str,
}

/// k3s "Installation requirements", inbound rules for K3s server nodes.
pub const CITE_K3S: &str = "docs.k3s.io/installation/requirements (Inbound Rules for K3s Nodes)";
/// k3s "Embedded Registry Mirror" (Spegel).
pub const CITE_SPEGEL: &str = "docs.k3s.io/installation/registry-mirror (Requirements: all nodes reach each other on TCP 5001 and 6443)";
/// Cilium "System requirements", firewall rules.
pub const CITE_CILIUM: &str =
    "docs.cilium.io/en/stable/operations/system_requirements (Firewall Rules)";
/// Cilium's Hubble: the relay dials every node's Hubble server.
pub const CITE_HUBBLE: &str = "docs.cilium.io/en/stable/operations/system_requirements (Firewall Rules: 4244/tcp Hubble server); cilium chart values `hubble.enabled: true`, `hubble.relay.enabled: false` by default";

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
    let p = |scope, proto, from, to, why, when, cite| Port {
        scope,
        proto,
        from,
        to,
        why,
        when,
        cite,
    };
    let mut v = vec![
        p(
            Scope::ToServers,
            Proto::Tcp,
            6443,
            6443,
            "k3s supervisor and Kubernetes API",
            "always (agents and servers dial every server)",
            CITE_K3S,
        ),
        p(
            Scope::AllNodes,
            Proto::Tcp,
            10250,
            10250,
            "kubelet (logs, exec, metrics)",
            "always",
            CITE_K3S,
        ),
    ];
    if c.servers().count() > 1 {
        v.push(p(
            Scope::BetweenServers,
            Proto::Tcp,
            2379,
            2380,
            "embedded etcd client and peer traffic",
            "more than one server (embedded etcd)",
            CITE_K3S,
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
                "Cilium (VXLAN 8472/udp or Geneve 6081/udp, or `tunnelPort`)",
                CITE_CILIUM,
            ));
            v.push(p(
                Scope::AllNodes,
                Proto::Tcp,
                4240,
                4240,
                "cilium-health",
                "Cilium",
                CITE_CILIUM,
            ));
            v.push(p(
                Scope::AllNodes,
                Proto::Icmp,
                0,
                0,
                "cilium-health echo",
                "Cilium",
                CITE_CILIUM,
            ));
            if hubble_relay(&cil.values) {
                v.push(p(
                    Scope::AllNodes,
                    Proto::Tcp,
                    4244,
                    4244,
                    "Hubble server (the relay dials every node)",
                    "Cilium with `hubble.relay.enabled: true` (and `hubble.enabled` not false)",
                    CITE_HUBBLE,
                ));
            }
            if c.cilium_encryption() == crate::mtu::CiliumEncryption::WireGuard {
                v.push(p(
                    Scope::AllNodes,
                    Proto::Udp,
                    51871,
                    51871,
                    "Cilium WireGuard",
                    "Cilium with `encryption.type: wireguard`",
                    CITE_CILIUM,
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
                    "flannel backend vxlan (k3s's default)",
                    CITE_K3S,
                )),
                FlannelBackend::WireguardNative => {
                    v.push(p(
                        Scope::AllNodes,
                        Proto::Udp,
                        51820,
                        51821,
                        WHY_FLANNEL_WG,
                        "flannel backend wireguard-native",
                        CITE_K3S,
                    ));
                }
                FlannelBackend::HostGw => {}
            }
        }
    }
    if c.embedded_registry() {
        for (port, why) in [
            (5001, "embedded registry (Spegel) peer-to-peer"),
            (
                6443,
                "embedded registry (Spegel) OCI registry on every node",
            ),
        ] {
            v.push(p(
                Scope::AllNodes,
                Proto::Tcp,
                port,
                port,
                why,
                "`embedded-registry: true` in `k3s.server_extra`",
                CITE_SPEGEL,
            ));
        }
    }
    v.sort();
    v
}

/// Whether Hubble Relay runs: `hubble.relay.enabled: true` and `hubble.enabled` not `false`
/// (the chart's default for `hubble.enabled` is `true`).
fn hubble_relay(values: &std::collections::BTreeMap<String, serde_json::Value>) -> bool {
    let Some(h) = values.get("hubble") else {
        return false;
    };
    let on = |v: Option<&serde_json::Value>| v.and_then(serde_json::Value::as_bool);
    on(h.get("enabled")) != Some(false)
        && on(h.get("relay").and_then(|r| r.get("enabled"))) == Some(true)
}

/// Tailscale's default WireGuard port (tailscale.com/kb/1082/firewall-ports).
pub const TAILSCALE_PORT: u16 = 41641;
/// WireGuard's conventional listen port, NetBird's default (docs.netbird.io, "Ports").
pub const WIREGUARD_PORT: u16 = 51820;

/// The mesh's own listen port on the underlay: 41641/udp for Tailscale and Headscale,
/// 51820/udp for WireGuard and NetBird. It is dialed by the mesh peers' public endpoints, which
/// the spec does not know, so it is open to every source, and never closed.
#[must_use]
pub fn mesh_port(c: &Cluster) -> Port {
    let (port, why, cite) = if c.mesh.is_tailscale() {
        (
            TAILSCALE_PORT,
            "Tailscale direct connections (otherwise peers relay through DERP)",
            "tailscale.com/kb/1082/firewall-ports",
        )
    } else if c.mesh.provider == Provider::Netbird {
        (
            WIREGUARD_PORT,
            "NetBird WireGuard (peer-to-peer)",
            "docs.netbird.io/about-netbird/faq (WireGuard port 51820/udp)",
        )
    } else {
        (
            WIREGUARD_PORT,
            "WireGuard listen port",
            "wg(8), wg-quick(8): ListenPort; 51820 by convention",
        )
    };
    Port {
        scope: Scope::AllNodes,
        proto: Proto::Udp,
        from: port,
        to: port,
        why,
        when: "always, on the underlay, from any address",
        cite,
    }
}
