//! NO_PROXY for the cluster, from the `no_proxy` module's synthesis.

use super::{Cluster, Node, Proxy};
use crate::cidr::Cidr;
use crate::no_proxy::{self, Inputs, Requirement, Style};
use crate::spec::ProxyStyle;

impl Cluster {
    fn with_no_proxy_inputs<T>(
        &self,
        proxy: Option<&Proxy>,
        f: impl FnOnce(&Inputs<'_>) -> T,
    ) -> T {
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

    /// The NO_PROXY entries rendered for the nodes that use the cluster-wide `proxy:` block,
    /// when the spec has one.
    ///
    /// ```
    /// use meshspec::Cluster;
    /// let c = Cluster::from_yaml("version: 1\nname: lab\nproxy: {style: broad}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
    /// let np = c.no_proxy().unwrap();
    /// assert!(np.contains(&"100.64.0.0/10".to_owned()) && np.contains(&"localhost".to_owned()));
    /// ```
    #[must_use]
    pub fn no_proxy(&self) -> Option<Vec<String>> {
        self.proxy.as_ref().map(|p| self.no_proxy_of(p))
    }

    /// The NO_PROXY entries rendered for node `n`, from its own proxy (its `proxy`, its site's,
    /// or the cluster-wide one); `None` when it has no proxy settings.
    ///
    /// ```
    /// use meshspec::Cluster;
    /// let c = Cluster::from_yaml("version: 1\nname: lab\nproxy: {no_proxy_extra: [.lan]}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: agent, mesh_ip: 100.64.0.2, proxy: none}\n").unwrap();
    /// assert!(c.node_no_proxy(&c.nodes[0]).unwrap().contains(&".lan".to_owned()));
    /// assert!(c.node_no_proxy(&c.nodes[1]).is_none());
    /// ```
    #[must_use]
    pub fn node_no_proxy(&self, n: &Node) -> Option<Vec<String>> {
        n.proxy.as_ref().map(|p| self.no_proxy_of(p))
    }

    /// The NO_PROXY entries for one proxy setting.
    #[must_use]
    pub fn no_proxy_of(&self, p: &Proxy) -> Vec<String> {
        let cache = self.no_proxy_cache.get_or_init(|| {
            let mut out: Vec<(Proxy, Vec<String>)> = Vec::new();
            for q in self
                .proxy
                .iter()
                .chain(self.nodes.iter().filter_map(|n| n.proxy.as_ref()))
            {
                if !out.iter().any(|(o, _)| o.same_settings(q)) {
                    out.push((
                        q.clone(),
                        self.with_no_proxy_inputs(Some(q), no_proxy::synthesize),
                    ));
                }
            }
            out
        });
        match cache.iter().find(|(o, _)| o.same_settings(p)) {
            Some((_, entries)) => entries.clone(),
            None => self.with_no_proxy_inputs(Some(p), no_proxy::synthesize),
        }
    }

    /// The distinct proxy settings of the nodes, each with the nodes (in spec order) that use
    /// it; nodes without proxy settings are left out.
    #[must_use]
    pub fn proxy_groups(&self) -> Vec<(&Proxy, Vec<&Node>)> {
        let mut out: Vec<(&Proxy, Vec<&Node>)> = Vec::new();
        for n in &self.nodes {
            let Some(p) = &n.proxy else { continue };
            match out.iter_mut().find(|(o, _)| o.same_settings(p)) {
                Some((_, nodes)) => nodes.push(n),
                None => out.push((p, vec![n])),
            }
        }
        out
    }

    /// What NO_PROXY must cover for `kubectl logs/exec` and node traffic to bypass the proxy.
    #[must_use]
    pub fn no_proxy_requirements(&self) -> Vec<Requirement> {
        self.with_no_proxy_inputs(self.proxy.as_ref(), no_proxy::required)
    }
}
