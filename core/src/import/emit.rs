//! The imported spec as YAML, with a `# TODO` comment for each thing the inputs do not show:
//! all of them in the header, and each node's own above its entry.
//!
//! A TODO's text can hold live data (a node name, a kubelet version, a label reported by the
//! node itself): it is written through [`comment`], which escapes every character any YAML
//! reader takes as a line break (CR, NEL, U+2028/2029) and every control or bidirectional
//! character, so no comment can end early and continue as a key. Values are written by the
//! YAML library, which quotes and escapes them.

use std::fmt::Write as _;

use super::Todo;
use crate::render::yaml_out::comment;
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
            let _ = writeln!(out, "# TODO({}): {}", comment(&t.path), comment(&t.reason));
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
                    comment(&t.path),
                    comment(&t.reason)
                );
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_configs_are_escaped_by_the_writer() {
        let nasty = "a\rproxy: {http: x}\r\u{85}b\u{2028}c\u{2029}d\u{202e}e\u{1b}f";
        let starter =
            crate::spec::starter::starter(&crate::spec::starter::StarterOptions::default())
                .unwrap();
        let mut spec = Spec::from_yaml(&starter).unwrap().0;
        // line breaks in a value: the writer double-quotes and escapes them
        let breaks = "a\rproxy: {http: x}\r\u{85}b\u{2028}c\u{2029}d\u{1b}f";
        spec.k3s
            .server_extra
            .insert("kubelet-arg".into(), serde_json::json!([breaks]));
        let todos = [Todo::new("nodes[0].x\r", nasty)];
        let text = yaml(&spec, &todos);
        for c in ['\r', '\u{85}', '\u{2028}', '\u{2029}', '\u{202e}', '\u{1b}'] {
            assert!(!text.contains(c), "raw {c:?} in\n{text}");
        }
        // the decoder refuses the value (MS003) rather than reading a `proxy:` key
        let back: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert!(back.get("proxy").is_none());
        assert_eq!(
            back["k3s"]["server_extra"]["kubelet-arg"],
            serde_json::json!([breaks])
        );
    }
}
