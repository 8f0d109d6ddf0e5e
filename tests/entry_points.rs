//! Every entry point gives the same verdict: `validate` (a spec's `server_extra` /
//! `agent_extra`), `lint` (a hand-written config.yaml) and `import` (which must not copy a
//! value k3s refuses) judge each k3s value with the one checker, so they cannot disagree.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read fixtures and fail by panicking"
)]

use meshspec::import::{ImportInput, ImportNode, import};
use meshspec::k3s::flags::{Flag, Kind, Role, table};
use meshspec::lint::{ConfigFile, LintOptions, NodeConfig, lint};
use meshspec::{Cluster, Code};
use serde_json::{Value, json};

/// The example values every flag is fed: its declared defaults, then a sample of each shape
/// (right and wrong for its kind) and the cron schedule of issue #23.
fn examples(flag: &Flag) -> Vec<Value> {
    let mut out: Vec<Value> = flag
        .default
        .iter()
        .chain(&flag.default_agent)
        .filter(|v| !v.is_null())
        .cloned()
        .collect();
    out.extend([
        json!("yes"),
        json!(true),
        json!("true"),
        json!(6443),
        json!("6443"),
        json!(30),
        json!("5m"),
        json!("1h30m"),
        json!("0 */6 * *"),
        json!("0 */6 * * *"),
        json!("@daily"),
        json!(["a", "b"]),
        json!({"a": 1}),
    ]);
    out
}

/// Keys meshspec never copies (secrets) or that name other files: not comparable here.
fn comparable(flag: &Flag) -> bool {
    flag.config_file_key
        && !matches!(
            flag.name.as_str(),
            "token"
                | "agent-token"
                | "vpn-auth"
                | "etcd-s3-secret-key"
                | "etcd-s3-session-token"
                | "config"
        )
}

fn role_of(flag: &Flag) -> Role {
    if flag.roles.server {
        Role::Server
    } else {
        Role::Agent
    }
}

/// `validate`: a spec whose `server_extra` (or `agent_extra`) holds the value refuses it.
fn validate_refuses(flag: &Flag, value: &Value) -> bool {
    let field = if role_of(flag) == Role::Server {
        "server_extra"
    } else {
        "agent_extra"
    };
    let spec = format!(
        "version: 1\nname: lab\nk3s:\n  {field}:\n    {}: {value}\nnodes:\n  - {{name: a, role: server, mesh_ip: 100.64.0.1}}\n  - {{name: b, role: agent, mesh_ip: 100.64.0.2}}\n",
        flag.name
    );
    let diagnostics = match Cluster::from_yaml(&spec) {
        Ok(c) => c.validate(),
        Err(ds) => ds,
    };
    diagnostics.iter().any(|d| {
        matches!(d.code, Code::K3sKeyKind | Code::InvalidValue) && d.path.contains(&flag.name)
    })
}

/// `lint`: the same key and value in a config.yaml of the flag's role.
fn lint_refuses(flag: &Flag, value: &Value) -> bool {
    let node = NodeConfig {
        files: vec![ConfigFile::new(
            "config.yaml",
            format!("{}: {value}\n", flag.name),
        )],
        role: Some(role_of(flag)),
    };
    lint(&[node], &LintOptions::default())
        .findings
        .iter()
        .any(|f| f.diagnostic.code == Code::K3sKeyKind)
}

/// `import`: the value is refused (not copied, with a TODO) or flagged in the new spec.
fn import_refuses(flag: &Flag, value: &Value) -> bool {
    let server = role_of(flag) == Role::Server;
    let base: &[(&str, &str)] = if server {
        &[("cluster-init", "true"), ("node-ip", "100.64.0.1")]
    } else {
        &[
            ("server", "https://100.64.0.1:6443"),
            ("node-ip", "100.64.0.2"),
        ]
    };
    let mut text: String = base
        .iter()
        .filter(|(k, _)| table().get(k).map(|f| &f.name) != Some(&flag.name))
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    text.push_str(&format!("{}: {value}\n", flag.name));
    let node = ImportNode {
        name: "a".into(),
        role: Some(if server {
            meshspec::spec::Role::Server
        } else {
            meshspec::spec::Role::Agent
        }),
        files: vec![ConfigFile::new("a.yaml", text)],
    };
    let input = ImportInput {
        name: Some("lab".into()),
        nodes: vec![node],
        ..ImportInput::default()
    };
    let imported = import(&input).unwrap_or_else(|e| panic!("{}: {value}: {e:?}", flag.name));
    let todo = imported
        .todos
        .iter()
        .any(|t| t.reason.contains(&format!("`{}`", flag.name)) && t.reason.contains("MS403"));
    let flagged = imported.diagnostics.iter().any(|d| {
        matches!(d.code, Code::K3sKeyKind | Code::InvalidValue)
            && (d.path.contains(&flag.name) || d.path.starts_with("k3s."))
    });
    todo || flagged
}

#[test]
fn every_example_value_gets_one_verdict_from_validate_lint_and_import() {
    let mut checked = 0;
    let mut refused = 0;
    let mut disagree = Vec::new();
    for flag in table().iter().filter(|f| comparable(f)) {
        for value in examples(flag) {
            let verdicts = [
                validate_refuses(flag, &value),
                lint_refuses(flag, &value),
                import_refuses(flag, &value),
            ];
            checked += 1;
            if verdicts.iter().all(|v| *v) {
                refused += 1;
            } else if verdicts.iter().any(|v| *v) {
                disagree.push(format!(
                    "{}: {value} (validate, lint, import) = {verdicts:?}",
                    flag.name
                ));
            }
        }
    }
    assert!(
        disagree.is_empty(),
        "{} of {checked} disagree:\n{}",
        disagree.len(),
        disagree.join("\n")
    );
    // the test is not vacuous: both verdicts occur
    assert!(refused > 100 && refused < checked, "{refused} of {checked}");
}

#[test]
fn a_cron_schedule_with_four_fields_is_refused_everywhere() {
    let flag = table().get("etcd-snapshot-schedule-cron").unwrap();
    assert_eq!(flag.kind, Kind::String);
    let bad = json!("0 */6 * *");
    assert!(validate_refuses(flag, &bad));
    assert!(lint_refuses(flag, &bad));
    assert!(import_refuses(flag, &bad));
    let good = json!("0 */6 * * *");
    assert!(!validate_refuses(flag, &good));
    assert!(!lint_refuses(flag, &good));
    assert!(!import_refuses(flag, &good));
}

/// The valid fixtures, as text.
fn fixtures() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/valid");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, failure_persistence: None, ..proptest::prelude::ProptestConfig::default() })]

    /// A fixture with one line broken (a value replaced, a key misspelt, a line dropped):
    /// `check_yaml` never panics, keeps every reading error `from_yaml` reports, and equals
    /// `validate` when nothing is broken.
    #[test]
    fn one_round_keeps_every_reading_error_and_never_panics(
        pick in 0usize..64,
        line in 0usize..80,
        how in 0u8..4,
    ) {
        let all = fixtures();
        let text = &all[pick % all.len()];
        let lines: Vec<&str> = text.lines().collect();
        let at = line % lines.len();
        let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        let l = &lines[at];
        match how {
            0 => out[at] = match l.split_once(": ") {
                Some((k, _)) => format!("{k}: [1, {{x: 2}}]"),
                None => (*l).to_owned(),
            },
            1 => out[at] = l.replacen(|c: char| c.is_ascii_lowercase(), "Q", 1),
            2 => { out.remove(at); }
            _ => out[at] = match l.split_once(": ") {
                Some((k, _)) => format!("{k}: 12345"),
                None => (*l).to_owned(),
            },
        }
        let broken = out.join("\n") + "\n";
        let round = Cluster::check_yaml(&broken);
        match Cluster::from_yaml(&broken) {
            Ok(c) => proptest::prop_assert_eq!(round.diagnostics, c.validate()),
            Err(reading) => {
                for d in reading.iter() {
                    proptest::prop_assert!(round.diagnostics.iter().any(|r| r == d), "{d:?} lost");
                }
                proptest::prop_assert!(round.diagnostics.has_errors());
            }
        }
    }
}

#[test]
fn a_refused_value_is_named_in_the_import_todo_without_its_secret() {
    let node = ImportNode {
        name: "w".into(),
        role: Some(meshspec::spec::Role::Agent),
        files: vec![ConfigFile::new(
            "w.yaml",
            "server: https://bob:hunter2@10.0.0.1:6443/x\nnode-ip: 100.64.0.2\n",
        )],
    };
    let input = ImportInput {
        name: Some("lab".into()),
        nodes: vec![node],
        ..ImportInput::default()
    };
    let imported = import(&input).unwrap();
    let todo = imported
        .todos
        .iter()
        .find(|t| t.reason.contains("`server`") && t.reason.contains("MS403"))
        .unwrap();
    assert!(!todo.reason.contains("hunter2"), "{}", todo.reason);
    assert!(!imported.yaml.contains("hunter2"));
}
