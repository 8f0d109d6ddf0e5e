//! Integration tests of the `meshspec` binary: real processes, real files in temp dirs.
//!
//! Exit codes are a contract: 0 clean or warnings, 1 errors (or drift, or a refused write),
//! 2 unreadable input or not YAML.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails by panicking, helpers included"
)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use predicates::prelude::*;
use tempfile::TempDir;

#[path = "common/cli.rs"]
mod cli_common;
use cli_common::{meshspec, with_spec};

const OK: &str = "\
version: 1
name: lab
nodes:
  - {name: a, role: server, mesh_ip: 100.64.0.1}
  - {name: b, role: agent, mesh_ip: 100.64.0.2}
";

/// Two reading errors: MS005 on line 1 and MS002 on line 3.
const BAD: &str = "\
version: 2
name: lab
netwrk: {}
nodes:
  - {name: a, role: server, mesh_ip: 100.64.0.1}
";

const CONFIG_A: &str = "nodes/a/etc/rancher/k3s/config.yaml";
const CONFIG_B: &str = "nodes/b/etc/rancher/k3s/config.yaml";
const MANIFEST: &str = ".meshspec-manifest.json";

/// A temp dir holding `spec.yaml` with `text`.
/// Every file under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn render(spec: &Path, out: &Path) -> assert_cmd::assert::Assert {
    meshspec()
        .arg("render")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .assert()
}

/// How many files the bundle of `spec` has, from a render into a scratch dir.
fn bundle_size(spec: &Path) -> usize {
    let scratch = TempDir::new().unwrap();
    render(spec, scratch.path()).code(0);
    tree(scratch.path()).len() - 1
}

fn no_temp_files(dir: &Path) {
    let leftovers: Vec<_> = tree(dir)
        .into_iter()
        .filter(|p| p.contains("meshspec-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

// ---------------------------------------------------------------- validate

#[test]
fn validate_clean_spec_exits_0() {
    let (_d, spec) = with_spec(OK);
    meshspec()
        .arg("validate")
        .arg(&spec)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 errors"));
}

#[test]
fn validate_errors_exit_1_with_code_location_source_and_help() {
    let (_d, spec) = with_spec(BAD);
    let name = spec.display().to_string();
    meshspec()
        .arg("validate")
        .arg(&spec)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[MS005]:"))
        .stdout(predicate::str::contains(format!("--> {name}:1:10")))
        .stdout(predicate::str::contains(
            "error[MS002]: unknown key `netwrk`",
        ))
        .stdout(predicate::str::contains(format!("--> {name}:3:1")))
        .stdout(predicate::str::contains("3 | netwrk: {}"))
        .stdout(predicate::str::contains("= help: did you mean `network`?"))
        .stdout(predicate::str::contains("2 errors, 0 warnings, 0 info"))
        // Plain text when not a terminal.
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn validate_json_has_the_documented_keys() {
    let (_d, spec) = with_spec(BAD);
    let out = meshspec()
        .args(["validate", "--format", "json"])
        .arg(&spec)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let ds = v["diagnostics"].as_array().unwrap();
    assert_eq!(ds.len(), 2);
    for d in ds {
        let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "code", "slug", "severity", "path", "line", "column", "message", "help",
        ] {
            assert!(keys.contains(&k), "missing {k} in {d}");
        }
    }
    let codes: Vec<&str> = ds.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"MS002") && codes.contains(&"MS005"));
    let ms002 = ds.iter().find(|d| d["code"] == "MS002").unwrap();
    assert_eq!(ms002["slug"], "unknown-field");
    assert_eq!(ms002["severity"], "error");
    assert_eq!(ms002["path"], "netwrk");
    assert_eq!(ms002["line"], 3);
    assert_eq!(ms002["column"], 1);
}

#[test]
fn validate_json_of_a_clean_spec_is_an_empty_list() {
    let (_d, spec) = with_spec(OK);
    let out = meshspec()
        .args(["validate", "--format", "json"])
        .arg(&spec)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    // Warnings and info are allowed; errors are not.
    let ds = v["diagnostics"].as_array().unwrap();
    assert!(ds.iter().all(|d| d["severity"] != "error"), "{v}");
}

#[test]
fn validate_yaml_syntax_error_exits_2() {
    let (_d, spec) = with_spec("version: 1\nname: [\n");
    meshspec()
        .arg("validate")
        .arg(&spec)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("error[MS001]"));
}

#[test]
fn validate_duplicate_key_exits_2() {
    let (_d, spec) = with_spec(&format!("{OK}name: again\n"));
    meshspec()
        .arg("validate")
        .arg(&spec)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("MS010"));
}

#[test]
fn validate_reads_standard_input() {
    meshspec()
        .args(["validate", "-"])
        .write_stdin(OK)
        .assert()
        .code(0);
    meshspec()
        .args(["validate", "-"])
        .write_stdin(BAD)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("--> <stdin>:3:1"));
}

#[test]
fn validate_missing_file_exits_2_naming_it() {
    let d = TempDir::new().unwrap();
    let missing = d.path().join("nope.yaml");
    meshspec()
        .arg("validate")
        .arg(&missing)
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "error: cannot read {}: no such file or directory\n",
            missing.display()
        ));
}

#[test]
fn validate_directory_exits_2() {
    let d = TempDir::new().unwrap();
    meshspec()
        .arg("validate")
        .arg(d.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "cannot read {}: is a directory",
            d.path().display()
        )));
}

#[test]
fn validate_binary_garbage_exits_2() {
    // Deterministic pseudo-random bytes (xorshift).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect();
    let d = TempDir::new().unwrap();
    let garbage = d.path().join("garbage.yaml");
    fs::write(&garbage, &bytes).unwrap();
    meshspec()
        .arg("validate")
        .arg(&garbage)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not UTF-8 text"));
    // Valid UTF-8 that is still not YAML.
    meshspec()
        .args(["validate", "-"])
        .write_stdin("\u{1}\u{2}: [}{: \"\n\t- ]]\n")
        .assert()
        .code(2);
}

#[test]
fn validate_never_panics_on_odd_inputs() {
    for input in [
        "",
        "~",
        "[]",
        "42",
        "version: 1",
        "nodes: {a: 1}",
        "\u{feff}",
    ] {
        let out = meshspec()
            .args(["validate", "-"])
            .write_stdin(input)
            .output()
            .unwrap();
        let code = out.status.code().unwrap();
        assert!((1..=2).contains(&code), "{input:?} gave {code}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{input:?} panicked"
        );
    }
}

// ---------------------------------------------------------------- render

#[test]
fn render_writes_files_with_modes_a_manifest_and_a_summary() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    render(&spec, &out)
        .code(0)
        .stdout("")
        .stderr(predicate::str::contains(format!(
            "wrote {} files to {}",
            bundle_size(&spec),
            out.display()
        )));
    let files = tree(&out);
    for f in [MANIFEST, CONFIG_A, CONFIG_B] {
        assert!(files.contains(&f.to_owned()), "{f} missing from {files:?}");
    }
    assert_eq!(mode(&out.join(CONFIG_A)), 0o600);
    let config = fs::read_to_string(out.join(CONFIG_A)).unwrap();
    assert!(config.contains("for cluster `"), "{config}");
    assert!(!config.contains("spec.yaml"), "{config}");
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join(MANIFEST)).unwrap()).unwrap();
    assert_eq!(manifest["generator"], "meshspec");
    assert_eq!(manifest["files"][CONFIG_A]["mode"], "0600");
    assert_eq!(
        manifest["files"][CONFIG_A]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    no_temp_files(&out);
}

#[test]
fn render_refuses_a_spec_with_errors_and_writes_nothing() {
    let (d, spec) = with_spec(BAD);
    let out = d.path().join("out");
    render(&spec, &out)
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("error[MS002]"))
        .stderr(predicate::str::contains(format!(
            "nothing written to {}: the spec has errors",
            out.display()
        )));
    assert!(!out.exists());
}

#[test]
fn render_refuses_yaml_errors_with_exit_2() {
    let (d, spec) = with_spec("nodes: [\n");
    let out = d.path().join("out");
    render(&spec, &out).code(2);
    assert!(!out.exists());
}

#[test]
fn render_refuses_a_foreign_file_unless_forced() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    let foreign = out.join(CONFIG_A);
    fs::create_dir_all(foreign.parent().unwrap()).unwrap();
    fs::write(&foreign, "mine\n").unwrap();
    render(&spec, &out)
        .code(1)
        .stderr(predicate::str::contains("refusing to overwrite 1 file in"))
        .stderr(predicate::str::contains(foreign.display().to_string()))
        .stderr(predicate::str::contains("--force"))
        .stderr(predicate::str::contains("nothing was written"));
    // Untouched: the foreign file, and no other file written.
    assert_eq!(fs::read_to_string(&foreign).unwrap(), "mine\n");
    assert_eq!(tree(&out), vec![CONFIG_A]);

    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--force")
        .assert()
        .code(0);
    assert_ne!(fs::read_to_string(&foreign).unwrap(), "mine\n");
    assert!(tree(&out).contains(&CONFIG_B.to_owned()));
}

#[test]
fn render_adopts_a_foreign_file_that_is_already_identical() {
    let (d, spec) = with_spec(OK);
    let first = d.path().join("first");
    render(&spec, &first).code(0);
    // Copy the output without the manifest: contents and modes match, nothing to overwrite.
    let out = d.path().join("out");
    for rel in [CONFIG_A, CONFIG_B] {
        let to = out.join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(first.join(rel), &to).unwrap();
    }
    render(&spec, &out).code(0);
    assert!(out.join(MANIFEST).exists());
}

#[test]
fn render_into_a_path_whose_parent_is_a_file_fails_clearly() {
    let (d, spec) = with_spec(OK);
    let file = d.path().join("plain-file");
    fs::write(&file, "x").unwrap();
    let out = file.join("out");
    render(&spec, &out)
        .code(2)
        .stderr(predicate::str::contains(format!(
            "cannot write {}: a parent of this path is not a directory",
            out.display()
        )))
        .stderr(predicate::str::contains("help:"));
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn render_onto_a_regular_file_fails_clearly() {
    let (d, spec) = with_spec(OK);
    let file = d.path().join("plain-file");
    fs::write(&file, "x").unwrap();
    render(&spec, &file)
        .code(2)
        .stderr(predicate::str::contains("exists and is not a directory"));
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn render_into_an_unwritable_place_fails_without_partial_files() {
    // Tests run as root, so a chmod'ed directory would not stop the writes; /proc does.
    let (_d, spec) = with_spec(OK);
    let out = Path::new("/proc/meshspec-cli-test-out");
    render(&spec, out)
        .code(2)
        .stderr(predicate::str::contains(format!(
            "error: cannot write {}",
            out.display()
        )));
    assert!(!out.exists());
}

#[test]
fn render_refuses_when_a_file_blocks_a_directory_even_with_force() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    fs::create_dir_all(out.join("nodes")).unwrap();
    fs::write(out.join("nodes/b"), "x").unwrap();
    for force in [false, true] {
        let mut cmd = meshspec();
        cmd.arg("render").arg(&spec).arg("--out").arg(&out);
        if force {
            cmd.arg("--force");
        }
        cmd.assert()
            .code(1)
            .stderr(predicate::str::contains("is a file where a directory goes"));
        assert_eq!(tree(&out), vec!["nodes/b"]);
    }
}

#[test]
fn rerender_is_idempotent_and_leaves_mtimes_alone() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    render(&spec, &out).code(0);
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let files = tree(&out);
    let mut before = Vec::new();
    for rel in &files {
        let f = fs::File::options().write(true).open(out.join(rel)).unwrap();
        f.set_modified(old).unwrap();
        before.push(fs::read(out.join(rel)).unwrap());
    }
    render(&spec, &out)
        .code(0)
        .stderr(predicate::str::contains(format!(
            "{} is up to date",
            out.display()
        )));
    assert_eq!(tree(&out), files);
    for (rel, bytes) in files.iter().zip(before) {
        assert_eq!(fs::read(out.join(rel)).unwrap(), bytes, "{rel} changed");
        let mtime = fs::metadata(out.join(rel)).unwrap().modified().unwrap();
        assert_eq!(mtime, old, "{rel} was rewritten");
    }
}

#[test]
fn render_removes_files_it_wrote_that_the_spec_no_longer_has() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    render(&spec, &out).code(0);
    fs::write(out.join("notes.txt"), "keep me").unwrap();
    fs::write(&spec, OK.replace("name: b", "name: c")).unwrap();
    // node b had five files: its config, its k3s and tailscaled drop-ins (MS411, MS707), its
    // install script, its firewall
    render(&spec, &out)
        .code(0)
        .stderr(predicate::str::contains("removed 5"));
    let files = tree(&out);
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with("nodes/b/") || f == "cluster/firewall/b.sh"),
        "{files:?}"
    );
    assert!(files.contains(&"nodes/c/etc/rancher/k3s/config.yaml".to_owned()));
    assert!(files.contains(&"notes.txt".to_owned()));
    // The emptied node directory is pruned.
    assert!(!out.join("nodes/b").exists());
}

#[test]
fn render_restores_a_mode_and_a_hand_edit() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    render(&spec, &out).code(0);
    let a = out.join(CONFIG_A);
    let original = fs::read(&a).unwrap();
    fs::set_permissions(&a, fs::Permissions::from_mode(0o644)).unwrap();
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--check")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("old mode 100644\nnew mode 100600"));
    render(&spec, &out)
        .code(0)
        .stderr(predicate::str::contains("changed the mode of 1"));
    assert_eq!(mode(&a), 0o600);

    fs::write(&a, "edited\n").unwrap();
    // a hand edit is an error naming the file (also with -q), and nothing is written
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("-q")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("changed by hand"))
        .stderr(predicate::str::contains(
            out.join(CONFIG_A).display().to_string(),
        ));
    assert_eq!(fs::read(&a).unwrap(), b"edited\n");
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--force")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("edited since meshspec wrote it"));
    assert_eq!(fs::read(&a).unwrap(), original);
    assert_eq!(mode(&a), 0o600);
}

#[test]
fn render_reads_standard_input_with_a_spec_name() {
    let d = TempDir::new().unwrap();
    let out = d.path().join("out");
    meshspec()
        .args(["render", "-", "--spec-name", "cluster.yaml", "--out"])
        .arg(&out)
        .write_stdin(OK)
        .assert()
        .code(0);
    // the bundle names the cluster only: renaming or copying a spec changes no byte of it
    let config = fs::read_to_string(out.join(CONFIG_A)).unwrap();
    assert!(!config.contains("cluster.yaml"), "{config}");
    assert!(
        config.starts_with("# Generated by meshspec for cluster `"),
        "{config}"
    );
}

#[test]
fn check_on_a_fresh_dir_shows_every_file_and_exits_1() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--check")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "new file mode 100600\n--- /dev/null\n+++ b/{CONFIG_A}\n"
        )))
        .stdout(predicate::str::contains(format!("+++ b/{CONFIG_B}")))
        .stdout(predicate::str::contains("+node-ip: \"100.64.0.1\""))
        .stderr(predicate::str::contains(format!(
            "differs from the spec: {} to create",
            bundle_size(&spec)
        )));
    assert!(!out.exists(), "--check wrote something");
}

#[test]
fn check_after_render_exits_0_and_reports_drift_after_a_spec_change() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    render(&spec, &out).code(0);
    let check = || {
        let mut c = meshspec();
        c.arg("render")
            .arg(&spec)
            .arg("--out")
            .arg(&out)
            .arg("--check");
        c
    };
    check()
        .assert()
        .code(0)
        .stdout("")
        .stderr(predicate::str::contains("is up to date"));
    fs::write(&spec, OK.replace("100.64.0.2", "100.64.0.9")).unwrap();
    let before = tree(&out);
    check()
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "--- a/{CONFIG_B}\n+++ b/{CONFIG_B}\n"
        )))
        .stdout(predicate::str::contains("-node-ip: \"100.64.0.2\""))
        .stdout(predicate::str::contains("+node-ip: \"100.64.0.9\""));
    assert_eq!(tree(&out), before);
}

#[test]
fn check_reports_files_render_would_refuse() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    fs::create_dir_all(out.join(CONFIG_A).parent().unwrap()).unwrap();
    fs::write(out.join(CONFIG_A), "mine\n").unwrap();
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--check")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("-mine"))
        .stderr(predicate::str::contains("not written by meshspec"));
    assert_eq!(fs::read_to_string(out.join(CONFIG_A)).unwrap(), "mine\n");
}

#[test]
fn a_corrupt_manifest_is_refused_unless_forced() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join(MANIFEST), "{not json").unwrap();
    render(&spec, &out)
        .code(1)
        .stderr(predicate::str::contains("delete it or pass --force"));
    assert_eq!(tree(&out), vec![MANIFEST]);
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--force")
        .assert()
        .code(0);
}

// ---------------------------------------------------------------- explain

#[test]
fn explain_prints_the_page_by_code_or_slug() {
    for arg in ["MS101", "ms101", "pod-service-overlap"] {
        meshspec()
            .args(["explain", arg])
            .assert()
            .code(0)
            .stdout(predicate::str::starts_with("# MS101: pod-service-overlap"))
            .stdout(predicate::str::contains("## Fix"));
    }
}

#[test]
fn explain_unknown_code_suggests_the_nearest_and_exits_2() {
    meshspec()
        .args(["explain", "MS100"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "error: `MS100` is not a meshspec rule code or slug",
        ))
        .stderr(predicate::str::contains("MS101  pod-service-overlap"))
        .stderr(predicate::str::contains("meshspec explain --list"));
    meshspec()
        .args(["explain", "pod-servise-overlap"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("MS101"));
}

#[test]
fn explain_list_has_every_code_with_slug_severity_summary() {
    let out = meshspec()
        .args(["explain", "--list"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("MS101 "))
        .expect("MS101 listed");
    assert!(line.contains("pod-service-overlap") && line.contains("error"));
    let warning = text.lines().find(|l| l.starts_with("MS112 ")).unwrap();
    assert!(warning.contains("warning"));
    assert!(text.lines().count() >= 40);
    assert!(text.lines().all(|l| l.starts_with("MS")));
}

#[test]
fn explain_needs_a_code_or_list() {
    meshspec().arg("explain").assert().code(2);
}

// ---------------------------------------------------------------- output

#[test]
fn colour_follows_the_flag_and_no_color() {
    let (_d, spec) = with_spec(BAD);
    meshspec()
        .args(["--color", "always", "validate"])
        .arg(&spec)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\x1b[1;31merror[MS"));
    meshspec()
        .args(["validate", "--color", "never"])
        .arg(&spec)
        .assert()
        .stdout(predicate::str::contains("\x1b[").not());
    // NO_COLOR only affects `auto`; a pipe is not a terminal anyway.
    meshspec()
        .env("NO_COLOR", "1")
        .arg("validate")
        .arg(&spec)
        .assert()
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn help_has_examples_everywhere() {
    for sub in [
        vec!["--help"],
        vec!["validate", "--help"],
        vec!["render", "--help"],
        vec!["plan", "--help"],
        vec!["explain", "--help"],
        vec!["no-proxy", "--help"],
        vec!["mtu", "--help"],
    ] {
        meshspec()
            .args(&sub)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("Examples:"));
    }
}

#[test]
fn unknown_flags_exit_2() {
    meshspec()
        .args(["validate", "--frobnicate", "x"])
        .assert()
        .code(2);
    meshspec().assert().code(2);
}

// ---------------------------------------------------------------- example specs

fn example_specs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/specs");
    let mut specs: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        // `broken-*.yaml` are the README's and docs' examples of refused specs
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("broken-"))
        })
        .collect();
    specs.sort();
    assert!(!specs.is_empty(), "no example specs in {}", dir.display());
    specs
}

#[test]
fn the_readmes_broken_example_is_refused_with_its_two_mistakes() {
    let spec =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/specs/broken-gpu-worker.yaml");
    meshspec()
        .arg("validate")
        .arg(&spec)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "error[MS103]: `192.168.0.0/16` overlaps subnet `192.168.0.0/24` of site `lab`",
        ))
        .stdout(predicate::str::contains(
            "error[MS201]: node `k3s-gpu-worker` uses its LAN address as node-ip",
        ))
        .stdout(predicate::str::contains("3 errors, 5 warnings, 3 info"));
    let d = TempDir::new().unwrap();
    render(&spec, &d.path().join("out")).code(1);
    assert!(
        !d.path().join("out").exists(),
        "nothing is written for a refused spec"
    );
}

#[test]
fn example_specs_validate_render_and_check_clean() {
    for spec in example_specs() {
        meshspec().arg("validate").arg(&spec).assert().code(0);
        let d = TempDir::new().unwrap();
        let out = d.path().join("out");
        render(&spec, &out)
            .code(0)
            .stderr(predicate::str::contains("wrote "));
        no_temp_files(&out);
        meshspec()
            .arg("render")
            .arg(&spec)
            .arg("--out")
            .arg(&out)
            .arg("--check")
            .assert()
            .code(0)
            .stdout("");
        // Scripts are executable, everything else is not.
        for rel in tree(&out) {
            let m = mode(&out.join(&rel));
            if Path::new(&rel).extension().is_some_and(|x| x == "sh") {
                assert_eq!(m, 0o755, "{rel}");
            } else {
                assert_eq!(m & 0o111, 0, "{rel} is executable");
            }
        }
    }
}

#[test]
fn example_specs_json_parses() {
    for spec in example_specs() {
        let out = meshspec()
            .args(["validate", "--format", "json"])
            .arg(&spec)
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(v["diagnostics"].is_array(), "{}", spec.display());
    }
}

// ---------------------------------------------------------------- no-proxy

#[test]
fn no_proxy_broad_from_flags() {
    meshspec()
        .args([
            "no-proxy",
            "--cluster-cidr",
            "10.42.0.0/16",
            "--service-cidr",
            "10.43.0.0/16",
            "--node",
            "192.168.2.20",
            "--mesh-range",
            "100.64.0.0/10",
            "--style",
            "broad",
        ])
        .assert()
        .code(0)
        .stdout(
            "10.0.0.0/8,100.64.0.0/10,127.0.0.0/8,172.16.0.0/12,192.168.0.0/16,.cluster.local,.svc,localhost\n",
        );
}

#[test]
fn no_proxy_precise_collapses_and_keeps_server_names() {
    meshspec()
        .args([
            "no-proxy",
            "--node",
            "192.168.2.20",
            "--site-subnet",
            "192.168.2.0/24",
            "--mesh-range",
            "100.64.0.0/10",
            "--server",
            "k3s.example.com",
        ])
        .assert()
        .code(0)
        .stdout("10.42.0.0/15,100.64.0.0/10,127.0.0.0/8,192.168.2.0/24,.cluster.local,.svc,k3s.example.com,localhost\n");
}

#[test]
fn no_proxy_check_lists_what_is_missing() {
    let args = [
        "no-proxy",
        "--node",
        "192.168.2.20",
        "--mesh-range",
        "100.64.0.0/10",
    ];
    meshspec()
        .args(args)
        .args(["--check", "10.0.0.0/8,localhost"])
        .assert()
        .code(1)
        .stdout("127.0.0.1\n192.168.2.20\n100.64.0.0/10\n")
        .stderr(predicate::str::contains(
            "error[MS501]: NO_PROXY misses `127.0.0.1`, `192.168.2.20`, `100.64.0.0/10`",
        ));
    let full = meshspec().args(args).output().unwrap().stdout;
    let full = String::from_utf8(full).unwrap();
    meshspec()
        .args(args)
        .args(["--check", full.trim()])
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn no_proxy_rejects_a_cidr_with_host_bits() {
    meshspec()
        .args(["no-proxy", "--cluster-cidr", "10.42.0.1/16"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("10.42.0.0/16"));
}

// ---------------------------------------------------------------- mtu

#[test]
fn mtu_tailscale_vxlan_gives_1230() {
    meshspec()
        .args([
            "mtu",
            "--underlay",
            "1500",
            "--mesh",
            "tailscale",
            "--tunnel",
            "vxlan",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("fits: 1280 + 80 = 1360 <= 1500"))
        .stdout(predicate::str::ends_with("pod MTU: 1230\n"));
}

#[test]
fn mtu_reports_a_layer_that_does_not_fit_with_exit_1() {
    meshspec()
        .args([
            "mtu",
            "--underlay",
            "1492",
            "--mesh",
            "wireguard",
            "--outer",
            "ipv6",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("too big: 1420 + 80 = 1500 > 1492"))
        .stderr(predicate::str::contains("8 bytes too many"));
}

#[test]
fn mtu_rejects_nonsense_flags() {
    meshspec()
        .args(["mtu", "--underlay", "12"])
        .assert()
        .code(2);
    meshspec()
        .args(["mtu", "--mesh", "zerotier"])
        .assert()
        .code(2);
}

// ---------------------------------------------------------------- plan

#[test]
fn plan_refuses_a_spec_with_errors() {
    let (_d, spec) = with_spec(BAD);
    meshspec()
        .arg("plan")
        .arg(&spec)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("error[MS002]"));
}

#[test]
fn plan_of_a_valid_spec_prints_the_report_or_says_why_not() {
    let (_d, spec) = with_spec(OK);
    let out = meshspec().arg("plan").arg(&spec).output().unwrap();
    match out.status.code() {
        Some(0) => assert!(!out.stdout.is_empty()),
        // Until the core renders PLAN.md.
        Some(2) => assert!(String::from_utf8_lossy(&out.stderr).contains("no PLAN.md yet")),
        other => panic!("unexpected exit {other:?}"),
    }
}

#[test]
fn plan_from_an_old_spec_prints_the_change_plan() {
    let d = TempDir::new().unwrap();
    let old = d.path().join("old.yaml");
    let new = d.path().join("new.yaml");
    fs::write(&old, OK).unwrap();
    fs::write(&new, OK).unwrap();
    meshspec()
        .arg("plan")
        .arg(&new)
        .arg("--from")
        .arg(&old)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("# Change plan"));
    // Moving the pod network of a running cluster is refused (MS902).
    fs::write(
        &new,
        OK.replace("nodes:", "network: {cluster_cidr: 10.52.0.0/16}\nnodes:"),
    )
    .unwrap();
    let out = meshspec()
        .arg("plan")
        .arg(&new)
        .arg("--from")
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("10.52.0.0/16"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[MS902]"));
    // Only a proxy changes: config.yaml stays, every node's unit env changes (MS910).
    fs::write(
        &new,
        OK.replace(
            "nodes:",
            "proxy: {http: 'http://proxy.internal:3128', https: 'http://proxy.internal:3128'}\nnodes:",
        ),
    )
    .unwrap();
    let out = meshspec()
        .args(["plan", "--format", "json"])
        .arg(&new)
        .arg("--from")
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nodes = v["changes"]["nodes"].as_array().unwrap();
    let cluster = meshspec::Cluster::from_yaml(OK).unwrap();
    assert_eq!(nodes.len(), cluster.nodes.len(), "{v}");
    for n in nodes {
        let files = n["files"].as_array().unwrap();
        assert!(
            files
                .iter()
                .any(|f| f["path"].as_str().unwrap().ends_with(".service.env")
                    && f["action"] == "restart-k3s"),
            "{n}"
        );
        assert!(
            v["changes"]["restarts"]
                .as_array()
                .unwrap()
                .contains(&n["node"])
        );
    }
    assert!(
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "MS910")
    );
    assert!(!v["plan"].as_str().unwrap().contains("Nothing changes"));
    // Unreadable old spec: exit 2.
    meshspec()
        .arg("plan")
        .arg(&new)
        .arg("--from")
        .arg(d.path().join("missing.yaml"))
        .assert()
        .code(2);
}

#[test]
fn plan_format_mermaid_prints_only_the_diagrams() {
    let (_d, spec) = with_spec(OK);
    let out = meshspec()
        .args(["plan", "--format", "mermaid"])
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout, meshspec::Cluster::from_yaml(OK).unwrap().diagram());
    assert!(stdout.starts_with("```mermaid\nflowchart LR\n"), "{stdout}");
    assert!(!stdout.contains("## "), "{stdout}");
    // the diagrams are PLAN.md's
    let plan = meshspec().arg("plan").arg(&spec).output().unwrap();
    let plan = String::from_utf8(plan.stdout).unwrap();
    for block in stdout.split("\n\n") {
        assert!(plan.contains(block), "{block}");
    }
    // a spec with errors draws nothing
    let (_d, bad) = with_spec(BAD);
    meshspec()
        .args(["plan", "--format", "mermaid"])
        .arg(&bad)
        .assert()
        .code(1)
        .stdout("");
    // a change between two specs is not drawn: usage error before reading anything
    meshspec()
        .args(["plan", "--format", "mermaid", "--from", "missing-old.yaml"])
        .arg(&spec)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--format mermaid"));
}

// ---------------------------------------------------------------- issue #9: safe to run as root

/// A render of `OK` into `out`, then a spec without node `b` (its files become removals).
fn rendered_then_b_dropped() -> (TempDir, PathBuf, PathBuf) {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    render(&spec, &out).code(0);
    fs::write(
        &spec,
        "version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
    )
    .unwrap();
    (d, spec, out)
}

#[test]
fn finding_04_render_never_removes_through_a_symlink() {
    let (d, spec, out) = rendered_then_b_dropped();
    // The manifest lists nodes/b/...; nodes/b is swapped for a link to a directory elsewhere
    // holding the same file names.
    let elsewhere = d.path().join("elsewhere");
    fs::rename(out.join("nodes/b"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, out.join("nodes/b")).unwrap();
    let before = tree(&elsewhere);
    assert!(!before.is_empty());
    render(&spec, &out)
        .code(2)
        .stderr(predicate::str::contains(format!(
            "cannot write {}: is a symbolic link",
            out.join("nodes/b").display()
        )));
    assert_eq!(tree(&elsewhere), before, "a file outside --out was removed");
}

#[test]
fn finding_04_render_never_writes_through_a_symlinked_directory() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    let elsewhere = d.path().join("elsewhere");
    fs::create_dir_all(out.join("nodes")).unwrap();
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, out.join("nodes/a")).unwrap();
    for force in [false, true] {
        let mut cmd = meshspec();
        cmd.arg("render").arg(&spec).arg("--out").arg(&out);
        if force {
            cmd.arg("--force");
        }
        cmd.assert()
            .code(2)
            .stderr(predicate::str::contains(
                out.join("nodes/a").display().to_string(),
            ))
            .stderr(predicate::str::contains("symbolic link"));
        assert!(tree(&elsewhere).is_empty(), "written through the link");
    }
    // a link in place of a file is refused the same way, and left alone
    fs::remove_file(out.join("nodes/a")).unwrap();
    let victim = d.path().join("victim");
    fs::write(&victim, "keep\n").unwrap();
    fs::create_dir_all(out.join("cluster")).unwrap();
    std::os::unix::fs::symlink(&victim, out.join("cluster/verify.sh")).unwrap();
    render(&spec, &out).code(2).stderr(predicate::str::contains(
        "cluster/verify.sh: is a symbolic link",
    ));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep\n");
    assert!(
        fs::symlink_metadata(out.join("cluster/verify.sh"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn finding_04_render_keeps_an_edited_file_it_no_longer_produces() {
    let (_d, spec, out) = rendered_then_b_dropped();
    let edited = out.join(CONFIG_B);
    fs::write(&edited, "my own notes\n").unwrap();
    render(&spec, &out)
        .code(0)
        .stderr(predicate::str::contains(format!(
            "keeping {}: meshspec wrote it and the spec no longer has it, but it was edited since",
            edited.display()
        )));
    assert_eq!(fs::read_to_string(&edited).unwrap(), "my own notes\n");
    // Unedited files of node b are gone; the kept one is no longer claimed by the manifest.
    assert!(!out.join("nodes/b/install.sh").exists());
    let manifest = fs::read_to_string(out.join(MANIFEST)).unwrap();
    assert!(!manifest.contains(CONFIG_B), "{manifest}");
}

#[test]
fn finding_04_force_removes_an_edited_file_it_no_longer_produces() {
    let (_d, spec, out) = rendered_then_b_dropped();
    fs::write(out.join(CONFIG_B), "my own notes\n").unwrap();
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--force")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("removing"));
    assert!(!out.join(CONFIG_B).exists());
}

#[test]
fn finding_08_validate_refuses_dev_zero_with_ms001_and_exit_2() {
    meshspec()
        .args(["validate", "/dev/zero"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stdout(predicate::str::contains("error[MS001]"))
        .stdout(predicate::str::contains("larger than 16 MiB"));
}

#[test]
fn finding_08_validate_refuses_endless_standard_input_with_ms001_and_exit_2() {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meshspec"))
        .args(["validate", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // like `yes`: write until the reader goes away
    let writer = std::thread::spawn(move || {
        let chunk = "y\n".repeat(32 * 1024);
        while stdin.write_all(chunk.as_bytes()).is_ok() {}
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["diagnostics"][0]["code"], "MS001");
}

#[test]
fn finding_09_ten_thousand_unknown_keys_on_one_line_print_bounded_text() {
    let keys: Vec<String> = (0..10_000).map(|i| format!("k{i}: 1")).collect();
    let (_d, spec) = with_spec(&format!("{OK}network: {{{}}}\n", keys.join(", ")));
    let text = meshspec()
        .arg("validate")
        .arg(&spec)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(text.len() < 100_000, "{} bytes of output", text.len());
    assert_eq!(text.matches("error[MS002]").count(), 50);
    assert!(text.contains("... and 9950 more MS002 (unknown-field) not shown"));
    // the rules that can still run did (one round of errors): their findings follow
    assert!(
        text.contains("\n10000 errors, "),
        "{}",
        &text[text.len() - 300..]
    );
    // every shown source line is a window around the key, not the 118 KB line
    let source_line = |l: &&str| {
        l.trim_start()
            .split_once(" |")
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    assert!(text.lines().filter(source_line).count() >= 50);
    assert!(
        text.lines()
            .filter(source_line)
            .all(|l| l.chars().count() < 200)
    );
    // JSON keeps them all
    let json = meshspec()
        .args(["validate", "--format", "json"])
        .arg(&spec)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let unknown = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "MS002")
        .count();
    assert_eq!(unknown, 10_000);
}

#[test]
fn finding_10_a_killed_renders_temp_files_are_removed_by_the_next_run() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    render(&spec, &out).code(0);
    // A finished run marks its manifest clean; a run claims the paths it will touch with a
    // manifest without the mark before it writes any temporary file. What a render killed
    // between staging and renaming leaves: that claim, temporary files (old and new name
    // styles) and a staged new directory with files in it.
    let manifest = fs::read_to_string(out.join(MANIFEST)).unwrap();
    assert!(manifest.contains("\"clean\": true"), "{manifest}");
    fs::write(out.join(MANIFEST), manifest.replace("\"clean\": true,", "")).unwrap();
    let dir = out.join(CONFIG_A).parent().unwrap().to_path_buf();
    let staged = out.join("nodes/.c.meshspec-tmp-9-1-00ff00ff00ff00ff");
    fs::create_dir_all(staged.join("etc/rancher/k3s")).unwrap();
    let stale = [
        dir.join(".config.yaml.meshspec-tmp-4242"),
        dir.join(".config.yaml.meshspec-tmp-7-0-00ff00ff00ff00ff"),
        out.join(".PLAN.md.meshspec-tmp-1"),
        staged.join("etc/rancher/k3s/config.yaml"),
        staged.join("install.sh"),
    ];
    for s in &stale {
        fs::write(s, "half").unwrap();
    }
    // nothing to write: the cleanup still happens, and the manifest is clean again
    render(&spec, &out).code(0);
    no_temp_files(&out);
    assert!(!staged.exists());
    assert!(
        fs::read_to_string(out.join(MANIFEST))
            .unwrap()
            .contains("\"clean\": true")
    );
    // a run killed while writing the manifest leaves its temporary file beside a clean one
    fs::write(out.join(".meshspec-manifest.json.meshspec-tmp-3-0-0"), "{").unwrap();
    render(&spec, &out).code(0);
    no_temp_files(&out);
    // a file the user named alike but that is not hidden is left alone
    fs::write(dir.join("notes.meshspec-tmp-1"), "mine").unwrap();
    render(&spec, &out).code(0);
    assert!(dir.join("notes.meshspec-tmp-1").exists());
}

#[test]
fn finding_10_concurrent_renders_into_one_directory_all_succeed() {
    let (d, spec) = with_spec(OK);
    let out = d.path().join("out");
    let children: Vec<_> = (0..6)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_meshspec"))
                .arg("render")
                .arg(&spec)
                .arg("--out")
                .arg(&out)
                .output()
        })
        .map(|o| std::thread::spawn(move || o))
        .collect();
    for c in children {
        let o = c.join().unwrap().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    no_temp_files(&out);
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--check")
        .assert()
        .code(0);
}

#[test]
fn finding_11_control_characters_in_text_output_are_escaped() {
    // An unknown key holding ESC [2J (clear screen) and an OSC title change.
    let (_d, spec) = with_spec(&format!(
        "{OK}network: {{\"x\\e[2J\": 1, \"y\\e]0;pwned\\a\": 2}}\n"
    ));
    for color in ["never", "always"] {
        let out = meshspec()
            .args(["validate", "--color", color])
            .arg(&spec)
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("x\\u{1b}[2J"), "{text}");
        assert!(text.contains("y\\u{1b}]0;pwned\\u{7}"), "{text}");
        assert!(
            !text.contains("\x1b[2J") && !text.contains('\x07'),
            "{text:?}"
        );
    }
}
