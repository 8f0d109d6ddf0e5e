//! Read + validate + render at 10 to 20,000 nodes.
//!
//! Goals (README, "Speed"): a 5,000-node bundle in under 50 ms on one core of the CI machine
//! with the YAML read in under 15 ms, cost linear in nodes, peak memory under 64 MiB.
//! `cargo bench -p meshspec --bench pipeline` prints the time and, through divan's allocation
//! profiler, the bytes allocated per stage (`max alloc` is the peak).
//!
//! Stages: `yaml` (text to the position-aware tree), `parse` (text to the resolved model:
//! tree, decoding, defaults), `validate`, `render` (validate + every file, from the model)
//! and `pipeline` (all of it, from text); then the other entry points on what a running
//! cluster of the spec holds: `import` (every node's `config.yaml` and `kubectl get nodes -o
//! json`), `lint` (every node's `config.yaml`) and `check-live` (the node list).
//!
//! Before divan runs, the linearity check times every stage at growing sizes in CPU time,
//! prints the table (the README's), and fails (exit code 101) when the time per node of the
//! pipeline, import, lint or check-live grows by more than [`STEP_LIMIT`] from one size to
//! the next (10 to 20,000 nodes): a superlinear step. `cargo test` runs this binary too (`test = true` in
//! core/Cargo.toml), in its quick mode: two small sizes in the dev profile, no divan.
//! `MESHSPEC_LINEARITY=0` skips the check under `cargo bench` (to profile one stage).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails by panicking"
)]

use std::time::{Duration, Instant};

use divan::{AllocProfiler, Bencher, black_box};
use meshspec::import::{ImportInput, ImportNode};
use meshspec::lint::{ConfigFile, LintOptions, NodeConfig};
use meshspec::{Cluster, RenderOptions};

#[path = "specgen.rs"]
mod specgen;

#[path = "livegen.rs"]
mod livegen;
use specgen::spec;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

const SIZES: &[usize] = &[10, 100, 1_000, 5_000, 20_000];

/// Sizes timed by the linearity check under `cargo bench`, and under `cargo test`.
const LINEAR_BENCH: &[usize] = &[10, 100, 1_000, 5_000, 20_000];
const LINEAR_QUICK: &[usize] = &[50, 800];
/// The most the time per node may grow from one checked size to the next. Linear cost keeps
/// the ratio near 1 (fixed costs make it fall); a quadratic step multiplies it by the size
/// ratio (4 to 16 here). The margin absorbs a shared, busy machine: each size's time is the
/// best of several runs in CPU time (see [`cpu_time`]), so waiting for the CPU does not count
/// and only cache pressure from neighbours remains.
const STEP_LIMIT: f64 = 2.5;
/// How many runs each size gets (the best one counts).
const RUNS: usize = 5;

/// The CPU time this thread has used (`CLOCK_THREAD_CPUTIME_ID`).
///
/// On a shared machine the wall clock also counts the time other processes hold the CPU (on
/// the 2-core CI VM under load, 5 to 8 times the work itself), so the table and the linearity
/// check count CPU time; where the clock is missing they fall back to the wall clock.
fn cpu_time() -> Option<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    let secs = u64::try_from(t.tv_sec).ok()?;
    let nanos = u32::try_from(t.tv_nsec).ok()?;
    (secs > 0 || nanos > 0).then(|| Duration::new(secs, nanos))
}

/// The best of [`RUNS`] runs of `work`, in CPU time (or wall time, see [`cpu_time`]).
#[expect(clippy::disallowed_methods, reason = "a benchmark reads the clock")]
fn best_of<T>(mut work: impl FnMut() -> T) -> Duration {
    (0..RUNS)
        .map(|_| {
            let (cpu, wall) = (cpu_time(), Instant::now());
            let out = black_box(work());
            let took = match (cpu, cpu_time()) {
                (Some(a), Some(b)) => b.saturating_sub(a),
                _ => wall.elapsed(),
            };
            drop(out);
            took
        })
        .min()
        .unwrap_or_default()
}

/// What a running cluster of the spec holds: each node's rendered `config.yaml` (as `lint`
/// and `import` read them) and `kubectl get nodes -o json` (as `check-live` reads it).
fn running(cluster: &Cluster) -> (Vec<(String, ConfigFile)>, String) {
    let bundle = cluster.render(&RenderOptions::default()).expect("renders");
    let configs = cluster
        .nodes
        .iter()
        .map(|n| {
            let path = format!("nodes/{}/etc/rancher/k3s/config.yaml", n.name);
            let text = bundle.files[&path].contents.clone();
            (n.name.clone(), ConfigFile::new(path, text))
        })
        .collect();
    (configs, livegen::nodes_json(cluster))
}

/// The stages, each timed from what the previous one produced (`pipeline` does them all),
/// then the other entry points in memory: `import` (every node's config and the node list),
/// `lint` (every node's config) and `check-live` (the node list against the model).
fn stage_times(nodes: usize) -> [Duration; 8] {
    let text = spec(nodes);
    let opts = RenderOptions::default();
    let cluster = Cluster::from_yaml(&text).expect("reads");
    let (configs, nodes_json) = running(&cluster);
    let import_input = ImportInput {
        name: Some("bench".to_owned()),
        nodes: configs
            .iter()
            .map(|(name, file)| ImportNode {
                name: name.clone(),
                role: None,
                files: vec![file.clone()],
            })
            .collect(),
        nodes_json: Some(nodes_json.clone()),
        cilium_values: None,
    };
    let lint_input: Vec<NodeConfig> = configs
        .iter()
        .map(|(_, file)| NodeConfig {
            files: vec![file.clone()],
            role: None,
        })
        .collect();
    let lint_options = LintOptions::default();
    [
        best_of(|| meshspec::yaml::parse(black_box(&text)).expect("reads")),
        best_of(|| Cluster::from_yaml(black_box(&text)).expect("reads")),
        best_of(|| black_box(&cluster).validate()),
        best_of(|| black_box(&cluster).render(&opts).expect("renders")),
        best_of(|| {
            Cluster::from_yaml(black_box(&text))
                .expect("reads")
                .render(&opts)
                .expect("renders")
        }),
        best_of(|| meshspec::import::import(black_box(&import_input)).map(|i| i.yaml.len())),
        best_of(|| meshspec::lint::lint(black_box(&lint_input), &lint_options)),
        best_of(|| meshspec::live::check_live(black_box(&cluster), &nodes_json)),
    ]
}

/// Prints each stage's best CPU time per size, then fails on a superlinear step of the whole
/// pipeline between consecutive sizes (see [`STEP_LIMIT`]).
fn check_linear(sizes: &[usize]) {
    let clock = if cpu_time().is_some() { "CPU" } else { "wall" };
    println!("best of {RUNS} runs, {clock} time, one thread:");
    println!(
        "    nodes       yaml      parse   validate     render   pipeline     import       lint check-live"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    // per size, the time per node of each checked stage: pipeline, import, lint, check-live
    let mut per_node: Vec<(usize, [f64; 4])> = Vec::new();
    for &n in sizes {
        let t = stage_times(n);
        let mut line = format!("{n:>9}");
        for d in t {
            line.push_str(&format!(" {:>7.2} ms", ms(d)));
        }
        println!("{line}");
        #[expect(clippy::cast_precision_loss, reason = "node counts are small")]
        let per = |d: Duration| d.as_secs_f64() / n as f64;
        per_node.push((n, [per(t[4]), per(t[5]), per(t[6]), per(t[7])]));
    }
    for pair in per_node.windows(2) {
        let [(n0, t0), (n1, t1)] = pair else { continue };
        for (i, what) in ["pipeline", "import", "lint", "check-live"]
            .into_iter()
            .enumerate()
        {
            let ratio = t1[i] / t0[i];
            println!(
                "linearity: {what}: {n0} -> {n1} nodes: {:.2} -> {:.2} µs per node (x{ratio:.2}, limit x{STEP_LIMIT})",
                t0[i] * 1e6,
                t1[i] * 1e6
            );
            assert!(
                ratio <= STEP_LIMIT,
                "superlinear: {what}'s time per node grew x{ratio:.2} from {n0} to {n1} nodes (limit x{STEP_LIMIT})"
            );
        }
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "the bench reads its mode from its arguments and environment"
)]
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
    let check = !matches!(std::env::var("MESHSPEC_LINEARITY").as_deref(), Ok("0"));
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
