//! The imported spec as YAML, with a `# TODO` comment for each thing the inputs do not show:
//! all of them in the header, and each node's own above its entry.

use std::fmt::Write as _;

use super::Todo;
use crate::spec::Spec;

/// The node index a TODO path names (`nodes[2].mesh_ip` gives 2).
fn node_index(path: &str) -> Option<usize> {
    path.strip_prefix("nodes[")?.split(']').next()?.parse().ok()
}

pub(super) fn yaml(spec: &Spec, todos: &[Todo]) -> String {
    let mut out = String::new();
    out.push_str(
        "# Written by `meshspec import` from the cluster's k3s configs; its report says what\n",
    );
    out.push_str(
        "# `meshspec render` of this spec would add to, change in or drop from each config.\n",
    );
    if !todos.is_empty() {
        out.push_str("# What the inputs do not show (nothing below was guessed silently):\n");
        for t in todos {
            let _ = writeln!(out, "# TODO({}): {}", t.path, t.reason.replace('\n', " "));
        }
    }
    let mut by_node: std::collections::BTreeMap<usize, Vec<&Todo>> =
        std::collections::BTreeMap::new();
    for t in todos {
        if let Some(i) = node_index(&t.path) {
            by_node.entry(i).or_default().push(t);
        }
    }
    let body = spec.to_yaml();
    let mut node_seen: Option<usize> = None;
    let mut in_nodes = false;
    for line in body.lines() {
        if line == "nodes:" {
            in_nodes = true;
        } else if in_nodes && line.trim_start().starts_with("- name:") {
            let i = node_seen.map_or(0, |i| i + 1);
            node_seen = Some(i);
            let indent = &line[..line.len() - line.trim_start().len()];
            for t in by_node.get(&i).into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "{indent}# TODO({}): {}",
                    t.path,
                    t.reason.replace('\n', " ")
                );
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
