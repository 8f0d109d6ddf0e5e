//! The rendered bundle: relative path → file contents and mode.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnostic::Diagnostics;

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct File {
    /// The full text.
    pub contents: String,
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
    pub fn add(&mut self, path: impl Into<String>, contents: impl Into<String>, mode: u32) {
        // a text built by appending holds up to twice its length: a 5,000-node bundle is
        // 34.6 MB of text, so the spare capacity alone decides whether it fits in 64 MiB
        let mut contents = contents.into();
        contents.shrink_to_fit();
        self.files.insert(path.into(), File { contents, mode });
    }

    /// The contents of a file, if the bundle has it.
    #[must_use]
    pub fn text(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(|f| f.contents.as_str())
    }

    /// The files of one node, with paths relative to the node's root (`etc/rancher/...`).
    #[must_use]
    pub fn node_files(&self, node: &str) -> BTreeMap<String, &File> {
        let prefix = format!("nodes/{node}/");
        self.files
            .iter()
            .filter_map(|(p, f)| p.strip_prefix(&prefix).map(|rel| (rel.to_owned(), f)))
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
