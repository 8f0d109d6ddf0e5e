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
        // Under Cilium's cluster-pool IPAM pods take addresses from the pool, not from k3s's
        // cluster CIDR, and the API server dials pod IPs directly (k3s turns on
        // --enable-aggregator-routing: metrics-server), so the pool must bypass the proxy too.
        let mut pods: Vec<Cidr> = self.network.cluster_cidrs.clone();
        if let Some(pool) = self.cilium_pool() {
            pods.push(pool);
        }
        let inputs = Inputs {
            style,
            cluster_cidrs: &pods,
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

    /// Cilium's cluster-pool CIDR, when pods take their addresses from it instead of from the
    /// per-node pod CIDRs k3s allocates.
    #[must_use]
    pub fn cilium_pool(&self) -> Option<Cidr> {
        self.cni
            .cilium()
            .filter(|cil| cil.ipam == crate::spec::CiliumIpam::ClusterPool)
            .and_then(|cil| cil.cluster_pool_cidr)
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
