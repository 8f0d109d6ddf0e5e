//! Rendering: every artifact a cluster needs, as a pure function of the resolved model.
//!
//! [`Cluster::render`] refuses while any error diagnostic remains, then returns a [`Bundle`]:
//! relative paths mapped to file contents and modes. Writing the bundle to disk is the
//! caller's job (the CLI writes atomically); this module never touches a filesystem.

pub mod bundle;
pub mod cilium;
pub mod k3s;
pub mod yaml_out;

pub use bundle::{Bundle, File, RenderOptions};

use crate::cluster::{Cluster, Cni};
use crate::diagnostic::Diagnostics;

/// Mode of files that may hold or point at secrets, and of env files.
pub const MODE_PRIVATE: u32 = 0o600;
/// Mode of ordinary files.
pub const MODE_FILE: u32 = 0o644;
/// Mode of scripts.
pub const MODE_SCRIPT: u32 = 0o755;

impl Cluster {
    /// Renders the bundle, or returns every diagnostic when any of them is an error.
    ///
    /// ```
    /// use meshspec::{Cluster, render::RenderOptions};
    /// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
    /// let bundle = c.render(&RenderOptions::default()).unwrap();
    /// assert!(bundle.files.contains_key("nodes/a/etc/rancher/k3s/config.yaml"));
    /// ```
    ///
    /// # Errors
    /// All diagnostics (errors, warnings and info) when at least one is an error.
    pub fn render(&self, options: &RenderOptions) -> Result<Bundle, Diagnostics> {
        let diagnostics = self.validate();
        if diagnostics.has_errors() {
            return Err(diagnostics);
        }
        let mut b = Bundle::default();
        let spec_name = options.spec_name.as_str();
        for n in &self.nodes {
            let base = format!("nodes/{}", n.name);
            b.add(
                format!("{base}/etc/rancher/k3s/config.yaml"),
                k3s::config_yaml(self, n, spec_name),
                MODE_PRIVATE,
            );
        }
        if let Cni::Cilium(_) = &self.cni {
            // cilium values are added by render::cilium
        }
        b.diagnostics = diagnostics;
        Ok(b)
    }
}
