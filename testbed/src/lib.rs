//! A cluster's network in Linux network namespaces, built from a spec's core model and its
//! rendered bundle, to run the bundle's scripts on a real kernel and probe the port matrix.
//!
//! [`Testbed::build`] makes one namespace per node, one bridge per site LAN, the mesh as real
//! WireGuard (each node's interface carries the mesh interface's name, e.g. `tailscale0`, the
//! node's mesh addresses and the provider's MTU; see [`mesh`]), an internet segment (documentation addresses, 203.0.113.0/24 and
//! 2001:db8:ffff::/64), and outsiders: one host per LAN, one LAN host that takes an address in
//! the pod network (per LAN), one on the mesh, one mesh host with a pod address, one on the
//! internet. All bridges live in a switch
//! namespace of their own: nothing is created in the caller's namespace, no namespace has a
//! default route, so no packet leaves the namespaces the testbed made.
//!
//! Every node runs a listener on every port of the matrix plus SSH (22) and the mesh's port
//! (TCP accept, UDP echo); [`Testbed::probe`] runs many probes at once, one prober per source
//! namespace, each with a short timeout.
//!
//! Cleanup: the namespaces (and the listeners in them) go on drop, panics included; a
//! watchdog process in its own session removes them when this process dies any other way
//! (SIGINT, SIGTERM, SIGKILL); [`sweep_stale`] removes those of dead runs (names
//! `mstb-<pid>-...`).
//!
//! Needs root, iproute2 (`ip netns`), iptables (any backend), python3, and for the mesh `wg`,
//! `unshare`, `nsenter` and the WireGuard kernel module or `wireguard-go`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};

mod agent;
mod bundle;
mod check;
mod cmd;
mod datapath;
mod findings;
pub mod mesh;
mod mtu;
mod reach;
mod wgmesh;

pub use bundle::{BundleDir, Place};
pub use check::{CheckOptions, Counts, check};
use cmd::{list_namespaces, run, tear_down};
pub use cmd::{set_verbose, sweep_stale, unavailable};
pub use findings::Finding;
pub use mtu::{MtuReport, NodeLayers, PairMtu};
pub use wgmesh::{Ping, WgMesh, WgNode, wg_unavailable};

use meshspec::cidr::Cidr;
use meshspec::ports::{self, Proto};
use meshspec::render::firewall;
use meshspec::{Bundle, Cluster};

const AGENT_PY: &str = include_str!("agent.py");
/// The name prefix of every namespace a testbed makes: `mstb-<pid>-<run>-<index>`.
pub const PREFIX: &str = "mstb-";
/// SSH, which the firewall must never cut.
pub const SSH_PORT: u16 = 22;

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// A fresh run's namespace name prefix, `mstb-<pid>-<run>`.
pub(crate) fn next_prefix() -> String {
    format!(
        "{PREFIX}{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    )
}

/// Where a host sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// The LAN of the site with this index in `sites:`.
    Lan(usize),
    /// The mesh.
    Mesh,
    /// The internet (underlay beyond the LANs).
    Internet,
}

/// A node's namespace and addresses.
#[derive(Debug, Clone)]
pub struct NodeNs {
    /// The node's name.
    pub name: String,
    /// Its namespace.
    pub ns: String,
    /// Its site's index, when it sits on a LAN.
    pub site: Option<usize>,
    /// LAN addresses (on `lan0`).
    pub lan: Vec<IpAddr>,
    /// Mesh addresses (on the mesh interface).
    pub mesh: Vec<IpAddr>,
    /// Internet addresses (on `wan0`).
    pub wan: Vec<IpAddr>,
}

/// A host that is not a cluster node.
#[derive(Debug, Clone)]
pub struct Outsider {
    /// What it is, for reports (`LAN home outsider`).
    pub label: String,
    /// Its namespace.
    pub ns: String,
    /// Where it sits.
    pub segment: Segment,
    /// Its addresses.
    pub addrs: Vec<IpAddr>,
    /// Whether its address is in the pod network (a spoofed pod source).
    pub spoofs_pod: bool,
}

/// One probe: from a namespace (and a source address), to an address and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The source namespace.
    pub from_ns: String,
    /// The source address to bind, or the kernel's choice.
    pub src: Option<IpAddr>,
    /// The protocol.
    pub proto: Proto,
    /// The destination.
    pub dst: IpAddr,
    /// The port (0 for ICMP).
    pub port: u16,
}

/// How the nodes' hosts are set up before the script runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMode {
    /// No firewall (policy ACCEPT, no rules).
    Bare,
    /// INPUT policy DROP; loopback, established/related, SSH (and IPv6 neighbour discovery)
    /// accepted.
    DefaultDeny,
}

/// A built testbed. Dropping it removes every namespace it made.
pub struct Testbed {
    /// This run's namespace name prefix.
    pub prefix: String,
    /// The switch namespace (bridges only).
    pub switch: String,
    /// The nodes, in spec order.
    pub nodes: Vec<NodeNs>,
    /// The outsiders.
    pub outsiders: Vec<Outsider>,
    /// The bundle directory (the rendered files, as the operator has them).
    pub bundle_dir: PathBuf,
    dir: PathBuf,
    namespaces: Vec<String>,
    /// Every bridge port: (bridge, namespace, interface).
    ports: Vec<(String, String, String)>,
    /// The MTU of each bridge's segment (a site's `mtu`, the mesh's MTU; 1500 elsewhere).
    mtus: BTreeMap<String, u32>,
    /// The processes holding each WireGuard host's private mount namespace: they live as long
    /// as the testbed (the MTU proof stops the listeners, never these).
    holders: Vec<Child>,
    watchdog: Option<Child>,
    /// The mesh's WireGuard hosts (see [`mesh`]).
    pub mesh: mesh::Mesh,
    /// The CNI data path the bundle configures (its pod namespaces made), or why it is not
    /// modelled.
    pub(crate) datapath: Result<datapath::Plan, String>,
    mtu_report: std::sync::Mutex<Option<MtuReport>>,
    /// The run's probe agent (see [`agent`]), once every namespace exists.
    agent: Option<agent::Agent>,
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.agent = None;
        tear_down(
            &mut self.holders,
            &self.namespaces,
            self.watchdog.as_mut(),
            &self.dir,
        );
    }
}

/// How to enter one node's namespace after [`Testbed::keep`].
#[derive(Debug, Clone)]
pub struct Kept {
    /// The node.
    pub node: String,
    /// Its namespace.
    pub ns: String,
}

/// Every address of a block but the ones in `used`, from the top down (skipping the last,
/// which is a broadcast address in IPv4).
pub(crate) fn free_in(block: &Cidr, used: &[IpAddr]) -> Option<IpAddr> {
    let size = block.size();
    (2..size.min(64))
        .filter_map(|k| block.nth(size - k))
        .find(|a| !used.contains(a))
}

/// The block of `subnets` that holds `addr`, else the host itself.
pub(crate) fn prefix_of(addr: IpAddr, subnets: &[Cidr]) -> u8 {
    subnets
        .iter()
        .find(|s| s.contains_addr(addr))
        .map_or(if addr.is_ipv4() { 32 } else { 128 }, Cidr::prefix)
}

impl Testbed {
    /// Builds the network of `c` and writes `bundle` into a directory, then starts the
    /// listeners. Removes stale namespaces of dead runs first.
    ///
    /// # Errors
    /// A command that failed (what was run and its message); whatever was built is removed.
    pub fn build(c: &Cluster, bundle: &Bundle) -> Result<Testbed, String> {
        Self::build_with(c, None, Some(bundle))
    }

    /// Builds the network of `c` for the bundle on disk at `bundle_dir`, as it is (hand edits
    /// included): the scripts run from there.
    ///
    /// # Errors
    /// As [`Testbed::build`].
    pub fn build_at(c: &Cluster, bundle_dir: &Path) -> Result<Testbed, String> {
        Self::build_with(c, Some(bundle_dir), None)
    }

    fn build_with(
        c: &Cluster,
        on_disk: Option<&Path>,
        bundle: Option<&Bundle>,
    ) -> Result<Testbed, String> {
        sweep_stale();
        let pid = std::process::id();
        let prefix = next_prefix();
        if let Some(ns) = list_namespaces()
            .into_iter()
            .find(|n| n.starts_with(&format!("{prefix}-")))
        {
            return Err(format!(
                "a network namespace `{ns}` already exists: refusing to build over it (remove it with `ip netns del {ns}`)"
            ));
        }
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let bundle_dir = match on_disk {
            Some(d) => d
                .canonicalize()
                .map_err(|e| format!("{}: {e}", d.display()))?,
            None => dir.join("bundle"),
        };
        if let Some(bundle) = bundle {
            for (path, f) in &bundle.files {
                let target = bundle_dir.join(path);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                std::fs::write(&target, &*f.contents.as_str()).map_err(|e| e.to_string())?;
            }
        }
        std::fs::write(dir.join("agent.py"), AGENT_PY).map_err(|e| e.to_string())?;
        let watchdog = cmd::spawn_watchdog(pid, &prefix, &dir);
        let mut tb = Testbed {
            switch: format!("{prefix}-sw"),
            prefix,
            nodes: Vec::new(),
            outsiders: Vec::new(),
            bundle_dir,
            dir,
            namespaces: Vec::new(),
            ports: Vec::new(),
            mtus: BTreeMap::new(),
            holders: Vec::new(),
            watchdog,
            mesh: mesh::Mesh::default(),
            datapath: Err(String::new()),
            mtu_report: std::sync::Mutex::new(None),
            agent: None,
        };
        tb.wire(c)?;
        tb.pods(c)?;
        // every namespace exists: the agent starts while the rest is built
        tb.agent = Some(agent::Agent::start(&tb.switch, &tb.dir.join("agent.py"))?);
        tb.static_neighbours()?;
        tb.start_listeners(c)?;
        Ok(tb)
    }

    /// The data path's plan from the bundle and one pod namespace per node (`<prefix>-q<i>`);
    /// the devices come later ([`crate::mtu::prove`]).
    fn pods(&mut self, c: &Cluster) -> Result<(), String> {
        let bd = BundleDir::new(&self.bundle_dir);
        self.datapath = match datapath::plan(&bd, c) {
            Ok(_) if c.nodes.len() < 2 => Err("one node: no pod pair".into()),
            Ok(kind) => {
                let mut pods = Vec::new();
                for i in 0..c.nodes.len() {
                    let ns = format!("{}-q{i}", self.prefix);
                    self.add_ns(&ns)?;
                    pods.push(ns);
                }
                Ok(datapath::Plan { kind, pods })
            }
            Err(why) => Err(format!("{why} is not modelled")),
        };
        Ok(())
    }

    /// Stops the listeners (the CNI's tunnel devices need the tunnel port they hold): their
    /// ports are free once it returns.
    pub(crate) fn stop_listeners(&self) -> Result<(), String> {
        self.agent_call("unlisten", serde_json::json!({}), &[])
            .map(|_| ())
    }

    /// What the MTU proof of the last [`check`] measured.
    #[must_use]
    pub fn mtu_report(&self) -> Option<MtuReport> {
        self.mtu_report.lock().ok().and_then(|r| r.clone())
    }

    pub(crate) fn set_mtu_report(&self, r: MtuReport) {
        if let Ok(mut x) = self.mtu_report.lock() {
            *x = Some(r);
        }
    }

    fn add_ns(&mut self, name: &str) -> Result<(), String> {
        cmd::new_host(name, &mut self.namespaces)
    }

    /// Every host learns every other host's link address on each segment up front (permanent
    /// neighbour entries, one `ip -batch` per namespace): with dozens of hosts probing at once,
    /// ARP and neighbour discovery storms on the bridges would lose packets.
    fn static_neighbours(&self) -> Result<(), String> {
        // (bridge, namespace, interface, link address, addresses)
        let mut hosts: Vec<(&str, &str, &str, String, Vec<String>)> = Vec::new();
        let mut by_ns: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
        for (_, ns, _) in &self.ports {
            if !by_ns.contains_key(ns.as_str()) {
                let out = run("ip", &["-n", ns, "-j", "addr", "show"])?;
                let v: serde_json::Value =
                    serde_json::from_str(&out).map_err(|e| format!("ip -j addr: {e}"))?;
                by_ns.insert(ns, v);
            }
        }
        for (br, ns, ifname) in &self.ports {
            let Some(link) = by_ns[ns.as_str()]
                .as_array()
                .and_then(|l| l.iter().find(|x| x["ifname"] == ifname.as_str()))
            else {
                continue;
            };
            let mac = link["address"].as_str().unwrap_or_default().to_owned();
            let addrs = link["addr_info"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|x| x["scope"] == "global")
                        .filter_map(|x| x["local"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            hosts.push((br, ns, ifname, mac, addrs));
        }
        let mut batches: BTreeMap<&str, String> = BTreeMap::new();
        for (br, ns, ifname, _, _) in &hosts {
            for (br2, ns2, _, mac, addrs) in &hosts {
                if br != br2 || ns == ns2 || mac.is_empty() {
                    continue;
                }
                let b = batches.entry(ns).or_default();
                for a in addrs {
                    b.push_str(&format!(
                        "neigh replace {a} lladdr {mac} dev {ifname} nud permanent\n"
                    ));
                }
            }
        }
        for (ns, text) in &batches {
            cmd::batch("ip", ns, text, " (neighbours)")?;
        }
        Ok(())
    }

    /// Plugs `ns` into bridge `br` with an interface named `ifname`.
    fn plug(&mut self, ns: &str, ifname: &str, br: &str) -> Result<(), String> {
        // one name per bridge port of the run (a router plugs two interfaces)
        let n = self.ports.len();
        self.ports
            .push((br.to_owned(), ns.to_owned(), ifname.to_owned()));
        let port = format!("p{n}{}", &ifname.chars().take(4).collect::<String>());
        let mtu = self.mtus.get(br).copied().unwrap_or(1500);
        cmd::plug(&self.switch, ns, ifname, br, &port, mtu)
    }

    fn addr(ns: &str, ifname: &str, a: IpAddr, prefix: u8) -> Result<(), String> {
        cmd::addr(ns, ifname, a, prefix)
    }

    fn route(ns: &str, to: &str, ifname: &str, src: Option<IpAddr>) -> Result<(), String> {
        let src = src.map(|s| s.to_string());
        let mut args = vec!["-n", ns, "route", "replace", to, "dev", ifname];
        if let Some(s) = &src {
            args.extend(["src", s.as_str()]);
        }
        run("ip", &args).map(|_| ())
    }

    fn wire(&mut self, c: &Cluster) -> Result<(), String> {
        let sw = self.switch.clone();
        self.add_ns(&sw)?;
        let mesh_if = c.mesh.interface.clone();
        // mesh addresses inside the mesh's range are on-link through it; others get host routes
        let mesh_ranges = c.mesh.ranges();
        let on_link = |a: &IpAddr, b: &IpAddr| {
            mesh_ranges
                .iter()
                .any(|r| r.contains_addr(*a) && r.contains_addr(*b))
        };
        let bridge = |name: &str| cmd::bridge(&sw, name);
        bridge("brmesh")?;
        bridge("brwan")?;
        // each segment carries what the spec says it does: the site's MTU; the mesh's
        // underlay carries the mesh's MTU plus WireGuard's overhead
        self.mtus
            .insert("brmesh".into(), (c.mesh.mtu + 80).max(1500));
        self.mesh = mesh::Mesh {
            iface: mesh_if.clone(),
            port: mesh::underlay_port(&Self::listened(c).1),
            hosts: Vec::new(),
            managed: c.mesh.managed_wireguard().is_some(),
            routers: Vec::new(),
        };
        for (si, site) in c.sites.iter().enumerate() {
            self.mtus.insert(format!("brlan{si}"), site.mtu);
        }
        let mut lans: Vec<usize> = Vec::new();
        let wan4: Cidr = "203.0.113.0/24".parse().map_err(|_| "cidr")?;
        let wan6: Cidr = "2001:db8:ffff::/64".parse().map_err(|_| "cidr")?;
        // nodes
        for (i, n) in c.nodes.iter().enumerate() {
            let ns = format!("{}-n{i}", self.prefix);
            self.add_ns(&ns)?;
            let site = n
                .site
                .as_deref()
                .and_then(|s| c.sites.iter().position(|x| x.name == s));
            let mut node = NodeNs {
                name: n.name.clone(),
                ns: ns.clone(),
                site,
                lan: Vec::new(),
                mesh: n.mesh_ips.clone(),
                wan: Vec::new(),
            };
            if let (Some(si), false) = (site, n.lan_ips.is_empty()) {
                let br = format!("brlan{si}");
                if !lans.contains(&si) {
                    bridge(&br)?;
                    lans.push(si);
                }
                self.plug(&ns, "lan0", &br)?;
                for a in &n.lan_ips {
                    Self::addr(&ns, "lan0", *a, prefix_of(*a, &c.sites[si].subnets))?;
                }
                node.lan = n.lan_ips.clone();
            }
            if !n.mesh_ips.is_empty() {
                self.node_mesh(c, i, &ns, &mesh_ranges)?;
            }
            self.plug(&ns, "wan0", "brwan")?;
            let k = u128::try_from(i).unwrap_or(0) + 1;
            for block in [&wan4, &wan6] {
                if let Some(a) = block.nth(k) {
                    Self::addr(&ns, "wan0", a, block.prefix())?;
                    node.wan.push(a);
                }
            }
            self.nodes.push(node);
        }
        // outsiders: one per LAN and a spoofed pod source per LAN
        let all_addrs: Vec<IpAddr> = c
            .nodes
            .iter()
            .flat_map(meshspec::cluster::Node::addresses)
            .collect();
        let pod4 = c
            .network
            .cluster_cidrs
            .iter()
            .find(|x| x.family() == meshspec::cidr::Family::Ipv4)
            .copied();
        for si in lans.clone() {
            let site = &c.sites[si];
            let br = format!("brlan{si}");
            let ns = format!("{}-l{si}", self.prefix);
            self.add_ns(&ns)?;
            self.plug(&ns, "lan0", &br)?;
            let mut addrs = Vec::new();
            for sub in &site.subnets {
                if let Some(a) = free_in(sub, &all_addrs) {
                    Self::addr(&ns, "lan0", a, sub.prefix())?;
                    addrs.push(a);
                }
            }
            self.outsiders.push(Outsider {
                label: format!("LAN `{}` outsider", site.name),
                ns,
                segment: Segment::Lan(si),
                addrs,
                spoofs_pod: false,
            });
            if let Some(pod) = pod4 {
                let ns = format!("{}-s{si}", self.prefix);
                self.add_ns(&ns)?;
                self.plug(&ns, "lan0", &br)?;
                let spoof = free_in(&pod, &all_addrs).ok_or("no free pod address")?;
                Self::addr(&ns, "lan0", spoof, 32)?;
                for sub in site
                    .subnets
                    .iter()
                    .filter(|s| s.family() == meshspec::cidr::Family::Ipv4)
                {
                    Self::route(&ns, &sub.to_string(), "lan0", Some(spoof))?;
                }
                // the nodes answer it on the LAN, as they would a pod address seen there
                for node in self
                    .nodes
                    .clone()
                    .iter()
                    .filter(|n| n.site == Some(si) && !n.lan.is_empty())
                {
                    Self::route(&node.ns, &format!("{spoof}/32"), "lan0", None)?;
                }
                self.outsiders.push(Outsider {
                    label: format!("LAN `{}` host spoofing pod address {spoof}", site.name),
                    ns,
                    segment: Segment::Lan(si),
                    addrs: vec![spoof],
                    spoofs_pod: true,
                });
            }
        }
        // the mesh outsider: an address in the mesh range (or next to the nodes') that no
        // node has; every mesh host routes to every other over the mesh interface
        let mesh_nodes: Vec<IpAddr> = c.nodes.iter().flat_map(|n| n.mesh_ips.clone()).collect();
        if !mesh_nodes.is_empty() {
            let ns = format!("{}-m", self.prefix);
            self.add_ns(&ns)?;
            let mut addrs = Vec::new();
            for v4 in [true, false] {
                let Some(first) = mesh_nodes.iter().find(|a| a.is_ipv4() == v4) else {
                    continue;
                };
                let block = c
                    .mesh
                    .ranges()
                    .into_iter()
                    .find(|r| r.contains_addr(*first))
                    .or_else(|| Cidr::truncated(*first, if v4 { 24 } else { 64 }));
                if let Some(a) = block.and_then(|b| free_in(&b, &mesh_nodes)) {
                    addrs.push(a);
                }
            }
            self.mesh_host(&ns, "mesh outsider", None, c.mesh.mtu, &addrs, None)?;
            for a in &addrs {
                Self::addr(&ns, &mesh_if, *a, prefix_of(*a, &mesh_ranges))?;
            }
            self.outsiders.push(Outsider {
                label: "mesh outsider".into(),
                ns: ns.clone(),
                segment: Segment::Mesh,
                addrs: addrs.clone(),
                spoofs_pod: false,
            });
            let hosts: Vec<(String, Vec<IpAddr>)> = self
                .nodes
                .iter()
                .filter(|n| !n.mesh.is_empty())
                .map(|n| (n.ns.clone(), n.mesh.clone()))
                .chain(std::iter::once((ns, addrs)))
                .collect();
            for (from, own) in &hosts {
                for (to, theirs) in &hosts {
                    if from == to {
                        continue;
                    }
                    for a in theirs {
                        let src = own.iter().find(|o| o.is_ipv4() == a.is_ipv4()).copied();
                        if let Some(s) = src
                            && !on_link(a, &s)
                        {
                            Self::route(from, &a.to_string(), &mesh_if, src)?;
                        }
                    }
                }
            }
        }
        // a mesh host that takes a pod address: pods reach a node only on the CNI's devices
        // (with vpn-auth the mesh interface is one, and such a cluster has no mesh addresses
        // here)
        let mesh4: Vec<IpAddr> = mesh_nodes.iter().copied().filter(IpAddr::is_ipv4).collect();
        if let (Some(pod), false) = (pod4, mesh4.is_empty()) {
            let mut used = all_addrs.clone();
            used.extend(self.outsiders.iter().flat_map(|o| o.addrs.clone()));
            if let Some(spoof) = free_in(&pod, &used) {
                let ns = format!("{}-p", self.prefix);
                self.add_ns(&ns)?;
                self.mesh_host(
                    &ns,
                    "mesh pod-address host",
                    None,
                    c.mesh.mtu,
                    &[spoof],
                    None,
                )?;
                Self::addr(&ns, &mesh_if, spoof, 32)?;
                for a in &mesh4 {
                    Self::route(&ns, &a.to_string(), &mesh_if, Some(spoof))?;
                }
                for node in self
                    .nodes
                    .clone()
                    .iter()
                    .filter(|n| n.mesh.iter().any(IpAddr::is_ipv4))
                {
                    Self::route(&node.ns, &format!("{spoof}/32"), &mesh_if, None)?;
                }
                self.outsiders.push(Outsider {
                    label: format!("mesh host spoofing pod address {spoof}"),
                    ns,
                    segment: Segment::Mesh,
                    addrs: vec![spoof],
                    spoofs_pod: true,
                });
            }
        }
        // the internet outsider
        let ns = format!("{}-i", self.prefix);
        self.add_ns(&ns)?;
        self.plug(&ns, "wan0", "brwan")?;
        let used: Vec<IpAddr> = self.nodes.iter().flat_map(|n| n.wan.clone()).collect();
        let mut addrs = Vec::new();
        for block in [&wan4, &wan6] {
            if let Some(a) = free_in(block, &used) {
                Self::addr(&ns, "wan0", a, block.prefix())?;
                addrs.push(a);
            }
        }
        self.outsiders.push(Outsider {
            label: "internet outsider".into(),
            ns,
            segment: Segment::Internet,
            addrs,
            spoofs_pod: false,
        });
        let dir = self.dir.clone();
        self.mesh.configure(c, &dir)
    }

    /// Node `i`'s side of the mesh: its WireGuard interface with its mesh addresses (from the
    /// spec, or from its rendered config when meshspec manages WireGuard, whose relay sysctl
    /// file is applied too).
    fn node_mesh(
        &mut self,
        c: &Cluster,
        i: usize,
        ns: &str,
        ranges: &[Cidr],
    ) -> Result<(), String> {
        let n = &c.nodes[i];
        let iface = self.mesh.iface.clone();
        if !self.mesh.managed {
            self.mesh_host(ns, &n.name, Some(i), c.mesh.mtu, &n.mesh_ips, None)?;
            for a in &n.mesh_ips {
                Self::addr(ns, &iface, *a, prefix_of(*a, ranges))?;
            }
            return Ok(());
        }
        let bd = BundleDir::new(&self.bundle_dir);
        let path = format!("nodes/{}/etc/wireguard/{iface}.conf", n.name);
        let text = bd
            .text(&path)
            .ok_or_else(|| format!("the bundle has no {path}"))?;
        let conf = mesh::Conf::parse(&text, &path)?;
        let addrs: Vec<IpAddr> = conf.addresses.iter().map(|a| a.0).collect();
        let site = n
            .site
            .as_deref()
            .and_then(|s| c.sites.iter().position(|x| x.name == s))
            .filter(|_| !n.lan_ips.is_empty());
        // behind its site's NAT router: a `nat: true` site, no public endpoint
        let nat = site.filter(|si| c.sites[*si].nat && n.public_endpoint.is_none());
        self.mesh_host(
            ns,
            &n.name,
            Some(i),
            conf.mtu.unwrap_or(c.mesh.mtu),
            &addrs,
            nat,
        )?;
        for (a, p, _) in &conf.addresses {
            Self::addr(ns, &iface, *a, *p)?;
        }
        if let Some(h) = self.mesh.hosts.last_mut() {
            h.conf = Some((path, conf));
            h.site = site;
            h.behind_nat = nat.is_some();
        }
        // install.sh: sysctl -q -p /etc/sysctl.d/<file> (a relay's forwarding)
        let sysctl = self
            .bundle_dir
            .join(format!("nodes/{}/etc/sysctl.d", n.name));
        if let Ok(dir) = std::fs::read_dir(&sysctl) {
            let mut files: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
            files.sort();
            for f in files {
                run(
                    "ip",
                    &[
                        "netns",
                        "exec",
                        ns,
                        "sysctl",
                        "-q",
                        "-p",
                        &f.display().to_string(),
                    ],
                )?;
            }
        }
        Ok(())
    }

    /// A WireGuard host in `ns`: its underlay interface and address, the process holding its
    /// private mount namespace, and its mesh interface (up, at `mtu`, no address, no peer yet).
    /// `nat`: the site whose NAT router it sits behind (its underlay is then the site's
    /// segment behind the router, see [`Testbed::nat_router`]).
    fn mesh_host(
        &mut self,
        ns: &str,
        label: &str,
        node: Option<usize>,
        mtu: u32,
        addrs: &[IpAddr],
        nat: Option<usize>,
    ) -> Result<(), String> {
        let k = self.mesh.hosts.len() + 1;
        let block: Cidr = mesh::UNDERLAY_BLOCK.parse().map_err(|_| "cidr")?;
        let underlay = if let Some(si) = nat {
            let (br, inside, gateway) = self.nat_router(si)?;
            self.plug(ns, mesh::UNDERLAY_IF, &br)?;
            let behind = self
                .mesh
                .hosts
                .iter()
                .filter(|h| h.behind_nat && h.site == Some(si))
                .count();
            let a = inside
                .nth(u128::try_from(behind).unwrap_or(u128::MAX) + 2)
                .filter(|a| inside.contains_addr(*a) && Some(*a) != inside.nth(255))
                .ok_or("a NAT site's underlay is full (253 nodes)")?;
            Self::addr(ns, mesh::UNDERLAY_IF, a, inside.prefix())?;
            // the rest of the underlay through the router, and nothing else (no default route)
            run(
                "ip",
                &[
                    "-n",
                    ns,
                    "route",
                    "replace",
                    mesh::UNDERLAY_BLOCK,
                    "via",
                    &gateway.to_string(),
                    "dev",
                    mesh::UNDERLAY_IF,
                ],
            )?;
            a
        } else {
            self.plug(ns, mesh::UNDERLAY_IF, "brmesh")?;
            let a = block
                .nth(u128::try_from(k).unwrap_or(u128::MAX))
                .ok_or("the mesh underlay is full")?;
            Self::addr(ns, mesh::UNDERLAY_IF, a, block.prefix())?;
            a
        };
        let holder = mesh::hold(ns, None, label)?;
        let pid = holder.id();
        self.holders.push(holder);
        let log = self.dir.join(format!("mesh-{k}.log"));
        mesh::create_device(pid, label, &self.mesh.iface, mtu, &log)?;
        self.mesh.hosts.push(mesh::MeshHost {
            label: label.to_owned(),
            node,
            ns: ns.to_owned(),
            holder: pid,
            underlay,
            addrs: addrs.to_vec(),
            public_key: String::new(),
            key: self.dir.join(format!("mesh-{k}.key")),
            conf: None,
            site: nat,
            behind_nat: nat.is_some(),
        });
        Ok(())
    }

    /// The NAT router of site `si`, made on first use: a namespace `<prefix>-r<si>` with
    /// `mshu0` on the underlay (198.18.255.254 down) and `nat0` on the site's own segment
    /// `brnat<si>` (198.19.<si>.1/24), forwarding, masquerading what leaves and letting only
    /// answers in ([`mesh::nat_rules`]). Returns the segment's bridge, its block and the
    /// router's address there.
    fn nat_router(&mut self, si: usize) -> Result<(String, Cidr, IpAddr), String> {
        let br = format!("brnat{si}");
        let inside: Cidr = format!("198.19.{si}.0/24")
            .parse()
            .map_err(|_| "more than 256 NAT sites")?;
        let gateway = inside.nth(1).ok_or("cidr")?;
        if self.mesh.routers.iter().any(|r| r.site == si) {
            return Ok((br, inside, gateway));
        }
        let sw = self.switch.clone();
        let ns = format!("{}-r{si}", self.prefix);
        self.add_ns(&ns)?;
        cmd::bridge(&sw, &br)?;
        let mtu = self.mtus.get("brmesh").copied().unwrap_or(1500);
        self.mtus.insert(br.clone(), mtu);
        let block: Cidr = mesh::UNDERLAY_BLOCK.parse().map_err(|_| "cidr")?;
        let outside = block
            .nth(block.size() - 2 - u128::try_from(si).unwrap_or(0))
            .ok_or("the mesh underlay is full")?;
        self.plug(&ns, mesh::UNDERLAY_IF, "brmesh")?;
        Self::addr(&ns, mesh::UNDERLAY_IF, outside, block.prefix())?;
        self.plug(&ns, "nat0", &br)?;
        Self::addr(&ns, "nat0", gateway, inside.prefix())?;
        run(
            "ip",
            &[
                "netns",
                "exec",
                &ns,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ],
        )?;
        mesh::load_nat(&ns, "nat0", mesh::UNDERLAY_IF, false)?;
        self.mesh.routers.push(mesh::NatRouter {
            site: si,
            ns,
            outside,
        });
        Ok((br, inside, gateway))
    }

    /// The TCP and UDP ports the listeners serve: every port of the matrix, SSH and the mesh's
    /// port.
    #[must_use]
    pub fn listened(c: &Cluster) -> (Vec<u16>, Vec<u16>) {
        let mut tcp = vec![SSH_PORT];
        let mut udp = Vec::new();
        let mesh = ports::mesh_port(c);
        for p in ports::required(c).into_iter().chain(std::iter::once(mesh)) {
            let list = match p.proto {
                Proto::Tcp => &mut tcp,
                Proto::Udp => &mut udp,
                Proto::Icmp => continue,
            };
            list.extend(p.from..=p.to);
        }
        tcp.sort_unstable();
        tcp.dedup();
        udp.sort_unstable();
        udp.dedup();
        (tcp, udp)
    }

    fn start_listeners(&mut self, c: &Cluster) -> Result<(), String> {
        let (tcp, udp) = Self::listened(c);
        let join = |v: &[u16]| v.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let namespaces: Vec<&str> = self.nodes.iter().map(|n| n.ns.as_str()).collect();
        let (t, u) = (join(&tcp), join(&udp));
        let mut what = vec!["tcp", &t, "udp", &u, "in"];
        what.extend(&namespaces);
        self.agent_call(
            "listen",
            serde_json::json!({"ns": namespaces, "tcp": tcp, "udp": udp}),
            &what,
        )
        .map(|_| ())
        .map_err(|e| format!("the listeners did not start: {e}"))
    }

    /// Leaves every namespace, listener and the bundle up (no cleanup, no watchdog) and says
    /// how to enter each node.
    #[must_use]
    pub fn keep(mut self) -> Vec<Kept> {
        self.agent = None;
        if let Some(w) = &mut self.watchdog {
            let _ = w.kill();
            let _ = w.wait();
        }
        self.watchdog = None;
        let _ = std::fs::write(self.dir.join(cmd::KEPT), "");
        self.holders.clear();
        self.namespaces.clear();
        let kept = self
            .nodes
            .iter()
            .map(|n| Kept {
                node: n.name.clone(),
                ns: n.ns.clone(),
            })
            .collect();
        self.dir = PathBuf::new();
        kept
    }

    /// The node's namespace.
    #[must_use]
    pub fn node(&self, name: &str) -> Option<&NodeNs> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Runs a command in a namespace, from the bundle directory; its standard output.
    ///
    /// # Errors
    /// It could not start, or exited non-zero (with its stderr).
    pub fn exec(&self, ns: &str, args: &[&str]) -> Result<String, String> {
        cmd::exec_in(ns, args, &self.bundle_dir)
            .map(|(out, _)| out)
            .map_err(|e| e.replacen(" exited ", &format!(" in {ns} exited "), 1))
    }

    /// Runs a command in a namespace, from the bundle directory; its stderr on success.
    ///
    /// # Errors
    /// It could not start, or exited non-zero (with its stderr).
    pub fn exec_full(&self, ns: &str, args: &[&str]) -> Result<String, String> {
        cmd::exec_in(ns, args, &self.bundle_dir).map(|(_, err)| err)
    }

    /// A scratch directory of this run (removed with it).
    #[must_use]
    pub fn scratch(&self) -> &Path {
        &self.dir
    }

    /// Sets every node's host firewall to `mode` (before any script ran).
    ///
    /// # Errors
    /// An iptables command failed.
    pub fn host_mode(&self, mode: HostMode) -> Result<(), String> {
        if mode == HostMode::Bare {
            return Ok(());
        }
        // one restore per family and node: the filter table of a default-deny host
        // the mesh's own transport on the underlay is the provider's business (see [`mesh`])
        let v4 = format!(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -i {} -p udp -m udp --dport {} -j ACCEPT\nCOMMIT\n",
            mesh::UNDERLAY_IF,
            self.mesh.port
        );
        let v6 = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT\n-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j ACCEPT\nCOMMIT\n";
        for n in &self.nodes {
            let script =
                "printf '%s' \"$1\" | iptables-restore && printf '%s' \"$2\" | ip6tables-restore";
            self.exec(&n.ns, &["sh", "-c", script, "host-mode", &v4, v6])?;
        }
        Ok(())
    }

    /// `iptables-save` and `ip6tables-save` of a namespace, comments and counters removed.
    ///
    /// # Errors
    /// A save command failed.
    ///
    /// A table that holds only its built-in chains with policy ACCEPT and no rule is left out:
    /// nf_tables makes such a table the first time any iptables command touches it, and it
    /// filters nothing, exactly as no table.
    pub fn saved_rules(&self, ns: &str) -> Result<String, String> {
        let mut s = String::new();
        let saved = self.exec(ns, &["sh", "-c", "iptables-save && ip6tables-save"])?;
        {
            let mut table: Vec<String> = Vec::new();
            for line in saved.lines() {
                if line.starts_with('#') {
                    continue;
                }
                let line = match line.find(" [") {
                    Some(i) if line.starts_with(':') => &line[..i],
                    _ => line,
                };
                table.push(line.to_owned());
                if line == "COMMIT" {
                    let empty = table.iter().all(|l| {
                        l.starts_with('*')
                            || l == "COMMIT"
                            || (l.starts_with(':') && l.ends_with(" ACCEPT"))
                    });
                    if !empty {
                        for l in &table {
                            s.push_str(l);
                            s.push('\n');
                        }
                    }
                    table.clear();
                }
            }
        }
        Ok(s)
    }

    /// Runs every probe at once (by the run's agent, each from its source namespace, at most 64
    /// in flight per source) and says which answered.
    ///
    /// # Errors
    /// The agent could not run them.
    pub fn probe(&self, probes: &[Probe], timeout_s: f64) -> Result<Vec<bool>, String> {
        if probes.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<serde_json::Value> = probes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                serde_json::json!([
                    i,
                    p.from_ns,
                    p.proto.to_string(),
                    p.src.map(|s| s.to_string()),
                    p.dst.to_string(),
                    p.port
                ])
            })
            .collect();
        let sources: std::collections::BTreeSet<&str> =
            probes.iter().map(|p| p.from_ns.as_str()).collect();
        let n = probes.len().to_string();
        let from = sources.len().to_string();
        let t = timeout_s.to_string();
        let ids = self.agent_call(
            "probe",
            serde_json::json!({"timeout": timeout_s, "probes": list}),
            &[&n, "probes", "from", &from, "namespaces", "timeout", &t],
        )?;
        let mut ok = vec![false; probes.len()];
        for i in ids.as_array().into_iter().flatten() {
            if let Some(x) = i
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| ok.get_mut(i))
            {
                *x = true;
            }
        }
        Ok(ok)
    }

    /// One request to the run's agent (see [`agent`]).
    pub(crate) fn agent_call(
        &self,
        op: &str,
        fields: serde_json::Value,
        what: &[&str],
    ) -> Result<serde_json::Value, String> {
        self.agent
            .as_ref()
            .ok_or_else(|| "the probe agent is not running".to_owned())?
            .call(op, fields, what)
    }

    /// The probes of every flow the cluster needs ([`firewall::needed_flows`]), each port of a
    /// range once, with a label for reports.
    #[must_use]
    pub fn needed(&self, c: &Cluster) -> Vec<(String, Probe)> {
        let mut out = Vec::new();
        for f in firewall::needed_flows(c) {
            let Some(from) = self.node(&f.from) else {
                continue;
            };
            for port in f.port.from..=f.port.to {
                out.push((
                    format!(
                        "{} ({}) -> {} {} {} over the {} ({})",
                        f.from,
                        f.src,
                        f.to,
                        f.to_addr,
                        port_label(f.port.proto, port),
                        if f.over_mesh { "mesh" } else { "LAN" },
                        f.port.why
                    ),
                    Probe {
                        from_ns: from.ns.clone(),
                        src: Some(f.src),
                        proto: f.port.proto,
                        dst: f.to_addr,
                        port,
                    },
                ));
            }
        }
        out
    }

    /// The addresses of `node` an outsider reaches on its segment.
    fn facing(&self, o: &Outsider, n: &NodeNs) -> Vec<IpAddr> {
        let same_family = |a: &IpAddr| o.addrs.iter().any(|x| x.is_ipv4() == a.is_ipv4());
        match o.segment {
            Segment::Lan(si) if n.site == Some(si) => {
                n.lan.iter().copied().filter(same_family).collect()
            }
            Segment::Lan(_) => Vec::new(),
            Segment::Mesh => n.mesh.iter().copied().filter(same_family).collect(),
            Segment::Internet => n.wan.iter().copied().filter(same_family).collect(),
        }
    }

    /// The probes of every outsider against every cluster port of every node it reaches.
    #[must_use]
    pub fn exposed(&self, c: &Cluster) -> Vec<(String, Probe)> {
        let closed: Vec<(Proto, u16)> = firewall::closed_ports(c)
            .into_iter()
            .flat_map(|(proto, a, b)| (a..=b).map(move |port| (proto, port)))
            .collect();
        // a WireGuard mesh meshspec renders closes its listen port too, except where peers of
        // other sites dial a public endpoint (open to any source there)
        let mesh = ports::mesh_port(c);
        let mut out = Vec::new();
        for o in &self.outsiders {
            self.outsider_probes(
                o,
                &|node| {
                    closed
                        .iter()
                        .copied()
                        .filter(|&(proto, port)| {
                            !(proto == mesh.proto
                                && port == mesh.from
                                && firewall::mesh_port_open_to_anyone(c, node))
                        })
                        .collect()
                },
                &mut out,
            );
        }
        out
    }

    /// The probes that must always pass, from every outsider: SSH on every address it
    /// reaches, and the mesh's port on the underlay (LAN and internet) addresses of the nodes
    /// that accept it from anyone ([`firewall::mesh_port_open_to_anyone`]).
    #[must_use]
    pub fn never_cut(&self, c: &Cluster) -> Vec<(String, Probe)> {
        let mesh = ports::mesh_port(c);
        let mut out = Vec::new();
        for o in self.outsiders.iter().filter(|o| !o.spoofs_pod) {
            self.outsider_probes(
                o,
                &|node| {
                    let mut ports = vec![(Proto::Tcp, SSH_PORT)];
                    if o.segment != Segment::Mesh && firewall::mesh_port_open_to_anyone(c, node) {
                        ports.push((mesh.proto, mesh.from));
                    }
                    ports
                },
                &mut out,
            );
        }
        out
    }

    /// One probe from `o` per port to every address of every node it reaches (from its own
    /// address of the same family), labelled `<outsider> -> <node> <address> <port>`.
    fn outsider_probes(
        &self,
        o: &Outsider,
        ports_of: &dyn Fn(&str) -> Vec<(Proto, u16)>,
        out: &mut Vec<(String, Probe)>,
    ) {
        for n in &self.nodes {
            let ports = ports_of(&n.name);
            for dst in self.facing(o, n) {
                let src = o
                    .addrs
                    .iter()
                    .find(|a| a.is_ipv4() == dst.is_ipv4())
                    .copied();
                for &(proto, port) in &ports {
                    out.push((
                        format!(
                            "{} -> {} {dst} {}",
                            o.label,
                            n.name,
                            port_label(proto, port)
                        ),
                        Probe {
                            from_ns: o.ns.clone(),
                            src,
                            proto,
                            dst,
                            port,
                        },
                    ));
                }
            }
        }
    }
}

pub(crate) fn port_label(proto: Proto, port: u16) -> String {
    match proto {
        Proto::Icmp => "icmp echo".to_owned(),
        p => format!("{port}/{p}"),
    }
}
