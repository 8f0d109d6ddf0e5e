//! Rendering: every artifact a cluster needs, as a pure function of the resolved model.
//!
//! [`Cluster::render`] refuses while any error diagnostic remains, then returns a [`Bundle`]:
//! relative paths mapped to file contents and modes. Writing the bundle to disk is the
//! caller's job (the CLI writes atomically); this module never touches a filesystem.

pub mod acl;
pub mod bundle;
pub mod cilium;
mod contents;
pub mod diagram;
pub mod dropin;
pub mod env;
pub mod firewall;
pub mod install;
pub mod json_out;
pub mod k3s;
pub mod labels_taints;
pub mod line;
pub mod markdown;
pub mod mermaid;
pub mod plan;
mod shared;
pub mod shell;
pub mod spec_record;
pub mod systemd;
pub mod upgrade;
pub mod verify;
pub mod wgquick;
pub mod yaml_out;

pub use bundle::{Bundle, File, RenderOptions};
pub use contents::Contents;

use crate::cluster::{Cluster, Cni};
use crate::diagnostic::Diagnostics;

/// Mode of files that may hold or point at secrets, and of env files.
pub const MODE_PRIVATE: u32 = 0o600;
/// Mode of ordinary files.
pub const MODE_FILE: u32 = 0o644;
/// Mode of scripts.
pub const MODE_SCRIPT: u32 = 0o755;

/// `items` written one after the other with `sep` between them, or `-` when there are none
/// (how `PLAN.md` and `verify.sh`'s expected table write a list of addresses or blocks).
pub(crate) fn write_list<T: std::fmt::Display>(out: &mut String, items: &[T], sep: &str) {
    use std::fmt::Write as _;
    if items.is_empty() {
        out.push('-');
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        let _ = write!(out, "{item}");
    }
}

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
    pub fn render(&self, _options: &RenderOptions) -> Result<Bundle, Diagnostics> {
        // each node's config entries are computed once, for the rules and for the files
        let entries = k3s::all_config_entries(self);
        let diagnostics = self.validate_with(&entries);
        if diagnostics.has_errors() {
            return Err(diagnostics);
        }
        Ok(self.assemble(diagnostics, entries))
    }

    /// Renders without validating. Only for tests of the escaping layer: they feed values no
    /// spec that validates can hold and check that every file keeps them inert. Never write
    /// its output to a node.
    #[doc(hidden)]
    #[must_use]
    pub fn render_unvalidated(&self) -> Bundle {
        self.assemble(Diagnostics::default(), k3s::all_config_entries(self))
    }

    /// Every file without the rules, for comparing two bundles (the change plan). Its
    /// `PLAN.md` lists no diagnostics; nothing may write it to a node.
    pub(crate) fn bundle_for_comparison(&self) -> Bundle {
        self.assemble(Diagnostics::default(), k3s::all_config_entries(self))
    }

    /// Every file, given every node's config entries (in `nodes` order); each node's entries
    /// are dropped once its config is written, so they are gone by the time the bundle peaks.
    fn assemble(&self, diagnostics: Diagnostics, entries: Vec<Vec<k3s::ConfigEntry>>) -> Bundle {
        let mut b = Bundle::default();
        let mut shared = shared::Shared::new(self);
        let mesh_unit = dropin::MeshUnit::of(self);
        for (n, entries) in self.nodes.iter().zip(entries) {
            let base = format!("nodes/{}", n.name);
            let mut files: Vec<(String, Contents, u32)> = vec![(
                "etc/rancher/k3s/config.yaml".to_owned(),
                k3s::config_yaml_of(self, n, &entries).into(),
                MODE_PRIVATE,
            )];
            if let Some(text) = shared.service_env(n) {
                let path = format!("etc/systemd/system/{}.service.env", env::service_name(n));
                files.push((path, text, MODE_PRIVATE));
            }
            if let Some(text) = shared.environment_d(n) {
                let path = install::ENVIRONMENT_D.to_owned();
                files.push((path, text, MODE_FILE));
            }
            if let Some(text) = mesh_unit.dropin(self, n) {
                files.push((dropin::path(n), text.into(), MODE_FILE));
            }
            if let Some(text) = shared.tailscaled_dropin(n) {
                files.push((dropin::TAILSCALED_DROPIN.to_owned(), text, MODE_FILE));
            }
            if let Some(text) = wgquick::conf(self, n) {
                files.push((wgquick::path(self), text.into(), MODE_PRIVATE));
            }
            if let Some(text) = wgquick::sysctl(self, n) {
                files.push((wgquick::SYSCTL_PATH.to_owned(), text.into(), MODE_FILE));
            }
            let modes: Vec<(String, u32)> = files.iter().map(|(p, _, m)| (p.clone(), *m)).collect();
            for (rel, text, mode) in files {
                b.add(format!("{base}/{rel}"), text, mode);
            }
            b.add(
                format!("{base}/install.sh"),
                shared.install_script(n, modes),
                MODE_SCRIPT,
            );
        }
        if let Cni::Cilium(cil) = &self.cni {
            b.add(
                "cluster/cilium-values.yaml",
                cilium::values_yaml(self, cil),
                MODE_FILE,
            );
            b.add(
                "cluster/cilium-install.sh",
                cilium::install_script(self, cil),
                MODE_SCRIPT,
            );
        }
        b.add(
            "cluster/labels-taints.sh",
            labels_taints::script(self),
            MODE_SCRIPT,
        );
        for n in &self.nodes {
            b.add(
                format!("cluster/firewall/{}.sh", n.name),
                shared.firewall_script(n),
                MODE_SCRIPT,
            );
        }
        // after every node's rules: it lists the groups they read
        b.add(firewall::PEERS_PATH, shared.peers_txt(), MODE_FILE);
        if let (Some(path), Some(text)) = (acl::path(self), acl::acl_json(self)) {
            b.add(path, text, MODE_FILE);
        }
        b.add("cluster/verify.sh", verify::script(self), MODE_SCRIPT);
        b.add(spec_record::PATH, spec_record::spec_json(self), MODE_FILE);
        for (path, text) in upgrade::plans(self).into_iter().flatten() {
            b.add(path, text, MODE_FILE);
        }
        b.add(
            "PLAN.md",
            plan::plan_markdown(self, &diagnostics),
            MODE_FILE,
        );
        b.diagnostics = diagnostics;
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLANNEL: &str =
        include_str!("../../../examples/specs/flannel-over-tailscale-gpu-worker.yaml");
    const CILIUM: &str = include_str!("../../../examples/specs/cilium-vxlan-over-tailscale.yaml");

    fn bundle(spec: &str) -> Bundle {
        Cluster::from_yaml(spec)
            .unwrap()
            .render(&RenderOptions::default())
            .unwrap()
    }

    #[test]
    fn seed_flannel_bundle_holds_every_file_with_its_mode() {
        let b = bundle(FLANNEL);
        let mode = |p: &str| b.files.get(p).map(|f| f.mode);
        assert_eq!(mode("PLAN.md"), Some(MODE_FILE));
        assert_eq!(mode("cluster/verify.sh"), Some(MODE_SCRIPT));
        assert_eq!(mode("cluster/labels-taints.sh"), Some(MODE_SCRIPT));
        assert_eq!(mode("cluster/tailscale-acl.json"), Some(MODE_FILE));
        assert_eq!(
            mode("cluster/firewall/k3s-gpu-worker.sh"),
            Some(MODE_SCRIPT)
        );
        assert_eq!(mode("cluster/cilium-values.yaml"), None);
        let agent = "nodes/k3s-gpu-worker/etc/systemd/system/k3s-agent.service.env";
        assert_eq!(mode(agent), Some(MODE_PRIVATE));
        assert!(b.text(agent).unwrap().contains("100.64.0.0/10"));
        assert_eq!(
            mode("nodes/k3s-master/etc/systemd/system/k3s.service.env"),
            Some(MODE_PRIVATE)
        );
        assert_eq!(
            mode("nodes/k3s-master/etc/systemd/system/k3s.service.d/10-mesh.conf"),
            Some(MODE_FILE)
        );
        assert_eq!(mode("nodes/k3s-master/install.sh"), Some(MODE_SCRIPT));
        // each node: config.yaml, unit env, 10-mesh.conf, tailscaled's drop-in (MS707), install.sh
        assert_eq!(
            mode(
                "nodes/k3s-master/etc/systemd/system/tailscaled.service.d/10-meshspec-udp-gro.conf"
            ),
            Some(MODE_FILE)
        );
        assert_eq!(mode(spec_record::PATH), Some(MODE_FILE));
        // cluster-wide: 4 firewall scripts, peers.txt, labels-taints.sh, the ACL, verify.sh,
        // the spec record, PLAN.md
        assert_eq!(b.files.len(), 4 * 6 + 4 + 6);
    }

    #[test]
    fn no_file_holds_a_token_and_rendering_is_stable() {
        for spec in [FLANNEL, CILIUM] {
            let b = bundle(spec);
            for (path, f) in &b.files {
                assert!(!f.contents.as_str().contains("K3S_TOKEN="), "{path}");
            }
            assert_eq!(b, bundle(spec));
        }
    }

    #[test]
    fn cilium_bundle_has_values_and_installer() {
        let b = bundle(CILIUM);
        assert!(b.text("cluster/cilium-values.yaml").is_some());
        assert_eq!(
            b.files.get("cluster/cilium-install.sh").map(|f| f.mode),
            Some(MODE_SCRIPT)
        );
        assert!(b.text("PLAN.md").unwrap().contains("cilium-install.sh"));
    }
}
