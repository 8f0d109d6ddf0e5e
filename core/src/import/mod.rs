//! `meshspec import`: a running cluster's hand-written k3s configs (and, when given, its live
//! nodes and Cilium values) turned into a spec whose render reproduces them.
//!
//! Roles, sites, LAN and mesh addresses, networks, the CNI, k3s settings, labels, taints and
//! pod CIDR pins are inferred; keys no spec field covers go to `server_extra`/`agent_extra`
//! when every node of the role shares them. Whatever cannot be known becomes a [`Todo`],
//! written into the spec as a `# TODO` comment, never guessed silently. [`Imported::changes`]
//! says what rendering the spec now would change on each node, and the change plan gives the
//! restart order.
//!
//! Secrets (`token`, `agent-token`, `vpn-auth`) are never copied into the spec. This module
//! reads no files; it does not decide which configs belong together (the caller names them).

mod emit;
mod infer;
mod wg;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::change::ChangePlan;
use crate::cluster::Cluster;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::lint::merge::{ConfigFile, Merged, items, merge};
use crate::lint::{Finding, LintReport};
use crate::live::{LiveNode, parse_nodes};
use crate::render::k3s::config_entries;
use crate::spec::{NodeIpChoice, Role, Spec};

use infer::Source;

/// A node's `wg-quick` config, parsed (secrets left out).
struct WgNode {
    /// The node.
    pub node: String,
    /// The file's name as given.
    pub file: String,
    /// What it shows.
    pub conf: wg::WgConf,
}

/// Takes the `wg-quick` configs (recognised by content: an `[Interface]` section) out of the
/// nodes' files; a node given only with one joins the node of that name.
fn split_wireguard(
    input: &ImportInput,
    findings: &mut Vec<Finding>,
    todos: &mut Vec<Todo>,
) -> (ImportInput, Vec<WgNode>) {
    let mut out = ImportInput {
        nodes: Vec::new(),
        ..input.clone()
    };
    let mut wgs = Vec::new();
    for n in &input.nodes {
        let (wgf, k3s): (Vec<&ConfigFile>, Vec<&ConfigFile>) =
            n.files.iter().partition(|f| wg::is_wg_quick(&f.text));
        for f in wgf {
            match wg::parse(&f.text) {
                Ok(conf) => wgs.push(WgNode {
                    node: n.name.clone(),
                    file: f.name.clone(),
                    conf,
                }),
                Err((line, why)) => findings.push(Finding {
                    file: f.name.clone(),
                    diagnostic: Diagnostic::new(
                        Code::YamlSyntax,
                        format!("line {line}"),
                        format!(
                            "{}:{line}: not a wg-quick config: {why}",
                            crate::render::line::one_line(&f.name)
                        ),
                    )
                    .with_help("a WireGuard config given as NAME=PATH is read as wg-quick writes it: `[Interface]` and `[Peer]` sections of `Key = Value` lines"),
                }),
            }
        }
        if !k3s.is_empty() || n.files.is_empty() {
            out.nodes.push(ImportNode {
                files: k3s.into_iter().cloned().collect(),
                ..n.clone()
            });
        }
    }
    let names: std::collections::BTreeSet<&str> =
        out.nodes.iter().map(|n| n.name.as_str()).collect();
    for w in &wgs {
        if !names.contains(w.node.as_str()) {
            todos.push(Todo::new(
                "nodes",
                format!(
                    "`{}` is given a WireGuard config ({}) but no k3s config: add `{}=PATH` with its config.yaml to import it",
                    crate::render::line::one_line(&w.node),
                    crate::render::line::one_line(&w.file),
                    crate::render::line::one_line(&w.node)
                ),
            ));
        }
    }
    (out, wgs)
}

/// One node to import: its name, its config files in k3s's order, and a forced role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportNode {
    /// The node name (as `kubectl get nodes` shows it).
    pub name: String,
    /// `NAME=server:PATH` / `NAME=agent:PATH`; inferred when `None`.
    pub role: Option<Role>,
    /// `config.yaml`, then its drop-ins by name.
    pub files: Vec<ConfigFile>,
}

/// Everything `import` reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportInput {
    /// The cluster's name in the spec (default `cluster`, with a TODO).
    pub name: Option<String>,
    /// The nodes.
    pub nodes: Vec<ImportNode>,
    /// `kubectl get nodes -o json` output.
    pub nodes_json: Option<String>,
    /// The Cilium Helm values the cluster was installed with (YAML).
    pub cilium_values: Option<String>,
}

/// Something the inputs do not show, at a spec path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Todo {
    /// The spec path it concerns, e.g. `nodes[1].mesh_ip`.
    pub path: String,
    /// Why, and what to do.
    pub reason: String,
}

impl Todo {
    /// A TODO at `path`.
    #[must_use]
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// How one node's config would differ if the imported spec were rendered now.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NodeChange {
    /// The node.
    pub node: String,
    /// Keys the render adds (e.g. `token-file`, `server`, `node-label`).
    pub added: Vec<String>,
    /// Keys the render writes with another value.
    pub changed: Vec<String>,
    /// Input keys the render drops (secrets, or keys no spec field or shared extra can hold).
    pub dropped: Vec<String>,
}

impl NodeChange {
    /// Whether the node's config.yaml stays as it is.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.dropped.is_empty()
    }
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The spec.
    pub spec: Spec,
    /// The spec as YAML with a `# TODO` comment for each [`Todo`].
    pub yaml: String,
    /// What the inputs do not show.
    pub todos: Vec<Todo>,
    /// The imported spec's own diagnostics (`validate`), positioned in [`Imported::yaml`];
    /// with a TODO on a required field (a missing `mesh_ip`) they hold the error.
    pub diagnostics: Diagnostics,
    /// Per node, what rendering the spec now would change in its config.yaml.
    pub changes: Vec<NodeChange>,
    /// The restart order for the nodes whose config changes (MS904), as the change plan
    /// gives it.
    pub plan: ChangePlan,
}

/// Keys never copied into a spec: they hold secrets.
const SECRET_KEYS: &[&str] = &["token", "agent-token", "vpn-auth", "etcd-s3-secret-key"];

fn is_secret(key: &str, v: &Value) -> bool {
    SECRET_KEYS.contains(&key)
        || items(key, v)
            .iter()
            .any(|s| crate::secrets::looks_secret(s))
}

/// A value as a comparable list: items as k3s reads them, sorted.
fn normal(key: &str, v: &Value) -> Vec<String> {
    let mut l = items(key, v);
    l.sort();
    l
}

/// Input keys the rendered entries lack or hold with another value: `(key, reason)`.
///
/// This is the round trip's measure: an import is faithful when nothing is returned.
#[must_use]
pub fn missing_keys(input: &Merged, rendered: &[crate::render::k3s::ConfigEntry]) -> Vec<String> {
    input
        .entries
        .iter()
        .filter(|e| {
            let canon = crate::k3s::flags::table()
                .get(&e.key)
                .map_or(e.key.as_str(), |f| f.name.as_str());
            rendered
                .iter()
                .find(|r| r.key == canon)
                .is_none_or(|r| normal(canon, &r.value) != normal(canon, &e.value))
        })
        .map(|e| e.key.clone())
        .collect()
}

/// Whether every string in a config value (and its key) is printable text on one line: the
/// grammar of the spec fields (`printable`) it could be copied into.
fn one_line_value(key: &str, v: &Value) -> bool {
    let ok = |s: &str| crate::spec::grammar::printable(s, false).is_ok();
    fn walk(v: &Value, ok: &dyn Fn(&str) -> bool) -> bool {
        match v {
            Value::String(s) => ok(s),
            Value::Array(a) => a.iter().all(|x| walk(x, ok)),
            Value::Object(m) => m.iter().all(|(k, x)| ok(k) && walk(x, ok)),
            _ => true,
        }
    }
    ok(key) && walk(v, &ok)
}

fn sources<'a>(
    input: &ImportInput,
    live: &'a [LiveNode],
    findings: &mut Vec<Finding>,
    todos: &mut Vec<Todo>,
) -> Vec<Source<'a>> {
    let mut out = Vec::new();
    let live: BTreeMap<&str, &LiveNode> = live.iter().map(|l| (l.name.as_str(), l)).collect();
    for n in &input.nodes {
        let (mut merged, problems) = merge(&n.files);
        for (file, d) in problems {
            findings.push(Finding::new(&n.files, file, d));
        }
        // a value holding a control character, a line break or a bidirectional override
        // would be refused in a spec (MS003) and could hide text from its reviewer: it is
        // not copied, and the TODO names its key, escaped
        let mut refused = Vec::new();
        merged.entries.retain(|e| {
            let ok = one_line_value(&e.key, &e.value);
            if !ok {
                refused.push(crate::render::line::one_line(&e.key).into_owned());
            }
            ok
        });
        // a value k3s refuses (the checker `lint` and `validate` use: MS403) is not copied
        // either: the TODO says why, so the spec never carries a value that breaks the node
        // (secrets are never copied anyway, and their values never named)
        merged.entries.retain(|e| {
            let Some(flag) = crate::k3s::flags::table().get(&e.key) else {
                return true;
            };
            if is_secret(&e.key, &e.value) {
                return true;
            }
            match crate::k3s::flags::check_value(flag, &e.value) {
                Ok(()) => true,
                Err(m) => {
                    let what = format!(
                        "`{}`'s config: {} (MS403): not imported; {}, then import again",
                        crate::render::line::one_line(&n.name),
                        crate::render::line::one_line(&m.to_string()),
                        m.hint()
                    );
                    todos.push(Todo::new("nodes", crate::secrets::redact_text(&what)));
                    false
                }
            }
        });
        if !refused.is_empty() {
            todos.push(Todo::new(
                "nodes",
                format!(
                    "`{}`'s config holds control characters, line breaks or bidirectional overrides in {}: not imported",
                    crate::render::line::one_line(&n.name),
                    refused.join(", ")
                ),
            ));
        }
        let live_node = live.get(n.name.as_str()).copied();
        let role = infer::role(n, &merged, live_node);
        out.push(Source {
            name: n.name.clone(),
            role,
            merged,
            live: live_node,
        });
    }
    out
}

/// Each source by name, the first where names repeat (as a linear `find` would pick): one
/// lookup per node instead of a scan, which made import quadratic in nodes.
fn first_by_name<'s, 'a>(srcs: &'s [Source<'a>]) -> BTreeMap<&'s str, &'s Source<'a>> {
    let mut by_name = BTreeMap::new();
    for s in srcs {
        by_name.entry(s.name.as_str()).or_insert(s);
    }
    by_name
}

/// Chooses `node_ip: lan|mesh` where `auto` would resolve another address than the config's.
fn fit_node_ips(spec: &mut Spec, srcs: &[Source<'_>]) {
    let c = Cluster::resolve(spec.clone());
    let by_name = first_by_name(srcs);
    for (i, ns) in spec.nodes.iter_mut().enumerate() {
        let Some(s) = by_name.get(ns.name.as_str()) else {
            continue;
        };
        let wanted: Vec<std::net::IpAddr> = s
            .list("node-ip")
            .iter()
            .filter_map(|x| x.parse().ok())
            .collect();
        let Some(resolved) = c.nodes.get(i) else {
            continue;
        };
        if wanted.is_empty() || resolved.node_ips == wanted {
            continue;
        }
        if wanted.iter().all(|ip| ns.mesh_ip.contains(ip)) {
            ns.node_ip = Some(NodeIpChoice::Mesh);
        } else if wanted.iter().all(|ip| ns.lan_ip.contains(ip)) {
            ns.node_ip = Some(NodeIpChoice::Lan);
        }
    }
}

/// Puts keys the render does not reproduce into `server_extra`/`agent_extra` when every node
/// of the role has the same value; reports the others.
fn fit_extras(spec: &mut Spec, srcs: &[Source<'_>], todos: &mut Vec<Todo>) {
    let c = Cluster::resolve(spec.clone());
    let nodes: BTreeMap<&str, &crate::cluster::Node> =
        c.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    for role in [Role::Server, Role::Agent] {
        let of_role: Vec<&Source<'_>> = srcs.iter().filter(|s| s.role == role).collect();
        // `None`: the nodes of the role disagree, so no shared extra can hold the key
        let mut wanted: BTreeMap<String, Option<Value>> = BTreeMap::new();
        for s in &of_role {
            let Some(n) = nodes.get(s.name.as_str()) else {
                continue;
            };
            let rendered = config_entries(&c, n);
            for key in missing_keys(&s.merged, &rendered) {
                let Some(e) = s.merged.get(&key) else {
                    continue;
                };
                // decided once per key for the whole role
                if wanted.contains_key(&key) || is_secret(&key, &e.value) {
                    continue;
                }
                // shared only when every node of the role has the key with this value
                let same_everywhere = of_role.iter().all(|o| {
                    o.merged
                        .get(&key)
                        .is_some_and(|x| normal(&key, &x.value) == normal(&key, &e.value))
                });
                let value = same_everywhere.then(|| e.value.clone());
                wanted.insert(key, value);
            }
        }
        let field = if role == Role::Server {
            "k3s.server_extra"
        } else {
            "k3s.agent_extra"
        };
        for (key, v) in wanted {
            match v {
                Some(v) => {
                    let map = if role == Role::Server {
                        &mut spec.k3s.server_extra
                    } else {
                        &mut spec.k3s.agent_extra
                    };
                    map.insert(key, v);
                }
                None => {
                    let who: Vec<String> = of_role
                        .iter()
                        .map(|o| {
                            let val = o.merged.get(&key).map_or_else(
                                || "unset".to_owned(),
                                |e| format!("`{}`", items(&key, &e.value).join(",")),
                            );
                            format!("{} {val}", o.name)
                        })
                        .collect();
                    todos.push(Todo::new(format!("{field}.{key}"), format!("`{key}` differs between the nodes of this role ({}) and has no per-node spec field: the render cannot keep it", who.join("; "))));
                }
            }
        }
    }
}

fn changes(c: &Cluster, srcs: &[Source<'_>]) -> Vec<NodeChange> {
    let mut out = Vec::new();
    let by_name = first_by_name(srcs);
    for n in c.nodes_in_join_order() {
        let Some(s) = by_name.get(n.name.as_str()) else {
            continue;
        };
        let rendered = config_entries(c, n);
        let mut ch = NodeChange {
            node: n.name.clone(),
            ..NodeChange::default()
        };
        for key in missing_keys(&s.merged, &rendered) {
            if rendered.iter().any(|r| r.key == key) {
                ch.changed.push(key);
            } else {
                ch.dropped.push(key);
            }
        }
        for r in &rendered {
            if s.merged.get(&r.key).is_none() {
                ch.added.push(r.key.clone());
            }
        }
        out.push(ch);
    }
    out
}

fn plan(c: &Cluster, changes: &[NodeChange]) -> ChangePlan {
    let mut restarts: Vec<String> = changes
        .iter()
        .filter(|ch| !ch.is_empty())
        .map(|ch| ch.node.clone())
        .collect();
    let servers: std::collections::BTreeSet<&str> = c.servers().map(|n| n.name.as_str()).collect();
    restarts.sort_by_key(|name| !servers.contains(name.as_str()));
    let mut ds = Vec::new();
    if !restarts.is_empty() {
        let order: Vec<String> = restarts.iter().map(|r| format!("`{r}`")).collect();
        ds.push(Diagnostic::new(
            Code::RestartOrder,
            "nodes",
            format!("rendering this spec now changes config.yaml on {} of {} nodes: restart k3s on {} one at a time, in this order, each Ready before the next", restarts.len(), changes.len(), order.join(", ")),
        ).with_help("servers first; on each node: install the new files, `systemctl restart k3s` (or `k3s-agent`), then wait for `kubectl get node <name>` to show Ready"));
    }
    ChangePlan {
        diagnostics: Diagnostics::from_vec(ds),
        restarts,
        added: Vec::new(),
        removed: Vec::new(),
        nodes: Vec::new(),
        cluster_files: Vec::new(),
        before: Vec::new(),
        cilium_upgrade: Vec::new(),
    }
}

/// The live nodes with every string a node reports about itself held to the grammar of the
/// spec field it could land in: a node is a node name only when its name is a DNS-1123 label
/// (else it is ignored, with a TODO), its kubelet version only when it is a k3s release tag,
/// and its labels, taints and annotations only when they are printable text on one line.
/// A compromised node controls all of these; nothing it reports reaches the spec, a comment
/// or a rendered file unchecked.
fn trusted_live(live: Vec<LiveNode>, todos: &mut Vec<Todo>) -> Vec<LiveNode> {
    use crate::spec::grammar::{k3s_version, printable};
    let one_line = |s: &str| printable(s, false).is_ok();
    let mut out = Vec::with_capacity(live.len());
    for mut l in live {
        if !crate::spec::is_dns_label(&l.name) {
            todos.push(Todo::new(
                "nodes",
                format!(
                    "the live data holds a node named `{}`, which is no DNS-1123 label (what a spec node name must be): it is ignored",
                    crate::render::line::one_line(&l.name)
                ),
            ));
            continue;
        }
        if let Some(v) = l.kubelet_version.take() {
            if k3s_version(&v).is_ok() {
                l.kubelet_version = Some(v);
            } else {
                todos.push(Todo::new(
                    "k3s.version",
                    format!(
                        "node `{}` reports kubelet version `{}`, which is no k3s release tag: it is not used",
                        l.name,
                        crate::render::line::one_line(&v)
                    ),
                ));
            }
        }
        let before = l.labels.len() + l.taints.len() + l.annotations.len() + l.pod_cidrs.len();
        l.labels.retain(|k, v| one_line(k) && one_line(v));
        l.taints.retain(|t| one_line(t));
        l.annotations.retain(|k, v| one_line(k) && one_line(v));
        l.pod_cidrs.retain(|c| one_line(c));
        let after = l.labels.len() + l.taints.len() + l.annotations.len() + l.pod_cidrs.len();
        if after < before {
            todos.push(Todo::new(
                "nodes",
                format!(
                    "node `{}` reports {} label(s), taint(s), annotation(s) or pod CIDR(s) holding control characters or line breaks: they are ignored",
                    l.name,
                    before - after
                ),
            ));
        }
        l.ready_reason = l.ready_reason.filter(|r| one_line(r));
        l.ready = l.ready.filter(|r| one_line(r));
        out.push(l);
    }
    out
}

/// Imports a cluster.
///
/// ```
/// use meshspec::import::{import, ImportInput, ImportNode};
/// use meshspec::lint::ConfigFile;
/// let node = |name: &str, text: &str| ImportNode {
///     name: name.into(),
///     role: None,
///     files: vec![ConfigFile::new(format!("{name}.yaml"), text)],
/// };
/// let input = ImportInput {
///     name: Some("lab".into()),
///     nodes: vec![
///         node("a", "cluster-init: true\nnode-ip: 100.64.0.1\n"),
///         node("b", "server: https://100.64.0.1:6443\nnode-ip: 100.64.0.2\n"),
///     ],
///     ..ImportInput::default()
/// };
/// let imported = import(&input).unwrap();
/// assert_eq!(imported.spec.nodes[1].mesh_ip, ["100.64.0.2".parse::<std::net::IpAddr>().unwrap()]);
/// assert!(imported.yaml.contains("# TODO"));
/// // two nodes on no known site count as two networks: flannel is pinned to the mesh
/// assert_eq!(imported.changes[1].added, ["token-file", "flannel-iface"]);
/// ```
///
/// # Errors
/// The unreadable inputs (MS001, MS010), each with its file; a node list that is not
/// `kubectl get nodes -o json` output is reported under the name `--nodes-json`.
pub fn import(input: &ImportInput) -> Result<Imported, LintReport> {
    let mut findings = Vec::new();
    let live = match &input.nodes_json {
        Some(text) => match parse_nodes(text) {
            Ok(l) => l,
            Err(d) => {
                findings.push(Finding {
                    file: "--nodes-json".to_owned(),
                    diagnostic: d,
                });
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let cilium = match &input.cilium_values {
        Some(text) => match crate::yaml::parse(text) {
            Ok(t) => Some(t.to_json()),
            Err(d) => {
                findings.push(Finding {
                    file: "--cilium-values".to_owned(),
                    diagnostic: d,
                });
                None
            }
        },
        None => None,
    };
    let mut todos = Vec::new();
    let (input, wgs) = split_wireguard(input, &mut findings, &mut todos);
    let input = &input;
    let live = trusted_live(live, &mut todos);
    let srcs = sources(input, &live, &mut findings, &mut todos);
    if !findings.is_empty() {
        return Err(LintReport::new(findings));
    }
    let name = input.name.clone().unwrap_or_else(|| {
        todos.push(Todo::new(
            "name",
            "the cluster's name is in no config: `cluster` is a placeholder",
        ));
        "cluster".to_owned()
    });
    let mut spec = infer::spec(&name, &srcs, cilium.as_ref(), &wgs, &mut todos);
    let index: BTreeMap<&str, usize> = spec
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let mut role_todos = Vec::new();
    for (n, s) in input.nodes.iter().zip(&srcs) {
        if n.role.is_none() && s.role == Role::Agent && s.live.is_none() {
            let i = index.get(n.name.as_str()).copied().unwrap_or(0);
            role_todos.push(Todo::new(format!("nodes[{i}].role"), format!("`{}` is taken for an agent: its config has neither `cluster-init` nor a server-only key, and no live data shows its role; write `{}=server:PATH` if it runs `k3s server`", n.name, n.name)));
        }
    }
    todos.extend(role_todos);
    fit_node_ips(&mut spec, &srcs);
    fit_extras(&mut spec, &srcs, &mut todos);
    let given: std::collections::BTreeSet<&str> = srcs.iter().map(|s| s.name.as_str()).collect();
    for l in live.iter().filter(|l| !given.contains(l.name.as_str())) {
        todos.push(Todo::new("nodes", format!("node `{}` is in the cluster but no config was given for it: add `{}=PATH` to import it", l.name, l.name)));
    }
    let yaml = emit::yaml(&spec, &todos);
    let cluster = match Cluster::from_yaml(&yaml) {
        Ok(c) => c,
        Err(ds) => {
            return Ok(Imported {
                spec,
                yaml,
                todos,
                diagnostics: ds,
                changes: Vec::new(),
                plan: ChangePlan {
                    diagnostics: Diagnostics::default(),
                    restarts: Vec::new(),
                    added: Vec::new(),
                    removed: Vec::new(),
                    nodes: Vec::new(),
                    cluster_files: Vec::new(),
                    before: Vec::new(),
                    cilium_upgrade: Vec::new(),
                },
            });
        }
    };
    // every values change the render would make, listed where the operator reads the TODOs
    let (cluster, yaml) = match (cilium.as_ref(), cluster.cni.cilium()) {
        (Some(input), Some(cil)) => {
            let diff = infer::values_changes(input, &crate::render::cilium::values(&cluster, cil));
            if diff.is_empty() {
                (cluster, yaml)
            } else {
                todos.extend(diff);
                // the same spec with more comments: re-read it so positions match the text
                let yaml = emit::yaml(&spec, &todos);
                match Cluster::from_yaml(&yaml) {
                    Ok(c) => (c, yaml),
                    Err(_) => (cluster, yaml),
                }
            }
        }
        _ => (cluster, yaml),
    };
    let diagnostics = cluster.validate();
    let changes = changes(&cluster, &srcs);
    let plan = plan(&cluster, &changes);
    Ok(Imported {
        spec,
        yaml,
        todos,
        diagnostics,
        changes,
        plan,
    })
}
