//! Unified diffs of a render plan, for `render --check`.
//!
//! Each changed path gets a git-style header (`diff a/PATH b/PATH`, `new file mode 100600`,
//! `old mode`/`new mode`, `deleted file mode`) followed by a unified diff with three lines of
//! context. Files that are not UTF-8 are reported as `binary files differ`.
//!
//! A secret-bearing file (one readable by its owner only, mode 0600: the proxy credentials in
//! the k3s env file) is diffed with its secrets hidden on both sides, whatever `--quiet` says,
//! because a diff is printed and may be logged: a URL's user name and password, and the value
//! of any line keyed by a secret or holding a token's shape, read `<redacted>`. When only a
//! secret changed the diff says `secret values differ in a/PATH (not shown)`.

use std::fmt::Write as _;

use similar::TextDiff;

use crate::write::{Action, Change, Plan};

/// The diff of everything `plan` would change; empty when it changes nothing.
#[must_use]
pub fn plan_diff(plan: &Plan<'_>) -> String {
    let mut out = String::new();
    for c in &plan.changes {
        change_diff(&mut out, c);
    }
    out
}

/// Whether a file readable by its owner only is on either side of a change.
fn secret_bearing(c: &Change<'_>) -> bool {
    let private = |m: u32| m & 0o077 == 0;
    c.old.as_ref().is_some_and(|o| private(o.mode)) || c.new.is_some_and(|(_, m)| private(m))
}

/// A private file's text with every secret hidden, line by line: a line keyed by a secret
/// (`token: …`, whatever the value) or holding a token's shape loses its value, and a URL its
/// user name and password (`HTTP_PROXY=http://<redacted>@proxy:3128`).
fn redacted(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
            let body = if meshspec::secrets::line_has_secret(body) {
                meshspec::secrets::redact_line(body)
            } else {
                meshspec::secrets::redact_text(body)
            };
            format!("{body}{nl}")
        })
        .collect()
}

fn change_diff(out: &mut String, c: &Change<'_>) {
    // a path from the directory (a file the manifest lists) is shown escaped
    let path = &*meshspec::printable::escape(&c.path);
    let secret = secret_bearing(c);
    let old_text = c.old.as_ref().map(|o| {
        String::from_utf8(o.bytes.clone())
            .map(|t| if secret { redacted(&t) } else { t })
            .map_err(|_| ())
    });
    let new_owned = c.new.map(|(t, _)| {
        let t = t.as_str();
        if secret { redacted(&t) } else { t.into_owned() }
    });
    let new_text = new_owned.as_deref().unwrap_or("");
    let old_mode = c.old.as_ref().map(|o| o.mode);
    let new_mode = c.new.as_ref().map(|(_, m)| *m);
    match c.action {
        Action::Unchanged => {}
        Action::Create => {
            let _ = writeln!(out, "diff a/{path} b/{path}");
            let _ = writeln!(out, "new file mode {}", git_mode(new_mode));
            unified(out, "/dev/null", &format!("b/{path}"), "", new_text);
        }
        Action::Remove => {
            let _ = writeln!(out, "diff a/{path} b/{path}");
            let _ = writeln!(out, "deleted file mode {}", git_mode(old_mode));
            match old_text {
                Some(Ok(text)) => unified(out, &format!("a/{path}"), "/dev/null", &text, ""),
                _ => binary(out, path),
            }
        }
        Action::Chmod | Action::Update => {
            let _ = writeln!(out, "diff a/{path} b/{path}");
            if old_mode != new_mode {
                let _ = writeln!(out, "old mode {}", git_mode(old_mode));
                let _ = writeln!(out, "new mode {}", git_mode(new_mode));
            }
            if c.action == Action::Update {
                match old_text {
                    // only a secret changed: say so without showing it
                    Some(Ok(text)) if secret && text == new_text => {
                        let _ = writeln!(out, "secret values differ in a/{path} (not shown)");
                    }
                    Some(Ok(text)) => unified(
                        out,
                        &format!("a/{path}"),
                        &format!("b/{path}"),
                        &text,
                        new_text,
                    ),
                    _ => binary(out, path),
                }
            }
        }
    }
}

fn git_mode(mode: Option<u32>) -> String {
    format!("100{:03o}", mode.unwrap_or(0o644) & 0o777)
}

fn binary(out: &mut String, path: &str) {
    let _ = writeln!(out, "binary files a/{path} and b/{path} differ");
}

fn unified(out: &mut String, old_name: &str, new_name: &str, old: &str, new: &str) {
    let diff = TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(old_name, new_name)
        .to_string();
    out.push_str(&text);
    if !text.is_empty() && !text.ends_with('\n') {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;
    use crate::write::OnDisk;

    /// A bundle file's text that lives as long as the test's plan.
    fn text(s: &str) -> &'static meshspec::Contents {
        Box::leak(Box::new(meshspec::Contents::from(s)))
    }

    fn plan_of(changes: Vec<Change<'static>>) -> Plan<'static> {
        Plan {
            dir: "out".into(),
            changes,
            conflicts: vec![],
            kept: vec![],
            stale: vec![],
            stale_dirs: vec![],
            old_manifest: Manifest::default(),
            old_manifest_text: None,
            new_manifest: Manifest::default(),
        }
    }

    #[test]
    fn create_update_chmod_remove() {
        let p = plan_of(vec![
            Change {
                path: "a".into(),
                action: Action::Create,
                old: None,
                new: Some((text("x\n"), 0o600)),
                edited: false,
            },
            Change {
                path: "e".into(),
                action: Action::Create,
                old: None,
                new: Some((text("y\n"), 0o644)),
                edited: false,
            },
            Change {
                path: "s".into(),
                action: Action::Update,
                old: Some(OnDisk {
                    bytes: b"HTTP_PROXY=http://u:old@p:3128\n".to_vec(),
                    mode: 0o600,
                }),
                new: Some((text("HTTP_PROXY=http://u:new@p:3128\n"), 0o600)),
                edited: false,
            },
            Change {
                path: "b".into(),
                action: Action::Update,
                old: Some(OnDisk {
                    bytes: b"1\n2\n".to_vec(),
                    mode: 0o644,
                }),
                new: Some((text("1\n3\n"), 0o644)),
                edited: false,
            },
            Change {
                path: "c".into(),
                action: Action::Chmod,
                old: Some(OnDisk {
                    bytes: b"s\n".to_vec(),
                    mode: 0o644,
                }),
                new: Some((text("s\n"), 0o755)),
                edited: false,
            },
            Change {
                path: "d".into(),
                action: Action::Remove,
                old: Some(OnDisk {
                    bytes: b"gone\n".to_vec(),
                    mode: 0o644,
                }),
                new: None,
                edited: false,
            },
        ]);
        let d = plan_diff(&p);
        assert!(d.contains("new file mode 100600\n--- /dev/null\n+++ b/a\n@@ -0,0 +1 @@\n+x\n"));
        assert!(
            d.contains("secret values differ in a/s (not shown)\n"),
            "{d}"
        );
        assert!(d.contains("new file mode 100644\n--- /dev/null\n+++ b/e\n@@ -0,0 +1 @@\n+y\n"));
        assert!(!d.contains("old@") && !d.contains("new@"), "{d}");
        assert!(d.contains("--- a/b\n+++ b/b\n@@ -1,2 +1,2 @@\n 1\n-2\n+3\n"));
        assert!(d.contains("diff a/c b/c\nold mode 100644\nnew mode 100755\n"));
        assert!(d.contains("deleted file mode 100644\n--- a/d\n+++ /dev/null\n"));
    }
}
