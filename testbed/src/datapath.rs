//! The CNI's data path as the bundle configures it, on the nodes' own interfaces (found by name
//! and address in each node's namespace, so it works on a bridged mesh and on real WireGuard):
//!
//! - flannel VXLAN (`flannel-backend` absent or `vxlan` in the configs): `flannel.1`, VNI 1, UDP
//!   8472, `nolearning`, `local` = the node's address on the interface `flannel-iface` names
//!   (else the one holding `node-ip`), MTU = that interface's MTU - 50 (flannel
//!   `pkg/backend/vxlan/vxlan_network.go` `encapOverhead`); with an IPv6 pod network
//!   `flannel-v6.1` too, whose MTU the kernel derives (lower device - 70: flannel sets none).
//!   The device holds the pod subnet's network address (/32, /128); per peer: the peer's pod
//!   subnet via its network address `onlink`, a permanent neighbour entry with the peer VTEP's
//!   link address and `bridge fdb append <mac> dst <peer endpoint>` (flannel `vxlan_network.go`
//!   `handleSubnetEvents`).
//! - Cilium tunnel mode (`flannel-backend: none` and `cluster/cilium-values.yaml`): one
//!   metadata-mode device (`cilium_vxlan`, or `cilium_geneve`; the kernel's Geneve module when
//!   present, else a VXLAN device of the same 50-byte overhead on the Geneve port), port 8472 /
//!   6081 or `tunnelPort`, MTU = the `MTU` value (Cilium's device MTU), per peer a route to its
//!   pod subnet with `encap ip dst <peer node-ip>` (what Cilium's eBPF sets per packet; no eBPF
//!   here). Pods get eth0 at the device MTU and a default route at the device MTU - 50
//!   (Cilium `pkg/mtu/mtu.go`: `RouteMTU = base - TunnelOverhead`); `MTU` 0 or absent is
//!   auto-detected as the smallest MTU of the node's devices (Cilium 1.17+ `MTUManager`).
//! - flannel wireguard-native (`flannel-backend: wireguard-native`): a WireGuard device per
//!   node, `flannel-wg`, listening on UDP 51820, on the same interface choice as VXLAN, MTU =
//!   that interface's MTU - 80 (flannel `pkg/backend/wireguard/wireguard_network.go`
//!   `overhead`), holding the pod subnet's network address; per peer: a WireGuard peer whose
//!   endpoint is the peer's address on its interface, port 51820, allowed IPs its pod subnet,
//!   keepalive 25 (k3s's flannel config), and a route to that subnet over `flannel-wg`. The
//!   kernel's WireGuard when present, else `wireguard-go` in the node's private mount
//!   namespace (the mesh's, whose control socket has another name). With IPv6 pods a second
//!   device, `flannel-wg-v6` (flannel's default mode `separate`; k3s's config sets no `Mode`),
//!   on UDP 51821 (`ListenPortV6`), at the same MTU, the same key (flannel reads one key file
//!   for both devices), the IPv6 pod subnet's
//!   network address, and per peer its IPv6 address on that interface, port 51821.
//! - One pod namespace per node (`<prefix>-q<i>`), a veth (`eth0` in the pod, `vethpod` on the
//!   node, the gateway `.1` of the pod subnet), the pod at `.2` (host-local's first address),
//!   forwarding on in the node.
//!
//! Not modelled (the proof says so and skips): host-gw, k3s's Tailscale extension (vpn-auth),
//! Cilium native routing or encryption, IPv6 pods under Cilium.
//!
//! The tunnel devices bind their UDP port, as the testbed's listeners do for the port matrix:
//! they are made after the port proofs, once the listeners are stopped.

use std::collections::BTreeMap;
use std::net::IpAddr;

use meshspec::Cluster;
use meshspec::cidr::{Cidr, Family};

use crate::Testbed;
use crate::bundle::{BundleDir, Place};
use crate::cmd::{batch, run};

/// The Cilium values file of a bundle.
pub const CILIUM_VALUES: &str = "cluster/cilium-values.yaml";
/// flannel's VXLAN port (the kernel's IANA-less default flannel keeps, `vxlan.go`).
const FLANNEL_PORT: u16 = 8472;
/// Cilium's VXLAN port and Geneve port when `tunnelPort` is unset (agent defaults).
const CILIUM_VXLAN_PORT: u16 = 8472;
const CILIUM_GENEVE_PORT: u16 = 6081;
/// VXLAN (and Geneve without options) over IPv4: outer IPv4 20 + UDP 8 + header 8 + inner
/// Ethernet 14.
pub const TUNNEL_OVERHEAD: u32 = 50;
/// The host side of each pod's veth.
const HOST_VETH: &str = "vethpod";
/// flannel wireguard-native's device and IPv4 port (flannel `pkg/backend/wireguard`).
const FLANNEL_WG: &str = "flannel-wg";
/// flannel wireguard-native's IPv4 listen port.
const FLANNEL_WG_PORT: u16 = 51820;
/// flannel wireguard-native's IPv6 device (mode `separate`, flannel's default, which k3s keeps).
const FLANNEL_WG_V6: &str = "flannel-wg-v6";
/// flannel wireguard-native's IPv6 listen port (`ListenPortV6`).
const FLANNEL_WG_PORT_V6: u16 = 51821;
/// flannel wireguard-native's overhead (`wireguard_network.go`: `overhead = 80`).
const FLANNEL_WG_OVERHEAD: u32 = 80;
/// The keepalive k3s gives flannel's WireGuard peers (`PersistentKeepaliveInterval: 25`).
const FLANNEL_WG_KEEPALIVE: u16 = 25;

/// Which data path the bundle configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// flannel with its VXLAN backend.
    FlannelVxlan,
    /// flannel with its wireguard-native backend (`flannel-wg`, and `flannel-wg-v6` with IPv6
    /// pods).
    FlannelWireguard,
    /// Cilium in tunnel mode.
    Cilium {
        /// Geneve rather than VXLAN.
        geneve: bool,
        /// The UDP port.
        port: u16,
        /// The `MTU` value and its line (`None`: 0 or absent, auto-detected).
        mtu: Option<u32>,
        /// Where `MTU` is (or would be).
        place: Place,
        /// `cluster-pool`: the pool and the per-node mask.
        pool: Option<(Vec<Cidr>, u8)>,
    },
}

/// The data path the bundle asks for, decided when the testbed is built.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The kind.
    pub kind: Kind,
    /// Each node's pod namespace, in node order.
    pub pods: Vec<String>,
}

/// A top-level `key: value` of a flat YAML file, unquoted, and its line.
fn top_value(text: &str, key: &str) -> Option<(String, usize)> {
    text.lines().enumerate().find_map(|(i, l)| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| {
                (
                    v.trim().trim_matches('"').trim_matches('\'').to_owned(),
                    i + 1,
                )
            })
    })
}

/// What the bundle configures, or why the testbed does not model it.
///
/// # Errors
/// The reason the data path is not modelled.
pub fn plan(bd: &BundleDir, c: &Cluster) -> Result<Kind, String> {
    let configs: Vec<String> = c
        .nodes
        .iter()
        .filter_map(|n| bd.text(&BundleDir::config_path(&n.name)))
        .collect();
    if configs
        .iter()
        .any(|t| top_value(t, "vpn-auth").is_some() || top_value(t, "vpn-auth-file").is_some())
    {
        return Err("k3s's Tailscale extension (vpn-auth) routes pods over the mesh itself, without a tunnel device".into());
    }
    let backend = configs
        .iter()
        .find_map(|t| top_value(t, "flannel-backend").map(|v| v.0))
        .unwrap_or_else(|| "vxlan".to_owned());
    match backend.as_str() {
        "vxlan" => Ok(Kind::FlannelVxlan),
        "wireguard-native" => Ok(Kind::FlannelWireguard),
        "none" => {
            let Some(values) = bd.text(CILIUM_VALUES) else {
                return Err(format!(
                    "flannel-backend is none and the bundle has no {CILIUM_VALUES}"
                ));
            };
            if top_value(&values, "routingMode").is_some_and(|v| v.0 == "native") {
                return Err("Cilium native routing (no tunnel)".into());
            }
            if values.lines().any(|l| l.starts_with("encryption:")) {
                return Err("Cilium's own encryption".into());
            }
            let geneve = top_value(&values, "tunnelProtocol").is_some_and(|v| v.0 == "geneve");
            let port = top_value(&values, "tunnelPort")
                .and_then(|v| v.0.parse::<u16>().ok())
                .filter(|p| *p != 0)
                .unwrap_or(if geneve {
                    CILIUM_GENEVE_PORT
                } else {
                    CILIUM_VXLAN_PORT
                });
            let (mtu, line) = match top_value(&values, "MTU") {
                Some((v, line)) => (v.parse::<u32>().ok().filter(|m| *m != 0), Some(line)),
                None => (None, None),
            };
            let pool = if values.lines().any(|l| l.trim() == "mode: cluster-pool") {
                let list: Vec<Cidr> = values
                    .lines()
                    .skip_while(|l| l.trim() != "clusterPoolIPv4PodCIDRList:")
                    .skip(1)
                    .take_while(|l| l.trim_start().starts_with("- "))
                    .filter_map(|l| {
                        l.trim_start()
                            .trim_start_matches("- ")
                            .trim_matches('"')
                            .parse()
                            .ok()
                    })
                    .collect();
                let mask = values
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("clusterPoolIPv4MaskSize:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(24);
                Some((list, mask))
            } else {
                None
            };
            Ok(Kind::Cilium {
                geneve,
                port,
                mtu,
                place: Place {
                    file: CILIUM_VALUES.into(),
                    line,
                },
                pool,
            })
        }
        other => Err(format!("flannel backend `{other}`")),
    }
}

/// One node's built data path.
#[derive(Debug, Clone)]
pub struct PodNode {
    /// The node.
    pub node: String,
    /// The node's namespace.
    pub node_ns: String,
    /// The pod's namespace.
    pub pod_ns: String,
    /// The pod's addresses (IPv4, IPv6).
    pub pod4: Option<IpAddr>,
    /// IPv6.
    pub pod6: Option<IpAddr>,
    /// The largest IPv4 packet the pod sends to another node's pod without an error (its
    /// route MTU, else eth0's).
    pub send4: u32,
    /// The same for IPv6 (eth0, or the smaller `flannel-v6.1`).
    pub send6: Option<u32>,
    /// The tunnel device and its MTU, for reports.
    pub device: String,
    /// The tunnel device's MTU.
    pub device_mtu: u32,
    /// The bundle file and line that decide this node's tunnel MTU.
    pub place: Place,
    /// How the MTU came about (`flannel-iface tailscale0 (MTU 1280) - 50`).
    pub why: String,
}

/// The built data path (the nodes that have one) and the nodes that could not get one (node,
/// why, where).
#[derive(Debug, Default)]
pub struct Built {
    /// The nodes with a pod.
    pub nodes: Vec<PodNode>,
    /// Nodes whose data path cannot exist as configured.
    pub broken: Vec<(String, String, Place)>,
    /// A note on what stands for what (Geneve as VXLAN).
    pub note: Option<String>,
    /// Processes holding a private mount namespace made for a node's `flannel-wg` (nodes
    /// without a mesh host); they go with the testbed's namespaces.
    pub holders: Vec<std::process::Child>,
}

/// A node namespace's links: name -> (MTU, global addresses).
fn links(ns: &str) -> Result<BTreeMap<String, (u32, Vec<IpAddr>)>, String> {
    let out = run("ip", &["-n", ns, "-j", "addr", "show"])?;
    let v: serde_json::Value =
        serde_json::from_str(&out).map_err(|e| format!("ip -j addr: {e}"))?;
    let mut m = BTreeMap::new();
    for l in v.as_array().into_iter().flatten() {
        let Some(name) = l["ifname"].as_str() else {
            continue;
        };
        let mtu = l["mtu"]
            .as_u64()
            .and_then(|x| u32::try_from(x).ok())
            .unwrap_or(1500);
        let addrs = l["addr_info"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["scope"] == "global")
            .filter_map(|a| a["local"].as_str().and_then(|s| s.parse().ok()))
            .collect();
        m.insert(name.to_owned(), (mtu, addrs));
    }
    Ok(m)
}

/// A link address for node `i`'s tunnel device of family tag `f`.
fn mac(f: u8, i: usize) -> String {
    format!("02:6d:73:{f:02x}:{:02x}:{:02x}", (i >> 8) & 0xff, i & 0xff)
}

/// Addresses of a pod subnet: network, gateway (.1), pod (.2).
fn pod_addrs(c: &Cidr) -> Option<(IpAddr, IpAddr, IpAddr)> {
    if c.size() < 4 {
        return None;
    }
    Some((c.network(), c.nth(1)?, c.nth(2)?))
}

struct Node4 {
    i: usize,
    cidr4: Option<Cidr>,
    cidr6: Option<Cidr>,
    ep4: Option<IpAddr>,
    ep6: Option<IpAddr>,
}

/// Brings the data path up: the tunnel devices, the pods, the forwarding entries for every
/// peer. The listeners must be stopped (they hold the tunnel port).
///
/// # Errors
/// A command failed for a reason that is the testbed's, not the bundle's.
pub fn activate(tb: &Testbed, c: &Cluster, bd: &BundleDir, plan: &Plan) -> Result<Built, String> {
    let mut built = Built::default();
    let mut peers: Vec<Node4> = Vec::new();
    // flannel-wg: node index -> (the process whose namespaces `wg` enters, label, public key)
    let mut wg_keys: BTreeMap<usize, (u32, String, String)> = BTreeMap::new();
    let geneve_module = match &plan.kind {
        Kind::Cilium { geneve: true, .. } => {
            let probe = format!("{}-q0", tb.prefix);
            let ok = run(
                "ip",
                &[
                    "-n", &probe, "link", "add", "gnvprobe", "type", "geneve", "external",
                ],
            )
            .is_ok();
            let _ = run("ip", &["-n", &probe, "link", "del", "gnvprobe"]);
            if !ok {
                built.note = Some("no Geneve module on this kernel: cilium_geneve is a VXLAN device of the same 50-byte overhead on the Geneve port".into());
            }
            ok
        }
        _ => false,
    };
    // Cilium's cluster-pool: the operator hands out the pool's blocks; in join order here
    let pool_blocks: BTreeMap<usize, Cidr> = match &plan.kind {
        Kind::Cilium {
            pool: Some((list, mask)),
            ..
        } => {
            let mut blocks = list.iter().flat_map(|p| meshspec::cidr::blocks(p, *mask));
            c.join_order
                .iter()
                .filter_map(|i| blocks.next().map(|b| (*i, b)))
                .collect()
        }
        _ => BTreeMap::new(),
    };
    for (i, (n, tn)) in c.nodes.iter().zip(&tb.nodes).enumerate() {
        let Some(pod_ns) = plan.pods.get(i) else {
            continue;
        };
        let ls = links(&tn.ns)?;
        let (node_ips, ip_line) = bd.node_ips(&n.name);
        let holder = |a: &IpAddr| {
            ls.iter()
                .find(|(_, (_, ad))| ad.contains(a))
                .map(|(k, _)| k.clone())
        };
        let mut cidr4 = n
            .pod_cidrs
            .iter()
            .find(|x| x.family() == Family::Ipv4)
            .copied();
        let mut cidr6 = n
            .pod_cidrs
            .iter()
            .find(|x| x.family() == Family::Ipv6)
            .copied();
        let (device, dev_mtu, eth0_mtu, route_mtu, ep4, ep6, place, why, v6dev);
        match &plan.kind {
            Kind::FlannelVxlan | Kind::FlannelWireguard => {
                let wg = plan.kind == Kind::FlannelWireguard;
                let (iface, line) = bd.flannel_iface(&n.name);
                let config = BundleDir::config_path(&n.name);
                let chosen = match &iface {
                    Some(name) if ls.contains_key(name) => {
                        Some((name.clone(), format!("flannel-iface {name}")))
                    }
                    // the testbed names a node's LAN interface lan0: any other name stands for it
                    Some(name) if *name != c.mesh.interface && ls.contains_key("lan0") => Some((
                        "lan0".to_owned(),
                        format!("flannel-iface {name} (the LAN interface)"),
                    )),
                    Some(_) => None,
                    None => node_ips
                        .first()
                        .and_then(holder)
                        .map(|h| (h.clone(), format!("the interface of node-ip ({h})"))),
                };
                let Some((ifname, what)) = chosen else {
                    built.broken.push((
                        n.name.clone(),
                        match &iface {
                            Some(name) => format!("flannel-iface {name}: the node has no such interface, flannel does not start"),
                            None => "no interface holds the node-ip: flannel does not start".into(),
                        },
                        Place { file: config, line: if iface.is_some() { line } else { ip_line } },
                    ));
                    continue;
                };
                let (if_mtu, addrs) = ls.get(&ifname).cloned().unwrap_or((1500, Vec::new()));
                ep4 = addrs.iter().find(|a| a.is_ipv4()).copied();
                ep6 = addrs.iter().find(|a| a.is_ipv6()).copied();
                let (name, overhead, kind) = if wg {
                    (FLANNEL_WG, FLANNEL_WG_OVERHEAD, "WireGuard")
                } else {
                    ("flannel.1", TUNNEL_OVERHEAD, "VXLAN")
                };
                device = name.to_owned();
                dev_mtu = if_mtu.saturating_sub(overhead);
                eth0_mtu = dev_mtu;
                route_mtu = None;
                v6dev = ep6.is_some() && cidr6.is_some();
                place = Place {
                    file: config,
                    line: if iface.is_some() { line } else { ip_line },
                };
                why = format!("{what} at MTU {if_mtu}, - {overhead} ({kind})");
            }
            Kind::Cilium {
                geneve,
                mtu,
                place: p,
                ..
            } => {
                ep4 = node_ips.iter().find(|a| a.is_ipv4()).copied();
                ep6 = None;
                cidr6 = None;
                if let Some(b) = pool_blocks.get(&i) {
                    cidr4 = Some(*b);
                }
                let base = mtu.unwrap_or_else(|| {
                    ls.iter()
                        .filter(|(k, _)| k.as_str() != "lo")
                        .map(|(_, (m, _))| *m)
                        .min()
                        .unwrap_or(1500)
                });
                device = if *geneve {
                    "cilium_geneve"
                } else {
                    "cilium_vxlan"
                }
                .to_owned();
                dev_mtu = base;
                eth0_mtu = base;
                route_mtu = Some(base.saturating_sub(TUNNEL_OVERHEAD));
                v6dev = false;
                place = p.clone();
                why = match mtu {
                    Some(m) => format!(
                        "Cilium `MTU` {m}, - {TUNNEL_OVERHEAD} ({})",
                        if *geneve { "Geneve" } else { "VXLAN" }
                    ),
                    None => format!("Cilium `MTU` auto-detected {base}, - {TUNNEL_OVERHEAD}"),
                };
            }
        }
        let (Some(c4), Some(ep)) = (cidr4, ep4) else {
            built.broken.push((
                n.name.clone(),
                format!("no IPv4 pod subnet or no IPv4 tunnel endpoint on {device}"),
                place,
            ));
            continue;
        };
        let Some((net4, gw4, p4)) = pod_addrs(&c4) else {
            continue;
        };
        let v6 = if v6dev {
            cidr6.and_then(|x| pod_addrs(&x).map(|a| (x, a)))
        } else {
            None
        };
        // the node
        let mut nb = format!(
            "link add {HOST_VETH} mtu {eth0_mtu} type veth peer name eth0 mtu {eth0_mtu} netns {pod_ns}\nlink set {HOST_VETH} up\naddr add {gw4}/{} dev {HOST_VETH}\n",
            c4.prefix()
        );
        if let Some((x6, (_, gw6, _))) = &v6 {
            nb.push_str(&format!(
                "addr add {gw6}/{} dev {HOST_VETH} nodad\n",
                x6.prefix()
            ));
        }
        match &plan.kind {
            Kind::FlannelVxlan => {
                let (ifname, _) = ls
                    .iter()
                    .find(|(_, (_, a))| a.contains(&ep))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .unwrap_or_default();
                nb.push_str(&format!(
                    "link add {device} address {} mtu {dev_mtu} type vxlan id 1 local {ep} dev {ifname} dstport {FLANNEL_PORT} nolearning\naddr add {net4}/32 dev {device}\n",
                    mac(4, i)
                ));
                if let (Some((_, (net6, _, _))), Some(e6)) = (&v6, ep6) {
                    nb.push_str(&format!(
                        "link add flannel-v6.1 address {} type vxlan id 1 local {e6} dev {ifname} dstport {FLANNEL_PORT} nolearning\naddr add {net6}/128 dev flannel-v6.1 nodad\n",
                        mac(6, i)
                    ));
                }
            }
            // a WireGuard device is made in the node's mount namespace, below
            Kind::FlannelWireguard => {}
            Kind::Cilium { port, .. } => {
                let kind = if geneve_module {
                    format!("geneve external dstport {port}")
                } else {
                    format!("vxlan external dstport {port}")
                };
                nb.push_str(&format!(
                    "link add {device} address {} mtu {dev_mtu} type {kind}\naddr add {net4}/32 dev {device}\n",
                    mac(4, i)
                ));
            }
        }
        run(
            "ip",
            &[
                "netns",
                "exec",
                &tn.ns,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
                "net.ipv6.conf.all.forwarding=1",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
            ],
        )?;
        batch("ip", &tn.ns, &nb, "")?;
        if plan.kind == Kind::FlannelWireguard {
            let label = format!("{} ({FLANNEL_WG})", n.name);
            let pid = match tb.mesh.hosts.iter().find(|h| h.node == Some(i)) {
                Some(h) => h.holder,
                None => {
                    let child = crate::mesh::hold(&tn.ns, None, &label)?;
                    let pid = child.id();
                    built.holders.push(child);
                    pid
                }
            };
            let log = tb.scratch().join(format!("{FLANNEL_WG}-{i}.log"));
            crate::mesh::create_device(pid, &label, FLANNEL_WG, dev_mtu, &log)?;
            let key = tb.scratch().join(format!("{FLANNEL_WG}-{i}.key"));
            let public = crate::mesh::gen_key(pid, &label, &key)?;
            crate::mesh::enter(
                pid,
                &label,
                "wg set \"$1\" listen-port \"$2\" private-key \"$3\" && ip addr add \"$4\"/32 dev \"$1\"",
                &[
                    FLANNEL_WG,
                    &FLANNEL_WG_PORT.to_string(),
                    &key.display().to_string(),
                    &net4.to_string(),
                ],
            )?;
            wg_keys.insert(i, (pid, label.clone(), public));
            // IPv6 pods: a second device (flannel's `separate` mode) on its own port, at the
            // same overhead, with the same key: flannel reads one key file for both devices
            // (`setupKeys`, /run/flannel/wgkey, in pkg/backend/wireguard/device.go)
            if let Some((_, (net6, _, _))) = &v6 {
                let log = tb.scratch().join(format!("{FLANNEL_WG_V6}-{i}.log"));
                crate::mesh::create_device(pid, &label, FLANNEL_WG_V6, dev_mtu, &log)?;
                crate::mesh::enter(
                    pid,
                    &label,
                    "wg set \"$1\" listen-port \"$2\" private-key \"$3\" && ip addr add \"$4\"/128 dev \"$1\" nodad",
                    &[
                        FLANNEL_WG_V6,
                        &FLANNEL_WG_PORT_V6.to_string(),
                        &key.display().to_string(),
                        &net6.to_string(),
                    ],
                )?;
            }
        }
        // the pod
        let mut pb = format!(
            "link set eth0 up\naddr add {p4}/{} dev eth0\nroute add default via {gw4} dev eth0{}\n",
            c4.prefix(),
            route_mtu.map(|m| format!(" mtu {m}")).unwrap_or_default()
        );
        if let Some((x6, (_, gw6, p6))) = &v6 {
            pb.push_str(&format!(
                "addr add {p6}/{} dev eth0 nodad\nroute add default via {gw6} dev eth0\n",
                x6.prefix()
            ));
        }
        batch("ip", pod_ns, &pb, "")?;
        let mut send6 = None;
        if v6.is_some() {
            // the kernel sized flannel-v6.1 (lower device - 70); flannel-wg-v6 is at the
            // device MTU
            let l = links(&tn.ns)?;
            let dev6 = if plan.kind == Kind::FlannelWireguard {
                FLANNEL_WG_V6
            } else {
                "flannel-v6.1"
            };
            send6 = l.get(dev6).map(|(m, _)| (*m).min(eth0_mtu));
        }
        built.nodes.push(PodNode {
            node: n.name.clone(),
            node_ns: tn.ns.clone(),
            pod_ns: pod_ns.clone(),
            pod4: Some(p4),
            pod6: v6.as_ref().map(|(_, (_, _, p6))| *p6),
            send4: route_mtu.unwrap_or(eth0_mtu),
            send6,
            device: device.clone(),
            device_mtu: dev_mtu,
            place,
            why,
        });
        peers.push(Node4 {
            i,
            cidr4: Some(c4),
            cidr6: v6.map(|(x, _)| x),
            ep4: Some(ep),
            ep6,
        });
    }
    // up, once the port is free
    for p in &built.nodes {
        let mut devs = vec![p.device.clone()];
        if p.pod6.is_some() {
            devs.push(if plan.kind == Kind::FlannelWireguard {
                FLANNEL_WG_V6.into()
            } else {
                "flannel-v6.1".into()
            });
        }
        for d in devs {
            let mut tries = 0;
            loop {
                match run("ip", &["-n", &p.node_ns, "link", "set", &d, "up"]) {
                    Ok(_) => break,
                    Err(e) if tries < 40 && e.contains("in use") => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    // every peer's forwarding entries
    for (p, me) in built.nodes.iter().zip(&peers) {
        let mut ib = String::new();
        let mut fb = String::new();
        for other in peers.iter().filter(|o| o.i != me.i) {
            let (Some(c4), Some(ep)) = (other.cidr4, other.ep4) else {
                continue;
            };
            let net = c4.network();
            let m = mac(4, other.i);
            match &plan.kind {
                Kind::FlannelVxlan => {
                    ib.push_str(&format!(
                        "route replace {c4} via {net} dev {} onlink\n",
                        p.device
                    ));
                    fb.push_str(&format!("fdb append {m} dev {} dst {ep}\n", p.device));
                }
                Kind::Cilium { .. } => {
                    ib.push_str(&format!(
                        "route replace {c4} encap ip id 2 dst {ep} via {net} dev {} onlink\n",
                        p.device
                    ));
                }
                Kind::FlannelWireguard => {
                    let (Some((pid, label, _)), Some((_, _, public))) =
                        (wg_keys.get(&me.i), wg_keys.get(&other.i))
                    else {
                        continue;
                    };
                    // flannel-wg, and flannel-wg-v6 with IPv6 pods (the same key on both)
                    let mut devices = vec![(FLANNEL_WG, FLANNEL_WG_PORT, ep, c4)];
                    if let (Some(c6), Some(e6), true) = (other.cidr6, other.ep6, p.pod6.is_some()) {
                        devices.push((FLANNEL_WG_V6, FLANNEL_WG_PORT_V6, e6, c6));
                    }
                    for (dev, port, endpoint, cidr) in devices {
                        crate::mesh::enter(
                            *pid,
                            label,
                            "wg set \"$1\" peer \"$2\" endpoint \"$3\" allowed-ips \"$4\" persistent-keepalive \"$5\"",
                            &[
                                dev,
                                public,
                                &std::net::SocketAddr::new(endpoint, port).to_string(),
                                &cidr.to_string(),
                                &FLANNEL_WG_KEEPALIVE.to_string(),
                            ],
                        )?;
                        ib.push_str(&format!("route replace {cidr} dev {dev}\n"));
                    }
                    // a layer-3 device: no neighbour, no forwarding database
                    continue;
                }
            }
            ib.push_str(&format!(
                "neigh replace {net} lladdr {m} dev {} nud permanent\n",
                p.device
            ));
            if let (Some(c6), Some(e6), true) = (other.cidr6, other.ep6, p.pod6.is_some()) {
                let n6 = c6.network();
                let m6 = mac(6, other.i);
                ib.push_str(&format!("route replace {c6} via {n6} dev flannel-v6.1 onlink\nneigh replace {n6} lladdr {m6} dev flannel-v6.1 nud permanent\n"));
                fb.push_str(&format!("fdb append {m6} dev flannel-v6.1 dst {e6}\n"));
            }
        }
        if !ib.is_empty() {
            batch("ip", &p.node_ns, &ib, "")?;
        }
        if !fb.is_empty() {
            batch("bridge", &p.node_ns, &fb, "")?;
        }
    }
    Ok(built)
}
