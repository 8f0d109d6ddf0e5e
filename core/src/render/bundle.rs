//! The rendered bundle: relative path → file contents and mode.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Bound;

use serde::Serialize;

use crate::diagnostic::Diagnostics;
use crate::render::Contents;

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct File {
    /// The full text, as pieces that other files may share (see [`Contents`]); it serializes
    /// as one string.
    pub contents: Contents,
    /// Unix permission bits, e.g. `0o600`.
    pub mode: u32,
}

/// Everything a cluster needs, keyed by relative path (`nodes/<node>/etc/...`, `cluster/...`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Bundle {
    /// The files, sorted by path.
    pub files: BTreeMap<String, File>,
    /// The warnings and info that remained when rendering (no errors: those refuse).
    pub diagnostics: Diagnostics,
}

impl Bundle {
    /// Adds a file (a later file at the same path replaces the earlier one).
    ///
    /// A `String` gives back its spare capacity (a text built by appending holds up to twice
    /// its length); pass a [`Contents`] made of shared pieces to hold a body once for many files.
    pub fn add(&mut self, path: impl Into<String>, contents: impl Into<Contents>, mode: u32) {
        let contents = contents.into();
        self.files.insert(path.into(), File { contents, mode });
    }

    /// The text of a file, if the bundle has it: borrowed when the file is one piece, joined
    /// otherwise (see [`Contents::as_str`]).
    #[must_use]
    pub fn text(&self, path: &str) -> Option<Cow<'_, str>> {
        self.files.get(path).map(|f| f.contents.as_str())
    }

    /// The files of one node, with paths relative to the node's root (`etc/rancher/...`).
    ///
    /// A range lookup in the sorted paths: it costs the node's own files (plus a logarithmic
    /// search), never a walk over the whole bundle, so a loop over every node stays linear.
    #[must_use]
    pub fn node_files(&self, node: &str) -> BTreeMap<String, &File> {
        let prefix = format!("nodes/{node}/");
        self.files
            .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
            .map_while(|(p, f)| p.strip_prefix(&prefix).map(|rel| (rel.to_owned(), f)))
            .collect()
    }
}

/// How to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// The spec's name (usually its file name). Kept for API compatibility: generated files
    /// name only the cluster, never the spec file, so renaming or copying a spec changes no
    /// byte of the bundle (and a file name can never reach a file's text).
    pub spec_name: String,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            spec_name: "spec.yaml".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_files_are_exactly_the_nodes_own_even_when_names_share_a_prefix() {
        let mut b = Bundle::default();
        for path in [
            "PLAN.md",
            "cluster/firewall/a.sh",
            "nodes/a-b/install.sh",
            "nodes/a/etc/rancher/k3s/config.yaml",
            "nodes/a/install.sh",
            "nodes/a0/install.sh",
            "nodes/ab/install.sh",
            "nodes/b/install.sh",
        ] {
            b.add(path, path, 0o644);
        }
        let names = |n: &str| b.node_files(n).into_keys().collect::<Vec<_>>();
        assert_eq!(names("a"), ["etc/rancher/k3s/config.yaml", "install.sh"]);
        assert_eq!(names("a-b"), ["install.sh"]);
        assert_eq!(names("ab"), ["install.sh"]);
        assert!(names("c").is_empty());
        assert_eq!(
            b.node_files("a")["install.sh"].contents,
            "nodes/a/install.sh"
        );
    }
}
