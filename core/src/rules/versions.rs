//! MS412 and MS413: the k3s version, pinned or not, against the known-bug table
//! ([`crate::k3s::known_bugs`]).

use crate::cluster::{Cluster, NodeIpMode};
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::k3s::known_bugs::{Condition, KNOWN_BUGS, Version};

fn triggered(c: &Cluster, condition: Condition) -> bool {
    match condition {
        Condition::FlannelIfaceOnMesh => {
            c.cni.flannel().is_some()
                && c.nodes
                    .iter()
                    .any(|n| n.flannel_iface.as_deref() == Some(c.mesh.interface.as_str()))
        }
        // k3s advertises pod routes only for its flannel backend: with `flannel-backend: none`
        // (Cilium) it never runs `tailscale set --advertise-routes` (k3s
        // pkg/agent/config/config.go sets the VPN flannel backend inside `if !NoFlannel`)
        Condition::VpnAuth => {
            c.cni.flannel().is_some()
                && c.nodes
                    .iter()
                    .any(|n| n.node_ip_mode == NodeIpMode::VpnAuth)
        }
    }
}

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let pinned = c.k3s.version.as_deref();
    if pinned.is_none() {
        out.push(
            Diagnostic::new(
                Code::K3sVersionUnpinned,
                "k3s.version",
                "`k3s.version` is not set: each node installs whatever k3s's stable channel holds that day, so nodes installed on different days run different versions",
            )
            .with_help("pin the version the nodes run (`k3s --version` on a server), e.g. `k3s: {version: v1.33.13+k3s1}`; kubelets must never be newer than the API servers (Kubernetes version-skew policy), so upgrade servers first by changing the pin"),
        );
    }
    let version = pinned.and_then(Version::parse);
    for bug in KNOWN_BUGS {
        if !triggered(c, bug.condition) {
            continue;
        }
        let which = match (pinned, version) {
            (Some(text), Some(v)) if bug.affects(v) => format!("k3s `{text}`"),
            (Some(_), _) => continue,
            (None, _) => {
                "an unpinned k3s (the stable channel may hold an affected release)".to_owned()
            }
        };
        out.push(
            Diagnostic::new(
                Code::K3sKnownBug,
                "k3s.version",
                format!("{which} has {}: {}", bug.issue, bug.summary),
            )
            .with_help(format!(
                "first fixed: {}; until then {} (source: {})",
                bug.fixed_list(),
                bug.workaround,
                bug.provenance
            )),
        );
    }
}
