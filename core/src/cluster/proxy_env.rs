//! NO_PROXY for the cluster, from the `no_proxy` module's synthesis.

use super::Cluster;
use crate::cidr::Cidr;
use crate::no_proxy::{self, Inputs, Requirement, Style};
use crate::spec::ProxyStyle;

impl Cluster {
    fn with_no_proxy_inputs<T>(&self, f: impl FnOnce(&Inputs<'_>) -> T) -> T {
        let addresses: Vec<_> = self.nodes.iter().flat_map(|n| n.addresses()).collect();
        let subnets: Vec<Cidr> = self
            .sites
            .iter()
            .flat_map(|s| s.subnets.iter().copied())
            .collect();
        let mesh = self.mesh.ranges();
        let hosts: Vec<String> = self
            .k3s
            .server_host
            .iter()
            .map(ToString::to_string)
            .collect();
        let proxy = self.proxy.as_ref();
        let extra: Vec<String> = proxy.map(|p| p.no_proxy_extra.clone()).unwrap_or_default();
        let style = match proxy.map(|p| p.style) {
            Some(ProxyStyle::Broad) => Style::Broad,
            _ => Style::Precise,
        };
        let inputs = Inputs {
            style,
            cluster_cidrs: &self.network.cluster_cidrs,
            service_cidrs: &self.network.service_cidrs,
            node_addresses: &addresses,
            site_subnets: &subnets,
            mesh_ranges: &mesh,
            server_hosts: &hosts,
            cluster_domain: &self.network.cluster_domain,
            dns_suffix: self.mesh.dns_suffix.as_deref(),
            extra: &extra,
        };
        f(&inputs)
    }

    /// The NO_PROXY entries rendered for every node, when the spec has a `proxy:` block.
    ///
    /// ```
    /// use meshspec::Cluster;
    /// let c = Cluster::from_yaml("version: 1\nname: lab\nproxy: {style: broad}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
    /// let np = c.no_proxy().unwrap();
    /// assert!(np.contains(&"100.64.0.0/10".to_owned()) && np.contains(&"localhost".to_owned()));
    /// ```
    #[must_use]
    pub fn no_proxy(&self) -> Option<Vec<String>> {
        self.no_proxy_cache
            .get_or_init(|| {
                self.proxy.as_ref()?;
                Some(self.with_no_proxy_inputs(no_proxy::synthesize))
            })
            .clone()
    }

    /// What NO_PROXY must cover for `kubectl logs/exec` and node traffic to bypass the proxy.
    #[must_use]
    pub fn no_proxy_requirements(&self) -> Vec<Requirement> {
        self.with_no_proxy_inputs(no_proxy::required)
    }
}
