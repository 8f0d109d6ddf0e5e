//! Every rule code has an invalid fixture that triggers it and an explanation page; every
//! valid fixture validates without errors and renders. Diagnostics are snapshotted as the text
//! a person reads (`tests/snapshots/`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read fixtures and fail by panicking"
)]

use std::fs;
use std::path::{Path, PathBuf};

use meshspec::render::spec_record;
use meshspec::{Cluster, Code, Diagnostics, RenderOptions, Source};

fn fixtures(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(kind)
}

/// A fixture may come with `MSxxx.no_proxy`: a NO_PROXY value already in use on the nodes,
/// checked against the spec (`Cluster::check_no_proxy`). meshspec's own NO_PROXY covers
/// everything by construction, so MS501 fires on values people wrote by hand.
fn no_proxy_in_use(code: Code) -> Option<String> {
    fs::read_to_string(fixtures("invalid").join(format!("{code}.no_proxy"))).ok()
}

fn is_change_rule(code: Code) -> bool {
    (900..950).contains(&code.number())
}

/// Live rules (MS95x) compare a spec with `kubectl get nodes -o json`: `MSxxx.nodes.json`.
fn is_live_rule(code: Code) -> bool {
    (950..960).contains(&code.number())
}

/// Testbed rules (MS96x) fire on a rendered bundle run in network namespaces:
/// `MSxxx.tamper.json` edits the bundle of `MSxxx.yaml` (run by `tests/testbed.rs`).
fn is_testbed_rule(code: Code) -> bool {
    (960..1000).contains(&code.number())
}

/// Reads, resolves and validates a spec, returning all diagnostics.
fn diagnose(text: &str) -> Diagnostics {
    match Cluster::from_yaml(text) {
        Ok(c) => c.validate(),
        Err(e) => e,
    }
}

#[test]
fn every_code_has_a_fixture_and_a_page() {
    for code in Code::ALL {
        let file = fixtures("invalid").join(format!("{code}.yaml"));
        assert!(file.exists(), "{code} has no fixture at {}", file.display());
        if is_change_rule(*code) {
            let old = fixtures("invalid").join(format!("{code}.old.yaml"));
            assert!(old.exists(), "{code} has no `.old.yaml` fixture");
        }
        if is_live_rule(*code) {
            let nodes = fixtures("invalid").join(format!("{code}.nodes.json"));
            assert!(nodes.exists(), "{code} has no `.nodes.json` fixture");
        }
        if is_testbed_rule(*code) {
            let tamper = fixtures("invalid").join(format!("{code}.tamper.json"));
            assert!(tamper.exists(), "{code} has no `.tamper.json` fixture");
            let spec = fs::read_to_string(&file).unwrap();
            let c = Cluster::from_yaml(&spec).unwrap();
            assert!(!c.validate().has_errors(), "{code}.yaml must be valid");
        }
        let page = code.page();
        assert!(!page.contains("TODO"), "{code} page is unfinished");
        assert!(
            page.starts_with(&format!("# {}: {}", code.as_str(), code.slug())),
            "{code} page title"
        );
    }
}

#[test]
fn every_invalid_fixture_triggers_its_code_and_no_other_error() {
    let mut failures = Vec::new();
    for code in Code::ALL
        .iter()
        .copied()
        .filter(|c| !is_change_rule(*c) && !is_live_rule(*c) && !is_testbed_rule(*c))
    {
        let path = fixtures("invalid").join(format!("{code}.yaml"));
        let text = fs::read_to_string(&path).unwrap();
        let diags = match no_proxy_in_use(code) {
            Some(value) => Cluster::from_yaml(&text)
                .unwrap()
                .check_no_proxy(value.trim()),
            None => diagnose(&text),
        };
        let codes = diags.codes();
        if !codes.contains(&code) {
            failures.push(format!("{code}: got {codes:?}"));
            continue;
        }
        let other_errors: Vec<Code> = diags
            .errors()
            .map(|d| d.code)
            .filter(|c| *c != code)
            .collect();
        if !other_errors.is_empty() {
            failures.push(format!("{code}: also errors {other_errors:?}"));
        }
        let source = Source {
            name: &format!("tests/fixtures/invalid/{code}.yaml"),
            text: &text,
        };
        insta::with_settings!({snapshot_path => "snapshots/invalid", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(code.as_str(), diags.render(Some(&source)));
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_change_fixture_pair_triggers_its_code() {
    for code in Code::ALL.iter().copied().filter(|c| is_change_rule(*c)) {
        let read = |suffix: &str| {
            let path = fixtures("invalid").join(format!("{code}{suffix}"));
            Cluster::from_yaml(&fs::read_to_string(&path).unwrap()).unwrap()
        };
        let (old, new) = (read(".old.yaml"), read(".yaml"));
        assert!(
            !old.validate().has_errors() && !new.validate().has_errors(),
            "{code}: both specs must be valid on their own"
        );
        let plan = meshspec::change::ChangePlan::between(&old, &new);
        assert!(
            plan.diagnostics.codes().contains(&code),
            "{code}: got {:?}",
            plan.diagnostics.codes()
        );
        insta::with_settings!({snapshot_path => "snapshots/invalid", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(code.as_str(), plan.render_markdown());
        });
    }
}

#[test]
fn every_live_fixture_triggers_its_code_and_no_other_finding_but_its_consequences() {
    let mut failures = Vec::new();
    for code in Code::ALL.iter().copied().filter(|c| is_live_rule(*c)) {
        let read = |suffix: &str| {
            fs::read_to_string(fixtures("invalid").join(format!("{code}{suffix}"))).unwrap()
        };
        let text = read(".yaml");
        let cluster = Cluster::from_yaml(&text).unwrap();
        assert!(
            !cluster.validate().has_errors(),
            "{code}: the spec must be valid on its own"
        );
        let diags = meshspec::live::check_live(&cluster, &read(".nodes.json")).unwrap();
        let codes = diags.codes();
        if !codes.contains(&code) {
            failures.push(format!("{code}: got {codes:?}"));
        }
        // MS951 (a node missing) has no other consequence; the others each break one thing
        let others: Vec<Code> = codes.iter().copied().filter(|c| *c != code).collect();
        if !others.is_empty() {
            failures.push(format!("{code}: also {others:?}"));
        }
        let source = Source {
            name: &format!("tests/fixtures/invalid/{code}.yaml"),
            text: &text,
        };
        insta::with_settings!({snapshot_path => "snapshots/invalid", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(code.as_str(), diags.render(Some(&source)));
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn healthy_live_clusters_give_no_finding() {
    for seed in ["seed-flannel", "seed-cilium"] {
        let spec = fs::read_to_string(fixtures("valid").join(format!("{seed}.yaml"))).unwrap();
        let nodes =
            fs::read_to_string(fixtures("live").join(format!("{seed}.nodes.json"))).unwrap();
        let cluster = Cluster::from_yaml(&spec).unwrap();
        let diags = meshspec::live::check_live(&cluster, &nodes).unwrap();
        assert!(diags.is_empty(), "{seed}: {}", diags.render(None));
    }
}

#[test]
fn valid_fixtures_have_no_errors_and_render_deterministically() {
    let mut names: Vec<PathBuf> = fs::read_dir(fixtures("valid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert!(names.len() >= 8);
    for path in names {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(&path).unwrap();
        let cluster = Cluster::from_yaml(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let diags = cluster.validate();
        assert!(!diags.has_errors(), "{name}: {}", diags.render(None));
        let options = RenderOptions {
            spec_name: format!("{name}.yaml"),
        };
        let bundle = cluster.render(&options).unwrap();
        let again = Cluster::from_yaml(&text).unwrap().render(&options).unwrap();
        assert_eq!(bundle, again, "{name}: rendering is not byte-stable");
        // the bundle's record of its spec (what `testbed --bundle DIR` reads) renders it again
        let record = bundle.text(spec_record::PATH).unwrap();
        let from_record = Cluster::from_yaml(&record)
            .unwrap_or_else(|e| panic!("{name}: {} does not read back: {e}", spec_record::PATH));
        assert_eq!(
            from_record.render(&options).unwrap().files,
            bundle.files,
            "{name}: {} renders another bundle",
            spec_record::PATH
        );
        let mut all = String::new();
        // the record is the spec itself (checked just above), not a rendered file to review
        for (p, f) in bundle.files.iter().filter(|(p, _)| *p != spec_record::PATH) {
            all.push_str(&format!("==> {p} (mode {:o})\n{}\n", f.mode, f.contents));
        }
        let source = Source {
            name: &format!("{name}.yaml"),
            text: &text,
        };
        insta::with_settings!({snapshot_path => "snapshots/valid", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("{name}-diagnostics"), diags.render(Some(&source)));
            insta::assert_snapshot!(format!("{name}-bundle"), all);
        });
    }
}

#[test]
fn seed_copies_match_the_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (fixture, example) in [
        ("seed-cilium.yaml", "cilium-vxlan-over-tailscale.yaml"),
        (
            "seed-flannel.yaml",
            "flannel-over-tailscale-gpu-worker.yaml",
        ),
    ] {
        let a = fs::read_to_string(fixtures("valid").join(fixture)).unwrap();
        let b = fs::read_to_string(root.join("examples/specs").join(example)).unwrap();
        assert_eq!(a, b, "{fixture} drifted from examples/specs/{example}");
    }
}

#[test]
fn json_and_yaml_give_the_same_cluster() {
    let text = fs::read_to_string(fixtures("valid").join("seed-flannel.yaml")).unwrap();
    let json: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let from_json = Cluster::from_json(&json).unwrap();
    let from_yaml = Cluster::from_yaml(&text).unwrap();
    assert_eq!(from_json.spec, from_yaml.spec);
    let opts = RenderOptions::default();
    assert_eq!(
        from_json.render(&opts).unwrap().files,
        from_yaml.render(&opts).unwrap().files
    );
    // positions only exist for text
    let bad = serde_json::json!({"version": 1, "name": "x", "nodes": [], "netwrk": {}});
    let e = Cluster::from_json(&bad).unwrap_err();
    assert_eq!(e.diagnostics[0].path, "netwrk");
    assert_eq!(e.diagnostics[0].line, None);
}
