//! The resolved cluster: every default applied, every derived value computed.
//!
//! [`Cluster::resolve`] turns a [`Spec`] into the model the rules check and the renderers
//! print: k3s's default CIDRs, cluster DNS, per-provider mesh defaults, the init server, each
//! node's node-ip choice, advertise-address and tls-san for servers, flannel-iface, GPU labels
//! and taint, and the pod subnet every node is predicted to get in join order.
//!
//! Resolution never fails: problems it meets (an unknown site, no server) are kept and
//! reported by [`Cluster::validate`] with everything else.

mod model;
mod nodes;
mod pods;
mod proxy_env;
mod stack;

pub use stack::{FLANNEL_V6_DEVICE, flannel_device};

pub use stack::MESH_UNDERLAY_FAMILY;

use std::net::IpAddr;

use crate::cidr::{Cidr, Family};
use crate::cilium::ChartLine;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::netaddr;
use crate::spec::{
    CiliumIpam, CiliumMtu, CniPlugin, FlannelBackend, Keyword, Provider, SpanMap, Spec,
    TunnelProtocol,
};

pub use model::{
    Cilium, Cni, Flannel, K3s, Mesh, Network, Node, NodeIpMode, Proxy, Site, Wireguard,
};

/// GPU vendors `nodes[].gpu.vendor` accepts.
pub const GPU_VENDORS: &[&str] = &["nvidia", "amd", "intel"];

/// k3s's default pod network (IPv4).
pub const DEFAULT_CLUSTER_CIDR_V4: &str = "10.42.0.0/16";
/// k3s's default service network (IPv4).
pub const DEFAULT_SERVICE_CIDR_V4: &str = "10.43.0.0/16";
/// k3s's default pod network (IPv6-only clusters).
pub const DEFAULT_CLUSTER_CIDR_V6: &str = "fd00:42::/56";
/// k3s's default service network (IPv6-only clusters).
pub const DEFAULT_SERVICE_CIDR_V6: &str = "fd00:43::/112";
/// The supervisor and API server port.
pub const API_PORT: u16 = 6443;
/// Where the join token lives by default.
pub const DEFAULT_TOKEN_FILE: &str = "/etc/rancher/k3s/token";
/// A spec with every default applied, ready to validate and render.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The spec as written.
    pub spec: Spec,
    /// Where each field was written (empty for specs read from JSON).
    pub spans: SpanMap,
    /// The cluster's name.
    pub name: String,
    /// Pod and service networks.
    pub network: Network,
    /// The mesh.
    pub mesh: Mesh,
    /// The sites.
    pub sites: Vec<Site>,
    /// The CNI.
    pub cni: Cni,
    /// k3s settings.
    pub k3s: K3s,
    /// The proxy, when the spec has a `proxy:` block.
    pub proxy: Option<Proxy>,
    /// The nodes, in spec order.
    pub nodes: Vec<Node>,
    /// Indices into `nodes` in join order: the init server first, then spec order.
    pub join_order: Vec<usize>,
    /// Whether the nodes sit on more than one network (a node without a site is its own).
    pub multi_site: bool,
    resolution: Vec<Diagnostic>,
    /// How many nodes sit on each site.
    site_population: std::collections::BTreeMap<String, usize>,
    /// NO_PROXY for each distinct proxy setting of the cluster and its nodes, computed once
    /// (every node's env files use it).
    no_proxy_cache: std::sync::OnceLock<Vec<(Proxy, Vec<String>)>>,
    /// The ports between nodes, computed once (every node's firewall script uses them).
    pub(crate) ports_cache: std::sync::OnceLock<Vec<crate::ports::Port>>,
    /// The smallest pod MTU, computed once (the plan, verify.sh and the rules use it).
    pub(crate) pod_mtu_cache: std::sync::OnceLock<u32>,
    /// The WireGuard topology, computed once (rules, rendered files, plan).
    wg_topology_cache: std::sync::OnceLock<Option<crate::wireguard::Topology>>,
    /// Each node name's first position in `nodes`, made on the first [`Cluster::node`] call
    /// (a binding's per-node loop calls it once per node).
    node_index: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
}

impl Cluster {
    /// Reads and resolves a spec from YAML text.
    ///
    /// ```
    /// use meshspec::Cluster;
    /// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
    /// assert_eq!(c.network.cluster_dns[0].to_string(), "10.43.0.10");
    /// assert_eq!(c.k3s.server_url, "https://100.64.0.1:6443");
    /// ```
    ///
    /// # Errors
    /// Every reading problem (MS0xx) at once.
    pub fn from_yaml(text: &str) -> Result<Cluster, Diagnostics> {
        let (spec, spans) = Spec::from_yaml(text)?;
        Ok(Cluster::resolve_with_spans(spec, spans))
    }

    /// Reads and resolves a spec from a JSON-like value.
    ///
    /// # Errors
    /// Every reading problem (MS0xx) at once.
    pub fn from_json(value: &serde_json::Value) -> Result<Cluster, Diagnostics> {
        Spec::from_json(value).map(Cluster::resolve)
    }

    /// Resolves a spec that has no position information.
    #[must_use]
    pub fn resolve(spec: Spec) -> Cluster {
        Cluster::resolve_with_spans(spec, SpanMap::default())
    }

    /// Resolves a spec, keeping the positions of its fields for diagnostics.
    #[must_use]
    pub fn resolve_with_spans(spec: Spec, mut spans: SpanMap) -> Cluster {
        spans.shrink_to_fit();
        let mut resolution = Vec::new();
        let network = resolve_network(&spec);
        let mesh = resolve_mesh(&spec, &mut resolution);
        let sites = spec
            .sites
            .iter()
            .map(|s| Site {
                name: s.name.clone(),
                subnets: s.subnets.clone(),
                mtu: s.mtu.unwrap_or(1500),
                nat: s.nat.unwrap_or(false),
            })
            .collect();
        wireguard_node_fields(&spec, &mesh, &mut resolution);
        let cni = resolve_cni(&spec, &mesh, &mut resolution);
        let mut cluster = Cluster {
            name: spec.name.clone(),
            network,
            mesh,
            sites,
            cni,
            k3s: K3s::placeholder(&spec),
            proxy: spec.proxy.as_ref().map(|p| Proxy::from_spec(p, "proxy")),
            nodes: Vec::new(),
            join_order: Vec::new(),
            multi_site: false,
            resolution,
            site_population: std::collections::BTreeMap::new(),
            no_proxy_cache: std::sync::OnceLock::new(),
            ports_cache: std::sync::OnceLock::new(),
            pod_mtu_cache: std::sync::OnceLock::new(),
            wg_topology_cache: std::sync::OnceLock::new(),
            node_index: std::sync::OnceLock::new(),
            spec,
            spans,
        };
        nodes::resolve_nodes(&mut cluster);
        cilium_auto_mtu(&mut cluster);
        pods::predict_pod_cidrs(&mut cluster);
        for site in cluster.nodes.iter().filter_map(|n| n.site.as_deref()) {
            // a site's name is copied once, not once per node
            match cluster.site_population.get_mut(site) {
                Some(count) => *count += 1,
                None => {
                    cluster.site_population.insert(site.to_owned(), 1);
                }
            }
        }
        cluster
    }

    /// Problems met while resolving (unknown sites, duplicate names, no server).
    #[must_use]
    pub fn resolution_diagnostics(&self) -> &[Diagnostic] {
        &self.resolution
    }

    pub(crate) fn push_resolution(&mut self, d: Diagnostic) {
        self.resolution.push(d);
    }

    /// Attaches the spec position of `d.path` (or its nearest ancestor) to a diagnostic.
    #[must_use]
    pub fn locate(&self, d: Diagnostic) -> Diagnostic {
        if d.line.is_some() {
            return d;
        }
        match self.spans.get(&d.path) {
            Some(p) => d.at(p.line, p.column),
            None => d,
        }
    }

    /// Who peers with whom, over which address, and who relays for whom, when meshspec
    /// renders a plain WireGuard mesh (`mesh.wireguard.manage: true`); `None` otherwise.
    ///
    /// ```
    /// use meshspec::Cluster;
    /// let c = Cluster::from_yaml("version: 1\nname: lab\nmesh: {provider: wireguard, ipv4_range: 10.99.0.0/24, wireguard: {manage: true}}\nnodes:\n  - {name: a, role: server, mesh_ip: 10.99.0.1, public_endpoint: 203.0.113.1}\n  - {name: b, role: agent, mesh_ip: 10.99.0.2}\n").unwrap();
    /// let t = c.wireguard_topology().unwrap();
    /// let b = t.node("b").unwrap();
    /// assert_eq!(b.peers[0].endpoint.as_deref(), Some("203.0.113.1:51820"));
    /// assert_eq!(b.peers[0].allowed_ips, ["10.99.0.1/32"]);
    /// assert_eq!(b.peers[0].keepalive, Some(25)); // `a` cannot dial `b`
    /// ```
    #[must_use]
    pub fn wireguard_topology(&self) -> Option<&crate::wireguard::Topology> {
        self.wg_topology_cache
            .get_or_init(|| crate::wireguard::topology::compute(self))
            .as_ref()
    }

    /// The node with this name (the first, when names repeat).
    ///
    /// A hash lookup: the first call indexes the nodes by name, so a loop over every node costs
    /// linear time, not quadratic. A found node is checked against its name, and a name the index
    /// does not hold is searched for, so a change to `nodes` after the first call is still seen.
    #[must_use]
    pub fn node(&self, name: &str) -> Option<&Node> {
        let index = self.node_index.get_or_init(|| {
            let mut index = std::collections::HashMap::with_capacity(self.nodes.len());
            for (i, n) in self.nodes.iter().enumerate() {
                index.entry(n.name.clone()).or_insert(i);
            }
            index
        });
        match index.get(name).and_then(|&i| self.nodes.get(i)) {
            Some(n) if n.name == name => Some(n),
            _ => self.nodes.iter().find(|n| n.name == name),
        }
    }

    /// The servers, in spec order.
    pub fn servers(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.is_server())
    }

    /// The agents, in spec order.
    pub fn agents(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| !n.is_server())
    }

    /// The server that initialises the cluster.
    #[must_use]
    pub fn init_server(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| n.init)
    }

    /// The nodes in join order.
    pub fn nodes_in_join_order(&self) -> impl Iterator<Item = &Node> {
        self.join_order.iter().filter_map(|i| self.nodes.get(*i))
    }

    /// How many nodes sit on a site.
    #[must_use]
    pub fn site_population(&self, site: &str) -> usize {
        self.site_population.get(site).copied().unwrap_or(0)
    }

    /// The site with this name.
    #[must_use]
    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.name == name)
    }

    /// Whether the servers run k3s's embedded registry mirror (Spegel):
    /// `embedded-registry: true` in `k3s.server_extra` (a server flag that enables it on every
    /// node, docs.k3s.io/installation/registry-mirror).
    #[must_use]
    pub fn embedded_registry(&self) -> bool {
        match self.k3s.server_extra.get("embedded-registry") {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        }
    }

    /// The underlay MTU a node sits on (its site's, else 1500).
    #[must_use]
    pub fn underlay_mtu(&self, node: &Node) -> u32 {
        node.site
            .as_deref()
            .and_then(|s| self.site(s))
            .map_or(1500, |s| s.mtu)
    }
}

/// `cni.cilium.mtu: auto`: Cilium's `MTU` Helm value is the MTU of the device that carries the
/// tunnel (the chart's "underlying network MTU"; Cilium subtracts the VXLAN/Geneve overhead
/// itself). A node whose node-ip is a mesh address tunnels over the mesh interface; one whose
/// node-ip is its LAN address tunnels over the LAN. One value serves every node, so it is the
/// smallest of the devices the tunnels really use.
fn cilium_auto_mtu(c: &mut Cluster) {
    let underlays: Vec<u32> = c
        .nodes
        .iter()
        .map(|n| {
            if n.tunnel_over_mesh() {
                c.mesh.mtu
            } else {
                c.underlay_mtu(n)
            }
        })
        .collect();
    if let Cni::Cilium(cil) = &mut c.cni
        && !cil.mtu_explicit
        && let Some(min) = underlays.into_iter().min()
    {
        cil.mtu = min;
    }
}

fn parse_const(s: &str) -> Option<Cidr> {
    s.parse().ok()
}

fn resolve_network(spec: &Spec) -> Network {
    let n = &spec.network;
    let ipv6_only_nodes = !spec.nodes.is_empty()
        && spec.nodes.iter().all(|node| {
            let ips: Vec<&IpAddr> = node.mesh_ip.iter().chain(node.lan_ip.iter()).collect();
            !ips.is_empty() && ips.first().is_some_and(|ip| ip.is_ipv6())
        });
    let default_family = if ipv6_only_nodes && n.cluster_cidr.is_empty() {
        Family::Ipv6
    } else {
        Family::Ipv4
    };
    let cluster_cidrs = if n.cluster_cidr.is_empty() {
        let d = if default_family == Family::Ipv6 {
            DEFAULT_CLUSTER_CIDR_V6
        } else {
            DEFAULT_CLUSTER_CIDR_V4
        };
        parse_const(d).into_iter().collect()
    } else {
        n.cluster_cidr.clone()
    };
    let service_cidrs = if n.service_cidr.is_empty() {
        cluster_cidrs
            .iter()
            .filter_map(|c| {
                parse_const(if c.family() == Family::Ipv6 {
                    DEFAULT_SERVICE_CIDR_V6
                } else {
                    DEFAULT_SERVICE_CIDR_V4
                })
            })
            .collect()
    } else {
        n.service_cidr.clone()
    };
    let node_masks = cluster_cidrs
        .iter()
        .map(|c| {
            let default = if c.family() == Family::Ipv4 { 24 } else { 64 };
            let m = match n.node_cidr_mask {
                Some(crate::spec::NodeCidrMask::Single(m)) => m,
                Some(crate::spec::NodeCidrMask::PerFamily { ipv4, ipv6 }) => {
                    if c.family() == Family::Ipv4 {
                        ipv4.unwrap_or(default)
                    } else {
                        ipv6.unwrap_or(default)
                    }
                }
                None => default,
            };
            (c.family(), m)
        })
        .collect();
    let cluster_dns = if n.cluster_dns.is_empty() {
        service_cidrs.iter().filter_map(|c| c.nth(10)).collect()
    } else {
        n.cluster_dns.clone()
    };
    Network {
        cluster_cidrs,
        service_cidrs,
        node_masks,
        cluster_dns,
        cluster_domain: n
            .cluster_domain
            .clone()
            .unwrap_or_else(|| "cluster.local".to_owned()),
    }
}

fn resolve_mesh(spec: &Spec, diags: &mut Vec<Diagnostic>) -> Mesh {
    let m = &spec.mesh;
    let provider = m.provider.unwrap_or(Provider::Tailscale);
    let (iface, mtu) = (provider.default_interface(), provider.default_mtu());
    let (v4, v6) = provider.default_ranges();
    if provider == Provider::Wireguard && m.ipv4_range.is_none() && m.ipv6_range.is_none() {
        diags.push(
            Diagnostic::new(
                crate::code::Code::MissingField,
                "mesh.ipv4_range",
                "`mesh.provider` is `wireguard`, which has no default address range",
            )
            .with_help("add the range your WireGuard peers use, e.g. `ipv4_range: 10.100.0.0/24`"),
        );
    }
    // An explicit range replaces the provider's pair, so a v4-only WireGuard mesh stays v4-only.
    let explicit = m.ipv4_range.is_some() || m.ipv6_range.is_some();
    Mesh {
        provider,
        interface: m.interface.clone().unwrap_or_else(|| iface.to_owned()),
        mtu: m.mtu.unwrap_or(mtu),
        mtu_explicit: m.mtu.is_some(),
        ipv4_range: if explicit {
            m.ipv4_range
        } else {
            v4.and_then(parse_const)
        },
        ipv6_range: if explicit {
            m.ipv6_range
        } else {
            v6.and_then(parse_const)
        },
        dns_suffix: m.dns_suffix.clone(),
        vpn_auth_key_file: m.k3s_vpn_auth.as_ref().map(|v| v.key_file.clone()),
        tag_owners: resolve_tag_owners(m, provider, diags),
        admins: resolve_admins(m, provider, diags),
        groups: resolve_groups(m, provider, diags),
        wireguard: resolve_wireguard(m, provider, diags),
    }
}

/// `mesh.wireguard`, with its defaults, for a plain WireGuard mesh. Like `cni.cilium` beside
/// flannel, a block or key that does not apply to the mesh is refused (MS003) rather than
/// ignored: `mesh.wireguard` on another provider, and the keys that only shape the rendered
/// configs (`keepalive`, `relays`) without `manage: true`. `listen_port` applies either way
/// (the firewall opens it, MS823 compares it with flannel's).
fn resolve_wireguard(
    m: &crate::spec::MeshSpec,
    provider: Provider,
    diags: &mut Vec<Diagnostic>,
) -> Option<model::Wireguard> {
    if provider != Provider::Wireguard {
        if m.wireguard.is_some() {
            diags.push(
                Diagnostic::new(
                    crate::code::Code::InvalidValue,
                    "mesh.wireguard",
                    format!(
                        "`mesh.wireguard` is set but `mesh.provider` is `{}`",
                        provider.word()
                    ),
                )
                .with_help("add `provider: wireguard`, or remove the `wireguard:` block"),
            );
        }
        return None;
    }
    let w = m.wireguard.clone().unwrap_or_default();
    let manage = w.manage.unwrap_or(false);
    if !manage {
        for (key, set) in [
            ("keepalive", w.keepalive.is_some()),
            ("relays", w.relays.is_some()),
        ] {
            if set {
                diags.push(
                    Diagnostic::new(
                        crate::code::Code::InvalidValue,
                        format!("mesh.wireguard.{key}"),
                        format!("`mesh.wireguard.{key}` is set but `mesh.wireguard.manage` is not `true`: it only shapes the WireGuard configs meshspec renders"),
                    )
                    .with_help(format!("add `manage: true` to let meshspec render the configs, or remove `{key}`")),
                );
            }
        }
    }
    Some(model::Wireguard {
        manage,
        listen_port: w
            .listen_port
            .unwrap_or(crate::wireguard::DEFAULT_LISTEN_PORT),
        keepalive: w.keepalive.unwrap_or(crate::wireguard::DEFAULT_KEEPALIVE),
        relays: w.relays,
    })
}

/// `nodes[].public_endpoint` and `nodes[].wireguard` apply only to a WireGuard mesh meshspec
/// renders (`provider: wireguard`, `manage: true`); elsewhere they are refused (MS003).
fn wireguard_node_fields(spec: &Spec, mesh: &Mesh, diags: &mut Vec<Diagnostic>) {
    if mesh.managed_wireguard().is_some() {
        return;
    }
    let why = if mesh.provider == Provider::Wireguard {
        "`mesh.wireguard.manage` is not `true`".to_owned()
    } else {
        format!("`mesh.provider` is `{}`", mesh.provider.word())
    };
    let help = if mesh.provider == Provider::Wireguard {
        "add `mesh: {wireguard: {manage: true}}` to let meshspec render the WireGuard configs, or remove it"
    } else {
        "it applies to a plain WireGuard mesh that meshspec renders (`provider: wireguard`, `wireguard: {manage: true}`): remove it"
    };
    for (i, n) in spec.nodes.iter().enumerate() {
        for (key, set) in [
            ("public_endpoint", n.public_endpoint.is_some()),
            ("wireguard", n.wireguard.is_some()),
        ] {
            if set {
                diags.push(
                    Diagnostic::new(
                        crate::code::Code::InvalidValue,
                        format!("nodes[{i}].{key}"),
                        format!("`nodes[{i}].{key}` is set but {why}"),
                    )
                    .with_help(help),
                );
            }
        }
    }
}

/// `mesh.groups`. With Headscale the rendered file is a whole policy, and Headscale's
/// `Policy.validate()` refuses a policy that names a group it does not define
/// (`ErrGroupNotDefined`, juanfont/headscale `hscontrol/policy/v2/types.go`): every group in
/// `tag_owners` or `admins` must be defined here (MS007, unknown reference). With Tailscale the
/// file is a fragment merged into the tailnet's policy, which may define them (`PLAN.md` lists
/// them).
fn resolve_groups(
    m: &crate::spec::MeshSpec,
    provider: Provider,
    diags: &mut Vec<Diagnostic>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let groups = m.groups.clone().unwrap_or_default();
    if provider == Provider::Headscale {
        for (field, list) in [("tag_owners", &m.tag_owners), ("admins", &m.admins)] {
            for (i, p) in list.iter().flatten().enumerate() {
                if crate::principal::kind(p) == Some(crate::principal::Kind::Group)
                    && !groups.contains_key(p)
                {
                    diags.push(
                        Diagnostic::new(
                            crate::code::Code::UnknownReference,
                            format!("mesh.{field}[{i}]"),
                            format!("`{p}` is not defined in `mesh.groups`: the bundle's `cluster/headscale-policy.json` is a whole policy, and Headscale refuses one that names an undefined group (`group not defined in policy`)"),
                        )
                        .with_help(format!("define it with its users: `mesh: {{groups: {{\"{p}\": [alice@]}}}}`")),
                    );
                }
            }
        }
    }
    groups
}

/// `mesh.tag_owners`, defaulting to `autogroup:admin` on Tailscale. Headscale has no default:
/// its policy parser refuses every autogroup as a tag owner (see [`crate::principal`]).
fn resolve_tag_owners(
    m: &crate::spec::MeshSpec,
    provider: Provider,
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let Some(owners) = &m.tag_owners else {
        if provider == Provider::Headscale {
            diags.push(
                Diagnostic::new(
                    crate::code::Code::MissingField,
                    "mesh.tag_owners",
                    "`mesh.provider` is `headscale`, whose policy has no default tag owner: `autogroup:admin` is refused there",
                )
                .with_help("name the Headscale users or groups that may tag the nodes, e.g. `tag_owners: [admin@]`"),
            );
        }
        return vec!["autogroup:admin".to_owned()];
    };
    if provider == Provider::Headscale {
        for (i, o) in owners.iter().enumerate() {
            if let Some(why) = crate::principal::headscale_tag_owner_error(o) {
                diags.push(
                    Diagnostic::new(
                        crate::code::Code::InvalidValue,
                        format!("mesh.tag_owners[{i}]"),
                        format!("Headscale refuses `{o}` as a tag owner: {why}"),
                    )
                    .with_help("use a Headscale user (`admin@`) or a group defined in the policy (`group:ops`)"),
                );
            }
        }
    }
    owners.clone()
}

/// `mesh.admins`, defaulting to `autogroup:member`; each must be a valid ACL source.
fn resolve_admins(
    m: &crate::spec::MeshSpec,
    provider: Provider,
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let Some(admins) = &m.admins else {
        return vec!["autogroup:member".to_owned()];
    };
    for (i, a) in admins.iter().enumerate() {
        if let Some(why) = crate::principal::admin_source_error(a, provider == Provider::Headscale)
        {
            diags.push(
                Diagnostic::new(
                    crate::code::Code::InvalidValue,
                    format!("mesh.admins[{i}]"),
                    format!("`{a}` cannot be the source of an ACL rule on {provider}: {why}"),
                )
                .with_help("use users, groups or `autogroup:member`"),
            );
        }
    }
    admins.clone()
}

fn resolve_cni(spec: &Spec, mesh: &Mesh, diags: &mut Vec<Diagnostic>) -> Cni {
    let c = &spec.cni;
    let plugin = c.plugin.unwrap_or(CniPlugin::Flannel);
    match plugin {
        CniPlugin::Flannel => {
            if c.cilium.is_some() {
                diags.push(
                    Diagnostic::new(
                        crate::code::Code::InvalidValue,
                        "cni.cilium",
                        format!(
                            "`cni.cilium` is set but `cni.plugin` is `{}`",
                            plugin.word()
                        ),
                    )
                    .with_help("add `plugin: cilium`, or remove the `cilium:` block"),
                );
            }
            Cni::Flannel(Flannel {
                backend: c
                    .flannel
                    .as_ref()
                    .and_then(|f| f.backend)
                    .unwrap_or(FlannelBackend::Vxlan),
                backend_explicit: c.flannel.as_ref().and_then(|f| f.backend).is_some(),
            })
        }
        CniPlugin::Cilium => {
            if c.flannel.is_some() {
                diags.push(
                    Diagnostic::new(
                        crate::code::Code::InvalidValue,
                        "cni.flannel",
                        "`cni.flannel` is set but `cni.plugin` is `cilium`",
                    )
                    .with_help(
                        "remove the `flannel:` block: with Cilium, k3s's flannel is turned off",
                    ),
                );
            }
            let s = c.cilium.clone().unwrap_or_default();
            let tunnel = s.tunnel_protocol.unwrap_or(TunnelProtocol::Vxlan);
            let version = s
                .version
                .clone()
                .unwrap_or_else(|| ChartLine::newest().as_str().to_owned());
            Cni::Cilium(Cilium {
                line: version.parse().ok(),
                version,
                tunnel,
                tunnel_port: s.tunnel_port.unwrap_or(match tunnel {
                    TunnelProtocol::Vxlan => 8472,
                    TunnelProtocol::Geneve => 6081,
                }),
                tunnel_port_explicit: s.tunnel_port.is_some(),
                ipam: s.ipam.unwrap_or(CiliumIpam::Kubernetes),
                cluster_pool_cidr: s.cluster_pool_cidr,
                kube_proxy_replacement: s.kube_proxy_replacement.unwrap_or(false),
                masquerade: s.masquerade.unwrap_or(true),
                mtu: match s.mtu {
                    Some(CiliumMtu::Fixed(v)) => v,
                    Some(CiliumMtu::Auto) | None => mesh.mtu,
                },
                mtu_explicit: matches!(s.mtu, Some(CiliumMtu::Fixed(_))),
                values: s.values,
            })
        }
    }
}

impl K3s {
    fn placeholder(spec: &Spec) -> K3s {
        let k = &spec.k3s;
        K3s {
            version: k.version.clone(),
            server_url: k.server_url.clone().unwrap_or_default(),
            server_url_explicit: k.server_url.is_some(),
            server_host: k.server_url.as_deref().and_then(netaddr::url_host),
            token_file: k
                .token_file
                .clone()
                .unwrap_or_else(|| DEFAULT_TOKEN_FILE.to_owned()),
            disable: k.disable.clone(),
            write_kubeconfig_mode: k.write_kubeconfig_mode.clone(),
            etcd_snapshots: k.etcd_snapshots.clone(),
            server_extra: k.server_extra.clone(),
            agent_extra: k.agent_extra.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cluster;

    const SPEC: &str = "version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: agent, mesh_ip: 100.64.0.2}\n  - {name: c, role: agent, mesh_ip: 100.64.0.3}\n";

    #[test]
    fn node_lookup_is_indexed_and_sees_later_changes() {
        let mut c = Cluster::from_yaml(SPEC).unwrap_or_else(|d| unreachable!("{d:?}"));
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            assert_eq!(c.node(name).map(|n| n.index), Some(i));
        }
        assert!(c.node("d").is_none());
        // the index was made by the first call; renaming and repeating names afterwards is seen
        c.nodes[1].name = "d".to_owned();
        c.nodes[2].name = "a".to_owned();
        assert!(c.node("b").is_none());
        assert_eq!(c.node("d").map(|n| n.index), Some(1));
        assert_eq!(c.node("a").map(|n| n.index), Some(0));
        c.nodes[0].name = "z".to_owned();
        assert_eq!(c.node("a").map(|n| n.index), Some(2));
    }
}
