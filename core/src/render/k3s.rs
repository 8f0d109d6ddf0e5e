//! Each node's `/etc/rancher/k3s/config.yaml`: only keys that differ from k3s's defaults or
//! that the topology needs, plus every value the spec set explicitly.
//!
//! The config is built as ordered entries first ([`config_entries`]) so the rules can check
//! exactly what will be written (roles, kinds, critical args), then printed ([`config_yaml`]).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::cidr::Family;
use crate::cluster::{Cilium, Cluster, Cni, Node, NodeIpMode};
use crate::render::yaml_out;
use crate::spec::FlannelBackend;

/// One key of a k3s config file and the spec field it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    /// The k3s flag name, e.g. `node-ip`.
    pub key: String,
    /// Its value: a scalar or a list of scalars.
    pub value: Value,
    /// The spec path that produced it (`k3s.agent_extra.disable`, `nodes[1].mesh_ip`).
    pub origin: String,
}

fn push(out: &mut Vec<ConfigEntry>, key: &str, value: Value, origin: impl Into<String>) {
    out.push(ConfigEntry {
        key: key.to_owned(),
        value,
        origin: origin.into(),
    });
}

fn one_or_list(items: Vec<String>) -> Value {
    match items.as_slice() {
        [one] => Value::String(one.clone()),
        _ => Value::Array(items.into_iter().map(Value::String).collect()),
    }
}

/// The config entries of one node, in the order they are written.
///
/// ```
/// use meshspec::Cluster;
/// use meshspec::render::k3s::config_entries;
/// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: agent, mesh_ip: 100.64.0.2}\n").unwrap();
/// let agent = c.node("b").unwrap();
/// let keys: Vec<String> = config_entries(&c, agent).into_iter().map(|e| e.key).collect();
/// assert_eq!(keys, ["server", "token-file", "node-ip", "flannel-iface"]);
/// ```
#[must_use]
pub fn config_entries(c: &Cluster, n: &Node) -> Vec<ConfigEntry> {
    let mut out = derived_entries(c, n);
    let (extra, field) = if n.is_server() {
        (&c.k3s.server_extra, "k3s.server_extra")
    } else {
        (&c.k3s.agent_extra, "k3s.agent_extra")
    };
    // the extras' keys are distinct (a map): only the derived entries, a few dozen, can hold
    // one already, so each extra looks there only (linear in the extras, not quadratic)
    let derived = out.len();
    for (k, v) in extra {
        let origin = format!("{field}.{k}");
        // the model already merged these with the node's own (as k3s merges repeated flags):
        // the derived entry holds both, and replacing it would drop the node's taints
        if matches!(k.as_str(), "node-label" | "node-taint")
            && out[..derived].iter().any(|e| e.key == *k)
        {
            continue;
        }
        match out[..derived].iter_mut().find(|e| e.key == *k) {
            Some(e) => {
                e.value = v.clone();
                e.origin = origin;
            }
            None => push(&mut out, k, v.clone(), origin),
        }
    }
    out
}

/// [`config_entries`] of every node, in `nodes` order: computed once by
/// [`Cluster::render`](crate::Cluster::render) for both the rules and the files.
pub(crate) fn all_config_entries(c: &Cluster) -> Vec<Vec<ConfigEntry>> {
    c.nodes.iter().map(|n| config_entries(c, n)).collect()
}

/// The entries meshspec derives from the spec, before `server_extra`/`agent_extra` apply.
#[must_use]
pub fn derived_entries(c: &Cluster, n: &Node) -> Vec<ConfigEntry> {
    let mut out = Vec::new();
    let np = format!("nodes[{}]", n.index);
    if !n.init && !c.k3s.server_url.is_empty() {
        push(
            &mut out,
            "server",
            json!(c.k3s.server_url),
            "k3s.server_url",
        );
    }
    push(
        &mut out,
        "token-file",
        json!(c.k3s.token_file),
        "k3s.token_file",
    );
    if n.init {
        push(&mut out, "cluster-init", json!(true), format!("{np}.role"));
    }
    if n.node_ip_mode != NodeIpMode::VpnAuth && !n.node_ips.is_empty() {
        let field = if n.node_ip_mode == NodeIpMode::Lan {
            "lan_ip"
        } else {
            "mesh_ip"
        };
        push(
            &mut out,
            "node-ip",
            one_or_list(n.node_ips.iter().map(ToString::to_string).collect()),
            format!("{np}.{field}"),
        );
    }
    if let Some(a) = n.advertise_address {
        push(
            &mut out,
            "advertise-address",
            json!(a.to_string()),
            format!("{np}.mesh_ip"),
        );
    }
    if !n.tls_san.is_empty() {
        push(&mut out, "tls-san", json!(n.tls_san), np.clone());
    }
    if let Some(iface) = &n.flannel_iface {
        push(&mut out, "flannel-iface", json!(iface), "mesh.interface");
    }
    if n.is_server() {
        server_keys(c, &mut out);
    }
    if let Some(f) = &c.mesh.vpn_auth_key_file {
        push(
            &mut out,
            "vpn-auth-file",
            json!(f),
            "mesh.k3s_vpn_auth.key_file",
        );
    }
    if !n.labels.is_empty() {
        let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        push(
            &mut out,
            "node-label",
            json!(labels),
            format!("{np}.labels"),
        );
    }
    if !n.taints.is_empty() {
        push(
            &mut out,
            "node-taint",
            json!(n.taints),
            format!("{np}.taints"),
        );
    }
    out
}

/// Keys only servers take: CNI switches, networks, components, snapshots.
fn server_keys(c: &Cluster, out: &mut Vec<ConfigEntry>) {
    match &c.cni {
        Cni::Cilium(cil) => cilium_keys(cil, out),
        Cni::Flannel(f) => {
            if f.backend_explicit || f.backend != FlannelBackend::Vxlan {
                push(
                    out,
                    "flannel-backend",
                    json!(f.backend.to_string()),
                    "cni.flannel.backend",
                );
            }
        }
    }
    let net = &c.network;
    let spec_net = &c.spec.network;
    let default_v4 = [
        crate::cluster::DEFAULT_CLUSTER_CIDR_V4,
        crate::cluster::DEFAULT_SERVICE_CIDR_V4,
    ];
    let cluster_cidrs: Vec<String> = net.cluster_cidrs.iter().map(ToString::to_string).collect();
    if !spec_net.cluster_cidr.is_empty() || cluster_cidrs != [default_v4[0]] {
        push(
            out,
            "cluster-cidr",
            one_or_list(cluster_cidrs),
            "network.cluster_cidr",
        );
    }
    let service_cidrs: Vec<String> = net.service_cidrs.iter().map(ToString::to_string).collect();
    if !spec_net.service_cidr.is_empty() || service_cidrs != [default_v4[1]] {
        push(
            out,
            "service-cidr",
            one_or_list(service_cidrs),
            "network.service_cidr",
        );
    }
    let tenth: Vec<_> = net.service_cidrs.iter().filter_map(|s| s.nth(10)).collect();
    if !spec_net.cluster_dns.is_empty() || net.cluster_dns != tenth {
        push(
            out,
            "cluster-dns",
            one_or_list(net.cluster_dns.iter().map(ToString::to_string).collect()),
            "network.cluster_dns",
        );
    }
    if spec_net.cluster_domain.is_some() || net.cluster_domain != "cluster.local" {
        push(
            out,
            "cluster-domain",
            json!(net.cluster_domain),
            "network.cluster_domain",
        );
    }
    let mut kcm = Vec::new();
    for (family, mask) in &net.node_masks {
        let default = if *family == Family::Ipv4 { 24 } else { 64 };
        if spec_net.node_cidr_mask.is_some() || *mask != default {
            let fam = if *family == Family::Ipv4 {
                "ipv4"
            } else {
                "ipv6"
            };
            kcm.push(format!("node-cidr-mask-size-{fam}={mask}"));
        }
    }
    if !kcm.is_empty() {
        push(
            out,
            "kube-controller-manager-arg",
            json!(kcm),
            "network.node_cidr_mask",
        );
    }
    if !c.k3s.disable.is_empty() {
        push(out, "disable", json!(c.k3s.disable), "k3s.disable");
    }
    if let Some(m) = &c.k3s.write_kubeconfig_mode {
        push(
            out,
            "write-kubeconfig-mode",
            json!(m),
            "k3s.write_kubeconfig_mode",
        );
    }
    if let Some(s) = &c.k3s.etcd_snapshots {
        if let Some(d) = &s.dir {
            push(out, "etcd-snapshot-dir", json!(d), "k3s.etcd_snapshots.dir");
        }
        if let Some(cron) = &s.schedule {
            push(
                out,
                "etcd-snapshot-schedule-cron",
                json!(cron),
                "k3s.etcd_snapshots.schedule",
            );
        }
        if let Some(r) = s.retention {
            push(
                out,
                "etcd-snapshot-retention",
                json!(r),
                "k3s.etcd_snapshots.retention",
            );
        }
    }
}

fn cilium_keys(cil: &Cilium, out: &mut Vec<ConfigEntry>) {
    push(out, "flannel-backend", json!("none"), "cni.plugin");
    push(out, "disable-network-policy", json!(true), "cni.plugin");
    if cil.kube_proxy_replacement {
        push(
            out,
            "disable-kube-proxy",
            json!(true),
            "cni.cilium.kube_proxy_replacement",
        );
    }
}

/// The text of a node's config file, with a generated-file header.
#[must_use]
pub fn config_yaml(c: &Cluster, n: &Node) -> String {
    config_yaml_of(c, n, &config_entries(c, n))
}

/// [`config_yaml`], given the node's [`config_entries`].
pub(crate) fn config_yaml_of(c: &Cluster, n: &Node, entries: &[ConfigEntry]) -> String {
    let mut s = String::with_capacity(512);
    let role = if n.is_server() { "server" } else { "agent" };
    let _ = writeln!(
        s,
        "# Generated by meshspec for cluster `{}`: do not edit by hand.",
        yaml_out::comment(&c.name)
    );
    let _ = writeln!(
        s,
        "# k3s {role} `{}`; regenerate with `meshspec render`.",
        yaml_out::comment(&n.name)
    );
    for e in entries {
        yaml_out::write_entry(&mut s, &e.key, &e.value, 0);
    }
    s
}
