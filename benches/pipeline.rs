//! Read + validate + render at 10 to 20,000 nodes.
//!
//! Goals (README, "Speed"): a 5,000-node bundle in under 50 ms on one core of the CI machine
//! with the YAML read in under 15 ms, cost linear in nodes, peak memory under 64 MiB.
//! `cargo bench -p meshspec --bench pipeline` prints the time and, through divan's allocation
//! profiler, the bytes allocated per stage (`max alloc` is the peak).
//!
//! Stages: `yaml` (text to the position-aware tree), `parse` (text to the resolved model:
//! tree, decoding, defaults), `validate`, `render` (validate + every file, from the model)
//! and `pipeline` (all of it, from text).
//!
//! Before divan runs, the linearity check times the whole pipeline at growing sizes and fails
//! (exit code 101) when the time per node grows by more than [`STEP_LIMIT`] from one size to
//! the next: a superlinear step. `cargo test` runs this binary too (`test = true` in
//! core/Cargo.toml), in its quick mode: two small sizes in the dev profile, no divan.
//! `MESHSPEC_LINEARITY=0` skips the check under `cargo bench` (to profile one stage).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails by panicking"
)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use divan::{AllocProfiler, Bencher, black_box};
use meshspec::{Cluster, RenderOptions};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

const SIZES: &[usize] = &[10, 100, 1_000, 5_000, 20_000];

/// Sizes timed by the linearity check under `cargo bench`, and under `cargo test`.
const LINEAR_BENCH: &[usize] = &[1_000, 5_000, 20_000];
const LINEAR_QUICK: &[usize] = &[50, 800];
/// The most the time per node may grow from one checked size to the next. Linear cost keeps
/// the ratio near 1 (fixed costs make it fall); a quadratic step multiplies it by the size
/// ratio (4 and 16 here). The margin absorbs a shared, busy machine: each size's time is the
/// best of several runs, and only a slow run at the larger size can raise the ratio.
const STEP_LIMIT: f64 = 2.5;
/// How many runs each size gets (the best one counts).
const RUNS: usize = 5;

/// A realistic spec: 3 servers on the first site, agents spread over 50 sites, every node with
/// a LAN and a mesh address, a label, GPU nodes every 25th, a proxy.
fn spec(nodes: usize) -> String {
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

/// The best of [`RUNS`] timings of the whole pipeline at `nodes`.
#[expect(clippy::disallowed_methods, reason = "a benchmark reads the clock")]
fn best_time(nodes: usize) -> Duration {
    let text = spec(nodes);
    let opts = RenderOptions::default();
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let bundle = Cluster::from_yaml(black_box(&text))
                .expect("reads")
                .render(&opts)
                .expect("renders");
            let took = start.elapsed();
            drop(black_box(bundle));
            took
        })
        .min()
        .unwrap_or_default()
}

/// Fails on a superlinear step between consecutive sizes (see [`STEP_LIMIT`]).
fn check_linear(sizes: &[usize]) {
    let per_node: Vec<(usize, f64)> = sizes
        .iter()
        .map(|&n| {
            #[expect(clippy::cast_precision_loss, reason = "node counts are small")]
            let per = best_time(n).as_secs_f64() / n as f64;
            (n, per)
        })
        .collect();
    for pair in per_node.windows(2) {
        let [(n0, t0), (n1, t1)] = pair else { continue };
        let ratio = t1 / t0;
        println!(
            "linearity: {n0} -> {n1} nodes: {:.2} -> {:.2} µs per node (x{ratio:.2}, limit x{STEP_LIMIT})",
            t0 * 1e6,
            t1 * 1e6
        );
        assert!(
            ratio <= STEP_LIMIT,
            "superlinear: the time per node grew x{ratio:.2} from {n0} to {n1} nodes (limit x{STEP_LIMIT})"
        );
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if bench { SIZES } else { LINEAR_QUICK };
    // the generated specs must be clean, or the benchmark would time the error path
    for n in sizes {
        let c = Cluster::from_yaml(&spec(*n)).expect("bench spec reads");
        let d = c.validate();
        assert!(!d.has_errors(), "{n} nodes: {}", d.render(None));
    }
    // `MESHSPEC_LINEARITY=0` skips the check (when profiling one stage)
    let check = std::env::var("MESHSPEC_LINEARITY").map_or(true, |v| v != "0");
    if bench {
        if check {
            check_linear(LINEAR_BENCH);
        }
        divan::main();
    } else {
        // `cargo test`: the quick check only (the dev profile is too slow for divan's sizes)
        check_linear(LINEAR_QUICK);
    }
}

#[divan::bench(args = SIZES)]
fn yaml(b: Bencher, nodes: usize) {
    let text = spec(nodes);
    b.bench(|| meshspec::yaml::parse(black_box(&text)).expect("reads"));
}

#[divan::bench(args = SIZES)]
fn render(b: Bencher, nodes: usize) {
    let cluster = Cluster::from_yaml(&spec(nodes)).expect("reads");
    let opts = RenderOptions::default();
    b.bench(|| black_box(&cluster).render(&opts).expect("renders"));
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
