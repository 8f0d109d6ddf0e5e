//! The calculators on their own: an MTU stack and a NO_PROXY line, without a spec.
//!
//! `cargo run -p meshspec --example calculators`

#![allow(
    clippy::panic,
    reason = "an example fails loudly on a typo in its own constants"
)]

use meshspec::cidr::{Cidr, Family};
use meshspec::mtu::{Stack, Tunnel, mesh_overhead};
use meshspec::no_proxy::{Inputs, Style, join, synthesize};

fn main() {
    // Tailscale (1280) over a PPPoE uplink (1492), VXLAN over IPv4 inside it.
    let stack = Stack::underlay("underlay (PPPoE)", 1492)
        .mesh("tailscale0", 1280, mesh_overhead(Family::Ipv6))
        .tunnel(Tunnel::Vxlan, Family::Ipv4)
        .pod("pod eth0");
    println!("{stack}");
    println!("pod MTU: {}\n", stack.pod_mtu());

    let parse = |s: &str| s.parse::<Cidr>().unwrap_or_else(|e| panic!("{e}"));
    let (pods, services, mesh, home) = (
        [parse("10.42.0.0/16")],
        [parse("10.43.0.0/16")],
        [parse("100.64.0.0/10")],
        [parse("192.168.2.0/24")],
    );
    let nodes = ["192.168.2.20".parse().unwrap_or_else(|e| panic!("{e}"))];
    let inputs = Inputs {
        style: Style::Precise,
        cluster_cidrs: &pods,
        service_cidrs: &services,
        node_addresses: &nodes,
        site_subnets: &home,
        mesh_ranges: &mesh,
        server_hosts: &[],
        cluster_domain: "cluster.local",
        dns_suffix: Some("tail1234.ts.net"),
        extra: &[],
    };
    println!("NO_PROXY={}", join(&synthesize(&inputs)));
}
