//! Validation: every rule of `RULES.md` MS1xx–MS8xx, run over the resolved model in one pass.
//!
//! Each family of rules lives in its own module and adds diagnostics to a shared list; the
//! positions of field paths are attached once, at the end. Reading rules (MS0xx) run while
//! the spec is decoded and resolved; change rules (MS9xx) compare two clusters (`plan`).

mod addressing;
mod cilium;
mod k3s;
mod labels;
mod mesh_policy;
mod packet_size;
mod proxy;

pub use proxy::check_no_proxy_value;
mod reachability;
mod versions;

use crate::cluster::Cluster;
use crate::diagnostic::{Diagnostic, Diagnostics};

impl Cluster {
    /// Checks the cluster against every rule, returning all diagnostics at once.
    ///
    /// ```
    /// use meshspec::{Cluster, Code};
    /// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: agent, mesh_ip: 100.64.0.1}\n").unwrap();
    /// assert!(c.validate().codes().contains(&Code::NoServer));
    /// ```
    #[must_use]
    pub fn validate(&self) -> Diagnostics {
        let mut out: Vec<Diagnostic> = self.resolution_diagnostics().to_vec();
        // a spec read from text was refused already; one built in code is checked here
        out.extend(
            crate::spec::grammar::check(&self.spec)
                .into_iter()
                .map(crate::spec::refusal_diagnostic),
        );
        addressing::check(self, &mut out);
        reachability::check(self, &mut out);
        packet_size::check(self, &mut out);
        k3s::check(self, &mut out);
        proxy::check(self, &mut out);
        labels::check(self, &mut out);
        cilium::check(self, &mut out);
        mesh_policy::check(self, &mut out);
        versions::check(self, &mut out);
        Diagnostics::from_vec(out.into_iter().map(|d| self.locate(d)).collect())
    }
}
