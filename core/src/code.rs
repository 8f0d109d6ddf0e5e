//! The registry of rule codes: every problem meshspec reports carries one of these.
//!
//! Codes are a contract (`docs/rules.md` lists them): a code never changes meaning and is never reused. Each
//! code has a number, a slug, a default severity, a one-line summary and an explanation page
//! (`core/rules/MSxxx.md`, embedded at build time) printed by `meshspec explain`.
//!
//! This module does not decide *when* a rule fires; the `rules` module does.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::diagnostic::Severity;

macro_rules! codes {
    ($( $variant:ident = $num:literal, $code:literal, $slug:literal, $sev:ident, $summary:literal; )*) => {
        /// A rule code such as `MS101`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $(
                #[doc = $summary]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The number, e.g. `101` for `MS101`.
            #[must_use]
            pub fn number(self) -> u16 {
                match self { $(Code::$variant => $num),* }
            }

            /// The code as written, e.g. `"MS101"`.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code),* }
            }

            /// The stable slug, e.g. `"pod-service-overlap"`.
            #[must_use]
            pub fn slug(self) -> &'static str {
                match self { $(Code::$variant => $slug),* }
            }

            /// The severity the rule reports at.
            #[must_use]
            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev),* }
            }

            /// When the rule fires, as the catalogue states it.
            #[must_use]
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary),* }
            }

            /// The explanation page: what the rule checks, why it matters, an example, the fix.
            #[must_use]
            pub fn page(self) -> &'static str {
                match self { $(Code::$variant => include_str!(concat!("../rules/", $code, ".md"))),* }
            }
        }
    };
}

codes! {
    YamlSyntax = 1, "MS001", "yaml-syntax", Error, "the file is not valid YAML (line and column from the parser)";
    UnknownField = 2, "MS002", "unknown-field", Error, "a key the format does not define; help suggests the nearest known key";
    InvalidValue = 3, "MS003", "invalid-value", Error, "wrong type or unparsable value (bad CIDR, IP, enum value, name not a DNS-1123 label); a CIDR with host bits set suggests the truncated form";
    MissingField = 4, "MS004", "missing-field", Error, "a required key is absent (`version`, `name`, `nodes`, a node's `mesh_ip` without vpn-auth)";
    UnsupportedVersion = 5, "MS005", "unsupported-version", Error, "`version` is not 1";
    DuplicateName = 6, "MS006", "duplicate-name", Error, "two nodes or two sites share a name";
    UnknownReference = 7, "MS007", "unknown-reference", Error, "a node names a site that does not exist, or (Headscale) `tag_owners`/`admins` name a group that `mesh.groups` does not define";
    NoServer = 8, "MS008", "no-server", Error, "no node has role `server`";
    InlineSecret = 9, "MS009", "inline-secret", Error, "something that looks like a join token or auth key is written in the spec (`token:`, `K10…`, `tskey-…` in any extra map); help: use a `*_file` path";
    DuplicateKey = 10, "MS010", "duplicate-key", Error, "the same YAML key twice in one mapping";
    PodServiceOverlap = 101, "MS101", "pod-service-overlap", Error, "cluster_cidr and service_cidr overlap";
    CidrMeshOverlap = 102, "MS102", "cidr-mesh-overlap", Error, "cluster_cidr or service_cidr overlaps the mesh ranges (100.64.0.0/10, fd7a:115c:a1e0::/48 for Tailscale)";
    CidrSiteOverlap = 103, "MS103", "cidr-site-overlap", Error, "cluster_cidr or service_cidr overlaps a site subnet; help proposes a free /16";
    SiteOverlap = 104, "MS104", "site-overlap", Error, "two sites' subnets overlap, or a site subnet overlaps the mesh range";
    NodeCidrCapacity = 105, "MS105", "node-cidr-capacity", Error, "more nodes than `2^(node_cidr_mask - prefix)` blocks; also node_cidr_mask not longer than the cluster prefix, or more than 16 bits apart (kube-controller-manager limit)";
    ClusterDnsOutside = 106, "MS106", "cluster-dns-outside", Error, "cluster_dns not inside service_cidr, or is its network address";
    MeshIpOutside = 107, "MS107", "mesh-ip-outside", Error, "a node's mesh_ip is not in the mesh range";
    LanIpOutside = 108, "MS108", "lan-ip-outside", Error, "a node's lan_ip is not in any subnet of its site";
    DuplicateAddress = 109, "MS109", "duplicate-address", Error, "two nodes share a mesh_ip or a lan_ip";
    PinnedPodCidr = 110, "MS110", "pinned-pod-cidr", Error, "a pinned pod_cidr is outside cluster_cidr, has the wrong size, or is pinned twice";
    DualStackShape = 111, "MS111", "dual-stack-shape", Error, "cluster_cidr and service_cidr differ in address families, or a node lacks an address of a family the cluster uses";
    WellKnownOverlap = 112, "MS112", "well-known-overlap", Warning, "cluster or service CIDR overlaps 172.17.0.0/16 (Docker's bridge), 169.254.0.0/16 or another reserved range";
    SiteSubnetNotPrivate = 113, "MS113", "site-subnet-not-private", Warning, "a site subnet outside the private ranges (RFC 1918, RFC 6598, ULA fc00::/7) or wider than /8: the firewall scripts would open k3s ports to it";
    LanIpAcrossSites = 201, "MS201", "lan-ip-across-sites", Error, "`node_ip: lan` on a node that must be reached from another site: a node whose site lacks some server (servers reach every kubelet at its node-ip), or a server while servers span sites (etcd peers use node-ips)";
    TunnelEndpointNotMesh = 202, "MS202", "tunnel-endpoint-not-mesh", Error, "Cilium tunnel mode in a multi-site cluster and some node's node-ip is not its mesh address (seed: \"the worker MUST use its Tailscale IP\")";
    L2ModeAcrossSites = 203, "MS203", "l2-mode-across-sites", Error, "flannel `host-gw` (or any mode needing shared L2) with nodes on more than one site or over the mesh";
    EtcdAcrossSites = 204, "MS204", "etcd-across-sites", Warning, "embedded-etcd servers on different sites; k3s does not support etcd over a VPN between sites";
    EtcdQuorum = 205, "MS205", "etcd-quorum", Warning, "an even number of servers (no fault-tolerance gain), or two servers (losing either stops the cluster)";
    ServerUrlNotInSan = 206, "MS206", "server-url-not-in-san", Error, "`k3s.server_url` names a host that no server's certificate covers; help: it is added to `tls-san` automatically unless disabled";
    MixedAddressing = 207, "MS207", "mixed-addressing", Warning, "some nodes use LAN node-ips while an untainted node sits on another site: pods scheduled there cannot reach those node-ips (metrics-server, node exporters, NodePorts, hostNetwork pods); help: taint the remote nodes (the second seed's GPU worker is tainted, so it is clean) or use `node_ip: mesh`";
    EtcdOverMesh = 208, "MS208", "etcd-over-mesh", Warning, "servers that share a site get mesh node-ips (e.g. multi-site Cilium), so etcd peers talk over the mesh; k3s expects servers to reach each other on their private network";
    MtuTooLarge = 301, "MS301", "mtu-too-large", Error, "an explicit MTU leaves pods a larger packet than the encapsulation stack carries without fragmenting; the help shows the stack layer by layer";
    CiliumMtuPresubtracted = 302, "MS302", "cilium-mtu-presubtracted", Warning, "`cni.cilium.mtu` equals mesh MTU minus the tunnel overhead: Cilium's MTU value is the underlay MTU and it subtracts the overhead itself (double subtraction)";
    DoubleEncryption = 303, "MS303", "double-encryption", Warning, "flannel `wireguard-native` or Cilium encryption over an already encrypted mesh: redundant cost and a smaller MTU";
    Ipv6MinMtu = 304, "MS304", "ipv6-min-mtu", Error, "a dual-stack or IPv6 cluster whose pod MTU falls below 1280";
    MeshMtuOverUnderlay = 305, "MS305", "mesh-mtu-over-underlay", Warning, "the mesh MTU plus its own overhead exceeds a site's underlay MTU (e.g. WireGuard 1420 over PPPoE 1492)";
    AgentServerOnlyKey = 401, "MS401", "agent-server-only-key", Error, "an agent's config holds a key only servers accept; k3s agents exit with `flag provided but not defined` (k3s#6565)";
    UnknownK3sKey = 402, "MS402", "unknown-k3s-key", Error, "a key in `server_extra`/`agent_extra` that k3s does not know; help suggests the nearest flag";
    K3sKeyKind = 403, "MS403", "k3s-key-kind", Error, "a value of the wrong kind for the flag (list for a scalar, text for a bool)";
    CriticalArgMismatch = 404, "MS404", "critical-arg-mismatch", Error, "a key that all servers must share differs between servers (`critical configuration value mismatch`)";
    CniFlannelConflict = 405, "MS405", "cni-flannel-conflict", Error, "Cilium selected while flannel or k3s's network policy controller stays on, or `flannel-backend: none` without Cilium";
    KubeProxyMismatch = 406, "MS406", "kube-proxy-mismatch", Error, "Cilium kube-proxy replacement without `disable-kube-proxy` or without `k8sServiceHost`/`k8sServicePort`, or kube-proxy disabled without replacement";
    VpnAuthOverrides = 407, "MS407", "vpn-auth-overrides", Warning, "`k3s_vpn_auth` together with explicit node-ip, advertise-address or flannel-iface settings, which k3s silently replaces";
    VpnAuthRouteApproval = 408, "MS408", "vpn-auth-route-approval", Info, "with `k3s_vpn_auth`, the tailnet must auto-approve each node's pod subnet route (k3s#8372); help renders the policy snippet";
    ReservedSelfLabel = 409, "MS409", "reserved-self-label", Error, "a node label in `kubernetes.io`/`k8s.io` namespaces that the kubelet may not set on itself (e.g. `node-role.kubernetes.io/worker`); the kubelet refuses to start";
    TaintRegistrationOnly = 410, "MS410", "taint-registration-only", Info, "node-taint and node-label apply when a node registers; changes on an existing node need kubectl (the plan renders the commands)";
    InterfaceOrdering = 411, "MS411", "interface-ordering", Warning, "`flannel-iface` on a mesh interface: k3s must start after the mesh daemon (k3s#367); help renders the systemd drop-in";
    K3sVersionUnpinned = 412, "MS412", "k3s-version-unpinned", Warning, "`k3s.version` is not set: the installer takes whatever the stable channel holds that day, so nodes installed on different days differ and re-running `install.sh` upgrades a running node (Kubernetes version-skew policy: kubelets never newer than the API servers)";
    K3sKnownBug = 413, "MS413", "k3s-known-bug", Warning, "the pinned k3s version (or, unpinned, any version before the fix) is affected by a known upstream bug that this spec's topology triggers; the message names the upstream issue and the first fixed version of each release line (a data table in the core, with provenance, e.g. k3s#12436: `flannel.1` lost when `tailscale0` is re-created, fixed in v1.33.13, v1.34.9, v1.35.6, v1.36.2)";
    NoProxyMissing = 501, "MS501", "no-proxy-missing", Error, "a proxy is set and NO_PROXY misses node addresses, the mesh range, the pod or service CIDR, or the server URL's host (`kubectl logs`/`exec` fail: k3s#6705); help lists what is missing";
    NoProxyMalformed = 502, "MS502", "no-proxy-malformed", Error, "an entry in `no_proxy_extra` is neither a host, a domain suffix, an IP nor a CIDR";
    NoProxyCidrSupport = 503, "MS503", "no-proxy-cidr-support", Info, "NO_PROXY holds CIDRs: Go programs and curl ≥ 7.86 honour them, older curl and wget do not; help gives the host list for those";
    InvalidLabel = 601, "MS601", "invalid-label", Error, "label key or value breaks Kubernetes syntax (prefix a DNS subdomain ≤ 253, name ≤ 63 `[A-Za-z0-9._-]` starting and ending alphanumeric, value ≤ 63)";
    InvalidTaint = 602, "MS602", "invalid-taint", Error, "taint not `key[=value]:Effect` with Effect in NoSchedule, PreferNoSchedule, NoExecute";
    GpuUntainted = 603, "MS603", "gpu-untainted", Warning, "a GPU node without any NoSchedule taint: ordinary pods will fill it";
    CiliumRemovedKey = 701, "MS701", "cilium-removed-key", Error, "`tunnel` (removed in 1.15; the chart fails) or another removed key in `values`";
    AutoDirectRoutesTunnel = 702, "MS702", "auto-direct-routes-tunnel", Error, "`autoDirectNodeRoutes: true` with tunnel routing, or native routing across sites";
    CiliumPoolOverlap = 703, "MS703", "cilium-pool-overlap", Error, "`ipam: cluster-pool` whose pool overlaps service_cidr, a site subnet or the mesh (Cilium's default pool 10.0.0.0/8 overlaps k3s's 10.43.0.0/16)";
    CiliumSchema = 704, "MS704", "cilium-schema", Error, "a value in `values` has the wrong type for the chart version's `values.schema.json`";
    CiliumTailscaleFwmark = 705, "MS705", "cilium-tailscale-fwmark", Warning, "Cilium tunnel endpoints on Tailscale: Cilium's packet marks can collide with Tailscale's fwmark rule (cilium#35338) so VXLAN leaves by the physical NIC; help gives the check and the mitigation";
    CiliumVersion = 706, "MS706", "cilium-version", Error, "a chart version outside the supported range";
    TailscaleUdpGroTunnel = 707, "MS707", "tailscale-udp-gro-tunnel", Warning, "VXLAN or Geneve between nodes inside Tailscale: tailscaled 1.54+ coalesces received UDP packets on its TUN device and the kernel's vxlan/geneve drivers lose all but the first of a batch (tailscale#11026); the bundle persists `TS_TUN_DISABLE_UDP_GRO=true` for tailscaled";
    MeshAcl = 801, "MS801", "mesh-acl", Info, "the ports the mesh policy must allow between nodes (6443/tcp to servers, 10250/tcp, 8472/udp or 6081/udp, 4240/tcp and ICMP for Cilium health, 2379-2380/tcp between servers); help renders a Tailscale ACL snippet and firewall commands";
    WgPublicKey = 820, "MS820", "wg-public-key", Error, "a node has no `wireguard.public_key`, or it is not 32 bytes of base64";
    WgDuplicateKey = 821, "MS821", "wg-duplicate-key", Error, "two nodes share a public key";
    WgUnreachablePair = 822, "MS822", "wg-unreachable-pair", Error, "two nodes cannot reach each other directly (both behind NAT, or no endpoint) and no relay can serve them; names the pair";
    WgPortClash = 823, "MS823", "wg-port-clash", Error, "the mesh's listen port and flannel `wireguard-native`'s port are the same UDP port on a node";
    EtcdNodeIpChange = 901, "MS901", "etcd-node-ip-change", Error, "a server's node-ip changes after the cluster exists: etcd keeps the old peer address (the seed's \"etcd IP conflict\"); help: keep node-ip, add advertise-address";
    CidrChange = 902, "MS902", "cidr-change", Error, "cluster_cidr, service_cidr or node_cidr_mask changes: needs a rebuilt cluster";
    CniChange = 903, "MS903", "cni-change", Warning, "CNI plugin, tunnel protocol or flannel backend changes: every node restarts, pod networking drops meanwhile";
    RestartOrder = 904, "MS904", "restart-order", Info, "the rolling order: one node at a time, servers before agents, each Ready before the next";
    K3sUpgrade = 905, "MS905", "k3s-upgrade", Info, "`k3s.version` changes: the upgrade steps (etcd snapshot and how to restore it, servers one at a time, then agents, verify), manual and with system-upgrade-controller";
    UpgradeSkipsMinor = 906, "MS906", "upgrade-skips-minor", Error, "the k3s upgrade skips a minor version (control planes go one minor version at a time); help: the intermediate line";
    K3sDowngrade = 907, "MS907", "k3s-downgrade", Error, "`k3s.version` goes down: k3s does not support downgrading a datastore";
    UpgradeVersionUnknown = 908, "MS908", "upgrade-version-unknown", Warning, "the old spec pinned no version, so what runs is unknown; help: `meshspec check-live` reads it from the nodes";
    CiliumUpgradeSkipsMinor = 909, "MS909", "cilium-upgrade-skips-minor", Error, "`cni.cilium.version` skips a minor line (Cilium upgrades one minor at a time)";
    NodeFilesChange = 910, "MS910", "node-files-change", Info, "per node: the bundle files that change and what applying each takes (restart, firewall re-run, helm upgrade, policy merge first)";
    LiveNodeMissing = 951, "MS951", "live-node-missing", Error, "a node of the spec is not in the cluster";
    LiveNodeUnknown = 952, "MS952", "live-node-unknown", Warning, "a node of the cluster is not in the spec";
    LiveInternalIp = 953, "MS953", "live-internal-ip", Error, "a node's InternalIP is not the node-ip the spec resolves (the second seed's failure: the GPU worker registered with its LAN address)";
    LivePodCidr = 954, "MS954", "live-pod-cidr", Warning, "a node's podCIDR(s) differ from the prediction (error when the spec pins `pod_cidr`)";
    LiveFlannelEndpoint = 955, "MS955", "live-flannel-endpoint", Error, "`flannel.alpha.coreos.com/public-ip` (the VXLAN endpoint) is not the address the spec expects (the mesh address when flannel rides the mesh)";
    LiveLabelsTaints = 956, "MS956", "live-labels-taints", Warning, "a label or taint the spec gives a node is missing or different on the node";
    LiveVersion = 957, "MS957", "live-version", Warning, "a kubelet's version differs from `k3s.version`, or an agent runs a newer version than some server";
    LiveNotReady = 958, "MS958", "live-not-ready", Warning, "a node's Ready condition is not True";
    TestbedFlowBlocked = 961, "MS961", "testbed-flow-blocked", Error, "a flow the cluster needs does not pass between two nodes (port, protocol, path, the deciding rule/file)";
    TestbedFlowExposed = 962, "MS962", "testbed-flow-exposed", Error, "a cluster port answers a host that is not a node (LAN, mesh or internet outsider, or a spoofed pod source)";
    TestbedMtu = 963, "MS963", "testbed-mtu", Error, "a packet of the pod MTU with DF set does not pass between two pods, or one byte more is dropped silently (black hole), or a TCP transfer stalls";
    TestbedMeshUnreachable = 964, "MS964", "testbed-mesh-unreachable", Error, "a node does not reach another node's mesh address";
    TestbedScript = 965, "MS965", "testbed-script", Error, "a firewall script exits non-zero, writes to stderr, or is not idempotent";
    TestbedUnit = 966, "MS966", "testbed-unit", Error, "a rendered systemd unit or drop-in fails `systemd-analyze verify`";
}

impl Code {
    /// Looks a code up by its text (`MS101`, case-insensitive) or its slug (`pod-service-overlap`).
    ///
    /// ```
    /// use meshspec::Code;
    /// assert_eq!(Code::lookup("ms101"), Some(Code::PodServiceOverlap));
    /// assert_eq!(Code::lookup("pod-service-overlap"), Some(Code::PodServiceOverlap));
    /// assert_eq!(Code::lookup("MS999"), None);
    /// ```
    #[must_use]
    pub fn lookup(text: &str) -> Option<Code> {
        let t = text.trim();
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(t) || c.slug().eq_ignore_ascii_case(t))
    }
}

/// The text is not a known rule code or slug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a meshspec rule code (codes look like `MS101`)")]
pub struct UnknownCode(pub String);

impl FromStr for Code {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Code::lookup(s).ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_text_agree_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            assert_eq!(c.as_str(), format!("MS{:03}", c.number()));
            assert!(seen.insert(c.number()), "duplicate {c}");
            assert_eq!(Code::lookup(c.slug()), Some(*c));
        }
        assert_eq!(Code::ALL.len(), 91);
    }

    #[test]
    fn every_page_has_the_four_sections() {
        for c in Code::ALL {
            let page = c.page();
            assert!(
                page.starts_with(&format!("# {}: {}", c.as_str(), c.slug())),
                "{c} page title"
            );
            for section in [
                "## What it checks",
                "## Why it matters",
                "## Example",
                "## Fix",
            ] {
                assert!(page.contains(section), "{c} page lacks {section}");
            }
        }
    }
}
