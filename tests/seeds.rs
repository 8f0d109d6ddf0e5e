//! The two seed clusters (`docs/seeds.md`), reproduced: every key and value each seed shows
//! for a node is in that node's rendered config (read back as YAML), the Cilium values hold
//! every setting the first seed lists, the GPU node gets the seed's labels and taint, and
//! NO_PROXY covers everything the second seed's line covers. The token is the one deliberate
//! difference: it is referenced with `token-file`, never written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read fixtures and fail by panicking"
)]

use std::collections::BTreeSet;
use std::path::Path;

use meshspec::no_proxy::{self, Requirement};
use meshspec::{Bundle, Cluster, RenderOptions};
use serde_json::{Value, json};

fn render(example: &str) -> (Cluster, Bundle) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/specs")
        .join(example);
    let text = std::fs::read_to_string(path).unwrap();
    let cluster = Cluster::from_yaml(&text).unwrap();
    let bundle = cluster
        .render(&RenderOptions {
            spec_name: example.to_owned(),
        })
        .unwrap();
    (cluster, bundle)
}

fn config(bundle: &Bundle, node: &str) -> serde_json::Map<String, Value> {
    let text = bundle
        .text(&format!("nodes/{node}/etc/rancher/k3s/config.yaml"))
        .unwrap();
    let v: Value = serde_saphyr::from_str(&text).unwrap();
    v.as_object().unwrap().clone()
}

/// Scalars compared as k3s reads them: it stringifies every value (`644` and `"644"` agree).
fn k3s_text(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(k3s_text).collect()),
        Value::String(s) => Value::String(s.clone()),
        other => Value::String(other.to_string()),
    }
}

fn assert_holds(cfg: &serde_json::Map<String, Value>, node: &str, expected: &Value) {
    for (k, want) in expected.as_object().unwrap() {
        let got = cfg
            .get(k)
            .unwrap_or_else(|| panic!("{node}: config lacks `{k}`"));
        assert_eq!(k3s_text(got), k3s_text(want), "{node}: `{k}`");
    }
    assert!(
        !cfg.contains_key("token"),
        "{node}: the token must never be inline"
    );
    assert_eq!(
        cfg.get("token-file"),
        Some(&json!("/etc/rancher/k3s/token")),
        "{node}"
    );
}

/// Keys the renderer adds beyond what a seed shows, each required by the topology (docs/seeds.md,
/// "What meshspec adds to the seeds"). A new extra key fails here until it is documented.
fn extra_keys(cfg: &serde_json::Map<String, Value>, expected: &Value) -> BTreeSet<String> {
    let shown = expected.as_object().unwrap();
    cfg.keys()
        .filter(|k| !shown.contains_key(*k))
        .cloned()
        .collect()
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

#[test]
fn cilium_seed_configs() {
    let (_, bundle) = render("cilium-vxlan-over-tailscale.yaml");
    let master = json!({
        "node-ip": "100.113.23.108",
        "cluster-init": true,
        "disable": ["traefik"],
        "flannel-backend": "none",
        "disable-network-policy": true,
    });
    let worker = json!({"server": "https://100.113.23.108:6443", "node-ip": "100.96.103.31"});
    let m = config(&bundle, "beelink");
    let w = config(&bundle, "worker");
    assert_holds(&m, "beelink", &master);
    assert_holds(&w, "worker", &worker);
    assert_eq!(extra_keys(&m, &master), set(&["token-file"]));
    assert_eq!(extra_keys(&w, &worker), set(&["token-file"]));
}

#[test]
fn cilium_seed_values() {
    let (_, bundle) = render("cilium-vxlan-over-tailscale.yaml");
    let values: Value =
        serde_saphyr::from_str(&bundle.text("cluster/cilium-values.yaml").unwrap()).unwrap();
    for (k, v) in [
        ("routingMode", json!("tunnel")),
        ("tunnelProtocol", json!("vxlan")),
        ("autoDirectNodeRoutes", json!(false)),
        ("enableIPv4Masquerade", json!(true)),
        // the seed's `cilium_vxlan ... mtu 1280`: Cilium's MTU value is the underlay (tailscale0)
        ("MTU", json!(1280)),
    ] {
        assert_eq!(values.get(k), Some(&v), "cilium values `{k}`");
    }
    assert!(
        values.get("tunnel").is_none(),
        "the removed `tunnel` key must never be rendered"
    );
    let install = bundle.text("cluster/cilium-install.sh").unwrap();
    assert!(
        install.contains("-f \"$here/cilium-values.yaml\""),
        "helm upgrade always with the values file"
    );
}

#[test]
fn flannel_seed_configs() {
    let (cluster, bundle) = render("flannel-over-tailscale-gpu-worker.yaml");
    let master = json!({
        "write-kubeconfig-mode": 644,
        "cluster-init": true,
        "etcd-snapshot-dir": "/mnt/k3s-snapshots",
        "etcd-snapshot-schedule-cron": "0 */12 * * *",
        "etcd-snapshot-retention": 14,
        "node-ip": "192.168.2.20",
        "advertise-address": "100.84.89.67",
        "flannel-iface": "tailscale0",
        "tls-san": ["100.84.89.67", "192.168.2.20"],
    });
    let m = config(&bundle, "k3s-master");
    assert_holds(&m, "k3s-master", &master);
    assert_eq!(extra_keys(&m, &master), set(&["token-file"]));
    for (node, ip) in [
        ("k3s-worker-01", "192.168.2.21"),
        ("k3s-worker-02", "192.168.2.22"),
    ] {
        let want = json!({"node-ip": ip, "flannel-iface": "tailscale0"});
        let cfg = config(&bundle, node);
        assert_holds(&cfg, node, &want);
        // agents must name a server to join; the seed's workers had it from their install env
        assert_eq!(
            extra_keys(&cfg, &want),
            set(&["server", "token-file"]),
            "{node}"
        );
    }
    let gpu_want = json!({
        "server": "https://100.84.89.67:6443",
        "node-ip": "100.80.98.64",
        "flannel-iface": "tailscale0",
    });
    let gpu = config(&bundle, "k3s-gpu-worker");
    assert_holds(&gpu, "k3s-gpu-worker", &gpu_want);
    assert_eq!(
        gpu.get("node-label"),
        Some(&json!(["gpu-type=rtx3060", "nvidia.com/gpu=true"]))
    );
    assert_eq!(gpu.get("node-taint"), Some(&json!(["gpu=true:NoSchedule"])));
    assert_eq!(
        extra_keys(&gpu, &gpu_want),
        set(&["node-label", "node-taint", "token-file"])
    );
    assert!(cluster.node("k3s-gpu-worker").unwrap().is_tainted());
}

#[test]
fn flannel_seed_no_proxy_covers_the_seed_line() {
    let (cluster, _) = render("flannel-over-tailscale-gpu-worker.yaml");
    let ours = cluster.no_proxy().unwrap();
    let seed = "127.0.0.0/8,10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,.local,localhost";
    let mut needs: Vec<Requirement> = Vec::new();
    for e in seed.split(',') {
        match e.parse() {
            Ok(cidr) => needs.push(Requirement::Range(cidr)),
            // `.local` stands for every name under it
            Err(_) if e.starts_with('.') => needs.push(Requirement::Host(format!("registry{e}"))),
            Err(_) => needs.push(Requirement::Host(e.to_owned())),
        }
    }
    assert_eq!(
        no_proxy::missing(&ours, &needs),
        Vec::<Requirement>::new(),
        "ours: {ours:?}"
    );
    // and what kubectl logs/exec need: every node address, the mesh range, pod and service networks
    assert!(no_proxy::missing(&ours, &cluster.no_proxy_requirements()).is_empty());
}

#[test]
fn gpu_worker_pod_subnets_follow_join_order() {
    let (cluster, _) = render("flannel-over-tailscale-gpu-worker.yaml");
    let pods: Vec<(String, String)> = cluster
        .nodes_in_join_order()
        .map(|n| {
            (
                n.name.clone(),
                n.pod_cidrs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            )
        })
        .collect();
    assert_eq!(
        pods[0],
        ("k3s-master".to_owned(), "10.42.0.0/24".to_owned())
    );
    assert_eq!(
        pods[3],
        ("k3s-gpu-worker".to_owned(), "10.42.3.0/24".to_owned())
    );
}
