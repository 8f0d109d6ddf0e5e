//! Rendered files checked against the vendored upstream facts, read back from the files
//! themselves: every k3s config key exists in k3s's flag table for that node's role with the
//! right kind of value, and every Cilium values file passes its chart line's
//! `values.schema.json` and none of the chart's own `fail` rules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read fixtures and fail by panicking"
)]

use std::path::Path;

use meshspec::cilium::{ChartLine, rules as chart, schema};
use meshspec::k3s::flags::{self, Role};
use meshspec::{Cluster, RenderOptions};
use serde_json::Value;

fn valid_bundles() -> Vec<(String, Cluster, meshspec::Bundle)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/valid");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let cluster = Cluster::from_yaml(&text).unwrap();
        let bundle = cluster.render(&RenderOptions::default()).unwrap();
        out.push((
            path.file_name().unwrap().to_string_lossy().into_owned(),
            cluster,
            bundle,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 8);
    out
}

#[test]
fn every_rendered_k3s_key_is_a_flag_of_the_nodes_role_with_the_right_kind() {
    let table = flags::table();
    let mut checked = 0;
    for (name, cluster, bundle) in valid_bundles() {
        for node in &cluster.nodes {
            let path = format!("nodes/{}/etc/rancher/k3s/config.yaml", node.name);
            let config: Value = serde_saphyr::from_str(&bundle.text(&path).unwrap()).unwrap();
            let role = if node.is_server() {
                Role::Server
            } else {
                Role::Agent
            };
            for (key, value) in config.as_object().unwrap() {
                let flag = table
                    .get(key)
                    .unwrap_or_else(|| panic!("{name} {path}: k3s has no key `{key}`"));
                assert!(
                    flag.config_file_key,
                    "{name} {path}: `{key}` does nothing in config.yaml"
                );
                assert!(
                    flag.accepts(role),
                    "{name} {path}: `{key}` is not accepted by a k3s {role}"
                );
                if let Err(e) = flags::check_value(flag, value) {
                    panic!("{name} {path}: {e}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "only {checked} keys checked");
}

#[test]
fn every_rendered_cilium_values_file_passes_its_chart_schema_and_fail_rules() {
    let mut files = 0;
    for (name, cluster, bundle) in valid_bundles() {
        let Some(cilium) = cluster.cni.cilium() else {
            assert!(
                bundle.text("cluster/cilium-values.yaml").is_none(),
                "{name}: flannel has no Cilium values"
            );
            continue;
        };
        let line: ChartLine = cilium.version.parse().unwrap();
        let values: Value =
            serde_saphyr::from_str(&bundle.text("cluster/cilium-values.yaml").unwrap()).unwrap();
        assert_eq!(schema::check(line, &values), Vec::new(), "{name}");
        assert!(chart::removed_keys(line, &values).is_empty(), "{name}");
        assert!(!chart::auto_direct_routes_with_tunnel(&values), "{name}");
        assert!(
            chart::kube_proxy_replacement_valid(&values["kubeProxyReplacement"]),
            "{name}"
        );
        assert_eq!(values["routingMode"], "tunnel", "{name}");
        files += 1;
    }
    assert!(files >= 3, "only {files} Cilium bundles");
}
