//! The change plan between a running cluster's spec and a new one (rules MS901–MS904).
//!
//! Some edits cannot be applied to a cluster that exists: a server's etcd peer address, the
//! pod or service network. Others restart every node. [`ChangePlan::between`] reports them and
//! gives the rolling order for the nodes whose files change. It compares resolved clusters;
//! it does not look at a live cluster.

use std::fmt::Write as _;

use crate::cluster::{Cluster, Cni};
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::render::k3s::config_yaml;

/// What applying a new spec to a running cluster takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePlan {
    /// MS901–MS904 findings, positioned in the new spec.
    pub diagnostics: Diagnostics,
    /// Nodes whose k3s files change, in the order to restart them: servers first, join order.
    pub restarts: Vec<String>,
    /// Nodes only in the new spec (join after the restarts).
    pub added: Vec<String>,
    /// Nodes only in the old spec (drain and delete them).
    pub removed: Vec<String>,
}

impl ChangePlan {
    /// Compares two clusters.
    ///
    /// ```
    /// use meshspec::{Cluster, Code, change::ChangePlan};
    /// let old = Cluster::from_yaml("version: 1\nname: a\nnodes:\n  - {name: s, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
    /// let new = Cluster::from_yaml("version: 1\nname: a\nnetwork: {cluster_cidr: 10.52.0.0/16}\nnodes:\n  - {name: s, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
    /// assert!(ChangePlan::between(&old, &new).diagnostics.codes().contains(&Code::CidrChange));
    /// ```
    #[must_use]
    pub fn between(old: &Cluster, new: &Cluster) -> ChangePlan {
        let mut out = Vec::new();
        for n in new.servers() {
            let Some(o) = old.node(&n.name) else { continue };
            if o.is_server() && !o.node_ips.is_empty() && o.node_ips != n.node_ips {
                let list = |v: &[std::net::IpAddr]| {
                    v.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let keep = match o.node_ip_mode {
                    crate::cluster::NodeIpMode::Lan => "lan",
                    _ => "mesh",
                };
                out.push(Diagnostic::new(
                    Code::EtcdNodeIpChange,
                    format!("nodes[{}].node_ip", n.index),
                    format!("server `{}` node-ip changes from `{}` to `{}`: etcd keeps the old peer address and the member fails to rejoin", n.name, list(&o.node_ips), list(&n.node_ips)),
                ).with_help(format!("keep `node_ip: {keep}` on `{}`; meshspec advertises the mesh address with `advertise-address`, which is what the seed's master did", n.name)));
            }
        }
        let net_change =
            |what: &str, a: String, b: String, path: &str, out: &mut Vec<Diagnostic>| {
                if a != b {
                    out.push(
                    Diagnostic::new(
                        Code::CidrChange,
                        path,
                        format!(
                            "{what} changes from `{a}` to `{b}`: a running cluster cannot move it"
                        ),
                    )
                    .with_help(
                        "keep the old value, or build a new cluster and migrate workloads to it",
                    ),
                );
                }
            };
        let join = |v: &[crate::cidr::Cidr]| {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        net_change(
            "the pod network",
            join(&old.network.cluster_cidrs),
            join(&new.network.cluster_cidrs),
            "network.cluster_cidr",
            &mut out,
        );
        net_change(
            "the service network",
            join(&old.network.service_cidrs),
            join(&new.network.service_cidrs),
            "network.service_cidr",
            &mut out,
        );
        let masks = |c: &Cluster| {
            c.network
                .node_masks
                .iter()
                .map(|(_, m)| format!("/{m}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        net_change(
            "the node mask",
            masks(old),
            masks(new),
            "network.node_cidr_mask",
            &mut out,
        );
        let cni = |c: &Cluster| match &c.cni {
            Cni::Flannel(f) => format!("flannel {}", f.backend),
            Cni::Cilium(cil) => format!("cilium {}", cil.tunnel),
        };
        if cni(old) != cni(new) {
            out.push(Diagnostic::new(
                Code::CniChange,
                "cni",
                format!("the CNI changes from {} to {}: every node restarts and pod networking drops meanwhile", cni(old), cni(new)),
            ).with_help("plan a maintenance window; restart nodes one at a time in the order below and delete pods stuck on the old network"));
        }
        for n in &new.nodes {
            let Some(o) = old.node(&n.name) else { continue };
            if o.labels == n.labels && o.taints == n.taints {
                continue;
            }
            let mut commands: Vec<String> = Vec::new();
            for (k, v) in n
                .labels
                .iter()
                .filter(|(k, v)| o.labels.get(*k) != Some(*v))
            {
                commands.push(format!("kubectl label node {} --overwrite {k}={v}", n.name));
            }
            for k in o.labels.keys().filter(|k| !n.labels.contains_key(*k)) {
                commands.push(format!("kubectl label node {} {k}-", n.name));
            }
            for t in n.taints.iter().filter(|t| !o.taints.contains(t)) {
                commands.push(format!("kubectl taint node {} --overwrite {t}", n.name));
            }
            for t in o.taints.iter().filter(|t| !n.taints.contains(t)) {
                commands.push(format!("kubectl taint node {} {t}-", n.name));
            }
            out.push(Diagnostic::new(
                Code::TaintRegistrationOnly,
                format!("nodes[{}]", n.index),
                format!("labels or taints of `{}` change: k3s applies them only when a node registers", n.name),
            ).with_help(format!("apply them to the running node:\n{}", commands.join("\n"))));
        }
        let mut restarts = Vec::new();
        for n in new.nodes_in_join_order() {
            if let Some(o) = old.node(&n.name)
                && config_yaml(old, o) != config_yaml(new, n)
            {
                restarts.push(n.name.clone());
            }
        }
        // servers before agents, each in join order
        restarts.sort_by_key(|name| new.node(name).is_none_or(|n| !n.is_server()));
        let added: Vec<String> = new
            .nodes
            .iter()
            .filter(|n| old.node(&n.name).is_none())
            .map(|n| n.name.clone())
            .collect();
        let removed: Vec<String> = old
            .nodes
            .iter()
            .filter(|n| new.node(&n.name).is_none())
            .map(|n| n.name.clone())
            .collect();
        if !restarts.is_empty() {
            let order: Vec<String> = restarts.iter().map(|r| format!("`{r}`")).collect();
            out.push(Diagnostic::new(
                Code::RestartOrder,
                "nodes",
                format!("restart k3s on {} one at a time, in this order, each Ready before the next", order.join(", ")),
            ).with_help("servers first; on each node: install the new files, `systemctl restart k3s` (or `k3s-agent`), then wait for `kubectl get node <name>` to show Ready"));
        }
        let located: Vec<Diagnostic> = out.into_iter().map(|d| new.locate(d)).collect();
        ChangePlan {
            diagnostics: Diagnostics::from_vec(located),
            restarts,
            added,
            removed,
        }
    }

    /// The change plan as Markdown.
    #[must_use]
    pub fn render_markdown(&self) -> String {
        let mut s = String::from("# Change plan\n\n");
        if self.diagnostics.is_empty() && self.added.is_empty() && self.removed.is_empty() {
            s.push_str("Nothing changes on the nodes.\n");
            return s;
        }
        for d in &self.diagnostics {
            let _ = writeln!(s, "- **{}[{}]** {}", d.severity, d.code, d.message);
            if let Some(h) = &d.help {
                let _ = writeln!(s, "  - fix: {}", h.replace('\n', " "));
            }
        }
        if !self.restarts.is_empty() {
            s.push_str("\n## Rolling restart\n\n");
            for (i, n) in self.restarts.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "{}. `{n}`: install its new files, restart k3s, wait for Ready",
                    i + 1
                );
            }
        }
        if !self.added.is_empty() {
            let _ = writeln!(
                s,
                "\n## Nodes to join\n\n{}",
                self.added
                    .iter()
                    .map(|n| format!("- `{n}`"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        if !self.removed.is_empty() {
            let _ = writeln!(s, "\n## Nodes to remove\n\n{}", self.removed.iter().map(|n| format!("- `{n}`: `kubectl drain {n} --ignore-daemonsets`, then `kubectl delete node {n}`")).collect::<Vec<_>>().join("\n"));
        }
        s
    }
}
