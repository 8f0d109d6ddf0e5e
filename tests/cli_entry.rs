//! Issue #23 item 9: `--format json` on every command that prints results, `validate` over
//! several files and standard input (per-file results, the worst exit code), and
//! `render --stdout --node NAME [--file PATH]` (one node's files, nothing written).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read files and fail by panicking"
)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

#[path = "common/cli.rs"]
mod cli_common;
use cli_common::{meshspec_process, root};

/// The binary, run from the repository root (the tests name files relative to it).
fn meshspec() -> Command {
    let mut cmd = meshspec_process();
    cmd.current_dir(root());
    cmd
}

fn run(args: &[&str]) -> Output {
    meshspec().args(args).output().unwrap()
}

fn run_stdin(args: &[&str], input: &str) -> Output {
    let mut child = meshspec()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json_of(out: &Output) -> serde_json::Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

const VALID: &str = "tests/fixtures/valid/seed-flannel.yaml";
const INVALID: &str = "tests/fixtures/invalid/MS101.yaml";

#[test]
fn every_command_that_prints_results_takes_format_json() {
    // (arguments, expected exit code, a key the document must have)
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &[
                "mtu",
                "--underlay",
                "1500",
                "--mesh",
                "tailscale",
                "--tunnel",
                "vxlan",
            ],
            0,
            "pod_mtu",
        ),
        (
            &["mtu", "--underlay", "1492", "--mesh", "wireguard"],
            1,
            "violations",
        ),
        (&["no-proxy", "--node", "100.64.0.1"], 0, "no_proxy"),
        (
            &["no-proxy", "--node", "100.64.0.1", "--check", "localhost"],
            1,
            "missing",
        ),
        (&["explain", "--list"], 0, "codes"),
        (&["explain", "MS305"], 0, "page"),
        (&["validate", VALID], 0, "diagnostics"),
        (&["validate", INVALID], 1, "diagnostics"),
        (&["plan", VALID], 0, "plan"),
        (
            &["render", VALID, "--stdout", "--node", "k3s-master"],
            0,
            "files",
        ),
        (
            &[
                "import",
                "k3s-master=tests/fixtures/import/seed-flannel/k3s-master.yaml",
            ],
            0,
            "spec",
        ),
    ];
    for (args, code, key) in cases {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--format", "json"]);
        let out = run(&all);
        assert_eq!(out.status.code(), Some(*code), "{all:?}");
        let doc = json_of(&out);
        assert!(doc.get(key).is_some(), "{all:?}: no `{key}` in {doc}");
    }
    let mtu = json_of(&run(&[
        "mtu",
        "--underlay",
        "1500",
        "--mesh",
        "tailscale",
        "--tunnel",
        "vxlan",
        "--format",
        "json",
    ]));
    assert_eq!(mtu["pod_mtu"], 1230);
    let list = json_of(&run(&["explain", "--list", "--format", "json"]));
    let codes = list["codes"].as_array().unwrap();
    assert_eq!(codes.len(), meshspec::Code::ALL.len());
    assert_eq!(codes[0]["code"], "MS001");
}

#[test]
fn validate_takes_several_files_and_stdin_and_exits_with_the_worst() {
    let valid = std::fs::read_to_string(root().join(VALID)).unwrap();
    // clean + errors: 1; each file's diagnostics carry the file
    let out = run_stdin(&["validate", "-", INVALID, "--format", "json"], &valid);
    assert_eq!(out.status.code(), Some(1));
    let doc = json_of(&out);
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["file"], "<stdin>");
    assert_eq!(files[0]["exit_code"], 0);
    assert_eq!(files[1]["exit_code"], 1);
    let ms101: Vec<&serde_json::Value> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "MS101")
        .collect();
    assert_eq!(ms101.len(), 1);
    assert_eq!(ms101[0]["file"], INVALID);
    // an unreadable file does not stop the others, and makes the exit code 2
    let out = run(&["validate", "no-such.yaml", INVALID]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("error[MS101]"), "{text}");
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("cannot read no-such.yaml")
    );
    // two clean files: 0
    let out = run(&["validate", VALID, "tests/fixtures/valid/netbird.yaml", "-q"]);
    assert_eq!(out.status.code(), Some(0));
    // one file keeps the single-file document exactly (no `files`)
    let doc = json_of(&run(&["validate", INVALID, "--format", "json"]));
    assert!(doc.get("files").is_none());
    // `-` twice is a usage error
    assert_eq!(run(&["validate", "-", "-"]).status.code(), Some(2));
}

#[test]
fn render_stdout_prints_one_nodes_files_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let spec = root().join(VALID);
    let spec = spec.to_str().unwrap();
    let written = meshspec()
        .current_dir(dir.path())
        .args(["render", spec, "--out", "out", "-q"])
        .output()
        .unwrap();
    assert_eq!(written.status.code(), Some(0));
    let config = std::fs::read_to_string(
        dir.path()
            .join("out/nodes/k3s-gpu-worker/etc/rancher/k3s/config.yaml"),
    )
    .unwrap();
    let empty = TempDir::new().unwrap();
    let one = meshspec()
        .current_dir(empty.path())
        .args([
            "render",
            spec,
            "--stdout",
            "--node",
            "k3s-gpu-worker",
            "--file",
            "etc/rancher/k3s/config.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(String::from_utf8(one.stdout).unwrap(), config);
    assert_eq!(
        std::fs::read_dir(empty.path()).unwrap().count(),
        0,
        "nothing written"
    );
    // the whole node: every file of nodes/k3s-gpu-worker/, each after its Source line
    let all = run(&["render", VALID, "--stdout", "--node", "k3s-gpu-worker"]);
    let text = String::from_utf8(all.stdout).unwrap();
    let sources: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# Source: "))
        .collect();
    let on_disk = walk(
        &dir.path().join("out/nodes/k3s-gpu-worker"),
        "nodes/k3s-gpu-worker",
    );
    assert_eq!(sources, on_disk);
    assert!(text.contains(&config));
    // an unknown node or file: exit 2, naming what exists
    let bad = run(&["render", VALID, "--stdout", "--node", "nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8(bad.stderr)
            .unwrap()
            .contains("k3s-gpu-worker")
    );
    let bad = run(&[
        "render",
        VALID,
        "--stdout",
        "--node",
        "k3s-master",
        "--file",
        "x",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    // a spec with errors: exit 1, nothing on standard output
    let bad = run(&["render", INVALID, "--stdout"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(bad.stdout.is_empty());
    // --out and --stdout exclude each other; one of them is needed
    assert_eq!(
        run(&["render", VALID, "--stdout", "--out", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(&["render", VALID]).status.code(), Some(2));
}

/// Every file below `dir`, as `prefix/relative`, sorted.
fn walk(dir: &Path, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = format!("{prefix}/{}", p.file_name().unwrap().to_str().unwrap());
        if p.is_dir() {
            out.extend(walk(&p, &name));
        } else {
            out.push(name);
        }
    }
    out.sort();
    out
}

fn schema_value() -> serde_json::Value {
    json_of(&run(&["schema"]))
}

/// Every `(pointer, schema)` below `schema` that carries `default`.
fn with_defaults(schema: &serde_json::Value, at: &str, out: &mut Vec<(String, serde_json::Value)>) {
    match schema {
        serde_json::Value::Object(m) => {
            if m.contains_key("default") {
                out.push((at.to_owned(), schema.clone()));
            }
            for (k, v) in m {
                with_defaults(v, &format!("{at}/{k}"), out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                with_defaults(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_schema_has_a_stable_id_and_defaults_that_fit_it_and_init_points_at_it() {
    let schema = schema_value();
    let id = schema["$id"].as_str().unwrap();
    assert_eq!(id, meshspec::spec::fields::SCHEMA_ID);
    assert!(id.starts_with("https://") && id.contains("/v1/"));
    let init = String::from_utf8(run(&["init", "-"]).stdout).unwrap();
    assert_eq!(
        init.lines().next().unwrap(),
        format!("# yaml-language-server: $schema={id}")
    );
    let mut found = Vec::new();
    with_defaults(&schema, "", &mut found);
    let at = |p: &str| found.iter().any(|(path, _)| path == p);
    assert!(at("/properties/mesh/properties/provider"));
    assert!(at("/properties/cni/properties/flannel/properties/backend"));
    assert!(at("/properties/k3s/properties/token_file"));
    assert!(found.len() >= 10, "{found:?}");
    for (path, sub) in &found {
        let default = sub["default"].clone();
        let v = jsonschema::validator_for(sub).unwrap();
        assert!(
            v.is_valid(&default),
            "{path}: default {default} does not fit its schema"
        );
    }
}

#[test]
fn a_wrong_type_is_reported_at_its_key_not_at_the_block() {
    let v = jsonschema::validator_for(&schema_value()).unwrap();
    let base = "version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n";
    let cases = [
        ("mesh: {provider: 5}\n", "/mesh/provider"),
        (
            "cni: {plugin: cilium, cilium: {mtu: x}}\n",
            "/cni/cilium/mtu",
        ),
        ("k3s: {token_file: 7}\n", "/k3s/token_file"),
        ("proxy: {style: wide}\n", "/proxy/style"),
    ];
    for (extra, want) in cases {
        let doc = meshspec::yaml::parse(&format!("{base}{extra}"))
            .unwrap()
            .to_json();
        let paths: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| e.instance_path().as_str().to_owned())
            .collect();
        assert!(!paths.is_empty(), "{extra} accepted");
        assert!(paths.iter().all(|p| p == want), "{extra}: {paths:?}");
    }
}

#[test]
fn validate_reports_reading_errors_and_the_cluster_rules_in_one_round() {
    let dir = TempDir::new().unwrap();
    let spec = dir.path().join("broken.yaml");
    std::fs::write(
        &spec,
        "version: 1\nname: lab\nnetwrk: {}\nnetwork:\n  cluster_cidr: 10.43.0.0/16\nnodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1}\n  - {name: S2, role: agent, mesh_ip: 100.64.0.2}\n",
    )
    .unwrap();
    let spec = spec.to_str().unwrap();
    let out = run(&["validate", spec]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    for code in ["error[MS002]", "error[MS003]", "error[MS101]"] {
        assert!(text.contains(code), "{code}:\n{text}");
    }
    assert!(
        text.contains("note: 1 of 2 nodes could not be read (among nodes[1])"),
        "{text}"
    );
    let doc = json_of(&run(&["validate", spec, "--format", "json"]));
    assert!(
        doc["skipped"][0]
            .as_str()
            .unwrap()
            .starts_with("1 of 2 nodes")
    );
    assert!(
        doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "MS101")
    );
    // the other commands that read a spec report the same round
    for args in [vec!["render", spec, "--stdout"], vec!["plan", spec]] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("error[MS101]") && err.contains("note: 1 of 2 nodes"),
            "{args:?}: {err}"
        );
    }
}
