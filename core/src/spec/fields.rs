//! The spec's field table: every key the decoder accepts, with its type, default, allowed
//! values, meaning and an example.
//!
//! This table is the one place the format is described. The reference page
//! (`docs/spec-format.md`, [`markdown`]) and the JSON Schema (`schema/meshspec.schema.json`,
//! [`json_schema`]) are generated from it, the allowed words come from the decoder's own
//! [`Keyword`] tables, and a test checks that the decoder's key lists name exactly the keys
//! listed here, so the documentation cannot drift from what the decoder reads.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::keywords::{
    CiliumIpam, CniPlugin, FlannelBackend, Keyword, NodeIpChoice, Provider, ProxyStyle, Role,
    TunnelProtocol,
};
use crate::code::Code;
use crate::diagnostic::Severity;

/// What a field holds.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// The spec version: the number `1`.
    Version,
    /// A DNS-1123 label: 1-63 of `a-z`, `0-9`, `-`, starting and ending alphanumeric.
    Label,
    /// Text.
    Text,
    /// An absolute path on the node.
    AbsPath,
    /// A URL.
    Url,
    /// A whole number in a range.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// `true` or `false`.
    Bool,
    /// One word of a closed set, as the decoder's keyword table lists them.
    Words(fn() -> Vec<&'static str>),
    /// A CIDR block such as `10.42.0.0/16`, without host bits.
    Cidr,
    /// An IPv4 or IPv6 address.
    Ip,
    /// One value, or a list of 1 to `max` values (one per IP family).
    OneOrMany {
        /// The kind of each value.
        item: &'static Kind,
        /// The most values the list takes.
        max: u32,
    },
    /// A list of values.
    List(&'static Kind),
    /// A mapping whose keys are the fields listed below it.
    Block,
    /// A list of mappings whose keys are the fields listed below it (`path[].key`).
    Blocks,
    /// A mapping of keys to text values.
    TextMap,
    /// A mapping of keys to lists of values of one kind.
    ListMap(&'static Kind),
    /// A mapping of keys to any values.
    AnyMap,
    /// A prefix length, or `{ipv4: N, ipv6: M}`.
    NodeCidrMask,
    /// `auto` or a number from 576 to 65535.
    CiliumMtu,
    /// A file mode in octal digits, e.g. `"0644"`.
    FileMode,
    /// A Cilium chart line in quotes, e.g. `"1.20"`.
    ChartLine,
    /// A rule code of a warning or info (`MS411`).
    AckCode,
    /// The word `none`, or a mapping with the keys of `proxy` (`sites[].proxy`, `nodes[].proxy`).
    ProxyOverride,
    /// `host:port`, `[IPv6]:port` or a bare address or DNS name (`nodes[].public_endpoint`).
    Endpoint,
    /// A WireGuard public key: 44 characters of base64 ending in `=` (32 bytes).
    WgKey,
}

/// One key of the spec.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Where it sits: `network.cluster_cidr`, `nodes[].role` (`[]` marks list items).
    pub path: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// Whether the decoder reports MS004 when it is absent.
    pub required: bool,
    /// What an absent key means, in words (empty: nothing is assumed).
    pub default: &'static str,
    /// What it means.
    pub doc: &'static str,
    /// An example value as YAML (flow style); empty for blocks.
    pub example: &'static str,
}

impl Field {
    /// The key's own name (the last path segment).
    #[must_use]
    pub fn name(&self) -> &'static str {
        let tail = self.path.rsplit('.').next().unwrap_or(self.path);
        tail.trim_end_matches("[]")
    }
}

fn words<K: Keyword>() -> Vec<&'static str> {
    K::WORDS.iter().map(|(w, _)| *w).collect()
}

/// The chart lines, and the exact chart release vendored for each (both are accepted).
fn chart_lines() -> Vec<String> {
    crate::cilium::ChartLine::SUPPORTED
        .iter()
        .flat_map(|l| [l.to_string(), l.chart_version().to_owned()])
        .collect()
}

/// The codes `acknowledge:` accepts: every warning and info.
#[must_use]
pub fn acknowledgeable_codes() -> Vec<Code> {
    Code::ALL
        .iter()
        .copied()
        .filter(|c| c.default_severity() != Severity::Error)
        .collect()
}

const MTU: Kind = Kind::Int {
    min: 576,
    max: 65_535,
};
const CIDRS: Kind = Kind::OneOrMany {
    item: &Kind::Cidr,
    max: 2,
};
const IPS: Kind = Kind::OneOrMany {
    item: &Kind::Ip,
    max: 2,
};

macro_rules! f {
    ($path:literal, $kind:expr, $req:literal, $default:literal, $doc:literal, $example:literal) => {
        Field {
            path: $path,
            kind: $kind,
            required: $req,
            default: $default,
            doc: $doc,
            example: $example,
        }
    };
}

/// Every key of spec version 1, in the documented order: a block first, then its keys.
pub const FIELDS: &[Field] = &[
    f!(
        "version",
        Kind::Version,
        true,
        "",
        "The spec format version; `1` is the only one so far.",
        "1"
    ),
    f!(
        "name",
        Kind::Label,
        true,
        "",
        "The cluster's name. It appears in generated-file headers, the plan and the mesh policy.",
        "homelab"
    ),
    f!(
        "network",
        Kind::Block,
        false,
        "k3s's defaults",
        "Pod and service networks. A list of one IPv4 and one IPv6 entry makes the cluster dual-stack.",
        ""
    ),
    f!(
        "network.cluster_cidr",
        CIDRS,
        false,
        "`10.42.0.0/16` (IPv6: `fd00:42::/56`)",
        "The pod network (k3s `cluster-cidr`).",
        "10.42.0.0/16"
    ),
    f!(
        "network.service_cidr",
        CIDRS,
        false,
        "`10.43.0.0/16` (IPv6: `fd00:43::/112`)",
        "The service network (k3s `service-cidr`); same shape as `cluster_cidr`.",
        "10.43.0.0/16"
    ),
    f!(
        "network.node_cidr_mask",
        Kind::NodeCidrMask,
        false,
        "24 for IPv4, 64 for IPv6",
        "The size of each node's pod subnet; `{ipv4: 24, ipv6: 64}` for dual-stack.",
        "24"
    ),
    f!(
        "network.cluster_dns",
        IPS,
        false,
        "the 10th address of `service_cidr`",
        "The cluster DNS service address(es); must lie inside `service_cidr`.",
        "10.43.0.10"
    ),
    f!(
        "network.cluster_domain",
        Kind::Text,
        false,
        "`cluster.local`",
        "The cluster DNS domain: dot-separated DNS-1123 labels.",
        "cluster.local"
    ),
    f!(
        "mesh",
        Kind::Block,
        false,
        "Tailscale with its defaults",
        "The encrypted mesh every node is on.",
        ""
    ),
    f!(
        "mesh.provider",
        Kind::Words(words::<Provider>),
        false,
        "`tailscale`",
        "Which mesh.",
        "tailscale"
    ),
    f!(
        "mesh.interface",
        Kind::Text,
        false,
        "follows the provider: `tailscale0`, NetBird `wt0`, WireGuard `wg0`",
        "The mesh interface name (1-15 characters, no `/`, `:` or spaces).",
        "tailscale0"
    ),
    f!(
        "mesh.mtu",
        MTU,
        false,
        "the provider's: 1280 (Tailscale, Headscale, NetBird), 1420 (WireGuard)",
        "The MTU of the mesh interface.",
        "1280"
    ),
    f!(
        "mesh.ipv4_range",
        Kind::Cidr,
        false,
        "`100.64.0.0/10` (Tailscale, Headscale, NetBird); none for WireGuard",
        "The IPv4 addresses the mesh hands out.",
        "100.64.0.0/10"
    ),
    f!(
        "mesh.ipv6_range",
        Kind::Cidr,
        false,
        "`fd7a:115c:a1e0::/48` (Tailscale, Headscale); none otherwise",
        "The IPv6 addresses the mesh hands out.",
        "fd7a:115c:a1e0::/48"
    ),
    f!(
        "mesh.dns_suffix",
        Kind::Text,
        false,
        "none",
        "The mesh's DNS suffix (MagicDNS), e.g. `tail1234.ts.net`: adds `<node>.<suffix>` names to `tls-san` and NO_PROXY.",
        "tail1234.ts.net"
    ),
    f!(
        "mesh.k3s_vpn_auth",
        Kind::Block,
        false,
        "none: the mesh interface is brought up before k3s",
        "Let k3s join the tailnet itself (its `--vpn-auth-file` integration) instead of using an interface brought up beforehand.",
        ""
    ),
    f!(
        "mesh.k3s_vpn_auth.key_file",
        Kind::AbsPath,
        true,
        "",
        "The file on each node holding `name=tailscale,joinKey=...`; the key itself never goes in the spec.",
        "/etc/rancher/k3s/vpn-auth"
    ),
    f!(
        "mesh.tag_owners",
        Kind::List(&Kind::Text),
        false,
        "`[autogroup:admin]` on Tailscale; required on Headscale, which refuses every autogroup as a tag owner",
        "Who may apply `tag:k3s-server` / `tag:k3s-agent` in the rendered policy: users (`alice@example.com`, `alice@`), groups (`group:ops`), tags or autogroups.",
        "[ops@example.com]"
    ),
    f!(
        "mesh.admins",
        Kind::List(&Kind::Text),
        false,
        "`[autogroup:member]`",
        "Sources allowed to reach 6443/tcp on the servers from outside the cluster (`kubectl` from a laptop): users, groups or `autogroup:member`.",
        "[group:ops]"
    ),
    f!(
        "mesh.groups",
        Kind::ListMap(&Kind::Text),
        false,
        "none",
        "Group definitions rendered into the tailnet policy: `group:<name>` to a list of users. A group named in `tag_owners` or `admins` must be defined here when the rendered file is a whole Headscale policy (Headscale refuses it otherwise); for a Tailscale policy fragment `PLAN.md` lists the groups your policy must define.",
        "{\"group:ops\": [alice@example.com]}"
    ),
    f!(
        "mesh.wireguard",
        Kind::Block,
        false,
        "none: the WireGuard interface is brought up by you",
        "Plain WireGuard settings; used with `provider: wireguard`.",
        ""
    ),
    f!(
        "mesh.wireguard.manage",
        Kind::Bool,
        false,
        "`false`: the interface is brought up by you, as before",
        "`true`: meshspec renders each node's `wg-quick` config (peers, endpoints, relays), creates its key in `install.sh` and checks the mesh in `verify.sh`. The keys below except `listen_port` only apply then.",
        "true"
    ),
    f!(
        "mesh.wireguard.listen_port",
        Kind::Int {
            min: 1,
            max: 65_535
        },
        false,
        "51820",
        "The UDP port of the mesh interface on every node.",
        "51820"
    ),
    f!(
        "mesh.wireguard.keepalive",
        Kind::Int {
            min: 1,
            max: 65_535
        },
        false,
        "25",
        "`PersistentKeepalive` (seconds) of nodes behind NAT, which keeps their NAT mapping open.",
        "25"
    ),
    f!(
        "mesh.wireguard.relays",
        Kind::List(&Kind::Label),
        false,
        "the servers that have a `public_endpoint`",
        "Nodes that forward between peers that cannot reach each other directly (two NATed sites); each needs a `public_endpoint`.",
        "[cloud-1]"
    ),
    f!(
        "sites",
        Kind::Blocks,
        false,
        "none: every node is a network of its own",
        "The physical networks. Nodes on one site reach each other directly (shared L2/L3).",
        ""
    ),
    f!(
        "sites[].name",
        Kind::Label,
        true,
        "",
        "The site's name, unique among sites; nodes refer to it in `site`.",
        "home"
    ),
    f!(
        "sites[].subnets",
        Kind::OneOrMany {
            item: &Kind::Cidr,
            max: 64
        },
        true,
        "",
        "The site's subnets, one or more CIDRs.",
        "[192.168.2.0/24]"
    ),
    f!(
        "sites[].mtu",
        MTU,
        false,
        "1500",
        "The underlay MTU of the site's links (1492 for PPPoE).",
        "1500"
    ),
    f!(
        "sites[].nat",
        Kind::Bool,
        false,
        "`false`",
        "`true`: nothing outside the site can open a connection to its nodes (a home router's NAT); with a WireGuard mesh that meshspec renders, its nodes dial out and keep the mapping open.",
        "false"
    ),
    f!(
        "sites[].proxy",
        Kind::ProxyOverride,
        false,
        "the cluster-wide `proxy`",
        "Overrides the cluster-wide `proxy` for this site's nodes: a mapping with the keys of `proxy`, or `none` for no proxy settings (no env files, no NO_PROXY). A node's own `proxy` overrides it.",
        "none"
    ),
    f!(
        "cni",
        Kind::Block,
        false,
        "flannel with its defaults",
        "The pod network plugin.",
        ""
    ),
    f!(
        "cni.plugin",
        Kind::Words(words::<CniPlugin>),
        false,
        "`flannel`, as in k3s",
        "Which CNI plugin.",
        "cilium"
    ),
    f!(
        "cni.cilium",
        Kind::Block,
        false,
        "Cilium's defaults, as below",
        "Cilium settings; used with `plugin: cilium`.",
        ""
    ),
    f!(
        "cni.cilium.version",
        Kind::ChartLine,
        false,
        "the newest supported line",
        "The Cilium chart line the values are written for, in quotes (unquoted, 1.20 is the number 1.2).",
        "\"1.20\""
    ),
    f!(
        "cni.cilium.tunnel_protocol",
        Kind::Words(words::<TunnelProtocol>),
        false,
        "`vxlan`",
        "The tunnel between nodes.",
        "vxlan"
    ),
    f!(
        "cni.cilium.tunnel_port",
        Kind::Int {
            min: 1,
            max: 65_535
        },
        false,
        "8472 for VXLAN, 6081 for Geneve",
        "The tunnel's UDP port.",
        "8472"
    ),
    f!(
        "cni.cilium.ipam",
        Kind::Words(words::<CiliumIpam>),
        false,
        "`kubernetes`",
        "Who allocates pod addresses: `kubernetes` (pod CIDRs from k3s) or Cilium's own `cluster-pool`.",
        "kubernetes"
    ),
    f!(
        "cni.cilium.cluster_pool_cidr",
        Kind::Cidr,
        false,
        "none; required with `ipam: cluster-pool`",
        "The pool for `ipam: cluster-pool`.",
        "10.44.0.0/16"
    ),
    f!(
        "cni.cilium.kube_proxy_replacement",
        Kind::Bool,
        false,
        "`false`",
        "Let Cilium replace kube-proxy (k3s then runs with `disable-kube-proxy`).",
        "false"
    ),
    f!(
        "cni.cilium.masquerade",
        Kind::Bool,
        false,
        "`true`",
        "Masquerade pod traffic leaving the cluster.",
        "true"
    ),
    f!(
        "cni.cilium.mtu",
        Kind::CiliumMtu,
        false,
        "`auto`",
        "Cilium's MTU value, which is the UNDERLAY MTU (Cilium subtracts its tunnel itself): `auto` is the mesh MTU.",
        "auto"
    ),
    f!(
        "cni.cilium.values",
        Kind::AnyMap,
        false,
        "none",
        "Extra Helm values merged last; checked against the chart line's `values.schema.json`.",
        "{hubble: {enabled: true}}"
    ),
    f!(
        "cni.flannel",
        Kind::Block,
        false,
        "flannel's defaults, as below",
        "Flannel settings; used with `plugin: flannel`.",
        ""
    ),
    f!(
        "cni.flannel.backend",
        Kind::Words(words::<FlannelBackend>),
        false,
        "`vxlan`",
        "Flannel's backend; `host-gw` needs every node on one L2 segment.",
        "vxlan"
    ),
    f!(
        "k3s",
        Kind::Block,
        false,
        "k3s's defaults",
        "k3s settings shared by the nodes.",
        ""
    ),
    f!(
        "k3s.version",
        Kind::Text,
        false,
        "none: the install script's latest stable release",
        "The k3s release to install, e.g. `v1.33.5+k3s1`; pins the install commands and enables version-specific rules.",
        "v1.33.5+k3s1"
    ),
    f!(
        "k3s.server_url",
        Kind::Url,
        false,
        "`https://<first server's mesh IP>:6443`",
        "The URL joining nodes use to reach the API server.",
        "https://100.64.0.1:6443"
    ),
    f!(
        "k3s.token_file",
        Kind::AbsPath,
        false,
        "`/etc/rancher/k3s/token`",
        "Where the join token lives on every node; the token never goes in the spec.",
        "/etc/rancher/k3s/token"
    ),
    f!(
        "k3s.disable",
        Kind::List(&Kind::Text),
        false,
        "none",
        "Packaged components not to deploy.",
        "[traefik, servicelb]"
    ),
    f!(
        "k3s.write_kubeconfig_mode",
        Kind::FileMode,
        false,
        "k3s's (`0600`)",
        "The mode of the admin kubeconfig, octal digits in quotes.",
        "\"0644\""
    ),
    f!(
        "k3s.etcd_snapshots",
        Kind::Block,
        false,
        "k3s's snapshot defaults",
        "Embedded-etcd snapshot settings (servers only).",
        ""
    ),
    f!(
        "k3s.etcd_snapshots.dir",
        Kind::AbsPath,
        false,
        "k3s's (`${data-dir}/server/db/snapshots`)",
        "The snapshot directory.",
        "/var/lib/rancher/k3s/server/db/snapshots"
    ),
    f!(
        "k3s.etcd_snapshots.schedule",
        Kind::Text,
        false,
        "k3s's (`0 */12 * * *`)",
        "A cron schedule.",
        "\"0 */12 * * *\""
    ),
    f!(
        "k3s.etcd_snapshots.retention",
        Kind::Int {
            min: 1,
            max: 10_000
        },
        false,
        "k3s's (5)",
        "How many snapshots to keep.",
        "5"
    ),
    f!(
        "k3s.server_extra",
        Kind::AnyMap,
        false,
        "none",
        "Extra k3s config keys for servers, checked against k3s's flag table.",
        "{kube-apiserver-arg: [\"audit-log-maxage=30\"]}"
    ),
    f!(
        "k3s.agent_extra",
        Kind::AnyMap,
        false,
        "none",
        "Extra k3s config keys for agents, checked against k3s's flag table.",
        "{kubelet-arg: [\"max-pods=200\"]}"
    ),
    f!(
        "proxy",
        Kind::Block,
        false,
        "none: no proxy settings are rendered",
        "HTTP proxy settings. When this block exists, NO_PROXY is rendered.",
        ""
    ),
    f!(
        "proxy.http",
        Kind::Url,
        false,
        "none",
        "The HTTP proxy URL.",
        "http://proxy.lan:3128"
    ),
    f!(
        "proxy.https",
        Kind::Url,
        false,
        "none",
        "The HTTPS proxy URL.",
        "http://proxy.lan:3128"
    ),
    f!(
        "proxy.no_proxy_extra",
        Kind::List(&Kind::Text),
        false,
        "none",
        "Entries appended to NO_PROXY as written (hosts, `.domain` suffixes, IPs, CIDRs).",
        "[.local, registry.lan]"
    ),
    f!(
        "proxy.style",
        Kind::Words(words::<ProxyStyle>),
        false,
        "`precise`",
        "`precise`: exactly the ranges the cluster uses, collapsed; `broad`: whole private blocks (10/8, 172.16/12, 192.168/16).",
        "precise"
    ),
    f!(
        "acknowledge",
        Kind::Blocks,
        false,
        "none",
        "Warnings and infos deliberately accepted, each with its reason. They stay in JSON output (marked `acknowledged`) and leave the terminal. Errors cannot be acknowledged.",
        ""
    ),
    f!(
        "acknowledge[].code",
        Kind::AckCode,
        true,
        "",
        "The rule code of a warning or info (`meshspec explain --list`).",
        "MS411"
    ),
    f!(
        "acknowledge[].reason",
        Kind::Text,
        true,
        "",
        "Why it is accepted.",
        "tailscaled is ordered before k3s by our image"
    ),
    f!(
        "nodes",
        Kind::Blocks,
        true,
        "",
        "The nodes, at least one server. The first server initialises the cluster; the others join in this order.",
        ""
    ),
    f!(
        "nodes[].name",
        Kind::Label,
        true,
        "",
        "The node's hostname, unique in the cluster.",
        "k3s-master"
    ),
    f!(
        "nodes[].role",
        Kind::Words(words::<Role>),
        true,
        "",
        "`server` runs the control plane (and workloads); `agent` runs workloads only.",
        "server"
    ),
    f!(
        "nodes[].site",
        Kind::Text,
        false,
        "none: the node is a network of its own",
        "The name of the site the node sits on.",
        "home"
    ),
    f!(
        "nodes[].lan_ip",
        IPS,
        false,
        "none",
        "The node's address(es) on its site.",
        "192.168.2.20"
    ),
    f!(
        "nodes[].mesh_ip",
        IPS,
        false,
        "required unless `mesh.k3s_vpn_auth` is set",
        "The node's mesh address(es) (`tailscale ip -4` prints it).",
        "100.84.89.67"
    ),
    f!(
        "nodes[].node_ip",
        Kind::Words(words::<NodeIpChoice>),
        false,
        "`auto`",
        "Which address k3s uses as node-ip. `auto`: `lan` when the node has a `lan_ip` and every server sits on its site (with Cilium across sites: always `mesh`), otherwise `mesh`.",
        "auto"
    ),
    f!(
        "nodes[].pod_cidr",
        CIDRS,
        false,
        "predicted in join order",
        "Pins this node's pod subnet (to document an existing cluster).",
        "10.42.3.0/24"
    ),
    f!(
        "nodes[].labels",
        Kind::TextMap,
        false,
        "none",
        "Node labels, `{key: value}`.",
        "{topology.kubernetes.io/zone: home}"
    ),
    f!(
        "nodes[].taints",
        Kind::List(&Kind::Text),
        false,
        "none",
        "Node taints, `key[=value]:Effect`.",
        "[\"dedicated=db:NoSchedule\"]"
    ),
    f!(
        "nodes[].gpu",
        Kind::Block,
        false,
        "none",
        "A GPU: adds the label `<vendor>.com/gpu=true` (and `gpu-type=<model>`) and the taint `gpu=true:NoSchedule` unless `labels`/`taints` say otherwise.",
        ""
    ),
    f!(
        "nodes[].gpu.vendor",
        Kind::Words(|| crate::cluster::GPU_VENDORS.to_vec()),
        true,
        "",
        "The GPU vendor.",
        "nvidia"
    ),
    f!(
        "nodes[].gpu.model",
        Kind::Text,
        false,
        "none",
        "The model, used as the `gpu-type` label.",
        "rtx3060"
    ),
    f!(
        "nodes[].public_endpoint",
        Kind::Endpoint,
        false,
        "none: only nodes of its own site reach it",
        "Where nodes of other sites reach this node's WireGuard interface: `host:port`, `[IPv6]:port`, or an address or DNS name (the port is then `listen_port`). Plain WireGuard with `manage: true` only.",
        "vpn.example.com:51820"
    ),
    f!(
        "nodes[].proxy",
        Kind::ProxyOverride,
        false,
        "its site's `proxy`, else the cluster-wide one",
        "Overrides the site's and the cluster's `proxy` for this node: a mapping with the keys of `proxy`, or `none` for no proxy settings. NO_PROXY and the MS5xx rules follow each node's own proxy.",
        "none"
    ),
    f!(
        "nodes[].wireguard",
        Kind::Block,
        false,
        "none",
        "The node's WireGuard settings; plain WireGuard with `manage: true` only.",
        ""
    ),
    f!(
        "nodes[].wireguard.public_key",
        Kind::WgKey,
        false,
        "none; required with `manage: true` (MS820)",
        "The node's WireGuard public key (`wg pubkey` prints it). The private key never leaves the node: `install.sh` creates it, `PLAN.md` shows the bootstrap.",
        "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
    ),
];

/// The fields directly under `parent` (`""` for the top level).
pub fn children(parent: &str) -> impl Iterator<Item = &'static Field> {
    let prefix = match FIELDS.iter().find(|f| f.path == parent).map(|f| f.kind) {
        Some(Kind::Blocks) => format!("{parent}[]."),
        Some(_) => format!("{parent}."),
        None => String::new(),
    };
    FIELDS.iter().filter(move |f| {
        f.path
            .strip_prefix(prefix.as_str())
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('.'))
    })
}

/// The names of the fields directly under `parent`.
#[must_use]
pub fn names(parent: &str) -> Vec<&'static str> {
    children(parent).map(Field::name).collect()
}

fn allowed(kind: Kind) -> Vec<String> {
    match kind {
        Kind::Words(w) => w().into_iter().map(str::to_owned).collect(),
        Kind::ChartLine => chart_lines(),
        Kind::AckCode => acknowledgeable_codes()
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        Kind::Version => vec!["1".to_owned()],
        _ => Vec::new(),
    }
}

fn type_words(kind: Kind) -> String {
    match kind {
        Kind::Version => "integer".to_owned(),
        Kind::Label => "DNS-1123 label".to_owned(),
        Kind::Text => "text".to_owned(),
        Kind::AbsPath => "absolute path".to_owned(),
        Kind::Url => "URL".to_owned(),
        Kind::Int { min, max } => format!("integer {min}–{max}"),
        Kind::Bool => "boolean".to_owned(),
        Kind::Words(_) => "word".to_owned(),
        Kind::Cidr => "CIDR".to_owned(),
        Kind::Ip => "IP address".to_owned(),
        Kind::OneOrMany { item, max: 2 } => {
            format!("{}, or a list of two (IPv4 and IPv6)", type_words(*item))
        }
        Kind::OneOrMany { item, max } => {
            format!("{}, or a list of 1–{max}", type_words(*item))
        }
        Kind::List(item) => format!("list of {}", type_words(*item)),
        Kind::Block => "mapping".to_owned(),
        Kind::Blocks => "list of mappings".to_owned(),
        Kind::TextMap => "mapping of text".to_owned(),
        Kind::ListMap(item) => format!("mapping of lists of {}", type_words(*item)),
        Kind::AnyMap => "mapping".to_owned(),
        Kind::NodeCidrMask => "integer, or `{ipv4, ipv6}`".to_owned(),
        Kind::CiliumMtu => "`auto` or integer 576–65535".to_owned(),
        Kind::FileMode => "octal mode in quotes".to_owned(),
        Kind::ChartLine => "chart line in quotes".to_owned(),
        Kind::AckCode => "rule code".to_owned(),
        Kind::ProxyOverride => "`none`, or a mapping like `proxy`".to_owned(),
        Kind::Endpoint => "`host:port`, or an address".to_owned(),
        Kind::WgKey => "WireGuard public key (base64)".to_owned(),
    }
}

/// The JSON Schema of one value of `kind`, `path` naming its place for nested fields.
fn kind_schema(kind: Kind, path: &str) -> Value {
    match kind {
        Kind::Version => json!({"const": 1}),
        Kind::Label => json!({
            "type": "string",
            "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
        }),
        Kind::Text => json!({"type": "string"}),
        Kind::AbsPath => json!({"type": "string", "pattern": "^/"}),
        Kind::Url => json!({"type": "string", "pattern": "^[a-z]+://"}),
        Kind::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Words(_) | Kind::ChartLine | Kind::AckCode => json!({
            "type": "string",
            "enum": allowed(kind)
        }),
        Kind::Cidr => json!({"type": "string", "pattern": "^[0-9a-fA-F:.]+/[0-9]{1,3}$"}),
        Kind::Ip => json!({"type": "string", "pattern": "^[0-9a-fA-F:.]+$"}),
        Kind::OneOrMany { item, max } => {
            let one = kind_schema(*item, path);
            json!({"anyOf": [
                one.clone(),
                {"type": "array", "items": one, "minItems": 1, "maxItems": max}
            ]})
        }
        Kind::List(item) => json!({"type": "array", "items": kind_schema(*item, path)}),
        Kind::Block => object_schema(path),
        Kind::Blocks => json!({"type": "array", "items": object_schema(path)}),
        Kind::TextMap => json!({
            "type": "object",
            "additionalProperties": {"type": ["string", "boolean", "integer", "null"]}
        }),
        Kind::ListMap(item) => json!({
            "type": "object",
            "additionalProperties": {"type": ["array", "null"], "items": kind_schema(*item, path)}
        }),
        Kind::AnyMap => json!({"type": "object"}),
        Kind::NodeCidrMask => json!({"anyOf": [
            {"type": "integer", "minimum": 1, "maximum": 128},
            {
                "type": "object",
                "properties": {
                    "ipv4": {"type": "integer", "minimum": 1, "maximum": 32},
                    "ipv6": {"type": "integer", "minimum": 1, "maximum": 128}
                },
                "additionalProperties": false
            }
        ]}),
        Kind::CiliumMtu => json!({"anyOf": [
            {"const": "auto"},
            {"type": "integer", "minimum": 576, "maximum": 65_535}
        ]}),
        Kind::FileMode => json!({"anyOf": [
            {"type": "string", "pattern": "^[0-7]{3,4}$"},
            {"type": "integer"}
        ]}),
        Kind::ProxyOverride => json!({"anyOf": [
            {"const": "none"},
            object_schema("proxy")
        ]}),
        Kind::Endpoint => json!({
            "type": "string",
            "pattern": "^(\\[[0-9a-fA-F:.]+\\](:[0-9]{1,5})?|[0-9a-fA-F]*:[0-9a-fA-F:.]*|[A-Za-z0-9.-]+(:[0-9]{1,5})?)$"
        }),
        Kind::WgKey => json!({
            "type": "string",
            "pattern": "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$"
        }),
    }
}

fn description(f: &Field) -> String {
    let mut d = f.doc.to_owned();
    if !f.default.is_empty() && !f.required {
        let _ = write!(d, " Default: {}.", f.default.replace('`', ""));
    }
    d.replace('`', "")
}

/// `schema`, also accepting `null` (an optional key written without a value), without
/// wrapping it: `"type": ["object", "null"]` rather than `anyOf`, so a validator reports a
/// wrong value inside an optional block at its own key, not as "the block matches no branch".
fn nullable(mut schema: Value) -> Value {
    let Value::Object(m) = &mut schema else {
        return json!({"anyOf": [schema, {"type": "null"}]});
    };
    if let Some(Value::Array(branches)) = m.get_mut("anyOf") {
        branches.push(json!({"type": "null"}));
        return schema;
    }
    match m.get("type").cloned() {
        Some(Value::String(t)) => {
            m.insert("type".to_owned(), json!([t, "null"]));
            if let Some(Value::Array(words)) = m.get_mut("enum") {
                words.push(Value::Null);
            }
            schema
        }
        _ => json!({"anyOf": [schema, {"type": "null"}]}),
    }
}

/// The field's default as a JSON value, when its documented default is one literal the spec
/// could hold (`` `vxlan` ``, `` `false` ``, ``k3s's (`0600`)``); `None` when it depends on other
/// fields or is not a value (`none`, "follows the provider").
fn default_value(f: &Field) -> Option<Value> {
    if f.required {
        return None;
    }
    let d = f.default;
    let literal = d
        .strip_prefix("k3s's (`")
        .and_then(|r| r.strip_suffix("`)"))
        .or_else(|| {
            let r = d.strip_prefix('`')?;
            let (lit, rest) = r.split_once('`')?;
            matches!(rest, "" | ", as in k3s").then_some(lit)
        })?;
    if literal.contains('$') || literal.contains('<') {
        return None;
    }
    match f.kind {
        Kind::Bool => literal.parse::<bool>().ok().map(Value::Bool),
        Kind::Int { .. } => literal.parse::<i64>().ok().map(Value::from),
        Kind::List(_) => {
            let inner = literal.strip_prefix('[')?.strip_suffix(']')?;
            Some(Value::Array(
                inner
                    .split(',')
                    .map(|w| Value::String(w.trim().to_owned()))
                    .collect(),
            ))
        }
        Kind::Block | Kind::Blocks | Kind::AnyMap | Kind::TextMap | Kind::ListMap(_) => None,
        _ => Some(Value::String(literal.to_owned())),
    }
}

fn object_schema(parent: &str) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in children(parent) {
        let mut s = kind_schema(f.kind, f.path);
        if !f.required {
            s = nullable(s);
        }
        if let Value::Object(m) = &mut s {
            m.insert("description".to_owned(), Value::String(description(f)));
            if let Some(d) = default_value(f) {
                m.insert("default".to_owned(), d);
            }
        }
        props.insert(f.name().to_owned(), s);
        if f.required {
            required.push(Value::String(f.name().to_owned()));
        }
    }
    let mut o = Map::new();
    o.insert("type".to_owned(), json!("object"));
    o.insert("properties".to_owned(), Value::Object(props));
    if !required.is_empty() {
        o.insert("required".to_owned(), Value::Array(required));
    }
    o.insert("additionalProperties".to_owned(), json!(false));
    Value::Object(o)
}

/// The stable `$id` of the spec format's JSON Schema, version 1: the URL `meshspec init` puts
/// on a new spec's `# yaml-language-server: $schema=` line. It changes only with the spec
/// format's version; the schema is published there from `schema/meshspec.schema.json`.
pub const SCHEMA_ID: &str = "https://meshspec.dev/schema/v1/meshspec.schema.json";

/// The JSON Schema (draft-07) of spec version 1, generated from [`FIELDS`].
///
/// ```
/// let schema = meshspec::spec::fields::json_schema();
/// assert_eq!(schema["properties"]["mesh"]["properties"]["provider"]["enum"][0], "tailscale");
/// assert_eq!(schema["properties"]["mesh"]["properties"]["provider"]["default"], "tailscale");
/// assert_eq!(schema["$id"], meshspec::spec::fields::SCHEMA_ID);
/// assert_eq!(schema["additionalProperties"], false);
/// ```
#[must_use]
pub fn json_schema() -> Value {
    let mut root = object_schema("");
    if let Value::Object(m) = &mut root {
        let mut head = Map::new();
        head.insert(
            "$schema".to_owned(),
            json!("http://json-schema.org/draft-07/schema#"),
        );
        head.insert("$id".to_owned(), json!(SCHEMA_ID));
        head.insert(
            "title".to_owned(),
            json!("meshspec cluster spec, version 1"),
        );
        head.insert(
            "description".to_owned(),
            json!("One YAML file describing a multi-site k3s cluster over an encrypted mesh. Generated from meshspec's field table (meshspec schema); see docs/spec-format.md."),
        );
        head.extend(std::mem::take(m));
        *m = head;
    }
    root
}

/// The JSON Schema as pretty-printed text with a final newline, as `meshspec schema` prints it.
#[must_use]
pub fn json_schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    s.push('\n');
    s
}

/// A spec that sets every key to its example, as YAML (it decodes; it need not validate).
#[must_use]
pub fn full_example() -> String {
    let mut out = String::new();
    example_block(&mut out, "", 0, false);
    out
}

fn example_block(out: &mut String, parent: &str, indent: usize, first_dash: bool) {
    for (i, f) in children(parent).enumerate() {
        let pad = if first_dash && i == 0 {
            format!("{}- ", " ".repeat(indent.saturating_sub(2)))
        } else {
            " ".repeat(indent)
        };
        match f.kind {
            Kind::Block => {
                let _ = writeln!(out, "{pad}{}:", f.name());
                example_block(out, f.path, indent + 2, false);
            }
            Kind::Blocks => {
                let _ = writeln!(out, "{pad}{}:", f.name());
                example_block(out, f.path, indent + 4, true);
            }
            _ => {
                let _ = writeln!(out, "{pad}{}: {}", f.name(), f.example);
            }
        }
    }
}

const INTRO: &str = "\
# The spec format, version 1

A spec is one YAML file describing a k3s cluster whose nodes live on different networks
(\"sites\") and reach each other over an encrypted mesh (Tailscale by default). Everything
meshspec renders is derived from it. The CLI, the Python and Node bindings, the Ansible
collection and the Pulumi example all read exactly this format.

<!-- Generated from core/src/spec/fields.rs by `MESHSPEC_BLESS=1 cargo test -p meshspec --test reference`;
     do not edit by hand: the test fails when this page and the decoder disagree. -->

Conventions: keys are `snake_case`; an unknown key is an error (MS002) with a \"did you mean\"
suggestion; every error names the field path (`nodes[2].mesh_ip`) and the line and column.
A key that is absent takes the default below. A value the spec sets explicitly is always
rendered, even when it equals k3s's or Cilium's own default; a value meshspec derives is
rendered only where it differs from that default or where the topology needs it. Secrets
(the k3s join token, mesh auth keys) never go in a spec: `*_file` keys name the files on the
nodes that hold them, and a spec holding something that looks like a secret is refused
(MS009).

Editors: `schema/meshspec.schema.json` (also printed by `meshspec schema`) is the JSON Schema
of this page; its `$id` is the stable URL
`<SCHEMA_ID>` (it changes only with the format's
version), which `meshspec init` writes on a new spec's first line as
`# yaml-language-server: $schema=<that URL>` (or point it at a local copy). yaml-language-server
(VS Code's YAML extension and others) then completes keys, shows each key's default, and flags
unknown keys and wrong values at the key itself.
";

const RESOLUTION: &str = "\
## How the defaults resolve

- The first server in `nodes` initialises the cluster (`cluster-init: true`, embedded etcd).
  The other servers and all agents join through `k3s.server_url`.
- `node_ip: auto` is `lan` when the node has a `lan_ip` and every server sits on the node's
  site (servers reach each kubelet at its node-ip, and etcd peers reach each other at their
  node-ips), otherwise `mesh`. With Cilium, once the cluster spans more than one site, `auto`
  is `mesh` on every node (Cilium's tunnel endpoints are the node-ips). `auto` never yields a
  spec that breaks an error rule; an explicit `lan` can, and is then reported (MS201, MS202).
- A server whose node-ip is its LAN address while some node joins over the mesh gets
  `advertise-address: <mesh_ip>` and both addresses in `tls-san`.
- With flannel, once two nodes sit on different sites, every node gets
  `flannel-iface: <mesh interface>`: VXLAN endpoints must all be mesh addresses.
- `gpu: {vendor: nvidia, model: M}` adds the labels `nvidia.com/gpu=true` and `gpu-type=M`
  and the taint `gpu=true:NoSchedule`, unless `labels`/`taints` already say otherwise.
- Pod subnets are predicted in join order (the first server, then the order of `nodes`):
  node k gets the k-th `/node_cidr_mask` block of `cluster_cidr`, skipping pinned blocks, which
  is the order k3s's controller manager hands them out when nodes join in that order.
- A node's proxy is its own `proxy`, else its site's, else the cluster-wide `proxy`; `none`
  at a level turns proxy settings off for the nodes below it (no unit env file, no
  `environment.d` snippet, no NO_PROXY). Each node's NO_PROXY is built from its own proxy
  (`style`, `no_proxy_extra`) and still covers every node of the cluster; MS501–MS503 check
  each proxy block in use, at the place it is written.
- `acknowledge:` entries apply to every finding of their code. An entry naming an error, or
  a code meshspec does not have, is itself an error (MS003).
";

/// The reference page `docs/spec-format.md`, generated from [`FIELDS`].
#[must_use]
pub fn markdown() -> String {
    let mut out = INTRO.replace("<SCHEMA_ID>", SCHEMA_ID);
    out.push_str("\n## Every key at once\n\nEach key set to an example value (this decodes; a real spec sets far fewer keys):\n\n```yaml\n");
    out.push_str(&full_example());
    out.push_str("```\n\n## The keys\n");
    let sections: Vec<&Field> = FIELDS.iter().filter(|f| !f.path.contains('.')).collect();
    for s in sections {
        let _ = writeln!(out, "\n### `{}`\n", s.path);
        let _ = writeln!(out, "{}\n", s.doc);
        let _ = writeln!(
            out,
            "| key | type | required / default | meaning | example |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|");
        for f in FIELDS.iter().filter(|f| {
            f.path == s.path
                || f.path.starts_with(&format!("{}.", s.path))
                || f.path.starts_with(&format!("{}[].", s.path))
        }) {
            let values = allowed(f.kind);
            let ty = if values.is_empty() || matches!(f.kind, Kind::Version) {
                type_words(f.kind)
            } else {
                format!(
                    "one of {}",
                    values
                        .iter()
                        .map(|v| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let req = if f.required {
                "required".to_owned()
            } else if f.default.is_empty() {
                "optional".to_owned()
            } else {
                f.default.to_owned()
            };
            let example = if f.example.is_empty() {
                String::new()
            } else {
                format!("`{}`", f.example.replace('|', "\\|"))
            };
            let doc = if f.path == s.path {
                String::new()
            } else {
                f.doc.replace('|', "\\|")
            };
            let _ = writeln!(out, "| `{}` | {ty} | {req} | {doc} | {example} |", f.path);
        }
    }
    out.push('\n');
    out.push_str(RESOLUTION);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;
    use crate::spec::sections::KNOWN;

    #[test]
    fn the_table_names_exactly_the_keys_the_decoder_reads() {
        for (parent, decoder_keys) in KNOWN {
            let mut table = names(parent);
            let mut decoder: Vec<&str> = decoder_keys.to_vec();
            table.sort_unstable();
            decoder.sort_unstable();
            assert_eq!(
                table, decoder,
                "the keys under `{parent}` in FIELDS (left) differ from the decoder's (right): \
                 describe every key the decoder reads in FIELDS (core/src/spec/fields.rs), then \
                 regenerate the docs and schema with \
                 `MESHSPEC_BLESS=1 cargo test -p meshspec --test reference`"
            );
        }
        // and every block of the table is a block the decoder knows
        for f in FIELDS
            .iter()
            .filter(|f| matches!(f.kind, Kind::Block | Kind::Blocks))
        {
            assert!(
                KNOWN.iter().any(|(p, _)| *p == f.path),
                "{} is a block the decoder does not list",
                f.path
            );
        }
    }

    #[test]
    fn the_full_example_decodes() {
        let text = full_example();
        if let Err(e) = Spec::from_yaml(&text) {
            panic!("{text}\n{e}");
        }
    }

    #[test]
    fn allowed_words_come_from_the_keyword_tables() {
        let provider = FIELDS.iter().find(|f| f.path == "mesh.provider").unwrap();
        assert_eq!(
            allowed(provider.kind),
            ["tailscale", "headscale", "netbird", "wireguard"]
        );
        assert!(
            acknowledgeable_codes()
                .iter()
                .all(|c| c.default_severity() != Severity::Error)
        );
        assert!(acknowledgeable_codes().contains(&Code::InterfaceOrdering));
    }

    #[test]
    fn every_chart_value_the_schema_allows_is_accepted() {
        for v in chart_lines() {
            let c = crate::Cluster::from_yaml(&format!(
                "version: 1\nname: lab\ncni: {{plugin: cilium, cilium: {{version: \"{v}\"}}}}\nnodes:\n  - {{name: a, role: server, mesh_ip: 100.64.0.1}}\n"
            ))
            .unwrap();
            assert!(!c.validate().codes().contains(&Code::CiliumVersion), "{v}");
        }
    }

    #[test]
    fn the_schema_rejects_unknown_keys_everywhere() {
        let s = json_schema();
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(
            s["properties"]["nodes"]["items"]["additionalProperties"],
            false
        );
        assert_eq!(s["required"], json!(["version", "name", "nodes"]));
    }
}
