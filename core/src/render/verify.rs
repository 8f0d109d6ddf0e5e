//! `cluster/verify.sh`: the checks a person runs after rollout, each printing what it expects,
//! then a summary line; the script exits 1 when any check failed.
//!
//! Checks: every node's InternalIP, pod CIDRs and flannel tunnel endpoint from ONE
//! `kubectl get nodes` call compared against an embedded table (so a 5,000-node cluster costs
//! the same number of `kubectl` calls as a 3-node one); under Cilium's cluster-pool IPAM the
//! CiliumNode pod CIDRs against the pool instead; Cilium's routing mode and cluster health (`cilium-dbg status`);
//! on the probed nodes the tunnel device and its MTU and, for Cilium tunnelling over Tailscale
//! (MS705), that the route to each peer's mesh address uses the mesh interface; cross-node pod
//! reachability (IPv6 too on dual-stack), DNS, and a no-fragment ping at exactly the pod MTU
//! (and one byte over, which must fail). It does not change the cluster beyond a throwaway
//! namespace of test pods, which it deletes at the end.

use std::fmt::Write as _;
use std::str::FromStr as _;

use crate::cluster::NodeIpMode;
use crate::cluster::{Cluster, Node};
use crate::labels::Taint;
use crate::render::shell::{comment, quote};
use crate::render::yaml_out;
use crate::spec::FlannelBackend;

/// Namespace of the test pods.
pub const NAMESPACE: &str = "meshspec-verify";
/// Image of the test pods: it has iputils `ping` (for `-M do`), `nslookup` and `ip`.
pub const IMAGE: &str = "nicolaka/netshoot:v0.13";
/// The heredoc delimiter of the embedded node table (node names are DNS-1123 labels, never
/// this word).
const TABLE_END: &str = "MESHSPEC_NODES";

const PRELUDE: &str = r#"set -u
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "OK        $*"; }
bad() { fail=$((fail + 1)); echo "MISMATCH  $*"; }
expect() { if [ "$2" = "$3" ]; then ok "$1: $3"; else bad "$1: expected $2, got ${3:-nothing}"; fi; }
contains() { case "$3" in *"$2"*) ok "$1: has '$2'";; *) bad "$1: expected '$2' in: ${3:-nothing}";; esac; }
"#;

fn yaml_str(s: &str) -> String {
    yaml_out::double_quoted(s)
}

fn tolerations(n: &Node) -> String {
    let mut out = String::new();
    for t in n.taints.iter().filter_map(|t| Taint::from_str(t).ok()) {
        let _ = write!(out, "\n    - {{key: {}, ", yaml_str(&t.key));
        match &t.value {
            Some(v) => {
                let _ = write!(out, "operator: Equal, value: {}, ", yaml_str(v));
            }
            None => out.push_str("operator: Exists, "),
        }
        let _ = write!(out, "effect: {}}}", t.effect.as_str());
    }
    if out.is_empty() {
        " []".to_owned()
    } else {
        out
    }
}

fn pod_manifest(n: &Node, name: &str, host_network: bool) -> String {
    format!(
        "kubectl apply -f - <<'EOF'\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {}\n  namespace: {NAMESPACE}\n  labels: {{app: {NAMESPACE}}}\nspec:\n  hostNetwork: {host_network}\n  nodeSelector:\n    kubernetes.io/hostname: {}\n  tolerations:{}\n  terminationGracePeriodSeconds: 0\n  containers:\n    - name: net\n      image: {IMAGE}\n      command: [sleep, \"3600\"]\nEOF\n",
        yaml_str(name),
        yaml_str(&n.name),
        tolerations(n)
    )
}

/// The pair of nodes the MTU test pings between: the first nodes of two different sites when
/// the cluster spans sites, otherwise the first two nodes in join order.
fn mtu_pair(nodes: &[&Node]) -> Option<(usize, usize)> {
    let first = nodes.first()?;
    let other = nodes
        .iter()
        .position(|n| n.site != first.site)
        .or_else(|| (nodes.len() > 1).then_some(1))?;
    Some((0, other))
}

/// The tunnel endpoint flannel should record in `flannel.alpha.coreos.com/public-ip`: the
/// address of `flannel-iface` when set (the mesh address), else the node-ip. `None` when flannel
/// is not the CNI, runs no tunnel (host-gw), k3s's Tailscale extension chooses, or the endpoint
/// is IPv6 (flannel records that in `public-ipv6`).
fn flannel_endpoint(c: &Cluster, n: &Node) -> Option<std::net::IpAddr> {
    let f = c.cni.flannel()?;
    if f.backend == FlannelBackend::HostGw || n.node_ip_mode == NodeIpMode::VpnAuth {
        return None;
    }
    let ip = if n.flannel_iface.is_some() {
        n.mesh_ips.iter().copied().find(std::net::IpAddr::is_ipv4)
    } else {
        n.primary_ip()
    }?;
    ip.is_ipv4().then_some(ip)
}

/// The embedded expected table, one node per line: name, InternalIP(s), pod CIDR(s), flannel
/// endpoint, tab-separated, `-` for "not checked".
fn node_table(c: &Cluster, nodes: &[&Node]) -> String {
    let pool = c.cilium_pool().is_some();
    let mut t = String::with_capacity(nodes.len() * 64);
    for n in nodes {
        // node names are DNS-1123 labels (decoding refuses anything else); a name that were not
        // could not be a table row or stay inside the quoted heredoc
        if !crate::spec::is_dns_label(&n.name) {
            continue;
        }
        t.push_str(&n.name);
        t.push('\t');
        super::write_list(&mut t, &n.node_ips, " ");
        t.push('\t');
        if pool {
            t.push('-');
        } else {
            super::write_list(&mut t, &n.pod_cidrs, " ");
        }
        t.push('\t');
        match flannel_endpoint(c, n) {
            Some(ip) => {
                let _ = write!(t, "{ip}");
            }
            None => t.push('-'),
        }
        t.push('\n');
    }
    t
}

/// Compares the live node list (file 2) with the expected table (file 1) in one pass; prints
/// `OK`/`MISMATCH` lines like the shell helpers. The expected table is read first, so an empty
/// live list still reports every node as missing.
const NODE_AWK: &str = r#"function chk(what, want, got) { if (want == got) print "OK        " what ": " got; else print "MISMATCH  " what ": expected " want ", got " (got == "" ? "nothing" : got) }
FNR == 1 { file++ }
file == 1 { order[++count] = $1; want_ip[$1] = $2; want_cidr[$1] = $3; want_fl[$1] = $4; next }
{ seen[$1] = 1; ip[$1] = $2; cidr[$1] = $3; fl[$1] = $4 }
END {
  for (i = 1; i <= count; i++) {
    n = order[i]
    if (!(n in seen)) { print "MISMATCH  " n ": expected the node to be registered, it is not"; continue }
    if (want_ip[n] != "-") chk(n " InternalIP", want_ip[n], ip[n])
    if (want_cidr[n] != "-") chk(n " podCIDR", want_cidr[n], cidr[n])
    if (want_fl[n] != "-") chk(n " flannel public-ip", want_fl[n], fl[n])
  }
}"#;

/// The jsonpath of the one `kubectl get nodes` call.
const NODES_JSONPATH: &str = r#"{range .items[*]}{.metadata.name}{"\t"}{.status.addresses[?(@.type=="InternalIP")].address}{"\t"}{.spec.podCIDRs[*]}{"\t"}{.metadata.annotations.flannel\.alpha\.coreos\.com/public-ip}{"\n"}{end}"#;

/// Appends `report`'s OK/MISMATCH lines to the counters and prints them.
const COUNT_REPORT: &str = "cat \"$report\"\npass=$((pass + $(grep -c '^OK' \"$report\")))\nfail=$((fail + $(grep -c '^MISMATCH' \"$report\")))\n";

fn nodes_section(s: &mut String, c: &Cluster, nodes: &[&Node]) {
    let mut what = vec!["InternalIP"];
    if c.cilium_pool().is_none() {
        what.push("pod CIDRs (predicted in join order; joining in another order shifts them)");
    }
    if c.cni.flannel().is_some() {
        what.push("flannel tunnel endpoint (flannel.alpha.coreos.com/public-ip)");
    }
    let _ = writeln!(
        s,
        "\necho {}",
        quote(&format!(
            "== nodes ({} expected): {}, from one kubectl call",
            nodes.len(),
            what.join(", ")
        ))
    );
    let _ = write!(
        s,
        "if kubectl get nodes -o jsonpath={} > \"$live\"; then\n\
         cat > \"$expected\" <<'{TABLE_END}'\n{}{TABLE_END}\n\
         awk -F '\\t' {} \"$expected\" \"$live\" > \"$report\"\n\
         {COUNT_REPORT}\
         else\n  bad 'kubectl get nodes: expected the node list'\nfi\n",
        literal(NODES_JSONPATH),
        node_table(c, nodes),
        literal(NODE_AWK),
    );
    if let Some(pool) = c.cilium_pool() {
        pool_section(s, pool);
    }
}

/// Under cluster-pool IPAM pods never use the pod CIDRs k3s records on the nodes: check the
/// blocks Cilium's operator handed out (`CiliumNode.spec.ipam.podCIDRs`) against the pool.
fn pool_section(s: &mut String, pool: crate::cidr::Cidr) {
    let (net, bits) = (pool.network(), pool.prefix());
    let _ = writeln!(
        s,
        "\necho {}",
        quote(&format!(
            "== Cilium cluster-pool: every CiliumNode's pod CIDRs inside {pool} (k3s's per-node pod CIDRs are unused)"
        ))
    );
    let _ = write!(
        s,
        "kubectl get ciliumnodes -o jsonpath={} 2>/dev/null | awk -F '\\t' -v net={net} -v bits={bits} -v pool={pool} {} > \"$report\"\n{COUNT_REPORT}",
        literal(CILIUM_NODES_JSONPATH),
        literal(POOL_AWK),
    );
}

/// The jsonpath listing each CiliumNode's pod CIDRs.
const CILIUM_NODES_JSONPATH: &str =
    r#"{range .items[*]}{.metadata.name}{"\t"}{.spec.ipam.podCIDRs[*]}{"\n"}{end}"#;

/// Checks each CiliumNode's IPv4 pod CIDRs against the pool (`net`/`bits`) in one pass.
const POOL_AWK: &str = r#"function n(a, p) { split(a, p, "[./]"); return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4] }
BEGIN { size = 2 ^ (32 - bits); base = int(n(net) / size) }
{ rows++; if ($2 == "") { print "MISMATCH  " $1 " pod CIDRs: expected blocks of " pool ", got nothing"; next }
  k = split($2, c, " "); for (i = 1; i <= k; i++) {
    if (c[i] ~ /:/) continue
    if (int(n(c[i]) / size) == base) print "OK        " $1 " pod CIDR " c[i] " in " pool
    else print "MISMATCH  " $1 " pod CIDR: expected inside " pool ", got " c[i] } }
END { if (rows == 0) print "MISMATCH  CiliumNodes: expected one per node, got none" }"#;

/// A constant of this module (a jsonpath or an awk program, never a spec value) as one
/// single-quoted `sh` word; the constants hold no `'` (a test checks it).
fn literal(s: &str) -> String {
    format!("'{s}'")
}

/// Whether MS705's route check applies: Cilium tunnelling between Tailscale addresses.
fn ms705_applies(c: &Cluster) -> bool {
    c.cni.cilium().is_some()
        && c.mesh.is_tailscale()
        && c.nodes.iter().any(|n| n.tunnel_over_mesh())
}

/// The script's text.
///
/// ```
/// use meshspec::Cluster;
/// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n  - {name: b, role: agent, mesh_ip: 100.64.0.2}\n").unwrap();
/// let sh = meshspec::render::verify::script(&c);
/// assert!(sh.contains("-M 'do' -s 1202 ") && sh.contains("-M 'do' -s 1203 "));
/// assert_eq!(sh.matches("kubectl get nodes ").count(), 1);
/// ```
#[must_use]
pub fn script(c: &Cluster) -> String {
    let nodes: Vec<&Node> = c.nodes_in_join_order().collect();
    let mut s = format!(
        "#!/bin/sh\n\
         # Generated by meshspec (cluster `{}`): checks to run after rollout, from a machine with kubectl.\n\
         # Each check prints what it expects; the last line is a summary; exit status 1 if any failed.\n{PRELUDE}ns={NAMESPACE}\n\
         live=$(mktemp)\nexpected=$(mktemp)\nreport=$(mktemp)\n\
         trap 'rm -f \"$live\" \"$expected\" \"$report\"' EXIT\n",
        comment(&c.name)
    );
    wireguard_section(&mut s, c);
    nodes_section(&mut s, c, &nodes);
    if let Some(cil) = c.cni.cilium() {
        let want = format!("Network: Tunnel [{}]", cil.tunnel);
        let _ = writeln!(
            s,
            "\necho {}\ncontains 'cilium routing' {} \"$(kubectl -n kube-system exec ds/cilium -c cilium-agent -- sh -c 'cilium-dbg status 2>/dev/null || cilium status' | grep Routing)\"",
            quote(&format!("== cilium status | grep Routing: expected {want}")),
            quote(&want)
        );
        let reach = format!("{0}/{0} reachable", nodes.len());
        // `cilium-dbg status` (`cilium status` before 1.15) sums up cilium-health's probes in
        // its "Cluster health: N/M reachable" line
        let _ = writeln!(
            s,
            "echo {}\ncontains 'cilium cluster health' {} \"$(kubectl -n kube-system exec ds/cilium -c cilium-agent -- sh -c 'cilium-dbg status 2>/dev/null || cilium status' | grep 'Cluster health')\"",
            quote(&format!(
                "== cilium status | grep 'Cluster health': expected {reach}"
            )),
            quote(&reach)
        );
    }
    pods_section(&mut s, c, &nodes);
    s.push_str("\nkubectl delete namespace \"$ns\" --wait=false >/dev/null 2>&1 || true\n");
    s.push_str("echo \"verify: $pass passed, $fail failed\"\n[ \"$fail\" -eq 0 ] || exit 1\n");
    s
}

/// A WireGuard mesh meshspec renders: `sudo sh verify.sh --wireguard <node>`, run on that
/// node, pings every other node's mesh addresses (traffic that starts every handshake,
/// through the relays too) and then checks `wg show <iface> latest-handshakes` for every
/// direct peer, by public key. Without the argument the script runs its cluster checks from a
/// machine with kubectl, as always.
fn wireguard_section(s: &mut String, c: &Cluster) {
    let Some(t) = c.wireguard_topology() else {
        return;
    };
    let names: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
    let _ = write!(
        s,
        "\n# WireGuard ({iface}): run on each node as root: sudo sh verify.sh --wireguard <node>\n\
         if [ \"${{1:-}}\" = --wireguard ]; then\n  \
         iface={iface_q}\n  \
         case ${{2:-}} in\n",
        iface = comment(&t.interface),
        iface_q = quote(&t.interface),
    );
    for n in &t.nodes {
        let addrs: Vec<String> = c
            .nodes
            .iter()
            .filter(|o| o.name != n.name)
            .flat_map(|o| o.mesh_ips.iter().map(|ip| format!("{}={ip}", o.name)))
            .collect();
        let peers: Vec<String> = n
            .peers
            .iter()
            .filter_map(|p| p.public_key.as_ref().map(|k| format!("{}={k}", p.name)))
            .collect();
        let _ = writeln!(
            s,
            "    {})\n      addrs={}\n      peers={} ;;",
            quote(&n.name),
            quote(&addrs.join(" ")),
            quote(&peers.join(" "))
        );
    }
    let _ = write!(
        s,
        "    *) echo {usage} >&2; exit 2 ;;\n  esac\n  \
         command -v wg >/dev/null 2>&1 || {{ echo 'verify: wg is not installed (wireguard-tools)' >&2; exit 1; }}\n  \
         echo \"== mesh addresses from $2 over $iface: expected ping replies\"\n  \
         for a in $addrs; do\n    \
         if ping -c 3 -W 2 \"${{a#*=}}\" >/dev/null 2>&1; then ok \"$2 -> ${{a%%=*}} ${{a#*=}}\"; else bad \"$2 -> ${{a%%=*}} ${{a#*=}}: expected replies, got none\"; fi\n  \
         done\n  \
         echo \"== wg show $iface latest-handshakes: expected a handshake with every direct peer\"\n  \
         hs=$(wg show \"$iface\" latest-handshakes 2>&1) || {{ bad \"wg show $iface: $hs\"; hs=; }}\n  \
         for p in $peers; do\n    \
         t=$(printf '%s\\n' \"$hs\" | awk -v k=\"${{p#*=}}\" '$1 == k {{ print $2 }}')\n    \
         if [ \"${{t:-0}}\" -gt 0 ]; then ok \"handshake with ${{p%%=*}}\"; else bad \"handshake with ${{p%%=*}}: expected one, got ${{t:-no such peer}}\"; fi\n  \
         done\n  \
         echo \"verify: $pass passed, $fail failed\"\n  \
         [ \"$fail\" -eq 0 ] || exit 1\n  \
         exit 0\n\
         fi\n",
        usage = quote(&format!(
            "usage: sudo sh verify.sh --wireguard <node>, run on that node; nodes: {}",
            names.join(" ")
        )),
    );
}

/// Up to this many nodes, every node gets test pods; beyond it, one node per site does.
pub const PROBE_EVERY_NODE_UP_TO: usize = 24;

/// The nodes that get test pods: all of them in a small cluster, else the first node (in join
/// order) of each site and each site-less node, up to [`PROBE_EVERY_NODE_UP_TO`]. Cross-site
/// paths are what a mesh can break; the per-node checks above still cover every node.
fn probed<'a>(nodes: &[&'a Node]) -> Vec<&'a Node> {
    if nodes.len() <= PROBE_EVERY_NODE_UP_TO {
        return nodes.to_vec();
    }
    let mut seen_sites: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for n in nodes {
        let fresh = match n.site.as_deref() {
            Some(site) if seen_sites.contains(&site) => false,
            Some(site) => {
                seen_sites.push(site);
                true
            }
            None => true,
        };
        if fresh && out.len() < PROBE_EVERY_NODE_UP_TO {
            out.push(*n);
        }
    }
    out
}

/// The tunnel device a node's pods use and its expected MTU: `flannel.1` (VXLAN) or
/// `flannel-wg` (wireguard-native) at the pod MTU, `cilium_vxlan`/`cilium_geneve` at Cilium's
/// `MTU` value (the seed: `cilium_vxlan ... mtu 1280`). `None` without a tunnel device (host-gw,
/// k3s's Tailscale extension).
fn tunnel_device(c: &Cluster, n: &Node) -> Option<(&'static str, u32)> {
    match &c.cni {
        crate::cluster::Cni::Cilium(cil) => Some((
            match cil.tunnel {
                crate::spec::TunnelProtocol::Vxlan => "cilium_vxlan",
                crate::spec::TunnelProtocol::Geneve => "cilium_geneve",
            },
            cil.mtu,
        )),
        crate::cluster::Cni::Flannel(f) => {
            if n.node_ip_mode == NodeIpMode::VpnAuth {
                return None;
            }
            let dev = match f.backend {
                FlannelBackend::Vxlan => "flannel.1",
                FlannelBackend::WireguardNative => "flannel-wg",
                FlannelBackend::HostGw => return None,
            };
            Some((dev, c.mtu_stack(n).pod_mtu()))
        }
    }
}

fn pods_section(s: &mut String, c: &Cluster, all: &[&Node]) {
    let route_check = ms705_applies(c);
    let picked = probed(all);
    let nodes = picked.as_slice();
    let host_pods = route_check || nodes.iter().any(|n| tunnel_device(c, n).is_some());
    if nodes.len() == all.len() {
        s.push_str("\necho '== test pods: one per node (pinned by kubernetes.io/hostname, tolerating its taints)'\n");
    } else {
        let _ = writeln!(
            s,
            "\necho {}",
            quote(&format!(
                "== test pods on {} of {} nodes: one per site (pinned by kubernetes.io/hostname, tolerating its taints)",
                nodes.len(),
                all.len()
            ))
        );
    }
    s.push_str("kubectl create namespace \"$ns\" >/dev/null 2>&1 || true\n");
    for n in nodes {
        s.push_str(&pod_manifest(n, &format!("pod-{}", n.name), false));
        if host_pods {
            s.push_str(&pod_manifest(n, &format!("host-{}", n.name), true));
        }
    }
    let _ = writeln!(
        s,
        "if kubectl -n \"$ns\" wait --for=condition=Ready pod -l app={NAMESPACE} --timeout=300s >/dev/null; then ok 'test pods Ready'; else bad 'test pods Ready: expected Ready within 300s'; fi"
    );
    let dual = c.network.dual_stack();
    // the addresses are only used by the pings between nodes
    for (i, n) in nodes.iter().enumerate().filter(|_| nodes.len() > 1) {
        let pod = quote(&format!("pod-{}", n.name));
        let _ = writeln!(
            s,
            "ip_{i}=$(kubectl -n \"$ns\" get pod {pod} -o jsonpath='{{.status.podIP}}')"
        );
        if dual {
            // .status.podIPs holds one address per family, the primary first
            let _ = writeln!(
                s,
                "ip6_{i}=$(kubectl -n \"$ns\" get pod {pod} -o jsonpath='{{.status.podIPs[1].ip}}')"
            );
        }
    }
    let exec = |n: &Node| {
        format!(
            "kubectl -n \"$ns\" exec {} --",
            quote(&format!("pod-{}", n.name))
        )
    };
    let host = |n: &Node| {
        format!(
            "kubectl -n \"$ns\" exec {} --",
            quote(&format!("host-{}", n.name))
        )
    };
    if host_pods {
        s.push_str("\necho '== tunnel device and MTU on each probed node'\n");
        for n in nodes {
            let Some((dev, mtu)) = tunnel_device(c, n) else {
                continue;
            };
            let _ = writeln!(
                s,
                "expect {} {mtu} \"$({} ip -o link show {dev} 2>/dev/null | awk '{{ for (i = 1; i < NF; i++) if ($i == \"mtu\") print $(i + 1) }}')\"",
                quote(&format!("{} {dev} MTU", n.name)),
                host(n)
            );
            if let Some(v6) = c.flannel_v6_device_mtu(n) {
                let dev = crate::cluster::FLANNEL_V6_DEVICE;
                let _ = writeln!(
                    s,
                    "expect {} {v6} \"$({} ip -o link show {dev} 2>/dev/null | awk '{{ for (i = 1; i < NF; i++) if ($i == \"mtu\") print $(i + 1) }}')\"",
                    quote(&format!("{} {dev} MTU", n.name)),
                    host(n)
                );
            }
        }
    }
    if nodes.len() > 1 {
        s.push_str("\necho '== pod to pod across nodes: expected ping replies'\n");
        for (i, a) in nodes.iter().enumerate() {
            let j = (i + 1) % nodes.len();
            let b = nodes[j];
            let what = quote(&format!("ping pod-{} -> pod-{}", a.name, b.name));
            let _ = writeln!(
                s,
                "if {} ping -c 3 -W 2 \"$ip_{j}\" >/dev/null 2>&1; then ok {what}; else bad {what}; fi",
                exec(a)
            );
            if dual {
                let what = quote(&format!("ping IPv6 pod-{} -> pod-{}", a.name, b.name));
                let _ = writeln!(
                    s,
                    "if {} ping -6 -c 3 -W 2 \"$ip6_{j}\" >/dev/null 2>&1; then ok {what}; else bad {what}; fi",
                    exec(a)
                );
            }
        }
    }
    if let Some(first) = nodes.first() {
        let svc = c
            .network
            .service_cidrs
            .first()
            .and_then(|cidr| cidr.nth(1))
            .map_or_else(String::new, |ip| ip.to_string());
        let _ = writeln!(
            s,
            "\necho {}\nexpect 'DNS kubernetes.default' {} \"$({} nslookup kubernetes.default 2>&1 | awk '/^Name:/ {{ n = 1 }} n && /^Address/ {{ print $2; exit }}')\"",
            quote(&format!(
                "== DNS from pod-{}: expected kubernetes.default -> {svc}",
                first.name
            )),
            quote(&svc),
            exec(first)
        );
    }
    if let Some((i, j)) = mtu_pair(nodes) {
        let (a, b) = (nodes[i], nodes[j]);
        let mtu = c.pod_mtu();
        let fits = mtu.saturating_sub(28);
        let over = mtu.saturating_sub(27);
        let _ = writeln!(
            s,
            "\necho {}",
            quote(&format!(
                "== pod MTU {mtu}: pod-{} -> pod-{}: -s {fits} must pass, -s {over} must fail",
                a.name, b.name
            ))
        );
        let _ = writeln!(
            s,
            "if {e} ping -c 1 -W 3 -M 'do' -s {fits} \"$ip_{j}\" >/dev/null 2>&1; then ok 'ping -M do -s {fits} passes'; else bad 'ping -M do -s {fits}: expected replies (packet {mtu} fits the pod MTU)'; fi\n\
             if {e} ping -c 1 -W 3 -M 'do' -s {over} \"$ip_{j}\" >/dev/null 2>&1; then bad 'ping -M do -s {over}: expected failure (one byte over the pod MTU), got replies'; else ok 'ping -M do -s {over} fails'; fi",
            e = exec(a)
        );
        // IPv6: a 40-byte header and an 8-byte ICMPv6 header; flannel VXLAN carries less IPv6
        // than the pod MTU between nodes (flannel-v6.1, VXLAN over IPv6)
        if let Some(v6) = c.pod_mtu_ipv6().filter(|_| dual) {
            let fits = v6.saturating_sub(48);
            let over = v6.saturating_sub(47);
            let _ = writeln!(
                s,
                "\necho {}",
                quote(&format!(
                    "== IPv6 between nodes {v6}: pod-{} -> pod-{}: ping -6 -s {fits} must pass, -s {over} must fail",
                    a.name, b.name
                ))
            );
            let _ = writeln!(
                s,
                "if {e} ping -6 -c 1 -W 3 -M 'do' -s {fits} \"$ip6_{j}\" >/dev/null 2>&1; then ok 'ping -6 -M do -s {fits} passes'; else bad 'ping -6 -M do -s {fits}: expected replies (packet {v6} fits)'; fi\n\
                 if {e} ping -6 -c 1 -W 3 -M 'do' -s {over} \"$ip6_{j}\" >/dev/null 2>&1; then bad 'ping -6 -M do -s {over}: expected failure (one byte over {v6}), got replies'; else ok 'ping -6 -M do -s {over} fails'; fi",
                e = exec(a)
            );
        }
    }
    if route_check && nodes.len() > 1 {
        // MS705: Tailscale routes its own (0x80000-marked) packets by the main table on purpose;
        // a healthy node sends unmarked traffic to a peer's mesh address through table 52 and
        // the mesh interface. Cilium's VXLAN/Geneve to the peer must take that path.
        let _ = writeln!(
            s,
            "\necho {}",
            quote(&format!(
                "== Cilium over Tailscale (MS705): ip route get <peer mesh IP> must use {}",
                c.mesh.interface
            ))
        );
        for (i, a) in nodes.iter().enumerate() {
            let b = nodes[(i + 1) % nodes.len()];
            let Some(peer) = b.mesh_ips.first() else {
                continue;
            };
            let _ = writeln!(
                s,
                "contains {} {} \"$({} ip route get {peer} 2>&1)\"",
                quote(&format!("{} route to {} ({peer})", a.name, b.name)),
                quote(&format!("dev {}", c.mesh.interface)),
                host(a)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLANNEL: &str =
        include_str!("../../../examples/specs/flannel-over-tailscale-gpu-worker.yaml");
    const CILIUM: &str = include_str!("../../../examples/specs/cilium-vxlan-over-tailscale.yaml");

    fn spec_with(nodes: usize, sites: usize) -> String {
        let mut spec = String::from("version: 1\nname: big\nsites:\n");
        for site in 0..sites {
            spec.push_str(&format!(
                "  - {{name: s{site}, subnets: [192.168.{site}.0/24]}}\n"
            ));
        }
        spec.push_str("nodes:\n");
        for i in 0..nodes {
            let role = if i == 0 { "server" } else { "agent" };
            spec.push_str(&format!(
                "  - {{name: n{i}, role: {role}, site: s{}, lan_ip: 192.168.{}.{}, mesh_ip: 100.64.{}.{}}}\n",
                i % sites,
                i % sites,
                i / sites + 10,
                i / 250,
                i % 250 + 1
            ));
        }
        spec
    }

    #[test]
    fn large_clusters_probe_one_node_per_site() {
        let c = Cluster::from_yaml(&spec_with(40, 3)).unwrap();
        let sh = script(&c);
        assert!(
            sh.contains("test pods on 3 of 40 nodes: one per site"),
            "{sh}"
        );
        assert_eq!(
            sh.matches("kind: Pod").count(),
            6,
            "a pod and a host pod per probed site"
        );
        // every node's address is still checked, in the embedded table
        let rows = sh
            .lines()
            .filter(|l| l.starts_with('n') && l.split('\t').count() == 4)
            .count();
        assert_eq!(rows, 40);
    }

    #[test]
    fn node_checks_cost_one_kubectl_call_whatever_the_size() {
        for n in [3, 300] {
            let c = Cluster::from_yaml(&spec_with(n, 3)).unwrap();
            let sh = script(&c);
            assert_eq!(sh.matches("kubectl get nodes ").count(), 1);
            assert!(!sh.contains("kubectl get node n"), "no per-node call");
            // the kubectl calls are bounded by the probed nodes, not by the cluster
            let calls = sh.matches("kubectl ").count();
            assert!(calls < 60, "{n} nodes: {calls} kubectl calls");
        }
    }

    #[test]
    fn seed_flannel_checks() {
        let c = Cluster::from_yaml(FLANNEL).unwrap();
        assert_eq!(c.pod_mtu(), 1230);
        let sh = script(&c);
        assert!(sh.contains("\nset -u\n"));
        assert!(sh.contains("-M 'do' -s 1202 ") && sh.contains("-M 'do' -s 1203 "));
        // name, InternalIP, pod CIDR, flannel endpoint: the GPU worker's VXLAN endpoint is its
        // mesh address (the seed's failure: flannel picked the LAN IP), and so is the
        // master's, whose node-ip is its LAN address but whose flannel-iface is tailscale0
        assert!(
            sh.contains("\nk3s-master\t192.168.2.20\t10.42.0.0/24\t100.84.89.67\n"),
            "{sh}"
        );
        assert!(sh.contains("\nk3s-gpu-worker\t100.80.98.64\t10.42.3.0/24\t100.80.98.64\n"));
        // the GPU worker's test pod tolerates its taint
        assert!(
            sh.contains("{key: \"gpu\", operator: Equal, value: \"true\", effect: NoSchedule}"),
            "{sh}"
        );
        assert!(sh.contains("kubernetes.io/hostname: \"k3s-gpu-worker\""));
        // flannel.1 exists with the pod MTU
        assert!(sh.contains("expect 'k3s-gpu-worker flannel.1 MTU' 1230 "));
        // the MTU test crosses sites
        assert!(sh.contains("pod-k3s-master -> pod-k3s-gpu-worker: -s 1202 must pass"));
        assert!(sh.contains("expect 'DNS kubernetes.default' 10.43.0.1 \"$(kubectl -n \"$ns\" exec pod-k3s-master -- nslookup kubernetes.default"), "{sh}");
        assert!(!sh.contains("Routing") && !sh.contains("mark 0x80000"));
        assert!(sh.ends_with("[ \"$fail\" -eq 0 ] || exit 1\n"));
    }

    #[test]
    fn cilium_over_tailscale_checks_the_route_without_a_mark() {
        let c = Cluster::from_yaml(CILIUM).unwrap();
        let sh = script(&c);
        assert!(sh.contains("'Network: Tunnel [vxlan]'"), "{sh}");
        // 0x80000 is Tailscale's own bypass mark, routed by the main table on purpose: the
        // check is the plain route to the peer's mesh address
        assert!(sh.contains("ip route get 100.96.103.31 2>&1"));
        assert!(!sh.contains("mark 0x80000"));
        assert!(sh.contains("'dev tailscale0'"));
        assert!(sh.contains("hostNetwork: true"));
        assert!(sh.contains("contains 'cilium cluster health' '2/2 reachable'"));
        assert!(sh.contains("expect 'beelink cilium_vxlan MTU' 1280 "));
    }

    #[test]
    fn cilium_on_a_lan_has_no_mesh_route_check_and_checks_the_pool() {
        let c = Cluster::from_yaml("version: 1\nname: lab\nsites: [{name: o, subnets: [192.168.10.0/24]}]\ncni: {plugin: cilium, cilium: {ipam: cluster-pool, cluster_pool_cidr: 10.100.0.0/16}}\nk3s: {server_extra: {node-taint: [CriticalAddonsOnly=true:NoExecute]}}\nnodes:\n  - {name: a, role: server, site: o, lan_ip: 192.168.10.10, mesh_ip: 100.70.0.1}\n  - {name: b, role: agent, site: o, lan_ip: 192.168.10.11, mesh_ip: 100.70.0.2}\n").unwrap();
        let sh = script(&c);
        assert!(!sh.contains("ip route get"), "{sh}");
        assert!(sh.contains("kubectl get ciliumnodes"));
        assert!(sh.contains("-v net=10.100.0.0 -v bits=16"));
        // pod CIDRs are not compared under cluster-pool
        assert!(sh.contains("\na\t192.168.10.10\t-\t-\n"));
        // the server's taint from server_extra is tolerated
        assert!(sh.contains(
            "{key: \"CriticalAddonsOnly\", operator: Equal, value: \"true\", effect: NoExecute}"
        ));
        assert!(sh.contains("expect 'a cilium_vxlan MTU' 1500 "));
    }

    #[test]
    fn embedded_programs_stay_single_quoted_words() {
        for constant in [NODES_JSONPATH, NODE_AWK, CILIUM_NODES_JSONPATH, POOL_AWK] {
            assert!(!constant.contains('\''), "{constant}");
        }
    }

    #[test]
    fn dual_stack_pings_ipv6_pod_addresses() {
        let c = Cluster::from_yaml("version: 1\nname: ds\nnetwork: {cluster_cidr: [10.42.0.0/16, 'fd00:42::/56'], service_cidr: [10.43.0.0/16, 'fd00:43::/112']}\nnodes:\n  - {name: a, role: server, mesh_ip: [100.64.0.1, 'fd7a:115c:a1e0::1']}\n  - {name: b, role: agent, mesh_ip: [100.64.0.2, 'fd7a:115c:a1e0::2']}\n").unwrap();
        let sh = script(&c);
        assert!(sh.contains("jsonpath='{.status.podIPs[1].ip}'"), "{sh}");
        assert!(sh.contains("ping -6 -c 3 -W 2 \"$ip6_1\""));
    }
}
