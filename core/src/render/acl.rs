//! The tailnet policy snippet: `cluster/tailscale-acl.json` for Tailscale,
//! `cluster/headscale-policy.json` for Headscale. It allows exactly the ports of
//! [`ports::required`] between the node tags (MS801), 6443/tcp to the servers from
//! `mesh.admins` (so `kubectl` from a laptop works), and with vpn-auth and flannel the pod
//! network (with Cilium k3s advertises no pod routes).
//!
//! It uses the `acls` form, which Tailscale and Headscale both accept. Tag owners come from
//! `mesh.tag_owners`: Tailscale's default `autogroup:admin` is refused by Headscale's policy v2
//! parser (`parseOwner`: users, groups or tags only), so a Headscale spec names them itself. It
//! is a snippet to merge into an existing policy; it defines the groups of `mesh.groups` and no
//! others (with Headscale it is the whole policy, so every group it names is defined there:
//! MS007 refuses the spec otherwise).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::cluster::{Cluster, NodeIpMode};
use crate::ports::{self, Proto, Scope};
use crate::spec::Provider;

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

/// The bundle path of the policy for this mesh, or `None` when the mesh is not Tailscale's.
#[must_use]
pub fn path(c: &Cluster) -> Option<&'static str> {
    match c.mesh.provider {
        Provider::Tailscale => Some("cluster/tailscale-acl.json"),
        Provider::Headscale => Some("cluster/headscale-policy.json"),
        Provider::Netbird | Provider::Wireguard => None,
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
    if !c.mesh.admins.is_empty() {
        // people reach the API from their own devices (kubectl); they are not tagged nodes
        acls.push(json!({
            "action": "accept",
            "src": c.mesh.admins,
            "proto": "tcp",
            "dst": [format!("{SERVER_TAG}:6443")],
        }));
    }
    // k3s advertises pod routes only with its flannel backend (never with Cilium's
    // `flannel-backend: none`: k3s pkg/agent/config/config.go, inside `if !NoFlannel`)
    let pod_routes = c.cni.flannel().is_some()
        && c.nodes
            .iter()
            .any(|n| n.node_ip_mode == NodeIpMode::VpnAuth);
    let mut out = json!({
        "tagOwners": {
            AGENT_TAG: c.mesh.tag_owners,
            SERVER_TAG: c.mesh.tag_owners,
        },
    });
    if pod_routes {
        // Pods are reached as subnet routes each node advertises. Routed pod packets keep
        // their pod source address (no SNAT between nodes: k3s#8372, k3s#10078), so the pod
        // network must be a source as well as a destination.
        let cidrs: Vec<String> = c
            .network
            .cluster_cidrs
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut src: Vec<String> = tags(false).into_iter().map(str::to_owned).collect();
        src.extend(cidrs.iter().cloned());
        acls.push(json!({
            "action": "accept",
            "src": src,
            "dst": cidrs.iter().map(|x| format!("{x}:*")).collect::<Vec<_>>(),
        }));
        let routes: BTreeMap<String, Vec<&str>> =
            cidrs.into_iter().map(|x| (x, tags(false))).collect();
        out["autoApprovers"] = json!({"routes": routes});
    }
    if !c.mesh.groups.is_empty() {
        out["groups"] = json!(c.mesh.groups);
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
        // routed pod packets keep pod source addresses: the pod network is a source too
        let pod_rule = v["acls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["dst"][0] == "10.42.0.0/16:*")
            .unwrap();
        assert_eq!(
            pod_rule["src"],
            json!([SERVER_TAG, AGENT_TAG, "10.42.0.0/16"])
        );
    }

    #[test]
    fn admins_reach_the_api_and_own_the_tags() {
        let c = Cluster::from_yaml(
            "version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
        )
        .unwrap();
        let v = policy(&c).unwrap();
        assert_eq!(v["tagOwners"][SERVER_TAG], json!(["autogroup:admin"]));
        let admin = v["acls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["src"] == json!(["autogroup:member"]))
            .unwrap();
        assert_eq!(admin["dst"], json!(["tag:k3s-server:6443"]));
        assert_eq!(path(&c), Some("cluster/tailscale-acl.json"));
    }

    #[test]
    fn headscale_policy_uses_the_named_owners() {
        let c = Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: headscale, tag_owners: [ops@], admins: [group:ops], groups: {\"group:ops\": [ops@]}}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
        assert!(!c.validate().has_errors());
        let text = acl_json(&c).unwrap();
        assert!(!text.contains("autogroup:admin"), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["tagOwners"][AGENT_TAG], json!(["ops@"]));
        assert_eq!(path(&c), Some("cluster/headscale-policy.json"));
    }

    #[test]
    fn headscale_refuses_autogroup_owners_with_a_code() {
        let c = Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: headscale, tag_owners: [autogroup:admin]}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
        let d = c.validate();
        let e = d.errors().next().unwrap();
        assert_eq!(e.code, crate::Code::InvalidValue);
        assert_eq!(e.path, "mesh.tag_owners[0]");
        let missing = Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: headscale}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
        assert!(
            missing
                .validate()
                .codes()
                .contains(&crate::Code::MissingField)
        );
    }

    #[test]
    fn embedded_registry_grants_5001_and_6443_between_all_nodes() {
        let spec = "version: 1\nname: lab\nk3s: {server_extra: {embedded-registry: true}}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: agent, mesh_ip: 100.64.0.2}\n";
        let v = policy(&Cluster::from_yaml(spec).unwrap()).unwrap();
        let all = v["acls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["src"] == json!([SERVER_TAG, AGENT_TAG]) && a["proto"] == "tcp")
            .unwrap();
        let dst: Vec<&str> = all["dst"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        for tag in [SERVER_TAG, AGENT_TAG] {
            let grant = dst
                .iter()
                .find(|d| d.starts_with(&format!("{tag}:")))
                .unwrap();
            let ports: Vec<&str> = grant.rsplit(':').next().unwrap().split(',').collect();
            assert!(
                ports.contains(&"5001") && ports.contains(&"6443"),
                "{grant}"
            );
        }
    }

    #[test]
    fn no_acl_for_other_meshes() {
        let c = Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: wireguard, interface: wg0}\nnodes:\n  - {name: a, role: server, mesh_ip: 10.99.0.1}\n").unwrap();
        assert!(acl_json(&c).is_none());
    }
}
