//! The conveniences a newcomer expects from the command line (issue #11): `schema`, `init`,
//! `completions`, `man`, `--quiet`, `acknowledge:` and `--format json` on `render` and `plan`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read files and fail by panicking"
)]

use std::path::PathBuf;
use std::process::Command;

use assert_cmd::prelude::*;
use predicates::prelude::*;
use tempfile::TempDir;

#[path = "common/cli.rs"]
mod cli_common;
use cli_common::{meshspec_process as meshspec, root};

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn schema() -> jsonschema::Validator {
    let text = stdout_of(meshspec().arg("schema"));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&value).expect("a valid JSON Schema")
}

fn yaml_to_json(text: &str) -> serde_json::Value {
    meshspec::yaml::parse(text).unwrap().to_json()
}

fn spec_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["examples/specs", "tests/fixtures/valid"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 5);
    files
}

#[test]
fn schema_prints_the_committed_schema() {
    let printed = stdout_of(meshspec().arg("schema"));
    let committed = std::fs::read_to_string(root().join("schema/meshspec.schema.json")).unwrap();
    assert_eq!(printed, committed);
}

#[test]
fn the_schema_accepts_every_example_spec() {
    let v = schema();
    for p in spec_files() {
        let doc = yaml_to_json(&std::fs::read_to_string(&p).unwrap());
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", p.display());
    }
}

#[test]
fn the_schema_rejects_unknown_keys_and_words() {
    let v = schema();
    let ok = yaml_to_json(
        "version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
    );
    assert!(v.is_valid(&ok));
    for bad in [
        // unknown key at the top, in a block, in a node
        "version: 1\nname: lab\nnetwrk: {}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
        "version: 1\nname: lab\nmesh: {provder: tailscale}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
        "version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1, lan: x}\n",
        // a word the decoder does not know, a wrong version, a missing key
        "version: 1\nname: lab\nnodes:\n  - {name: a, role: master, mesh_ip: 100.64.0.1}\n",
        "version: 2\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
        "version: 1\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
        // acknowledging an error
        "version: 1\nname: lab\nacknowledge: [{code: MS101, reason: x}]\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
    ] {
        assert!(!v.is_valid(&yaml_to_json(bad)), "accepted:\n{bad}");
    }
}

#[test]
fn init_writes_a_starter_spec_that_validates_as_written() {
    let v = schema();
    for flags in [
        vec![],
        vec![
            "--provider",
            "headscale",
            "--cni",
            "cilium",
            "--sites",
            "home,cloud",
        ],
        vec!["--provider", "wireguard", "--sites", "dc1"],
        vec!["--provider", "netbird", "--cni", "cilium"],
    ] {
        let d = TempDir::new().unwrap();
        meshspec()
            .current_dir(d.path())
            .arg("init")
            .args(&flags)
            .assert()
            .code(0)
            .stderr(predicate::str::contains("wrote cluster.yaml"));
        let spec = d.path().join("cluster.yaml");
        meshspec()
            .arg("validate")
            .arg(&spec)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("0 errors"));
        let text = std::fs::read_to_string(&spec).unwrap();
        assert!(v.is_valid(&yaml_to_json(&text)), "{flags:?}\n{text}");
        // the spec is commented for a reader
        assert!(
            text.lines()
                .filter(|l| l.trim_start().starts_with('#'))
                .count()
                > 10
        );
    }
}

#[test]
fn init_never_overwrites_without_force_and_prints_with_dash() {
    let d = TempDir::new().unwrap();
    let spec = d.path().join("lab.yaml");
    std::fs::write(&spec, "mine\n").unwrap();
    meshspec()
        .arg("init")
        .arg(&spec)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exists; nothing written"));
    assert_eq!(std::fs::read_to_string(&spec).unwrap(), "mine\n");
    meshspec()
        .arg("init")
        .arg(&spec)
        .arg("--force")
        .assert()
        .code(0);
    assert!(
        std::fs::read_to_string(&spec)
            .unwrap()
            .contains("version: 1")
    );
    meshspec()
        .args(["init", "-", "--name", "edge"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("name: edge"));
    meshspec()
        .args(["init", "-", "--sites", "Home"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`Home` is not a DNS-1123 label"));
}

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let text = stdout_of(meshspec().args(["completions", shell]));
        for word in ["validate", "render", "init", "schema", "quiet"] {
            assert!(text.contains(word), "{shell} completions lack {word}");
        }
    }
    meshspec().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn man_prints_a_roff_page() {
    let text = stdout_of(meshspec().arg("man"));
    assert!(text.contains(".TH meshspec 1"), "{text}");
    for word in ["validate", "render", "completions", "\\-\\-quiet"] {
        assert!(text.contains(word), "man page lacks {word}");
    }
}

/// A valid spec with warnings: a server and an agent on another site (MS411 and infos).
const WARNS: &str = "version: 1\nname: lab\nsites:\n  - {name: far, subnets: [192.168.9.0/24]}\nnodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1}\n  - {name: a1, role: agent, site: far, mesh_ip: 100.64.0.2}\n";

fn spec_in(d: &TempDir, text: &str) -> PathBuf {
    let p = d.path().join("spec.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn quiet_leaves_only_errors_on_the_terminal() {
    let d = TempDir::new().unwrap();
    let spec = spec_in(&d, WARNS);
    let out = d.path().join("out");
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("warning[MS411]"));
    // a no-op render with --quiet prints nothing at all
    meshspec()
        .args(["render", "--quiet"])
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0)
        .stdout("")
        .stderr("");
    meshspec()
        .args(["-q", "validate"])
        .arg(&spec)
        .assert()
        .code(0)
        .stdout("");
    // errors still show
    let bad = spec_in(&d, "version: 1\nname: lab\nnodes: []\n");
    meshspec()
        .args(["validate", "--quiet"])
        .arg(&bad)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[MS008]"));
}

#[test]
fn acknowledged_findings_leave_the_terminal_and_stay_in_json() {
    let d = TempDir::new().unwrap();
    let spec = spec_in(
        &d,
        &WARNS.replace(
            "nodes:\n",
            "acknowledge:\n  - {code: MS411, reason: our image orders tailscaled first}\nnodes:\n",
        ),
    );
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(d.path().join("out"))
        .assert()
        .code(0)
        .stderr(predicate::str::contains("MS411").not())
        .stderr(predicate::str::contains("(1 acknowledged)"));
    let text = stdout_of(meshspec().args(["validate", "--format", "json"]).arg(&spec));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let d411 = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "MS411")
        .expect("MS411 stays in JSON");
    assert_eq!(d411["acknowledged"], true);
    assert_eq!(d411["reason"], "our image orders tailscaled first");
}

#[test]
fn render_and_check_report_as_json() {
    let d = TempDir::new().unwrap();
    let spec = spec_in(&d, WARNS);
    let out = d.path().join("out");
    let text = stdout_of(
        meshspec()
            .args(["render", "--format", "json"])
            .arg(&spec)
            .arg("--out")
            .arg(&out),
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let files = v["files"].as_array().unwrap();
    assert!(files.iter().all(|f| f["action"] == "create"), "{v}");
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "nodes/s1/etc/rancher/k3s/config.yaml" && f["mode"] == "0600"),
        "{v}"
    );
    assert!(
        out.join("nodes/s1/install.sh").is_file(),
        "json render still writes"
    );
    assert!(
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "MS411")
    );
    // --check as JSON: up to date, exit 0; after an edit, drift and exit 1
    let check = |code: i32| {
        let o = meshspec()
            .args(["render", "--check", "--format", "json"])
            .arg(&spec)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(code));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    assert_eq!(check(0)["up_to_date"], true);
    std::fs::write(out.join("PLAN.md"), "edited\n").unwrap();
    let v = check(1);
    assert_eq!(v["up_to_date"], false);
    assert!(
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "PLAN.md" && f["action"] == "update")
    );
    // a spec with errors: diagnostics, no files, exit 1
    let bad = spec_in(&d, "version: 1\nname: lab\nnodes: []\n");
    let o = meshspec()
        .args(["render", "--format", "json"])
        .arg(&bad)
        .arg("--out")
        .arg(d.path().join("none"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["diagnostics"][0]["code"], "MS008");
    assert!(v.get("files").is_none());
}

#[test]
fn plan_reports_as_json() {
    let d = TempDir::new().unwrap();
    let spec = spec_in(&d, WARNS);
    let v: serde_json::Value = serde_json::from_str(&stdout_of(
        meshspec().args(["plan", "--format", "json"]).arg(&spec),
    ))
    .unwrap();
    let markdown = stdout_of(meshspec().arg("plan").arg(&spec));
    assert_eq!(v["plan"], markdown.as_str());
    assert!(v["diagnostics"].is_array());
    let old = d.path().join("old.yaml");
    std::fs::write(&old, WARNS.replace("100.64.0.2", "100.64.0.3")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout_of(
        meshspec()
            .args(["plan", "--format", "json", "--from"])
            .arg(&old)
            .arg(&spec),
    ))
    .unwrap();
    assert!(v["plan"].as_str().unwrap().starts_with('#'), "{v}");
}

#[test]
fn no_proxy_check_without_a_spec_does_not_point_at_one() {
    meshspec()
        .args(["no-proxy", "--node", "100.64.0.1", "--check", "localhost"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[MS501]"))
        .stderr(predicate::str::contains("<spec>").not())
        .stderr(predicate::str::contains("--> --check value"));
}
