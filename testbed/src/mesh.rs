//! The mesh as real WireGuard: one interface per mesh host (node or mesh outsider), with the
//! mesh interface's name (`tailscale0`, `wt0`, `wg0`, ...), the host's mesh addresses and the
//! provider's MTU, keys made for the run (`wg genkey`), and the private mount namespaces that
//! `wireguard-go` needs (shared with [`crate::WgMesh`]).
//!
//! Device: the kernel's (`ip link add <iface> type wireguard`) when the module is there, else
//! `wireguard-go <iface>`. Its control socket is `/run/wireguard/<iface>.sock`, the same path
//! in every namespace: each host runs in a private mount namespace of its own (a tmpfs on
//! `/run/wireguard`), held by a sleeping process that later commands enter (`nsenter`).
//!
//! Underlay: the testbed does not model how the provider finds its peers (no Tailscale,
//! Headscale or NetBird coordination server, no DERP relay, no STUN). Every mesh host has a
//! second interface, `mshu0`, on a hidden underlay segment (198.18.0.0/16, the benchmarking
//! block) where each peer's endpoint is: what the provider's coordination gives a node
//! (a direct path to every peer). A default-deny host accepts WireGuard's UDP on that
//! interface (the provider's own path, not the bundle's business); the bundle's firewall
//! scripts never see it otherwise (they filter cluster ports, and the underlay port is not
//! one).
//!
//! Peers: without `mesh.wireguard.manage` every mesh host is a peer of every other, with the
//! peer's mesh addresses as its allowed IPs and its underlay address as endpoint (a tailnet:
//! every device reaches every other; the provider's NAT traversal and DERP relays are taken as
//! working). With `manage: true` each node's peers, allowed IPs, keepalives, addresses and MTU
//! come from the bundle's rendered `nodes/<node>/etc/wireguard/<iface>.conf` (the spec's public
//! keys mapped to the run's keys), so a relayed pair goes through the relay as the configs
//! route it. A rendered `Endpoint` becomes the peer's underlay address where it leads in the
//! spec's physical layout (the peer's public endpoint; its LAN address from the same site, on
//! a site without NAT, or behind the peer's NAT router); any other endpoint goes nowhere, as a
//! private address of another site does. A `nat: true` site gets a NAT router
//! ([`NatRouter`], rules `nat_rules`): its nodes without a public endpoint sit on the site's
//! own segment behind it, which masquerades what leaves and lets only answers in, so a flow
//! from outside the site reaches them only once they opened it (their keepalives). The mesh
//! outsiders are peers of every node, on the underlay; a node behind NAT keeps its mapping to
//! them open. [`crate::WgMesh`] builds another topology (site routers between LAN and
//! internet) from the same configs with `wg-quick`, with the same NAT rules.

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use meshspec::Cluster;
use meshspec::cidr::Cidr;

use crate::cmd::{run, trace};

/// The `iptables-restore` input of a site's NAT router: what leaves by `outside` is
/// masqueraded (peers see the router's address), `inside` may open flows out, and from outside
/// only answers come in. Shared by the command's mesh and [`crate::WgMesh`].
pub(crate) fn nat_rules(inside: &str, outside: &str) -> String {
    format!(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o {outside} -j MASQUERADE\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -i {inside} -o {outside} -j ACCEPT\nCOMMIT\n"
    )
}

/// Makes namespace `ns` a NAT router: loads [`nat_rules`]`(inside, outside)` for IPv4 and,
/// when `ipv6`, for IPv6 as well.
///
/// # Errors
/// A restore failed.
pub(crate) fn load_nat(ns: &str, inside: &str, outside: &str, ipv6: bool) -> Result<(), String> {
    let script = if ipv6 {
        "printf '%s' \"$1\" | iptables-restore && printf '%s' \"$1\" | ip6tables-restore"
    } else {
        "printf '%s' \"$1\" | iptables-restore"
    };
    run(
        "ip",
        &[
            "netns",
            "exec",
            ns,
            "sh",
            "-c",
            script,
            "nat",
            &nat_rules(inside, outside),
        ],
    )
    .map(drop)
}

/// A site's NAT router on the underlay (managed WireGuard, a `nat: true` site): its nodes
/// without a public endpoint sit behind it.
#[derive(Debug, Clone)]
pub struct NatRouter {
    /// The site's index in `sites:`.
    pub site: usize,
    /// Its namespace.
    pub ns: String,
    /// Its address on the underlay, the source peers see for what its nodes send.
    pub outside: IpAddr,
}

/// The underlay interface of every mesh host.
pub const UNDERLAY_IF: &str = "mshu0";
/// The underlay block (RFC 2544's benchmarking addresses).
pub(crate) const UNDERLAY_BLOCK: &str = "198.18.0.0/16";

/// Starts a process in namespace `ns` that holds a private mount namespace (a tmpfs on
/// `/run/wireguard`, and `etc` bound on `/etc/wireguard` when given) until killed. Returns it
/// once the mounts are up; `label` names the host in errors.
///
/// # Errors
/// It could not start, or the mounts failed.
pub(crate) fn hold(ns: &str, etc: Option<&Path>, label: &str) -> Result<Child, String> {
    let script = "mkdir -p /run/wireguard && mount -t tmpfs -o mode=0755 none /run/wireguard && if [ -n \"$1\" ]; then mount --bind \"$1\" /etc/wireguard; fi && echo ready && exec sleep 86400";
    let etc_s = etc.map(|e| e.display().to_string()).unwrap_or_default();
    let args = [
        "netns",
        "exec",
        ns,
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
        &etc_s,
    ];
    trace("ip", &args);
    let mut child = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("unshare: {e}"))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    if line.trim() != "ready" {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "the private mount namespace of `{label}` could not be set up"
        ));
    }
    Ok(child)
}

/// Runs `sh -c script` (arguments `$1`…) in the network and mount namespaces of the holder
/// `pid`; its standard output. `label` names the host in errors.
///
/// # Errors
/// The script exited non-zero (with its stderr).
pub(crate) fn enter(pid: u32, label: &str, script: &str, args: &[&str]) -> Result<String, String> {
    let pid = pid.to_string();
    let mut full = vec!["-t", pid.as_str(), "-m", "-n", "sh", "-c", script, "sh"];
    full.extend_from_slice(args);
    run("nsenter", &full).map_err(|e| format!("`{label}`: {e}"))
}

/// Creates WireGuard interface `iface` (kernel module, else `wireguard-go`, its output in
/// `log`) at `mtu` and sets it up, in the holder's namespaces.
///
/// # Errors
/// Neither could make the device.
pub(crate) fn create_device(
    pid: u32,
    label: &str,
    iface: &str,
    mtu: u32,
    log: &Path,
) -> Result<(), String> {
    let log_s = log.display().to_string();
    // wireguard-go's parent makes the device and its control socket, starts the daemon and
    // returns; the daemon then opens the device again at its default MTU, 1420 (wireguard-go
    // main.go: CreateTUNFromFile(file, DefaultMTU), which sets it), and only then answers on
    // the socket. `wg show` waits for that answer, so the MTU set after it stays.
    let made = enter(
        pid,
        label,
        "ip link add \"$1\" type wireguard 2>/dev/null && exit 0
wireguard-go \"$1\" >\"$2\" 2>&1 || exit 1
timeout 10 wg show \"$1\" >/dev/null || { echo \"wireguard-go did not answer on its control socket within 10 s\" >&2; exit 1; }",
        &[iface, &log_s],
    );
    if let Err(e) = made {
        let out = std::fs::read_to_string(log).unwrap_or_default();
        return Err(format!("{e}\nwireguard-go said:\n{out}"));
    }
    enter(
        pid,
        label,
        "ip link set \"$1\" mtu \"$2\" up && ip link show \"$1\" | grep -q \" mtu $2 \" || { echo \"$1: the MTU did not stay at $2\" >&2; exit 1; }",
        &[iface, &mtu.to_string()],
    )
    .map(|_| ())
}

/// A key pair made in the holder's namespaces: the private key in `key` (mode 0600, never
/// read back here), the public key returned.
///
/// # Errors
/// `wg` failed.
pub(crate) fn gen_key(pid: u32, label: &str, key: &Path) -> Result<String, String> {
    let out = enter(
        pid,
        label,
        "(umask 077; wg genkey > \"$1\") && wg pubkey < \"$1\"",
        &[&key.display().to_string()],
    )?;
    Ok(out.trim().to_owned())
}

/// One `[Peer]` of a rendered `wg-quick` file.
#[derive(Debug, Clone)]
pub struct ConfPeer {
    /// Its `PublicKey` (the spec's).
    pub public_key: String,
    /// Its `AllowedIPs`.
    pub allowed: Vec<Cidr>,
    /// The line of its `[Peer]` header (1-based).
    pub line: usize,
    /// Its `Endpoint` (this node dials it there), as written.
    pub endpoint: Option<String>,
    /// Its `PersistentKeepalive`, when set.
    pub keepalive: Option<u16>,
}

/// What the testbed reads from a rendered `wg-quick` file.
#[derive(Debug, Clone, Default)]
pub struct Conf {
    /// `Address` entries (address, prefix) and the line of each.
    pub addresses: Vec<(IpAddr, u8, usize)>,
    /// The `MTU`, when set.
    pub mtu: Option<u32>,
    /// The peers.
    pub peers: Vec<ConfPeer>,
}

/// An address entry (`10.0.0.1/24`, or a bare address) as a host block holding the address.
fn entry(s: &str) -> Option<(IpAddr, u8)> {
    let s = s.trim();
    match s.split_once('/') {
        Some((a, p)) => Some((a.parse().ok()?, p.parse().ok()?)),
        None => {
            let a: IpAddr = s.parse().ok()?;
            Some((a, if a.is_ipv4() { 32 } else { 128 }))
        }
    }
}

impl Conf {
    /// Reads the fields the testbed uses; unknown lines are ignored, unreadable values are
    /// errors naming the line.
    ///
    /// # Errors
    /// A value that is not an address, block, number or key.
    pub fn parse(text: &str, path: &str) -> Result<Conf, String> {
        let mut c = Conf::default();
        let mut in_peer = false;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            let at = i + 1;
            if line.eq_ignore_ascii_case("[peer]") {
                in_peer = true;
                c.peers.push(ConfPeer {
                    public_key: String::new(),
                    allowed: Vec::new(),
                    line: at,
                    endpoint: None,
                    keepalive: None,
                });
                continue;
            }
            if line.eq_ignore_ascii_case("[interface]") {
                in_peer = false;
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            let bad = || format!("{path}:{at}: cannot read `{raw}`");
            match (in_peer, k.as_str()) {
                (false, "address") => {
                    for e in v.split(',') {
                        let (a, p) = entry(e).ok_or_else(bad)?;
                        if Cidr::truncated(a, p).is_none() {
                            return Err(bad());
                        }
                        c.addresses.push((a, p, at));
                    }
                }
                (false, "mtu") => c.mtu = Some(v.parse().map_err(|_| bad())?),
                (true, "publickey") => {
                    if let Some(p) = c.peers.last_mut() {
                        p.public_key = v.to_owned();
                    }
                }
                (true, "endpoint") => {
                    if let Some(p) = c.peers.last_mut() {
                        p.endpoint = Some(v.to_owned());
                    }
                }
                (true, "persistentkeepalive") => {
                    let k: u16 = v.parse().map_err(|_| bad())?;
                    if let Some(p) = c.peers.last_mut() {
                        p.keepalive = (k > 0).then_some(k);
                    }
                }
                (true, "allowedips") => {
                    for e in v.split(',').filter(|e| !e.trim().is_empty()) {
                        let (a, p) = entry(e).ok_or_else(bad)?;
                        let cidr = Cidr::truncated(a, p).ok_or_else(bad)?;
                        if let Some(peer) = c.peers.last_mut() {
                            peer.allowed.push(cidr);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(c)
    }

    /// The line of the first `Address`, else 0.
    #[must_use]
    pub fn address_line(&self) -> usize {
        self.addresses.first().map_or(0, |a| a.2)
    }
}

/// A WireGuard host of the testbed's mesh.
#[derive(Debug, Clone)]
pub struct MeshHost {
    /// The node's name, or the outsider's label.
    pub label: String,
    /// The node's index in `c.nodes`, or `None` for an outsider.
    pub node: Option<usize>,
    /// Its namespace.
    pub ns: String,
    /// The process holding its mount namespace.
    pub(crate) holder: u32,
    /// Its underlay address.
    pub underlay: IpAddr,
    /// Its addresses on the mesh interface.
    pub addrs: Vec<IpAddr>,
    /// Its public key for this run.
    pub public_key: String,
    /// Its private key file (in the run's scratch directory).
    pub(crate) key: PathBuf,
    /// The rendered config it runs (managed WireGuard), with its path in the bundle.
    pub conf: Option<(String, Conf)>,
    /// The site it sits on, when its underlay stands for that site's LAN (a node on a LAN).
    pub site: Option<usize>,
    /// Whether a NAT stands in front of it (managed WireGuard, a `nat: true` site, no public
    /// endpoint): nothing from outside its site can open a flow to it.
    pub behind_nat: bool,
}

/// The mesh: its interface name, the underlay port, the hosts.
#[derive(Debug, Clone, Default)]
pub struct Mesh {
    /// The interface name.
    pub iface: String,
    /// The underlay UDP port every host listens on.
    pub port: u16,
    /// Every WireGuard host (nodes first, then outsiders).
    pub hosts: Vec<MeshHost>,
    /// Whether the configs come from the bundle (`mesh.wireguard.manage: true`).
    pub managed: bool,
    /// The NAT routers, one per `nat: true` site with a node behind it.
    pub routers: Vec<NatRouter>,
}

/// The keepalive a node behind NAT sends the mesh outsiders (WireGuard's usual 25 s).
const OUTSIDER_KEEPALIVE: u16 = 25;

/// The first UDP port from 51900 up that no listener serves.
#[must_use]
pub fn underlay_port(udp: &[u16]) -> u16 {
    (51900..u16::MAX)
        .find(|p| !udp.contains(p))
        .unwrap_or(51899)
}

/// Whether node host `me` dials node host `other` at endpoint `e` (`addr:port`,
/// `[addr]:port`; a name is taken as reachable) on the underlay: `other`'s public endpoint, or
/// its LAN address when both sit on the same site's LAN, `other`'s site has no NAT, or
/// `other` sits behind its site's NAT router (then the packets go to its address inside the
/// site, which nothing outside routes: they fail there, as in the field).
pub(crate) fn reachable(c: &Cluster, me: &MeshHost, other: &MeshHost, e: &str) -> bool {
    let Some(n) = other.node.and_then(|i| c.nodes.get(i)) else {
        return true;
    };
    let host = e
        .rsplit_once(':')
        .map_or(e, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let Ok(ip) = host.parse::<IpAddr>() else {
        return true;
    };
    // a site without NAT routes its LAN (as WgMesh's routers do)
    let routed = other
        .site
        .and_then(|si| c.sites.get(si))
        .is_some_and(|s| !s.nat);
    n.public_endpoint.as_ref().and_then(|p| p.ip()) == Some(ip)
        || (n.lan_ips.contains(&ip)
            && ((me.site.is_some() && me.site == other.site) || routed || other.behind_nat))
}

/// `<addr>/32` or `<addr>/128`.
pub(crate) fn host_block(a: IpAddr) -> String {
    match a {
        IpAddr::V4(_) => format!("{a}/32"),
        IpAddr::V6(_) => format!("{a}/128"),
    }
}

impl Mesh {
    /// The host of node `name`.
    #[must_use]
    pub fn node_host(&self, c: &Cluster, name: &str) -> Option<&MeshHost> {
        let i = c.nodes.iter().position(|n| n.name == name)?;
        self.hosts.iter().find(|h| h.node == Some(i))
    }

    /// `wg show <iface> dump` of the host labelled `label` (a node's name): the interface line
    /// (private key replaced by `(hidden)`), then one line per peer.
    ///
    /// # Errors
    /// No such host, or `wg` failed.
    pub fn dump(&self, label: &str) -> Result<String, String> {
        let h = self
            .hosts
            .iter()
            .find(|h| h.label == label)
            .ok_or_else(|| format!("no mesh host `{label}`"))?;
        let out = enter(h.holder, &h.label, "wg show \"$1\" dump", &[&self.iface])?;
        let mut lines = out.lines();
        let mut s = String::new();
        if let Some(first) = lines.next() {
            let rest: Vec<&str> = first.split('\t').skip(1).collect();
            s.push_str(&format!("(hidden)\t{}\n", rest.join("\t")));
        }
        for l in lines {
            s.push_str(l);
            s.push('\n');
        }
        Ok(s)
    }

    /// The peers of host `h` as `wg setconf` reads them (no private key: that goes with `wg
    /// set private-key`).
    fn setconf(&self, c: &Cluster, h: usize) -> Result<String, String> {
        let me = &self.hosts[h];
        let mut s = format!("[Interface]\nListenPort = {}\n", self.port);
        let mut peer =
            |other: &MeshHost, allowed: &[String], dial: bool, keepalive: Option<u16>| {
                s.push_str(&format!("\n[Peer]\nPublicKey = {}\n", other.public_key));
                if dial {
                    s.push_str(&format!("Endpoint = {}:{}\n", other.underlay, self.port));
                }
                if let Some(k) = keepalive {
                    s.push_str(&format!("PersistentKeepalive = {k}\n"));
                }
                if !allowed.is_empty() {
                    s.push_str(&format!("AllowedIPs = {}\n", allowed.join(", ")));
                }
            };
        let outsider = |o: &MeshHost| o.addrs.iter().copied().map(host_block).collect::<Vec<_>>();
        match (&me.conf, me.node) {
            (Some((path, conf)), _) => {
                for p in &conf.peers {
                    let Some(other) = self.hosts.iter().find(|o| {
                        o.node
                            .and_then(|i| c.nodes[i].wireguard_public_key.as_deref())
                            == Some(p.public_key.as_str())
                    }) else {
                        return Err(format!(
                            "{path}:{}: a peer key no node has: {}",
                            p.line, p.public_key
                        ));
                    };
                    let allowed: Vec<String> = p.allowed.iter().map(Cidr::to_string).collect();
                    // the rendered Endpoint says who dials whom, and where: an address this
                    // node reaches (the peer's public endpoint, or its LAN address from the
                    // same site) becomes the peer's underlay address; any other goes nowhere
                    let dial = p
                        .endpoint
                        .as_deref()
                        .is_some_and(|e| reachable(c, me, other, e));
                    peer(other, &allowed, dial, p.keepalive);
                }
                // the mesh outsiders: devices the bundle does not know, added as peers (a
                // node behind NAT keeps its mapping to them open, as to any peer it dials)
                for o in self.hosts.iter().filter(|o| o.node.is_none()) {
                    peer(
                        o,
                        &outsider(o),
                        true,
                        me.behind_nat.then_some(OUTSIDER_KEEPALIVE),
                    );
                }
            }
            (None, Some(_)) if self.managed => {
                return Err(format!("`{}` has no rendered WireGuard config", me.label));
            }
            (None, None) if self.managed => {
                // an outsider of a managed mesh: every node is its peer
                for o in self.hosts.iter().filter(|o| o.node.is_some()) {
                    peer(o, &outsider(o), true, None);
                }
            }
            (None, _) => {
                for (j, o) in self.hosts.iter().enumerate() {
                    if j != h {
                        peer(o, &outsider(o), true, None);
                    }
                }
            }
        }
        Ok(s)
    }

    /// Makes every host's key, then loads every host's peers (`wg setconf`, `wg set
    /// private-key`), the hosts in parallel.
    ///
    /// # Errors
    /// `wg` failed on a host.
    pub(crate) fn configure(&mut self, c: &Cluster, scratch: &Path) -> Result<(), String> {
        let keys = crate::check::par_map(&self.hosts, |h| gen_key(h.holder, &h.label, &h.key));
        for (h, k) in self.hosts.iter_mut().zip(keys) {
            h.public_key = k?;
        }
        let mut files = Vec::new();
        for (i, h) in self.hosts.iter().enumerate() {
            let path = scratch.join(format!("mesh-{i}.conf"));
            std::fs::write(&path, self.setconf(c, i)?).map_err(|e| e.to_string())?;
            files.push((h, path));
        }
        let iface = self.iface.clone();
        for r in crate::check::par_map(&files, |(h, path)| {
            enter(
                h.holder,
                &h.label,
                "wg setconf \"$1\" \"$2\" && wg set \"$1\" private-key \"$3\"",
                &[
                    &iface,
                    &path.display().to_string(),
                    &h.key.display().to_string(),
                ],
            )
        }) {
            r?;
        }
        // a keepalive goes out when one is set on an interface that is up: set again now that
        // every peer knows every key, the NATed nodes open their mappings to the peers they
        // dial (the first one went out before those peers were configured)
        let this: &Mesh = self;
        let kicks: Vec<(&MeshHost, String, u16)> = this
            .hosts
            .iter()
            .filter_map(|h| h.conf.as_ref().map(|(_, conf)| (h, conf)))
            .flat_map(|(h, conf)| {
                conf.peers.iter().filter_map(move |p| {
                    let k = p.keepalive?;
                    let other = this.hosts.iter().find(|o| {
                        o.node
                            .and_then(|i| c.nodes[i].wireguard_public_key.as_deref())
                            == Some(p.public_key.as_str())
                    })?;
                    Some((h, other.public_key.clone(), k))
                })
            })
            .chain(this.hosts.iter().filter(|h| h.behind_nat).flat_map(|h| {
                this.hosts
                    .iter()
                    .filter(|o| o.node.is_none())
                    .map(move |o| (h, o.public_key.clone(), OUTSIDER_KEEPALIVE))
            }))
            .collect();
        for r in crate::check::par_map(&kicks, |(h, key, k)| {
            enter(
                h.holder,
                &h.label,
                "wg set \"$1\" peer \"$2\" persistent-keepalive \"$3\"",
                &[&iface, key, &k.to_string()],
            )
        }) {
            r?;
        }
        Ok(())
    }

    /// The path a ping from node host `from` to address `addr` takes by the configs: `direct`,
    /// or `relay <node>` (managed WireGuard, where the peer whose allowed IPs hold it is
    /// another node).
    #[must_use]
    pub fn path(&self, c: &Cluster, from: &MeshHost, addr: IpAddr, to: &str) -> String {
        let Some((_, conf)) = &from.conf else {
            return "direct".into();
        };
        let via = conf
            .peers
            .iter()
            .find(|p| p.allowed.iter().any(|a| a.contains_addr(addr)))
            .and_then(|p| {
                c.nodes
                    .iter()
                    .find(|n| n.wireguard_public_key.as_deref() == Some(p.public_key.as_str()))
            });
        match via {
            Some(n) if n.name != to => format!("relay {}", n.name),
            _ => "direct".into(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail by panicking")]
mod tests {
    use super::*;

    const CONF: &str = "# comment\n[Interface]\nAddress = 10.99.0.2/24, fd00:99::2/64\nListenPort = 51820\nMTU = 1420\nPostUp = wg set %i private-key /etc/wireguard/wg0.key\n\n# cloud-1\n[Peer]\nPublicKey = QnG9zjyLsfGZi3JO9HnBJ7YQuNTQcLAC/6y8DjMLon0=\nAllowedIPs = 10.99.0.1/32, 10.99.0.4/32\nEndpoint = 203.0.113.10:51820\nPersistentKeepalive = 20\n\n[Peer]\nPublicKey = xzzhZY6dbG/Ae3tPbPXr2djMgZ1fmmMm83aum0XSVBQ=\nAllowedIPs = 10.99.0.3/32\n";

    #[test]
    fn a_rendered_conf_gives_addresses_mtu_and_peers_with_their_lines() {
        let c = Conf::parse(CONF, "wg0.conf").unwrap();
        let addrs: Vec<String> = c
            .addresses
            .iter()
            .map(|(a, p, l)| format!("{a}/{p}@{l}"))
            .collect();
        assert_eq!(addrs, ["10.99.0.2/24@3", "fd00:99::2/64@3"]);
        assert_eq!(c.address_line(), 3);
        assert_eq!(c.mtu, Some(1420));
        assert_eq!(c.peers.len(), 2);
        assert_eq!(c.peers[0].line, 9);
        assert_eq!(c.peers[0].allowed.len(), 2);
        assert!(c.peers[0].allowed[1].contains_addr("10.99.0.4".parse().unwrap()));
        assert_eq!(c.peers[0].endpoint.as_deref(), Some("203.0.113.10:51820"));
        assert_eq!(c.peers[0].keepalive, Some(20));
        assert_eq!(c.peers[1].line, 15);
        assert_eq!(c.peers[1].endpoint, None);
        assert_eq!(c.peers[1].keepalive, None);
    }

    #[test]
    fn an_unreadable_value_names_the_file_and_line() {
        let bad = CONF.replace("Address = 10.99.0.2/24", "Address = 10.99.0.2/99");
        let e = Conf::parse(&bad, "nodes/a/etc/wireguard/wg0.conf").unwrap_err();
        assert!(e.starts_with("nodes/a/etc/wireguard/wg0.conf:3:"), "{e}");
    }

    #[test]
    fn the_underlay_port_avoids_every_listened_udp_port() {
        assert_eq!(underlay_port(&[8472, 51820]), 51900);
        assert_eq!(underlay_port(&[51900, 51901]), 51902);
    }
}
