//! The resolved types: plain data with every default filled in.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::cidr::{Cidr, Family};
use crate::netaddr::Host;
use crate::spec::EtcdSnapshotsSpec;
use crate::spec::{CiliumIpam, FlannelBackend, Provider, ProxyStyle, Role, TunnelProtocol};

/// Pod and service networks, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Pod networks, primary family first.
    pub cluster_cidrs: Vec<Cidr>,
    /// Service networks, same shape as `cluster_cidrs`.
    pub service_cidrs: Vec<Cidr>,
    /// Per-node pod subnet size for each pod network, aligned with `cluster_cidrs`.
    pub node_masks: Vec<(Family, u8)>,
    /// Cluster DNS address(es).
    pub cluster_dns: Vec<IpAddr>,
    /// Cluster DNS domain.
    pub cluster_domain: String,
}

impl Network {
    /// The families the cluster uses, primary first.
    #[must_use]
    pub fn families(&self) -> Vec<Family> {
        let mut f: Vec<Family> = self.cluster_cidrs.iter().map(Cidr::family).collect();
        f.dedup();
        f
    }

    /// Whether the cluster is dual-stack.
    #[must_use]
    pub fn dual_stack(&self) -> bool {
        self.families().len() == 2
    }

    /// Whether pods get IPv6 addresses.
    #[must_use]
    pub fn uses_ipv6(&self) -> bool {
        self.families().contains(&Family::Ipv6)
    }

    /// The node mask for a family.
    #[must_use]
    pub fn mask(&self, family: Family) -> Option<u8> {
        self.node_masks
            .iter()
            .find(|(f, _)| *f == family)
            .map(|(_, m)| *m)
    }
}

/// The mesh, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mesh {
    /// Which mesh.
    pub provider: Provider,
    /// Its interface on every node.
    pub interface: String,
    /// The interface MTU.
    pub mtu: u32,
    /// Whether the spec set the MTU.
    pub mtu_explicit: bool,
    /// IPv4 range the mesh hands out.
    pub ipv4_range: Option<Cidr>,
    /// IPv6 range the mesh hands out.
    pub ipv6_range: Option<Cidr>,
    /// MagicDNS-style suffix.
    pub dns_suffix: Option<String>,
    /// k3s's vpn-auth key file, when k3s joins the tailnet itself.
    pub vpn_auth_key_file: Option<String>,
    /// Who may apply the node tags (`mesh.tag_owners`; default `autogroup:admin` on Tailscale).
    pub tag_owners: Vec<String>,
    /// Sources allowed to reach 6443/tcp from outside the cluster (default `autogroup:member`).
    pub admins: Vec<String>,
    /// Group definitions rendered into the policy (`mesh.groups`).
    pub groups: std::collections::BTreeMap<String, Vec<String>>,
    /// Plain WireGuard settings, with every default filled in (`provider: wireguard` only).
    pub wireguard: Option<Wireguard>,
}

/// `mesh.wireguard`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wireguard {
    /// Whether meshspec renders the nodes' `wg-quick` configs.
    pub manage: bool,
    /// The UDP port of the mesh interface on every node.
    pub listen_port: u16,
    /// `PersistentKeepalive` (seconds) of nodes behind NAT.
    pub keepalive: u16,
    /// The relays the spec names (`None`: the servers with a public endpoint).
    pub relays: Option<Vec<String>>,
}

impl Mesh {
    /// The groups `tag_owners` and `admins` name that `mesh.groups` does not define, in order
    /// of first use, each once.
    #[must_use]
    pub fn undefined_groups(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in self.tag_owners.iter().chain(&self.admins) {
            if crate::principal::kind(p) == Some(crate::principal::Kind::Group)
                && !self.groups.contains_key(p)
                && !out.contains(&p.as_str())
            {
                out.push(p);
            }
        }
        out
    }
}

impl Mesh {
    /// The mesh's address ranges.
    #[must_use]
    pub fn ranges(&self) -> Vec<Cidr> {
        self.ipv4_range.into_iter().chain(self.ipv6_range).collect()
    }

    /// The systemd unit of the mesh daemon k3s must start after.
    #[must_use]
    pub fn daemon_unit(&self) -> String {
        match self.provider {
            Provider::Tailscale | Provider::Headscale => "tailscaled.service".to_owned(),
            Provider::Netbird => "netbird.service".to_owned(),
            Provider::Wireguard => format!("wg-quick@{}.service", self.interface),
        }
    }

    /// The WireGuard settings when meshspec renders the mesh (`manage: true`).
    #[must_use]
    pub fn managed_wireguard(&self) -> Option<&Wireguard> {
        self.wireguard.as_ref().filter(|w| w.manage)
    }

    /// Whether the mesh is Tailscale's client (Tailscale or Headscale).
    #[must_use]
    pub fn is_tailscale(&self) -> bool {
        matches!(self.provider, Provider::Tailscale | Provider::Headscale)
    }
}

/// A site, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Its name.
    pub name: String,
    /// Its subnets.
    pub subnets: Vec<Cidr>,
    /// Its underlay MTU (default 1500).
    pub mtu: u32,
    /// Whether nothing outside the site can open a connection to its nodes.
    pub nat: bool,
}

/// The CNI, resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Cni {
    /// k3s's built-in flannel.
    Flannel(Flannel),
    /// Cilium, installed by Helm.
    Cilium(Cilium),
}

impl Cni {
    /// The Cilium settings, when the CNI is Cilium.
    #[must_use]
    pub fn cilium(&self) -> Option<&Cilium> {
        match self {
            Cni::Cilium(c) => Some(c),
            Cni::Flannel(_) => None,
        }
    }

    /// The flannel settings, when the CNI is flannel.
    #[must_use]
    pub fn flannel(&self) -> Option<&Flannel> {
        match self {
            Cni::Flannel(f) => Some(f),
            Cni::Cilium(_) => None,
        }
    }
}

/// Flannel, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flannel {
    /// The backend.
    pub backend: FlannelBackend,
    /// Whether the spec named it.
    pub backend_explicit: bool,
}

/// Cilium, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Cilium {
    /// The chart line as written (default the newest).
    pub version: String,
    /// The chart line, when `version` names a supported one (MS706 otherwise).
    pub line: Option<crate::cilium::ChartLine>,
    /// VXLAN or Geneve.
    pub tunnel: TunnelProtocol,
    /// The tunnel's UDP port.
    pub tunnel_port: u16,
    /// Whether the spec set the port.
    pub tunnel_port_explicit: bool,
    /// IPAM mode.
    pub ipam: CiliumIpam,
    /// The pool for `cluster-pool`.
    pub cluster_pool_cidr: Option<Cidr>,
    /// kube-proxy replacement.
    pub kube_proxy_replacement: bool,
    /// Masquerade.
    pub masquerade: bool,
    /// Cilium's `MTU` value: the underlay MTU of the device carrying the tunnel.
    pub mtu: u32,
    /// Whether the spec set a number.
    pub mtu_explicit: bool,
    /// Extra Helm values.
    pub values: BTreeMap<String, serde_json::Value>,
}

/// k3s settings, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct K3s {
    /// Pinned version.
    pub version: Option<String>,
    /// The URL joining nodes use.
    pub server_url: String,
    /// Whether the spec set it.
    pub server_url_explicit: bool,
    /// The URL's host.
    pub server_host: Option<Host>,
    /// Where the token lives on every node.
    pub token_file: String,
    /// Packaged components not deployed.
    pub disable: Vec<String>,
    /// Mode of the admin kubeconfig.
    pub write_kubeconfig_mode: Option<String>,
    /// Snapshot settings.
    pub etcd_snapshots: Option<EtcdSnapshotsSpec>,
    /// Extra server keys.
    pub server_extra: BTreeMap<String, serde_json::Value>,
    /// Extra agent keys.
    pub agent_extra: BTreeMap<String, serde_json::Value>,
}

/// The proxy, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// HTTP proxy.
    pub http: Option<String>,
    /// HTTPS proxy.
    pub https: Option<String>,
    /// Extra NO_PROXY entries.
    pub no_proxy_extra: Vec<String>,
    /// Style.
    pub style: ProxyStyle,
    /// Where the spec sets it: `proxy`, `sites[1].proxy` or `nodes[2].proxy`.
    pub path: String,
}

impl Proxy {
    /// The resolved form of a `proxy:` block written at `path`.
    #[must_use]
    pub fn from_spec(p: &crate::spec::ProxySpec, path: &str) -> Self {
        Self {
            http: p.http.clone(),
            https: p.https.clone(),
            no_proxy_extra: p.no_proxy_extra.clone(),
            style: p.style.unwrap_or(ProxyStyle::Precise),
            path: path.to_owned(),
        }
    }

    /// Whether two proxies render the same files (they may be written in different places).
    #[must_use]
    pub fn same_settings(&self, other: &Proxy) -> bool {
        self.http == other.http
            && self.https == other.https
            && self.no_proxy_extra == other.no_proxy_extra
            && self.style == other.style
    }

    /// Whether a proxy URL is set (NO_PROXY alone is not a proxy).
    #[must_use]
    pub fn has_proxy(&self) -> bool {
        self.http.is_some() || self.https.is_some()
    }
}

/// Which address a node's node-ip is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeIpMode {
    /// The LAN address.
    Lan,
    /// The mesh address.
    Mesh,
    /// k3s sets it to the Tailscale address itself (vpn-auth).
    VpnAuth,
}

/// A node, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Position in `nodes:`.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// Server or agent.
    pub role: Role,
    /// Its site, when it names an existing one.
    pub site: Option<String>,
    /// LAN addresses.
    pub lan_ips: Vec<IpAddr>,
    /// Mesh addresses.
    pub mesh_ips: Vec<IpAddr>,
    /// Which address is the node-ip.
    pub node_ip_mode: NodeIpMode,
    /// Whether the spec chose it (`lan`/`mesh`) rather than `auto`.
    pub node_ip_explicit: bool,
    /// The node-ip(s), primary family first (empty with vpn-auth unless mesh_ip is known).
    pub node_ips: Vec<IpAddr>,
    /// The API server's advertise address, for servers that need one.
    pub advertise_address: Option<IpAddr>,
    /// Extra SANs for a server's certificate.
    pub tls_san: Vec<String>,
    /// Flannel's interface, when it must be the mesh's.
    pub flannel_iface: Option<String>,
    /// Predicted (or pinned) pod subnets.
    pub pod_cidrs: Vec<Cidr>,
    /// Whether the pod subnets were pinned in the spec.
    pub pod_cidr_pinned: bool,
    /// Labels, GPU labels included.
    pub labels: BTreeMap<String, String>,
    /// Taints, GPU taint included.
    pub taints: Vec<String>,
    /// Whether this node initialises the cluster.
    pub init: bool,
    /// Whether it has a GPU.
    pub gpu: bool,
    /// Its proxy: its own `proxy`, else its site's, else the cluster-wide one (`none` at any
    /// level: `None`).
    pub proxy: Option<Proxy>,
    /// Where nodes of other sites reach its WireGuard interface (plain WireGuard).
    pub public_endpoint: Option<crate::wireguard::Endpoint>,
    /// Its WireGuard public key (plain WireGuard with `manage: true`).
    pub wireguard_public_key: Option<String>,
}

impl Node {
    /// Whether the node is a server.
    #[must_use]
    pub fn is_server(&self) -> bool {
        self.role == Role::Server
    }

    /// Its first node-ip.
    #[must_use]
    pub fn primary_ip(&self) -> Option<IpAddr> {
        self.node_ips.first().copied()
    }

    /// Every address of the node (node-ips, LAN, mesh), deduplicated, in that order.
    #[must_use]
    pub fn addresses(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = Vec::new();
        for ip in self
            .node_ips
            .iter()
            .chain(&self.lan_ips)
            .chain(&self.mesh_ips)
        {
            if !out.contains(ip) {
                out.push(*ip);
            }
        }
        out
    }

    /// Whether the node's pod tunnel (flannel VXLAN, Cilium VXLAN/Geneve, k3s's Tailscale
    /// extension) rides the mesh: flannel is bound to the mesh interface, or the node-ip (the
    /// tunnel endpoint) is a mesh address. Otherwise the tunnel runs over the site's LAN.
    #[must_use]
    pub fn tunnel_over_mesh(&self) -> bool {
        self.flannel_iface.is_some() || self.node_ip_mode != NodeIpMode::Lan
    }

    /// Whether the node carries a NoSchedule or NoExecute taint.
    #[must_use]
    pub fn is_tainted(&self) -> bool {
        self.taints
            .iter()
            .any(|t| t.ends_with(":NoSchedule") || t.ends_with(":NoExecute"))
    }
}
