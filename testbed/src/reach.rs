//! Proof 3, the mesh (MS964): every node pings every other node's mesh address(es) over the
//! WireGuard mesh ([`crate::mesh`]), on bare hosts and after the firewall scripts ran.
//!
//! The pings go in two waves, to the nodes later in the spec, then back: two peers that both
//! start a handshake at the same moment each drop the answer to their own and wait WireGuard's
//! 5 s retry (`REKEY_TIMEOUT`); one initiator per pair keeps first contact quick.

use std::collections::BTreeSet;
use std::net::IpAddr;

use meshspec::ports::Proto;
use meshspec::{Cluster, Code};

use crate::bundle::{BundleDir, Place};
use crate::check::{CheckOptions, wanted};
use crate::findings::Finding;
use crate::{Probe, Testbed};

/// One ping of the matrix.
pub(crate) struct MeshPing {
    /// The source node (index in the testbed's nodes).
    from: usize,
    /// The destination node.
    to: usize,
    probe: Probe,
}

/// Every ping: from each node with mesh addresses to each address of the same family of every
/// other node (the spec's mesh addresses).
pub(crate) fn pings(tb: &Testbed, opts: &CheckOptions) -> Vec<MeshPing> {
    let mut out = Vec::new();
    for (i, a) in tb.nodes.iter().enumerate() {
        if a.mesh.is_empty() {
            continue;
        }
        for (j, b) in tb.nodes.iter().enumerate() {
            if i == j || !wanted(opts, &[&a.name, &b.name]) {
                continue;
            }
            for dst in &b.mesh {
                if !a.mesh.iter().any(|x| x.is_ipv4() == dst.is_ipv4()) {
                    continue;
                }
                out.push(MeshPing {
                    from: i,
                    to: j,
                    probe: Probe {
                        from_ns: a.ns.clone(),
                        src: None,
                        proto: Proto::Icmp,
                        dst: *dst,
                        port: 0,
                    },
                });
            }
        }
    }
    out
}

/// Runs the pings `which` (all when `None`): two waves with the first timeout (see the
/// module's documentation), then the ones without a reply together with the longer timeouts;
/// whether each got a reply (`false` for those not run).
///
/// # Errors
/// A prober could not run.
pub(crate) fn run(
    tb: &Testbed,
    list: &[MeshPing],
    which: Option<&[bool]>,
    opts: &CheckOptions,
) -> Result<Vec<bool>, String> {
    let mut got = vec![false; list.len()];
    let runs = |i: usize| which.is_none_or(|w| w.get(i).copied().unwrap_or(false));
    for forward in [true, false] {
        let idx: Vec<usize> = (0..list.len())
            .filter(|i| runs(*i) && (list[*i].from < list[*i].to) == forward)
            .collect();
        let probes: Vec<Probe> = idx.iter().map(|i| list[*i].probe.clone()).collect();
        for (i, ok) in idx.into_iter().zip(tb.probe(&probes, opts.timeout_s)?) {
            got[i] = ok;
        }
    }
    // a loaded machine can be slower than the first timeout
    for timeout in [opts.retry_timeout_s, 2.0 * opts.retry_timeout_s] {
        let again: Vec<usize> = (0..list.len()).filter(|i| runs(*i) && !got[*i]).collect();
        if again.is_empty() {
            break;
        }
        let probes: Vec<Probe> = again.iter().map(|i| list[*i].probe.clone()).collect();
        for (i, ok) in again.into_iter().zip(tb.probe(&probes, timeout)?) {
            got[i] = ok;
        }
    }
    Ok(got)
}

/// The (source namespace, destination) pairs of the failed pings.
pub(crate) fn failed(list: &[MeshPing], got: &[bool]) -> BTreeSet<(String, IpAddr)> {
    list.iter()
        .zip(got)
        .filter(|(_, ok)| !**ok)
        .map(|(p, _)| (p.probe.from_ns.clone(), p.probe.dst))
        .collect()
}

/// The findings of the failed pings. `bare_failed`: `None` on the bare hosts; after the
/// firewall scripts ran, the pings that failed on the bare hosts (reported then), so that a
/// ping failing only now is the script's doing.
pub(crate) fn findings(
    tb: &Testbed,
    c: &Cluster,
    bd: &BundleDir,
    list: &[MeshPing],
    got: &[bool],
    bare_failed: Option<&BTreeSet<(String, IpAddr)>>,
    found: &mut BTreeSet<Finding>,
) {
    for (p, ok) in list.iter().zip(got) {
        if *ok {
            continue;
        }
        let key = (p.probe.from_ns.clone(), p.probe.dst);
        let a = &tb.nodes[p.from];
        let b = &tb.nodes[p.to];
        let host_a = tb.mesh.hosts.iter().find(|h| h.node == Some(p.from));
        let path = host_a.map_or_else(
            || "direct".to_owned(),
            |h| tb.mesh.path(c, h, p.probe.dst, &b.name),
        );
        let what = format!(
            "{} -> {} {} icmp echo over the mesh ({path})",
            a.name, b.name, p.probe.dst
        );
        let expected = format!("a reply from {}'s mesh address {}", b.name, p.probe.dst);
        if let Some(bare) = bare_failed {
            if bare.contains(&key) {
                continue;
            }
            // passed on the bare host: the firewall script of the node that drops it decides
            found.insert(Finding {
                code: Code::TestbedMeshUnreachable,
                node: b.name.clone(),
                what,
                expected,
                observed: format!(
                    "a reply on the bare host, none after {}'s firewall script ran",
                    b.name
                ),
                place: Place {
                    file: format!("cluster/firewall/{}.sh", b.name),
                    line: None,
                },
            });
            continue;
        }
        let (node, observed, place) = blame(tb, c, bd, p);
        found.insert(Finding {
            code: Code::TestbedMeshUnreachable,
            node,
            what,
            expected,
            observed,
            place,
        });
    }
}

/// Which node's file decides a ping that fails on the bare host, what it says, and where.
fn blame(tb: &Testbed, c: &Cluster, bd: &BundleDir, p: &MeshPing) -> (String, String, Place) {
    let a = &tb.nodes[p.from];
    let b = &tb.nodes[p.to];
    let dst = p.probe.dst;
    let host = |i: usize| tb.mesh.hosts.iter().find(|h| h.node == Some(i));
    let confs = (
        host(p.from).and_then(|h| h.conf.as_ref()),
        host(p.to).and_then(|h| h.conf.as_ref()),
    );
    let (Some((path_a, conf_a)), Some((path_b, conf_b))) = confs else {
        // the provider assigns the addresses: the config's node-ip is what the bundle says
        let (_, line) = bd.node_ips(&b.name);
        return (
            b.name.clone(),
            format!("no reply from {dst} over the mesh interface"),
            Place {
                file: BundleDir::config_path(&b.name),
                line,
            },
        );
    };
    let holds =
        |conf: &crate::mesh::Conf, x: IpAddr| conf.addresses.iter().any(|(y, _, _)| *y == x);

    let own_a = a
        .mesh
        .iter()
        .copied()
        .find(|x| x.is_ipv4() == dst.is_ipv4());
    if !holds(conf_b, dst) {
        return (
            b.name.clone(),
            format!(
                "no reply: {}'s interface does not hold {dst} (its Address is {})",
                b.name,
                addresses(conf_b)
            ),
            Place {
                file: path_b.clone(),
                line: Some(conf_b.address_line()),
            },
        );
    }
    if let Some(own) = own_a
        && !holds(conf_a, own)
    {
        return (
            a.name.clone(),
            format!(
                "no reply: {}'s interface does not hold its own mesh address {own} (its Address is {}), so its peers drop what it sends",
                a.name,
                addresses(conf_a)
            ),
            Place {
                file: path_a.clone(),
                line: Some(conf_a.address_line()),
            },
        );
    }
    let Some(peer) = covers(conf_a, dst) else {
        // the [Peer] of b, whose AllowedIPs should hold it
        let line = c.nodes.get(p.to).and_then(|n| {
            let key = n.wireguard_public_key.as_deref()?;
            conf_a
                .peers
                .iter()
                .find(|x| x.public_key == key)
                .map(|x| x.line)
        });
        return (
            a.name.clone(),
            format!("no reply: no [Peer] of {}'s config allows {dst}", a.name),
            Place {
                file: path_a.clone(),
                line,
            },
        );
    };
    if let Some(own) = own_a
        && covers(conf_b, own).is_none()
    {
        return (
            b.name.clone(),
            format!(
                "no reply: no [Peer] of {}'s config allows {}'s address {own}, so it drops the ping",
                b.name, a.name
            ),
            Place {
                file: path_b.clone(),
                line: None,
            },
        );
    }
    // through a relay (the peer whose AllowedIPs hold the address is another node): a relay
    // that does not forward drops it, and its rendered sysctl file is what turns forwarding on
    if let Some(relay) = c
        .nodes
        .iter()
        .enumerate()
        .find(|(_, n)| n.wireguard_public_key.as_deref() == Some(peer.public_key.as_str()))
        .filter(|(i, _)| *i != p.to)
        && let Some(r) = tb.nodes.get(relay.0)
    {
        let key = if dst.is_ipv4() {
            "net.ipv4.ip_forward"
        } else {
            "net.ipv6.conf.all.forwarding"
        };
        let on = tb
            .exec(&r.ns, &["sysctl", "-n", key])
            .is_ok_and(|v| v.trim() == "1");
        if !on {
            let dir = format!("nodes/{}/etc/sysctl.d", r.name);
            let file = std::fs::read_dir(tb.bundle_dir.join(&dir))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy()))
                .filter(|f| bd.text(f).is_some_and(|t| t.contains("forward")))
                .min();
            let line = file.as_ref().and_then(|f| {
                bd.text(f)?
                    .lines()
                    .position(|l| l.trim_start().starts_with(key))
                    .map(|i| i + 1)
            });
            let observed = match &file {
                Some(f) => format!(
                    "no reply: the relay {} does not forward ({key} is 0 on it after its {f} was applied)",
                    r.name
                ),
                None => format!(
                    "no reply: the relay {} does not forward ({key} is 0 on it: the bundle has no sysctl file that turns it on)",
                    r.name
                ),
            };
            return (
                r.name.clone(),
                observed,
                Place {
                    file: file.unwrap_or(dir),
                    line,
                },
            );
        }
    }
    // where that peer is dialed, and whether this node reaches it there
    let why = (|| {
        let e = peer.endpoint.as_deref()?;
        let me = host(p.from)?;
        let other = tb.mesh.hosts.iter().find(|h| {
            h.node
                .and_then(|i| c.nodes.get(i))
                .and_then(|n| n.wireguard_public_key.as_deref())
                == Some(peer.public_key.as_str())
        })?;
        if !crate::mesh::reachable(c, me, other, e) {
            return Some(format!(
                ": its Endpoint {e} is not reachable from {} (another site's LAN)",
                a.name
            ));
        }
        // dialed behind the peer's NAT router from outside its site: the router lets only
        // answers in, and the address is not routed outside the site anyway
        let site = other.site.filter(|_| other.behind_nat && me.site != other.site)?;
        let router = tb.mesh.routers.iter().find(|r| r.site == site)?;
        Some(format!(
            ": its Endpoint {e} is {}'s LAN address, behind site `{}`'s NAT router ({} on the underlay), which lets no flow from outside the site in",
            other.label,
            c.sites.get(site).map_or("", |s| s.name.as_str()),
            router.outside
        ))
    })()
    .unwrap_or_default();
    (
        a.name.clone(),
        format!(
            "no reply through the [Peer] of {}'s config that allows {dst}{why}",
            a.name
        ),
        Place {
            file: path_a.clone(),
            line: Some(peer.line),
        },
    )
}

fn covers(conf: &crate::mesh::Conf, x: IpAddr) -> Option<&crate::mesh::ConfPeer> {
    conf.peers
        .iter()
        .find(|peer| peer.allowed.iter().any(|r| r.contains_addr(x)))
}

fn addresses(conf: &crate::mesh::Conf) -> String {
    conf.addresses
        .iter()
        .map(|(a, p, _)| format!("{a}/{p}"))
        .collect::<Vec<_>>()
        .join(", ")
}
