//! The encapsulation stack of a node: underlay, mesh, tunnel, pods.

use super::{Cluster, Cni, Node, NodeIpMode};
use crate::cidr::Family;
use crate::cilium::ChartLine;
use crate::mtu::{self, CiliumEncryption, Layer, Stack, Tunnel};
use crate::render::line::one_line;
use crate::spec::{FlannelBackend, TunnelProtocol};

/// The mesh's own overhead assumed on the underlay: WireGuard over IPv6 (80 bytes), the case
/// WireGuard's own 1420 default is sized for, since a site's uplink may be IPv6.
pub const MESH_UNDERLAY_FAMILY: Family = Family::Ipv6;

impl Cluster {
    /// The stack of one node, layer by layer, from its site's underlay to the pods.
    ///
    /// ```
    /// use meshspec::Cluster;
    /// let c = Cluster::from_yaml("version: 1\nname: lab\ncni: {plugin: cilium}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
    /// let stack = c.mtu_stack(&c.nodes[0]);
    /// assert_eq!(stack.pod_mtu(), 1230);
    /// ```
    #[must_use]
    pub fn mtu_stack(&self, node: &Node) -> Stack {
        let site = node.site.as_deref().map_or_else(
            || "underlay".to_owned(),
            |s| format!("underlay (site {})", one_line(s)),
        );
        let mut stack = Stack::underlay(site, self.underlay_mtu(node));
        // a tunnel between LAN node-ips never enters the mesh (Cilium or flannel over the LAN);
        // names are validated, one_line keeps each layer on its line whatever they hold
        if node.tunnel_over_mesh() {
            stack = stack.mesh(
                format!(
                    "{} ({})",
                    one_line(&self.mesh.interface),
                    self.mesh.provider
                ),
                self.mesh.mtu,
                mtu::mesh_overhead(MESH_UNDERLAY_FAMILY),
            );
        }
        let outer = node.primary_ip().map_or(Family::Ipv4, Family::of);
        match &self.cni {
            Cni::Flannel(f) => {
                let backend = if node.node_ip_mode == NodeIpMode::VpnAuth {
                    mtu::FlannelBackend::TailscaleExtension
                } else {
                    match f.backend {
                        FlannelBackend::Vxlan => mtu::FlannelBackend::Vxlan,
                        FlannelBackend::WireguardNative => mtu::FlannelBackend::WireguardNative,
                        FlannelBackend::HostGw => mtu::FlannelBackend::HostGw,
                    }
                };
                let overhead = mtu::flannel_overhead(backend);
                if overhead > 0 {
                    stack = stack.encap(
                        format!(
                            "flannel {} ({})",
                            backend_word(backend),
                            flannel_device(backend)
                        ),
                        overhead,
                    );
                    if let Some(v6) = self.flannel_v6_device_mtu(node) {
                        stack = stack.with_note(format!(
                            "IPv4; IPv6 pod traffic leaves by {FLANNEL_V6_DEVICE} at {v6} (VXLAN over IPv6, -70)"
                        ));
                    }
                }
                stack.pod("pod eth0")
            }
            Cni::Cilium(cil) => {
                let tunnel = match cil.tunnel {
                    TunnelProtocol::Vxlan => Tunnel::Vxlan,
                    TunnelProtocol::Geneve => Tunnel::Geneve,
                };
                stack = stack.layer(Layer {
                    name: "Cilium MTU (device MTU)".to_owned(),
                    mtu: cil.mtu,
                    overhead: 0,
                    note: "Helm `MTU`: the underlay of the tunnel".to_owned(),
                });
                stack = stack.tunnel(tunnel, outer);
                match self.cilium_encryption() {
                    CiliumEncryption::WireGuard => {
                        let o = mtu::cilium_wireguard_overhead(
                            cil.line.unwrap_or_else(ChartLine::newest).minor(),
                        );
                        stack = stack.encap("Cilium WireGuard", o);
                    }
                    CiliumEncryption::Ipsec => {
                        stack = stack.encap("Cilium IPsec", mtu::CILIUM_IPSEC_OVERHEAD)
                    }
                    CiliumEncryption::None => {}
                }
                stack.pod("pod eth0")
            }
        }
    }

    /// The smallest pod MTU over all nodes (what a no-fragment test must use).
    #[must_use]
    pub fn pod_mtu(&self) -> u32 {
        *self.pod_mtu_cache.get_or_init(|| {
            self.nodes
                .iter()
                .map(|n| self.mtu_stack(n).pod_mtu())
                .min()
                .unwrap_or(self.mesh.mtu)
        })
    }

    /// The MTU of flannel's IPv6 VXLAN device (`flannel-v6.1`) on `node`, when flannel runs
    /// VXLAN for a pod network with IPv6; `None` otherwise.
    ///
    /// flannel writes one pod MTU for both families, `FLANNEL_MTU` = interface MTU - 50
    /// (`encapOverhead = 50` in `pkg/backend/vxlan/vxlan_network.go`), but creates
    /// `flannel-v6.1` without an MTU of its own (`vxlan.go` never sets the device attributes'
    /// MTU, so `device.go` passes `0 - 50` and netlink omits it): the kernel then gives a VXLAN
    /// device over IPv6 the lower device's MTU minus 70 (`VXLAN6_HEADROOM`: outer IPv6 40 + UDP
    /// 8 + VXLAN 8 + Ethernet 14). IPv6 packets between pods on different nodes therefore carry
    /// at most 20 bytes less than the pod MTU, and a bigger one is answered with ICMPv6 Packet
    /// Too Big by the node.
    #[must_use]
    pub fn flannel_v6_device_mtu(&self, node: &Node) -> Option<u32> {
        let f = self.cni.flannel()?;
        if f.backend != FlannelBackend::Vxlan
            || node.node_ip_mode == NodeIpMode::VpnAuth
            || !self.network.uses_ipv6()
        {
            return None;
        }
        let lower = if node.tunnel_over_mesh() {
            self.mesh.mtu
        } else {
            self.underlay_mtu(node)
        };
        Some(lower.saturating_sub(mtu::tunnel_overhead(Tunnel::Vxlan, Family::Ipv6)))
    }

    /// The largest IPv6 packet pods can send to pods on other nodes, over all nodes: the pod
    /// MTU, or `flannel-v6.1`'s smaller MTU with flannel VXLAN. `None` without IPv6.
    #[must_use]
    pub fn pod_mtu_ipv6(&self) -> Option<u32> {
        if !self.network.uses_ipv6() {
            return None;
        }
        let pod = self.pod_mtu();
        Some(
            self.nodes
                .iter()
                .filter_map(|n| self.flannel_v6_device_mtu(n))
                .min()
                .map_or(pod, |v6| v6.min(pod)),
        )
    }

    /// Whether `node` receives VXLAN or Geneve from other nodes through Tailscale's TUN device,
    /// where tailscaled (1.54+, on kernels with TUN UDP offload) coalesces received UDP
    /// packets and the kernel's vxlan/geneve drivers lose all but the first of a batch
    /// (tailscale#11026, open): flannel VXLAN or Cilium tunnelling between mesh addresses.
    /// k3s's own vpn-auth backend routes without VXLAN and is not affected.
    #[must_use]
    pub fn tunnel_in_tailscale(&self, node: &Node) -> bool {
        if !self.mesh.is_tailscale()
            || self.nodes.len() < 2
            || !node.tunnel_over_mesh()
            || node.node_ip_mode == NodeIpMode::VpnAuth
        {
            return false;
        }
        match &self.cni {
            Cni::Flannel(f) => f.backend == FlannelBackend::Vxlan,
            Cni::Cilium(_) => true,
        }
    }

    /// Cilium's own encryption as set in `cni.cilium.values`.
    #[must_use]
    pub fn cilium_encryption(&self) -> CiliumEncryption {
        let Some(cil) = self.cni.cilium() else {
            return CiliumEncryption::None;
        };
        let Some(enc) = cil.values.get("encryption") else {
            return CiliumEncryption::None;
        };
        if enc.get("enabled").and_then(serde_json::Value::as_bool) != Some(true) {
            return CiliumEncryption::None;
        }
        match enc.get("type").and_then(serde_json::Value::as_str) {
            Some("wireguard") => CiliumEncryption::WireGuard,
            _ => CiliumEncryption::Ipsec,
        }
    }
}

/// flannel's IPv6 VXLAN device (`flannel-v6.<VNI>`, VNI 1: flannel `pkg/backend/vxlan/vxlan.go`).
pub const FLANNEL_V6_DEVICE: &str = "flannel-v6.1";

/// The device flannel creates for a backend: `flannel.1` for VXLAN, `flannel-wg` (and
/// `flannel-wg-v6`) for wireguard-native (flannel `pkg/backend/wireguard`), none for host-gw;
/// k3s's Tailscale extension routes over `tailscale0` itself.
#[must_use]
pub fn flannel_device(b: mtu::FlannelBackend) -> &'static str {
    match b {
        mtu::FlannelBackend::Vxlan => "flannel.1",
        mtu::FlannelBackend::WireguardNative => "flannel-wg",
        mtu::FlannelBackend::HostGw => "no tunnel device",
        mtu::FlannelBackend::TailscaleExtension => "tailscale0",
    }
}

fn backend_word(b: mtu::FlannelBackend) -> &'static str {
    match b {
        mtu::FlannelBackend::Vxlan => "VXLAN",
        mtu::FlannelBackend::WireguardNative => "wireguard-native",
        mtu::FlannelBackend::HostGw => "host-gw",
        mtu::FlannelBackend::TailscaleExtension => "tailscale extension",
    }
}
