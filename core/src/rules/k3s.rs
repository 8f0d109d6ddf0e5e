//! MS4xx: k3s configuration, checked on the config files that will really be written.

use serde_json::Value;

use crate::cluster::{Cluster, Cni, Node, NodeIpMode};
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::k3s::flags::{self, Role};
use crate::render::k3s::{ConfigEntry, derived_entries};

/// `entries` holds every node's config entries, in `c.nodes` order.
pub(super) fn check(c: &Cluster, entries: &[Vec<ConfigEntry>], out: &mut Vec<Diagnostic>) {
    let configs: Vec<(&Node, &[ConfigEntry])> = c
        .nodes
        .iter()
        .zip(entries)
        .map(|(n, e)| (n, e.as_slice()))
        .collect();
    keys_and_kinds(&configs, out);
    critical_args(&configs, out);
    extras_contradict_spec(c, out);
    cni_switches(c, &configs, out);
    vpn_auth(c, out);
    registration(c, out);
    interface_ordering(c, out);
}

/// What [`keys_and_kinds`] found for a key at one position of a node's entries.
struct Seen<'a> {
    key: &'a str,
    flag: Option<&'static flags::Flag>,
    /// The last value checked, and the result.
    checked: Option<(&'a Value, Result<(), flags::KindMismatch>)>,
}

fn keys_and_kinds(configs: &[(&Node, &[ConfigEntry])], out: &mut Vec<Diagnostic>) {
    let table = flags::table();
    let mut reported: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut unknown_listed = 0;
    let mut unknown_more: Option<(usize, String)> = None;
    // nodes of one role list the same keys in the same order, and most keys hold the same
    // value on every node (`server`, `token-file`): what was found for the key last seen at
    // an entry's position (its flag, and the last value checked with its result) is reused
    // when the key and value match, instead of a table lookup and a check per node and entry
    let mut by_position: Vec<Seen<'_>> = Vec::new();
    for (n, entries) in configs {
        let role = if n.is_server() {
            Role::Server
        } else {
            Role::Agent
        };
        for (j, e) in entries.iter().enumerate() {
            let fresh = || Seen {
                key: &e.key,
                flag: table.get(&e.key),
                checked: None,
            };
            match by_position.get_mut(j) {
                Some(seen) if seen.key == e.key => {}
                Some(seen) => *seen = fresh(),
                None => by_position.push(fresh()),
            }
            let Some(seen) = by_position.get_mut(j) else {
                continue;
            };
            let once = |out: &mut Vec<Diagnostic>,
                        reported: &mut std::collections::HashSet<String>,
                        d: Diagnostic| {
                if reported.insert(format!("{}|{}", d.code, d.path)) {
                    out.push(d);
                }
            };
            let Some(flag) = seen.flag else {
                // at most MAX_LISTED unknown keys listed, and a did-you-mean only for those
                if !reported.insert(format!("{}|{}", Code::UnknownK3sKey, e.origin)) {
                    continue;
                }
                if unknown_listed == super::MAX_LISTED {
                    unknown_more.get_or_insert_with(|| (0, e.origin.clone())).0 += 1;
                    continue;
                }
                unknown_listed += 1;
                reported.remove(&format!("{}|{}", Code::UnknownK3sKey, e.origin));
                let help = match table.nearest(&e.key) {
                    Some(k) => format!("did you mean `{k}`?"),
                    None => "check `k3s server --help` / `k3s agent --help` for the flag's name"
                        .to_owned(),
                };
                once(
                    out,
                    &mut reported,
                    Diagnostic::new(
                        Code::UnknownK3sKey,
                        &e.origin,
                        format!("k3s has no config key `{}`", e.key),
                    )
                    .with_help(help),
                );
                continue;
            };
            if !flag.config_file_key {
                once(
                    out,
                    &mut reported,
                    Diagnostic::new(
                        Code::UnknownK3sKey,
                        &e.origin,
                        format!("`{}` does nothing inside config.yaml", e.key),
                    )
                    .with_help("it only works on the command line or as an environment variable"),
                );
                continue;
            }
            if !flag.accepts(role) {
                let d = Diagnostic::new(
                    Code::AgentServerOnlyKey,
                    &e.origin,
                    format!("agent `{}` would get the server-only key `{}`: k3s agents exit with `flag provided but not defined: -{}`", n.name, e.key, e.key),
                ).with_help(format!("move `{}` to `k3s.server_extra` (k3s#6565)", e.key));
                once(out, &mut reported, d);
                continue;
            }
            // most keys hold the same value on every node (`server`, `token-file`): a value
            // checked once for its key is not checked again (the check depends on nothing else)
            let result = match &seen.checked {
                Some((v, r)) if **v == e.value => r.clone(),
                _ => {
                    let r = flags::check_value(flag, &e.value);
                    seen.checked = Some((&e.value, r.clone()));
                    r
                }
            };
            if let Err(m) = result {
                once(
                    out,
                    &mut reported,
                    Diagnostic::new(Code::K3sKeyKind, &e.origin, m.to_string()).with_help(m.hint()),
                );
            }
        }
    }
    if let Some((more, first)) = unknown_more {
        out.push(super::and_more(
            Code::UnknownK3sKey,
            &first,
            more,
            "keys k3s does not have",
        ));
    }
}

fn normalise(key: &str, v: &Value) -> Value {
    if key == "disable" {
        // only `servicelb` among the disabled components must match across servers
        let items: Vec<String> = match v {
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str())
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().to_owned())
                .collect(),
            Value::String(s) => s.split(',').map(|s| s.trim().to_owned()).collect(),
            _ => Vec::new(),
        };
        return Value::Bool(items.iter().any(|i| i == "servicelb"));
    }
    v.clone()
}

fn critical_args(configs: &[(&Node, &[ConfigEntry])], out: &mut Vec<Diagnostic>) {
    let table = flags::table();
    let servers: Vec<&(&Node, &[ConfigEntry])> =
        configs.iter().filter(|(n, _)| n.is_server()).collect();
    let Some((first, first_entries)) = servers.first() else {
        return;
    };
    for flag in table.critical() {
        let value_of = |entries: &[ConfigEntry]| {
            entries
                .iter()
                .find(|e| e.key == flag.name)
                .map(|e| normalise(&flag.name, &e.value))
        };
        let base = value_of(first_entries);
        for (n, entries) in servers.iter().skip(1) {
            let v = value_of(entries);
            if v != base {
                let path = entries
                    .iter()
                    .find(|e| e.key == flag.name)
                    .map_or_else(|| "k3s.server_extra".to_owned(), |e| e.origin.clone());
                out.push(Diagnostic::new(
                    Code::CriticalArgMismatch,
                    path,
                    format!("servers `{}` and `{}` differ in `{}`: the second fails to join with `critical configuration value mismatch`", first.name, n.name, flag.name),
                ).with_help(format!("give every server the same `{}`", flag.name)));
            }
        }
    }
}

/// Critical keys meshspec derives from spec fields; an extra that overrides one splits the
/// cluster: servers run with the extra while pod subnets, NO_PROXY and firewalls follow the spec.
const SPEC_FIELDS: &[(&str, &str)] = &[
    ("cluster-cidr", "network.cluster_cidr"),
    ("service-cidr", "network.service_cidr"),
    ("cluster-dns", "network.cluster_dns"),
    ("cluster-domain", "network.cluster_domain"),
];

fn as_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
            .collect(),
        Value::String(s) => s.split(',').map(|x| x.trim().to_owned()).collect(),
        other => vec![other.to_string()],
    }
}

fn extras_contradict_spec(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let Some(server) = c.servers().next() else {
        return;
    };
    let derived = derived_entries(c, server);
    for (key, field) in SPEC_FIELDS {
        let Some(extra) = c.k3s.server_extra.get(*key) else {
            continue;
        };
        let spec_value: Vec<String> = match derived.iter().find(|e| e.key == *key) {
            Some(e) => as_list(&e.value),
            None => match *key {
                "cluster-cidr" => c
                    .network
                    .cluster_cidrs
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                "service-cidr" => c
                    .network
                    .service_cidrs
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                "cluster-dns" => c
                    .network
                    .cluster_dns
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                _ => vec![c.network.cluster_domain.clone()],
            },
        };
        let given = as_list(extra);
        if given != spec_value {
            out.push(Diagnostic::new(
                Code::CriticalArgMismatch,
                format!("k3s.server_extra.{key}"),
                format!("`k3s.server_extra.{key}` is `{}` but `{field}` is `{}`: servers would run with one while pod subnets, NO_PROXY and firewall rules follow the other", given.join(","), spec_value.join(",")),
            ).with_help(format!("remove `{key}` from `k3s.server_extra` and set `{field}` instead")));
        }
    }
}

fn value_of<'a>(entries: &'a [ConfigEntry], key: &str) -> Option<&'a ConfigEntry> {
    entries.iter().find(|e| e.key == key)
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true)) || v.as_str() == Some("true")
}

fn cni_switches(c: &Cluster, configs: &[(&Node, &[ConfigEntry])], out: &mut Vec<Diagnostic>) {
    let Some((_, entries)) = configs.iter().find(|(n, _)| n.is_server()) else {
        return;
    };
    let backend = value_of(entries, "flannel-backend");
    let npc = value_of(entries, "disable-network-policy");
    let kube_proxy_off = value_of(entries, "disable-kube-proxy");
    match &c.cni {
        Cni::Cilium(cil) => {
            if let Some(b) = backend
                && b.value.as_str() != Some("none")
            {
                out.push(Diagnostic::new(Code::CniFlannelConflict, &b.origin, format!("Cilium is the CNI but servers get `flannel-backend: {}`: flannel and Cilium both claim UDP 8472", b.value.as_str().unwrap_or("?"))).with_help("remove `flannel-backend` from `k3s.server_extra`; meshspec writes `none`"));
            }
            if let Some(p) = npc
                && !truthy(&p.value)
            {
                out.push(Diagnostic::new(Code::CniFlannelConflict, &p.origin, "Cilium is the CNI but k3s's network policy controller stays on").with_help("remove `disable-network-policy` from `k3s.server_extra`; meshspec writes `true`"));
            }
            let kp_off = kube_proxy_off.is_some_and(|e| truthy(&e.value));
            let merged = crate::render::cilium::values(c, cil);
            let host_set = merged
                .get("k8sServiceHost")
                .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
            let port_set = merged
                .get("k8sServicePort")
                .is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
            if cil.kube_proxy_replacement && !kp_off {
                out.push(Diagnostic::new(Code::KubeProxyMismatch, "cni.cilium.kube_proxy_replacement", "Cilium replaces kube-proxy but servers keep `disable-kube-proxy` off: both program service rules").with_help("remove `disable-kube-proxy: false` from `k3s.server_extra`"));
            }
            if cil.kube_proxy_replacement && !(host_set && port_set) {
                out.push(Diagnostic::new(Code::KubeProxyMismatch, "cni.cilium.values", "kube-proxy replacement without `k8sServiceHost`/`k8sServicePort`: Cilium cannot reach the API server before it programs services").with_help("remove the empty `k8sServiceHost`/`k8sServicePort` from `cni.cilium.values`; meshspec writes 127.0.0.1:6444, k3s's local load balancer"));
            }
            if kp_off && !cil.kube_proxy_replacement {
                out.push(Diagnostic::new(Code::KubeProxyMismatch, kube_proxy_off.map_or("k3s.server_extra", |e| e.origin.as_str()), "kube-proxy is disabled but Cilium does not replace it: services stop working").with_help("set `cni.cilium.kube_proxy_replacement: true`, or remove `disable-kube-proxy`"));
            }
        }
        Cni::Flannel(_) => {
            if let Some(b) = backend
                && b.value.as_str() == Some("none")
            {
                out.push(Diagnostic::new(Code::CniFlannelConflict, &b.origin, "`flannel-backend: none` without Cilium leaves the cluster with no pod network").with_help("set `cni.plugin: cilium`, or remove `flannel-backend`"));
            }
            if let Some(k) = kube_proxy_off
                && truthy(&k.value)
            {
                out.push(Diagnostic::new(Code::KubeProxyMismatch, &k.origin, "kube-proxy is disabled but nothing replaces it: services stop working").with_help("remove `disable-kube-proxy`, or use Cilium with `kube_proxy_replacement: true`"));
            }
        }
    }
}

fn vpn_auth(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let Some(_) = &c.mesh.vpn_auth_key_file else {
        return;
    };
    for (field, extra) in [
        ("k3s.server_extra", &c.k3s.server_extra),
        ("k3s.agent_extra", &c.k3s.agent_extra),
    ] {
        for key in [
            "node-ip",
            "advertise-address",
            "flannel-iface",
            "node-external-ip",
        ] {
            if extra.contains_key(key) {
                out.push(Diagnostic::new(Code::VpnAuthOverrides, format!("{field}.{key}"), format!("`{key}` is replaced by k3s when `vpn-auth` is set (it uses the Tailscale address)")).with_help(format!("remove `{key}`; with `mesh.k3s_vpn_auth` k3s picks the tailnet address itself")));
            }
        }
    }
    for n in c.nodes.iter().filter(|n| n.node_ip_explicit) {
        out.push(Diagnostic::new(Code::VpnAuthOverrides, format!("nodes[{}].node_ip", n.index), format!("node `{}` chooses its node-ip but k3s's vpn-auth replaces it with the Tailscale address", n.name)).with_help("remove `node_ip` from the node"));
    }
    // With Cilium (`flannel-backend: none`) k3s never advertises pod routes: its VPN flannel
    // backend is set only inside `if !NoFlannel` (k3s pkg/agent/config/config.go), so there is
    // nothing to approve.
    if c.cni.flannel().is_none() {
        return;
    }
    let cidrs: Vec<String> = c
        .network
        .cluster_cidrs
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect();
    out.push(Diagnostic::new(
        Code::VpnAuthRouteApproval,
        "mesh.k3s_vpn_auth",
        "with vpn-auth each node advertises its pod subnet as a tailnet route, which the tailnet must approve or cross-node pod traffic fails (k3s#8372)",
    ).with_help(format!(
        "the bundle's `{}` holds it (the same tags as its ACL rules):\n\"autoApprovers\": {{ \"routes\": {{ {} }} }}{}",
        crate::render::acl::path(c).unwrap_or("cluster/tailscale-acl.json"),
        cidrs
            .iter()
            .map(|x| format!("{x}: [\"{}\", \"{}\"]", crate::render::acl::SERVER_TAG, crate::render::acl::AGENT_TAG))
            .collect::<Vec<_>>()
            .join(", "),
        if c.mesh.provider == crate::spec::Provider::Headscale {
            // k3s pkg/vpn/vpn.go passes `--login-server` only from `controlServerURL=`
            "\nwith Headscale the vpn-auth file must also name the server, `name=tailscale,joinKey=<key>,controlServerURL=<your Headscale URL>`: k3s passes `--login-server` only from `controlServerURL=` (k3s pkg/vpn/vpn.go), and without it the node tries Tailscale's own service with the Headscale key"
        } else {
            ""
        }
    )));
}

fn registration(c: &Cluster, out: &mut Vec<Diagnostic>) {
    // a duplicated name (MS006) is one name here; a set keeps this linear in nodes
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let marked: Vec<&str> = c
        .nodes
        .iter()
        .filter(|n| !n.taints.is_empty() || !n.labels.is_empty())
        .map(|n| n.name.as_str())
        .filter(|name| seen.insert(name))
        .collect();
    if marked.is_empty() {
        return;
    }
    let mut names: Vec<String> = marked.iter().take(10).map(|n| format!("`{n}`")).collect();
    if marked.len() > 10 {
        names.push(format!("{} more nodes", marked.len() - 10));
    }
    out.push(Diagnostic::new(
        Code::TaintRegistrationOnly,
        "nodes",
        format!("labels and taints on {} apply when a node first registers; changing them later needs kubectl", names.join(", ")),
    ).with_help("`cluster/labels-taints.sh` in the bundle applies them to nodes that already exist; `meshspec plan NEW --from OLD` lists the nodes whose labels or taints changed"));
}

fn interface_ordering(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let with_iface: Vec<&Node> = c
        .nodes
        .iter()
        .filter(|n| n.flannel_iface.is_some() && n.node_ip_mode != NodeIpMode::VpnAuth)
        .collect();
    if with_iface.is_empty() {
        return;
    }
    out.push(Diagnostic::new(
        Code::InterfaceOrdering,
        "mesh.interface",
        format!("flannel uses `{}`, which must exist before k3s starts (k3s#367): at boot k3s can win the race against {}", c.mesh.interface, c.mesh.daemon_unit()),
    ).with_help(format!("the bundle's `etc/systemd/system/k3s.service.d/10-mesh.conf` (k3s-agent.service.d for agents) orders k3s after it, waits (up to {2}s) until `{1}` holds the node's mesh address, and on k3s versions with k3s#12436 (or unpinned) restarts k3s with it:\n[Unit]\nAfter={0}\nWants={0}\nPartOf={0}  (only where k3s#12436 applies)", c.mesh.daemon_unit(), c.mesh.interface, crate::render::dropin::WAIT_SECONDS)));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::keys_and_kinds;
    use crate::cluster::Cluster;
    use crate::code::Code;
    use crate::render::k3s::ConfigEntry;

    fn entry(key: &str, value: serde_json::Value, origin: &str) -> ConfigEntry {
        ConfigEntry {
            key: key.to_owned(),
            value,
            origin: origin.to_owned(),
        }
    }

    /// A value checked for one node is reused for the next only when the key and the value
    /// are the same: a different value, or another key at the same position, is checked.
    #[test]
    fn values_are_checked_per_node_unless_the_same() {
        let c = Cluster::from_yaml(
            "version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: server, mesh_ip: 100.64.0.2}\n  - {name: c, role: server, mesh_ip: 100.64.0.3}\n",
        )
        .unwrap();
        let good = || entry("server", json!("https://100.64.0.1:6443"), "k3s.server_url");
        let entries = [
            vec![good(), entry("token-file", json!("/etc/token"), "a.token")],
            vec![
                entry("server", json!("ftp://x"), "b.server"),
                entry("token-file", json!("/etc/token"), "b.token"),
            ],
            vec![good(), entry("server", json!("ftp://y"), "c.server")],
        ];
        let configs: Vec<_> = c
            .nodes
            .iter()
            .zip(&entries)
            .map(|(n, e)| (n, e.as_slice()))
            .collect();
        let mut out = Vec::new();
        keys_and_kinds(&configs, &mut out);
        let found: Vec<(Code, &str)> = out.iter().map(|d| (d.code, d.path.as_str())).collect();
        assert_eq!(
            found,
            [
                (Code::K3sKeyKind, "b.server"),
                (Code::K3sKeyKind, "c.server")
            ]
        );
    }
}
