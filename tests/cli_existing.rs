//! The commands for clusters that already exist, as real processes: `lint`, `check-live`,
//! `import`. Exit codes as `validate`: 0 clean or warnings, 1 errors, 2 unreadable input.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails by panicking, helpers included"
)]

use std::fs;

use predicates::prelude::*;
use tempfile::TempDir;

#[path = "common/cli.rs"]
mod cli_common;
use cli_common::{fixture, meshspec, root};

/// An agent's config with a typo, and a drop-in that adds a server-only key.
fn agent_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    fs::write(
        dir.path().join("config.yaml"),
        "server: https://100.64.0.1:6443\nnode-ip: 100.64.0.2\nkublet-arg:\n  - max-pods=200\n",
    )
    .unwrap();
    fs::create_dir(dir.path().join("config.yaml.d")).unwrap();
    fs::write(
        dir.path().join("config.yaml.d/20-gpu.yaml"),
        "node-taint+:\n  - gpu=true:NoSchedul\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("config.yaml.d/10-x.yml"),
        "write-kubeconfig-mode: \"644\"\n",
    )
    .unwrap();
    dir
}

#[test]
fn lint_reports_every_finding_with_file_line_and_column() {
    let dir = agent_dir();
    let out = meshspec()
        .args(["lint", "--role", "agent", "--color", "never"])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("error[MS402]: k3s has no config key `kublet-arg`"),
        "{text}"
    );
    assert!(text.contains("config.yaml:3:1 (kublet-arg)"), "{text}");
    assert!(text.contains("did you mean `kubelet-arg`?"), "{text}");
    // the drop-ins are read, in name order, each finding pointing into its own file
    assert!(
        text.contains("config.yaml.d/10-x.yml:1:1 (write-kubeconfig-mode)"),
        "{text}"
    );
    assert!(text.contains("error[MS401]"), "{text}");
    assert!(
        text.contains("config.yaml.d/20-gpu.yaml:2:5 (node-taint+[0])"),
        "{text}"
    );
    assert!(text.contains("error[MS602]"), "{text}");
}

#[test]
fn lint_exit_codes_follow_validate() {
    let dir = TempDir::new().unwrap();
    let ok = dir.path().join("ok.yaml");
    fs::write(&ok, "cluster-init: true\nnode-ip: 100.64.0.1\n").unwrap();
    meshspec().arg("lint").arg(&ok).assert().code(0);
    let broken = dir.path().join("broken.yaml");
    fs::write(&broken, "node-ip: [\n").unwrap();
    meshspec()
        .arg("lint")
        .arg(&broken)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("MS001"));
    meshspec()
        .arg("lint")
        .arg(dir.path().join("missing.yaml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file"));
    // no --role: an agent by inference, said in an info
    let agent = dir.path().join("agent.yaml");
    fs::write(&agent, "server: https://100.64.0.1:6443\n").unwrap();
    meshspec()
        .args(["lint", "--format", "json"])
        .arg(&agent)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("checked as an agent"));
}

#[test]
fn lint_sarif_validates_against_the_sarif_2_1_0_schema() {
    let dir = agent_dir();
    let out = meshspec()
        .args(["lint", "--role", "agent", "--format", "sarif"])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let sarif: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(root().join("tests/data/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // and the schema is really checked: a broken document fails it
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let first = &results[0]["locations"][0]["physicalLocation"];
    assert!(
        first["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("config.yaml")
    );
    assert_eq!(first["region"]["startLine"], 3);
    assert_eq!(results[0]["ruleId"], "MS402");
}

#[test]
fn lint_checks_a_cilium_values_file() {
    let dir = TempDir::new().unwrap();
    let server = dir.path().join("server.yaml");
    fs::write(
        &server,
        "cluster-init: true\nflannel-backend: none\ndisable-network-policy: true\n",
    )
    .unwrap();
    let values = dir.path().join("values.yaml");
    fs::write(&values, "tunnel: vxlan\nMTU: 1230\n").unwrap();
    let out = meshspec()
        .args([
            "lint",
            "--color",
            "never",
            "--cilium-version",
            "1.19",
            "--cilium-values",
        ])
        .arg(&values)
        .arg(&server)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("error[MS701]"), "{text}");
    assert!(text.contains("values.yaml:1:1 (tunnel)"), "{text}");
    assert!(text.contains("warning[MS302]"), "{text}");
    assert!(text.contains("values.yaml:2:1 (MTU)"), "{text}");
}

#[test]
fn check_live_healthy_broken_and_unreadable() {
    let spec = fixture("valid/seed-flannel.yaml");
    meshspec()
        .arg("check-live")
        .arg(&spec)
        .arg("--nodes")
        .arg(fixture("live/seed-flannel.nodes.json"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no problems found"));
    // the node list on standard input, as `kubectl get nodes -o json |` gives it
    meshspec()
        .args(["check-live", "--format", "json"])
        .arg(fixture("invalid/MS953.yaml"))
        .args(["--nodes", "-"])
        .write_stdin(fs::read(fixture("invalid/MS953.nodes.json")).unwrap())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"code\": \"MS953\""));
    meshspec()
        .arg("check-live")
        .arg(&spec)
        .args(["--nodes", "-"])
        .write_stdin("{\"items\": [")
        .assert()
        .code(2)
        .stdout(predicate::str::contains("MS001"));
}

#[test]
fn import_writes_a_spec_that_validates_and_says_what_would_change() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("cluster.yaml");
    let seed = fixture("import/seed-flannel");
    let mut cmd = meshspec();
    cmd.arg("import");
    for n in [
        "k3s-master",
        "k3s-worker-01",
        "k3s-worker-02",
        "k3s-gpu-worker",
    ] {
        cmd.arg(format!("{n}={}", seed.join(format!("{n}.yaml")).display()));
    }
    cmd.arg("--nodes-json")
        .arg(fixture("live/seed-flannel.nodes.json"))
        .arg("-o")
        .arg(&out)
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "k3s would restart on 4 of 4 nodes (k3s-master, k3s-worker-01, k3s-worker-02, k3s-gpu-worker)",
        ))
        .stderr(predicate::str::contains("k3s-worker-01: render adds server, token-file"));
    let spec = fs::read_to_string(&out).unwrap();
    assert!(spec.contains("# TODO(name)"), "{spec}");
    meshspec().arg("validate").arg(&out).assert().code(0);
    // an existing (perhaps edited) spec is never overwritten without --force
    fs::write(&out, "# edited by hand\n").unwrap();
    let import_again = |force: bool| {
        let mut cmd = meshspec();
        cmd.arg("import")
            .arg(format!(
                "k3s-master={}",
                seed.join("k3s-master.yaml").display()
            ))
            .arg("-o")
            .arg(&out);
        if force {
            cmd.arg("--force");
        }
        cmd.assert()
    };
    import_again(false)
        .code(2)
        .stderr(predicate::str::contains("exists; nothing written"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(fs::read_to_string(&out).unwrap(), "# edited by hand\n");
    import_again(true).code(0);
    assert!(fs::read_to_string(&out).unwrap().contains("k3s-master"));
    // a bad NAME=PATH is a usage error
    meshspec()
        .args(["import", "no-equals-sign"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not NAME=PATH"));
}

#[test]
fn testbed_refuses_a_wrong_node_and_a_directory_that_is_no_bundle() {
    let spec = fixture("invalid/MS962.yaml");
    meshspec()
        .args(["testbed", "--node", "nosuch"])
        .arg(&spec)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--node nosuch: the spec has no such node",
        ))
        .stderr(predicate::str::contains("server, lan-agent, cloud"));
    let empty = TempDir::new().unwrap();
    meshspec()
        .arg("testbed")
        .arg(&spec)
        .arg("--bundle")
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a rendered bundle"));
    // a bundle without its record of the spec needs the spec
    let old = TempDir::new().unwrap();
    fs::create_dir(old.path().join("cluster")).unwrap();
    meshspec()
        .arg("testbed")
        .arg("--bundle")
        .arg(old.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no record of its spec"))
        .stderr(predicate::str::contains(
            "meshspec testbed SPEC --bundle DIR",
        ));
    // neither a spec nor a bundle: a usage error
    meshspec()
        .arg("testbed")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("<SPEC>"));
}

/// Whether this runs as root (the testbed needs network namespaces). Otherwise the test named
/// `test` is skipped loudly, unless `MESHSPEC_REQUIRE_NETNS=1` demands it (CI, as root).
fn root_or_skip(test: &str) -> bool {
    let root_user = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    if !root_user {
        assert!(
            std::env::var("MESHSPEC_REQUIRE_NETNS").as_deref() != Ok("1"),
            "MESHSPEC_REQUIRE_NETNS=1 but not root"
        );
        eprintln!("*** SKIPPED {test}: not root ***");
    }
    root_user
}

/// As root (CI): a bundle on disk with an opening widened to everyone gives MS962 as JSON on
/// standard output, progress with counts on standard error, exit 1, and no namespace left.
#[test]
fn testbed_finds_a_widened_opening_in_a_bundle_on_disk() {
    if !root_or_skip("testbed_finds_a_widened_opening_in_a_bundle_on_disk") {
        return;
    }
    let spec = fixture("invalid/MS962.yaml");
    let dir = TempDir::new().unwrap();
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(dir.path())
        .assert()
        .code(0);
    let script = dir.path().join("cluster/firewall/server.sh");
    let text = fs::read_to_string(&script).unwrap();
    let widened = text.replace(
        "add \"$f\" -s \"$addr\" -p tcp --dport 10250 -j ACCEPT",
        "add \"$f\" -p tcp --dport 10250 -j ACCEPT",
    );
    assert_ne!(text, widened);
    let line = widened
        .lines()
        .position(|l| l.contains("add \"$f\" -p tcp --dport 10250 -j ACCEPT"))
        .unwrap()
        + 1;
    fs::write(&script, widened).unwrap();
    // no SPEC: the network comes from the bundle's record of its spec (cluster/spec.json)
    let out = meshspec()
        .args(["testbed", "--format", "json", "--node", "server"])
        .arg("--bundle")
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("testbed: built 3 nodes"))
        .get_output()
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        assert_eq!(f["code"], "MS962", "{f}");
        assert_eq!(f["node"], "server", "{f}");
        assert_eq!(f["file"], "cluster/firewall/server.sh", "{f}");
        assert_eq!(f["line"], line, "{f}");
    }
    // every namespace of the run is gone
    let pid_prefix = "mstb-";
    let left = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let left = String::from_utf8_lossy(&left.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let run = stderr
        .split('(')
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap();
    assert!(run.starts_with(pid_prefix), "{stderr}");
    assert!(
        !left.lines().any(|l| l.starts_with(&format!("{run}-"))),
        "left behind: {left}"
    );
}

/// `import` given each node's rendered config.yaml and its wg0.conf (with a `PrivateKey` line,
/// as a hand-made one has): the spec holds the public keys, never the private ones.
#[test]
fn import_reads_wireguard_configs_and_never_prints_a_private_key() {
    let dir = TempDir::new().unwrap();
    let bundle = dir.path().join("bundle");
    meshspec()
        .arg("render")
        .arg(fixture("valid/wireguard-managed-nat-relay.yaml"))
        .arg("-o")
        .arg(&bundle)
        .assert()
        .code(0);
    let secret = "S3cr3tPRIVATExxxxxxxxxxxxxxxxxxxxxxxxxxxxx=";
    let mut args = Vec::new();
    for n in ["cloud-1", "home-1", "home-2", "office-1"] {
        let node = bundle.join("nodes").join(n);
        let wg = fs::read_to_string(node.join("etc/wireguard/wg0.conf")).unwrap();
        let wg = wg.replace(
            "[Interface]\n",
            &format!("[Interface]\nPrivateKey = {secret}\n"),
        );
        // named as an operator might keep it: content, not the extension, says what it is
        let wg_path = dir.path().join(format!("{n}-wg0.txt"));
        fs::write(&wg_path, wg).unwrap();
        args.push(format!(
            "{n}={}",
            node.join("etc/rancher/k3s/config.yaml").display()
        ));
        args.push(format!("{n}={}", wg_path.display()));
    }
    let out = dir.path().join("cluster.yaml");
    let assert = meshspec()
        .arg("import")
        .args(&args)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(0);
    let o = assert.get_output();
    let spec = fs::read_to_string(&out).unwrap();
    for text in [
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        spec.clone(),
    ] {
        assert!(!text.contains("S3cr3t"), "{text}");
    }
    assert!(spec.contains("provider: wireguard"), "{spec}");
    assert!(
        spec.contains("public_key: QnG9zjyLsfGZi3JO9HnBJ7YQuNTQcLAC/6y8DjMLon0="),
        "{spec}"
    );
    assert!(
        spec.contains("public_endpoint: 203.0.113.10:51820"),
        "{spec}"
    );
    assert!(spec.contains("stays on the node"), "{spec}");
    meshspec().arg("validate").arg(&out).assert().code(0);
    // garbage in a wg-quick config: the file and line, exit 2, and never the line's text
    let bad = dir.path().join("bad-wg0.conf");
    fs::write(
        &bad,
        format!("[Interface]\nAddress = 10.99.0.1/24\nPrivateKey {secret}\n"),
    )
    .unwrap();
    let assert = meshspec()
        .arg("import")
        .arg(&args[0])
        .arg(format!("cloud-1={}", bad.display()))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(err.contains("bad-wg0.conf:3:"), "{err}");
    assert!(!err.contains("S3cr3t"), "{err}");
}

/// As root (CI): `--keep` leaves every node's namespace up and says how to enter each, and the
/// line it prints to remove everything does remove the run's namespaces and its scratch
/// directory (the run's keys and the bundle under test), leaving no process behind.
#[test]
fn testbed_keep_leaves_the_nodes_up_and_its_remove_line_removes_everything() {
    if !root_or_skip("testbed_keep_leaves_the_nodes_up_and_its_remove_line_removes_everything") {
        return;
    }
    let out = meshspec()
        .arg("testbed")
        .arg(root().join("examples/specs/cilium-vxlan-over-tailscale.yaml"))
        .arg("--keep")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let namespaces = || {
        let o = std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    // one `ip netns exec <ns> bash    # <node>` line per node, each namespace up
    let entered: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("ip netns exec "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(entered.len(), 2, "{stderr}");
    let up = namespaces();
    for ns in &entered {
        assert!(up.iter().any(|n| n == ns), "{ns} is not up: {up:?}");
    }
    let run = entered[0].rsplit_once('-').unwrap().0.to_owned();
    let scratch = std::env::temp_dir().join(&run);
    assert!(scratch.is_dir(), "{}", scratch.display());
    let remove = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("remove everything: "))
        .unwrap_or_else(|| panic!("no remove line: {stderr}"))
        .to_owned();
    let status = std::process::Command::new("sh")
        .args(["-c", &remove])
        .status()
        .unwrap();
    assert!(status.success(), "{remove}");
    let left = namespaces();
    assert!(
        !left.iter().any(|n| n.starts_with(&format!("{run}-"))),
        "left behind: {left:?}"
    );
    assert!(!scratch.exists(), "{} is still there", scratch.display());
}
