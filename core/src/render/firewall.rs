//! `cluster/firewall/<node>.sh` and `cluster/firewall/peers.txt`: a least-privilege host
//! firewall for the port matrix of [`ports::required`] (MS801).
//!
//! Each script owns one chain per family, `MESHSPEC-INPUT`, jumped to first from `INPUT`. The
//! chain is rebuilt atomically on every run (`iptables-restore --noflush` flushes a chain it
//! declares), so reruns leave the same rules. In order it
//! 1. returns established and related traffic to `INPUT` (replies to the node's own
//!    connections, whatever their port, stay the host's business);
//! 2. accepts the mesh's own listen port ([`ports::mesh_port`]) from everyone: it is never cut;
//! 3. accepts pod and service sources only on the CNI's own devices ([`cni_devices`]), so a LAN
//!    host that takes a pod address reaches nothing (k3s requirements: "the VXLAN port on nodes
//!    should not be exposed to the world");
//! 4. accepts each port of the matrix this node serves from exactly the nodes that dial it, by
//!    address, on the interface their traffic arrives on ([`rules`]): the mesh interface for
//!    mesh addresses, the LAN (any interface but a source on the node's site) for LAN node-ips,
//!    and a LAN only when the port is really dialed on it;
//! 5. drops the cluster's own ports (every TCP/UDP port of the matrix) from everyone else.
//!
//! Everything else returns to `INPUT` untouched: default policies, SSH, ICMP from non-nodes
//! and every other port, so the result is right on a host without a firewall (policy ACCEPT)
//! and on a default-deny host alike. `--remove` deletes the jumps and the chains, nothing else.
//!
//! The node addresses live once in `cluster/firewall/peers.txt` ([`peers_txt`], one
//! `<group> <address>` per line) which every script reads from its own directory, so a
//! script's size does not grow with the cluster and nodes with equal rules share one body.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::cidr::{Cidr, Family};
use crate::cluster::{Cluster, Cni, Node, NodeIpMode};
use crate::ports::{self, Port, Proto, Scope};
use crate::render::shell::{comment, quote};
use crate::spec::{FlannelBackend, TunnelProtocol};

/// The chain the scripts own (one in `filter` for IPv4, one for IPv6).
pub const CHAIN: &str = "MESHSPEC-INPUT";
/// The forward chain of a WireGuard mesh meshspec renders (jumped to first from `FORWARD`;
/// it accepts what a relay forwards between peers, and is empty on other nodes).
pub const FORWARD_CHAIN: &str = "MESHSPEC-FORWARD";
/// The bundle path of the shared address list.
pub const PEERS_PATH: &str = "cluster/firewall/peers.txt";

/// A group of nodes, as named in `peers.txt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// Every node's mesh address(es) (the mesh range(s) when some node's are unknown).
    MeshNodes,
    /// The servers' mesh address(es).
    MeshServers,
    /// The LAN address(es) of every node on the site with this index in `sites:`.
    LanNodes(usize),
    /// The LAN address(es) of the servers on that site.
    LanServers(usize),
    /// Any source (a WireGuard mesh meshspec renders: peers behind NAT dial this node's
    /// public endpoint from addresses the spec cannot know). Never in `peers.txt`.
    Anywhere,
    /// Packets forwarded between the mesh's peers on the mesh interface (a WireGuard relay);
    /// a rule of the forward chain [`FORWARD_CHAIN`], not of [`CHAIN`]. Never in `peers.txt`.
    MeshForward,
}

impl Group {
    /// Its name in `peers.txt`.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Group::MeshNodes => "mesh-nodes".to_owned(),
            Group::MeshServers => "mesh-servers".to_owned(),
            Group::LanNodes(i) => format!("lan-nodes-{i}"),
            Group::LanServers(i) => format!("lan-servers-{i}"),
            Group::Anywhere => "anywhere".to_owned(),
            Group::MeshForward => "mesh-forward".to_owned(),
        }
    }
}

/// One opening: a port of the matrix, accepted from a group of nodes, on an interface or not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    /// The port.
    pub port: Port,
    /// Who dials it.
    pub from: Group,
    /// The interface it arrives on (`-i`), for mesh traffic.
    pub iface: Option<String>,
}

/// The ports this node must accept: servers all of them, agents the [`Scope::AllNodes`] ones.
#[must_use]
pub fn ports_for(c: &Cluster, n: &Node) -> Vec<Port> {
    ports::required(c)
        .into_iter()
        .filter(|p| n.is_server() || p.scope == Scope::AllNodes)
        .collect()
}

/// On which networks a port of `n` is dialed: (on the mesh, on its LAN).
///
/// The pod tunnel is dialed at the tunnel endpoint ([`Node::tunnel_over_mesh`]: flannel bound to
/// the mesh interface, or a mesh node-ip); the API (6443 to servers) at the server URL and the
/// advertise-address, mesh addresses whenever the node has one, and the LAN node-ip (or a LAN
/// address the server URL names); every other port at the node-ip (k3s's InternalIP: kubelet,
/// etcd, cilium-health, Hubble, Spegel).
#[must_use]
pub fn dialed_on(c: &Cluster, n: &Node, p: &Port) -> (bool, bool) {
    let lan_node_ip = n.node_ip_mode == NodeIpMode::Lan && !n.lan_ips.is_empty();
    if p.is_tunnel() {
        let mesh = n.tunnel_over_mesh();
        return (mesh, !mesh && lan_node_ip);
    }
    if p.scope == Scope::ToServers && p.from == crate::cluster::API_PORT {
        let url_on_lan = matches!(&c.k3s.server_host, Some(crate::netaddr::Host::Ip(ip)) if n.lan_ips.contains(ip));
        return (
            n.node_ip_mode != NodeIpMode::Lan || !n.mesh_ips.is_empty(),
            lan_node_ip || url_on_lan,
        );
    }
    (n.node_ip_mode != NodeIpMode::Lan, lan_node_ip)
}

fn site_index(c: &Cluster, n: &Node) -> Option<usize> {
    let site = n.site.as_deref()?;
    if c.site_population(site) < 2 {
        return None;
    }
    c.sites.iter().position(|s| s.name == site)
}

/// The openings of one node: each port it serves from the groups that dial it, where they dial.
/// Nodes with equal rules get the same [`body`], which the bundle renders once.
#[must_use]
pub fn rules(c: &Cluster, n: &Node) -> Vec<Rule> {
    let mut out = BTreeSet::new();
    let site = site_index(c, n);
    for p in ports_for(c, n) {
        let servers = p.scope == Scope::BetweenServers;
        let (mesh, lan) = dialed_on(c, n, &p);
        if mesh {
            out.insert(Rule {
                port: p.clone(),
                from: if servers {
                    Group::MeshServers
                } else {
                    Group::MeshNodes
                },
                iface: Some(c.mesh.interface.clone()),
            });
        }
        if let (true, Some(i)) = (lan, site) {
            out.insert(Rule {
                port: p.clone(),
                from: if servers {
                    Group::LanServers(i)
                } else {
                    Group::LanNodes(i)
                },
                iface: None,
            });
        }
    }
    wireguard_rules(c, n, site, &mut out);
    out.into_iter().collect()
}

/// With a WireGuard mesh meshspec renders, the listen port is opened to exactly the peers that
/// dial this node ([`crate::wireguard::topology::NodeTopology::inbound`]): the nodes of its site
/// by LAN address, and any source when a peer of another site dials its public endpoint (from
/// a NAT address the spec cannot know). A relay forwards between peers on the mesh interface.
fn wireguard_rules(c: &Cluster, n: &Node, site: Option<usize>, out: &mut BTreeSet<Rule>) {
    let Some(me) = c
        .wireguard_topology()
        .and_then(|t| t.node(&n.name).map(|m| (t, m)))
    else {
        return;
    };
    let (t, me) = me;
    let port = ports::mesh_port(c);
    let (lan, anywhere) = me.inbound(t);
    if anywhere {
        out.insert(Rule {
            port: port.clone(),
            from: Group::Anywhere,
            iface: None,
        });
    } else if let (false, Some(i)) = (lan.is_empty(), site) {
        out.insert(Rule {
            port: port.clone(),
            from: Group::LanNodes(i),
            iface: None,
        });
    }
    if me.forwards {
        out.insert(Rule {
            port,
            from: Group::MeshForward,
            iface: Some(c.mesh.interface.clone()),
        });
    }
}

/// Whether `node`'s script accepts the mesh's listen port from any source: always for a mesh
/// meshspec does not render (its peers' endpoints are unknown), and with a WireGuard mesh
/// meshspec renders only where peers of other sites dial the node's public endpoint;
/// elsewhere the port is open to the dialing peers only and closed to everyone else.
#[must_use]
pub fn mesh_port_open_to_anyone(c: &Cluster, node: &str) -> bool {
    match c.wireguard_topology() {
        None => true,
        Some(t) => t.node(node).is_some_and(|n| n.inbound(t).1),
    }
}

/// Whether some node's mesh address is unknown (vpn-auth: k3s brings the node onto the tailnet
/// itself), so the mesh groups hold the mesh range(s) instead of node addresses.
#[must_use]
pub fn mesh_by_range(c: &Cluster) -> bool {
    c.nodes.iter().any(|n| n.mesh_ips.is_empty())
}

/// The members of every group some node's [`rules`] use, `<group> <address>` per line, in spec
/// order.
#[must_use]
pub fn peers_txt(c: &Cluster) -> String {
    // only the groups some script reads: a LAN no port is dialed on is not listed
    let used: BTreeSet<Group> = c
        .nodes
        .iter()
        .flat_map(|n| rules(c, n))
        .map(|r| r.from)
        .collect();
    peers_txt_of(c, &used)
}

/// [`peers_txt`] given the groups the nodes' [`rules`] read.
pub(crate) fn peers_txt_of(c: &Cluster, used: &BTreeSet<Group>) -> String {
    let mut s = String::from(
        "# Generated by meshspec: the nodes' addresses, read by every cluster/firewall/<node>.sh next to this file.\n",
    );
    let mut line = |g: Group, a: &dyn std::fmt::Display| {
        if used.contains(&g) {
            let _ = writeln!(s, "{} {a}", g.name());
        }
    };
    if mesh_by_range(c) {
        for r in c.mesh.ranges() {
            line(Group::MeshNodes, &r);
            line(Group::MeshServers, &r);
        }
    } else {
        for n in &c.nodes {
            for ip in &n.mesh_ips {
                line(Group::MeshNodes, ip);
                if n.is_server() {
                    line(Group::MeshServers, ip);
                }
            }
        }
    }
    for n in &c.nodes {
        let Some(i) = site_index(c, n) else { continue };
        for ip in &n.lan_ips {
            line(Group::LanNodes(i), ip);
            if n.is_server() {
                line(Group::LanServers(i), ip);
            }
        }
    }
    s
}

/// The devices pod (and service) sources arrive on, by CNI:
/// - flannel (k3s): the bridge `cni0` (k3s's flannel CNI config, `pkg/agent/flannel/setup.go`),
///   VXLAN `flannel.1` / `flannel-v6.1` (flannel `pkg/backend/vxlan`, VNI 1), wireguard-native
///   `flannel-wg` / `flannel-wg-v6` (flannel `pkg/backend/wireguard`); host-gw has no device;
///   with vpn-auth, routed pod traffic arrives on the mesh interface (k3s's Tailscale extension);
/// - Cilium: `cilium_host`, `cilium_net`, the endpoints' `lxc*` veths, the tunnel device
///   `cilium_vxlan` or `cilium_geneve` (cilium `pkg/defaults/node.go`: HostDevice,
///   SecondHostDevice, VxlanDevice, GeneveDevice; endpoint veths are named `lxc` + a hash), and
///   `cilium_wg0` with WireGuard encryption (cilium `pkg/wireguard/types`).
#[must_use]
pub fn cni_devices(c: &Cluster) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    match &c.cni {
        Cni::Flannel(f) => {
            out.push("cni0".to_owned());
            let vpn = c
                .nodes
                .iter()
                .any(|n| n.node_ip_mode == NodeIpMode::VpnAuth);
            if vpn {
                out.push(c.mesh.interface.clone());
            } else {
                let v6 = c.network.uses_ipv6();
                let (v4_dev, v6_dev) = match f.backend {
                    FlannelBackend::Vxlan => (Some("flannel.1"), "flannel-v6.1"),
                    FlannelBackend::WireguardNative => (Some("flannel-wg"), "flannel-wg-v6"),
                    FlannelBackend::HostGw => (None, ""),
                };
                out.extend(v4_dev.map(str::to_owned));
                if v6 && v4_dev.is_some() {
                    out.push(v6_dev.to_owned());
                }
            }
        }
        Cni::Cilium(cil) => {
            out.extend(["cilium_host".into(), "cilium_net".into(), "lxc+".into()]);
            out.push(
                match cil.tunnel {
                    TunnelProtocol::Vxlan => "cilium_vxlan",
                    TunnelProtocol::Geneve => "cilium_geneve",
                }
                .to_owned(),
            );
            if c.cilium_encryption() == crate::mtu::CiliumEncryption::WireGuard {
                out.push("cilium_wg0".to_owned());
            }
        }
    }
    out
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

/// The ports the script closes to everyone it did not open them to: every TCP/UDP port of the
/// matrix, once, the mesh's own port never (it is accepted before any drop).
#[must_use]
pub fn closed_ports(c: &Cluster) -> Vec<(Proto, u16, u16)> {
    let mut out: Vec<(Proto, u16, u16)> = ports::required(c)
        .iter()
        .filter(|p| p.proto != Proto::Icmp)
        .map(|p| (p.proto, p.from, p.to))
        .collect();
    // a WireGuard mesh meshspec renders knows who dials each node: its port is closed to
    // everyone else too
    if c.mesh.managed_wireguard().is_some() {
        let m = ports::mesh_port(c);
        out.push((m.proto, m.from, m.to));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// One flow the cluster needs: `from` dials `to_addr` (an address of node `to`) on `port`,
/// from its address `src`, arriving on the mesh or the LAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The dialing node.
    pub from: String,
    /// Its source address.
    pub src: IpAddr,
    /// The dialed node.
    pub to: String,
    /// The dialed address.
    pub to_addr: IpAddr,
    /// Whether it crosses the mesh (else the site LAN).
    pub over_mesh: bool,
    /// The port.
    pub port: Port,
}

/// Every flow the cluster needs between two distinct nodes whose addresses the spec knows, over
/// the path the rendered config uses ([`dialed_on`]): a mesh address is dialed from the peer's
/// mesh address of the same family, a LAN address from a peer on the same site.
#[must_use]
pub fn needed_flows(c: &Cluster) -> Vec<Flow> {
    let mut out = Vec::new();
    for to in &c.nodes {
        for p in ports_for(c, to) {
            let (mesh, lan) = dialed_on(c, to, &p);
            for from in c.nodes.iter().filter(|f| f.name != to.name) {
                if p.scope == Scope::BetweenServers && !from.is_server() {
                    continue;
                }
                let mut push = |dst: &[IpAddr], src: &[IpAddr], over_mesh: bool| {
                    for d in dst {
                        if let Some(s) = src.iter().find(|s| s.is_ipv4() == d.is_ipv4()) {
                            out.push(Flow {
                                from: from.name.clone(),
                                src: *s,
                                to: to.name.clone(),
                                to_addr: *d,
                                over_mesh,
                                port: p.clone(),
                            });
                        }
                    }
                };
                if mesh {
                    push(&to.mesh_ips, &from.mesh_ips, true);
                }
                if lan && to.site.is_some() && from.site == to.site {
                    push(&to.lan_ips, &from.lan_ips, false);
                }
            }
        }
    }
    out
}

/// The script for one node: [`header`] then [`body`] of the node's [`rules`].
///
/// ```
/// use meshspec::Cluster;
/// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
/// let sh = meshspec::render::firewall::script(&c, &c.nodes[0]);
/// assert!(sh.contains("mesh-nodes) add \"$f\" -i tailscale0 -s \"$addr\" -p tcp --dport 6443 -j ACCEPT"));
/// ```
#[must_use]
pub fn script(c: &Cluster, n: &Node) -> String {
    let mut s = header(c, n);
    s.push_str(&body(c, &rules(c, n)));
    s
}

/// The lines that name the cluster and the node.
#[must_use]
pub fn header(c: &Cluster, n: &Node) -> String {
    format!(
        "#!/bin/sh\n\
         # Generated by meshspec (cluster `{}`): least-privilege host firewall of `{}` ({}), MS801.\n\
         # Run:    sudo sh cluster/firewall/{}.sh            (reads peers.txt next to it; rerun after any change: same rules)\n\
         # Remove: sudo sh cluster/firewall/{}.sh --remove   (deletes every rule and chain it added, nothing else)\n",
        comment(&c.name),
        comment(&n.name),
        if n.is_server() { "server" } else { "agent" },
        comment(&n.name),
        comment(&n.name),
    )
}

fn port_args(p: &Port) -> String {
    match p.proto {
        Proto::Icmp => String::new(),
        proto if p.from == p.to => format!("-p {proto} --dport {}", p.from),
        proto => format!("-p {proto} --dport {}:{}", p.from, p.to),
    }
}

fn describe_group(c: &Cluster, g: Group) -> String {
    match g {
        Group::MeshNodes if mesh_by_range(c) => {
            "the mesh range(s) (node mesh addresses unknown)".to_owned()
        }
        Group::MeshServers if mesh_by_range(c) => {
            "the mesh range(s) (server mesh addresses unknown)".to_owned()
        }
        Group::MeshNodes => "every node's mesh address".to_owned(),
        Group::MeshServers => "the servers' mesh addresses".to_owned(),
        Group::Anywhere => "any source (peers at other sites dial this node's public endpoint from NAT addresses the spec cannot know)".to_owned(),
        Group::MeshForward => "the mesh's peers, forwarded between them (this node relays)".to_owned(),
        Group::LanNodes(i) | Group::LanServers(i) => format!(
            "the {} LAN addresses on site `{}`",
            if matches!(g, Group::LanNodes(_)) {
                "nodes'"
            } else {
                "servers'"
            },
            c.sites.get(i).map_or("?", |s| s.name.as_str())
        ),
    }
}

/// The listen port of a WireGuard mesh meshspec renders, opened to the rules' sources only
/// (LAN peers come from `peers.txt` with the other LAN rules), and a relay's forwarding.
fn wireguard_body(s: &mut String, c: &Cluster, rules: &[Rule], mesh: &Port) {
    let _ = writeln!(
        s,
        "# {}: {}, only from the peers that dial this node ({})",
        mesh.spec(),
        mesh.why,
        comment(mesh.cite)
    );
    if rules.iter().any(|r| r.from == Group::Anywhere) {
        s.push_str("# peers at other sites dial this node's public endpoint from NAT addresses the spec cannot know: any source\n");
        let _ = writeln!(
            s,
            "for f in 4 6; do add \"$f\" {} -j ACCEPT; done",
            port_args(mesh)
        );
    }
    if rules.iter().any(|r| r.from == Group::MeshForward) {
        let iface = quote(&c.mesh.interface);
        let _ = writeln!(
            s,
            "# this node relays: packets between WireGuard peers come in and go out of {}\nprintf -- '-A %s -i %s -o %s -j ACCEPT\\n' \"$fchain\" {iface} {iface} >>\"$rules4\"\nprintf -- '-A %s -i %s -o %s -j ACCEPT\\n' \"$fchain\" {iface} {iface} >>\"$rules6\"",
            comment(&c.mesh.interface)
        );
    }
}

/// The rest of the script: what it opens, closes and leaves alone, `--remove`, the tool checks,
/// and the chain built from `peers.txt`. It depends on the cluster and the rules only, never on
/// the node's name.
#[must_use]
pub fn body(c: &Cluster, rules: &[Rule]) -> String {
    let mut s = String::with_capacity(4096);
    let mesh = ports::mesh_port(c);
    let devices = cni_devices(c);
    let cluster = cluster_sources(c);
    let closed = closed_ports(c);
    // --- what it does, in words
    let _ = writeln!(
        s,
        "# Chain {CHAIN} (filter; iptables and ip6tables), jumped to first from INPUT. It opens:"
    );
    for r in rules {
        let line = format!(
            "  {} ({}) from {}{}",
            r.port.spec(),
            r.port.why,
            describe_group(c, r.from),
            match (&r.iface, r.from) {
                (_, Group::Anywhere) => " on the underlay".to_owned(),
                (Some(i), _) => format!(" on {i}"),
                (None, _) => " (LAN)".to_owned(),
            }
        );
        let _ = writeln!(s, "# {}", comment(&line));
    }
    let managed = c.mesh.managed_wireguard().is_some();
    if !managed {
        let _ = writeln!(
            s,
            "#   {} ({}) from anywhere: the mesh's own port is never cut",
            mesh.spec(),
            mesh.why
        );
    }
    let _ = writeln!(
        s,
        "#   everything from the pod and service networks ({}) on the CNI's devices only ({})",
        cluster
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        devices
            .iter()
            .map(|d| comment(d).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "# It closes (DROP) the cluster's ports {} to every other source, other nodes' pod addresses on a LAN included.",
        closed
            .iter()
            .map(|(p, a, b)| if a == b {
                format!("{a}/{p}")
            } else {
                format!("{a}-{b}/{p}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    s.push_str("# It leaves alone: default policies, SSH (22), ICMP from non-nodes, every other port and every rule it did not add;\n# established and related traffic goes back to INPUT. Rules are not persisted: save them with your distribution's tool.\n");
    if managed {
        let _ = writeln!(
            s,
            "# Chain {FORWARD_CHAIN} (filter), jumped to first from FORWARD: it accepts what a relay forwards between\n# WireGuard peers on {iface} (in and out of {iface}), and is empty on a node that relays for nobody.",
            iface = comment(&c.mesh.interface)
        );
    }
    s.push_str("set -eu\n");
    let _ = writeln!(s, "chain={CHAIN}");
    if managed {
        let _ = writeln!(s, "fchain={FORWARD_CHAIN}");
        s.push_str(
            "if [ \"${1:-}\" = --remove ]; then\n  for cmd in iptables ip6tables; do\n    command -v \"$cmd\" >/dev/null 2>&1 || continue\n    while \"$cmd\" -w -D INPUT -j \"$chain\" 2>/dev/null; do :; done\n    while \"$cmd\" -w -D FORWARD -j \"$fchain\" 2>/dev/null; do :; done\n    for ch in \"$chain\" \"$fchain\"; do\n      \"$cmd\" -w -F \"$ch\" 2>/dev/null || true\n      \"$cmd\" -w -X \"$ch\" 2>/dev/null || true\n    done\n  done\n  exit 0\nfi\n",
        );
    } else {
        s.push_str(
            "if [ \"${1:-}\" = --remove ]; then\n  for cmd in iptables ip6tables; do\n    command -v \"$cmd\" >/dev/null 2>&1 || continue\n    while \"$cmd\" -w -D INPUT -j \"$chain\" 2>/dev/null; do :; done\n    \"$cmd\" -w -F \"$chain\" 2>/dev/null || true\n    \"$cmd\" -w -X \"$chain\" 2>/dev/null || true\n  done\n  exit 0\nfi\n",
        );
    }
    s.push_str("[ $# -eq 0 ] || { echo \"usage: sh $0 [--remove]\" >&2; exit 2; }\n");
    // every tool is checked before the first change: a missing ip6tables would otherwise leave
    // the IPv4 half applied
    // both families always: k3s listens on IPv6 too, so its ports are closed there as well
    for cmd in [
        "iptables",
        "iptables-restore",
        "ip6tables",
        "ip6tables-restore",
    ] {
        let _ = writeln!(
            s,
            "command -v {cmd} >/dev/null 2>&1 || {{ echo 'firewall: {cmd} is not installed; nothing was changed (install the iptables package)' >&2; exit 1; }}"
        );
    }
    s.push_str("peers=$(dirname -- \"$0\")/peers.txt\n[ -r \"$peers\" ] || { echo \"firewall: $peers is missing: keep cluster/firewall/peers.txt next to this script\" >&2; exit 1; }\n");
    s.push_str("rules4=$(mktemp) && rules6=$(mktemp) || exit 1\ntrap 'rm -f \"$rules4\" \"$rules6\"' EXIT\n");
    s.push_str("add() { if [ \"$1\" = 6 ]; then out=$rules6; else out=$rules4; fi; shift; printf -- '-A %s %s\\n' \"$chain\" \"$*\" >>\"$out\"; }\n");
    s.push_str("echo_req() { if [ \"$1\" = 6 ]; then shift; add 6 \"$@\" -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT; else shift; add 4 \"$@\" -p icmp --icmp-type echo-request -j ACCEPT; fi; }\n");
    s.push_str(
        "for f in 4 6; do add \"$f\" -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN; done\n",
    );
    if managed {
        wireguard_body(&mut s, c, rules, &mesh);
    } else {
        let _ = writeln!(
            s,
            "# {}: {} ({})",
            mesh.spec(),
            mesh.why,
            comment(mesh.cite)
        );
        let _ = writeln!(
            s,
            "for f in 4 6; do add \"$f\" {} -j ACCEPT; done",
            port_args(&mesh)
        );
    }
    s.push_str("# pods and services: only on the CNI's devices\n");
    for cidr in &cluster {
        let f = match cidr.family() {
            Family::Ipv4 => 4,
            Family::Ipv6 => 6,
        };
        // flannel's IPv6 devices carry only IPv6, its IPv4 devices only IPv4
        let v6_dev = |d: &str| d.ends_with("-v6") || d.starts_with("flannel-v6");
        let flannel_v4 = |d: &str| d == "flannel.1" || d == "flannel-wg";
        for d in devices.iter().filter(|d| match f {
            4 => !v6_dev(d),
            _ => !flannel_v4(d),
        }) {
            let _ = writeln!(s, "add {f} -i {} -s {cidr} -j ACCEPT", quote(d));
        }
    }
    s.push_str("# the peers, from peers.txt\nwhile read -r group addr; do\n  case $group in ''|'#'*) continue ;; esac\n  case $addr in ''|*[!0-9A-Fa-f.:/]*) echo \"firewall: bad address in $peers: $addr\" >&2; exit 1 ;; esac\n  case $addr in *:*) f=6 ;; *) f=4 ;; esac\n  case $group in\n");
    let mut groups: Vec<Group> = rules
        .iter()
        .map(|r| r.from)
        .filter(|g| !matches!(g, Group::Anywhere | Group::MeshForward))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    for g in groups {
        let _ = write!(s, "    {})", g.name());
        let mut cmds: Vec<String> = Vec::new();
        for r in rules.iter().filter(|r| r.from == g) {
            let iface = r
                .iface
                .as_ref()
                .map_or_else(String::new, |i| format!(" -i {}", quote(i)));
            let cmd = match r.port.proto {
                Proto::Icmp => format!("echo_req \"$f\"{iface} -s \"$addr\""),
                _ => format!(
                    "add \"$f\"{iface} -s \"$addr\" {} -j ACCEPT",
                    port_args(&r.port)
                ),
            };
            // one port can be two rows of the matrix (6443: the API and Spegel's registry)
            if !cmds.contains(&cmd) {
                cmds.push(cmd);
            }
        }
        let _ = write!(s, " {}", cmds.join("; "));
        s.push_str(" ;;\n");
    }
    s.push_str("    *) ;;\n  esac\ndone <\"$peers\"\n");
    s.push_str("# the cluster's ports, closed to everyone else\n");
    for (proto, a, b) in &closed {
        let range = if a == b {
            a.to_string()
        } else {
            format!("{a}:{b}")
        };
        let _ = writeln!(
            s,
            "for f in 4 6; do add \"$f\" -p {proto} --dport {range} -j DROP; done"
        );
    }
    if managed {
        s.push_str("load() { cmd=$1; file=$2; { printf '*filter\\n:%s - [0:0]\\n:%s - [0:0]\\n' \"$chain\" \"$fchain\"; cat \"$file\"; printf 'COMMIT\\n'; } | \"$cmd-restore\" -w --noflush; \"$cmd\" -w -C INPUT -j \"$chain\" 2>/dev/null || \"$cmd\" -w -I INPUT 1 -j \"$chain\"; \"$cmd\" -w -C FORWARD -j \"$fchain\" 2>/dev/null || \"$cmd\" -w -I FORWARD 1 -j \"$fchain\"; }\n");
    } else {
        s.push_str("load() { cmd=$1; file=$2; { printf '*filter\\n:%s - [0:0]\\n' \"$chain\"; cat \"$file\"; printf 'COMMIT\\n'; } | \"$cmd-restore\" -w --noflush; \"$cmd\" -w -C INPUT -j \"$chain\" 2>/dev/null || \"$cmd\" -w -I INPUT 1 -j \"$chain\"; }\n");
    }
    s.push_str("load iptables \"$rules4\"\nload ip6tables \"$rules6\"\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLANNEL: &str =
        include_str!("../../../examples/specs/flannel-over-tailscale-gpu-worker.yaml");

    fn rule_of<'a>(rules: &'a [Rule], port: &str, g: Group) -> Option<&'a Rule> {
        rules.iter().find(|r| r.port.spec() == port && r.from == g)
    }

    #[test]
    fn servers_open_the_api_agents_do_not() {
        let c = Cluster::from_yaml(FLANNEL).unwrap();
        let server = rules(&c, c.node("k3s-master").unwrap());
        let agent = rules(&c, c.node("k3s-gpu-worker").unwrap());
        assert!(rule_of(&server, "6443/tcp", Group::MeshNodes).is_some());
        assert!(agent.iter().all(|r| r.port.from != 6443), "{agent:?}");
        for r in [&server, &agent] {
            assert!(rule_of(r, "8472/udp", Group::MeshNodes).is_some());
            assert!(r.iter().any(|x| x.port.spec() == "10250/tcp"));
        }
    }

    #[test]
    fn peers_are_addresses_not_ranges() {
        let c = Cluster::from_yaml(FLANNEL).unwrap();
        let p = peers_txt(&c);
        assert!(p.contains("mesh-nodes 100.80.98.64\n"), "{p}");
        // one server, no etcd peers: no script reads a servers-only group
        assert!(!p.contains("mesh-servers"), "{p}");
        assert!(p.contains("lan-nodes-0 192.168.2.21\n"), "{p}");
        // the gpu worker is alone on its site: no LAN group for it
        assert!(!p.contains("192.168.0.25"), "{p}");
        assert!(!p.contains("100.64.0.0/10"), "{p}");
        let sh = script(&c, c.node("k3s-master").unwrap());
        assert!(!sh.contains("100.64.0.0/10"), "{sh}");
    }

    #[test]
    fn lan_opens_only_what_is_dialed_on_it() {
        // flannel over tailscale0: VXLAN arrives on the mesh, never from the LAN; the kubelet
        // is dialed at the LAN node-ip by the site's peers
        let c = Cluster::from_yaml(FLANNEL).unwrap();
        let worker = rules(&c, c.node("k3s-worker-01").unwrap());
        assert!(rule_of(&worker, "8472/udp", Group::MeshNodes).is_some());
        assert!(rule_of(&worker, "8472/udp", Group::LanNodes(0)).is_none());
        assert!(rule_of(&worker, "10250/tcp", Group::LanNodes(0)).is_some());
        // mesh node-ips on a shared site: the LAN is opened for nothing
        let mesh = Cluster::from_yaml("version: 1\nname: lab\nsites: [{name: home, subnets: [192.168.2.0/24]}]\nnodes:\n  - {name: a, role: server, site: home, lan_ip: 192.168.2.10, mesh_ip: 100.64.0.1, node_ip: mesh}\n  - {name: b, role: agent, site: home, lan_ip: 192.168.2.11, mesh_ip: 100.64.0.2, node_ip: mesh}\n").unwrap();
        for n in &mesh.nodes {
            let r = rules(&mesh, n);
            assert!(r.iter().all(|x| x.iface.is_some()), "{r:?}");
        }
    }

    #[test]
    fn pods_only_on_cni_devices_and_cluster_ports_closed() {
        let c = Cluster::from_yaml(FLANNEL).unwrap();
        let sh = script(&c, c.node("k3s-master").unwrap());
        assert!(
            sh.contains("add 4 -i cni0 -s 10.42.0.0/16 -j ACCEPT"),
            "{sh}"
        );
        assert!(sh.contains("add 4 -i flannel.1 -s 10.42.0.0/16 -j ACCEPT"));
        assert!(!sh.contains("flannel-v6.1"), "IPv4-only: no IPv6 device");
        assert!(!sh.contains("add 4 -s 10.42.0.0/16"), "{sh}");
        assert!(sh.contains("for f in 4 6; do add \"$f\" -p udp --dport 41641 -j ACCEPT; done"));
        assert!(sh.contains("for f in 4 6; do add \"$f\" -p tcp --dport 10250 -j DROP; done"));
        assert!(sh.contains("for f in 4 6; do add \"$f\" -p udp --dport 8472 -j DROP; done"));
        assert!(!sh.contains("--dport 22 "), "{sh}");
        assert!(!sh.contains("-P INPUT"), "{sh}");
        // the mesh port is accepted before any drop
        assert!(sh.find("--dport 41641").unwrap() < sh.find("-j DROP").unwrap());
        let wg = Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: wireguard, interface: wg0, ipv4_range: 10.99.0.0/24}\nnodes:\n  - {name: a, role: server, mesh_ip: 10.99.0.1}\n").unwrap();
        let sh = script(&wg, &wg.nodes[0]);
        assert!(!sh.contains("41641"));
        assert!(sh.contains("-p udp --dport 51820 -j ACCEPT"), "{sh}");
    }

    #[test]
    fn etcd_between_servers_only() {
        let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: server, mesh_ip: 100.64.0.2}\n  - {name: d, role: server, mesh_ip: 100.64.0.3}\n  - {name: e, role: agent, mesh_ip: 100.64.0.4}\n").unwrap();
        let r = rules(&c, &c.nodes[1]);
        assert!(rule_of(&r, "2379-2380/tcp", Group::MeshServers).is_some());
        assert!(rule_of(&r, "2379-2380/tcp", Group::MeshNodes).is_none());
        let sh = script(&c, &c.nodes[1]);
        assert!(sh.contains("--dport 2379:2380 -j ACCEPT"), "{sh}");
        let flows = needed_flows(&c);
        assert!(
            !flows.iter().any(|f| f.from == "e" && f.port.from == 2379),
            "agents do not dial etcd"
        );
        assert!(
            flows
                .iter()
                .any(|f| f.from == "a" && f.to == "b" && f.port.from == 2379)
        );
    }

    #[test]
    fn a_server_url_on_the_lan_opens_the_api_there_only() {
        let c = Cluster::from_yaml("version: 1\nname: lab\nsites: [{name: home, subnets: [192.168.2.0/24]}]\nk3s: {server_url: \"https://192.168.2.10:6443\"}\nnodes:\n  - {name: a, role: server, site: home, lan_ip: 192.168.2.10, mesh_ip: 100.64.0.1, node_ip: mesh}\n  - {name: b, role: agent, site: home, lan_ip: 192.168.2.11, mesh_ip: 100.64.0.2, node_ip: mesh}\n").unwrap();
        let r = rules(&c, &c.nodes[0]);
        assert!(
            rule_of(&r, "6443/tcp", Group::LanNodes(0)).is_some(),
            "{r:?}"
        );
        assert!(
            rule_of(&r, "10250/tcp", Group::LanNodes(0)).is_none(),
            "{r:?}"
        );
        assert!(
            needed_flows(&c)
                .iter()
                .any(|f| f.from == "b" && !f.over_mesh && f.port.from == 6443)
        );
    }

    #[test]
    fn embedded_registry_opens_5001_and_6443_on_agents() {
        let c = Cluster::from_yaml("version: 1\nname: lab\nk3s: {server_extra: {embedded-registry: true}}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: agent, mesh_ip: 100.64.0.2}\n").unwrap();
        let agent = rules(&c, &c.nodes[1]);
        assert!(
            rule_of(&agent, "5001/tcp", Group::MeshNodes).is_some(),
            "{agent:?}"
        );
        assert!(
            rule_of(&agent, "6443/tcp", Group::MeshNodes).is_some(),
            "{agent:?}"
        );
    }
}
