//! Who peers with whom in a WireGuard mesh that meshspec renders, over which address, and who
//! relays for whom: pure data computed from the resolved cluster, shared by the rules
//! (MS822), the rendered `wg-quick` files, the firewall scripts, `verify.sh`, `PLAN.md` and the
//! bindings.
//!
//! Reachability: node A can dial node B when both sit on the same site and B has a LAN
//! address there, or when B has a `public_endpoint` (a node without a site is on the internet:
//! only its public endpoint can be dialed). A pair peers directly when either side can dial
//! the other; the side that cannot dial waits for the handshake and learns the address from
//! it. Any other pair goes through a relay (`mesh.wireguard.relays`, by default the servers
//! with a public endpoint) that peers directly with both; none: MS822.
//!
//! WireGuard's cryptokey routing requires the `AllowedIPs` of one interface's peers to be
//! disjoint (wg(8): "the allowed IPs of a peer ... are removed from any other peer"): a node
//! lists each other node's mesh addresses under exactly one peer, the node itself when direct,
//! else the relay of that pair.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::cluster::{Cluster, Node};
use crate::spec::Role;

/// How one node reaches a peer's WireGuard port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "via", content = "address")]
pub enum Dial {
    /// The peer's LAN address on the site both share.
    Lan(IpAddr),
    /// The peer's `public_endpoint`.
    Public(String),
}

/// One `[Peer]` of a node's interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// The peer node.
    pub name: String,
    /// Its public key (absent until the spec holds it: MS820).
    pub public_key: Option<String>,
    /// Where this node sends the first handshake (`Endpoint =`), `host:port`; `None` when it
    /// cannot dial the peer and waits for the peer's handshake.
    pub endpoint: Option<String>,
    /// How this node dials the peer, when it can.
    pub dial: Option<Dial>,
    /// Whether the peer dials this node (the firewall opens the listen port to it).
    pub dials_in: bool,
    /// Whether the peer dials this node over the LAN of their shared site (else from a
    /// public address the spec does not know).
    pub dials_in_over_lan: bool,
    /// `AllowedIPs`: the peer's mesh addresses as host routes, then those of the nodes this
    /// node reaches through it.
    pub allowed_ips: Vec<String>,
    /// `PersistentKeepalive` (seconds): set when the peer cannot dial this node, so the path
    /// (a NAT mapping, a stateful firewall) stays open and the peer learns the address.
    pub keepalive: Option<u16>,
    /// The nodes this node reaches through this peer (it relays for them).
    pub relays_for: Vec<String>,
}

/// One node's interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeTopology {
    /// The node.
    pub name: String,
    /// `Address`: its mesh addresses with the mesh range's prefix.
    pub addresses: Vec<String>,
    /// Its LAN addresses (the firewall accepts same-site peers from these).
    pub lan_ips: Vec<IpAddr>,
    /// Whether it forwards between other nodes (a relay serving at least one pair).
    pub forwards: bool,
    /// Its direct peers, in spec order.
    pub peers: Vec<Peer>,
}

impl NodeTopology {
    /// The LAN addresses of the peers that dial this node over their shared site, and whether
    /// some peer dials it from elsewhere (from an address the spec cannot know).
    #[must_use]
    pub fn inbound(&self, t: &Topology) -> (Vec<IpAddr>, bool) {
        let mut lan = Vec::new();
        let mut anywhere = false;
        for p in self.peers.iter().filter(|p| p.dials_in) {
            if p.dials_in_over_lan {
                if let Some(n) = t.node(&p.name) {
                    for ip in &n.lan_ips {
                        if !lan.contains(ip) {
                            lan.push(*ip);
                        }
                    }
                }
            } else {
                anywhere = true;
            }
        }
        (lan, anywhere)
    }
}

/// A pair that talks through a relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayedPair {
    /// One node (earlier in `nodes`).
    pub a: String,
    /// The other node.
    pub b: String,
    /// The relay between them.
    pub relay: String,
}

/// A pair that cannot talk at all (MS822), with the reason on each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnreachablePair {
    /// One node (earlier in `nodes`).
    pub a: String,
    /// Why nobody outside its site can dial it.
    pub a_reason: String,
    /// The other node.
    pub b: String,
    /// Why nobody outside its site can dial it.
    pub b_reason: String,
}

/// The whole mesh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topology {
    /// The interface on every node.
    pub interface: String,
    /// Its UDP port on every node.
    pub listen_port: u16,
    /// Its MTU.
    pub mtu: u32,
    /// The relays in effect (named in the spec, or the servers with a public endpoint).
    pub relays: Vec<String>,
    /// Whether `relays` comes from `mesh.wireguard.relays` (else the default).
    pub relays_explicit: bool,
    /// Every node's interface, in spec order.
    pub nodes: Vec<NodeTopology>,
    /// The pairs that talk through a relay.
    pub relayed: Vec<RelayedPair>,
    /// The pairs that cannot talk (MS822); empty in a valid spec.
    pub unreachable: Vec<UnreachablePair>,
}

impl Topology {
    /// A node's interface.
    #[must_use]
    pub fn node(&self, name: &str) -> Option<&NodeTopology> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

/// How `from` can dial `to`, if at all.
fn dial(listen_port: u16, from: &Node, to: &Node) -> Option<Dial> {
    if from.site.is_some() && from.site == to.site {
        let lan = to
            .lan_ips
            .iter()
            .find(|ip| from.lan_ips.iter().any(|f| f.is_ipv4() == ip.is_ipv4()))
            .or_else(|| to.lan_ips.first());
        if let Some(ip) = lan {
            return Some(Dial::Lan(*ip));
        }
    }
    to.public_endpoint
        .as_ref()
        .map(|e| Dial::Public(e.with_port(listen_port)))
}

fn endpoint(d: &Dial, listen_port: u16) -> String {
    match d {
        Dial::Lan(IpAddr::V6(ip)) => format!("[{ip}]:{listen_port}"),
        Dial::Lan(ip) => format!("{ip}:{listen_port}"),
        Dial::Public(e) => e.clone(),
    }
}

/// Why nobody outside its site can dial `n`.
fn why_undialable(c: &Cluster, n: &Node) -> String {
    match &n.site {
        Some(s) => {
            let nat = c.sites.iter().any(|x| &x.name == s && x.nat);
            if nat {
                format!(
                    "`{}` sits behind the NAT of site `{s}` and has no `public_endpoint`",
                    n.name
                )
            } else {
                format!("`{}` (site `{s}`) has no `public_endpoint`", n.name)
            }
        }
        None => format!("`{}` has no site and no `public_endpoint`", n.name),
    }
}

fn host_routes(n: &Node) -> impl Iterator<Item = String> + '_ {
    n.mesh_ips.iter().map(|ip| match ip {
        IpAddr::V4(_) => format!("{ip}/32"),
        IpAddr::V6(_) => format!("{ip}/128"),
    })
}

/// The topology of a WireGuard mesh that meshspec renders (`None` otherwise).
#[must_use]
pub fn compute(c: &Cluster) -> Option<Topology> {
    let w = c.mesh.managed_wireguard()?;
    let port = w.listen_port;
    let nodes = &c.nodes;
    let n = nodes.len();
    let relays: Vec<usize> = match &w.relays {
        Some(names) => names
            .iter()
            .filter_map(|r| nodes.iter().position(|x| &x.name == r))
            .collect(),
        None => (0..n)
            .filter(|i| nodes[*i].role == Role::Server && nodes[*i].public_endpoint.is_some())
            .collect(),
    };
    // dials[i][j]: how node i dials node j
    let dials: Vec<Vec<Option<Dial>>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    if i == j {
                        None
                    } else {
                        dial(port, &nodes[i], &nodes[j])
                    }
                })
                .collect()
        })
        .collect();
    let direct = |i: usize, j: usize| dials[i][j].is_some() || dials[j][i].is_some();
    // via[i] maps a node j that i reaches through a relay to that relay
    let mut via: Vec<BTreeMap<usize, usize>> = vec![BTreeMap::new(); n];
    let mut relayed = Vec::new();
    let mut unreachable = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            if direct(i, j) {
                continue;
            }
            match relays
                .iter()
                .copied()
                .find(|&r| r != i && r != j && direct(i, r) && direct(j, r))
            {
                Some(r) => {
                    via[i].insert(j, r);
                    via[j].insert(i, r);
                    relayed.push(RelayedPair {
                        a: nodes[i].name.clone(),
                        b: nodes[j].name.clone(),
                        relay: nodes[r].name.clone(),
                    });
                }
                None => unreachable.push(UnreachablePair {
                    a: nodes[i].name.clone(),
                    a_reason: why_undialable(c, &nodes[i]),
                    b: nodes[j].name.clone(),
                    b_reason: why_undialable(c, &nodes[j]),
                }),
            }
        }
    }
    let forwarding: Vec<bool> = (0..n)
        .map(|r| relayed.iter().any(|p| p.relay == nodes[r].name))
        .collect();
    let topo_nodes = (0..n)
        .map(|i| {
            let me = &nodes[i];
            let peers = (0..n)
                .filter(|&j| j != i && direct(i, j))
                .map(|j| {
                    let other = &nodes[j];
                    let through: Vec<usize> = via[i]
                        .iter()
                        .filter(|(_, r)| **r == j)
                        .map(|(k, _)| *k)
                        .collect();
                    let mut allowed: Vec<String> = host_routes(other).collect();
                    for k in &through {
                        allowed.extend(host_routes(&nodes[*k]));
                    }
                    let dials_in = dials[j][i].is_some();
                    Peer {
                        name: other.name.clone(),
                        public_key: other.wireguard_public_key.clone(),
                        endpoint: dials[i][j].as_ref().map(|d| endpoint(d, port)),
                        dial: dials[i][j].clone(),
                        dials_in,
                        dials_in_over_lan: matches!(dials[j][i], Some(Dial::Lan(_))),
                        allowed_ips: allowed,
                        keepalive: (!dials_in).then_some(w.keepalive),
                        relays_for: through.iter().map(|k| nodes[*k].name.clone()).collect(),
                    }
                })
                .collect();
            NodeTopology {
                name: me.name.clone(),
                addresses: me
                    .mesh_ips
                    .iter()
                    .map(|ip| {
                        let prefix = c
                            .mesh
                            .ranges()
                            .iter()
                            .find(|r| r.contains_addr(*ip))
                            .map_or(if ip.is_ipv4() { 32 } else { 128 }, |r| r.prefix());
                        format!("{ip}/{prefix}")
                    })
                    .collect(),
                lan_ips: me.lan_ips.clone(),
                forwards: forwarding[i],
                peers,
            }
        })
        .collect();
    Some(Topology {
        interface: c.mesh.interface.clone(),
        listen_port: port,
        mtu: c.mesh.mtu,
        relays: relays.iter().map(|r| nodes[*r].name.clone()).collect(),
        relays_explicit: w.relays.is_some(),
        nodes: topo_nodes,
        relayed,
        unreachable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    const KEYS: [&str; 6] = [
        "eD5lekJRtX3DbY7bIeA2EEIj0AoQ+eFdrPlftdv8vgA=",
        "QeJzu3gEwDGinmLx498AzX9Io/ghX2srvQ5cRtkt0Vw=",
        "j0HnzBUuagPUuwxgvJzgXXaedA08m7yn1gZEb0wXT0w=",
        "QnG9zjyLsfGZi3JO9HnBJ7YQuNTQcLAC/6y8DjMLon0=",
        "+qmcei97FPB8SVrzr2ewMsPhkN6vzvO1ezFf4Bg5pQQ=",
        "xzzhZY6dbG/Ae3tPbPXr2djMgZ1fmmMm83aum0XSVBQ=",
    ];

    /// A managed WireGuard spec: `nodes` are flow mappings without their key (added here).
    fn cluster(wg: &str, sites: &str, nodes: &[&str]) -> Cluster {
        let mut text = format!(
            "version: 1\nname: lab\nmesh:\n  provider: wireguard\n  ipv4_range: 10.99.0.0/24\n  wireguard: {{manage: true{wg}}}\nsites: [{sites}]\nnodes:\n"
        );
        for (i, n) in nodes.iter().enumerate() {
            text.push_str(&format!(
                "  - {{{n}, wireguard: {{public_key: \"{}\"}}}}\n",
                KEYS[i]
            ));
        }
        Cluster::from_yaml(&text).unwrap_or_else(|e| panic!("{text}\n{e:?}"))
    }

    fn peer<'a>(t: &'a Topology, node: &str, peer: &str) -> Option<&'a Peer> {
        t.node(node)?.peers.iter().find(|p| p.name == peer)
    }

    #[test]
    fn one_site_peers_over_the_lan_both_ways_without_keepalive() {
        let c = cluster(
            "",
            "{name: home, subnets: [192.168.2.0/24], nat: true}",
            &[
                "name: s1, role: server, site: home, lan_ip: 192.168.2.10, mesh_ip: 10.99.0.1",
                "name: a1, role: agent, site: home, lan_ip: 192.168.2.11, mesh_ip: 10.99.0.2",
            ],
        );
        let t = c.wireguard_topology().unwrap();
        let p = peer(t, "s1", "a1").unwrap();
        assert_eq!(p.endpoint.as_deref(), Some("192.168.2.11:51820"));
        assert_eq!(p.allowed_ips, ["10.99.0.2/32"]);
        assert!(p.dials_in && p.dials_in_over_lan);
        assert_eq!(p.keepalive, None);
        assert_eq!(p.public_key.as_deref(), Some(KEYS[1]));
        assert_eq!(t.node("s1").unwrap().addresses, ["10.99.0.1/24"]);
        assert_eq!(
            t.node("s1").unwrap().inbound(t),
            (vec!["192.168.2.11".parse().unwrap()], false)
        );
        assert!(t.relayed.is_empty() && t.unreachable.is_empty() && t.relays.is_empty());
        assert!(!c.validate().has_errors(), "{:?}", c.validate().codes());
    }

    fn three_sites(wg: &str) -> Cluster {
        cluster(
            wg,
            "{name: home, subnets: [192.168.1.0/24], nat: true}, {name: office, subnets: [192.168.50.0/24], nat: true}, {name: cloud, subnets: [172.31.0.0/16]}",
            &[
                "name: cloud-1, role: server, site: cloud, lan_ip: 172.31.0.10, mesh_ip: 10.99.0.1, public_endpoint: \"203.0.113.10:51820\"",
                "name: home-1, role: agent, site: home, lan_ip: 192.168.1.10, mesh_ip: 10.99.0.2",
                "name: home-2, role: agent, site: home, lan_ip: 192.168.1.11, mesh_ip: 10.99.0.3",
                "name: office-1, role: agent, site: office, lan_ip: 192.168.50.10, mesh_ip: 10.99.0.4",
            ],
        )
    }

    #[test]
    fn nated_sites_talk_through_the_cloud_relay() {
        let c = three_sites("");
        let t = c.wireguard_topology().unwrap();
        assert_eq!(t.relays, ["cloud-1"]);
        assert!(!t.relays_explicit);
        // home-1 dials the relay and keeps its NAT mapping open; the relay cannot dial it
        let up = peer(t, "home-1", "cloud-1").unwrap();
        assert_eq!(up.endpoint.as_deref(), Some("203.0.113.10:51820"));
        assert_eq!(up.keepalive, Some(25));
        assert_eq!(up.allowed_ips, ["10.99.0.1/32", "10.99.0.4/32"]);
        assert_eq!(up.relays_for, ["office-1"]);
        let down = peer(t, "cloud-1", "home-1").unwrap();
        assert_eq!(down.endpoint, None);
        assert_eq!(down.keepalive, None);
        assert!(down.dials_in && !down.dials_in_over_lan);
        assert_eq!(down.allowed_ips, ["10.99.0.2/32"]);
        // the relay accepts from anywhere (the NATed sites' public addresses are unknown)
        assert_eq!(t.node("cloud-1").unwrap().inbound(t), (vec![], true));
        // same site: direct over the LAN, though both are behind NAT
        assert_eq!(
            peer(t, "home-1", "home-2").unwrap().endpoint.as_deref(),
            Some("192.168.1.11:51820")
        );
        // across the two NATed sites: no direct peer, through the relay
        assert!(peer(t, "home-1", "office-1").is_none());
        assert_eq!(
            t.relayed,
            [
                RelayedPair {
                    a: "home-1".into(),
                    b: "office-1".into(),
                    relay: "cloud-1".into()
                },
                RelayedPair {
                    a: "home-2".into(),
                    b: "office-1".into(),
                    relay: "cloud-1".into()
                },
            ]
        );
        assert!(t.node("cloud-1").unwrap().forwards);
        assert!(!t.node("home-1").unwrap().forwards);
        assert_eq!(
            peer(t, "office-1", "cloud-1").unwrap().allowed_ips,
            ["10.99.0.1/32", "10.99.0.2/32", "10.99.0.3/32"]
        );
        assert!(!c.validate().has_errors(), "{:?}", c.validate().codes());
    }

    #[test]
    fn no_relay_is_ms822_naming_the_pair_and_the_reasons() {
        // the relay default is servers with a public endpoint: naming none turns it off
        let c = three_sites(", relays: []");
        let t = c.wireguard_topology().unwrap();
        assert!(t.relays.is_empty() && t.relays_explicit);
        assert_eq!(t.unreachable.len(), 2);
        let d = c.validate();
        let ms822: Vec<_> = d
            .iter()
            .filter(|d| d.code == Code::WgUnreachablePair)
            .collect();
        assert_eq!(ms822.len(), 2, "{:?}", d.codes());
        assert!(
            ms822[0].message.contains("`home-1` and `office-1`"),
            "{}",
            ms822[0].message
        );
        assert!(
            ms822[0].message.contains("behind the NAT of site `home`"),
            "{}",
            ms822[0].message
        );
        assert!(
            ms822[0]
                .message
                .contains("`mesh.wireguard.relays` is empty"),
            "{}",
            ms822[0].message
        );
        // a relay that is no node is MS007
        let c = three_sites(", relays: [cloud-2]");
        assert!(c.validate().codes().contains(&Code::UnknownReference));
        assert!(c.validate().codes().contains(&Code::WgUnreachablePair));
    }

    #[test]
    fn a_relay_must_reach_both_sides() {
        // the only relay sits on the home site: it reaches home-1 but not office-1
        let c = cluster(
            ", relays: [home-2]",
            "{name: home, subnets: [192.168.1.0/24], nat: true}, {name: office, subnets: [192.168.50.0/24], nat: true}",
            &[
                "name: home-1, role: server, site: home, lan_ip: 192.168.1.10, mesh_ip: 10.99.0.1",
                "name: home-2, role: agent, site: home, lan_ip: 192.168.1.11, mesh_ip: 10.99.0.2",
                "name: office-1, role: agent, site: office, lan_ip: 192.168.50.10, mesh_ip: 10.99.0.3",
            ],
        );
        let t = c.wireguard_topology().unwrap();
        assert!(t.relayed.is_empty());
        assert_eq!(t.unreachable.len(), 2);
        let msg = &c
            .validate()
            .iter()
            .find(|d| d.code == Code::WgUnreachablePair)
            .unwrap()
            .message
            .clone();
        assert!(
            msg.contains("no relay (`home-2`) peers directly with both"),
            "{msg}"
        );
    }

    #[test]
    fn a_node_without_a_site_is_on_the_internet() {
        let c = cluster(
            "",
            "",
            &[
                "name: vps-1, role: server, mesh_ip: 10.99.0.1, public_endpoint: \"vps1.example.com\"",
                "name: vps-2, role: agent, mesh_ip: 10.99.0.2",
            ],
        );
        let t = c.wireguard_topology().unwrap();
        // vps-2 has no endpoint: vps-1 waits for it; vps-2 dials by name, port = listen_port
        assert_eq!(
            peer(t, "vps-2", "vps-1").unwrap().endpoint.as_deref(),
            Some("vps1.example.com:51820")
        );
        assert_eq!(peer(t, "vps-1", "vps-2").unwrap().endpoint, None);
        assert_eq!(peer(t, "vps-2", "vps-1").unwrap().keepalive, Some(25));
    }

    #[test]
    fn dual_stack_addresses_and_host_routes() {
        let text = format!(
            "version: 1\nname: lab\nnetwork: {{cluster_cidr: [10.42.0.0/16, \"fd00:42::/56\"], service_cidr: [10.43.0.0/16, \"fd00:43::/112\"]}}\nmesh: {{provider: wireguard, ipv4_range: 10.99.0.0/24, ipv6_range: \"fd99::/64\", wireguard: {{manage: true, listen_port: 51999}}}}\nsites: [{{name: lab, subnets: [192.168.9.0/24, \"fd09::/64\"]}}]\nnodes:\n  - {{name: a, role: server, site: lab, lan_ip: [192.168.9.1, \"fd09::1\"], mesh_ip: [10.99.0.1, \"fd99::1\"], wireguard: {{public_key: \"{}\"}}}}\n  - {{name: b, role: agent, site: lab, lan_ip: [\"fd09::2\"], mesh_ip: [10.99.0.2, \"fd99::2\"], wireguard: {{public_key: \"{}\"}}}}\n",
            KEYS[0], KEYS[1]
        );
        let c = Cluster::from_yaml(&text).unwrap();
        let t = c.wireguard_topology().unwrap();
        assert_eq!(
            t.node("a").unwrap().addresses,
            ["10.99.0.1/24", "fd99::1/64"]
        );
        let p = peer(t, "a", "b").unwrap();
        assert_eq!(p.allowed_ips, ["10.99.0.2/32", "fd99::2/128"]);
        // b has only an IPv6 LAN address: a dials it in brackets on the listen port
        assert_eq!(p.endpoint.as_deref(), Some("[fd09::2]:51999"));
        // b dials a over the family they share
        assert_eq!(
            peer(t, "b", "a").unwrap().endpoint.as_deref(),
            Some("[fd09::1]:51999")
        );
    }

    #[test]
    fn not_managed_has_no_topology() {
        let c = Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: wireguard, ipv4_range: 10.99.0.0/24}\nnodes:\n  - {name: a, role: server, mesh_ip: 10.99.0.1}\n").unwrap();
        assert!(c.wireguard_topology().is_none());
        assert!(!c.validate().codes().contains(&Code::WgPublicKey));
    }

    #[test]
    fn ms823_compares_the_real_listen_port_per_family() {
        let spec = |port: u16, dual: bool| {
            let net = if dual {
                "network: {cluster_cidr: [10.42.0.0/16, \"fd00:42::/56\"], service_cidr: [10.43.0.0/16, \"fd00:43::/112\"]}\n"
            } else {
                ""
            };
            let v6 = if dual { ", \"fd99::1\"" } else { "" };
            let range = if dual {
                ", ipv6_range: \"fd99::/64\""
            } else {
                ""
            };
            Cluster::from_yaml(&format!(
                "version: 1\nname: lab\n{net}mesh: {{provider: wireguard, ipv4_range: 10.99.0.0/24{range}, wireguard: {{listen_port: {port}}}}}\ncni: {{flannel: {{backend: wireguard-native}}}}\nnodes:\n  - {{name: a, role: server, mesh_ip: [10.99.0.1{v6}]}}\n"
            ))
            .unwrap()
            .validate()
            .codes()
            .contains(&Code::WgPortClash)
        };
        assert!(spec(51820, false));
        assert!(!spec(51822, false));
        assert!(!spec(51821, false)); // flannel-wg-v6 exists only with IPv6 pods
        assert!(spec(51821, true));
    }
}
