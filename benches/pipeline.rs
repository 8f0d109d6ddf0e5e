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

use divan::{AllocProfiler, Bencher, black_box};
use meshspec::{Cluster, RenderOptions};

#[path = "specgen.rs"]
mod specgen;
use specgen::spec;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

const SIZES: &[usize] = &[10, 100, 1_000, 5_000];

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
