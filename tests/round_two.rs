//! Issue #18, "right on a real cluster, round two": each item's behaviour on the rendered
//! files, run where it can be (the shell fragments run in a scratch directory).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests write scratch files, run sh and fail by panicking"
)]

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use meshspec::Cluster;
use meshspec::render::install::{SERVER_TOKEN, install_script};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn scratch(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("meshspec-r2-{tag}-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `script` with `sh`, returning (exit code, stderr).
fn run_sh(script: &str) -> (i32, String) {
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The token section of a first server's `install.sh` (from `token_file=` through the mode
/// check), with k3s's own token path moved into `dir`.
fn first_server_token_section(dir: &std::path::Path) -> (String, PathBuf, PathBuf) {
    let token = dir.join("etc/token");
    let server = dir.join("server/token");
    let spec = format!(
        "version: 1\nname: lab\nk3s: {{token_file: '{}'}}\nnodes:\n  - {{name: a, role: server, mesh_ip: 100.64.0.1}}\n",
        token.display()
    );
    let c = Cluster::from_yaml(&spec).unwrap();
    let sh = install_script(&c, &c.nodes[0], &[]);
    let start = sh.find("token_file=").unwrap();
    let mode = sh.find("mode=$(stat").unwrap();
    let end = mode + sh[mode..].find("\nfi\n").unwrap() + 4;
    let section = sh[start..end].replace(SERVER_TOKEN, &server.display().to_string());
    assert!(
        !section.contains(SERVER_TOKEN),
        "the server token path appears once"
    );
    (format!("set -eu\n{section}"), token, server)
}

#[test]
fn item1_first_server_token_reuses_the_existing_datastore_token() {
    // an imported first server: k3s ran here, /etc/rancher/k3s/token was never written
    let dir = scratch("token-reuse");
    let (script, token, server) = first_server_token_section(&dir);
    fs::create_dir_all(server.parent().unwrap()).unwrap();
    fs::write(&server, "K10abc::server:old-secret\n").unwrap();
    let (code, err) = run_sh(&script);
    assert_eq!(code, 0, "{err}\n{script}");
    assert_eq!(
        fs::read_to_string(&token).unwrap(),
        "K10abc::server:old-secret\n"
    );
    let mode = Command::new("stat")
        .args(["-c", "%a"])
        .arg(&token)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&mode.stdout).trim(), "600");
    assert!(err.contains("copied its token"), "{err}");
    assert!(
        !err.contains("old-secret"),
        "the token is never printed: {err}"
    );
    assert!(!err.contains("openssl"), "{err}");
}

#[test]
fn item1_first_server_token_is_created_only_on_a_fresh_server() {
    let dir = scratch("token-fresh");
    let (script, token, _) = first_server_token_section(&dir);
    let (code, err) = run_sh(&script);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("fresh first server") && err.contains("openssl rand -hex 32"),
        "{err}"
    );
    assert!(!token.exists());
}

#[test]
fn item1_first_server_token_that_differs_from_the_datastore_stops_the_script() {
    let dir = scratch("token-differs");
    let (script, token, server) = first_server_token_section(&dir);
    fs::create_dir_all(server.parent().unwrap()).unwrap();
    fs::create_dir_all(token.parent().unwrap()).unwrap();
    fs::write(&server, "K10abc::server:old-secret\n").unwrap();
    fs::write(&token, "new-secret\n").unwrap();
    Command::new("chmod")
        .arg("600")
        .arg(&token)
        .status()
        .unwrap();
    let (code, err) = run_sh(&script);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("k3s would refuse to start"), "{err}");
    assert!(!err.contains("secret"), "no token is printed: {err}");
    // the passphrase alone (what `--token` was given) is the same token
    fs::write(&token, "old-secret\n").unwrap();
    let (code, err) = run_sh(&script);
    assert_eq!(code, 0, "{err}");
}

fn dropin_of(spec: &str, node: &str) -> String {
    let c = Cluster::from_yaml(spec).unwrap();
    let n = c.node(node).unwrap();
    meshspec::render::dropin::mesh_dropin(&c, n).unwrap()
}

const FLANNEL: &str = include_str!("../examples/specs/flannel-over-tailscale-gpu-worker.yaml");
const CILIUM: &str = include_str!("../examples/specs/cilium-vxlan-over-tailscale.yaml");

fn pinned(spec: &str, version: &str) -> String {
    assert!(
        spec.contains("\nk3s:\n  write_kubeconfig_mode:"),
        "the seed's k3s section"
    );
    spec.replacen("\nk3s:\n", &format!("\nk3s:\n  version: {version}\n"), 1)
}

#[test]
fn item11_part_of_only_where_flannel_rides_the_mesh_on_an_affected_version() {
    let agent = "k3s-gpu-worker";
    // flannel on tailscale0, unpinned: the stable channel may hold an affected release
    let unpinned = dropin_of(FLANNEL, agent);
    assert!(
        unpinned.contains("\nPartOf=tailscaled.service\n"),
        "{unpinned}"
    );
    // affected and fixed pins of the same line (k3s#12436 fixed in v1.33.13)
    let affected = dropin_of(&pinned(FLANNEL, "v1.33.12+k3s1"), agent);
    assert!(
        affected.contains("\nPartOf=tailscaled.service\n"),
        "{affected}"
    );
    let fixed = dropin_of(&pinned(FLANNEL, "v1.33.13+k3s1"), agent);
    assert!(!fixed.contains("PartOf="), "{fixed}");
    // After=/Wants= stay in every case
    for conf in [&unpinned, &affected, &fixed] {
        assert!(conf.contains("\nAfter=tailscaled.service network-online.target\n"));
        assert!(conf.contains("\nWants=tailscaled.service network-online.target\n"));
    }
    // Cilium never binds flannel to the mesh
    let c = Cluster::from_yaml(CILIUM).unwrap();
    for n in &c.nodes {
        if let Some(conf) = meshspec::render::dropin::mesh_dropin(&c, n) {
            assert!(!conf.contains("PartOf="), "{conf}");
            assert!(conf.contains("\nAfter=tailscaled.service "), "{conf}");
        }
    }
}

/// The `ExecStartPre=` script of a drop-in as `sh` reads it (systemd's `$$` is `$`).
fn wait_script(conf: &str) -> String {
    let line = conf
        .lines()
        .find_map(|l| l.strip_prefix("ExecStartPre=/bin/sh -c '"))
        .unwrap_or_else(|| panic!("no wait line in\n{conf}"));
    let body = line.strip_suffix('\'').unwrap();
    assert!(!body.contains('\''), "one single-quoted word");
    assert!(!body.contains('%'), "no systemd specifier");
    // every `$` is doubled for systemd
    assert!(!body.replace("$$", "").contains('$'), "{body}");
    body.replace("$$", "$")
}

#[test]
fn item12_dropin_waits_for_the_mesh_address_bounded() {
    let conf = dropin_of(FLANNEL, "k3s-gpu-worker");
    assert!(
        conf.contains("\n[Service]\nExecStartPre=/bin/sh -c '"),
        "{conf}"
    );
    let script = wait_script(&conf);
    assert!(script.contains("dev tailscale0") && script.contains(" 100.80.98.64/"));
    // run it against a stub `ip` that shows the address from its third call on
    let dir = scratch("wait");
    let count = dir.join("count");
    fs::write(
        dir.join("ip"),
        format!(
            "#!/bin/sh\nn=$(cat {c} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > {c}\n\
             if [ $n -ge 3 ]; then echo '5: tailscale0    inet 100.80.98.64/32 scope global tailscale0'; fi\n",
            c = count.display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(dir.join("ip"))
        .status()
        .unwrap();
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap());
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout
            .matches("waiting up to 120s for tailscale0 to have 100.80.98.64")
            .count(),
        1,
        "one clear log line: {stdout}"
    );
    assert_eq!(fs::read_to_string(&count).unwrap().trim(), "3");
    // bounded: an address that never comes gives up (bound shortened for the test)
    let never = script
        .replace("100.80.98.64", "100.80.98.99")
        .replace("-ge 120", "-ge 2");
    fs::write(&count, "0").unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(&never)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("still has no address 100.80.98.99"));
}

#[test]
fn item12_no_wait_when_k3s_brings_the_mesh_up_itself() {
    // vpn-auth: k3s runs `tailscale up`; waiting for the address before k3s would never end
    let c = Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: tailscale, k3s_vpn_auth: {key_file: /etc/rancher/k3s/vpn-auth}}\nnodes:\n  - {name: a, role: server}\n").unwrap();
    let conf = meshspec::render::dropin::mesh_dropin(&c, &c.nodes[0]).unwrap();
    assert!(!conf.contains("ExecStartPre"), "{conf}");
    assert!(conf.contains("\nAfter=tailscaled.service "), "{conf}");
}

#[test]
fn item4_plan_merges_the_policy_before_any_node_is_tagged() {
    for (spec, policy) in [
        (FLANNEL, "cluster/tailscale-acl.json"),
        (
            "version: 1\nname: lab\nmesh: {provider: headscale, tag_owners: [ops@]}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: agent, mesh_ip: 100.64.0.2}\n",
            "cluster/headscale-policy.json",
        ),
    ] {
        let plan = Cluster::from_yaml(spec).unwrap().plan_report();
        let rollout = &plan[plan.find("## Rollout").unwrap()..];
        let merge = rollout.find(&format!("merge `{policy}`")).expect(policy);
        // step one of the rollout, before the first install.sh
        assert!(
            rollout[..merge].ends_with("1. Tailnet policy first: "),
            "{rollout}"
        );
        assert!(merge < rollout.find("install.sh").unwrap());
        // the mesh-tags commands come after that merge
        let tags = &plan[plan.find("## Mesh tags").unwrap()..plan.find("## Rollout").unwrap()];
        assert!(
            tags.contains("after the policy is merged (rollout step 1)"),
            "{tags}"
        );
        // and it is merged once
        assert_eq!(
            plan.matches(&format!("`{policy}` into the tailnet policy"))
                .count(),
            1
        );
    }
}

fn headscale_vpn_auth() -> Cluster {
    Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: headscale, tag_owners: [ops@], k3s_vpn_auth: {key_file: /etc/rancher/k3s/vpn-auth}}\nnodes:\n  - {name: a, role: server}\n").unwrap()
}

#[test]
fn item6_headscale_vpn_auth_needs_control_server_url() {
    let c = headscale_vpn_auth();
    let plan = c.plan_report();
    assert!(
        plan.contains("controlServerURL=<your Headscale URL>"),
        "{plan}"
    );
    let d = c.validate();
    let ms408 = d
        .iter()
        .find(|x| x.code == meshspec::Code::VpnAuthRouteApproval)
        .unwrap();
    assert!(ms408.help.as_deref().unwrap().contains("controlServerURL="));
    // install.sh checks the key file names one, without printing it
    let sh = install_script(&c, &c.nodes[0], &[]);
    let start = sh.find("key_file=").unwrap();
    let end = start + sh[start..].find("\n# 1.").unwrap();
    let dir = scratch("vpn-auth");
    let key = dir.join("vpn-auth");
    let section = sh[start..end].replace(
        "key_file=/etc/rancher/k3s/vpn-auth",
        &format!("key_file={}", key.display()),
    );
    fs::write(&key, "name=tailscale,joinKey=hskey-secret-123\n").unwrap();
    let (code, err) = run_sh(&section);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("names no controlServerURL="), "{err}");
    assert!(
        !err.contains("hskey-secret-123"),
        "the key is never printed: {err}"
    );
    fs::write(
        &key,
        "name=tailscale,joinKey=hskey-secret-123,controlServerURL=https://hs.example.com\n",
    )
    .unwrap();
    let (code, err) = run_sh(&section);
    assert_eq!(code, 0, "{err}");
    // an empty value is no URL
    fs::write(&key, "name=tailscale,joinKey=k,controlServerURL=\n").unwrap();
    assert_eq!(run_sh(&section).0, 1);
    // Tailscale's own service needs no URL: no check
    let ts = Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: tailscale, k3s_vpn_auth: {key_file: /etc/rancher/k3s/vpn-auth}}\nnodes:\n  - {name: a, role: server}\n").unwrap();
    assert!(!install_script(&ts, &ts.nodes[0], &[]).contains("controlServerURL"));
}

#[test]
fn item7_cilium_vpn_auth_advertises_no_pod_routes() {
    let spec = "version: 1\nname: lab\ncni: {plugin: cilium}\nmesh: {provider: tailscale, k3s_vpn_auth: {key_file: /etc/rancher/k3s/vpn-auth}}\nnodes:\n  - {name: a, role: server}\n";
    let c = Cluster::from_yaml(spec).unwrap();
    let codes = c.validate().codes();
    assert!(
        !codes.contains(&meshspec::Code::VpnAuthRouteApproval),
        "{codes:?}"
    );
    assert!(
        !c.validate()
            .iter()
            .any(|d| d.code == meshspec::Code::K3sKnownBug && d.message.contains("k3s#11803")),
    );
    let acl = meshspec::render::acl::policy(&c).unwrap();
    assert!(acl.get("autoApprovers").is_none(), "{acl}");
    assert!(!acl.to_string().contains("10.42.0.0/16"), "{acl}");
    // the same spec with flannel keeps all three
    let flannel = Cluster::from_yaml(&spec.replace("cni: {plugin: cilium}\n", "")).unwrap();
    assert!(
        flannel
            .validate()
            .codes()
            .contains(&meshspec::Code::VpnAuthRouteApproval)
    );
    assert!(
        meshspec::render::acl::policy(&flannel).unwrap()["autoApprovers"]["routes"]["10.42.0.0/16"]
            .is_array()
    );
}

#[test]
fn item7_ms413_is_silent_on_fixed_versions_of_k3s_11803() {
    let spec = |v: &str| {
        format!(
            "version: 1\nname: lab\nk3s: {{version: {v}}}\nmesh: {{provider: tailscale, k3s_vpn_auth: {{key_file: /etc/rancher/k3s/vpn-auth}}}}\nnodes:\n  - {{name: a, role: server}}\n"
        )
    };
    let fires = |v: &str| {
        Cluster::from_yaml(&spec(v))
            .unwrap()
            .validate()
            .iter()
            .any(|d| d.code == meshspec::Code::K3sKnownBug && d.message.contains("k3s#11803"))
    };
    for v in [
        "v1.34.2+k3s1",
        "v1.33.6+k3s1",
        "v1.32.10+k3s1",
        "v1.31.13+k3s1",
    ] {
        assert!(fires(v), "{v}");
    }
    for v in [
        "v1.34.3+k3s1",
        "v1.33.7+k3s1",
        "v1.32.11+k3s1",
        "v1.35.0+k3s1",
        "v1.36.1+k3s1",
    ] {
        assert!(!fires(v), "{v}");
    }
}

fn import_cilium(values: &str) -> meshspec::import::Imported {
    use meshspec::import::{ImportInput, ImportNode, import};
    use meshspec::lint::ConfigFile;
    let input = ImportInput {
        name: Some("lab".to_owned()),
        nodes: vec![ImportNode {
            name: "s1".to_owned(),
            role: None,
            files: vec![ConfigFile::new(
                "s1.yaml",
                "cluster-init: true\nflannel-backend: none\ndisable-network-policy: true\nnode-ip: 100.64.0.1\n",
            )],
        }],
        nodes_json: None,
        cilium_values: Some(values.to_owned()),
    };
    import(&input).unwrap()
}

#[test]
fn item2_import_keeps_ciliums_default_ipam() {
    // no `ipam`: the chart's default, cluster-pool with 10.0.0.0/8, is what the cluster runs
    let imported = import_cilium("tunnelProtocol: vxlan\nMTU: 1280\n");
    let cil = imported.spec.cni.cilium.as_ref().unwrap();
    assert_eq!(cil.ipam, Some(meshspec::spec::CiliumIpam::ClusterPool));
    assert_eq!(
        cil.cluster_pool_cidr.map(|c| c.to_string()).as_deref(),
        Some("10.0.0.0/8")
    );
    assert!(
        imported.yaml.contains("ipam: cluster-pool"),
        "{}",
        imported.yaml
    );
    assert!(
        !imported.yaml.contains("ipam: kubernetes"),
        "{}",
        imported.yaml
    );
    // which rightly overlaps k3s's service network (MS703), with a TODO explaining it
    assert!(
        imported
            .diagnostics
            .codes()
            .contains(&meshspec::Code::CiliumPoolOverlap),
        "{:?}",
        imported.diagnostics.codes()
    );
    assert!(
        imported
            .todos
            .iter()
            .any(|t| t.path == "cni.cilium.cluster_pool_cidr"
                && t.reason.contains("never change the IPAM mode")),
        "{:?}",
        imported.todos
    );
    // a pool given without a mode is kept too
    let pool =
        import_cilium("ipam:\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.96.0.0/12]\n");
    let cil = pool.spec.cni.cilium.as_ref().unwrap();
    assert_eq!(cil.ipam, Some(meshspec::spec::CiliumIpam::ClusterPool));
    assert_eq!(
        cil.cluster_pool_cidr.map(|c| c.to_string()).as_deref(),
        Some("10.96.0.0/12")
    );
    // an explicit kubernetes mode stays kubernetes
    let k = import_cilium("ipam: {mode: kubernetes}\n");
    let cil = k.spec.cni.cilium.as_ref().unwrap();
    assert_eq!(cil.ipam, Some(meshspec::spec::CiliumIpam::Kubernetes));
}

#[test]
fn item2_import_lists_every_values_change() {
    let imported = import_cilium("tunnelProtocol: vxlan\nMTU: 1230\nhubble: {enabled: true}\n");
    let values: Vec<&str> = imported
        .todos
        .iter()
        .filter(|t| t.path == "cni.cilium.values")
        .map(|t| t.reason.as_str())
        .collect();
    // keys the render writes that the running values did not have
    assert!(
        values
            .iter()
            .any(|r| r.contains("add `ipam.mode: \"cluster-pool\"`")),
        "{values:#?}"
    );
    assert!(
        values
            .iter()
            .any(|r| r.contains("add `routingMode: \"tunnel\"`")),
        "{values:#?}"
    );
    // a value kept as given is no change
    assert!(
        !values.iter().any(|r| r.contains("`tunnelProtocol`")),
        "{values:#?}"
    );
    assert!(!values.iter().any(|r| r.contains("hubble")), "{values:#?}");
    // the TODOs are in the spec's text too
    for r in &values {
        assert!(imported.yaml.contains(*r), "{r}\n{}", imported.yaml);
    }
}

const HEADSCALE_GROUPS: &str = "version: 1\nname: lab\nmesh:\n  provider: headscale\n  tag_owners: [group:ops]\n  admins: [group:ops, alice@]\nGROUPSnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n";

#[test]
fn item5_headscale_groups_used_must_be_defined() {
    // the old policy named group:ops in tagOwners and acls with no `groups`: Headscale's
    // Policy.validate() fails with ErrGroupNotDefined
    let c = Cluster::from_yaml(&HEADSCALE_GROUPS.replace("GROUPS", "")).unwrap();
    let d = c.validate();
    let refused: Vec<&str> = d
        .errors()
        .filter(|e| e.code == meshspec::Code::UnknownReference)
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(refused, ["mesh.tag_owners[0]", "mesh.admins[0]"], "{d:?}");
    // defined: no error, and the whole policy carries the definition
    let c = Cluster::from_yaml(&HEADSCALE_GROUPS.replace(
        "GROUPS",
        "  groups:\n    \"group:ops\": [ops@, bob@example.com]\n",
    ))
    .unwrap();
    assert!(!c.validate().has_errors(), "{:?}", c.validate());
    let policy = meshspec::render::acl::policy(&c).unwrap();
    assert_eq!(
        policy["groups"],
        serde_json::json!({"group:ops": ["ops@", "bob@example.com"]})
    );
    // every group the policy names is defined in it
    assert_eq!(policy["acls"].to_string().matches("group:").count(), 1);
    assert!(policy["groups"].get("group:ops").is_some());
}

#[test]
fn item5_headscale_groups_grammar() {
    for (groups, path) in [
        ("  groups:\n    ops: [ops@]\n", "mesh.groups.ops"),
        ("  groups:\n    \"group:\": [ops@]\n", "mesh.groups.group:"),
        (
            "  groups:\n    \"group:ops\": [\"group:admins\"]\n",
            "mesh.groups.group:ops[0]",
        ),
        (
            "  groups:\n    \"group:ops\": [\"ops\\\"; rm -rf /\"]\n",
            "mesh.groups.group:ops[0]",
        ),
        (
            "  groups:\n    \"group:ops\": ops@\n",
            "mesh.groups.group:ops",
        ),
    ] {
        let spec = HEADSCALE_GROUPS.replace("GROUPS", groups);
        let err = Cluster::from_yaml(&spec).expect_err(groups);
        let e = err.errors().next().unwrap();
        assert_eq!(e.code, meshspec::Code::InvalidValue, "{groups}: {err:?}");
        assert_eq!(e.path, path, "{groups}");
    }
}

#[test]
fn item5_tailscale_fragment_plan_lists_groups_that_must_exist() {
    let spec = "version: 1\nname: lab\nmesh: {provider: tailscale, tag_owners: [group:ops], admins: [group:devs, group:ops]}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n";
    let c = Cluster::from_yaml(spec).unwrap();
    // a fragment: the tailnet's own policy may define them, so no error
    assert!(!c.validate().has_errors(), "{:?}", c.validate());
    let plan = c.plan_report();
    assert!(
        plan.contains(
            "Groups your tailnet policy must define before the merge: `group:ops`, `group:devs`"
        ),
        "{plan}"
    );
    // defined in the spec: rendered into the fragment, and no longer listed as missing
    let c = Cluster::from_yaml(&spec.replace(
        "admins: [group:devs, group:ops]}",
        "admins: [group:devs, group:ops], groups: {\"group:ops\": [alice@example.com], \"group:devs\": [bob@example.com]}}",
    ))
    .unwrap();
    assert!(!c.plan_report().contains("must define before the merge"));
    assert_eq!(
        meshspec::render::acl::policy(&c).unwrap()["groups"]["group:devs"],
        serde_json::json!(["bob@example.com"])
    );
}

#[test]
fn item8_ms956_help_removes_a_wrong_effect_taint_first() {
    let spec = include_str!("fixtures/invalid/MS956.yaml");
    let nodes = include_str!("fixtures/invalid/MS956.nodes.json");
    let mut json: serde_json::Value = serde_json::from_str(nodes).unwrap();
    for item in json["items"].as_array_mut().unwrap() {
        if item["metadata"]["name"] == "k3s-gpu-worker" {
            item["spec"]["taints"] = serde_json::json!([
                {"key": "gpu", "value": "true", "effect": "PreferNoSchedule"}
            ]);
        }
    }
    let c = Cluster::from_yaml(spec).unwrap();
    let d = meshspec::live::check_live(&c, &json.to_string()).unwrap();
    let ms956 = d
        .iter()
        .find(|x| x.code == meshspec::Code::LiveLabelsTaints && x.path.ends_with(".taints"))
        .unwrap();
    let help = ms956.help.as_deref().unwrap();
    let remove = help
        .find("`kubectl taint node k3s-gpu-worker gpu:PreferNoSchedule-`")
        .expect(help);
    let add = help
        .find("`kubectl taint node k3s-gpu-worker gpu=true:NoSchedule --overwrite`")
        .expect(help);
    assert!(remove < add, "{help}");
    // without a same-key taint the help is the plain add
    let d = meshspec::live::check_live(&c, nodes).unwrap();
    let help = d
        .iter()
        .find(|x| x.code == meshspec::Code::LiveLabelsTaints && x.path.ends_with(".taints"))
        .and_then(|x| x.help.clone())
        .unwrap();
    assert_eq!(
        help,
        "`kubectl taint node k3s-gpu-worker gpu=true:NoSchedule --overwrite`"
    );
}

#[test]
fn item9_no_proxy_check_accepts_a_cidr_with_host_bits_as_go_does() {
    let c = Cluster::from_yaml(FLANNEL).unwrap();
    let value = "localhost,127.0.0.0/8,10.0.0.0/8,100.64.0.0/10,fd7a:115c:a1e0::/48,172.16.0.0/12,192.168.2.20/24,192.168.0.0/24,.local,.svc,.cluster.local";
    let d = c.check_no_proxy(value);
    assert!(!d.has_errors(), "{d:?}");
    let note = d
        .iter()
        .find(|x| {
            x.code == meshspec::Code::NoProxyCidrSupport && x.message.contains("192.168.2.20/24")
        })
        .unwrap_or_else(|| panic!("{d:?}"));
    assert!(
        note.message.contains("`192.168.2.0/24`"),
        "{}",
        note.message
    );
    assert!(
        note.help
            .as_deref()
            .unwrap()
            .contains("clean form `192.168.2.0/24`")
    );
    // the block it stands for covers the home site: nothing is reported missing for it
    assert!(
        !d.codes().contains(&meshspec::Code::NoProxyMissing),
        "{d:?}"
    );
    // a spec's own no_proxy_extra stays strict (MS003-style truncation hint, not silent)
    let spec = FLANNEL.replace(
        "no_proxy_extra: [.local]",
        "no_proxy_extra: [.local, 192.168.2.20/24]",
    );
    assert_ne!(spec, FLANNEL);
    let codes = match Cluster::from_yaml(&spec) {
        Ok(c) => c.validate().codes(),
        Err(d) => d.codes(),
    };
    assert!(
        codes.contains(&meshspec::Code::NoProxyMalformed),
        "{codes:?}"
    );
}

fn lint_values(config: &str, values: &str) -> Vec<(meshspec::Code, String)> {
    use meshspec::lint::{CiliumValues, ConfigFile, LintOptions, NodeConfig, lint};
    let report = lint(
        &[NodeConfig {
            files: vec![ConfigFile::new("config.yaml", config)],
            role: Some(meshspec::k3s::flags::Role::Server),
        }],
        &LintOptions {
            cilium: Some(CiliumValues {
                file: ConfigFile::new("values.yaml", values),
                version: "1.18".to_owned(),
            }),
        },
    );
    report
        .findings
        .iter()
        .map(|f| (f.diagnostic.code, f.diagnostic.message.clone()))
        .collect()
}

const CILIUM_SERVER: &str = "cluster-init: true\nflannel-backend: none\ndisable-network-policy: true\nnode-ip: 10.100.0.5\n";

#[test]
fn item10_lint_cilium_values_refuses_kube_proxy_replacement_strict() {
    let found = lint_values(
        CILIUM_SERVER,
        "kubeProxyReplacement: strict\nipam: {mode: kubernetes}\n",
    );
    assert!(
        found.iter().any(|(c, m)| *c == meshspec::Code::CiliumSchema
            && m.contains("`kubeProxyReplacement: strict` fails the chart")),
        "{found:?}"
    );
    for ok in ["true", "false", "\"true\""] {
        let found = lint_values(
            CILIUM_SERVER,
            &format!("kubeProxyReplacement: {ok}\nipam: {{mode: kubernetes}}\n"),
        );
        assert!(
            found
                .iter()
                .all(|(c, _)| *c != meshspec::Code::CiliumSchema),
            "{ok}: {found:?}"
        );
    }
}

#[test]
fn item10_lint_cilium_values_checks_the_pool_against_services_and_nodes() {
    // no ipam: the chart's default cluster-pool 10.0.0.0/8 holds k3s's 10.43.0.0/16 and the node
    let found = lint_values(CILIUM_SERVER, "routingMode: tunnel\n");
    let ms703: Vec<&String> = found
        .iter()
        .filter(|(c, _)| *c == meshspec::Code::CiliumPoolOverlap)
        .map(|(_, m)| m)
        .collect();
    assert_eq!(ms703.len(), 1, "{found:?}");
    assert!(
        ms703[0].contains("the chart's default pool `10.0.0.0/8`"),
        "{}",
        ms703[0]
    );
    assert!(
        ms703[0].contains("the service network `10.43.0.0/16`"),
        "{}",
        ms703[0]
    );
    assert!(ms703[0].contains("10.100.0.5"), "{}", ms703[0]);
    // a pool clear of the services but holding a node address
    let found = lint_values(
        CILIUM_SERVER,
        "ipam:\n  mode: cluster-pool\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.96.0.0/11]\n",
    );
    let m = &found
        .iter()
        .find(|(c, _)| *c == meshspec::Code::CiliumPoolOverlap)
        .unwrap_or_else(|| panic!("{found:?}"))
        .1;
    assert!(
        m.contains("node addresses 10.100.0.5") && !m.contains("service"),
        "{m}"
    );
    // a pool that overlaps nothing, and the kubernetes mode, are quiet
    for values in [
        "ipam:\n  mode: cluster-pool\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.200.0.0/16]\n",
        "ipam: {mode: kubernetes}\n",
    ] {
        let found = lint_values(CILIUM_SERVER, values);
        assert!(
            found
                .iter()
                .all(|(c, _)| *c != meshspec::Code::CiliumPoolOverlap),
            "{values}: {found:?}"
        );
    }
    // the servers' own service-cidr is the one checked
    let found = lint_values(
        &format!("{CILIUM_SERVER}service-cidr: 10.200.0.0/16\n"),
        "ipam:\n  mode: cluster-pool\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.200.0.0/16]\n",
    );
    assert!(
        found
            .iter()
            .any(|(c, m)| *c == meshspec::Code::CiliumPoolOverlap && m.contains("`10.200.0.0/16`")),
        "{found:?}"
    );
}

const DUAL: &str = include_str!("fixtures/valid/dual-stack.yaml");

#[test]
fn item14_dual_stack_flannel_ipv6_device_is_70_below_its_interface() {
    let c = Cluster::from_yaml(DUAL).unwrap();
    // wg0 1420: pods get 1370 (flannel's FLANNEL_MTU, VXLAN over IPv4's 50) for both
    // families, flannel-v6.1 gets 1420 - 70 from the kernel
    assert_eq!(c.pod_mtu(), 1370);
    assert_eq!(c.pod_mtu_ipv6(), Some(1350));
    for n in &c.nodes {
        assert_eq!(c.flannel_v6_device_mtu(n), Some(1350), "{}", n.name);
    }
    let stack = c.mtu_stack(&c.nodes[0]).to_string();
    assert!(stack.contains("flannel-v6.1 at 1350"), "{stack}");
    let plan = c.plan_report();
    assert!(plan.contains("IPv6 between nodes: **1350**"), "{plan}");
    assert!(
        plan.contains("`-s 1302` (must pass) and `-s 1303` (must fail)"),
        "{plan}"
    );
    let b = c.render(&meshspec::RenderOptions::default()).unwrap();
    let verify = b.text("cluster/verify.sh").unwrap();
    assert!(
        verify.contains("ping -6 -c 1 -W 3 -M 'do' -s 1302 \"$ip6_"),
        "{verify}"
    );
    assert!(
        verify.contains("ping -6 -c 1 -W 3 -M 'do' -s 1303 \"$ip6_"),
        "{verify}"
    );
    assert!(verify.contains("flannel-v6.1 MTU' 1350"), "{verify}");
    // the IPv4 ping stays at the pod MTU
    assert!(verify.contains("-M 'do' -s 1342 \"$ip_"), "{verify}");
    // IPv4-only clusters have no IPv6 device
    let seed = Cluster::from_yaml(FLANNEL).unwrap();
    assert_eq!(seed.pod_mtu_ipv6(), None);
    assert!(
        !seed
            .mtu_stack(&seed.nodes[0])
            .to_string()
            .contains("flannel-v6.1")
    );
}

#[test]
fn item14_ms304_checks_flannels_ipv6_device() {
    // wg0 1340: pods 1290 (>= 1280) but flannel-v6.1 1270 (< 1280): IPv6 off that device
    let c = Cluster::from_yaml(&DUAL.replace("  mtu: 1420\n", "  mtu: 1340\n")).unwrap();
    assert_eq!(c.pod_mtu(), 1290);
    let d = c.validate();
    let e = d
        .errors()
        .find(|e| e.code == meshspec::Code::Ipv6MinMtu)
        .unwrap_or_else(|| panic!("{d:?}"));
    assert!(
        e.message.contains("flannel-v6.1") && e.message.contains("1270"),
        "{}",
        e.message
    );
    assert!(!Cluster::from_yaml(DUAL).unwrap().validate().has_errors());
}

#[test]
fn item13_vxlan_inside_tailscale_gets_the_udp_gro_rule_and_a_persisted_mitigation() {
    const DROPIN: &str = "etc/systemd/system/tailscaled.service.d/10-meshspec-udp-gro.conf";
    for spec in [FLANNEL, CILIUM] {
        let c = Cluster::from_yaml(spec).unwrap();
        assert!(
            c.validate()
                .codes()
                .contains(&meshspec::Code::TailscaleUdpGroTunnel),
            "{spec}"
        );
        let b = c.render(&meshspec::RenderOptions::default()).unwrap();
        for n in c.nodes.iter().filter(|n| c.tunnel_in_tailscale(n)) {
            let conf = b.text(&format!("nodes/{}/{DROPIN}", n.name)).unwrap();
            assert!(
                conf.ends_with("\n[Service]\nEnvironment=TS_TUN_DISABLE_UDP_GRO=true\n"),
                "{conf}"
            );
            let sh = b.text(&format!("nodes/{}/install.sh", n.name)).unwrap();
            assert!(
                sh.contains(&format!("\"$here\"/{DROPIN} /{DROPIN}")),
                "{sh}"
            );
            assert!(sh.contains("systemctl restart tailscaled from a console"));
            // install.sh never restarts tailscaled itself (it may run over Tailscale)
            assert!(!sh.contains("\nsystemctl restart tailscaled"));
        }
    }
    // no VXLAN inside Tailscale: vpn-auth (k3s's own backend), one node, a WireGuard mesh
    for spec in [
        "version: 1\nname: lab\nk3s: {server_url: \"https://100.64.0.1:6443\"}\nmesh: {provider: tailscale, k3s_vpn_auth: {key_file: /etc/rancher/k3s/vpn-auth}}\nnodes:\n  - {name: a, role: server}\n  - {name: b, role: agent}\n",
        "version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
        "version: 1\nname: lab\nmesh: {provider: wireguard, interface: wg0, ipv4_range: 10.99.0.0/24}\nnodes:\n  - {name: a, role: server, mesh_ip: 10.99.0.1}\n  - {name: b, role: agent, mesh_ip: 10.99.0.2}\n",
    ] {
        let c = Cluster::from_yaml(spec).unwrap();
        assert!(
            !c.validate()
                .codes()
                .contains(&meshspec::Code::TailscaleUdpGroTunnel),
            "{spec}"
        );
        let b = c.render(&meshspec::RenderOptions::default()).unwrap();
        assert!(!b.files.keys().any(|p| p.ends_with(DROPIN)), "{spec}");
    }
}
