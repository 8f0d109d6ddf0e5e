//! The benchmarks' spec generator, shared by the in-memory pipeline bench and the whole-CLI
//! render bench so both measure the same cluster.

use std::fmt::Write as _;

/// A realistic spec: 3 servers on the first site, agents spread over 50 sites, every node with
/// a LAN and a mesh address, a label, GPU nodes every 25th, a proxy. The pod network is a /9:
/// 20,000 nodes need 20,000 /24 pod subnets (a /10 holds 16,384).
pub fn spec(nodes: usize) -> String {
    let mut s = String::from(
        "version: 1\nname: bench\nnetwork:\n  cluster_cidr: 10.128.0.0/9\nproxy:\n  http: http://proxy.lan:3128\n  style: precise\nsites:\n",
    );
    for site in 0..50 {
        let _ = writeln!(
            s,
            "  - name: site-{site}\n    subnets: [172.{}.{}.0/20]",
            16 + site / 16,
            (site % 16) * 16
        );
    }
    s.push_str("nodes:\n");
    let mut per_site = [0usize; 50];
    for i in 0..nodes {
        let site = if i < 3 { 0 } else { i % 50 };
        let role = if i < 3 { "server" } else { "agent" };
        let k = per_site[site]; // index within its site
        per_site[site] += 1;
        let lan = format!(
            "172.{}.{}.{}",
            16 + site / 16,
            (site % 16) * 16 + k / 250,
            k % 250 + 1
        );
        let mesh = format!(
            "100.{}.{}.{}",
            64 + i / 62_500,
            (i / 250) % 250,
            i % 250 + 1
        );
        let _ = writeln!(
            s,
            "  - name: node-{i}\n    role: {role}\n    site: site-{site}\n    lan_ip: {lan}\n    mesh_ip: {mesh}\n    labels: {{example.com/rack: r{}}}",
            i % 40
        );
        if i % 25 == 24 {
            s.push_str("    gpu: {vendor: nvidia, model: rtx3060}\n");
        }
    }
    s
}
