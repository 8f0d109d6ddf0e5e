//! Per-node resolution: names, sites, node-ip, advertise-address, tls-san, flannel-iface,
//! GPU labels and taint, the init server, the server URL and the join order.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::model::{Cni, Node, NodeIpMode, Proxy};
use super::{API_PORT, Cluster};
use crate::cidr::Family;
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::netaddr::Host;
use crate::spec::{NodeIpChoice, Role};

pub(super) fn resolve_nodes(c: &mut Cluster) {
    check_names(c);
    let mut pending: Vec<Diagnostic> = Vec::new();
    let site_names: BTreeSet<String> = c.sites.iter().map(|s| s.name.clone()).collect();
    let families = c.network.families();
    let vpn_auth = c.mesh.vpn_auth_key_file.is_some();
    let cilium = matches!(c.cni, Cni::Cilium(_));

    // Sites first: a node naming an unknown site is reported and treated as site-less.
    let mut sites: Vec<Option<String>> = Vec::with_capacity(c.spec.nodes.len());
    for (i, n) in c.spec.nodes.iter().enumerate() {
        let site = match &n.site {
            Some(s) if site_names.contains(s) => Some(s.clone()),
            Some(s) => {
                let near = crate::suggest::nearest(s, site_names.iter().map(String::as_str));
                let help = match near {
                    Some(n) => format!("did you mean `{n}`?"),
                    None if site_names.is_empty() => "add the site under `sites:`".to_owned(),
                    None => format!(
                        "known sites: {}",
                        site_names
                            .iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                let d = Diagnostic::new(
                    Code::UnknownReference,
                    format!("nodes[{i}].site"),
                    format!(
                        "node `{}` names site `{s}`, which `sites:` does not define",
                        n.name
                    ),
                )
                .with_help(help);
                pending.push(d);
                None
            }
            None => None,
        };
        sites.push(site);
    }
    // A node without a site is a network of its own: the cluster spans several networks when
    // two nodes' localities differ (compared in place, nothing copied).
    let mut all = c.spec.nodes.iter().zip(&sites).map(|(n, s)| match s {
        Some(site) => (true, site.as_str()),
        None => (false, n.name.as_str()),
    });
    c.multi_site = all.next().is_some_and(|first| all.any(|l| l != first));
    let server_sites: Vec<Option<String>> = c
        .spec
        .nodes
        .iter()
        .zip(&sites)
        .filter(|(n, _)| n.role == Role::Server)
        .map(|(_, s)| s.clone())
        .collect();

    if !c.spec.nodes.is_empty() && server_sites.is_empty() {
        let d = Diagnostic::new(Code::NoServer, "nodes", "no node has `role: server`").with_help(
            format!(
                "make the first node a server: `role: server` on `{}`",
                c.spec.nodes.first().map_or("", |n| n.name.as_str())
            ),
        );
        c.push_resolution(d);
    } else if c.spec.nodes.is_empty() {
        c.push_resolution(
            Diagnostic::new(
                Code::NoServer,
                "nodes",
                "`nodes` is empty: a cluster needs at least one server",
            )
            .with_help("add a node with `role: server`"),
        );
    }

    let first_server = c.spec.nodes.iter().position(|n| n.role == Role::Server);
    let mut nodes = Vec::with_capacity(c.spec.nodes.len());
    for (i, n) in c.spec.nodes.iter().enumerate() {
        // each node's site is read here for the last time: moved, not copied
        let site = sites.get_mut(i).and_then(Option::take);
        let lan_ips = order_by(&n.lan_ip, &families);
        let mesh_ips = order_by(&n.mesh_ip, &families);
        let all_servers_here = site.is_some() && server_sites.iter().all(|s| *s == site);
        let choice = n.node_ip.unwrap_or(NodeIpChoice::Auto);
        let mode = if vpn_auth {
            NodeIpMode::VpnAuth
        } else {
            match choice {
                NodeIpChoice::Lan => NodeIpMode::Lan,
                NodeIpChoice::Mesh => NodeIpMode::Mesh,
                NodeIpChoice::Auto => {
                    if !lan_ips.is_empty() && all_servers_here && !(cilium && c.multi_site) {
                        NodeIpMode::Lan
                    } else {
                        NodeIpMode::Mesh
                    }
                }
            }
        };
        if choice == NodeIpChoice::Lan && lan_ips.is_empty() {
            pending.push(
                Diagnostic::new(
                    Code::MissingField,
                    format!("nodes[{i}].lan_ip"),
                    format!("node `{}` has `node_ip: lan` but no `lan_ip`", n.name),
                )
                .with_help("add the node's LAN address, or use `node_ip: auto`"),
            );
        }
        let source = match mode {
            NodeIpMode::Lan => &lan_ips,
            NodeIpMode::Mesh | NodeIpMode::VpnAuth => &mesh_ips,
        };
        let node_ips: Vec<IpAddr> = source
            .iter()
            .copied()
            .filter(|ip| families.contains(&Family::of(*ip)))
            .collect();
        let (mut labels, mut taints) = labels_and_taints(n);
        let extra = if n.role == crate::spec::Role::Server {
            &c.spec.k3s.server_extra
        } else {
            &c.spec.k3s.agent_extra
        };
        apply_extras(extra, &mut labels, &mut taints);
        let proxy = node_proxy(c, i, site.as_deref());
        nodes.push(Node {
            index: i,
            name: n.name.clone(),
            role: n.role,
            site,
            lan_ips,
            mesh_ips,
            node_ip_mode: mode,
            node_ip_explicit: choice != NodeIpChoice::Auto,
            node_ips,
            advertise_address: None,
            tls_san: Vec::new(),
            flannel_iface: None,
            pod_cidrs: n.pod_cidr.clone(),
            pod_cidr_pinned: !n.pod_cidr.is_empty(),
            labels,
            taints,
            init: Some(i) == first_server,
            gpu: n.gpu.is_some(),
            proxy,
            public_endpoint: n.public_endpoint.clone(),
            wireguard_public_key: n.wireguard.as_ref().and_then(|w| w.public_key.clone()),
        });
    }

    // Join order: the init server first, then spec order.
    let mut order: Vec<usize> = first_server.into_iter().collect();
    order.extend((0..nodes.len()).filter(|i| Some(*i) != first_server));
    c.join_order = order;

    // The server URL: explicit, else the first server's mesh address (LAN when it has none).
    if !c.k3s.server_url_explicit
        && let Some(first) = first_server.and_then(|i| nodes.get(i))
        && let Some(ip) = first.mesh_ips.first().or(first.lan_ips.first()).copied()
    {
        c.k3s.server_url = match ip {
            IpAddr::V4(v4) => format!("https://{v4}:{API_PORT}"),
            IpAddr::V6(v6) => format!("https://[{v6}]:{API_PORT}"),
        };
        c.k3s.server_host = Some(Host::Ip(ip));
    }
    if c.k3s.server_url.is_empty() && first_server.is_some() && nodes.len() > 1 {
        c.push_resolution(
            Diagnostic::new(
                Code::MissingField,
                "k3s.server_url",
                "joining nodes need `k3s.server_url`: the first server has no mesh or LAN address in the spec",
            )
            .with_help("set `k3s.server_url: https://<first server's address>:6443`"),
        );
    }

    // Someone joins over the mesh when a node-ip is a mesh address or nodes span sites.
    let over_mesh = c.multi_site || nodes.iter().any(|n| n.node_ip_mode != NodeIpMode::Lan);
    let server_host_name = match &c.k3s.server_host {
        Some(Host::Name(name)) => Some(name.clone()),
        _ => None,
    };
    let server_host_ip = match &c.k3s.server_host {
        Some(Host::Ip(ip)) => Some(*ip),
        _ => None,
    };
    let flannel_over_mesh = matches!(c.cni, Cni::Flannel(_)) && over_mesh && !vpn_auth;
    for n in &mut nodes {
        if flannel_over_mesh {
            n.flannel_iface = Some(c.mesh.interface.clone());
        }
        if !n.is_server() {
            continue;
        }
        let mut san: Vec<String> = Vec::new();
        if n.node_ip_mode == NodeIpMode::Lan && over_mesh {
            n.advertise_address = n.mesh_ips.first().copied();
            san.extend(n.mesh_ips.iter().map(ToString::to_string));
            san.extend(n.lan_ips.iter().map(ToString::to_string));
        }
        if let Some(suffix) = &c.mesh.dns_suffix {
            san.push(format!("{}.{suffix}", n.name));
        }
        if let Some(name) = &server_host_name {
            let own = c
                .mesh
                .dns_suffix
                .as_ref()
                .is_some_and(|s| *name == format!("{}.{s}", n.name));
            if !own {
                san.push(name.clone());
            }
        }
        // An IP server URL that k3s does not put in the certificate by itself (the mesh IP of a
        // server whose node-ip is its LAN address, a VIP, another server) must be in every
        // server's certificate: agents may reach any of them there.
        if let Some(ip) = server_host_ip
            && !n.node_ips.contains(&ip)
            && n.advertise_address != Some(ip)
            && !nodes_have_agent_ip(&c.spec, ip)
        {
            san.push(ip.to_string());
        }
        let mut seen = BTreeSet::new();
        san.retain(|s| seen.insert(s.clone()));
        n.tls_san = san;
    }
    c.nodes = nodes;
    for d in pending {
        c.push_resolution(d);
    }
}

fn nodes_have_agent_ip(spec: &crate::spec::Spec, ip: IpAddr) -> bool {
    spec.nodes
        .iter()
        .filter(|n| n.role == Role::Agent)
        .any(|n| n.lan_ip.contains(&ip) || n.mesh_ip.contains(&ip))
}

/// Addresses ordered by the cluster's family order (primary first); others keep their order after.
fn order_by(ips: &[IpAddr], families: &[Family]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::with_capacity(ips.len());
    for f in families {
        out.extend(ips.iter().filter(|ip| Family::of(**ip) == *f));
    }
    out.extend(
        ips.iter()
            .filter(|ip| !families.contains(&Family::of(**ip))),
    );
    out
}

fn labels_and_taints(n: &crate::spec::NodeSpec) -> (BTreeMap<String, String>, Vec<String>) {
    let mut labels = n.labels.clone();
    let mut taints = n.taints.clone();
    if let Some(gpu) = &n.gpu {
        let key = match gpu.vendor.as_str() {
            "amd" => "amd.com/gpu",
            "intel" => "gpu.intel.com/present",
            _ => "nvidia.com/gpu",
        };
        labels
            .entry(key.to_owned())
            .or_insert_with(|| "true".to_owned());
        if let Some(model) = &gpu.model {
            labels
                .entry("gpu-type".to_owned())
                .or_insert_with(|| model.clone());
        }
        let has_gpu_taint = taints
            .iter()
            .any(|t| t.split([':', '=']).next() == Some("gpu"));
        if !has_gpu_taint {
            taints.push("gpu=true:NoSchedule".to_owned());
        }
    }
    (labels, taints)
}

/// `node-label`/`node-taint` in `server_extra`/`agent_extra` are merged with the node's own
/// `labels`, `taints` and `gpu` label and taint, as k3s merges a repeated flag
/// (`--node-taint a --node-taint b` registers both): the node's own come first, then the
/// extras' (a label key both set takes the extra's value, a taint both list is kept once).
/// The rendered config (`render::k3s::config_entries`) writes the merged lists, so verify.sh
/// tolerates and labels-taints.sh applies exactly what the node registers with (e.g.
/// `node-taint: [CriticalAddonsOnly=true:NoExecute]` on every server), and no node's own taint
/// or label is dropped.
fn apply_extras(
    extra: &BTreeMap<String, serde_json::Value>,
    labels: &mut BTreeMap<String, String>,
    taints: &mut Vec<String>,
) {
    // one item per list element, never split at commas: k3s does not split `node-label` or
    // `node-taint` (`DisableSliceFlagSeparator`, and neither is in k3s's own comma-split list),
    // and the rendered config writes exactly these items
    let items = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str())
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect(),
            serde_json::Value::String(x) if !x.trim().is_empty() => vec![x.trim().to_owned()],
            _ => Vec::new(),
        }
    };
    if let Some(v) = extra.get("node-taint") {
        for t in items(v) {
            if !taints.contains(&t) {
                taints.push(t);
            }
        }
    }
    if let Some(v) = extra.get("node-label") {
        for kv in items(v) {
            let (k, v) = match kv.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (kv, String::new()),
            };
            labels.insert(k, v);
        }
    }
}

fn check_names(c: &mut Cluster) {
    let mut found = Vec::new();
    // looked up by name only, never in order: a hash map
    let mut seen: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(c.spec.nodes.len());
    for (i, n) in c.spec.nodes.iter().enumerate() {
        if let Some(first) = seen.insert(&n.name, i) {
            found.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    format!("nodes[{i}].name"),
                    format!("nodes[{first}] and nodes[{i}] are both named `{}`", n.name),
                )
                .with_help("node names are hostnames and must be unique in the cluster"),
            );
        }
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, s) in c.spec.sites.iter().enumerate() {
        if let Some(first) = seen.insert(&s.name, i) {
            found.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    format!("sites[{i}].name"),
                    format!("sites[{first}] and sites[{i}] are both named `{}`", s.name),
                )
                .with_help("merge their subnets into one site, or rename one"),
            );
        }
    }
    for d in found {
        c.push_resolution(d);
    }
}

/// The proxy of node `i`: its own `proxy`, else its site's, else the cluster-wide one; `none`
/// at a level turns it off below.
fn node_proxy(c: &Cluster, i: usize, site: Option<&str>) -> Option<Proxy> {
    use crate::spec::ProxyOverride;
    let from = |o: &ProxyOverride, path: String| match o {
        ProxyOverride::Off => None,
        ProxyOverride::Set(p) => Some(Proxy::from_spec(p, &path)),
    };
    if let Some(o) = c.spec.nodes.get(i).and_then(|n| n.proxy.as_ref()) {
        return from(o, format!("nodes[{i}].proxy"));
    }
    let site = site.and_then(|name| {
        c.spec
            .sites
            .iter()
            .enumerate()
            .find(|(_, s)| s.name == name)
    });
    if let Some((j, o)) = site.and_then(|(j, s)| s.proxy.as_ref().map(|o| (j, o))) {
        return from(o, format!("sites[{j}].proxy"));
    }
    c.proxy.clone()
}
