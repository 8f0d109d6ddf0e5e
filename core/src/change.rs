//! The change plan between a running cluster's spec and a new one (rules MS901–MS904, MS910).
//!
//! Some edits cannot be applied to a cluster that exists: a server's etcd peer address, the
//! pod or service network. Others restart every node. [`ChangePlan::between`] reports them,
//! renders both bundles and compares them file by file, and gives for each node the files that
//! change, what each needs ([`Action`]) and the order to apply them in. It compares resolved
//! clusters; it does not look at a live cluster.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::cluster::{Cluster, Cni, Node};
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::render::bundle::{Bundle, File, RenderOptions};
use crate::render::env::service_name;

/// What applying a new spec to a running cluster takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePlan {
    /// MS901–MS904 and MS910 findings, positioned in the new spec.
    pub diagnostics: Diagnostics,
    /// Nodes whose k3s files change, in the order to restart them: servers first, join order.
    pub restarts: Vec<String>,
    /// Nodes only in the new spec (join after the restarts).
    pub added: Vec<String>,
    /// Nodes only in the old spec (drain and delete them).
    pub removed: Vec<String>,
    /// Per node, the files that change and what applying them takes, in the order to apply
    /// them: servers in join order, then agents, then nodes to join, then nodes to remove.
    pub nodes: Vec<NodeChanges>,
    /// Files of the bundle that belong to no single node (`cluster/...`, `PLAN.md`) and change.
    pub cluster_files: Vec<FileChange>,
    /// What to do before any node changes (an etcd snapshot before an upgrade).
    pub before: Vec<String>,
    /// A Cilium upgrade's steps (pre-flight, `helm upgrade`, checks), once the nodes are done.
    pub cilium_upgrade: Vec<String>,
}

/// How a file differs between the old and the new bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Only in the new bundle.
    Added,
    /// Only in the old bundle: delete it.
    Removed,
    /// In both, with other contents.
    Modified,
    /// In both, same contents, other permission bits.
    Mode,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Modified => "modified",
            Change::Mode => "mode",
        }
    }
}

/// What a changed file needs so that the change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The mesh policy: merge it into the tailnet's policy before any node uses its tags.
    MergePolicy,
    /// `install.sh` itself changed (an install step): run it again on the node.
    RerunInstall,
    /// Install the file, `systemctl daemon-reload`, restart k3s (one node at a time).
    RestartK3s,
    /// Install the file, `systemctl daemon-reload`, restart tailscaled.
    RestartTailscaled,
    /// Install the WireGuard config and reload `wg-quick@<iface>` (`wg syncconf`), before k3s.
    ReloadWireguard,
    /// Install the file and replace meshspec's block in `/etc/environment` (`install.sh` does both).
    Environment,
    /// Run the node's firewall script again; no restart.
    Firewall,
    /// Run `cluster/labels-taints.sh` (k3s applies labels and taints only at registration).
    LabelsTaints,
    /// `helm upgrade` Cilium with the new values.
    HelmUpgrade,
    /// The node joins: run its `install.sh`.
    Join,
    /// The node leaves: drain and delete it.
    Remove,
    /// Run the new `cluster/verify.sh` after the rollout.
    Verify,
    /// system-upgrade-controller plans (`cluster/upgrade/`): the automated alternative to
    /// re-running `install.sh` node by node.
    UpgradePlans,
    /// Documentation only (`PLAN.md`): nothing to apply.
    Read,
}

impl Action {
    /// A short description, as the plan prints it.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Action::MergePolicy => "merge into the mesh policy first",
            Action::RerunInstall => "re-run install.sh",
            Action::RestartK3s => "daemon-reload, restart k3s",
            Action::RestartTailscaled => "daemon-reload, restart tailscaled",
            Action::ReloadWireguard => "reload wg-quick (wg syncconf), before k3s",
            Action::Environment => "update /etc/environment (install.sh)",
            Action::Firewall => "re-run the firewall script (no restart)",
            Action::LabelsTaints => "run labels-taints.sh",
            Action::HelmUpgrade => "helm upgrade cilium",
            Action::Join => "join: run install.sh",
            Action::Remove => "drain and delete the node",
            Action::Verify => "run verify.sh after the rollout",
            Action::UpgradePlans => {
                "automated alternative to the node steps: kubectl apply -f cluster/upgrade/"
            }
            Action::Read => "documentation only",
        }
    }
}

/// One file that differs between the bundles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Its path in the bundle (`nodes/<node>/...`, `cluster/...`, `PLAN.md`).
    pub path: String,
    /// How it differs.
    pub change: Change,
    /// What it needs.
    pub action: Action,
    /// Its permission bits in the new bundle (the old one's when removed); JSON: `"0644"`.
    #[serde(serialize_with = "octal")]
    pub mode: u32,
}

fn octal<S: serde::Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{mode:04o}"))
}

/// One node's part of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeChanges {
    /// The node's name.
    pub node: String,
    /// `server` or `agent` (in the new spec; the old one for a removed node).
    pub role: &'static str,
    /// The node's files that change, including its firewall script.
    pub files: Vec<FileChange>,
    /// What to do on the node, in order.
    pub steps: Vec<String>,
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
        let before = crate::upgrade::check(old, new, &mut out);
        let cilium_steps = crate::upgrade::cilium(old, new, &mut out);
        let old_bundle = bundle_of(old);
        let new_bundle = bundle_of(new);
        let (nodes, cluster_files) = compare(old, new, &old_bundle, &new_bundle);
        let restarts: Vec<String> = nodes
            .iter()
            .filter(|nc| new.node(&nc.node).is_some() && old.node(&nc.node).is_some())
            .filter(|nc| {
                nc.files
                    .iter()
                    .any(|f| matches!(f.action, Action::RestartK3s | Action::RerunInstall))
            })
            .map(|nc| nc.node.clone())
            .collect();
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
            ).with_help("servers first; on each node: install the new files, `systemctl daemon-reload`, `systemctl restart k3s` (or `k3s-agent`), then wait for `kubectl get node <name>` to show Ready"));
        }
        for nc in &nodes {
            let path = new
                .nodes
                .iter()
                .find(|n| n.name == nc.node)
                .map_or_else(|| "nodes".to_owned(), |n| format!("nodes[{}]", n.index));
            let list = file_list(&nc.files);
            out.push(
                Diagnostic::new(
                    Code::NodeFilesChange,
                    path,
                    format!(
                        "`{}`: {} file{} change{}: {}",
                        nc.node,
                        nc.files.len(),
                        if nc.files.len() == 1 { "" } else { "s" },
                        if nc.files.len() == 1 { "s" } else { "" },
                        list
                    ),
                )
                .with_help(
                    nc.steps
                        .iter()
                        .enumerate()
                        .map(|(i, st)| format!("{}. {st}", i + 1))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            );
        }
        if !cluster_files.is_empty() {
            let list = file_list(&cluster_files);
            out.push(Diagnostic::new(
                Code::NodeFilesChange,
                "",
                format!("cluster files change: {list}"),
            ));
        }
        let located: Vec<Diagnostic> = out.into_iter().map(|d| new.locate(d)).collect();
        ChangePlan {
            diagnostics: Diagnostics::from_vec(located),
            restarts,
            added,
            removed,
            nodes,
            cluster_files,
            before,
            cilium_upgrade: cilium_steps,
        }
    }

    /// The changes as data: `{before, cilium_upgrade, nodes, cluster, restarts, added,
    /// removed}` (what `plan --from --format json` prints under `changes`, and what the
    /// bindings return).
    #[must_use]
    pub fn changes_json(&self) -> serde_json::Value {
        serde_json::json!({
            "before": self.before,
            "cilium_upgrade": self.cilium_upgrade,
            "nodes": serde_json::to_value(&self.nodes).unwrap_or_default(),
            "cluster": serde_json::to_value(&self.cluster_files).unwrap_or_default(),
            "restarts": self.restarts,
            "added": self.added,
            "removed": self.removed,
        })
    }

    /// Whether applying the plan changes nothing: no finding, no file differs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.nodes.is_empty()
            && self.cluster_files.is_empty()
            && self.before.is_empty()
            && self.cilium_upgrade.is_empty()
    }

    /// The change plan as Markdown.
    #[must_use]
    pub fn render_markdown(&self) -> String {
        let mut s = String::from("# Change plan\n\n");
        if self.is_empty() {
            s.push_str("Nothing changes on the nodes.\n");
            return s;
        }
        // MS910 is the sections below; the list holds the other findings
        for d in self
            .diagnostics
            .iter()
            .filter(|d| d.code != Code::NodeFilesChange)
        {
            let _ = writeln!(s, "- **{}[{}]** {}", d.severity, d.code, d.message);
            if let Some(h) = &d.help {
                let mut lines = h.lines();
                let _ = writeln!(s, "  - fix: {}", lines.next().unwrap_or_default());
                for line in lines {
                    let _ = writeln!(s, "    - {line}");
                }
            }
        }
        if self.diagnostics.has_errors() {
            s.push_str("\n**Do not apply this change: fix the errors above first.** The steps below are what it would take.\n");
        }
        if self.nodes.is_empty() && self.cluster_files.iter().all(|f| f.action == Action::Read) {
            s.push_str("\nNothing changes on the nodes.\n");
        }
        let before: Vec<&FileChange> = self
            .cluster_files
            .iter()
            .filter(|f| f.action == Action::MergePolicy)
            .collect();
        if !before.is_empty() || !self.before.is_empty() {
            section(&mut s, "Before the nodes");
            for step in &self.before {
                let _ = writeln!(s, "- {step}");
            }
            for f in before {
                let _ = writeln!(
                    s,
                    "- merge `{}` into the mesh policy (tags and grants must exist before the nodes use them)",
                    f.path
                );
            }
        }
        if !self.nodes.is_empty() {
            section(&mut s, "Node by node");
            s.push_str("One node at a time, in this order: servers in join order, then agents, then nodes that join, then nodes that leave. Where k3s restarts, the node must be Ready before the next.\n");
            for (i, nc) in self.nodes.iter().enumerate() {
                let _ = writeln!(s, "\n### {}. `{}` ({})\n", i + 1, nc.node, nc.role);
                file_table(&mut s, &nc.files);
                s.push('\n');
                for (k, step) in nc.steps.iter().enumerate() {
                    let _ = writeln!(s, "{}. {step}", k + 1);
                }
            }
        }
        let after = after_steps(&self.cluster_files, &self.cilium_upgrade);
        if !after.is_empty() {
            section(&mut s, "After the nodes");
            for (k, step) in after.iter().enumerate() {
                let _ = writeln!(s, "{}. {step}", k + 1);
            }
        }
        if !self.cluster_files.is_empty() {
            section(&mut s, "Cluster files");
            file_table(&mut s, &self.cluster_files);
        }
        s
    }
}

/// The files as MS910 lists them: `` `path` (change: what it needs) ``, comma-separated.
fn file_list(files: &[FileChange]) -> String {
    let mut out = String::new();
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(
            out,
            "`{}` ({}: {})",
            f.path,
            f.change.as_str(),
            f.action.describe()
        );
    }
    out
}

/// The files as a Markdown table: path, change, what it needs.
fn file_table(s: &mut String, files: &[FileChange]) {
    s.push_str("| file | change | needs |\n|---|---|---|\n");
    for f in files {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} |",
            f.path,
            f.change.as_str(),
            f.action.describe()
        );
    }
}

/// Starts a `##` section, one blank line after what came before.
fn section(s: &mut String, title: &str) {
    if !s.ends_with("\n\n") {
        s.push('\n');
    }
    let _ = write!(s, "## {title}\n\n");
}

/// The bundle a cluster renders (without its rules' verdict when it has errors: the plan
/// still compares the files an operator would have installed).
fn bundle_of(c: &Cluster) -> Bundle {
    c.render(&RenderOptions::default())
        .unwrap_or_else(|_| c.bundle_for_comparison())
}

/// Every path whose contents or mode differ, with how.
fn differing<'a>(old: &'a Bundle, new: &'a Bundle) -> Vec<(&'a str, Change, u32)> {
    let mut out = Vec::new();
    let mut paths: Vec<&str> = old.files.keys().map(String::as_str).collect();
    paths.extend(new.files.keys().map(String::as_str));
    paths.sort_unstable();
    paths.dedup();
    for p in paths {
        let pair: (Option<&File>, Option<&File>) = (old.files.get(p), new.files.get(p));
        match pair {
            (None, Some(f)) => out.push((p, Change::Added, f.mode)),
            (Some(f), None) => out.push((p, Change::Removed, f.mode)),
            (Some(a), Some(b)) if a.contents != b.contents => {
                out.push((p, Change::Modified, b.mode));
            }
            (Some(a), Some(b)) if a.mode != b.mode => out.push((p, Change::Mode, b.mode)),
            _ => {}
        }
    }
    out
}

/// The node a bundle path belongs to (its own files and its firewall script), if any.
fn owner(path: &str) -> Option<&str> {
    if let Some(rest) = path.strip_prefix("nodes/") {
        return rest.split_once('/').map(|(n, _)| n);
    }
    path.strip_prefix("cluster/firewall/")
        .and_then(|f| f.strip_suffix(".sh"))
        .filter(|n| !n.contains('/'))
}

/// What a changed file of a node present in both specs needs.
fn node_action(path: &str, node: &str) -> Action {
    if path.starts_with("cluster/firewall/") {
        return Action::Firewall;
    }
    let rel = path
        .strip_prefix("nodes/")
        .and_then(|r| r.strip_prefix(node))
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(path);
    if rel == "install.sh" {
        Action::RerunInstall
    } else if rel == "etc/rancher/k3s/config.yaml"
        || rel.starts_with("etc/rancher/k3s/")
        || rel.starts_with("etc/systemd/system/k3s.service")
        || rel.starts_with("etc/systemd/system/k3s-agent.service")
    {
        Action::RestartK3s
    } else if rel.starts_with("etc/systemd/system/tailscaled.service") {
        Action::RestartTailscaled
    } else if rel.starts_with("etc/wireguard/") && rel.ends_with(".conf") {
        Action::ReloadWireguard
    } else if rel == crate::render::install::ENVIRONMENT_D {
        Action::Environment
    } else {
        // any other file is put in place by install.sh
        Action::RerunInstall
    }
}

/// What a changed cluster-wide file needs.
fn cluster_action(path: &str, old: &Cluster, new: &Cluster) -> Action {
    let policy = [crate::render::acl::path(old), crate::render::acl::path(new)];
    if policy.contains(&Some(path)) {
        Action::MergePolicy
    } else if path == "cluster/labels-taints.sh" {
        Action::LabelsTaints
    } else if path.starts_with("cluster/cilium") {
        Action::HelmUpgrade
    } else if path == "cluster/verify.sh" {
        Action::Verify
    } else if path.starts_with("cluster/upgrade/") {
        Action::UpgradePlans
    } else {
        Action::Read
    }
}

fn role(n: &Node) -> &'static str {
    if n.is_server() { "server" } else { "agent" }
}

/// Per node (in apply order) and cluster-wide, the files that differ and what they need.
fn compare(
    old: &Cluster,
    new: &Cluster,
    old_bundle: &Bundle,
    new_bundle: &Bundle,
) -> (Vec<NodeChanges>, Vec<FileChange>) {
    // the k3s release the nodes move to, when it changes
    let upgrade = new
        .k3s
        .version
        .as_deref()
        .filter(|v| old.k3s.version.as_deref() != Some(*v))
        .map(|v| (v, new.nodes.len() > 1));
    let mut per_node: BTreeMap<&str, Vec<FileChange>> = BTreeMap::new();
    let mut cluster_files = Vec::new();
    for (path, change, mode) in differing(old_bundle, new_bundle) {
        let node = owner(path).filter(|n| old.node(n).is_some() || new.node(n).is_some());
        match node {
            Some(name) => {
                let action = match (old.node(name), new.node(name)) {
                    (None, _) => Action::Join,
                    (_, None) => Action::Remove,
                    _ => node_action(path, name),
                };
                per_node.entry(name).or_default().push(FileChange {
                    path: path.to_owned(),
                    change,
                    action,
                    mode,
                });
            }
            // every node's firewall script reads the peer list: each node that stays re-runs it
            // (joining nodes run theirs when they join; with none staying it is listed once)
            None if path == crate::render::firewall::PEERS_PATH => {
                let staying: Vec<&Node> = new
                    .nodes
                    .iter()
                    .filter(|n| old.node(&n.name).is_some())
                    .collect();
                let file = FileChange {
                    path: path.to_owned(),
                    change,
                    action: Action::Firewall,
                    mode,
                };
                if staying.is_empty() {
                    cluster_files.push(file);
                } else {
                    for n in staying {
                        per_node
                            .entry(n.name.as_str())
                            .or_default()
                            .push(file.clone());
                    }
                }
            }
            None => cluster_files.push(FileChange {
                path: path.to_owned(),
                change,
                action: cluster_action(path, old, new),
                mode,
            }),
        }
    }
    // servers in join order, then agents; then the nodes that join; then those that leave
    let mut order: Vec<&Node> = Vec::new();
    let existing = |n: &&Node| old.node(&n.name).is_some();
    order.extend(
        new.nodes_in_join_order()
            .filter(|n| n.is_server())
            .filter(existing),
    );
    order.extend(
        new.nodes_in_join_order()
            .filter(|n| !n.is_server())
            .filter(existing),
    );
    order.extend(
        new.nodes_in_join_order()
            .filter(|n| old.node(&n.name).is_none()),
    );
    order.extend(
        old.nodes_in_join_order()
            .filter(|n| new.node(&n.name).is_none()),
    );
    let mut nodes = Vec::new();
    for n in order {
        let Some(files) = per_node.remove(n.name.as_str()) else {
            continue;
        };
        let steps = node_steps(
            n,
            &files,
            old.node(&n.name).is_none(),
            new.node(&n.name).is_none(),
            upgrade,
        );
        nodes.push(NodeChanges {
            node: n.name.clone(),
            role: role(n),
            files,
            steps,
        });
    }
    (nodes, cluster_files)
}

/// What to do on one node, in order.
fn node_steps(
    n: &Node,
    files: &[FileChange],
    joins: bool,
    leaves: bool,
    upgrade: Option<(&str, bool)>,
) -> Vec<String> {
    let name = &n.name;
    let unit = service_name(n);
    if joins {
        return vec![
            format!("copy `nodes/{name}/` to the node"),
            format!("run `sudo sh cluster/firewall/{name}.sh` on it"),
            format!(
                "run `sudo sh install.sh` from the copied directory: the node joins; wait until `kubectl get node {name}` shows Ready"
            ),
        ];
    }
    if leaves {
        let uninstall = if n.is_server() {
            "k3s-uninstall.sh"
        } else {
            "k3s-agent-uninstall.sh"
        };
        return vec![
            format!("`kubectl drain {name} --ignore-daemonsets --delete-emptydir-data`"),
            format!("`kubectl delete node {name}`"),
            format!("on the node: `sudo /usr/local/bin/{uninstall}`"),
        ];
    }
    let has = |a: Action| files.iter().any(|f| f.action == a);
    let mut steps = Vec::new();
    if has(Action::Firewall) {
        steps.push(format!("run `sudo sh cluster/firewall/{name}.sh` on the node (no restart; the ports are right before k3s restarts)"));
    }
    let prefix = format!("nodes/{name}/");
    for f in files
        .iter()
        .filter(|f| f.change == Change::Removed && f.action != Action::Firewall)
    {
        if let Some(rel) = f.path.strip_prefix(&prefix) {
            steps.push(format!("delete `/{rel}` on the node"));
        }
    }
    let installed: Vec<&FileChange> = files
        .iter()
        .filter(|f| f.change != Change::Removed && f.path.starts_with(&prefix))
        .collect();
    let rerun = has(Action::RerunInstall);
    let restart = has(Action::RestartK3s);
    // an upgrade moves the node's pods away first (not on a one-node cluster: nowhere to go)
    let drain = upgrade.filter(|(_, others)| *others && rerun);
    if drain.is_some() {
        let gpu = if n.gpu {
            " (its GPU workloads stop until it is back)"
        } else {
            ""
        };
        steps.push(format!(
            "`kubectl drain {name} --ignore-daemonsets --delete-emptydir-data`{gpu}"
        ));
    }
    if rerun {
        steps.push(format!("copy `nodes/{name}/` to the node and run `sudo sh install.sh` again: it installs every file, runs the k3s installer, reloads systemd and restarts `{unit}`"));
    } else {
        for f in installed
            .iter()
            .filter(|f| f.action != Action::RerunInstall)
        {
            if let Some(rel) = f.path.strip_prefix(&prefix) {
                steps.push(format!(
                    "`sudo install -D -m {:04o} {} /{rel}`",
                    f.mode, f.path
                ));
            }
        }
        if has(Action::Environment) {
            steps.push(format!("replace meshspec's block in `/etc/environment` with the lines of `/{}` (new login sessions see it)", crate::render::install::ENVIRONMENT_D));
        }
    }
    if has(Action::RestartTailscaled) {
        steps.push("`sudo systemctl daemon-reload && sudo systemctl restart tailscaled` from a console that does not run over the mesh (the mesh drops for a moment on this node)".to_owned());
    }
    if !rerun {
        // install.sh reloads the interface itself; without it, the config alone changed
        for f in files
            .iter()
            .filter(|f| f.action == Action::ReloadWireguard && f.change != Change::Removed)
        {
            let iface = f
                .path
                .rsplit('/')
                .next()
                .and_then(|c| c.strip_suffix(".conf"))
                .unwrap_or("wg0");
            steps.push(format!("`sudo systemctl reload wg-quick@{iface}.service`: `wg syncconf` with `wg-quick strip`, so the peers change without taking `{iface}` down; if its `[Interface]` lines changed (Address, ListenPort, MTU), `sudo systemctl restart wg-quick@{iface}.service` instead, from a console that does not run over the mesh"));
        }
    }
    if restart && !rerun {
        steps.push(format!(
            "`sudo systemctl daemon-reload && sudo systemctl restart {unit}`"
        ));
    }
    if restart || rerun {
        steps.push(format!("wait for `kubectl wait --for=condition=Ready node/{name} --timeout=5m` before the next node"));
    }
    if let Some((version, _)) = upgrade.filter(|_| rerun) {
        steps.push(format!(
            "check `kubectl get node {name} -o jsonpath='{{.status.nodeInfo.kubeletVersion}}'` shows `{version}`"
        ));
    }
    if drain.is_some() {
        steps.push(format!("`kubectl uncordon {name}`"));
    }
    steps
}

/// What to do once every node is done, in order.
fn after_steps(cluster_files: &[FileChange], cilium_upgrade: &[String]) -> Vec<String> {
    let has = |a: Action| cluster_files.iter().any(|f| f.action == a);
    let mut steps = Vec::new();
    if has(Action::LabelsTaints) {
        steps.push("run `sh cluster/labels-taints.sh` (k3s applies labels and taints only when a node registers)".to_owned());
    }
    if !cilium_upgrade.is_empty() {
        steps.extend(cilium_upgrade.iter().cloned());
    } else if has(Action::HelmUpgrade) {
        steps.push("run `sh cluster/cilium-install.sh`: `helm upgrade --install` with `cluster/cilium-values.yaml`; then `cilium status --wait`".to_owned());
    }
    if (!steps.is_empty() || has(Action::Verify)) && cilium_upgrade.is_empty() {
        steps.push("run `sh cluster/verify.sh`".to_owned());
    }
    steps
}
