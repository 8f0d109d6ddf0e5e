//! `cluster/tailscale-acl.json`: a tailnet policy snippet for Tailscale and Headscale meshes,
//! allowing exactly the ports of [`ports::required`] between the node tags (MS801).
//!
//! It uses the `acls` form, which Tailscale and Headscale both accept. It is a snippet to
//! merge into an existing policy, not a complete policy: it does not cover people or devices.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::cluster::{Cluster, NodeIpMode};
use crate::ports::{self, Proto, Scope};

/// The tag of server nodes.
pub const SERVER_TAG: &str = "tag:k3s-server";
/// The tag of agent nodes.
pub const AGENT_TAG: &str = "tag:k3s-agent";

fn tags(scope_servers_only: bool) -> Vec<&'static str> {
    if scope_servers_only {
        vec![SERVER_TAG]
    } else {
        vec![SERVER_TAG, AGENT_TAG]
    }
}

/// The policy as JSON, or `None` when the mesh is not Tailscale's.
///
/// ```
/// use meshspec::Cluster;
/// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
/// let policy = meshspec::render::acl::policy(&c).unwrap();
/// assert!(policy["tagOwners"]["tag:k3s-server"].is_array());
/// ```
#[must_use]
pub fn policy(c: &Cluster) -> Option<Value> {
    if !c.mesh.is_tailscale() {
        return None;
    }
    // (src servers only, dst servers only, proto) -> ports
    let mut groups: BTreeMap<(bool, bool, Proto), Vec<String>> = BTreeMap::new();
    for p in ports::required(c) {
        let (src_servers, dst_servers) = match p.scope {
            Scope::ToServers => (false, true),
            Scope::BetweenServers => (true, true),
            Scope::AllNodes => (false, false),
        };
        let port = match (p.proto, p.from == p.to) {
            (Proto::Icmp, _) => "*".to_owned(),
            (_, true) => p.from.to_string(),
            (_, false) => format!("{}-{}", p.from, p.to),
        };
        let entry = groups
            .entry((src_servers, dst_servers, p.proto))
            .or_default();
        if !entry.contains(&port) {
            entry.push(port);
        }
    }
    let mut acls: Vec<Value> = groups
        .into_iter()
        .map(|((src_s, dst_s, proto), ports)| {
            let ports = ports.join(",");
            let dst: Vec<String> = tags(dst_s)
                .into_iter()
                .map(|t| format!("{t}:{ports}"))
                .collect();
            json!({"action": "accept", "src": tags(src_s), "proto": proto.to_string(), "dst": dst})
        })
        .collect();
    let vpn_auth = c
        .nodes
        .iter()
        .any(|n| n.node_ip_mode == NodeIpMode::VpnAuth);
    let mut out = json!({
        "tagOwners": {
            AGENT_TAG: ["autogroup:admin"],
            SERVER_TAG: ["autogroup:admin"],
        },
    });
    if vpn_auth {
        // pods are reached as subnet routes each node advertises
        let cidrs: Vec<String> = c
            .network
            .cluster_cidrs
            .iter()
            .map(ToString::to_string)
            .collect();
        acls.push(json!({
            "action": "accept",
            "src": tags(false),
            "dst": cidrs.iter().map(|x| format!("{x}:*")).collect::<Vec<_>>(),
        }));
        let routes: BTreeMap<String, Vec<&str>> =
            cidrs.into_iter().map(|x| (x, tags(false))).collect();
        out["autoApprovers"] = json!({"routes": routes});
    }
    out["acls"] = Value::Array(acls);
    Some(out)
}

/// The file's text: pretty JSON with a trailing newline, or `None` when the mesh is not
/// Tailscale's.
#[must_use]
pub fn acl_json(c: &Cluster) -> Option<String> {
    policy(c).map(|v| crate::render::json_out::pretty(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_flannel_acl_parses_and_allows_the_ports() {
        let c = Cluster::from_yaml(include_str!(
            "../../../examples/specs/flannel-over-tailscale-gpu-worker.yaml"
        ))
        .unwrap();
        let text = acl_json(&c).unwrap();
        assert!(text.ends_with("}\n"));
        let v: Value = serde_json::from_str(&text).unwrap();
        let acls = v["acls"].as_array().unwrap();
        let dsts: Vec<String> = acls
            .iter()
            .flat_map(|a| a["dst"].as_array().unwrap().iter())
            .map(|d| d.as_str().unwrap().to_owned())
            .collect();
        assert!(dsts.contains(&"tag:k3s-server:6443".to_owned()), "{dsts:?}");
        assert!(
            dsts.contains(&"tag:k3s-agent:10250".to_owned())
                || dsts.contains(&"tag:k3s-agent:10250,8472".to_owned())
        );
        assert!(text.contains("8472"));
        assert!(v.get("autoApprovers").is_none());
        assert_eq!(acl_json(&c), acl_json(&c));
    }

    #[test]
    fn vpn_auth_approves_pod_routes() {
        let c = Cluster::from_yaml("version: 1\nname: lab\nmesh: {k3s_vpn_auth: {key_file: /etc/rancher/k3s/vpn-auth}}\nnodes:\n  - {name: a, role: server}\n").unwrap();
        assert_eq!(c.nodes[0].node_ip_mode, NodeIpMode::VpnAuth);
        let v = policy(&c).unwrap();
        assert!(
            v["autoApprovers"]["routes"]["10.42.0.0/16"].is_array(),
            "{v}"
        );
    }

    #[test]
    fn no_acl_for_other_meshes() {
        let c = Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: wireguard, interface: wg0}\nnodes:\n  - {name: a, role: server, mesh_ip: 10.99.0.1}\n").unwrap();
        assert!(acl_json(&c).is_none());
    }
}
