//! From merged configs (and live nodes, and Cilium values) to a first spec, with a TODO for
//! everything that cannot be known.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use super::{ImportNode, Todo};
use crate::cidr::Cidr;
use crate::k3s::flags;
use crate::lint::merge::{Merged, items};
use crate::live::LiveNode;
use crate::spec::{
    CiliumIpam, CiliumMtu, CiliumSpec, CniPlugin, CniSpec, EtcdSnapshotsSpec, FlannelBackend,
    FlannelSpec, K3sSpec, Keyword, MeshSpec, NetworkSpec, NodeCidrMask, NodeSpec, Provider, Role,
    SiteSpec, Spec, TunnelProtocol, VpnAuthSpec,
};

/// A node being imported: its merged config and its live record.
pub(super) struct Source<'a> {
    pub name: String,
    pub role: Role,
    pub merged: Merged,
    pub live: Option<&'a LiveNode>,
}

impl Source<'_> {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.merged.get(key).map(|e| &e.value)
    }

    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key).map(|v| items(key, v)).unwrap_or_default()
    }

    fn ips(&self, key: &str) -> Vec<IpAddr> {
        self.list(key)
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect()
    }

    fn live_arg(&self, key: &str) -> Vec<String> {
        self.live
            .map(|l| {
                l.node_args()
                    .into_iter()
                    .filter(|(k, _)| k == key)
                    .flat_map(|(_, v)| {
                        v.split(',')
                            .map(|s| s.trim().to_owned())
                            .collect::<Vec<_>>()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn truthy(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true))) || v.and_then(Value::as_str) == Some("true")
}

/// The role from `NAME=server:PATH`, else the config (`cluster-init` or a server-only key),
/// else the live node's control-plane label, else agent.
pub(super) fn role(n: &ImportNode, merged: &Merged, live: Option<&LiveNode>) -> Role {
    if let Some(r) = n.role {
        return r;
    }
    let table = flags::table();
    let server_key = merged.entries.iter().any(|e| {
        table.get(&e.key).is_some_and(|f| f.server_only())
            && (e.key != "cluster-init" || truthy(Some(&e.value)))
    });
    if server_key || live.is_some_and(LiveNode::is_control_plane) {
        Role::Server
    } else {
        Role::Agent
    }
}

fn cidrs(list: &[String]) -> Vec<Cidr> {
    list.iter().filter_map(|s| s.parse().ok()).collect()
}

/// Which mesh the configs use, from `flannel-iface` (or `vpn-auth-file`).
fn mesh(nodes: &[Source<'_>], todos: &mut Vec<Todo>) -> MeshSpec {
    let mut m = MeshSpec::default();
    let iface = nodes
        .iter()
        .find_map(|n| n.list("flannel-iface").into_iter().next());
    if let Some(i) = &iface {
        let provider = if i.starts_with("tailscale") {
            Some(Provider::Tailscale)
        } else if i.starts_with("wt") {
            Some(Provider::Netbird)
        } else if i.starts_with("wg") {
            Some(Provider::Wireguard)
        } else {
            None
        };
        match provider {
            Some(p) => {
                if p != Provider::Tailscale {
                    m.provider = Some(p);
                }
                let default_iface = match p {
                    Provider::Tailscale | Provider::Headscale => "tailscale0",
                    Provider::Netbird => "wt0",
                    Provider::Wireguard => "wg0",
                };
                if i != default_iface {
                    m.interface = Some(i.clone());
                }
                if p == Provider::Wireguard {
                    todos.push(Todo::new("mesh.ipv4_range", "a WireGuard mesh's address range is not in any k3s config; meshspec assumed 100.64.0.0/10 (and fd7a:115c:a1e0::/48): set the range your peers use"));
                    m.ipv4_range = "100.64.0.0/10".parse().ok();
                }
            }
            None => {
                m.interface = Some(i.clone());
                todos.push(Todo::new("mesh.provider", format!("flannel uses `{i}`, which is no mesh meshspec knows by its interface name: set `mesh.provider` (tailscale, headscale, netbird, wireguard)")));
            }
        }
    } else {
        todos.push(Todo::new("mesh", "no config names a mesh interface (`flannel-iface`): meshspec assumed Tailscale; set `mesh.provider` if the nodes use another mesh"));
    }
    if let Some(f) = nodes
        .iter()
        .find_map(|n| n.list("vpn-auth-file").into_iter().next())
    {
        m.k3s_vpn_auth = Some(VpnAuthSpec { key_file: f });
    }
    if nodes.iter().any(|n| n.get("vpn-auth").is_some()) {
        todos.push(Todo::new("mesh.k3s_vpn_auth", "a config holds `vpn-auth` inline (a secret): meshspec never copies it; write it to a file (mode 0600) and set `mesh.k3s_vpn_auth.key_file`"));
    }
    m
}

fn mesh_ranges(m: &MeshSpec) -> Vec<Cidr> {
    let mut out = Vec::new();
    out.extend(m.ipv4_range.or_else(|| "100.64.0.0/10".parse().ok()));
    out.extend(m.ipv6_range.or_else(|| "fd7a:115c:a1e0::/48".parse().ok()));
    out
}

fn push_unique(v: &mut Vec<IpAddr>, ip: IpAddr) {
    if !v.contains(&ip) && !v.iter().any(|x| x.is_ipv4() == ip.is_ipv4()) {
        v.push(ip);
    }
}

fn network(first: Option<&Source<'_>>) -> NetworkSpec {
    let Some(s) = first else {
        return NetworkSpec::default();
    };
    let mut n = NetworkSpec {
        cluster_cidr: cidrs(&s.list("cluster-cidr")),
        service_cidr: cidrs(&s.list("service-cidr")),
        cluster_dns: s.ips("cluster-dns"),
        cluster_domain: s.list("cluster-domain").into_iter().next(),
        node_cidr_mask: None,
    };
    let (mut v4, mut v6) = (None, None);
    for arg in s.list("kube-controller-manager-arg") {
        let arg = arg.trim_start_matches('-');
        if let Some((k, val)) = arg.split_once('=') {
            let val = val.parse::<u8>().ok();
            match k {
                "node-cidr-mask-size-ipv4" | "node-cidr-mask-size" => v4 = val,
                "node-cidr-mask-size-ipv6" => v6 = val,
                _ => {}
            }
        }
    }
    let dual = n.cluster_cidr.len() > 1;
    n.node_cidr_mask = match (v4, v6) {
        (None, None) => None,
        (Some(a), None) if !dual => Some(NodeCidrMask::Single(a)),
        (a, b) => Some(NodeCidrMask::PerFamily { ipv4: a, ipv6: b }),
    };
    n
}

fn cni(
    first: Option<&Source<'_>>,
    cilium_values: Option<&Value>,
    todos: &mut Vec<Todo>,
) -> CniSpec {
    let backend = first.and_then(|s| s.list("flannel-backend").into_iter().next());
    if backend.as_deref() != Some("none") {
        let b = backend
            .as_deref()
            .map(|b| FlannelBackend::from_word(b).ok_or(b));
        return match b {
            None => CniSpec {
                plugin: Some(CniPlugin::Flannel),
                ..CniSpec::default()
            },
            Some(Ok(b)) => CniSpec {
                plugin: Some(CniPlugin::Flannel),
                flannel: Some(FlannelSpec { backend: Some(b) }),
                cilium: None,
            },
            Some(Err(other)) => {
                todos.push(Todo::new("cni.flannel.backend", format!("flannel backend `{other}` is not one meshspec renders (vxlan, wireguard-native, host-gw); it is kept in `k3s.server_extra`")));
                CniSpec {
                    plugin: Some(CniPlugin::Flannel),
                    ..CniSpec::default()
                }
            }
        };
    }
    let kpr = first.is_some_and(|s| truthy(s.get("disable-kube-proxy")));
    let mut c = CiliumSpec {
        kube_proxy_replacement: kpr.then_some(true),
        ..CiliumSpec::default()
    };
    todos.push(Todo::new("cni.cilium.version", "the Cilium chart line is in no config: meshspec writes values for the newest line; set the one `helm list -n kube-system` shows (1.18, 1.19 or 1.20)"));
    match cilium_values.and_then(Value::as_object) {
        None => todos.push(Todo::new("cni.cilium", "`flannel-backend: none`: the CNI is taken to be Cilium with meshspec's defaults; pass `--cilium-values` to import its settings")),
        Some(values) => {
            let mut rest = values.clone();
            if let Some(t) = rest.remove("tunnelProtocol").and_then(|v| v.as_str().and_then(TunnelProtocol::from_word)) {
                c.tunnel_protocol = Some(t);
            }
            ipam(&mut c, &mut rest, todos);
            if let Some(b) = rest.remove("kubeProxyReplacement") {
                c.kube_proxy_replacement = Some(b == Value::Bool(true) || b.as_str() == Some("true"));
            }
            if let Some(m) = rest.get("MTU").and_then(Value::as_u64).and_then(|m| u32::try_from(m).ok()) {
                c.mtu = Some(CiliumMtu::Fixed(m));
                rest.remove("MTU");
            }
            if let Some(Value::Bool(b)) = rest.remove("enableIPv4Masquerade") {
                c.masquerade = Some(b);
            }
            // settings meshspec writes itself from the fields above
            for k in ["routingMode", "autoDirectNodeRoutes", "tunnelPort"] {
                if rest.get(k).is_some_and(|v| {
                    matches!((k, v), ("routingMode", Value::String(s)) if s == "tunnel")
                        || matches!((k, v), ("autoDirectNodeRoutes", Value::Bool(false)))
                }) {
                    rest.remove(k);
                }
            }
            if let Some(p) = rest.remove("tunnelPort").and_then(|v| v.as_u64()).and_then(|p| u16::try_from(p).ok()) {
                c.tunnel_port = Some(p);
            }
            c.values = rest.into_iter().collect();
        }
    }
    CniSpec {
        plugin: Some(CniPlugin::Cilium),
        cilium: Some(c),
        flannel: None,
    }
}

/// The chart's own default of a dotted values key (the newest line; the IPAM defaults are the
/// same on every supported line: `cluster-pool`, `10.0.0.0/8`).
fn chart_default(key: &str) -> Option<&'static Value> {
    crate::cilium::chart_default(crate::cilium::ChartLine::newest(), key)
}

/// The running cluster's IPAM, kept as it is: Cilium's docs say not to change the IPAM mode of
/// an existing cluster (pods keep their addresses, new ones come from another allocator).
/// Without `ipam.mode` the chart's default applies, `cluster-pool` (the chart's configmap
/// template reads `.Values.ipam.mode`; meshspec's vendored defaults agree), and without a pool
/// list its `10.0.0.0/8`, which overlaps k3s's service network: MS703 then says so, and a TODO
/// explains the choice.
fn ipam(c: &mut CiliumSpec, rest: &mut serde_json::Map<String, Value>, todos: &mut Vec<Todo>) {
    let given = rest.get("ipam").and_then(Value::as_object).cloned();
    let mode = given
        .as_ref()
        .and_then(|i| i.get("mode"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let default_mode = chart_default("ipam.mode").and_then(Value::as_str);
    let effective = mode.as_deref().or(default_mode);
    match effective {
        Some("kubernetes") => {
            c.ipam = Some(CiliumIpam::Kubernetes);
            rest.remove("ipam");
        }
        Some("cluster-pool") => {
            c.ipam = Some(CiliumIpam::ClusterPool);
            let list = given
                .as_ref()
                .and_then(|i| i.get("operator"))
                .and_then(|o| o.get("clusterPoolIPv4PodCIDRList"));
            let pool = list
                .and_then(|l| l.get(0).or(Some(l)))
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            c.cluster_pool_cidr = pool.or_else(|| {
                chart_default("ipam.operator.clusterPoolIPv4PodCIDRList")
                    .and_then(|l| l.get(0))
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
            });
            if mode.is_none() || list.is_none() {
                let pool = c
                    .cluster_pool_cidr
                    .map_or_else(|| "10.0.0.0/8".to_owned(), |p| p.to_string());
                let what = if mode.is_none() {
                    "the values set no `ipam.mode`"
                } else {
                    "the values set no `ipam.operator.clusterPoolIPv4PodCIDRList`"
                };
                todos.push(Todo::new("cni.cilium.cluster_pool_cidr", format!("{what}: the cluster runs the chart's default, `cluster-pool` with `{pool}`, and meshspec keeps it (Cilium: never change the IPAM mode of a running cluster). If `{pool}` overlaps the service or a site network (MS703), the pods' addresses already collide there: plan a new pool (a new cluster, or Cilium's documented pool migration) rather than switching the mode in place")));
            }
            rest.remove("ipam");
        }
        Some(other) => {
            // kept in `values` as written; meshspec's own `ipam` must not replace it
            todos.push(Todo::new("cni.cilium.ipam", format!("Cilium IPAM mode `{other}` is not one meshspec renders (kubernetes, cluster-pool): the values keep it, and `ipam` in the rendered values is this cluster's; check `cluster/cilium-values.yaml` before upgrading")));
        }
        None => {}
    }
}

/// Every difference between the values file the cluster runs with and the one meshspec renders
/// from the imported spec, as TODOs at `cni.cilium.values`: keys added, values changed, keys
/// dropped (dotted Helm paths; lists compare whole).
pub(super) fn values_changes(input: &Value, rendered: &Value) -> Vec<Todo> {
    fn leaves(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(&p, x, out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), other.clone());
            }
        }
    }
    let (mut before, mut after) = (BTreeMap::new(), BTreeMap::new());
    leaves("", input, &mut before);
    leaves("", rendered, &mut after);
    let show = |v: &Value| crate::render::line::one_line(&v.to_string()).into_owned();
    let mut out = Vec::new();
    for (k, new) in &after {
        match before.get(k) {
            None => out.push(Todo::new(
                "cni.cilium.values",
                format!("the rendered values add `{k}: {}`", show(new)),
            )),
            Some(old) if old != new => out.push(Todo::new(
                "cni.cilium.values",
                format!(
                    "the rendered values change `{k}` from {} to {}",
                    show(old),
                    show(new)
                ),
            )),
            Some(_) => {}
        }
    }
    for (k, old) in &before {
        if !after.contains_key(k) {
            out.push(Todo::new(
                "cni.cilium.values",
                format!("the rendered values drop `{k}` (was {})", show(old)),
            ));
        }
    }
    out
}

fn k3s(nodes: &[Source<'_>], first: Option<&Source<'_>>, todos: &mut Vec<Todo>) -> K3sSpec {
    let mut k = K3sSpec::default();
    let url = nodes
        .iter()
        .find_map(|n| n.list("server").into_iter().next())
        .or_else(|| {
            nodes
                .iter()
                .find_map(|n| n.live_arg("server").into_iter().next())
        })
        .or_else(|| {
            nodes
                .iter()
                .find_map(|n| n.live.and_then(|l| l.node_env().get("K3S_URL").cloned()))
        });
    match url {
        Some(u) => k.server_url = Some(u),
        None if nodes.len() > 1 => todos.push(Todo::new("k3s.server_url", "no config, node-args or K3S_URL names the server URL (agents joined with K3S_URL in their environment?): meshspec uses https://<first server's mesh IP>:6443; set it if the agents use another")),
        None => {}
    }
    if let Some(s) = first {
        k.disable = s.list("disable");
        k.write_kubeconfig_mode = s.list("write-kubeconfig-mode").into_iter().next();
        let snap = EtcdSnapshotsSpec {
            dir: s.list("etcd-snapshot-dir").into_iter().next(),
            schedule: s.list("etcd-snapshot-schedule-cron").into_iter().next(),
            retention: s
                .list("etcd-snapshot-retention")
                .first()
                .and_then(|r| r.parse().ok()),
        };
        if snap != EtcdSnapshotsSpec::default() {
            k.etcd_snapshots = Some(snap);
        }
    }
    if let Some(f) = nodes
        .iter()
        .find_map(|n| n.list("token-file").into_iter().next())
        && f != crate::cluster::DEFAULT_TOKEN_FILE
    {
        k.token_file = Some(f);
    }
    if nodes
        .iter()
        .any(|n| n.get("token").is_some() || n.get("agent-token").is_some())
    {
        todos.push(Todo::new("k3s.token_file", format!("a config holds the join token inline; meshspec never copies it: write it to `{}` (mode 0600) on every node, the rendered configs read it with `token-file`", k.token_file.as_deref().unwrap_or(crate::cluster::DEFAULT_TOKEN_FILE))));
    }
    let versions: Vec<&str> = nodes
        .iter()
        .filter_map(|n| n.live.and_then(|l| l.kubelet_version.as_deref()))
        .collect();
    match versions.first() {
        Some(v) if versions.iter().all(|x| x == v) => k.version = Some((*v).to_owned()),
        Some(_) => todos.push(Todo::new("k3s.version", format!("the nodes run different versions ({}): pin the one every node should run", {
            let mut u = versions.clone();
            u.sort_unstable();
            u.dedup();
            u.join(", ")
        }))),
        None => todos.push(Todo::new("k3s.version", "no live data: pin the k3s version the cluster runs (`kubectl get nodes` shows it), or install.sh takes the stable channel of the day")),
    }
    k
}

/// Labels a user (not the kubelet, k3s or a controller) would have put on the node.
fn user_label(key: &str) -> bool {
    let ns = key.split_once('/').map_or("", |(ns, _)| ns);
    !["kubernetes.io", "k8s.io", "k3s.io", "cattle.io"]
        .iter()
        .any(|d| ns == *d || ns.ends_with(&format!(".{d}")))
}

fn node_spec(
    s: &Source<'_>,
    init: bool,
    url_host: Option<IpAddr>,
    ranges: &[Cidr],
    todos: &mut Vec<Todo>,
    index: usize,
) -> NodeSpec {
    let in_mesh = |ip: &IpAddr| ranges.iter().any(|r| r.contains_addr(*ip));
    let np = format!("nodes[{index}]");
    let mut node_ips = s.ips("node-ip");
    if node_ips.is_empty() {
        node_ips = s
            .live_arg("node-ip")
            .iter()
            .filter_map(|x| x.parse().ok())
            .collect();
    }
    let mut candidates: Vec<IpAddr> = node_ips.clone();
    candidates.extend(s.ips("advertise-address"));
    candidates.extend(s.ips("node-external-ip"));
    if let Some(l) = s.live {
        candidates.extend(l.internal_ips.iter().copied());
        candidates.extend(l.flannel_public_ip().and_then(|p| p.parse::<IpAddr>().ok()));
    }
    candidates.extend(
        s.ips("tls-san")
            .into_iter()
            .filter(|ip| init || Some(*ip) != url_host),
    );
    let (mut mesh, mut lan) = (Vec::new(), Vec::new());
    for ip in candidates {
        if in_mesh(&ip) {
            push_unique(&mut mesh, ip);
        } else {
            push_unique(&mut lan, ip);
        }
    }
    if mesh.is_empty() && s.get("vpn-auth-file").is_none() && s.get("vpn-auth").is_none() {
        todos.push(Todo::new(
            format!("{np}.mesh_ip"),
            format!(
                "`{}`'s mesh address is in neither its config nor the live data: add `mesh_ip`",
                s.name
            ),
        ));
    }
    if lan.is_empty() {
        todos.push(Todo::new(format!("{np}.lan_ip"), format!("`{}`'s LAN address is in neither its config nor the live data: add `lan_ip` and `site` if it sits on a LAN (firewall rules and NO_PROXY use them)", s.name)));
    }
    let mut labels = BTreeMap::new();
    for l in s.list("node-label") {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        labels.insert(k.to_owned(), v.to_owned());
    }
    let mut taints = s.list("node-taint");
    let mut pod_cidr = Vec::new();
    if let Some(l) = s.live {
        let mut taken = Vec::new();
        for (k, v) in &l.labels {
            if user_label(k) && !labels.contains_key(k) {
                labels.insert(k.clone(), v.clone());
                taken.push(format!("{k}={v}"));
            }
        }
        for t in &l.taints {
            let key = t.split([':', '=']).next().unwrap_or(t);
            if user_label(key) && !taints.contains(t) {
                taints.push(t.clone());
                taken.push(t.clone());
            }
        }
        if !taken.is_empty() {
            todos.push(Todo::new(
                format!("{np}.labels"),
                format!(
                    "taken over from the live node `{}`: {}; remove any a controller (not you) set",
                    s.name,
                    taken.join(", ")
                ),
            ));
        }
        pod_cidr = cidrs(&l.pod_cidrs);
    }
    NodeSpec {
        name: s.name.clone(),
        role: s.role,
        site: None,
        lan_ip: lan,
        mesh_ip: mesh,
        node_ip: None,
        pod_cidr,
        labels,
        taints,
        gpu: None,
        public_endpoint: None,
        proxy: None,
        wireguard: None,
    }
}

/// Groups LAN addresses into sites: one per /24 (IPv4) or /64 (IPv6).
fn sites(nodes: &mut [NodeSpec], todos: &mut Vec<Todo>) -> Vec<SiteSpec> {
    let mut sites: Vec<SiteSpec> = Vec::new();
    for n in nodes.iter_mut() {
        let Some(ip) = n.lan_ip.first().copied() else {
            continue;
        };
        let prefix = if ip.is_ipv4() { 24 } else { 64 };
        let Some(subnet) = Cidr::truncated(ip, prefix) else {
            continue;
        };
        let name = match sites.iter().find(|s| s.subnets.contains(&subnet)) {
            Some(s) => s.name.clone(),
            None => {
                let name = format!("site-{}", sites.len() + 1);
                todos.push(Todo::new(format!("sites[{}]", sites.len()), format!("`{name}` with subnet `{subnet}` is inferred from the LAN address of `{}`: name it and set the real prefix", n.name)));
                sites.push(SiteSpec {
                    name: name.clone(),
                    subnets: vec![subnet],
                    mtu: None,
                    nat: None,
                    proxy: None,
                });
                name
            }
        };
        n.site = Some(name);
    }
    sites
}

/// The first spec, before fitting `node_ip` and the extras.
pub(super) fn spec(
    name: &str,
    nodes: &[Source<'_>],
    cilium_values: Option<&Value>,
    wgs: &[super::WgNode],
    todos: &mut Vec<Todo>,
) -> Spec {
    let init_index = nodes
        .iter()
        .position(|n| n.role == Role::Server && truthy(n.get("cluster-init")))
        .or_else(|| nodes.iter().position(|n| n.role == Role::Server));
    let first = init_index.and_then(|i| nodes.get(i));
    let mut mesh = mesh(nodes, todos);
    if !wgs.is_empty() {
        let named = nodes.iter().any(|n| n.get("flannel-iface").is_some());
        wireguard_mesh(&mut mesh, named, wgs, todos);
    }
    // a tls-san name `<node>.<suffix>` is the mesh's DNS suffix (MagicDNS)
    mesh.dns_suffix = nodes.iter().find_map(|n| {
        n.list("tls-san")
            .into_iter()
            .find_map(|san| san.strip_prefix(&format!("{}.", n.name)).map(str::to_owned))
            .filter(|suffix| suffix.contains('.'))
    });
    let ranges = mesh_ranges(&mesh);
    let k3s = k3s(nodes, first, todos);
    let url_host: Option<IpAddr> = k3s.server_url.as_deref().and_then(|u| {
        let host = u.split("://").nth(1)?.split('/').next()?;
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        host.trim_matches(['[', ']']).parse().ok()
    });
    // the init server first, then the others in the order given
    let mut order: Vec<usize> = init_index.into_iter().collect();
    order.extend((0..nodes.len()).filter(|i| Some(*i) != init_index));
    let mut specs: Vec<NodeSpec> = order
        .iter()
        .enumerate()
        .filter_map(|(pos, &i)| {
            let s = nodes.get(i)?;
            Some(node_spec(
                s,
                Some(i) == init_index,
                url_host,
                &ranges,
                todos,
                pos,
            ))
        })
        .collect();
    if !wgs.is_empty() {
        wireguard_nodes(&mut specs, &mesh, wgs, todos);
    }
    let sites = sites(&mut specs, todos);
    Spec {
        version: crate::spec::SPEC_VERSION,
        name: name.to_owned(),
        network: network(first),
        mesh,
        sites,
        cni: cni(first, cilium_values, todos),
        k3s,
        proxy: None,
        acknowledge: Vec::new(),
        nodes: specs,
    }
}

/// `mesh:` from the nodes' `wg-quick` configs: plain WireGuard that meshspec manages, the
/// interface from the file name (when no `flannel-iface` names it), the range from the `Address` prefixes, the listen port.
fn wireguard_mesh(
    m: &mut MeshSpec,
    iface_named: bool,
    wgs: &[super::WgNode],
    todos: &mut Vec<Todo>,
) {
    m.provider = Some(Provider::Wireguard);
    todos.retain(|t| t.path != "mesh" && t.path != "mesh.ipv4_range");
    // a k3s config's `flannel-iface` names the interface; else the file name `<iface>.conf`
    if !iface_named {
        let stem = wgs.iter().find_map(|w| {
            let base = w.file.rsplit('/').next().unwrap_or(&w.file);
            base.strip_suffix(".conf")
                .filter(|s| crate::spec::grammar::interface(s).is_ok())
                .map(str::to_owned)
        });
        m.interface = stem.filter(|s| s != "wg0");
    }
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for w in wgs {
        for &(ip, p) in &w.conf.addresses {
            if let Some(c) = super::wg::network(ip, p) {
                let v = if ip.is_ipv4() { &mut v4 } else { &mut v6 };
                if !v.contains(&c) {
                    v.push(c);
                }
            }
        }
    }
    for (v, field) in [(&v4, "mesh.ipv4_range"), (&v6, "mesh.ipv6_range")] {
        match v.as_slice() {
            [] => {}
            [one] => {
                if field == "mesh.ipv4_range" {
                    m.ipv4_range = Some(*one);
                } else {
                    m.ipv6_range = Some(*one);
                }
            }
            many => {
                let l: Vec<String> = many.iter().map(ToString::to_string).collect();
                todos.push(Todo::new(field, format!("the WireGuard configs' `Address` lines lie in different networks ({}): set the range that holds every node's address", l.join(", "))));
                if field == "mesh.ipv4_range" {
                    m.ipv4_range = many.first().copied();
                } else {
                    m.ipv6_range = many.first().copied();
                }
            }
        }
    }
    if v4.is_empty() {
        let assumed = m
            .ipv4_range
            .map_or_else(|| "none".to_owned(), |r| format!("`{r}` is assumed"));
        todos.push(Todo::new("mesh.ipv4_range", format!("no WireGuard config has an IPv4 `Address` ({assumed}): set the range your peers use")));
    }
    let mut ports: Vec<u16> = wgs.iter().filter_map(|w| w.conf.listen_port).collect();
    ports.sort_unstable();
    ports.dedup();
    let listen_port = match ports.as_slice() {
        [] | [51820] => None,
        [one] => Some(*one),
        many => {
            let l: Vec<String> = many.iter().map(ToString::to_string).collect();
            todos.push(Todo::new("mesh.wireguard.listen_port", format!("the WireGuard configs listen on different ports ({}); meshspec gives every node one port: choose it", l.join(", "))));
            many.first().copied().filter(|p| *p != 51820)
        }
    };
    let mut keepalives: Vec<u16> = wgs
        .iter()
        .flat_map(|w| w.conf.peers.iter().filter_map(|p| p.keepalive))
        .filter(|k| *k != 0)
        .collect();
    keepalives.sort_unstable();
    keepalives.dedup();
    let keepalive = match keepalives.as_slice() {
        [one] if *one != 25 => Some(*one),
        _ => None,
    };
    m.wireguard = Some(crate::spec::WireguardSpec {
        manage: Some(true),
        listen_port,
        keepalive,
        relays: None,
    });
    for w in wgs {
        if w.conf.had_secret {
            todos.push(Todo::new("mesh.wireguard", format!("`{}`'s {} holds a private (or preshared) key: it was not copied and stays on the node; before installing the rendered config (its PostUp loads the key from a file), write it to {} on that node, mode 0600, or install.sh makes a new key and the peers' public keys no longer match", crate::render::line::one_line(&w.node), crate::render::line::one_line(&w.file), crate::render::wgquick::key_path(m.interface.as_deref().unwrap_or("wg0")))));
        }
        for (line, key) in &w.conf.unknown {
            todos.push(Todo::new(
                "mesh.wireguard",
                format!(
                    "{}:{line}: `{key}` is no wg-quick key: ignored",
                    crate::render::line::one_line(&w.file)
                ),
            ));
        }
    }
}

/// Which node each `[Peer]` is: `owner[file][peer]`. A peer routing one node's mesh address as
/// a host route is that node; a peer routing several (a relay, which carries the nodes behind
/// it) is the one of them whose key no single-node peer gives another node.
fn peer_owners(specs: &[NodeSpec], wgs: &[super::WgNode]) -> Vec<Vec<Option<usize>>> {
    let candidates = |w: &super::WgNode, p: &super::wg::Peer| -> Vec<usize> {
        specs
            .iter()
            .enumerate()
            .filter(|(_, n)| n.name != w.node)
            .filter(|(_, n)| {
                p.allowed_ips.iter().any(|&(ip, prefix)| {
                    prefix == if ip.is_ipv4() { 32 } else { 128 } && n.mesh_ip.contains(&ip)
                })
            })
            .map(|(i, _)| i)
            .collect()
    };
    let mut owners: Vec<Vec<Option<usize>>> = wgs
        .iter()
        .map(|w| {
            w.conf
                .peers
                .iter()
                .map(|p| match candidates(w, p).as_slice() {
                    [one] => Some(*one),
                    _ => None,
                })
                .collect()
        })
        .collect();
    // the keys single-node peers give each node
    let mut known: Vec<Vec<&str>> = vec![Vec::new(); specs.len()];
    for (w, o) in wgs.iter().zip(&owners) {
        for (p, o) in w.conf.peers.iter().zip(o) {
            if let (Some(i), Some(k)) = (o, &p.public_key)
                && let Some(v) = known.get_mut(*i)
            {
                v.push(k);
            }
        }
    }
    for (w, o) in wgs.iter().zip(owners.iter_mut()) {
        for (p, o) in w.conf.peers.iter().zip(o.iter_mut()) {
            if o.is_some() {
                continue;
            }
            let Some(k) = p.public_key.as_deref() else {
                continue;
            };
            let left: Vec<usize> = candidates(w, p)
                .into_iter()
                .filter(|&i| {
                    known.get(i).is_some_and(|v| v.is_empty() || v.contains(&k))
                        && !known
                            .iter()
                            .enumerate()
                            .any(|(j, v)| j != i && v.contains(&k))
                })
                .collect();
            if let [one] = left.as_slice() {
                *o = Some(*one);
            }
        }
    }
    owners
}

/// An address no site of any node could hold publicly: private, CGNAT, ULA, link-local.
fn private_addr(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            v.is_private()
                || v.is_link_local()
                || v.is_loopback()
                || (v.octets()[0] == 100 && (v.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v) => {
            (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
                || v.is_loopback()
        }
    }
}

/// Each node's mesh address (from its own `Address` when the k3s config shows none), public
/// key, LAN address (a private peer endpoint, when no config shows one) and public endpoint
/// (any other peer endpoint), from the other nodes' `[Peer]` entries that are this node.
fn wireguard_nodes(
    specs: &mut [NodeSpec],
    mesh: &MeshSpec,
    wgs: &[super::WgNode],
    todos: &mut Vec<Todo>,
) {
    let iface = mesh.interface.as_deref().unwrap_or("wg0");
    for (i, n) in specs.iter_mut().enumerate() {
        if n.mesh_ip.is_empty() {
            for w in wgs.iter().filter(|w| w.node == n.name) {
                for &(ip, _) in &w.conf.addresses {
                    push_unique(&mut n.mesh_ip, ip);
                }
            }
            if !n.mesh_ip.is_empty() {
                let path = format!("nodes[{i}].mesh_ip");
                todos.retain(|t| t.path != path);
            }
        }
    }
    let owners = peer_owners(specs, wgs);
    for (i, n) in specs.iter_mut().enumerate() {
        let np = format!("nodes[{i}]");
        let mut keys: Vec<&str> = Vec::new();
        let mut endpoints: Vec<crate::wireguard::endpoint::Endpoint> = Vec::new();
        let mut lan: Vec<IpAddr> = Vec::new();
        for (w, o) in wgs.iter().zip(&owners) {
            for (p, o) in w.conf.peers.iter().zip(o) {
                if *o != Some(i) {
                    continue;
                }
                if let Some(k) = &p.public_key
                    && !keys.contains(&k.as_str())
                {
                    keys.push(k);
                }
                let Some(e) = p
                    .endpoint
                    .as_deref()
                    .and_then(|e| e.parse::<crate::wireguard::endpoint::Endpoint>().ok())
                else {
                    continue;
                };
                match &e.host {
                    crate::netaddr::Host::Ip(ip) if n.lan_ip.contains(ip) => {}
                    crate::netaddr::Host::Ip(ip) if private_addr(*ip) => push_unique(&mut lan, *ip),
                    _ => {
                        if !endpoints.contains(&e) {
                            endpoints.push(e);
                        }
                    }
                }
            }
        }
        if n.lan_ip.is_empty() && !lan.is_empty() {
            let path = format!("{np}.lan_ip");
            todos.retain(|t| t.path != path);
            if lan.len() > 1 {
                let l: Vec<String> = lan.iter().map(ToString::to_string).collect();
                todos.push(Todo::new(path, format!("the other nodes' WireGuard configs reach `{}` at several LAN addresses ({}): keep the one it has", n.name, l.join(", "))));
            }
            n.lan_ip = lan;
        }
        match keys.as_slice() {
            [] => todos.push(Todo::new(format!("{np}.wireguard.public_key"), format!("no other node's WireGuard config has a peer routing `{}`'s mesh address (a /32 or /128 in AllowedIPs): on the node, `wg pubkey < {}` prints its public key", n.name, crate::render::wgquick::key_path(iface)))),
            [one] => {
                n.wireguard = Some(crate::spec::NodeWireguardSpec {
                    public_key: Some((*one).to_owned()),
                });
            }
            many => todos.push(Todo::new(format!("{np}.wireguard.public_key"), format!("the other nodes' WireGuard configs disagree on `{}`'s public key ({}): on the node, `wg pubkey < {}` prints the right one", n.name, many.join(", "), crate::render::wgquick::key_path(iface)))),
        }
        match endpoints.as_slice() {
            [] => {}
            [one] => n.public_endpoint = Some(one.clone()),
            many => {
                let l: Vec<String> = many.iter().map(ToString::to_string).collect();
                todos.push(Todo::new(format!("{np}.public_endpoint"), format!("the other nodes' WireGuard configs reach `{}` at different public endpoints ({}): set the one that holds", n.name, l.join(", "))));
            }
        }
    }
}
