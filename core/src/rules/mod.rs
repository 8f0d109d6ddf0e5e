//! Validation: every rule MS1xx–MS8xx of the catalogue (`docs/rules.md`), run over the resolved model in one pass.
//!
//! Each family of rules lives in its own module and adds diagnostics to a shared list; the
//! positions of field paths are attached once, at the end. Reading rules (MS0xx) run while
//! the spec is decoded and resolved; change rules (MS9xx) compare two clusters (`plan`).

mod addressing;
pub(crate) use addressing::{MAX_LISTED, and_more};
mod cilium;
mod k3s;
mod labels;
mod mesh_policy;
mod packet_size;
mod proxy;

pub use proxy::check_no_proxy_value;
mod one_round;
pub use one_round::OneRound;
mod reachability;
mod versions;
mod wireguard;

use crate::cluster::Cluster;
use crate::code::Code;
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
        self.validate_with(&crate::render::k3s::all_config_entries(self))
    }

    /// [`Cluster::validate`], given every node's config entries (in `nodes` order), which
    /// [`Cluster::render`] computes once for the rules and the files.
    pub(crate) fn validate_with(
        &self,
        entries: &[Vec<crate::render::k3s::ConfigEntry>],
    ) -> Diagnostics {
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
        packet_size::udp_gro(self, &mut out);
        k3s::check(self, entries, &mut out);
        proxy::check(self, &mut out);
        labels::check(self, &mut out);
        cilium::check(self, &mut out);
        mesh_policy::check(self, &mut out);
        versions::check(self, &mut out);
        wireguard::check(self, &mut out);
        if self.has_unresolved_references() {
            // a node whose site does not resolve sits nowhere: rules about who shares a site
            // with whom would only report the typo again, as something else
            out.retain(|d| !depends_on_sites(d.code));
        }
        Diagnostics::from_vec(out.into_iter().map(|d| self.locate(d)).collect())
            .acknowledge(&self.spec.acknowledge)
    }

    /// Whether some reference (a node's `site`) names nothing (MS007).
    fn has_unresolved_references(&self) -> bool {
        // a Headscale group missing from `mesh.groups` is MS007 too, but places no node
        self.resolution_diagnostics()
            .iter()
            .any(|d| d.code == Code::UnknownReference && d.path.starts_with("nodes"))
    }
}

/// Rules whose verdict depends on which site each node sits on.
fn depends_on_sites(code: Code) -> bool {
    matches!(
        code,
        Code::LanIpOutside
            | Code::LanIpAcrossSites
            | Code::TunnelEndpointNotMesh
            | Code::L2ModeAcrossSites
            | Code::EtcdAcrossSites
            | Code::MixedAddressing
            | Code::EtcdOverMesh
            | Code::K3sKnownBug
            | Code::MeshMtuOverUnderlay
            | Code::InterfaceOrdering
            | Code::CiliumTailscaleFwmark
            | Code::TailscaleUdpGroTunnel
            | Code::WgUnreachablePair
    )
}
