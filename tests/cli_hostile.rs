//! Issue #19: data that does not come from the spec author is hostile too. Real processes on
//! real files: hand-written configs with passphrases, files already in `--out`, symbolic links,
//! FIFOs, huge and sparse files, hostile file names, a umask of 000.
//!
//! Each test is named after the item of the issue it proves (`item_02_…`) and fails on the
//! code before the fix.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails by panicking, helpers included"
)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use tempfile::TempDir;

#[path = "common/cli.rs"]
mod cli_common;
use cli_common::{meshspec, with_spec};

const MANIFEST: &str = ".meshspec-manifest.json";

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A spec whose proxy carries credentials: the env file holding them is written 0600.
fn proxy_spec(password: &str) -> String {
    format!(
        "version: 1\nname: lab\nproxy:\n  http: http://bob:{password}@proxy.example:3128\n  https: http://bob:{password}@proxy.example:3128\nnodes:\n  - {{name: a, role: server, mesh_ip: 100.64.0.1}}\n  - {{name: b, role: agent, mesh_ip: 100.64.0.2}}\n"
    )
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ------------------------------------------------------------------ 2. secrets by key

#[test]
fn item_02_lint_redacts_secret_keys_whatever_the_value() {
    let dir = TempDir::new().unwrap();
    let cfg = dir.path().join("config.yaml");
    // every line is shown: a duplicated key (MS010), a list where a string goes (MS403)
    let config = "token: hunter2hunter2\ntoken: hunter2hunter2\nagent-token: [\"sesame-open\"]\nnode-label: [\"x=1\"]\netcd-s3-secret-key: [\"s3cr3tkey\"]\n";
    fs::write(&cfg, config).unwrap();
    let out = meshspec()
        .args(["--color", "never", "lint"])
        .arg(&cfg)
        .output()
        .unwrap();
    let shown = text(&out);
    assert!(shown.contains("token: <redacted>"), "{shown}");
    for secret in ["hunter2hunter2", "sesame-open", "s3cr3tkey"] {
        assert!(!shown.contains(secret), "{secret} echoed:\n{shown}");
    }
    let json = meshspec()
        .args(["lint", "--format", "json"])
        .arg(&cfg)
        .output()
        .unwrap();
    let shown = text(&json);
    for secret in ["hunter2hunter2", "sesame-open", "s3cr3tkey"] {
        assert!(!shown.contains(secret), "{secret} echoed in JSON:\n{shown}");
    }
}

#[test]
fn item_02_render_check_never_prints_the_env_files_credentials() {
    let (dir, spec) = with_spec(&proxy_spec("oldpassword1"));
    let out = dir.path().join("out");
    // a fresh directory: every file is new, the env file's credentials are hidden
    let o = meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--check")
        .output()
        .unwrap();
    let shown = text(&o);
    assert!(
        shown.contains("HTTP_PROXY=http://<redacted>@proxy.example:3128"),
        "{shown}"
    );
    assert!(!shown.contains("oldpassword1"), "{shown}");
    meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    fs::write(&spec, proxy_spec("newpassword2")).unwrap();
    for quiet in [false, true] {
        let mut cmd = meshspec();
        cmd.args(["--color", "never"]);
        if quiet {
            cmd.arg("-q");
        }
        let o = cmd
            .arg("render")
            .arg(&spec)
            .arg("--out")
            .arg(&out)
            .arg("--check")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "drift");
        let shown = text(&o);
        assert!(
            shown.contains(
                "secret values differ in a/nodes/a/etc/systemd/system/k3s.service.env (not shown)"
            ),
            "{shown}"
        );
        for pw in ["oldpassword1", "newpassword2"] {
            assert!(!shown.contains(pw), "quiet={quiet}: {pw} printed:\n{shown}");
        }
    }
}

// ------------------------------------------------------------------ 3. manifest

#[test]
fn item_03_the_manifest_is_readable_by_its_owner_only() {
    let (dir, spec) = with_spec(&proxy_spec("hunter2"));
    let out = dir.path().join("out");
    let render = || {
        meshspec()
            .arg("render")
            .arg(&spec)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
    };
    render();
    let manifest = out.join(MANIFEST);
    assert_eq!(mode(&manifest), 0o600);
    // the secret-bearing file it hashes is 0600 too
    let text = fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("\"mode\": \"0600\""), "{text}");
    // a manifest an older version left world-readable is made private by the next render,
    // even when nothing else changes
    fs::set_permissions(&manifest, fs::Permissions::from_mode(0o644)).unwrap();
    render();
    assert_eq!(mode(&manifest), 0o600);
    assert_eq!(fs::read_to_string(&manifest).unwrap(), text);
}

// ------------------------------------------------------------------ 6. terminal

/// A file name that, printed raw, ends the line and paints a fake green all-clear.
const FAKE_LINE: &str = "x\n\x1b[32mno problems found\x1b[0m.yaml";

fn assert_inert(shown: &str) {
    assert!(!shown.contains('\x1b'), "raw ESC printed:\n{shown:?}");
    assert!(
        !shown.lines().any(|l| l.starts_with("no problems found")),
        "a file name printed a line of its own:\n{shown}"
    );
}

#[test]
fn item_06_file_names_cannot_print_lines_or_colours() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("config.yaml"), "node-ip: 100.64.0.1\n").unwrap();
    let dropins = dir.path().join("config.yaml.d");
    fs::create_dir(&dropins).unwrap();
    // a finding in it (the diagnostic names the file) ...
    fs::write(dropins.join(FAKE_LINE), "tokn: 1\n").unwrap();
    for colour in ["never", "always"] {
        let out = meshspec()
            .args(["--color", colour, "lint"])
            .arg(dir.path())
            .output()
            .unwrap();
        let shown = text(&out);
        assert!(shown.contains("MS402"), "{shown}");
        let without_own_codes = if colour == "always" {
            [
                "\x1b[0m",
                "\x1b[1m",
                "\x1b[1;31m",
                "\x1b[1;33m",
                "\x1b[1;34m",
                "\x1b[1;36m",
            ]
            .iter()
            .fold(shown.clone(), |s, c| s.replace(c, ""))
        } else {
            shown
        };
        assert_inert(&without_own_codes);
    }
    // ... and a file it cannot read (the error names the file)
    fs::write(dropins.join(FAKE_LINE), b"\xff\xfe").unwrap();
    let out = meshspec()
        .args(["--color", "never", "lint"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_inert(&text(&out));
}

// ------------------------------------------------------------------ 4. reading through links

const CANARY: &str = "CANARY_b7e1c0de";

#[test]
fn item_04_a_spec_linked_to_proc_environ_is_not_echoed() {
    let dir = TempDir::new().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::os::unix::fs::symlink("/proc/self/environ", &spec).unwrap();
    for cmd in ["validate", "plan"] {
        let out = meshspec()
            .env("CI_TOKEN", CANARY)
            .arg(cmd)
            .arg(&spec)
            .output()
            .unwrap();
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(2), "{shown}");
        assert!(
            !shown.contains(CANARY),
            "the environment was printed:\n{shown}"
        );
        assert!(shown.contains("pseudo-file"), "{shown}");
    }
    // a binary file (NUL bytes) is refused without a snippet too
    let bin = dir.path().join("bin.yaml");
    fs::write(&bin, format!("a: 1\x00{CANARY}\n")).unwrap();
    let out = meshspec().arg("validate").arg(&bin).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out).contains(CANARY), "{}", text(&out));
}

#[test]
fn item_04_lint_does_not_follow_drop_in_links_out_of_the_directory() {
    let dir = TempDir::new().unwrap();
    let secrets = dir.path().join("credentials");
    fs::write(
        &secrets,
        format!("[default]\naws_secret_access_key = {CANARY}\naws_access_key_id = AKIAEXAMPLE\n"),
    )
    .unwrap();
    let node = dir.path().join("node");
    let dropins = node.join("config.yaml.d");
    fs::create_dir_all(&dropins).unwrap();
    fs::write(node.join("config.yaml"), "node-ip: 100.64.0.1\n").unwrap();
    std::os::unix::fs::symlink(&secrets, dropins.join("50-aws.yaml")).unwrap();
    let out = meshspec().arg("lint").arg(&node).output().unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        !shown.contains(CANARY),
        "a linked file was printed:\n{shown}"
    );
    assert!(
        shown.contains("symbolic link out of its drop-in directory"),
        "{shown}"
    );
    // the same file named directly: not YAML, and its secret line is not shown
    let out = meshspec().arg("lint").arg(&secrets).output().unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.contains("MS001"), "{shown}");
    assert!(!shown.contains(&format!("= {CANARY}")), "{shown}");
    // a link to a sibling inside the directory is read as k3s reads it
    fs::remove_file(dropins.join("50-aws.yaml")).unwrap();
    fs::write(dropins.join("10-real.yml.txt"), "tokn: 1\n").unwrap();
    std::os::unix::fs::symlink("10-real.yml.txt", dropins.join("20-link.yaml")).unwrap();
    let out = meshspec().arg("lint").arg(&node).output().unwrap();
    assert!(text(&out).contains("MS402"), "{}", text(&out));
}

// ------------------------------------------------------------------ 8. bounded reads

#[test]
fn item_08_lint_and_import_refuse_oversized_files_with_ms001() {
    let dir = TempDir::new().unwrap();
    let big = dir.path().join("config.yaml");
    // valid YAML all the way (a comment), 17 MiB
    let mut text = String::from("node-ip: 100.64.0.1\n");
    text.push_str(&format!("# {}\n", "x".repeat(17 * 1024 * 1024)));
    fs::write(&big, &text).unwrap();
    let out = meshspec().arg("lint").arg(&big).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
    assert!(text_of(&out).contains("MS001"), "{}", text_of(&out));
    let out = meshspec()
        .arg("import")
        .arg(format!("a={}", big.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
    assert!(text_of(&out).contains("MS001"), "{}", text_of(&out));
    // check-live's node list too
    let spec = dir.path().join("spec.yaml");
    fs::write(&spec, proxy_spec("pw")).unwrap();
    let out = meshspec()
        .arg("check-live")
        .arg(&spec)
        .arg("--nodes")
        .arg(&big)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
    assert!(text_of(&out).contains("MS001"), "{}", text_of(&out));
    // a sparse file is refused by its size, unread
    let sparse = dir.path().join("sparse.yaml");
    fs::File::create(&sparse)
        .unwrap()
        .set_len(200 * 1024 * 1024 * 1024)
        .unwrap();
    let out = meshspec().arg("lint").arg(&sparse).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // /dev/zero: read up to the limit, then MS001 (it was linted as an empty file)
    let out = meshspec()
        .arg("lint")
        .arg("/dev/zero")
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
    assert!(text_of(&out).contains("MS001"), "{}", text_of(&out));
}

fn text_of(out: &std::process::Output) -> String {
    text(out)
}

#[test]
fn item_08_a_fifo_config_is_refused_not_waited_on() {
    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("config.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for args in [vec!["lint"], vec!["validate"]] {
        let target = if args[0] == "lint" {
            dir.path().to_owned()
        } else {
            fifo.clone()
        };
        let out = meshspec()
            .args(&args)
            .arg(&target)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains("FIFO"), "{}", text(&out));
    }
}

#[test]
fn item_08_a_huge_sparse_file_in_out_does_not_abort_render() {
    let (dir, spec) = with_spec(&proxy_spec("pw"));
    let out = dir.path().join("out");
    fs::create_dir_all(&out).unwrap();
    fs::File::create(out.join("PLAN.md"))
        .unwrap()
        .set_len(200 * 1024 * 1024 * 1024)
        .unwrap();
    let o = meshspec()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let shown = text(&o);
    assert_eq!(o.status.code(), Some(2), "{shown}");
    assert!(shown.contains("PLAN.md: is larger than"), "{shown}");
}

// ------------------------------------------------------------------ 11. umask 000

#[test]
fn item_11_umask_000_creates_no_world_writable_directory() {
    let (dir, spec) = with_spec(&proxy_spec("pw"));
    let out = dir.path().join("a/b/out");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" render \"$1\" --out \"$2\"")
        .arg(env!("CARGO_BIN_EXE_meshspec"))
        .arg(&spec)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let mut dirs = vec![dir.path().join("a"), dir.path().join("a/b")];
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                assert_eq!(mode(&p) & 0o022, 0, "{} is {:o}", p.display(), mode(&p));
            }
        }
        dirs.push(d);
    }
    for d in dirs {
        assert_eq!(mode(&d), 0o755, "{}", d.display());
    }
}

// ------------------------------------------------------------------ 9. interrupted renders

fn spec_a() -> String {
    "version: 1\nname: lab\nproxy:\n  http: http://bob:pw@proxy.example:3128\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: agent, mesh_ip: 100.64.0.2}\n  - {name: c, role: agent, mesh_ip: 100.64.0.3}\n".to_owned()
}

/// Changes `b` (updates in existing directories), drops `c` (removals), adds `d` (a new
/// directory tree) and changes the proxy password (the 0600 env files).
fn spec_b() -> String {
    "version: 1\nname: lab\nproxy:\n  http: http://bob:pw2@proxy.example:3128\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: agent, mesh_ip: 100.64.0.9}\n  - {name: d, role: agent, mesh_ip: 100.64.0.4}\n".to_owned()
}

/// Every regular file under `dir` (relative path → (bytes, mode)), temporaries left out.
fn files(dir: &Path) -> std::collections::BTreeMap<String, (Vec<u8>, u32)> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            if rel.contains(".meshspec-tmp-") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel, (fs::read(&p).unwrap(), mode(&p)));
            }
        }
    }
    out
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the manifest describes the disk: every file is recorded, with its content and
/// mode as the record or as the `also` a killed run was putting in place.
fn manifest_describes_disk(out: &Path) -> Result<(), String> {
    let text = fs::read_to_string(out.join(MANIFEST)).map_err(|e| e.to_string())?;
    let m: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    for (rel, (bytes, mode)) in files(out) {
        if rel == MANIFEST {
            continue;
        }
        let e = &m["files"][&rel];
        let h = sha(bytes.as_slice());
        let mode = format!("{mode:04o}");
        let ok = |x: &serde_json::Value| x["sha256"] == h.as_str() && x["mode"] == mode.as_str();
        if !(ok(e) || ok(&e["also"])) {
            return Err(format!("{rel}: on disk {h} {mode}, recorded {e}"));
        }
    }
    Ok(())
}

fn render_with(spec: &Path, out: &Path, fault: Option<String>) -> std::process::Output {
    let mut cmd = meshspec();
    cmd.args(["--color", "never", "render"])
        .arg(spec)
        .arg("--out")
        .arg(out);
    if let Some(f) = fault {
        cmd.env("MESHSPEC_TEST_FAULT", f);
    }
    cmd.output().unwrap()
}

#[test]
fn item_09_the_manifest_describes_the_disk_after_any_interruption() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    fs::write(&a, spec_a()).unwrap();
    fs::write(&b, spec_b()).unwrap();
    let fresh = |spec: &Path, name: &str| {
        let out = dir.path().join(name);
        assert!(render_with(spec, &out, None).status.success());
        files(&out)
    };
    let (fresh_a, fresh_b) = (fresh(&a, "fresh-a"), fresh(&b, "fresh-b"));
    let mut steps = 0;
    for kind in ["abort", "fail"] {
        for n in 1.. {
            let out = dir.path().join(format!("out-{kind}-{n}"));
            assert!(render_with(&a, &out, None).status.success());
            let run = render_with(&b, &out, Some(format!("{n}:{kind}")));
            if run.status.success() {
                // no step left to interrupt
                assert_eq!(files(&out), fresh_b, "{kind} {n}");
                break;
            }
            steps = steps.max(n);
            if kind == "abort" {
                assert!(run.status.code().is_none(), "{kind} {n}: {}", text(&run));
            } else {
                assert_eq!(run.status.code(), Some(2), "{kind} {n}: {}", text(&run));
            }
            manifest_describes_disk(&out).unwrap_or_else(|e| panic!("{kind} at step {n}: {e}"));
            // the next render of the old spec drops what the new one added, silently: it is
            // meshspec's, not edited, not foreign
            let next = render_with(&a, &out, None);
            let shown = text(&next);
            assert!(next.status.success(), "{kind} {n}: {shown}");
            for bad in ["edited since", "keeping", "not written by meshspec"] {
                assert!(!shown.contains(bad), "{kind} at step {n}: {shown}");
            }
            assert_eq!(files(&out).len(), fresh_a.len(), "{kind} {n}");
            for (rel, f) in &fresh_a {
                if rel != MANIFEST {
                    assert_eq!(files(&out).get(rel), Some(f), "{kind} {n}: {rel}");
                }
            }
            manifest_describes_disk(&out).unwrap();
            // and the new spec renders as on a fresh directory
            assert!(render_with(&b, &out, None).status.success());
            assert_eq!(files(&out), fresh_b, "{kind} {n}");
            let _ = fs::remove_dir_all(&out);
        }
    }
    // the test interrupted something: manifest writes, staging, renames, removals
    assert!(steps > 10, "{steps} steps");
}
