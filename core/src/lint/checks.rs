//! The lint rules proper, one function per concern.

use serde_json::Value;

use super::merge::{ConfigFile, Merged, RawEntry, items};
use super::report::Finding;
use super::{CiliumValues, NodeConfig};
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Severity};
use crate::k3s::flags::{self, Role};
use crate::labels::{self, Taint};
use crate::yaml::Pos;

/// The diagnostic at `pos`; without a position (the key is not written in the file) it stays
/// unpositioned rather than pointing at `1:1` of a file that lacks the key.
fn at(d: Diagnostic, pos: Option<Pos>) -> Diagnostic {
    match pos {
        Some(p) => d.at(p.line, p.column),
        None => d,
    }
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true)) || v.as_str() == Some("true")
}

/// `--role` was not given: `cluster-init: true` or a server-only key make a server; otherwise
/// the node is checked as an agent. Either way an info says which role was inferred and why,
/// at the key that decided it (the agent's `server:` when it has one, else no position), and
/// how to force the other role.
pub(super) fn infer_role(files: &[ConfigFile], m: &Merged, out: &mut Vec<Finding>) -> Role {
    let table = flags::table();
    let server_key = m.raw.iter().find(|r| {
        table
            .get(&r.written)
            .is_some_and(|f| f.server_only() && (r.key != "cluster-init" || truthy(&r.value)))
    });
    if files.is_empty() {
        return Role::Server;
    }
    let (role, d, entry) = match server_key {
        Some(r) => {
            let why = if r.key == "cluster-init" {
                format!("`{}: true` starts a new cluster", r.written)
            } else {
                format!("`{}` is a server-only key", r.written)
            };
            let d = Diagnostic::new(
                Code::AgentServerOnlyKey,
                &r.written,
                format!("{why}: checked as a server"),
            )
            .with_help("pass `--role agent` if this node runs `k3s agent` (an agent exits on a server-only key)");
            (Role::Server, d, Some(r))
        }
        None => {
            let d = Diagnostic::new(
                Code::AgentServerOnlyKey,
                "",
                "no `cluster-init` and no server-only key: checked as an agent",
            )
            .with_help("pass `--role server` if this node runs `k3s server`");
            (Role::Agent, d, m.raw.iter().find(|r| r.key == "server"))
        }
    };
    let mut d = d;
    d.severity = Severity::Info;
    let (file, d) = match entry {
        Some(r) => {
            d.path.clone_from(&r.written);
            (r.file, at(d, r.key_pos))
        }
        None => (0, d),
    };
    out.push(Finding::new(files, file, d));
    role
}

/// MS402 unknown keys, MS401 server-only keys on agents, MS403 value kinds; every entry of
/// every file, so a typo in a drop-in that a later file overrides is still reported.
pub(super) fn keys(files: &[ConfigFile], m: &Merged, role: Role, out: &mut Vec<Finding>) {
    let table = flags::table();
    // at most MAX_LISTED unknown keys listed (a did-you-mean only for those), then a count
    let mut unknown = 0usize;
    let mut first_more = None;
    for r in &m.raw {
        let Some(flag) = table.get(&r.written) else {
            unknown += 1;
            if unknown > crate::rules::MAX_LISTED {
                first_more.get_or_insert(r);
                continue;
            }
            let help = table.nearest(&r.written).map_or_else(
                || "check `k3s server --help` / `k3s agent --help` for the flag's name".to_owned(),
                |k| format!("did you mean `{k}`?"),
            );
            let what = if role == Role::Agent {
                "`k3s agent` exits with `flag provided but not defined`"
            } else {
                "`k3s server` skips it with only a warning in its log"
            };
            let d = Diagnostic::new(
                Code::UnknownK3sKey,
                &r.written,
                format!("k3s has no config key `{}`: {what}", r.written),
            )
            .with_help(help);
            out.push(Finding::new(files, r.file, at(d, r.key_pos)));
            continue;
        };
        if !flag.config_file_key {
            let d = Diagnostic::new(
                Code::UnknownK3sKey,
                &r.written,
                format!("`{}` does nothing inside config.yaml", r.written),
            )
            .with_help("it only works on the command line or as an environment variable");
            out.push(Finding::new(files, r.file, at(d, r.key_pos)));
            continue;
        }
        if role == Role::Agent && !flag.accepts(Role::Agent) {
            let d = Diagnostic::new(
                Code::AgentServerOnlyKey,
                &r.written,
                format!("`{}` is a server-only key: `k3s agent` exits with `flag provided but not defined: -{}`", r.written, flag.name),
            )
            .with_help(format!("remove `{}` from the agent's config (k3s#6565), or lint with `--role server` if this node is a server", r.written));
            out.push(Finding::new(files, r.file, at(d, r.key_pos)));
            continue;
        }
        if let Err(e) = flags::check_value(flag, &r.value) {
            let d =
                Diagnostic::new(Code::K3sKeyKind, &r.written, e.to_string()).with_help(e.hint());
            let pos = r.item_pos.first().copied().flatten().or(r.key_pos);
            out.push(Finding::new(files, r.file, at(d, pos)));
        }
    }
    if let Some(r) = first_more {
        let more = unknown - crate::rules::MAX_LISTED;
        let d = crate::rules::and_more(
            Code::UnknownK3sKey,
            &r.written,
            more,
            "keys k3s does not have",
        );
        out.push(Finding::new(files, r.file, at(d, r.key_pos)));
    }
}

fn entries_of<'a>(m: &'a Merged, key: &'a str) -> impl Iterator<Item = &'a RawEntry> {
    m.raw.iter().filter(move |r| r.key == key)
}

/// MS601, MS409 on `node-label`; MS602 on `node-taint`.
pub(super) fn labels_and_taints(files: &[ConfigFile], m: &Merged, out: &mut Vec<Finding>) {
    for r in entries_of(m, "node-label") {
        for (i, item) in items("node-label", &r.value).iter().enumerate() {
            let pos = r.item_pos.get(i).copied().flatten().or(r.key_pos);
            let path = format!("{}[{i}]", r.written);
            let (k, v) = item.split_once('=').unwrap_or((item.as_str(), ""));
            let problem = labels::check_label_key(k)
                .map_err(|e| format!("label key `{k}`: {e}"))
                .and_then(|()| {
                    labels::check_label_value(v).map_err(|e| format!("label `{item}`: {e}"))
                });
            if let Err(msg) = problem {
                let d = Diagnostic::new(Code::InvalidLabel, &path, msg).with_help("keys are `[prefix/]name`, values empty or up to 63 of `A-Za-z0-9._-` starting and ending alphanumeric");
                out.push(Finding::new(files, r.file, at(d, pos)));
                continue;
            }
            if !labels::self_label_allowed(k) {
                let d = Diagnostic::new(
                    Code::ReservedSelfLabel,
                    &path,
                    format!("the kubelet may not label its own node `{k}` (kubernetes.io/k8s.io namespaces): it refuses to start"),
                )
                .with_help(format!("remove it and apply it with `kubectl label node <node> {item}` after the node joins, or use your own prefix such as `example.com/{}`", k.rsplit('/').next().unwrap_or(k)));
                out.push(Finding::new(files, r.file, at(d, pos)));
            }
        }
    }
    for r in entries_of(m, "node-taint") {
        for (i, item) in items("node-taint", &r.value).iter().enumerate() {
            if let Err(e) = item.parse::<Taint>() {
                let pos = r.item_pos.get(i).copied().flatten().or(r.key_pos);
                let d = Diagnostic::new(Code::InvalidTaint, format!("{}[{i}]", r.written), e.to_string())
                    .with_help("write `key[=value]:Effect` with Effect `NoSchedule`, `PreferNoSchedule` or `NoExecute`");
                out.push(Finding::new(files, r.file, at(d, pos)));
            }
        }
    }
}

/// MS405 and MS406 on a server's effective config.
pub(super) fn cni(
    files: &[ConfigFile],
    m: &Merged,
    cilium: Option<&CiliumValues>,
    out: &mut Vec<Finding>,
) {
    let backend = m.get("flannel-backend");
    let npc_off = m
        .get("disable-network-policy")
        .is_some_and(|e| truthy(&e.value));
    let kp = m.get("disable-kube-proxy");
    let kp_off = kp.is_some_and(|e| truthy(&e.value));
    let flannel_off = backend.is_some_and(|b| b.value.as_str() == Some("none"));
    let pos_of = |e: Option<&super::merge::MergedEntry>| e.map(|e| (e.last.file, e.last.key_pos));
    let mut push = |d: Diagnostic, where_: Option<(usize, Option<Pos>)>| {
        let (file, pos) = where_.unwrap_or((0, None));
        out.push(Finding::new(files, file, at(d, pos)));
    };
    let kpr = cilium.map(CiliumValues::kube_proxy_replacement);
    if cilium.is_some() && !flannel_off {
        push(Diagnostic::new(Code::CniFlannelConflict, "flannel-backend", format!("Cilium is the CNI but flannel stays on (`flannel-backend: {}`): both claim the pod network and UDP 8472", backend.and_then(|b| b.value.as_str()).unwrap_or("vxlan"))).with_help("set `flannel-backend: none` on every server"), pos_of(backend));
    }
    if (flannel_off || cilium.is_some()) && !npc_off {
        push(Diagnostic::new(Code::CniFlannelConflict, "disable-network-policy", "flannel is replaced by another CNI but k3s's network policy controller stays on: both program network policy").with_help("set `disable-network-policy: true` on every server"), pos_of(m.get("disable-network-policy")).or(pos_of(backend)));
    }
    match kpr {
        Some(true) if !kp_off => push(Diagnostic::new(Code::KubeProxyMismatch, "disable-kube-proxy", "the Cilium values replace kube-proxy but the server keeps it: both program service rules").with_help("set `disable-kube-proxy: true` on every server"), pos_of(kp)),
        Some(false) if kp_off => push(Diagnostic::new(Code::KubeProxyMismatch, "disable-kube-proxy", "kube-proxy is disabled but the Cilium values do not replace it (`kubeProxyReplacement` is not `true`): services stop working").with_help("set `kubeProxyReplacement: true` with `k8sServiceHost`/`k8sServicePort` in the values, or remove `disable-kube-proxy`"), pos_of(kp)),
        None if kp_off && !flannel_off => push(Diagnostic::new(Code::KubeProxyMismatch, "disable-kube-proxy", "kube-proxy is disabled while flannel is the CNI: nothing replaces it and services stop working").with_help("remove `disable-kube-proxy`, or use Cilium with `kubeProxyReplacement: true`"), pos_of(kp)),
        _ => {}
    }
}

fn normalised(key: &str, v: &Value) -> Vec<String> {
    let mut list = items(key, v);
    if key == "disable" {
        // only `servicelb` among the disabled components must match across servers
        return vec![list.iter().any(|i| i == "servicelb").to_string()];
    }
    if flags::comma_split(key) {
        list.sort();
    }
    list
}

/// What k3s uses for a critical key that is absent and declares no default: `false` for
/// switches, the IPv4 networks k3s computes (`pkg/util/net.go`, `pkg/cli/server/server.go`).
fn implicit_default(flag: &flags::Flag) -> Option<Vec<String>> {
    let text = match flag.name.as_str() {
        "disable" => "false",
        "cluster-cidr" => crate::cluster::DEFAULT_CLUSTER_CIDR_V4,
        "service-cidr" => crate::cluster::DEFAULT_SERVICE_CIDR_V4,
        "cluster-dns" => "10.43.0.10",
        _ if flag.kind == flags::Kind::Bool => "false",
        _ => return None,
    };
    Some(vec![text.to_owned()])
}

/// When `node`'s role was inferred, the MS404 help says how to lint it as an agent.
fn with_role_help(mut d: Diagnostic, node: &NodeConfig, name: &str) -> Diagnostic {
    if node.role.is_none() {
        let help = d.help.take().unwrap_or_default();
        d.help = Some(format!(
            "{help}; if `{name}` is an agent's config, lint it on its own with `--role agent` (it was checked as a server: see the MS401 info)"
        ));
    }
    d
}

/// MS404: a critical key differs between the servers given together.
pub(super) fn critical(nodes: &[NodeConfig], servers: &[(usize, Merged)], out: &mut Vec<Finding>) {
    let Some((first_index, first)) = servers.first() else {
        return;
    };
    let name = |i: usize| {
        nodes
            .get(i)
            .and_then(|n| n.files.first())
            .map_or_else(String::new, |f| f.name.clone())
    };
    for flag in flags::table().critical() {
        // an absent key means the flag's default, so `disable: [traefik]` equals no `disable`
        let value = |m: &Merged| {
            m.get(&flag.name)
                .map(|e| &e.value)
                .or(flag.default.as_ref())
                .map(|v| normalised(&flag.name, v))
                .or_else(|| implicit_default(flag))
        };
        let base = value(first);
        for (index, m) in servers.iter().skip(1) {
            let v = value(m);
            if v == base {
                continue;
            }
            let show = |v: &Option<Vec<String>>| {
                v.as_ref()
                    .map_or_else(|| "unset".to_owned(), |l| format!("`{}`", l.join(",")))
            };
            let d = Diagnostic::new(
                Code::CriticalArgMismatch,
                &flag.name,
                format!(
                    "`{}` is {} here but {} in `{}`: a joining server fails with `critical configuration value mismatch`",
                    flag.name,
                    show(&v),
                    show(&base),
                    name(*first_index)
                ),
            )
            .with_help(format!("give every server the same `{}`", flag.name));
            // point at a key that is written: here, else in the first server's files (an
            // absent key has no position to show)
            match (m.get(&flag.name), first.get(&flag.name)) {
                (Some(e), _) => {
                    if let Some(node) = nodes.get(*index) {
                        let d = with_role_help(d, node, &name(*index));
                        out.push(Finding::new(
                            &node.files,
                            e.last.file,
                            at(d, e.last.key_pos),
                        ));
                    }
                }
                (None, Some(e)) => {
                    if let Some(node) = nodes.get(*first_index) {
                        let d = Diagnostic::new(
                            Code::CriticalArgMismatch,
                            &flag.name,
                            format!(
                                "`{}` is {} here but {} in `{}`, which does not set it: a joining server fails with `critical configuration value mismatch`",
                                flag.name,
                                show(&base),
                                show(&v),
                                name(*index)
                            ),
                        )
                        .with_help(format!("give every server the same `{}`", flag.name));
                        let d = match nodes.get(*index) {
                            Some(other) => with_role_help(d, other, &name(*index)),
                            None => d,
                        };
                        out.push(Finding::new(
                            &node.files,
                            e.last.file,
                            at(d, e.last.key_pos),
                        ));
                    }
                }
                (None, None) => {
                    if let Some(node) = nodes.get(*index) {
                        out.push(Finding::new(&node.files, 0, d));
                    }
                }
            }
        }
    }
}
