//! A Cilium values file given to `lint` with its chart line: the chart's schema, removed
//! keys, the chart's own fail rules and the MTU double subtraction.

use std::str::FromStr;

use serde_json::Value;

use super::merge::{ConfigFile, Merged, items};
use super::report::Finding;
use crate::cilium::{ChartLine, rules as chart, schema};
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::yaml::{self, Node, Pos};

/// A values file and the chart line (`1.19`) it is written for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiliumValues {
    /// The file's name and text.
    pub file: ConfigFile,
    /// The chart line, e.g. `1.19`.
    pub version: String,
}

impl CiliumValues {
    fn tree(&self) -> Option<Node> {
        yaml::parse(&self.file.text).ok()
    }

    /// Whether the values replace kube-proxy (`kubeProxyReplacement: true`).
    #[must_use]
    pub fn kube_proxy_replacement(&self) -> bool {
        self.tree()
            .map(|t| t.to_json())
            .and_then(|v| v.get("kubeProxyReplacement").cloned())
            .is_some_and(|v| v == Value::Bool(true) || v.as_str() == Some("true"))
    }
}

/// The position of a dotted Helm path's deepest key found in the tree.
fn position(tree: &Node, path: &str) -> Option<Pos> {
    let mut node = tree;
    let mut found = tree.pos;
    for part in path.split('.') {
        let part = part.split('[').next().unwrap_or(part);
        let yaml::Value::Map(m) = &node.value else {
            break;
        };
        let Some((k, v)) = m.iter().find(|(k, _)| k.name == part) else {
            break;
        };
        found = k.pos.or(found);
        node = v;
    }
    found
}

/// MTU values that are a mesh MTU minus a tunnel's overhead: Cilium subtracts it itself.
const PRESUBTRACTED: &[(u64, &str)] = &[
    (
        1230,
        "Tailscale's or NetBird's 1280 minus VXLAN/Geneve's 50",
    ),
    (
        1210,
        "Tailscale's or NetBird's 1280 minus VXLAN/Geneve's 70 over IPv6",
    ),
    (1370, "WireGuard's 1420 minus VXLAN/Geneve's 50"),
    (1350, "WireGuard's 1420 minus VXLAN/Geneve's 70 over IPv6"),
];

/// The cluster's networks as the linted configs show them, for MS703 on the values' pool.
#[derive(Debug, Clone, Default)]
pub(super) struct Networks {
    /// `service-cidr` of the servers (k3s's `10.43.0.0/16` when none sets it).
    service: Vec<crate::cidr::Cidr>,
    /// Every node's `node-ip` and `advertise-address`.
    nodes: Vec<std::net::IpAddr>,
}

impl Networks {
    pub(super) fn of(nodes: &[super::NodeConfig], servers: &[(usize, Merged)]) -> Self {
        let mut service: Vec<crate::cidr::Cidr> = servers
            .iter()
            .filter_map(|(_, m)| m.get("service-cidr"))
            .flat_map(|e| items("service-cidr", &e.value))
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        if service.is_empty() {
            service.extend(
                crate::cluster::DEFAULT_SERVICE_CIDR_V4
                    .parse::<crate::cidr::Cidr>()
                    .ok(),
            );
        }
        service.sort();
        service.dedup();
        let mut ips = Vec::new();
        for n in nodes {
            let (merged, _) = super::merge::merge(&n.files);
            for key in ["node-ip", "advertise-address"] {
                if let Some(e) = merged.get(key) {
                    ips.extend(
                        items(key, &e.value)
                            .iter()
                            .filter_map(|s| s.trim().parse::<std::net::IpAddr>().ok()),
                    );
                }
            }
        }
        ips.sort();
        ips.dedup();
        Self {
            service,
            nodes: ips,
        }
    }
}

/// The pool the values give Cilium's `cluster-pool` IPAM, as the chart renders it: `ipam.mode`
/// absent is the chart's default (`cluster-pool`), and the pool list absent is its default
/// (`10.0.0.0/8`, meshspec's vendored `values.yaml` defaults). `None` for another mode.
fn cluster_pool(line: ChartLine, json: &Value) -> Option<(Vec<crate::cidr::Cidr>, bool)> {
    let mode = json
        .get("ipam")
        .and_then(|i| i.get("mode"))
        .or_else(|| crate::cilium::chart_default(line, "ipam.mode"))
        .and_then(Value::as_str)?;
    if mode != "cluster-pool" {
        return None;
    }
    let given = json
        .get("ipam")
        .and_then(|i| i.get("operator"))
        .and_then(|o| o.get("clusterPoolIPv4PodCIDRList"));
    let list = given.or_else(|| {
        crate::cilium::chart_default(line, "ipam.operator.clusterPoolIPv4PodCIDRList")
    })?;
    let pools = match list {
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|s| s.parse().ok())
            .collect(),
        Value::String(s) => s.split([',', ' ']).filter_map(|s| s.parse().ok()).collect(),
        _ => Vec::new(),
    };
    Some((pools, given.is_none()))
}

pub(super) fn check(values: &CiliumValues, networks: &Networks, out: &mut Vec<Finding>) {
    let files = std::slice::from_ref(&values.file);
    let at = |d: Diagnostic, pos: Option<Pos>| {
        let p = pos.unwrap_or(Pos { line: 1, column: 1 });
        Finding::new(files, 0, d.at(p.line, p.column))
    };
    let tree = match yaml::parse(&values.file.text) {
        Ok(t) => t,
        Err(d) => {
            out.push(Finding::new(files, 0, d));
            return;
        }
    };
    let json = tree.to_json();
    let line = match ChartLine::from_str(&values.version) {
        Ok(l) => l,
        Err(e) => {
            out.push(at(Diagnostic::new(Code::CiliumVersion, "", format!("Cilium chart line `{}` is not supported; meshspec knows 1.18, 1.19 and 1.20", values.version)).with_help(e.hint()), None));
            return;
        }
    };
    for r in chart::removed_keys(line, &json) {
        let mut msg = format!(
            "`{}` was removed from the Cilium chart in {}",
            r.path, r.removed_in
        );
        match r.chart_failure {
            Some(f) => msg.push_str(&format!(": the chart fails with `{f}`")),
            None => msg.push_str(": the value does nothing"),
        }
        let help = r.replacement.map_or_else(
            || "remove it".to_owned(),
            |rep| format!("use {rep} instead"),
        );
        out.push(at(
            Diagnostic::new(Code::CiliumRemovedKey, &r.path, msg).with_help(help),
            position(&tree, &r.path),
        ));
    }
    if chart::auto_direct_routes_with_tunnel(&json) {
        out.push(at(Diagnostic::new(Code::AutoDirectRoutesTunnel, "autoDirectNodeRoutes", "`autoDirectNodeRoutes: true` with tunnel routing: the agent exits with `auto-direct-node-routes cannot be used with tunneling`").with_help("remove it: nodes on a mesh share no L2 segment"), position(&tree, "autoDirectNodeRoutes")));
    }
    for v in schema::check(line, &json) {
        out.push(at(Diagnostic::new(Code::CiliumSchema, &v.path, format!("{v} (chart {})", line.chart_version())).with_help("fix the value's type: the chart's values.schema.json refuses it and `helm install` fails"), position(&tree, &v.path)));
    }
    // the schema allows any string here; the chart's configmap template fails on anything but
    // true/false: "kubeProxyReplacement must be explicitly set to a valid value (true or
    // false) to continue"
    if let Some(v) = json.get("kubeProxyReplacement")
        && !chart::kube_proxy_replacement_valid(v)
    {
        out.push(at(Diagnostic::new(Code::CiliumSchema, "kubeProxyReplacement", format!("`kubeProxyReplacement: {}` fails the chart {}: it takes only `true` or `false` (`strict`, `partial` and `disabled` were removed in 1.16)", crate::render::line::one_line(&v.to_string()).trim_matches('"'), line.chart_version())).with_help("`strict` is `true` (with `k8sServiceHost`/`k8sServicePort` set); `partial` and `disabled` are `false`"), position(&tree, "kubeProxyReplacement")));
    }
    if let Some((pools, default_pool)) = cluster_pool(line, &json) {
        for p in &pools {
            let mut clashes: Vec<String> = networks
                .service
                .iter()
                .filter(|s| s.overlaps(p))
                .map(|s| format!("the service network `{s}`"))
                .collect();
            let inside: Vec<String> = networks
                .nodes
                .iter()
                .filter(|ip| p.contains_addr(**ip))
                .map(ToString::to_string)
                .collect();
            if !inside.is_empty() {
                clashes.push(format!("the node addresses {}", inside.join(", ")));
            }
            if clashes.is_empty() {
                continue;
            }
            let whose = if default_pool {
                format!(
                    "the chart's default pool `{p}` (the values set no `ipam.operator.clusterPoolIPv4PodCIDRList`)"
                )
            } else {
                format!("Cilium pool `{p}`")
            };
            out.push(at(
                Diagnostic::new(Code::CiliumPoolOverlap, "ipam.operator.clusterPoolIPv4PodCIDRList", format!("{whose} overlaps {}: pods would get addresses the cluster already uses", clashes.join(" and ")))
                    .with_help("set `ipam.operator.clusterPoolIPv4PodCIDRList` to a range that overlaps nothing; on a running cluster the pool cannot simply change (existing pods keep their addresses): plan the move with Cilium's IPAM docs"),
                json.get("ipam").and_then(|_| position(&tree, "ipam.operator.clusterPoolIPv4PodCIDRList")),
            ));
        }
    }
    if let Some(mtu) = json.get("MTU").and_then(Value::as_u64)
        && let Some((_, why)) = PRESUBTRACTED.iter().find(|(m, _)| *m == mtu)
    {
        out.push(at(Diagnostic::new(Code::CiliumMtuPresubtracted, "MTU", format!("`MTU: {mtu}` looks like {why}: Cilium's MTU is the underlay (mesh interface) MTU and it subtracts the tunnel overhead itself, so pods would lose it twice")).with_help("set `MTU` to the mesh interface's MTU (e.g. 1280 on Tailscale)"), position(&tree, "MTU")));
    }
}
