//! `kubectl get nodes -o json`, read into the few facts the checks and the importer use.
//!
//! Accepts a `List` (`{"items": [...]}`, what `kubectl get nodes -o json` prints), a single
//! `Node` object, or a bare array of nodes. Every other field is ignored.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;

use crate::code::Code;
use crate::diagnostic::Diagnostic;

/// One node as the API server reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveNode {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations` (k3s's `k3s.io/node-args`, flannel's `public-ip` ...).
    pub annotations: BTreeMap<String, String>,
    /// `spec.podCIDRs` (or `spec.podCIDR` when the list is absent).
    pub pod_cidrs: Vec<String>,
    /// `spec.taints`, each as `key[=value]:Effect`.
    pub taints: Vec<String>,
    /// `status.addresses` of type `InternalIP`.
    pub internal_ips: Vec<IpAddr>,
    /// `status.addresses` of type `ExternalIP`.
    pub external_ips: Vec<IpAddr>,
    /// `status.nodeInfo.kubeletVersion`, e.g. `v1.33.5+k3s1`.
    pub kubelet_version: Option<String>,
    /// The `Ready` condition's status (`True`, `False`, `Unknown`), when reported.
    pub ready: Option<String>,
    /// The `Ready` condition's reason, when reported.
    pub ready_reason: Option<String>,
}

impl LiveNode {
    /// flannel's VXLAN endpoint (`flannel.alpha.coreos.com/public-ip`).
    #[must_use]
    pub fn flannel_public_ip(&self) -> Option<&str> {
        self.annotations
            .get("flannel.alpha.coreos.com/public-ip")
            .map(String::as_str)
    }

    /// Whether the node carries the control-plane role label.
    #[must_use]
    pub fn is_control_plane(&self) -> bool {
        self.labels
            .contains_key("node-role.kubernetes.io/control-plane")
    }

    /// The arguments k3s recorded in `k3s.io/node-args` (secrets already redacted by k3s),
    /// as `(flag, value)` pairs: `["server","--node-ip","10.0.0.1","--cluster-init"]` gives
    /// `node-ip=10.0.0.1` and `cluster-init=true`. The first item (the subcommand) is skipped.
    #[must_use]
    pub fn node_args(&self) -> Vec<(String, String)> {
        let Some(raw) = self.annotations.get("k3s.io/node-args") else {
            return Vec::new();
        };
        let args: Vec<String> = serde_json::from_str(raw).unwrap_or_default();
        let mut out = Vec::new();
        let mut i = 1;
        while let Some(a) = args.get(i) {
            i += 1;
            let Some(flag) = a.strip_prefix("--") else {
                continue;
            };
            if let Some((k, v)) = flag.split_once('=') {
                out.push((k.to_owned(), v.to_owned()));
            } else if let Some(v) = args.get(i).filter(|v| !v.starts_with("--")) {
                out.push((flag.to_owned(), v.clone()));
                i += 1;
            } else {
                out.push((flag.to_owned(), "true".to_owned()));
            }
        }
        out
    }

    /// The k3s environment recorded in `k3s.io/node-env` (e.g. `K3S_URL`).
    #[must_use]
    pub fn node_env(&self) -> BTreeMap<String, String> {
        self.annotations
            .get("k3s.io/node-env")
            .and_then(|raw| serde_json::from_str(raw).ok())
            .unwrap_or_default()
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RawNode {
    metadata: Meta,
    spec: Spec,
    status: Status,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Meta {
    name: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Spec {
    #[serde(rename = "podCIDR")]
    pod_cidr: Option<String>,
    #[serde(rename = "podCIDRs")]
    pod_cidrs: Vec<String>,
    taints: Vec<RawTaint>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTaint {
    key: String,
    value: Option<String>,
    effect: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Status {
    addresses: Vec<Address>,
    conditions: Vec<Condition>,
    node_info: NodeInfo,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Address {
    #[serde(rename = "type")]
    kind: String,
    address: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
    reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NodeInfo {
    kubelet_version: Option<String>,
}

impl From<RawNode> for LiveNode {
    fn from(r: RawNode) -> Self {
        let ips = |kind: &str| {
            r.status
                .addresses
                .iter()
                .filter(|a| a.kind == kind)
                .filter_map(|a| a.address.parse().ok())
                .collect()
        };
        let ready = r.status.conditions.iter().find(|c| c.kind == "Ready");
        let mut pod_cidrs = r.spec.pod_cidrs.clone();
        if pod_cidrs.is_empty() {
            pod_cidrs.extend(r.spec.pod_cidr.clone());
        }
        LiveNode {
            internal_ips: ips("InternalIP"),
            external_ips: ips("ExternalIP"),
            name: r.metadata.name,
            labels: r.metadata.labels,
            annotations: r.metadata.annotations,
            pod_cidrs,
            taints: r
                .spec
                .taints
                .iter()
                .map(|t| match &t.value {
                    Some(v) if !v.is_empty() => format!("{}={v}:{}", t.key, t.effect),
                    _ => format!("{}:{}", t.key, t.effect),
                })
                .collect(),
            kubelet_version: r.status.node_info.kubelet_version,
            ready: ready.map(|c| c.status.clone()),
            ready_reason: ready.and_then(|c| c.reason.clone()),
        }
    }
}

/// Reads `kubectl get nodes -o json` output.
///
/// # Errors
/// MS001 with the line and column when the text is not JSON of that shape.
pub fn parse_nodes(text: &str) -> Result<Vec<LiveNode>, Diagnostic> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let line = u32::try_from(e.line()).unwrap_or(u32::MAX);
        let column = u32::try_from(e.column()).unwrap_or(u32::MAX);
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
        let d = Diagnostic::new(
            Code::YamlSyntax,
            "",
            format!("not the JSON `kubectl get nodes -o json` prints: {msg}"),
        )
        .with_help("pass the output of `kubectl get nodes -o json` as it is");
        if line > 0 {
            d.at(line, column.max(1))
        } else {
            d
        }
    })?;
    let items = match value {
        serde_json::Value::Object(mut m) if m.contains_key("items") => {
            m.remove("items").unwrap_or_default()
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a),
        one => serde_json::Value::Array(vec![one]),
    };
    let raw: Vec<RawNode> = serde_json::from_value(items).map_err(|e| {
        Diagnostic::new(
            Code::YamlSyntax,
            "",
            format!("JSON, but not a node list as `kubectl get nodes -o json` prints it: {e}"),
        )
        .with_help("pass a `List` with `items`, one `Node`, or an array of nodes")
    })?;
    Ok(raw.into_iter().map(LiveNode::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_args_pairs_and_bare_switches() {
        let mut n = LiveNode::default();
        n.annotations.insert(
            "k3s.io/node-args".into(),
            r#"["server","--node-ip","10.0.0.1","--cluster-init","--token","********","--disable=traefik"]"#.into(),
        );
        assert_eq!(
            n.node_args(),
            [
                ("node-ip".to_owned(), "10.0.0.1".to_owned()),
                ("cluster-init".to_owned(), "true".to_owned()),
                ("token".to_owned(), "********".to_owned()),
                ("disable".to_owned(), "traefik".to_owned()),
            ]
        );
    }

    #[test]
    fn bad_json_is_ms001_with_a_position() {
        let e = parse_nodes("{\"items\": [\n  {,}\n]}").unwrap_err();
        assert_eq!(e.code, Code::YamlSyntax);
        assert_eq!(e.line, Some(2));
        assert!(parse_nodes("not json").is_err());
        assert!(parse_nodes("{\"items\": [{\"metadata\": 3}]}").is_err());
        assert_eq!(parse_nodes("{\"items\": []}").unwrap(), vec![]);
    }
}
