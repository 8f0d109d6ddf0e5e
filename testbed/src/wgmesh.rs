//! A plain WireGuard mesh (`mesh.wireguard.manage: true`) brought up in network namespaces
//! from the rendered `wg-quick` files, on a model of the spec's physical layout.
//!
//! The layout [`WgMesh::build`] makes (all bridges in a switch namespace, nothing in the
//! caller's namespace, no default route anywhere):
//! - one namespace per node; a node on a site with LAN addresses has `lan0` on its site's
//!   bridge;
//! - an internet segment (bridge `brwan`): a node with a `public_endpoint` holds that address
//!   on a second interface `wan0` there (a cloud VM's public address); a node without a site
//!   (or without LAN addresses) sits there too, at a made-up address if it has no endpoint;
//!   internet hosts reach each other by host routes on `wan0`;
//! - one router namespace per site, between its LAN and the internet, forwarding: for a
//!   `nat: true` site it masquerades the LAN behind its own internet address and forwards
//!   nothing new inwards (no DNAT: nothing outside can open a connection in); for any other
//!   site it routes, and the internet hosts route the site's subnets to it. The site's nodes
//!   reach every internet address through it (host routes, not a default route).
//!
//! Each node then runs what `install.sh` and `wg-quick@<iface>.service` run: the private key
//! is created as `install.sh` creates it (`umask 077; wg genkey`), the relay's rendered
//! sysctl file is applied with `sysctl -p`, the node's firewall script (when the bundle has
//! one) runs, and `wg-quick up <iface>` reads the rendered config at
//! `/etc/wireguard/<iface>.conf`. With no WireGuard kernel module, `wg-quick` falls back to
//! `wireguard-go` itself. The only change to the rendered config is the public keys: each
//! spec key is replaced by the fresh key of the same node, in every file (a bijection).
//!
//! `wireguard-go`'s control socket is `/run/wireguard/<iface>.sock` and the key file is
//! `/etc/wireguard/<iface>.key`, both on the shared filesystem: every node runs in a private
//! mount namespace of its own (a tmpfs on `/run/wireguard`, a scratch directory bound on
//! `/etc/wireguard`), held by a sleeping process that later `wg` calls enter (`nsenter`).
//!
//! Cleanup is the testbed's: on drop, panics included, everything running in the namespaces
//! (the `wireguard-go` daemons too) is killed and the namespaces deleted; a watchdog does it
//! if this process dies any other way; [`crate::sweep_stale`] removes dead runs' namespaces.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use meshspec::cidr::Cidr;
use meshspec::{Bundle, Cluster};

use crate::cmd::{run, spawn_watchdog, sweep_stale, tear_down, trace};
use crate::{free_in, next_prefix, prefix_of};

/// A node of the mesh and its namespace.
#[derive(Debug, Clone)]
pub struct WgNode {
    /// The node's name.
    pub name: String,
    /// Its network namespace.
    pub ns: String,
    /// Its mesh addresses.
    pub mesh: Vec<IpAddr>,
    /// The public key of the key pair made for it (replacing the spec's in every config).
    pub public_key: String,
    /// The peers of its rendered config (public keys as rewritten).
    pub conf_peers: Vec<String>,
    /// The process that holds its mount namespace.
    holder: u32,
}

/// A WireGuard mesh up in network namespaces. Dropping it removes everything it made.
pub struct WgMesh {
    /// This run's namespace name prefix.
    pub prefix: String,
    /// The mesh interface (`wg0`).
    pub iface: String,
    /// The nodes, in spec order.
    pub nodes: Vec<WgNode>,
    /// The spec's public keys and the fresh keys that replace them.
    pub keys: BTreeMap<String, String>,
    dir: PathBuf,
    namespaces: Vec<String>,
    holders: Vec<Child>,
    watchdog: Option<Child>,
}

impl Drop for WgMesh {
    fn drop(&mut self) {
        tear_down(
            &mut self.holders,
            &self.namespaces,
            self.watchdog.as_mut(),
            &self.dir,
        );
    }
}

/// Why the WireGuard mesh cannot be built here, or `None` when it can: what the testbed needs
/// ([`crate::unavailable`]) plus `wireguard-go`, `wg`, `wg-quick`, `unshare`, `nsenter`,
/// `bash` and `ping`.
#[must_use]
pub fn wg_unavailable() -> Option<String> {
    // once per process: the testbed's check makes a namespace of a fixed name, which tests
    // running at once would race for
    static CHECKED: OnceLock<Option<String>> = OnceLock::new();
    CHECKED.get_or_init(check_tools).clone()
}

fn check_tools() -> Option<String> {
    if let Some(why) = crate::unavailable() {
        return Some(why);
    }
    for tool in [
        "wireguard-go",
        "wg",
        "wg-quick",
        "unshare",
        "nsenter",
        "bash",
        "ping",
    ] {
        let found = Command::new("sh")
            .args(["-c", "command -v \"$1\"", "sh", tool])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!(
                "`{tool}` is not installed (apt-get install --no-install-recommends wireguard-go wireguard-tools iputils-ping util-linux)"
            ));
        }
    }
    None
}

/// One ping of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// The source node.
    pub from: String,
    /// The destination node.
    pub to: String,
    /// The destination's mesh address.
    pub addr: IpAddr,
    /// Whether an echo reply came back.
    pub ok: bool,
}

/// A host on the internet segment: its namespace and addresses.
struct Internet {
    ns: String,
    addrs: Vec<IpAddr>,
    /// The site it sits on (its subnets are on-link, not routed).
    site: Option<usize>,
}

use crate::cmd::addr;
use crate::mesh::host_block as host_route;

impl WgMesh {
    /// Builds the layout of `c`, creates every node's key, and brings every node's interface
    /// up from `bundle` (see the module's documentation).
    ///
    /// # Errors
    /// The spec does not render a WireGuard mesh, a node has no public key in the spec, an
    /// endpoint is a DNS name, or a command failed (what was run and its message); whatever
    /// was built is removed.
    pub fn build(c: &Cluster, bundle: &Bundle) -> Result<WgMesh, String> {
        if c.mesh.managed_wireguard().is_none() {
            return Err("the spec does not render a WireGuard mesh (mesh.provider: wireguard with mesh.wireguard.manage: true)".into());
        }
        sweep_stale();
        let prefix = next_prefix();
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let watchdog = spawn_watchdog(std::process::id(), &prefix, &dir);
        let mut m = WgMesh {
            iface: c.mesh.interface.clone(),
            prefix,
            nodes: Vec::new(),
            keys: BTreeMap::new(),
            dir,
            namespaces: Vec::new(),
            holders: Vec::new(),
            watchdog,
        };
        m.wire(c)?;
        m.bring_up(c, bundle)?;
        Ok(m)
    }

    fn add_ns(&mut self, name: &str) -> Result<(), String> {
        crate::cmd::new_host(name, &mut self.namespaces)
    }

    /// Plugs `ns` into bridge `br` (in the switch namespace) with an interface `ifname`.
    fn plug(&self, ns: &str, ifname: &str, br: &str) -> Result<(), String> {
        let sw = format!("{}-sw", self.prefix);
        let port = format!("p{}{ifname}", self.namespaces.len());
        crate::cmd::plug(&sw, ns, ifname, br, &port, 1500)
    }

    fn wire(&mut self, c: &Cluster) -> Result<(), String> {
        let sw = format!("{}-sw", self.prefix);
        self.add_ns(&sw)?;
        let bridge = |name: &str| crate::cmd::bridge(&sw, name);
        bridge("brwan")?;
        let cidr = |s: &str| s.parse::<Cidr>().map_err(|_| format!("bad block {s}"));
        // made-up internet addresses (documentation blocks) for routers and for site-less
        // nodes without an endpoint
        let (made4, made6) = (cidr("198.51.100.0/24")?, cidr("2001:db8:ff00::/64")?);
        let endpoints: Vec<IpAddr> = c
            .nodes
            .iter()
            .filter_map(|n| n.public_endpoint.as_ref().and_then(|e| e.ip()))
            .collect();
        let mut made_k: u128 = 0;
        let mut made = |v4: bool| -> Result<IpAddr, String> {
            loop {
                made_k += 1;
                let a = if v4 {
                    made4.nth(made_k)
                } else {
                    made6.nth(made_k)
                }
                .ok_or("out of made-up internet addresses")?;
                if !endpoints.contains(&a) {
                    return Ok(a);
                }
            }
        };
        let mut internet: Vec<Internet> = Vec::new();
        // routers: (site, namespace, LAN addresses, internet addresses)
        let mut routers: Vec<(usize, String, Vec<IpAddr>, Vec<IpAddr>)> = Vec::new();
        let used: Vec<IpAddr> = c.nodes.iter().flat_map(|n| n.lan_ips.clone()).collect();
        for (si, site) in c.sites.iter().enumerate() {
            if !c
                .nodes
                .iter()
                .any(|n| n.site.as_deref() == Some(&site.name) && !n.lan_ips.is_empty())
            {
                continue;
            }
            bridge(&format!("brlan{si}"))?;
            let ns = format!("{}-r{si}", self.prefix);
            self.add_ns(&ns)?;
            self.plug(&ns, "lan0", &format!("brlan{si}"))?;
            self.plug(&ns, "wan0", "brwan")?;
            let mut lan = Vec::new();
            let mut wan = Vec::new();
            for sub in &site.subnets {
                if let Some(a) = free_in(sub, &used) {
                    addr(&ns, "lan0", a, sub.prefix())?;
                    lan.push(a);
                    if !wan.iter().any(|w: &IpAddr| w.is_ipv4() == a.is_ipv4()) {
                        let w = made(a.is_ipv4())?;
                        addr(&ns, "wan0", w, if w.is_ipv4() { 32 } else { 128 })?;
                        wan.push(w);
                    }
                }
            }
            run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &ns,
                    "sysctl",
                    "-qw",
                    "net.ipv4.ip_forward=1",
                    "net.ipv6.conf.all.forwarding=1",
                ],
            )?;
            if site.nat {
                // masquerade out, nothing new in: the LAN's hosts cannot be reached from
                // outside unless they opened the flow
                crate::mesh::load_nat(&ns, "lan0", "wan0", true)?;
            }
            internet.push(Internet {
                ns: ns.clone(),
                addrs: wan.clone(),
                site: Some(si),
            });
            routers.push((si, ns, lan, wan));
        }
        // nodes
        let mut lan_nodes: Vec<(String, usize, Vec<IpAddr>)> = Vec::new();
        for (i, n) in c.nodes.iter().enumerate() {
            let ns = format!("{}-n{i}", self.prefix);
            self.add_ns(&ns)?;
            let site = n
                .site
                .as_deref()
                .and_then(|s| c.sites.iter().position(|x| x.name == s));
            let public = match &n.public_endpoint {
                Some(e) => Some(e.ip().ok_or_else(|| {
                    format!(
                        "`{}`: a public endpoint that is a DNS name is not modelled here",
                        n.name
                    )
                })?),
                None => None,
            };
            if let (Some(si), false) = (site, n.lan_ips.is_empty()) {
                self.plug(&ns, "lan0", &format!("brlan{si}"))?;
                for a in &n.lan_ips {
                    addr(&ns, "lan0", *a, prefix_of(*a, &c.sites[si].subnets))?;
                }
            }
            let on_lan = site.is_some() && !n.lan_ips.is_empty();
            if public.is_some() || !on_lan {
                self.plug(&ns, "wan0", "brwan")?;
                let addrs = match public {
                    Some(p) => vec![p],
                    None => vec![made(true)?, made(false)?],
                };
                for a in &addrs {
                    addr(&ns, "wan0", *a, if a.is_ipv4() { 32 } else { 128 })?;
                }
                internet.push(Internet {
                    ns: ns.clone(),
                    addrs,
                    site: site.filter(|_| on_lan),
                });
            } else if let Some(si) = site {
                lan_nodes.push((ns.clone(), si, n.lan_ips.clone()));
            }
            self.nodes.push(WgNode {
                name: n.name.clone(),
                ns,
                mesh: n.mesh_ips.clone(),
                public_key: String::new(),
                conf_peers: Vec::new(),
                holder: 0,
            });
        }
        // routes: internet hosts to each other on-link; to routed (non-NAT) sites through
        // their router; LAN-only nodes to every internet address through their router
        let all_wan: Vec<IpAddr> = internet.iter().flat_map(|h| h.addrs.clone()).collect();
        for h in &internet {
            for a in all_wan.iter().filter(|a| !h.addrs.contains(a)) {
                if h.addrs.iter().any(|o| o.is_ipv4() == a.is_ipv4()) {
                    run(
                        "ip",
                        &[
                            "-n",
                            &h.ns,
                            "route",
                            "replace",
                            &host_route(*a),
                            "dev",
                            "wan0",
                        ],
                    )?;
                }
            }
            for (si, _, _, wan) in &routers {
                if c.sites[*si].nat || h.site == Some(*si) {
                    continue;
                }
                for sub in &c.sites[*si].subnets {
                    let via = wan
                        .iter()
                        .find(|w| w.is_ipv4() == (sub.family() == meshspec::cidr::Family::Ipv4));
                    if let Some(via) = via
                        && h.addrs.iter().any(|o| o.is_ipv4() == via.is_ipv4())
                    {
                        run(
                            "ip",
                            &[
                                "-n",
                                &h.ns,
                                "route",
                                "replace",
                                &sub.to_string(),
                                "via",
                                &via.to_string(),
                                "dev",
                                "wan0",
                            ],
                        )?;
                    }
                }
            }
        }
        for (ns, si, lan) in &lan_nodes {
            let Some((_, _, rlan, _)) = routers.iter().find(|r| r.0 == *si) else {
                continue;
            };
            for a in &all_wan {
                let via = rlan.iter().find(|r| r.is_ipv4() == a.is_ipv4());
                if let Some(via) = via
                    && lan.iter().any(|l| l.is_ipv4() == a.is_ipv4())
                {
                    run(
                        "ip",
                        &[
                            "-n",
                            ns,
                            "route",
                            "replace",
                            &host_route(*a),
                            "via",
                            &via.to_string(),
                            "dev",
                            "lan0",
                        ],
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Starts the process holding node `i`'s private mount namespace (its own
    /// `/run/wireguard` and `/etc/wireguard`).
    fn hold(&mut self, i: usize) -> Result<(), String> {
        let ns = self.nodes[i].ns.clone();
        let etc = self.dir.join(format!("n{i}-etc-wireguard"));
        std::fs::create_dir_all(&etc).map_err(|e| e.to_string())?;
        // install.sh: install -d -m 0700 /etc/wireguard
        run("chmod", &["0700", &etc.display().to_string()])?;
        let child = crate::mesh::hold(&ns, Some(&etc), &self.nodes[i].name)?;
        self.nodes[i].holder = child.id();
        self.holders.push(child);
        Ok(())
    }

    /// Runs `sh -c script` (arguments `$1`…) in node `i`'s network and mount namespaces; its
    /// standard output.
    fn in_node(&self, i: usize, script: &str, args: &[&str]) -> Result<String, String> {
        crate::mesh::enter(self.nodes[i].holder, &self.nodes[i].name, script, args)
    }

    fn bring_up(&mut self, c: &Cluster, bundle: &Bundle) -> Result<(), String> {
        let iface = self.iface.clone();
        for i in 0..self.nodes.len() {
            self.hold(i)?;
            // the key as install.sh creates it; its public half replaces the spec's
            let public = self.in_node(
                i,
                "k=/etc/wireguard/$1.key; (umask 077; wg genkey > \"$k.new\") && mv \"$k.new\" \"$k\" && chmod 600 \"$k\" && wg pubkey < \"$k\"",
                &[&iface],
            )?;
            let public = public.trim().to_owned();
            let spec = c.nodes[i].wireguard_public_key.clone().ok_or_else(|| {
                format!(
                    "`{}` has no wireguard.public_key in the spec",
                    c.nodes[i].name
                )
            })?;
            if self.keys.insert(spec, public.clone()).is_some() {
                return Err(format!(
                    "`{}` shares its public key with another node",
                    c.nodes[i].name
                ));
            }
            self.nodes[i].public_key = public;
        }
        for i in 0..self.nodes.len() {
            let name = self.nodes[i].name.clone();
            let path = format!("nodes/{name}/etc/wireguard/{iface}.conf");
            let rendered = &bundle
                .files
                .get(&path)
                .ok_or_else(|| format!("the bundle has no {path}"))?
                .contents
                .as_str();
            let mut conf = String::new();
            let mut peers = Vec::new();
            for line in rendered.lines() {
                if let Some(key) = line.strip_prefix("PublicKey = ") {
                    let fresh = self
                        .keys
                        .get(key.trim())
                        .ok_or_else(|| format!("{path}: a peer key no node has: {key}"))?;
                    conf.push_str("PublicKey = ");
                    conf.push_str(fresh);
                    peers.push(fresh.clone());
                } else {
                    conf.push_str(line);
                }
                conf.push('\n');
            }
            if let Some(k) = self.keys.keys().find(|k| conf.contains(k.as_str())) {
                return Err(format!(
                    "{path}: the spec key {k} is left after the rewrite"
                ));
            }
            self.nodes[i].conf_peers = peers;
            let staged = self.dir.join(format!("n{i}-{iface}.conf"));
            std::fs::write(&staged, conf).map_err(|e| e.to_string())?;
            // install.sh: install -m 0600 …/etc/wireguard/<iface>.conf /etc/wireguard/
            self.in_node(
                i,
                "install -m 0600 \"$1\" \"/etc/wireguard/$2.conf\"",
                &[&staged.display().to_string(), &iface],
            )?;
            // install.sh: sysctl -q -p /etc/sysctl.d/<file> (a relay's forwarding)
            let sysctl_dir = format!("nodes/{name}/etc/sysctl.d/");
            for (p, f) in bundle.files.range(sysctl_dir.clone()..) {
                if !p.starts_with(&sysctl_dir) {
                    break;
                }
                let staged = self.dir.join(format!("n{i}-sysctl.conf"));
                std::fs::write(&staged, &*f.contents.as_str()).map_err(|e| e.to_string())?;
                self.in_node(i, "sysctl -q -p \"$1\"", &[&staged.display().to_string()])?;
            }
            // a host that forwards nothing it was not told to (FORWARD policy DROP, as many
            // distributions and Docker leave it): only the relay's rendered forward chain lets
            // the relayed pairs through
            self.in_node(
                i,
                "iptables -w -P FORWARD DROP && ip6tables -w -P FORWARD DROP",
                &[],
            )?;
            // the node's firewall script, from a copy of the bundle's cluster/ directory
            let script = format!("cluster/firewall/{name}.sh");
            if bundle.files.contains_key(&script) {
                let root = self.dir.join("bundle");
                for (p, f) in bundle.files.range("cluster/".to_owned()..) {
                    if !p.starts_with("cluster/") {
                        break;
                    }
                    let t = root.join(p);
                    if let Some(parent) = t.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                    }
                    std::fs::write(&t, &*f.contents.as_str()).map_err(|e| e.to_string())?;
                }
                self.in_node(
                    i,
                    "cd \"$1\" && sh \"$2\"",
                    &[&root.display().to_string(), &script],
                )?;
            }
            // wg-quick@<iface>.service: wg-quick up <iface>; the daemon it starts keeps its
            // output in a file, never in a pipe of ours
            let log = self.dir.join(format!("n{i}-wg-quick.log"));
            let log_s = log.display().to_string();
            if let Err(e) = self.in_node(i, "wg-quick up \"$1\" >\"$2\" 2>&1", &[&iface, &log_s]) {
                let out = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("{e}\nwg-quick said:\n{out}"));
            }
        }
        Ok(())
    }

    /// The node's index.
    fn index(&self, node: &str) -> Result<usize, String> {
        self.nodes
            .iter()
            .position(|n| n.name == node)
            .ok_or_else(|| format!("no node `{node}`"))
    }

    /// The public keys of the node's peers as its interface has them (`wg show <iface>
    /// peers`), sorted.
    ///
    /// # Errors
    /// No such node, or `wg` failed.
    pub fn peers(&self, node: &str) -> Result<Vec<String>, String> {
        let i = self.index(node)?;
        let out = self.in_node(i, "wg show \"$1\" peers", &[&self.iface])?;
        let mut v: Vec<String> = out.split_whitespace().map(str::to_owned).collect();
        v.sort();
        Ok(v)
    }

    /// `wg show <iface>` of the node (for reports).
    ///
    /// # Errors
    /// No such node, or `wg` failed.
    pub fn show(&self, node: &str) -> Result<String, String> {
        let i = self.index(node)?;
        self.in_node(i, "wg show \"$1\"", &[&self.iface])
    }

    /// Pings every other node's every mesh address from every node, each until a reply or
    /// `deadline_s` seconds: first from each node to the nodes after it in `nodes`, all at
    /// once, then back. Two peers that both start a handshake at the same moment each answer
    /// the other's and drop the answer to their own, and then wait the 5 s retry
    /// (`REKEY_TIMEOUT`) to try again: one initiator per pair keeps a first contact quick.
    #[must_use]
    pub fn ping_matrix(&self, deadline_s: u32) -> Vec<Ping> {
        let mut out = self.pings(deadline_s, true);
        out.extend(self.pings(deadline_s, false));
        out
    }

    /// One way of [`WgMesh::ping_matrix`]: to the later nodes, or to the earlier ones.
    fn pings(&self, deadline_s: u32, forward: bool) -> Vec<Ping> {
        let mut jobs = Vec::new();
        for (i, a) in self.nodes.iter().enumerate() {
            for (j, b) in self.nodes.iter().enumerate() {
                if i == j || (i < j) != forward {
                    continue;
                }
                for ip in &b.mesh {
                    jobs.push((a, b, *ip));
                }
            }
        }
        let deadline = deadline_s.to_string();
        std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|(a, b, ip)| {
                    let deadline = deadline.as_str();
                    s.spawn(move || {
                        let ip_s = ip.to_string();
                        let ok = Command::new("ip")
                            .args(["netns", "exec", &a.ns, "ping", "-n", "-q", "-c", "1"])
                            .args(["-i", "0.2", "-w", deadline, &ip_s])
                            .stdin(Stdio::null())
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .status()
                            .is_ok_and(|st| st.success());
                        Ping {
                            from: a.name.clone(),
                            to: b.name.clone(),
                            addr: *ip,
                            ok,
                        }
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        })
    }

    /// Runs the bundle's `cluster/verify.sh --wireguard <node>` on the node, as root there,
    /// with the spec's public keys replaced by the fresh ones (the same bijection as in the
    /// configs, the only change): whether it exited 0, and its output.
    ///
    /// # Errors
    /// No such node, the bundle has no `cluster/verify.sh`, or it could not run.
    pub fn verify(&self, bundle: &Bundle, node: &str) -> Result<(bool, String), String> {
        let i = self.index(node)?;
        let mut text = bundle
            .files
            .get("cluster/verify.sh")
            .ok_or("the bundle has no cluster/verify.sh")?
            .contents
            .to_string();
        for (spec, fresh) in &self.keys {
            text = text.replace(spec.as_str(), fresh);
        }
        let path = self.dir.join(format!("n{i}-verify.sh"));
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        let pid = self.nodes[i].holder.to_string();
        let path_s = path.display().to_string();
        let args = ["-t", &pid, "-m", "-n", "sh", &path_s, "--wireguard", node];
        trace("nsenter", &args);
        let out = Command::new("nsenter")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("nsenter: {e}"))?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok((out.status.success(), text))
    }

    /// Runs `sh -c script` as root on the node (its network and mount namespaces); its
    /// standard output.
    ///
    /// # Errors
    /// No such node, or the script exited non-zero (with its stderr).
    pub fn sh(&self, node: &str, script: &str) -> Result<String, String> {
        let i = self.index(node)?;
        self.in_node(i, script, &[])
    }

    /// Turns forwarding off (or back on) in the node's namespace, IPv4 and IPv6.
    ///
    /// # Errors
    /// No such node, or `sysctl` failed.
    pub fn set_forwarding(&self, node: &str, on: bool) -> Result<(), String> {
        let i = self.index(node)?;
        let v = u8::from(on).to_string();
        run(
            "ip",
            &[
                "netns",
                "exec",
                &self.nodes[i].ns,
                "sysctl",
                "-qw",
                &format!("net.ipv4.ip_forward={v}"),
                &format!("net.ipv6.conf.all.forwarding={v}"),
            ],
        )
        .map(|_| ())
    }

    /// Takes the node's mesh interface down (`ip link set <iface> down`).
    ///
    /// # Errors
    /// No such node, or `ip` failed.
    pub fn link_down(&self, node: &str) -> Result<(), String> {
        let i = self.index(node)?;
        run(
            "ip",
            &["-n", &self.nodes[i].ns, "link", "set", &self.iface, "down"],
        )
        .map(|_| ())
    }
}
