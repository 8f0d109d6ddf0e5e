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

/// When a managed WireGuard mesh's listen port is open: only to the peers that dial the node.
const WHEN_DIALING_PEERS: &str =
    "always, on the underlay, from the peers that dial the node (PLAN.md: WireGuard topology)";

/// The mesh's own listen port on the underlay: 41641/udp for Tailscale and Headscale,
/// 51820/udp for NetBird, `mesh.wireguard.listen_port` (default 51820/udp) for WireGuard. It is
/// dialed by the mesh peers' public endpoints, which the spec does not know, so it is open to
/// every source, and never closed; a managed WireGuard mesh (`mesh.wireguard.manage`) knows
/// who dials whom and opens it only to them.
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
            "netbird up --wireguard-port (default 51820); docs.netbird.io/about-netbird/ports-and-firewalls",
        )
    } else {
        (
            c.mesh
                .wireguard
                .as_ref()
                .map_or(WIREGUARD_PORT, |w| w.listen_port),
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
        when: if c.mesh.managed_wireguard().is_some() {
            WHEN_DIALING_PEERS
        } else {
            "always, on the underlay, from any address"
        },
        cite,
    }
}

impl Scope {
    /// Who dials whom, in words.
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            Scope::ToServers => "every node -> each server",
            Scope::BetweenServers => "each server -> each server",
            Scope::AllNodes => "every node -> every node",
        }
    }
}

/// A Markdown table of port rows: port, protocol, who dials whom, when, upstream source. The
/// mesh's listen port (`mesh`) comes last: dialed from anywhere on the underlay, or, for a
/// managed WireGuard mesh, by the peers that dial each node.
#[must_use]
pub fn table_markdown(rows: &[Port], mesh: &[Port]) -> String {
    let mut s = String::from(
        "| Port | Protocol | Who dials whom | What | When | Source |\n|------|----------|----------------|------|------|--------|\n",
    );
    let port = |p: &Port| match (p.proto, p.from == p.to) {
        (Proto::Icmp, _) => "echo".to_owned(),
        (_, true) => p.from.to_string(),
        (_, false) => format!("{}-{}", p.from, p.to),
    };
    for p in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            port(p),
            p.proto,
            p.scope.words(),
            p.why,
            p.when,
            p.cite
        ));
    }
    for p in mesh {
        let who = if p.when == WHEN_DIALING_PEERS {
            "each peer that dials a node -> that node (underlay, by LAN address; from anywhere on a node that peers behind NAT dial at its public endpoint)"
        } else {
            "anyone -> every node (underlay; the mesh peers' public endpoints)"
        };
        s.push_str(&format!(
            "| {} | {} | {who} | {} | {} | {} |\n",
            port(p),
            p.proto,
            p.why,
            p.when,
            p.cite
        ));
    }
    s
}

/// Every row the matrix can hold, gathered from clusters that switch each row on (so it is the
/// rows [`required`] computes, not a copy), then every mesh's listen port.
#[must_use]
pub fn catalogue() -> (Vec<Port>, Vec<Port>) {
    const SPECS: &[&str] = &[
        "version: 1\nname: a\nk3s: {server_extra: {embedded-registry: true}}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: server, mesh_ip: 100.64.0.2}\n",
        "version: 1\nname: a\ncni: {flannel: {backend: wireguard-native}}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
        "version: 1\nname: a\ncni: {plugin: cilium, cilium: {tunnel_protocol: vxlan, values: {hubble: {relay: {enabled: true}}, encryption: {enabled: true, type: wireguard}}}}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
        "version: 1\nname: a\ncni: {plugin: cilium, cilium: {tunnel_protocol: geneve}}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
        "version: 1\nname: a\nmesh: {provider: netbird}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
        "version: 1\nname: a\nmesh: {provider: wireguard, interface: wg0, ipv4_range: 10.99.0.0/24}\nnodes:\n  - {name: a, role: server, mesh_ip: 10.99.0.1}\n",
    ];
    let mut rows: Vec<Port> = Vec::new();
    let mut mesh: Vec<Port> = Vec::new();
    for spec in SPECS {
        let Ok(c) = Cluster::from_yaml(spec) else {
            continue;
        };
        for p in required(&c) {
            if !rows
                .iter()
                .any(|r| r.proto == p.proto && r.from == p.from && r.why == p.why)
            {
                rows.push(p);
            }
        }
        let m = mesh_port(&c);
        if !mesh.contains(&m) {
            mesh.push(m);
        }
    }
    rows.sort_by_key(|p| (p.proto == Proto::Icmp, p.from, p.proto));
    (rows, mesh)
}

/// `docs/ports.md`: the whole matrix, generated from [`catalogue`] (a test keeps the committed
/// file equal to it).
#[must_use]
pub fn docs_markdown() -> String {
    let (rows, mesh) = catalogue();
    format!(
        "# Ports between nodes\n\n\
         Generated from `meshspec::ports` (`MESHSPEC_BLESS=1 cargo test -p meshspec --test reference` rewrites it).\n\
         Each row is opened by `cluster/firewall/<node>.sh` only from the nodes that dial it (their\n\
         node-ip, advertise-address or tunnel endpoint, on the interface the traffic arrives on), and\n\
         granted between the node tags in the tailnet policy; a cluster's own rows are in its\n\
         `PLAN.md` (section \"Host firewall\"). The Cilium tunnel row is 8472/udp for VXLAN and\n\
         6081/udp for Geneve (or `tunnelPort`).\n\n{}\n\
         The firewall scripts also accept everything from the pod and service networks, but only on\n\
         the CNI's own devices (flannel: `cni0`, `flannel.1`, `flannel-v6.1`, `flannel-wg`,\n\
         `flannel-wg-v6`, the mesh interface with vpn-auth; Cilium: `cilium_host`, `cilium_net`,\n\
         `lxc*`, `cilium_vxlan` or `cilium_geneve`, `cilium_wg0`), and drop every TCP/UDP port of the\n\
         table from everyone else. SSH, ICMP from other hosts and every other port are left alone.\n",
        table_markdown(&rows, &mesh)
    )
}
