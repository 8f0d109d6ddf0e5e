//! Tests of `mtu`.

use super::*;

#[test]
fn tunnel_and_mesh_overheads() {
    let cases = [
        (Tunnel::Vxlan, Family::Ipv4, 50),
        (Tunnel::Vxlan, Family::Ipv6, 70),
        (Tunnel::Geneve, Family::Ipv4, 50),
        (Tunnel::Geneve, Family::Ipv6, 70),
    ];
    for (t, fam, want) in cases {
        assert_eq!(tunnel_overhead(t, fam), want, "{t} over {fam}");
    }
    assert_eq!(mesh_overhead(Family::Ipv4), 60);
    assert_eq!(mesh_overhead(Family::Ipv6), 80);
}

#[test]
fn flannel_table() {
    let cases = [
        (FlannelBackend::Vxlan, 1500, 1450),
        (FlannelBackend::Vxlan, TAILSCALE_MTU, 1230),
        (FlannelBackend::WireguardNative, TAILSCALE_MTU, 1200),
        (FlannelBackend::HostGw, 1500, 1500),
        (FlannelBackend::TailscaleExtension, TAILSCALE_MTU, 1280),
        (FlannelBackend::WireguardNative, 40, 0),
    ];
    for (b, iface, want) in cases {
        assert_eq!(flannel_pod_mtu(iface, b), want, "{b:?} on {iface}");
    }
}

#[test]
fn cilium_route_mtu_table() {
    let v4 = Some((Tunnel::Vxlan, Family::Ipv4));
    let v6 = Some((Tunnel::Vxlan, Family::Ipv6));
    let gen4 = Some((Tunnel::Geneve, Family::Ipv4));
    let cases = [
        (1280, v4, CiliumEncryption::None, 20, 1230),
        (1280, v6, CiliumEncryption::None, 20, 1210),
        (1280, gen4, CiliumEncryption::None, 19, 1230),
        (1280, v4, CiliumEncryption::WireGuard, 20, 1135),
        (1280, v4, CiliumEncryption::WireGuard, 19, 1135),
        (1280, v4, CiliumEncryption::WireGuard, 18, 1150),
        (1500, None, CiliumEncryption::WireGuard, 18, 1420),
        (1500, None, CiliumEncryption::WireGuard, 20, 1405),
        (1500, v4, CiliumEncryption::Ipsec, 20, 1373),
        (1500, None, CiliumEncryption::Ipsec, 20, 1423),
        (1500, None, CiliumEncryption::None, 20, 1500),
        (0, v4, CiliumEncryption::None, 20, 1450),
        // the double subtraction MS302 warns about: MTU 1230 gives pods 1180
        (1230, v4, CiliumEncryption::None, 20, 1180),
        (60, v4, CiliumEncryption::WireGuard, 20, 0),
    ];
    for (base, tunnel, enc, minor, want) in cases {
        assert_eq!(
            cilium_route_mtu(base, tunnel, enc, minor),
            want,
            "{base} {tunnel:?} {enc:?} 1.{minor}"
        );
    }
}

#[test]
fn stack_over_tailscale() {
    let s = Stack::underlay("underlay", 1500)
        .mesh("tailscale0", TAILSCALE_MTU, mesh_overhead(Family::Ipv4))
        .tunnel(Tunnel::Vxlan, Family::Ipv4)
        .pod("pod eth0");
    assert_eq!(s.pod_mtu(), 1230);
    assert_eq!(s.underlay_mtu(), 1500);
    assert_eq!(s.total_overhead(), 110);
    assert_eq!(s.layers()[2].name, "VXLAN over IPv4 (-50)");
    assert!(s.violations().is_empty());
    // Cilium's MTU value is the mesh MTU, and Cilium's own arithmetic agrees with the stack
    let cilium = cilium_route_mtu(
        TAILSCALE_MTU,
        Some((Tunnel::Vxlan, Family::Ipv4)),
        CiliumEncryption::None,
        20,
    );
    assert_eq!(cilium, s.pod_mtu());
}

#[test]
fn violations_table() {
    // (underlay, mesh mtu, mesh overhead, explicit pod mtu, expected excesses)
    type Case = (u32, u32, u32, Option<u32>, &'static [u32]);
    let cases: [Case; 5] = [
        (1500, 1280, 80, None, &[]),
        (1492, 1420, 80, None, &[8]),
        (1500, 1420, 80, None, &[]),
        (1500, 1280, 80, Some(1450), &[220]),
        (1280, 1420, 80, Some(1500), &[220, 130]),
    ];
    for (under, mesh, oh, pod, want) in cases {
        let s = Stack::underlay("u", under)
            .mesh("m", mesh, oh)
            .tunnel(Tunnel::Vxlan, Family::Ipv4);
        let s = match pod {
            Some(p) => s.pod_with_mtu("pod", p),
            None => s.pod("pod"),
        };
        let got: Vec<u32> = s.violations().iter().map(|v| v.excess).collect();
        assert_eq!(got, want, "{under}/{mesh}+{oh}/{pod:?}");
    }
}

#[test]
fn display_shows_overflow_and_notes() {
    let s = Stack::underlay("underlay (site dsl)", 1492)
        .mesh("wg0 (WireGuard +80)", WIREGUARD_MTU, 80)
        .with_note("wg-quick default")
        .tunnel(Tunnel::Vxlan, Family::Ipv4)
        .pod("pod eth0");
    let want = "underlay (site dsl)    1492\n\
                wg0 (WireGuard +80)    1420   too big: 1420 + 80 = 1500 > 1492 (8 bytes over)   wg-quick default\n\
                VXLAN over IPv4 (-50)  1370\n\
                pod eth0               1370";
    assert_eq!(s.to_string(), want);
    assert_eq!(
        s.violations()[0].to_string(),
        "`wg0 (WireGuard +80)` hands down packets of up to 1500 bytes but `underlay (site dsl)` carries at most 1492: 8 bytes too many"
    );
}

#[test]
fn arithmetic_saturates() {
    let s = Stack::underlay("u", 10)
        .encap("big", 100)
        .encap("bigger", u32::MAX)
        .pod("p");
    assert_eq!(s.pod_mtu(), 0);
    let s = Stack::underlay("u", u32::MAX).mesh("m", u32::MAX, u32::MAX);
    assert_eq!(s.total_overhead(), u32::MAX);
    assert_eq!(s.violations()[0].excess, u32::MAX);
}
