//! MS3xx: MTU.

use crate::cidr::Family;
use crate::cluster::{Cluster, Cni, NodeIpMode};
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::mtu::{self, CiliumEncryption, IPV6_MIN_MTU, Tunnel};
use crate::spec::{FlannelBackend, TunnelProtocol};

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let Some(first) = c.nodes.first() else { return };
    if let Cni::Cilium(cil) = &c.cni {
        let stack = c.mtu_stack(first);
        if cil.mtu_explicit && cil.mtu > c.mesh.mtu {
            out.push(
                Diagnostic::new(
                    Code::MtuTooLarge,
                    "cni.cilium.mtu",
                    format!(
                        "Cilium MTU {} is larger than the {} MTU {} that carries its tunnel: packets fragment or drop",
                        cil.mtu, c.mesh.interface, c.mesh.mtu
                    ),
                )
                .with_help(format!("use `mtu: auto` (= {}), Cilium subtracts the tunnel itself\n{stack}", c.mesh.mtu)),
            );
        }
        let tunnel = match cil.tunnel {
            TunnelProtocol::Vxlan => Tunnel::Vxlan,
            TunnelProtocol::Geneve => Tunnel::Geneve,
        };
        let outer = first.primary_ip().map_or(Family::Ipv4, Family::of);
        let presub = c
            .mesh
            .mtu
            .saturating_sub(mtu::tunnel_overhead(tunnel, outer));
        if cil.mtu_explicit && cil.mtu == presub {
            out.push(
                Diagnostic::new(
                    Code::CiliumMtuPresubtracted,
                    "cni.cilium.mtu",
                    format!(
                        "Cilium MTU {} is the mesh MTU {} minus the {} overhead: Cilium subtracts it again, leaving pods {}",
                        cil.mtu,
                        c.mesh.mtu,
                        cil.tunnel,
                        cil.mtu.saturating_sub(mtu::tunnel_overhead(tunnel, outer))
                    ),
                )
                .with_help(format!("Cilium's `MTU` is the underlay value: use `mtu: auto` (= {}) and pods get {presub}", c.mesh.mtu)),
            );
        }
        if c.cilium_encryption() != CiliumEncryption::None {
            out.push(
                Diagnostic::new(
                    Code::DoubleEncryption,
                    "cni.cilium.values.encryption",
                    format!("Cilium encryption runs inside {}, which already encrypts: pods get {} instead of {}", c.mesh.provider, stack.pod_mtu(), c.mesh.mtu.saturating_sub(mtu::tunnel_overhead(tunnel, outer))),
                )
                .with_help("remove `encryption` from `cni.cilium.values` unless a policy requires a second layer"),
            );
        }
    }
    if let Some(f) = c.cni.flannel()
        && f.backend == FlannelBackend::WireguardNative
        && c.nodes
            .iter()
            .any(|n| n.node_ip_mode != NodeIpMode::Lan || n.flannel_iface.is_some())
    {
        out.push(
            Diagnostic::new(
                Code::DoubleEncryption,
                "cni.flannel.backend",
                format!(
                    "flannel `wireguard-native` tunnels inside {}, which already encrypts: pods get {} instead of {}",
                    c.mesh.provider,
                    c.mesh.mtu.saturating_sub(80),
                    c.mesh.mtu.saturating_sub(50)
                ),
            )
            .with_help("use `backend: vxlan`: the mesh already encrypts every packet between nodes"),
        );
    }
    // with flannel VXLAN, IPv6 between nodes rides flannel-v6.1, 20 bytes smaller than the pod
    // MTU (see `Cluster::flannel_v6_device_mtu`); below 1280 the kernel keeps IPv6 off it
    if let Some(v6) = c.pod_mtu_ipv6()
        && v6 < c.pod_mtu()
        && v6 < IPV6_MIN_MTU
        && c.pod_mtu() >= IPV6_MIN_MTU
    {
        let stack = c.mtu_stack(first);
        out.push(
            Diagnostic::new(
                Code::Ipv6MinMtu,
                "network.cluster_cidr",
                format!("flannel's IPv6 VXLAN device `{}` gets MTU {v6} (its lower device minus 70: VXLAN over IPv6), below IPv6's minimum of {IPV6_MIN_MTU}: the kernel keeps IPv6 off it and IPv6 between pods on different nodes breaks", crate::cluster::FLANNEL_V6_DEVICE),
            )
            .with_help(format!(
                "raise the MTU under flannel to at least {} (`mesh.mtu`, or the site's `mtu`), or run the pod network IPv4-only\n{stack}",
                IPV6_MIN_MTU + 70
            )),
        );
    }
    if c.network.uses_ipv6() {
        let pod = c.pod_mtu();
        if pod < IPV6_MIN_MTU {
            let stack = c.mtu_stack(first);
            out.push(
                Diagnostic::new(
                    Code::Ipv6MinMtu,
                    "network.cluster_cidr",
                    format!("pods get MTU {pod}, below IPv6's minimum of {IPV6_MIN_MTU}: IPv6 on the pod network breaks"),
                )
                .with_help(format!(
                    "raise the mesh MTU to at least {} (`mesh.mtu`), or run the pod network IPv4-only\n{stack}",
                    // flannel-v6.1 must reach 1280 too (70 below its interface, not 50)
                    IPV6_MIN_MTU + (c.mesh.mtu.saturating_sub(c.pod_mtu_ipv6().map_or(pod, |v6| v6.min(pod))))
                )),
            );
        }
    }
    let overhead = mtu::mesh_overhead(crate::cluster::MESH_UNDERLAY_FAMILY);
    for (i, s) in c.sites.iter().enumerate() {
        if !c
            .nodes
            .iter()
            .any(|n| n.site.as_deref() == Some(s.name.as_str()))
        {
            continue;
        }
        if c.mesh.mtu + overhead > s.mtu {
            out.push(
                Diagnostic::new(
                    Code::MeshMtuOverUnderlay,
                    format!("sites[{i}].mtu"),
                    format!(
                        "{} MTU {} plus its {overhead}-byte overhead is {}, more than site `{}`'s underlay MTU {}",
                        c.mesh.interface,
                        c.mesh.mtu,
                        c.mesh.mtu + overhead,
                        s.name,
                        s.mtu
                    ),
                )
                .with_help(format!("set `mesh.mtu: {}` so mesh packets fit the site's uplink unfragmented", s.mtu.saturating_sub(overhead))),
            );
        }
    }
}

/// MS707: VXLAN/Geneve inside Tailscale and TUN UDP GRO (tailscale#11026).
pub(super) fn udp_gro(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let nodes: Vec<&str> = c
        .nodes
        .iter()
        .filter(|n| c.tunnel_in_tailscale(n))
        .map(|n| n.name.as_str())
        .collect();
    if nodes.is_empty() {
        return;
    }
    let tunnel = match &c.cni {
        Cni::Flannel(_) => "flannel's VXLAN",
        Cni::Cilium(cil) => match cil.tunnel {
            TunnelProtocol::Vxlan => "Cilium's VXLAN",
            TunnelProtocol::Geneve => "Cilium's Geneve",
        },
    };
    out.push(
        Diagnostic::new(
            Code::TailscaleUdpGroTunnel,
            "mesh.provider",
            format!(
                "{tunnel} runs inside `{}`: tailscaled 1.54 and later coalesces the UDP packets it receives into one on its TUN device (UDP GRO, Linux 6.2+), and the kernel's vxlan/geneve drivers lose all but the first of a batch, so pod traffic between nodes drops packets and TCP crawls (tailscale#11026, open)",
                c.mesh.interface
            ),
        )
        .with_help(format!(
            "the bundle's `{}` sets `TS_TUN_DISABLE_UDP_GRO=true` for tailscaled (tailscale#11924, Tailscale 1.66+); it takes effect when tailscaled next starts: `sudo systemctl restart tailscaled` from a console that does not run over Tailscale",
            crate::render::dropin::TAILSCALED_DROPIN
        )),
    );
}
