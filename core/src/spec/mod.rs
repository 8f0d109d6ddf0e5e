//! The cluster spec, version 1: plain data exactly as `docs/spec-format.md` defines it.
//!
//! A [`Spec`] holds what the author wrote: a key that was absent stays `None` (or empty), so
//! that "a value the spec sets explicitly is always rendered" can be honoured. Defaults are
//! applied by [`crate::cluster::Cluster::resolve`], not here.
//!
//! Reading goes through one decoder for both YAML text ([`Spec::from_yaml`]) and JSON-like
//! values ([`Spec::from_json`]); printing ([`Spec::to_yaml`]) writes YAML the decoder reads
//! back to an equal `Spec`.

pub mod cron;
mod decode;
pub(crate) use decode::Partial;
pub(crate) use decode::is_dns_label;
pub(crate) use sections::is_mode;
pub mod fields;
pub mod grammar;
mod keywords;
mod sections;
mod spans;
pub mod starter;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::cidr::Cidr;
use crate::diagnostic::{Diagnostic, Diagnostics};

pub use keywords::{
    CiliumIpam, CniPlugin, FlannelBackend, Keyword, NodeIpChoice, Provider, ProxyStyle, Role,
    TunnelProtocol, UnknownWord, mtu_query,
};
pub use spans::SpanMap;

pub(crate) use decode::refusal_diagnostic;

/// The only spec version so far.
pub const SPEC_VERSION: u32 = 1;

/// A whole spec, as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    /// Always 1.
    pub version: u32,
    /// The cluster's name (a DNS-1123 label).
    pub name: String,
    /// Pod and service networks.
    #[serde(skip_serializing_if = "NetworkSpec::is_empty")]
    pub network: NetworkSpec,
    /// The encrypted mesh the nodes share.
    #[serde(skip_serializing_if = "MeshSpec::is_empty")]
    pub mesh: MeshSpec,
    /// Physical networks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<SiteSpec>,
    /// The CNI plugin.
    #[serde(skip_serializing_if = "CniSpec::is_empty")]
    pub cni: CniSpec,
    /// k3s settings shared by the nodes.
    #[serde(skip_serializing_if = "K3sSpec::is_empty")]
    pub k3s: K3sSpec,
    /// HTTP proxy settings; NO_PROXY is rendered whenever this block exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxySpec>,
    /// Warnings and infos deliberately accepted, each with its reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acknowledge: Vec<Acknowledgement>,
    /// The nodes, in join order after the first server.
    pub nodes: Vec<NodeSpec>,
}

/// One entry of `acknowledge:`: a warning or info accepted on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Acknowledgement {
    /// The rule code (never an error's).
    pub code: crate::code::Code,
    /// Why it is accepted.
    pub reason: String,
}

/// `network:`. One CIDR per family; two entries (IPv4 and IPv6) make the cluster dual-stack.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NetworkSpec {
    /// Pod network(s).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "one_or_many")]
    pub cluster_cidr: Vec<Cidr>,
    /// Service network(s).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "one_or_many")]
    pub service_cidr: Vec<Cidr>,
    /// Per-node pod subnet size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_cidr_mask: Option<NodeCidrMask>,
    /// The cluster DNS service address(es).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "one_or_many")]
    pub cluster_dns: Vec<IpAddr>,
    /// The cluster DNS domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
}

impl NetworkSpec {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `node_cidr_mask`: one number, or one per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum NodeCidrMask {
    /// The mask of a single-stack cluster.
    Single(u8),
    /// Per family, for dual-stack.
    PerFamily {
        /// IPv4 mask.
        #[serde(skip_serializing_if = "Option::is_none")]
        ipv4: Option<u8>,
        /// IPv6 mask.
        #[serde(skip_serializing_if = "Option::is_none")]
        ipv6: Option<u8>,
    },
}

/// `mesh:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MeshSpec {
    /// Which mesh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// The mesh interface name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The mesh interface MTU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// IPv4 addresses the mesh hands out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_range: Option<Cidr>,
    /// IPv6 addresses the mesh hands out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_range: Option<Cidr>,
    /// MagicDNS-style suffix, e.g. `tail1234.ts.net`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_suffix: Option<String>,
    /// k3s's own Tailscale integration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k3s_vpn_auth: Option<VpnAuthSpec>,
    /// Who may apply `tag:k3s-server` / `tag:k3s-agent` (users, groups, tags, autogroups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_owners: Option<Vec<String>>,
    /// Sources allowed to reach 6443/tcp on the servers from outside the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admins: Option<Vec<String>>,
    /// Group definitions rendered into the policy: `group:<name>` to its users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<BTreeMap<String, Vec<String>>>,
    /// Plain WireGuard settings (`provider: wireguard`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wireguard: Option<WireguardSpec>,
}

/// `mesh.wireguard`: a plain WireGuard mesh, and whether meshspec renders its configs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WireguardSpec {
    /// `true`: meshspec renders each node's `wg-quick` config (default `false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage: Option<bool>,
    /// The UDP port of the mesh interface on every node (default 51820).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen_port: Option<u16>,
    /// `PersistentKeepalive` (seconds) of nodes behind NAT (default 25).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<u16>,
    /// Nodes that forward between peers that cannot reach each other (default: the servers
    /// with a `public_endpoint`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relays: Option<Vec<String>>,
}

impl MeshSpec {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `mesh.k3s_vpn_auth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VpnAuthSpec {
    /// Path of the file holding the `name=tailscale,joinKey=...` string on each node.
    pub key_file: String,
}

/// One entry of `sites:`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteSpec {
    /// The site's name.
    pub name: String,
    /// Its subnets.
    pub subnets: Vec<Cidr>,
    /// Its underlay MTU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Whether nothing outside the site can open a connection to its nodes (home NAT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat: Option<bool>,
    /// Overrides the cluster-wide proxy for this site's nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyOverride>,
}

/// `cni:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CniSpec {
    /// The plugin (default flannel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<CniPlugin>,
    /// Cilium settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cilium: Option<CiliumSpec>,
    /// Flannel settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flannel: Option<FlannelSpec>,
}

impl CniSpec {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `cni.cilium`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CiliumSpec {
    /// The chart line, e.g. `"1.20"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// VXLAN or Geneve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel_protocol: Option<TunnelProtocol>,
    /// Tunnel UDP port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel_port: Option<u16>,
    /// IPAM mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam: Option<CiliumIpam>,
    /// Pool for `ipam: cluster-pool`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_pool_cidr: Option<Cidr>,
    /// Replace kube-proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_proxy_replacement: Option<bool>,
    /// Masquerade pod traffic leaving the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masquerade: Option<bool>,
    /// `auto` (the mesh MTU) or a number: Cilium's underlay MTU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<CiliumMtu>,
    /// Extra Helm values merged last.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, serde_json::Value>,
}

/// `cni.cilium.mtu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum CiliumMtu {
    /// The mesh interface MTU.
    #[serde(serialize_with = "auto")]
    Auto,
    /// An explicit underlay MTU.
    Fixed(u32),
}

fn auto<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("auto")
}

/// `cni.flannel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlannelSpec {
    /// The backend (default vxlan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<FlannelBackend>,
}

/// `k3s:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct K3sSpec {
    /// Pinned k3s version, e.g. `v1.33.5+k3s1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The URL joining nodes use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    /// Where the join token lives on every node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<String>,
    /// Packaged components not to deploy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disable: Vec<String>,
    /// Mode of the admin kubeconfig.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_kubeconfig_mode: Option<String>,
    /// Embedded etcd snapshot settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etcd_snapshots: Option<EtcdSnapshotsSpec>,
    /// Extra k3s config keys for servers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub server_extra: BTreeMap<String, serde_json::Value>,
    /// Extra k3s config keys for agents.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub agent_extra: BTreeMap<String, serde_json::Value>,
}

impl K3sSpec {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `k3s.etcd_snapshots`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EtcdSnapshotsSpec {
    /// Snapshot directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Cron schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// How many snapshots to keep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<u32>,
}

/// `proxy:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProxySpec {
    /// HTTP proxy URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// HTTPS proxy URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub https: Option<String>,
    /// Entries appended verbatim to NO_PROXY.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_proxy_extra: Vec<String>,
    /// Precise or broad NO_PROXY.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<ProxyStyle>,
}

/// `sites[].proxy` and `nodes[].proxy`: a proxy block of their own, or the word `none`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyOverride {
    /// `none`: no proxy for the nodes below (no env files, no NO_PROXY).
    Off,
    /// A block like the cluster-wide `proxy:`, replacing it.
    Set(ProxySpec),
}

impl Serialize for ProxyOverride {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ProxyOverride::Off => s.serialize_str("none"),
            ProxyOverride::Set(p) => p.serialize(s),
        }
    }
}

/// One entry of `nodes:`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeSpec {
    /// The node's name.
    pub name: String,
    /// Server or agent.
    pub role: Role,
    /// The site it sits on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Address(es) on its site.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "one_or_many")]
    pub lan_ip: Vec<IpAddr>,
    /// Mesh address(es).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "one_or_many")]
    pub mesh_ip: Vec<IpAddr>,
    /// Which address k3s uses as node-ip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_ip: Option<NodeIpChoice>,
    /// Pinned pod subnet(s).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "one_or_many")]
    pub pod_cidr: Vec<Cidr>,
    /// Node labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Node taints, `key=value:Effect`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<String>,
    /// A GPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuSpec>,
    /// Where nodes of other sites reach this node's WireGuard interface (plain WireGuard).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_endpoint: Option<crate::wireguard::Endpoint>,
    /// Overrides the site's or the cluster's proxy for this node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyOverride>,
    /// The node's WireGuard settings (plain WireGuard with `manage: true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wireguard: Option<NodeWireguardSpec>,
}

/// `nodes[].wireguard`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeWireguardSpec {
    /// The node's public key (base64, 32 bytes); the private key never leaves the node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// `nodes[].gpu`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuSpec {
    /// `nvidia`, `amd` or `intel`.
    pub vendor: String,
    /// The model, used as the `gpu-type` label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

fn one_or_many<T: Serialize, S: serde::Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    match v {
        [one] => one.serialize(s),
        many => many.serialize(s),
    }
}

impl Spec {
    /// Reads a spec from YAML text.
    ///
    /// Returns the spec and the position of every field, or every reading problem at once
    /// (MS001–MS005, MS009, MS010).
    ///
    /// ```
    /// use meshspec::spec::Spec;
    /// let (spec, spans) = Spec::from_yaml(
    ///     "version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
    /// ).unwrap();
    /// assert_eq!(spec.nodes[0].name, "a");
    /// assert_eq!(spans.get("nodes[0].mesh_ip").map(|p| p.line), Some(4));
    ///
    /// let errors = Spec::from_yaml("version: 1\nname: lab\nnodes: []\nnetwrk: {}\n").unwrap_err();
    /// assert_eq!(errors.codes(), vec![meshspec::Code::UnknownField]);
    /// ```
    ///
    /// # Errors
    /// All reading problems found, as [`Diagnostics`].
    pub fn from_yaml(text: &str) -> Result<(Spec, SpanMap), Diagnostics> {
        let tree = crate::yaml::parse_tree(text).map_err(|d| Diagnostics::from_vec(vec![d]))?;
        decode::decode(&tree)
    }

    /// Reads a spec from YAML text as far as it goes: every reading problem, and the spec
    /// without the fields, nodes and list items that could not be read (`None` when the text is
    /// not YAML or its `version` or `name` could not be read). For [`crate::Cluster::check_yaml`].
    pub(crate) fn from_yaml_partial(text: &str) -> (Option<decode::Partial>, Vec<Diagnostic>) {
        match crate::yaml::parse_tree(text) {
            Ok(tree) => decode::decode_partial(&tree),
            Err(d) => (None, vec![d]),
        }
    }

    /// Reads a spec from a JSON-like value (a Python dict, a JavaScript object).
    ///
    /// # Errors
    /// All reading problems found; they carry field paths but no line numbers.
    pub fn from_json(value: &serde_json::Value) -> Result<Spec, Diagnostics> {
        let tree = crate::yaml::tree::Node::from_owned(crate::yaml::Node::from_json(value));
        decode::decode(&tree).map(|(spec, _)| spec)
    }

    /// Writes the spec as YAML that [`Spec::from_yaml`] reads back to an equal spec.
    #[must_use]
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).unwrap_or_default()
    }
}
