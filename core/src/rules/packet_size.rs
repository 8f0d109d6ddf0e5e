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
    mesh_over_underlay(c, out);
}

/// The family of the packets a WireGuard mesh sends over a site's link: plain WireGuard talks
/// to the peers' endpoints, which sit on the site's networks, so IPv4 unless a subnet of the
/// site or a LAN address of one of its nodes is IPv6. The other meshes choose their paths
/// themselves (direct IPv6, DERP or relays), so the IPv6 worst case holds for them.
fn underlay_family(c: &Cluster, site: &crate::cluster::Site) -> Family {
    if c.mesh.provider != crate::spec::Provider::Wireguard {
        return crate::cluster::MESH_UNDERLAY_FAMILY;
    }
    let v6_subnet = site.subnets.iter().any(|s| s.family() == Family::Ipv6);
    let v6_node = c
        .nodes
        .iter()
        .filter(|n| n.site.as_deref() == Some(site.name.as_str()))
        .flat_map(|n| &n.lan_ips)
        .any(|ip| Family::of(*ip) == Family::Ipv6);
    if v6_subnet || v6_node {
        Family::Ipv6
    } else {
        Family::Ipv4
    }
}

/// MS305: the mesh MTU plus the mesh's overhead (60 bytes over IPv4, 80 over IPv6) must fit
/// every site's link. Points at what the user wrote (`mesh.mtu` when set, else the site's
/// `mtu`) and gives the one mesh MTU that fits every site.
fn mesh_over_underlay(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let populated: Vec<(usize, &crate::cluster::Site, u32)> = c
        .sites
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            c.nodes
                .iter()
                .any(|n| n.site.as_deref() == Some(s.name.as_str()))
        })
        .map(|(i, s)| (i, s, mtu::mesh_overhead(underlay_family(c, s))))
        .collect();
    let Some(fits) = populated
        .iter()
        .map(|(_, s, overhead)| s.mtu.saturating_sub(*overhead))
        .min()
    else {
        return;
    };
    let over: Vec<&(usize, &crate::cluster::Site, u32)> = populated
        .iter()
        .filter(|(_, s, overhead)| c.mesh.mtu + overhead > s.mtu)
        .collect();
    let sum = |overhead: u32, s: &crate::cluster::Site| {
        format!(
            "site `{}`'s underlay MTU {} ({} + {overhead} = {})",
            s.name,
            s.mtu,
            c.mesh.mtu,
            c.mesh.mtu + overhead
        )
    };
    let all = if populated.len() > 1 {
        " (the smallest site MTU minus its overhead: the one value that fits every site)"
    } else {
        ""
    };
    if c.mesh.mtu_explicit {
        if over.is_empty() {
            return;
        }
        let sites: Vec<String> = over.iter().map(|(_, s, o)| sum(*o, s)).collect();
        out.push(
            Diagnostic::new(
                Code::MeshMtuOverUnderlay,
                "mesh.mtu",
                format!(
                    "{} MTU {} plus the mesh's overhead is more than {}",
                    c.mesh.interface,
                    c.mesh.mtu,
                    sites.join(" and ")
                ),
            )
            .with_help(format!(
                "set `mesh.mtu: {fits}`{all}, and the same MTU on the mesh interfaces"
            )),
        );
        return;
    }
    for (i, s, overhead) in over {
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
            .with_help(format!("set `mesh.mtu: {fits}`{all}, so mesh packets fit every uplink unfragmented")),
        );
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

#[cfg(test)]
mod tests {
    use crate::{Cluster, Code, Diagnostic};

    fn ms305(mesh_mtu: &str, sites: &str) -> Vec<Diagnostic> {
        let spec = format!(
            "version: 1\nname: lab\nmesh:\n  provider: wireguard\n  ipv4_range: 10.99.0.0/24\n{mesh_mtu}sites:\n{sites}nodes:\n  - {{name: s, role: server, site: a, mesh_ip: 10.99.0.1}}\n  - {{name: w, role: agent, site: b, mesh_ip: 10.99.0.2}}\n"
        );
        Cluster::from_yaml(&spec)
            .unwrap()
            .validate()
            .iter()
            .filter(|d| d.code == Code::MeshMtuOverUnderlay)
            .cloned()
            .collect()
    }

    const TWO_SITES: &str = "  - {name: a, subnets: [192.168.1.0/24], mtu: 1400}\n  - {name: b, subnets: [\"2001:db8:1::/64\"], mtu: 1450}\n";

    #[test]
    fn an_explicit_mesh_mtu_is_pointed_at_once_with_the_value_that_fits_every_site() {
        let ds = ms305("  mtu: 1420\n", TWO_SITES);
        assert_eq!(ds.len(), 1, "{ds:?}");
        let d = &ds[0];
        assert_eq!(d.path, "mesh.mtu");
        assert_eq!(d.line, Some(6));
        // 1400 - 60 (IPv4 site) = 1340 and 1450 - 80 (IPv6 site) = 1370: only 1340 fits both
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .starts_with("set `mesh.mtu: 1340`"),
            "{d:?}"
        );
        assert!(d.message.contains("1420 + 60 = 1480") && d.message.contains("1420 + 80 = 1500"));
    }

    #[test]
    fn a_default_mesh_mtu_points_at_each_site_with_one_value() {
        let ds = ms305("", TWO_SITES);
        let paths: Vec<&str> = ds.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["sites[0].mtu", "sites[1].mtu"]);
        for d in &ds {
            assert!(
                d.help
                    .as_deref()
                    .unwrap()
                    .starts_with("set `mesh.mtu: 1340`")
            );
        }
    }

    #[test]
    fn wireguard_over_ipv4_endpoints_costs_60_bytes_and_over_ipv6_80() {
        // 1420 + 60 = 1480 fits an IPv4 link of 1480
        let v4 = "  - {name: a, subnets: [192.168.1.0/24], mtu: 1480}\n  - {name: b, subnets: [192.168.2.0/24]}\n";
        assert!(ms305("", v4).is_empty());
        // 1420 + 80 = 1500 does not fit an IPv6 link of 1480
        let v6 = "  - {name: a, subnets: [\"2001:db8:1::/64\"], mtu: 1480}\n  - {name: b, subnets: [192.168.2.0/24]}\n";
        let ds = ms305("", v6);
        assert_eq!(ds.len(), 1);
        assert!(
            ds[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("set `mesh.mtu: 1400`")
        );
    }
}
