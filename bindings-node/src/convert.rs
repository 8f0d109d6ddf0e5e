//! Conversions from core types to the plain JavaScript objects the binding returns.
//!
//! Every struct here is a `#[napi(object)]`: a plain object with camelCase fields, typed in
//! the generated `index.d.ts`. Optional values are `null` (never absent) so a field name can
//! be checked by `tsc` and by `'line' in d` alike. Nothing here throws; errors live in
//! `errors.rs`.

use std::collections::BTreeMap;

use meshspec::render::k3s::config_entries;
use napi::bindgen_prelude::Unknown;
use napi_derive::napi;

/// How serious a diagnostic is; only errors stop rendering.
#[napi(string_enum = "lowercase")]
pub enum Severity {
    /// The cluster would break; rendering refuses.
    Error,
    /// Likely to hurt; rendering goes on.
    Warning,
    /// Worth knowing; nothing is wrong.
    Info,
}

impl From<meshspec::Severity> for Severity {
    fn from(s: meshspec::Severity) -> Self {
        match s {
            meshspec::Severity::Error => Self::Error,
            meshspec::Severity::Warning => Self::Warning,
            meshspec::Severity::Info => Self::Info,
        }
    }
}

/// A node's role in the cluster.
#[napi(string_enum = "lowercase")]
pub enum Role {
    /// Runs the control plane (and workloads unless tainted).
    Server,
    /// Runs workloads only.
    Agent,
}

/// One problem found in a spec.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Diagnostic {
    /// The rule code, e.g. `MS101`.
    pub code: String,
    /// The rule's stable slug, e.g. `pod-service-overlap`.
    pub slug: String,
    /// How serious it is.
    pub severity: Severity,
    /// The field path in the spec, e.g. `nodes[2].mesh_ip`; empty for the whole document.
    pub path: String,
    /// 1-based line in the spec text, when the spec came from YAML text.
    pub line: Option<u32>,
    /// 1-based column in the spec text, when the spec came from YAML text.
    pub column: Option<u32>,
    /// One line: what is wrong.
    pub message: String,
    /// A concrete fix, when one can be computed.
    pub help: Option<String>,
    /// Whether the spec's `acknowledge:` accepts this finding (a warning or info).
    pub acknowledged: bool,
    /// The reason the `acknowledge:` entry gives, when acknowledged.
    pub reason: Option<String>,
}

impl From<&meshspec::Diagnostic> for Diagnostic {
    fn from(d: &meshspec::Diagnostic) -> Self {
        Self {
            code: d.code.as_str().to_owned(),
            slug: d.slug.to_owned(),
            severity: d.severity.into(),
            path: d.path.clone(),
            line: d.line,
            column: d.column,
            message: d.message.clone(),
            help: d.help.clone(),
            acknowledged: d.acknowledged,
            reason: d.reason.as_deref().cloned(),
        }
    }
}

/// Converts a list of core diagnostics.
pub fn diagnostics(d: &meshspec::Diagnostics) -> Vec<Diagnostic> {
    d.iter().map(Diagnostic::from).collect()
}

/// One rendered file: the type of the values of `render()` and `node(name).files` in
/// `index.d.ts` (both are lazy objects made in `files.rs`, never this struct).
#[napi(object, object_from_js = false)]
#[expect(
    dead_code,
    reason = "declares the TypeScript type; the values are made in files.rs"
)]
pub struct RenderedFile {
    /// The full text.
    pub contents: String,
    /// Unix permission bits, e.g. `0o600` (384).
    pub mode: u32,
}

/// One key of a node's k3s config, with the spec field it comes from.
#[napi(object, object_from_js = false)]
pub struct ConfigEntry {
    /// The k3s flag name, e.g. `node-ip`.
    pub key: String,
    /// Its value: a scalar or a list of scalars.
    #[napi(ts_type = "unknown")]
    pub value: serde_json::Value,
    /// The spec path that produced it, e.g. `nodes[1].mesh_ip`.
    pub origin: String,
}

/// A resolved node: addresses, pod subnets, labels, its k3s config and its files.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Node<'env> {
    /// Its name.
    pub name: String,
    /// Server or agent.
    pub role: Role,
    /// Its site, when it names an existing one.
    pub site: Option<String>,
    /// Whether this node initialises the cluster (`cluster-init`).
    pub init: bool,
    /// Whether it has a GPU.
    pub gpu: bool,
    /// Mesh addresses.
    pub mesh_ip: Vec<String>,
    /// LAN addresses.
    pub lan_ip: Vec<String>,
    /// The node-ip(s), primary family first.
    pub node_ip: Vec<String>,
    /// The API server's advertise address, for servers that need one.
    pub advertise_address: Option<String>,
    /// Extra SANs for a server's certificate.
    pub tls_san: Vec<String>,
    /// Flannel's interface, when it must be the mesh's.
    pub flannel_iface: Option<String>,
    /// Predicted (or pinned) pod subnets.
    pub pod_cidr: Vec<String>,
    /// Labels, GPU labels included.
    pub labels: BTreeMap<String, String>,
    /// Taints, GPU taint included, as `key[=value]:Effect`.
    pub taints: Vec<String>,
    /// The k3s config as key → value (keys in alphabetical order).
    #[napi(ts_type = "Record<string, unknown>")]
    pub config: serde_json::Value,
    /// The k3s config entries in the order they are written, with their origins.
    pub config_entries: Vec<ConfigEntry>,
    /// The node's files, keyed by path relative to the node's root (`etc/rancher/k3s/config.yaml`).
    #[napi(ts_type = "Record<string, RenderedFile>")]
    pub files: Unknown<'env>,
}

/// A node's fields as [`Node`] has them (the same camelCase names in the same order, without
/// `files`), for the JSON text [`node_json`] makes.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeFields<'a> {
    name: &'a str,
    role: &'static str,
    site: Option<&'a str>,
    init: bool,
    gpu: bool,
    mesh_ip: Vec<String>,
    lan_ip: Vec<String>,
    node_ip: Vec<String>,
    advertise_address: Option<String>,
    tls_san: &'a [String],
    flannel_iface: Option<&'a str>,
    pod_cidr: Vec<String>,
    labels: &'a BTreeMap<String, String>,
    taints: &'a [String],
    config: ConfigMap<'a>,
    config_entries: Vec<EntryFields<'a>>,
}

/// The config as key → value, borrowed from the entries: the keys in order, the last entry
/// of a key winning, as collecting them into a `serde_json::Map` does.
struct ConfigMap<'a>(&'a [meshspec::render::k3s::ConfigEntry]);

impl serde::Serialize for ConfigMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let by_key: BTreeMap<&str, &serde_json::Value> =
            self.0.iter().map(|e| (e.key.as_str(), &e.value)).collect();
        s.collect_map(by_key)
    }
}

/// A [`ConfigEntry`]'s fields, as it has them.
#[derive(serde::Serialize)]
struct EntryFields<'a> {
    key: &'a str,
    value: &'a serde_json::Value,
    origin: &'a str,
}

/// Whether JSON text carries a number as the `#[napi(object)]` conversion would hand it to
/// JavaScript: napi makes a `BigInt` of an integer past 2^53 (or past `u32::MAX` when it is
/// stored unsigned), where `JSON.parse` would make a rounded number.
fn json_safe(v: &serde_json::Value) -> bool {
    const MAX_SAFE: i64 = (1 << 53) - 1;
    match v {
        serde_json::Value::Number(n) => {
            n.is_f64()
                || n.as_i64()
                    .is_some_and(|i| (-MAX_SAFE..=MAX_SAFE).contains(&i))
        }
        serde_json::Value::Array(a) => a.iter().all(json_safe),
        serde_json::Value::Object(m) => m.values().all(json_safe),
        _ => true,
    }
}

/// A resolved node's fields (all of [`Node`]'s but `files`) as one JSON text that JavaScript
/// turns into the same plain object with one `JSON.parse`: building it field by field took
/// a hundred Node-API calls a node (each config entry is an object of three). `None` when a
/// config value is a number `JSON.parse` would read otherwise than napi converts it (see
/// [`json_safe`]); [`node`] converts such a node.
pub fn node_json(cluster: &meshspec::Cluster, n: &meshspec::cluster::Node) -> Option<String> {
    let entries = config_entries(cluster, n);
    if !entries.iter().all(|e| json_safe(&e.value)) {
        return None;
    }
    let fields = NodeFields {
        name: &n.name,
        role: if n.is_server() { "server" } else { "agent" },
        site: n.site.as_deref(),
        init: n.init,
        gpu: n.gpu,
        mesh_ip: texts(&n.mesh_ips),
        lan_ip: texts(&n.lan_ips),
        node_ip: texts(&n.node_ips),
        advertise_address: n.advertise_address.map(|a| a.to_string()),
        tls_san: &n.tls_san,
        flannel_iface: n.flannel_iface.as_deref(),
        pod_cidr: texts(&n.pod_cidrs),
        labels: &n.labels,
        taints: &n.taints,
        config: ConfigMap(&entries),
        config_entries: entries
            .iter()
            .map(|e| EntryFields {
                key: &e.key,
                value: &e.value,
                origin: &e.origin,
            })
            .collect(),
    };
    serde_json::to_string(&fields).ok()
}

fn texts<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

/// Converts a resolved node, given the node's rendered files (the lazy object `files.rs` makes).
pub fn node<'env>(
    cluster: &meshspec::Cluster,
    n: &meshspec::cluster::Node,
    files: Unknown<'env>,
) -> Node<'env> {
    let entries = config_entries(cluster, n);
    let config = entries
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect::<serde_json::Map<_, _>>();
    Node {
        name: n.name.clone(),
        role: if n.is_server() {
            Role::Server
        } else {
            Role::Agent
        },
        site: n.site.clone(),
        init: n.init,
        gpu: n.gpu,
        mesh_ip: texts(&n.mesh_ips),
        lan_ip: texts(&n.lan_ips),
        node_ip: texts(&n.node_ips),
        advertise_address: n.advertise_address.map(|a| a.to_string()),
        tls_san: n.tls_san.clone(),
        flannel_iface: n.flannel_iface.clone(),
        pod_cidr: texts(&n.pod_cidrs),
        labels: n.labels.clone(),
        taints: n.taints.clone(),
        config: serde_json::Value::Object(config),
        config_entries: entries
            .into_iter()
            .map(|e| ConfigEntry {
                key: e.key,
                value: e.value,
                origin: e.origin,
            })
            .collect(),
        files,
    }
}

/// A rule code from the registry.
#[napi(object, object_from_js = false)]
pub struct CodeInfo {
    /// The code, e.g. `MS101`.
    pub code: String,
    /// The stable slug, e.g. `pod-service-overlap`.
    pub slug: String,
    /// The severity the rule reports at.
    pub severity: Severity,
    /// When the rule fires, in one line.
    pub summary: String,
}

impl From<meshspec::Code> for CodeInfo {
    fn from(c: meshspec::Code) -> Self {
        Self {
            code: c.as_str().to_owned(),
            slug: c.slug().to_owned(),
            severity: c.default_severity().into(),
            summary: c.summary().to_owned(),
        }
    }
}

/// Options for reading a spec.
#[napi(object, object_to_js = false)]
pub struct LoadOptions {
    /// The spec's name, shown in diagnostics (`--> cluster.yaml:7:17`); generated files never
    /// name the spec. Defaults to `spec.yaml`.
    pub name: Option<String>,
}

/// One level of a node's encapsulation stack.
#[napi(object, object_from_js = false)]
pub struct MtuLayer {
    /// What the layer is, e.g. `tailscale0 (tailscale)`.
    pub name: String,
    /// The largest packet this layer carries, in bytes.
    pub mtu: u32,
    /// Bytes this layer adds around each packet it hands to the layer below.
    pub overhead: u32,
    /// A remark shown after the layer (empty for none).
    pub note: String,
}

/// A layer whose packets do not fit the layer below.
#[napi(object, object_from_js = false)]
pub struct MtuViolation {
    /// Name of the offending layer.
    pub layer: String,
    /// Name of the layer below it.
    pub below: String,
    /// The largest packet the layer hands down (`mtu + overhead`).
    pub packet: u32,
    /// The MTU of the layer below.
    pub below_mtu: u32,
    /// How many bytes too many.
    pub excess: u32,
}

/// A node's encapsulation stack from the underlay (first layer) to the pods (last layer).
#[napi(object, object_from_js = false)]
pub struct MtuStack {
    /// The underlay's MTU.
    pub underlay_mtu: u32,
    /// The MTU pods get.
    pub pod_mtu: u32,
    /// Everything the stack adds above the underlay.
    pub total_overhead: u32,
    /// The layers, underlay first.
    pub layers: Vec<MtuLayer>,
    /// Layers whose packets do not fit the layer below (empty when the stack is sound).
    pub violations: Vec<MtuViolation>,
    /// The stack as the CLI prints it, one line per layer.
    pub table: String,
}

impl From<&meshspec::mtu::Stack> for MtuStack {
    fn from(s: &meshspec::mtu::Stack) -> Self {
        Self {
            underlay_mtu: s.underlay_mtu(),
            pod_mtu: s.pod_mtu(),
            total_overhead: s.total_overhead(),
            layers: s
                .layers()
                .iter()
                .map(|l| MtuLayer {
                    name: l.name.clone(),
                    mtu: l.mtu,
                    overhead: l.overhead,
                    note: l.note.clone(),
                })
                .collect(),
            violations: s
                .violations()
                .into_iter()
                .map(|v| MtuViolation {
                    layer: v.layer,
                    below: v.below,
                    packet: v.packet,
                    below_mtu: v.below_mtu,
                    excess: v.excess,
                })
                .collect(),
            table: s.to_string(),
        }
    }
}

/// The MTUs of a cluster: the smallest pod MTU and every node's stack.
#[napi(object, object_from_js = false)]
pub struct Mtu {
    /// The smallest pod MTU over all nodes (what a no-fragment test must use).
    pub pod_mtu: u32,
    /// Each node's stack, keyed by node name.
    pub nodes: BTreeMap<String, MtuStack>,
}

/// Converts the cluster's MTU view.
pub fn mtu(c: &meshspec::Cluster) -> Mtu {
    Mtu {
        pod_mtu: c.pod_mtu(),
        nodes: c
            .nodes
            .iter()
            .map(|n| (n.name.clone(), MtuStack::from(&c.mtu_stack(n))))
            .collect(),
    }
}

/// The question for the stand-alone MTU calculator; every field is optional.
#[napi(object)]
pub struct MtuOptions {
    /// The underlay's MTU (default 1500).
    pub underlay: Option<u32>,
    /// `tailscale` (default), `headscale`, `netbird`, `wireguard`, or `none` for no mesh.
    pub mesh: Option<String>,
    /// The mesh interface's MTU (default: the provider's, e.g. 1280 for Tailscale).
    pub mesh_mtu: Option<u32>,
    /// `vxlan` (default), `geneve`, or `none`.
    pub tunnel: Option<String>,
    /// The underlay's family under the mesh: `ipv6` (default, the worst case) or `ipv4`.
    pub outer: Option<String>,
}

/// The core's calculator question from JavaScript options; a bad word is an `InvalidArg` error.
pub fn mtu_query(o: MtuOptions) -> napi::Result<meshspec::mtu::Query> {
    meshspec::spec::mtu_query(
        o.underlay.unwrap_or(meshspec::mtu::ETHERNET_MTU),
        Some(o.mesh.as_deref().unwrap_or("tailscale")),
        o.mesh_mtu,
        Some(o.tunnel.as_deref().unwrap_or("vxlan")),
        o.outer.as_deref().unwrap_or("ipv6"),
    )
    .map_err(|e| napi::Error::new(napi::Status::InvalidArg, e.to_string()))
}
