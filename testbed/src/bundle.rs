//! The bundle's files as the testbed reads them: from a directory, as they are on disk.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A bundle directory.
#[derive(Debug, Clone)]
pub struct BundleDir {
    root: PathBuf,
}

/// A place in a bundle file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    /// The path inside the bundle (`cluster/firewall/k3s-master.sh`).
    pub file: String,
    /// The line (1-based), when one line decides it.
    pub line: Option<usize>,
}

impl BundleDir {
    /// The bundle at `root`.
    #[must_use]
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// The text of one file, when it exists and is UTF-8.
    #[must_use]
    pub fn text(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(path)).ok()
    }

    /// The first line of `path` that holds every one of `needles`.
    #[must_use]
    pub fn find(&self, path: &str, needles: &[&str]) -> Place {
        let line = self.text(path).and_then(|t| {
            t.lines()
                .position(|l| needles.iter().all(|n| l.contains(n)))
                .map(|i| i + 1)
        });
        Place {
            file: path.to_owned(),
            line,
        }
    }

    /// A node's `config.yaml` path.
    #[must_use]
    pub fn config_path(node: &str) -> String {
        format!("nodes/{node}/etc/rancher/k3s/config.yaml")
    }

    /// The `node-ip` addresses a node's rendered `config.yaml` sets (`node-ip: "a"`, `"a,b"` or
    /// a block list) and the line of the key; empty when the config sets none.
    #[must_use]
    pub fn node_ips(&self, node: &str) -> (Vec<IpAddr>, Option<usize>) {
        let text = self.text(&Self::config_path(node)).unwrap_or_default();
        let mut out = Vec::new();
        let Some(start) = text.lines().position(|l| l.starts_with("node-ip:")) else {
            return (out, None);
        };
        let mut lines = text.lines().skip(start);
        let first = lines.next().unwrap_or_default();
        let clean = |v: &str| v.trim().trim_matches('"').parse::<IpAddr>().ok();
        let inline = first.trim_start_matches("node-ip:").trim();
        if inline.is_empty() {
            out.extend(
                lines
                    .take_while(|l| l.starts_with("  - "))
                    .filter_map(|l| clean(l.trim_start_matches("  - "))),
            );
        } else {
            out.extend(inline.trim_matches('"').split(',').filter_map(clean));
        }
        (out, Some(start + 1))
    }

    /// The `flannel-iface` a node's rendered `config.yaml` sets, and its line.
    #[must_use]
    pub fn flannel_iface(&self, node: &str) -> (Option<String>, Option<usize>) {
        let text = self.text(&Self::config_path(node)).unwrap_or_default();
        text.lines()
            .enumerate()
            .find_map(|(i, l)| {
                l.strip_prefix("flannel-iface:")
                    .map(|v| (Some(v.trim().trim_matches('"').to_owned()), Some(i + 1)))
            })
            .unwrap_or((None, None))
    }
}
