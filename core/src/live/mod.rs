//! `meshspec check-live`: a running cluster (`kubectl get nodes -o json`) against what its
//! spec resolves, reported with MS951–MS958.
//!
//! Checks each node's presence, InternalIP against the resolved node-ip, pod CIDRs against the
//! prediction or pin, flannel's VXLAN endpoint annotation, the labels and taints the spec gives,
//! kubelet versions against `k3s.version` and the skew rule, and the Ready condition.
//!
//! This module runs no kubectl and reads no files: the caller passes the JSON text in. It does
//! not look at pods, routes or the CNI's own state (`cluster/verify.sh` does that on a node).

mod nodes;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

pub use nodes::{LiveNode, parse_nodes};

use crate::cidr::Cidr;
use crate::cluster::{Cluster, Cni, Node};
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::labels::Taint;

/// Compares `kubectl get nodes -o json` output with the cluster the spec resolves.
///
/// ```
/// use meshspec::{Cluster, Code, live::check_live};
/// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
/// let ds = check_live(&c, r#"{"kind": "List", "items": []}"#).unwrap();
/// assert_eq!(ds.codes(), vec![Code::LiveNodeMissing]);
/// ```
///
/// # Errors
/// MS001 when the text is not a node list as kubectl prints it.
pub fn check_live(c: &Cluster, nodes_json: &str) -> Result<Diagnostics, Diagnostics> {
    let live = parse_nodes(nodes_json).map_err(|d| Diagnostics::from_vec(vec![d]))?;
    Ok(compare(c, &live))
}

/// The comparison itself, on nodes already read.
#[must_use]
pub fn compare(c: &Cluster, live: &[LiveNode]) -> Diagnostics {
    let mut out = Vec::new();
    let by_name: BTreeMap<&str, &LiveNode> = live.iter().map(|l| (l.name.as_str(), l)).collect();
    let in_spec: BTreeSet<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
    for n in &c.nodes {
        match by_name.get(n.name.as_str()) {
            Some(l) => node(c, n, l, &mut out),
            None => out.push(Diagnostic::new(
                Code::LiveNodeMissing,
                format!("nodes[{}]", n.index),
                format!("node `{}` of the spec is not in the cluster", n.name),
            ).with_help(format!("install it with the bundle's `nodes/{}/install.sh`; if it is there under another name, its hostname differs from the spec (set `node-name` or rename it in the spec)", n.name))),
        }
    }
    for l in live.iter().filter(|l| !in_spec.contains(l.name.as_str())) {
        // the name is reported by the cluster, so by a node that may be compromised: the
        // copy-paste command quotes it for the shell and ends kubectl's options before it
        let q = crate::render::shell::quote(&l.name);
        out.push(Diagnostic::new(
            Code::LiveNodeUnknown,
            "nodes",
            format!("node `{}` is in the cluster but not in the spec", l.name),
        ).with_help(format!("add `{}` to `nodes` (`meshspec import` can write its entry), or drain and delete it: `kubectl drain --ignore-daemonsets -- {q} && kubectl delete node -- {q}`", l.name)));
    }
    versions(c, &by_name, &mut out);
    Diagnostics::from_vec(out.into_iter().map(|d| c.locate(d)).collect())
}

fn list<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn node(c: &Cluster, n: &Node, l: &LiveNode, out: &mut Vec<Diagnostic>) {
    let np = format!("nodes[{}]", n.index);
    internal_ip(n, l, &np, out);
    pod_cidrs(c, n, l, &np, out);
    flannel_endpoint(c, n, l, &np, out);
    labels_taints(n, l, &np, out);
    if l.ready.as_deref() != Some("True") {
        let status = l.ready.as_deref().unwrap_or("not reported");
        let reason = l
            .ready_reason
            .as_deref()
            .map_or_else(String::new, |r| format!(" ({r})"));
        out.push(Diagnostic::new(
            Code::LiveNotReady,
            &np,
            format!("node `{}` is not Ready: its Ready condition is `{status}`{reason}", n.name),
        ).with_help(format!("on the node: `systemctl status {} --no-pager` and `journalctl -u {0} -n 100`; `kubectl describe node {}` shows the condition's message", if n.is_server() { "k3s" } else { "k3s-agent" }, n.name)));
    }
}

fn internal_ip(n: &Node, l: &LiveNode, np: &str, out: &mut Vec<Diagnostic>) {
    if n.node_ips.is_empty() || l.internal_ips.is_empty() {
        return;
    }
    let missing: Vec<IpAddr> = n
        .node_ips
        .iter()
        .copied()
        .filter(|ip| !l.internal_ips.contains(ip))
        .collect();
    if missing.is_empty() {
        return;
    }
    let lan_hint = if l.internal_ips.iter().any(|ip| n.lan_ips.contains(ip)) {
        " (its LAN address)"
    } else if l.internal_ips.iter().any(|ip| n.mesh_ips.contains(ip)) {
        " (its mesh address)"
    } else {
        ""
    };
    let mut help = format!(
        "set `node-ip: {}` in the node's /etc/rancher/k3s/config.yaml (the rendered one has it) and restart {}",
        list(&n.node_ips),
        if n.is_server() { "k3s" } else { "k3s-agent" }
    );
    if n.is_server() {
        help.push_str("; on a server etcd keeps the old peer address (MS901): change it only with a member replacement");
    }
    out.push(
        Diagnostic::new(
            Code::LiveInternalIp,
            format!("{np}.node_ip"),
            format!(
                "node `{}` registered with InternalIP `{}`{lan_hint} but the spec resolves node-ip `{}`",
                n.name,
                list(&l.internal_ips),
                list(&n.node_ips)
            ),
        )
        .with_help(help),
    );
}

fn pod_cidrs(c: &Cluster, n: &Node, l: &LiveNode, np: &str, out: &mut Vec<Diagnostic>) {
    let k3s_ipam = match &c.cni {
        Cni::Flannel(_) => true,
        Cni::Cilium(cil) => cil.ipam == crate::spec::CiliumIpam::Kubernetes,
    };
    if !k3s_ipam || l.pod_cidrs.is_empty() || n.pod_cidrs.is_empty() {
        return;
    }
    let live: Vec<Option<Cidr>> = l.pod_cidrs.iter().map(|s| s.parse().ok()).collect();
    let expected: Vec<Option<Cidr>> = n.pod_cidrs.iter().copied().map(Some).collect();
    let same = live.len() == expected.len() && expected.iter().all(|e| live.contains(e));
    if same {
        return;
    }
    let mut d = Diagnostic::new(
        Code::LivePodCidr,
        if n.pod_cidr_pinned { format!("{np}.pod_cidr") } else { np.to_owned() },
        format!(
            "node `{}` has podCIDR `{}` but the spec {} `{}`",
            n.name,
            l.pod_cidrs.join(","),
            if n.pod_cidr_pinned { "pins" } else { "predicts" },
            list(&n.pod_cidrs)
        ),
    )
    .with_help(format!(
        "pin what the cluster really uses: `pod_cidr: {}` on `{}` (a node's podCIDR never changes while it is registered); PLAN.md, NO_PROXY and verify.sh then match",
        l.pod_cidrs.join(","),
        n.name
    ));
    if n.pod_cidr_pinned {
        d.severity = Severity::Error;
    }
    out.push(d);
}

fn flannel_endpoint(c: &Cluster, n: &Node, l: &LiveNode, np: &str, out: &mut Vec<Diagnostic>) {
    if c.cni.flannel().is_none() {
        return;
    }
    let Some(public) = l.flannel_public_ip() else {
        return;
    };
    let v4 = |ips: &[IpAddr]| ips.iter().copied().find(IpAddr::is_ipv4);
    let (expected, why) = if n.flannel_iface.is_some() {
        (
            v4(&n.mesh_ips),
            format!("its mesh address: flannel rides `{}`", c.mesh.interface),
        )
    } else {
        (v4(&n.node_ips), "its node-ip".to_owned())
    };
    let Some(expected) = expected else { return };
    if public.parse::<IpAddr>().ok() == Some(expected) {
        return;
    }
    out.push(
        Diagnostic::new(
            Code::LiveFlannelEndpoint,
            format!("{np}.mesh_ip"),
            format!(
                "node `{}` announces VXLAN endpoint `{public}` (flannel.alpha.coreos.com/public-ip) but the spec expects `{expected}`, {why}",
                n.name
            ),
        )
        .with_help(match &n.flannel_iface {
            Some(i) => format!("set `flannel-iface: {i}` in the node's config.yaml and restart k3s after {} is up (the bundle's 10-mesh.conf orders it); other sites cannot reach `{public}`", c.mesh.daemon_unit()),
            None => format!("set `node-ip: {expected}` in the node's config.yaml and restart k3s"),
        }),
    );
}

fn labels_taints(n: &Node, l: &LiveNode, np: &str, out: &mut Vec<Diagnostic>) {
    for (k, v) in &n.labels {
        let have = l.labels.get(k);
        if have == Some(v) {
            continue;
        }
        let found = have.map_or_else(|| "missing".to_owned(), |h| format!("`{k}={h}`"));
        out.push(
            Diagnostic::new(
                Code::LiveLabelsTaints,
                format!("{np}.labels"),
                format!("node `{}` should carry label `{k}={v}` but it is {found}", n.name),
            )
            .with_help(format!(
                "`kubectl label node {} {k}={v} --overwrite` (node-label applies only when a node registers; `cluster/labels-taints.sh` does this for every node)",
                n.name
            )),
        );
    }
    for t in &n.taints {
        let Ok(want) = t.parse::<Taint>() else {
            continue;
        };
        let present = l
            .taints
            .iter()
            .filter_map(|x| x.parse::<Taint>().ok())
            .any(|x| x == want);
        if present {
            continue;
        }
        // kubectl matches taints by key and effect: `--overwrite` replaces the value of a taint
        // with the same key and effect, and otherwise adds one. A taint of the same key with
        // another effect stays unless it is removed first (`key:Effect-`).
        let wrong_effect: Vec<String> = l
            .taints
            .iter()
            .filter_map(|x| x.parse::<Taint>().ok())
            .filter(|x| x.key == want.key && x.effect != want.effect)
            .map(|x| format!("{}:{}-", x.key, x.effect))
            .collect();
        let help = if wrong_effect.is_empty() {
            format!("`kubectl taint node {} {t} --overwrite`", n.name)
        } else {
            format!(
                "first remove the taint with the wrong effect, then add it: `kubectl taint node {0} {1}` then `kubectl taint node {0} {t} --overwrite` (kubectl matches taints by key and effect: `--overwrite` alone would add a second taint and leave the wrong one)",
                n.name,
                wrong_effect.join(" ")
            )
        };
        out.push(
            Diagnostic::new(
                Code::LiveLabelsTaints,
                format!("{np}.taints"),
                format!(
                    "node `{}` should carry taint `{t}` but has {}",
                    n.name,
                    if l.taints.is_empty() {
                        "none".to_owned()
                    } else {
                        format!("`{}`", l.taints.join("`, `"))
                    }
                ),
            )
            .with_help(help),
        );
    }
}

/// `v1.33.5+k3s1` as `(1, 33, 5, 1)`.
fn version(v: &str) -> Option<(u32, u32, u32, u32)> {
    let v = v.trim().strip_prefix('v').unwrap_or(v);
    let (semver, build) = v.split_once('+').unwrap_or((v, ""));
    let semver = semver.split('-').next().unwrap_or(semver);
    let mut parts = semver.split('.').map(|p| p.parse::<u32>().ok());
    let (a, b, c) = (parts.next()??, parts.next()??, parts.next()??);
    let rev = build
        .strip_prefix("k3s")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    Some((a, b, c, rev))
}

fn versions(c: &Cluster, live: &BTreeMap<&str, &LiveNode>, out: &mut Vec<Diagnostic>) {
    let known: Vec<(&Node, &LiveNode, &str)> = c
        .nodes
        .iter()
        .filter_map(|n| {
            let l = *live.get(n.name.as_str())?;
            Some((n, l, l.kubelet_version.as_deref()?))
        })
        .collect();
    if let Some(want) = &c.k3s.version {
        for (n, _, have) in &known {
            if version(have) != version(want) {
                out.push(Diagnostic::new(
                    Code::LiveVersion,
                    "k3s.version",
                    format!("node `{}` runs `{have}` but `k3s.version` is `{want}`", n.name),
                ).with_help(format!("re-run the bundle's `nodes/{}/install.sh` (it pins `{want}`), servers first; or set `k3s.version: {have}` if the cluster is right", n.name)));
            }
        }
    }
    let oldest_server = known
        .iter()
        .filter(|(n, _, _)| n.is_server())
        .filter_map(|(n, _, v)| Some((version(v)?, n.name.as_str(), *v)))
        .min();
    let Some((server_v, server_name, server_text)) = oldest_server else {
        return;
    };
    for (n, _, have) in known.iter().filter(|(n, _, _)| !n.is_server()) {
        if version(have).is_some_and(|v| v > server_v) {
            out.push(Diagnostic::new(
                Code::LiveVersion,
                format!("nodes[{}]", n.index),
                format!("agent `{}` runs `{have}`, newer than server `{server_name}` (`{server_text}`): a kubelet must not be newer than the API server", n.name),
            ).with_help("upgrade the servers first, then the agents (the version-skew policy); pin `k3s.version` so every install.sh installs the same"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_by_semver_then_k3s_revision() {
        assert_eq!(version("v1.33.5+k3s1"), Some((1, 33, 5, 1)));
        assert!(version("v1.34.1+k3s1") > version("v1.33.10+k3s2"));
        assert!(version("v1.33.5+k3s2") > version("v1.33.5+k3s1"));
        assert_eq!(version("garbage"), None);
    }
}
