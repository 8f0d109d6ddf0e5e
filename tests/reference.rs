//! The project documents itself: the spec reference, the JSON Schema and the rule index are
//! generated from the code and must match the committed files, and no tracked file points
//! outside the repository.
//!
//! After changing the field table or the rule codes, regenerate with
//! `MESHSPEC_BLESS=1 cargo test -p meshspec --test reference` and read the diff.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read files and fail by panicking"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use meshspec::Code;
use meshspec::spec::fields;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Compares a committed file with what the code generates (or writes it when blessing).
fn committed(rel: &str, generated: &str) {
    let path = root().join(rel);
    if std::env::var_os("MESHSPEC_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{rel} is out of date with the code; run `MESHSPEC_BLESS=1 cargo test -p meshspec --test reference` and review the diff"
    );
}

#[test]
fn the_spec_reference_is_generated_from_the_field_table() {
    committed("docs/spec-format.md", &fields::markdown());
}

#[test]
fn the_port_matrix_page_is_generated_from_the_core() {
    committed("docs/ports.md", &meshspec::ports::docs_markdown());
}

#[test]
fn the_json_schema_is_generated_from_the_field_table() {
    committed("schema/meshspec.schema.json", &fields::json_schema_text());
}

/// `docs/rules.md`: one line per code, linking its page in `core/rules/`.
fn rule_index() -> String {
    let mut out = String::from(
        "# Rule catalogue\n\n<!-- Generated from core/src/code.rs by `MESHSPEC_BLESS=1 cargo test -p meshspec --test reference`. -->\n\nEvery diagnostic meshspec reports carries one of these codes. A code never changes meaning\nand is never reused. Each page says what the rule checks, why it matters, an example and the\nfix; `meshspec explain CODE` prints the same page. Errors stop `render`; warnings and infos\ndo not, and a spec can accept them on purpose with `acknowledge:` (see\n[the spec format](spec-format.md)).\n\n| code | slug | severity | when it fires |\n|---|---|---|---|\n",
    );
    for c in Code::ALL {
        let _ = writeln!(
            out,
            "| [{0}](../core/rules/{0}.md) | `{1}` | {2} | {3} |",
            c.as_str(),
            c.slug(),
            c.default_severity(),
            c.summary().replace('|', "\\|")
        );
    }
    out
}

#[test]
fn the_rule_index_lists_every_code_and_every_page_exists() {
    committed("docs/rules.md", &rule_index());
    for c in Code::ALL {
        let page = root().join(format!("core/rules/{}.md", c.as_str()));
        assert!(page.is_file(), "{} has no page", c.as_str());
    }
    // and no page is left over for a code that does not exist
    for entry in std::fs::read_dir(root().join("core/rules")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(code) = name.strip_suffix(".md") {
            assert!(
                Code::lookup(code).is_some(),
                "core/rules/{name} has no code"
            );
        }
    }
}

/// Tracked files, from git when there is a checkout, else by walking the tree.
fn tracked_files() -> Vec<PathBuf> {
    let root = root();
    if let Ok(out) = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        && out.status.success()
        && !out.stdout.is_empty()
    {
        return out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| root.join(String::from_utf8_lossy(p).as_ref()))
            .filter(|p| p.is_file())
            .collect();
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            let name = e.file_name();
            if matches!(
                name.to_str(),
                Some(".git" | "target" | "node_modules" | ".venv" | "dist")
            ) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn no_tracked_file_points_outside_the_repository() {
    // spelled in pieces so that this file does not match itself
    let outside = [
        format!("../{}", "shared"),
        format!("{}/design", "shared"),
        format!("{}/seeds", "shared"),
        format!("{}/reference", "shared"),
        format!("/{}/", "work"),
    ];
    let root = root();
    let mut found = Vec::new();
    for path in tracked_files() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // binary
        };
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        for (i, line) in text.lines().enumerate() {
            for o in &outside {
                if line.contains(o.as_str()) {
                    found.push(format!("{rel}:{}: `{o}`", i + 1));
                }
            }
        }
        if rel.ends_with(".md") {
            for target in relative_links(&text) {
                let resolved = path.parent().unwrap().join(&target);
                let normal = normalize(&resolved);
                if !normal.starts_with(&root) || !normal.exists() {
                    found.push(format!(
                        "{rel}: link `{target}` leads nowhere in the repository"
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "tracked files point outside the repository:\n{}",
        found.join("\n")
    );
}

/// Relative link targets of a Markdown text: `](target)`, without anchors or web addresses.
fn relative_links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split('#').next().unwrap_or("").trim();
        if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
            out.push(target.to_owned());
        }
    }
    out
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn every_example_spec_names_the_schema_for_editors() {
    for dir in ["examples/specs"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                let text = std::fs::read_to_string(&p).unwrap();
                let first = text.lines().next().unwrap_or("");
                assert!(
                    first.starts_with("# yaml-language-server: $schema=")
                        && first.ends_with("schema/meshspec.schema.json"),
                    "{} does not start with the yaml-language-server schema line",
                    p.display()
                );
                let target = first.split('=').nth(1).unwrap();
                assert!(
                    p.parent().unwrap().join(target).is_file(),
                    "{}: {target} does not exist",
                    p.display()
                );
            }
        }
    }
}

#[test]
fn every_package_ships_the_same_license() {
    let license = std::fs::read_to_string(root().join("LICENSE")).unwrap();
    assert!(license.contains("Apache License") && license.contains("Version 2.0, January 2004"));
    for copy in [
        "core/LICENSE",
        "cli/LICENSE",
        "bindings-python/LICENSE",
        "bindings-node/LICENSE",
    ] {
        assert_eq!(
            std::fs::read_to_string(root().join(copy)).unwrap(),
            license,
            "{copy} differs from LICENSE"
        );
    }
}

#[test]
fn the_guides_final_spec_validates_and_its_draft_shows_the_slip() {
    let guide = std::fs::read_to_string(root().join("docs/guide.md")).unwrap();
    // the spec blocks are ```yaml file=cluster.yaml (tests/docs.rs writes them to that file)
    let specs: Vec<&str> = guide
        .split("```yaml")
        .skip(1)
        .filter_map(|b| b.split_once('\n').and_then(|(_, b)| b.split("```").next()))
        .filter(|b| b.starts_with("# yaml-language-server"))
        .collect();
    assert_eq!(specs.len(), 2, "the guide shows a draft and a final spec");
    let draft = meshspec::Cluster::from_yaml(specs[0]).unwrap_err();
    assert_eq!(draft.codes(), vec![Code::InvalidValue]);
    let last = meshspec::Cluster::from_yaml(specs[1]).unwrap().validate();
    assert!(!last.has_errors(), "{last}");
    assert!(last.iter().any(|d| d.acknowledged), "{last}");
    assert!(
        last.render(None)
            .ends_with("0 errors, 0 warnings, 2 info (2 acknowledged)\n")
    );
}
