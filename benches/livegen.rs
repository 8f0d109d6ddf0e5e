//! What a running cluster of a spec reports, for the benches of `check-live` and `import`
//! (benches/entry_points.rs, benches/pipeline.rs): kept apart from specgen.rs, which the core's
//! own unit tests include too.

/// `kubectl get nodes -o json` of the cluster as the spec describes it running (for the
/// `check-live` and `import` benches).
pub fn nodes_json(c: &meshspec::Cluster) -> String {
    let items: Vec<serde_json::Value> = c
        .nodes
        .iter()
        .map(|n| {
            let mut labels = serde_json::Map::new();
            for (k, v) in &n.labels {
                labels.insert(k.clone(), v.clone().into());
            }
            labels.insert("kubernetes.io/hostname".into(), n.name.clone().into());
            if n.is_server() {
                labels.insert(
                    "node-role.kubernetes.io/control-plane".into(),
                    "true".into(),
                );
            }
            let mut annotations = serde_json::Map::new();
            if let Some(ip) = n.mesh_ips.first() {
                annotations.insert(
                    "flannel.alpha.coreos.com/public-ip".into(),
                    ip.to_string().into(),
                );
            }
            let addresses: Vec<serde_json::Value> = n
                .node_ips
                .iter()
                .map(|ip| serde_json::json!({"type": "InternalIP", "address": ip.to_string()}))
                .chain(std::iter::once(
                    serde_json::json!({"type": "Hostname", "address": n.name}),
                ))
                .collect();
            let cidrs: Vec<String> = n.pod_cidrs.iter().map(ToString::to_string).collect();
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": n.name, "labels": labels, "annotations": annotations},
                "spec": {"podCIDR": cidrs.first(), "podCIDRs": cidrs, "taints": n.taints.iter().map(|t| {
                    let (kv, effect) = t.rsplit_once(':').unwrap_or((t, "NoSchedule"));
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    serde_json::json!({"key": k, "value": v, "effect": effect})
                }).collect::<Vec<_>>()},
                "status": {
                    "addresses": addresses,
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                    "nodeInfo": {"kubeletVersion": "v1.33.5+k3s1"}
                }
            })
        })
        .collect();
    serde_json::to_string(&serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}))
        .unwrap()
}
