//! Parse + validate + render at 10 to 5,000 nodes.
//!
//! Goals (README, "Speed"): a 5,000-node bundle in under 50 ms on one core of the CI machine,
//! cost linear in nodes, peak memory under 64 MiB. `cargo bench -p meshspec --bench pipeline`
//! prints the time and, through divan's allocation profiler, the bytes allocated per stage
//! (`max alloc` is the peak).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails by panicking"
)]

use std::fmt::Write as _;

use divan::{AllocProfiler, Bencher, black_box};
use meshspec::{Cluster, RenderOptions};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

const SIZES: &[usize] = &[10, 100, 1_000, 5_000];

/// A realistic spec: 3 servers on the first site, agents spread over 50 sites, every node with
/// a LAN and a mesh address, a label, GPU nodes every 25th, a proxy.
fn spec(nodes: usize) -> String {
    let mut s = String::from(
        "version: 1\nname: bench\nnetwork:\n  cluster_cidr: 10.64.0.0/10\nproxy:\n  http: http://proxy.lan:3128\n  style: precise\nsites:\n",
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

fn main() {
    // the generated specs must be clean, or the benchmark would time the error path
    for n in SIZES {
        let c = Cluster::from_yaml(&spec(*n)).expect("bench spec reads");
        let d = c.validate();
        assert!(!d.has_errors(), "{n} nodes: {}", d.render(None));
    }
    divan::main();
}

#[divan::bench(args = SIZES)]
fn parse(b: Bencher, nodes: usize) {
    let text = spec(nodes);
    b.bench(|| Cluster::from_yaml(black_box(&text)).expect("reads"));
}

#[divan::bench(args = SIZES)]
fn validate(b: Bencher, nodes: usize) {
    let cluster = Cluster::from_yaml(&spec(nodes)).expect("reads");
    b.bench(|| black_box(&cluster).validate());
}

#[divan::bench(args = SIZES)]
fn pipeline(b: Bencher, nodes: usize) {
    let text = spec(nodes);
    let opts = RenderOptions::default();
    b.bench(|| {
        Cluster::from_yaml(black_box(&text))
            .expect("reads")
            .render(&opts)
            .expect("renders")
    });
}
