//! The k3s unit's drop-in ordering it after the mesh daemon (rule MS411, k3s#367), waiting
//! until the mesh interface holds the node's mesh address, and, where k3s#12436 bites, tying
//! its restarts to the daemon's.
//!
//! `After=`/`Wants=` order and pull in the daemon at start, always. They are not enough:
//! `tailscaled` reports ready once its local API listens, possibly before `tailscale0` has its
//! address (tailscale `ipn/ipnserver`), so an `ExecStartPre=` waits (bounded, with a log line)
//! until the interface holds the node's mesh address; k3s#367 is what starting early costs.
//!
//! `PartOf=` makes a stop or restart of the daemon stop or restart k3s too (systemd.unit(5)).
//! That restarts the API server and etcd on every `tailscaled` restart, Tailscale's automatic
//! updates included, so it is written only where it is needed: flannel bound to the mesh
//! interface (`flannel-iface`) on a k3s version affected by k3s#12436 (flannel loses
//! `flannel.1` when the interface is re-created, fixed in v1.33.13, v1.34.9, v1.35.6, v1.36.2)
//! or on an unpinned one. Not for Cilium, not on fixed versions.

use std::fmt::Write as _;

use crate::cluster::{Cluster, Node, NodeIpMode};
use crate::k3s::known_bugs::{Condition, KNOWN_BUGS, Version};
use crate::render::env::service_name;
use crate::render::systemd::comment;

/// How long the drop-in waits for the mesh address before it gives up (seconds); k3s's unit
/// restarts it (`Restart=always`), so a later attempt waits again.
pub const WAIT_SECONDS: u32 = 120;

/// Whether k3s on this node needs `PartOf=` on the mesh unit: flannel bound to the mesh
/// interface on a k3s version with k3s#12436 (or an unpinned one).
#[must_use]
pub fn needs_part_of(c: &Cluster, n: &Node) -> bool {
    if c.cni.flannel().is_none() || n.flannel_iface.as_deref() != Some(c.mesh.interface.as_str()) {
        return false;
    }
    let version = c.k3s.version.as_deref().map(Version::parse);
    KNOWN_BUGS
        .iter()
        .filter(|b| b.condition == Condition::FlannelIfaceOnMesh)
        .any(|b| match version {
            // unpinned, or a pin meshspec cannot read: the stable channel may be affected
            None | Some(None) => true,
            Some(Some(v)) => b.affects(v),
        })
}

/// The address the drop-in waits for: the node's first mesh address. `None` with vpn-auth,
/// where k3s itself brings the mesh up (`tailscale up`), so waiting before k3s would never end.
fn wait_address(n: &Node) -> Option<std::net::IpAddr> {
    if n.node_ip_mode == NodeIpMode::VpnAuth {
        return None;
    }
    n.mesh_ips.first().copied()
}

/// Whether `s` can stand inside the drop-in's single-quoted `sh -c` script as it is: no quote,
/// no `$` or `%` (systemd expands both), no backslash or space. Interface names are
/// `A-Za-z0-9_.-` (decode refuses others) and addresses are digits, hex, `.` and `:`.
fn inert(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_' | '-'))
}

/// The `ExecStartPre=` line that waits until `iface` holds `addr`, or `None` when either is
/// not inert. `$$` is systemd's literal `$` (systemd.service(5), "Command lines").
fn wait_line(iface: &str, addr: &str, unit: &str) -> Option<String> {
    if !inert(iface) || !inert(addr) || !inert(unit) {
        return None;
    }
    Some(format!(
        "ExecStartPre=/bin/sh -c 'i=0; until ip -o addr show dev {iface} 2>/dev/null | grep -qF \" {addr}/\"; do \
         if [ \"$$i\" -ge {WAIT_SECONDS} ]; then echo \"meshspec: {iface} still has no address {addr} after {WAIT_SECONDS}s; not starting k3s yet (is {unit} up and logged in?)\" >&2; exit 1; fi; \
         if [ \"$$i\" -eq 0 ]; then echo \"meshspec: waiting up to {WAIT_SECONDS}s for {iface} to have {addr} before k3s starts (k3s#367)\"; fi; \
         i=$$((i + 1)); sleep 1; done'\n"
    ))
}

/// Whether k3s on this node depends on the mesh interface being up: flannel runs over it, the
/// node-ip or advertise address is a mesh address, or k3s joins the tailnet itself.
#[must_use]
pub fn uses_mesh(n: &Node) -> bool {
    n.flannel_iface.is_some()
        || n.node_ip_mode != NodeIpMode::Lan
        || n.node_ips.iter().any(|ip| n.mesh_ips.contains(ip))
        || n.advertise_address
            .is_some_and(|ip| n.mesh_ips.contains(&ip))
}

/// The drop-in's path below the node root: `etc/systemd/system/<unit>.service.d/10-mesh.conf`.
#[must_use]
pub fn path(n: &Node) -> String {
    format!(
        "etc/systemd/system/{}.service.d/10-mesh.conf",
        service_name(n)
    )
}

/// `10-mesh.conf`, or `None` when the node does not use the mesh.
///
/// ```
/// use meshspec::Cluster;
/// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
/// let conf = meshspec::render::dropin::mesh_dropin(&c, &c.nodes[0]).unwrap();
/// assert!(conf.contains("After=tailscaled.service network-online.target"));
/// ```
#[must_use]
pub fn mesh_dropin(c: &Cluster, n: &Node) -> Option<String> {
    if !uses_mesh(n) {
        return None;
    }
    let unit = c.mesh.daemon_unit();
    let iface = comment(&c.mesh.interface);
    let wait = wait_address(n).and_then(|a| wait_line(&c.mesh.interface, &a.to_string(), &unit));
    let part_of = needs_part_of(c, n);
    let mut s = format!(
        "# Generated by meshspec (cluster `{}`): start {}.service after {unit} (k3s#367){}.\n",
        comment(&c.name),
        service_name(n),
        if wait.is_some() {
            format!(", once `{iface}` holds this node's mesh address")
        } else {
            String::new()
        }
    );
    if part_of {
        let _ = writeln!(
            s,
            "# It restarts whenever {unit} restarts, which re-creates `{iface}`: flannel is bound to it, and k3s before the k3s#12436 fix (this pin, or an unpinned k3s) loses flannel.1 then."
        );
    }
    let _ = write!(
        s,
        "[Unit]\nAfter={unit} network-online.target\nWants={unit} network-online.target\n"
    );
    if part_of {
        let _ = writeln!(s, "PartOf={unit}");
    }
    if let Some(line) = wait {
        s.push_str("\n[Service]\n");
        s.push_str(&line);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_node_waits_for_tailscaled() {
        let c = Cluster::from_yaml(include_str!(
            "../../../examples/specs/flannel-over-tailscale-gpu-worker.yaml"
        ))
        .unwrap();
        for n in &c.nodes {
            let conf = mesh_dropin(&c, n).unwrap();
            assert!(conf.contains("\nWants=tailscaled.service network-online.target\n"));
            assert!(conf.contains("\nAfter=tailscaled.service network-online.target\n"));
        }
        let agent = c.node("k3s-worker-01").unwrap();
        assert_eq!(
            path(agent),
            "etc/systemd/system/k3s-agent.service.d/10-mesh.conf"
        );
    }

    #[test]
    fn part_of_names_each_mesh_daemon() {
        for (mesh, unit) in [
            (
                "{provider: netbird, interface: wt0, ipv4_range: 100.80.0.0/16}",
                "netbird.service",
            ),
            (
                "{provider: wireguard, interface: wg0, ipv4_range: 10.99.0.0/24}",
                "wg-quick@wg0.service",
            ),
        ] {
            let c = Cluster::from_yaml(&format!("version: 1\nname: lab\nmesh: {mesh}\nnodes:\n  - {{name: a, role: server, mesh_ip: 10.99.0.1}}\n")).unwrap();
            let conf = mesh_dropin(&c, &c.nodes[0]).unwrap();
            assert!(conf.contains(&format!("\nAfter={unit} ")), "{conf}");
        }
    }

    #[test]
    fn wait_line_refuses_anything_systemd_or_sh_would_read() {
        assert!(wait_line("tailscale0", "100.64.0.1", "tailscaled.service").is_some());
        for bad in ["a b", "a'b", "a$b", "a%b", "a\\b", ""] {
            assert!(wait_line(bad, "100.64.0.1", "x.service").is_none(), "{bad}");
            assert!(wait_line("wg0", bad, "x.service").is_none(), "{bad}");
        }
    }
}
