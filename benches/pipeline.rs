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
//! the next (10 to 20,000 nodes): a superlinear step. Noise must not fail it: each size's
//! time is the best of [`RUNS`] samples of at least [`MIN_SAMPLE`] of CPU time each, and a
//! step over the limit is timed again ([`RETRIES`]) before it counts. `cargo test` runs this binary too (`test = true` in
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
/// How many samples each size gets (the best one counts), in as many rounds over the sizes.
const RUNS: usize = 5;
/// The least CPU time one sample adds up: a call shorter than this is repeated and the sample
/// is the mean of its calls, so a 10-node stage (tens of µs) is not one tick of noise.
const MIN_SAMPLE: Duration = Duration::from_millis(25);
/// How many times a step over [`STEP_LIMIT`] is timed again (both of its sizes, each keeping
/// its best time) before the check fails: a neighbour's burst can slow one sample set, never
/// a real superlinear step, which every retry measures again.
const RETRIES: usize = 3;

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

/// One sample of `work`, in CPU time (or wall time, see [`cpu_time`]) per call: `work` is
/// called until its calls add up to [`MIN_SAMPLE`] (each result dropped outside the timed part).
#[expect(clippy::disallowed_methods, reason = "a benchmark reads the clock")]
fn sample<T>(mut work: impl FnMut() -> T) -> Duration {
    let (mut total, mut calls) = (Duration::ZERO, 0u32);
    while total < MIN_SAMPLE || calls == 0 {
        let (cpu, wall) = (cpu_time(), Instant::now());
        let out = black_box(work());
        total += match (cpu, cpu_time()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => wall.elapsed(),
        };
        calls += 1;
        drop(out);
    }
    total / calls
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
            let text = bundle.files[&path].contents.to_string();
            (n.name.clone(), ConfigFile::new(path, text))
        })
        .collect();
    (configs, livegen::nodes_json(cluster))
}

/// What the stages of one size read: the spec text, its model and what a running cluster of
/// it holds, as `import`, `lint` and `check-live` read it.
struct Inputs {
    text: String,
    cluster: Cluster,
    import: ImportInput,
    lint: Vec<NodeConfig>,
    nodes_json: String,
}

impl Inputs {
    fn new(nodes: usize) -> Self {
        let text = spec(nodes);
        let cluster = Cluster::from_yaml(&text).expect("reads");
        let (configs, nodes_json) = running(&cluster);
        let import = ImportInput {
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
        let lint = configs
            .into_iter()
            .map(|(_, file)| NodeConfig {
                files: vec![file],
                role: None,
            })
            .collect();
        Self {
            text,
            cluster,
            import,
            lint,
            nodes_json,
        }
    }

    /// One sample of each stage, each timed from what the previous one produced (`pipeline`
    /// does them all), then the other entry points in memory: `import` (every node's config
    /// and the node list), `lint` (every node's config) and `check-live` (the node list
    /// against the model).
    fn sample(&self) -> [Duration; 8] {
        let opts = RenderOptions::default();
        let lint_options = LintOptions::default();
        let (text, cluster) = (&self.text, &self.cluster);
        [
            sample(|| meshspec::yaml::parse(black_box(text)).expect("reads")),
            sample(|| Cluster::from_yaml(black_box(text)).expect("reads")),
            sample(|| black_box(cluster).validate()),
            sample(|| black_box(cluster).render(&opts).expect("renders")),
            sample(|| {
                Cluster::from_yaml(black_box(text))
                    .expect("reads")
                    .render(&opts)
                    .expect("renders")
            }),
            sample(|| meshspec::import::import(black_box(&self.import)).map(|i| i.yaml.len())),
            sample(|| meshspec::lint::lint(black_box(&self.lint), &lint_options)),
            sample(|| meshspec::live::check_live(black_box(cluster), &self.nodes_json)),
        ]
    }
}

/// Each size's best of [`RUNS`] samples per stage, the sizes taken in turn within each round
/// (so a burst of load on the shared machine hits one round of every size, not every sample
/// of one size), folded into `best`.
fn time_rounds(inputs: &[&Inputs], best: &mut [[Duration; 8]]) {
    for _ in 0..RUNS {
        for (input, kept) in inputs.iter().zip(best.iter_mut()) {
            for (k, new) in kept.iter_mut().zip(input.sample()) {
                *k = (*k).min(new);
            }
        }
    }
}

/// The stages [`check_linear`] holds to [`STEP_LIMIT`]: their index in [`Inputs::sample`].
const CHECKED: [(usize, &str); 4] = [
    (4, "pipeline"),
    (5, "import"),
    (6, "lint"),
    (7, "check-live"),
];

/// Prints each stage's best CPU time per size, then fails on a superlinear step of a checked
/// stage between consecutive sizes (see [`STEP_LIMIT`]); a step over the limit is timed again
/// up to [`RETRIES`] times, each size keeping its best time, before it counts.
fn check_linear(sizes: &[usize]) {
    let clock = if cpu_time().is_some() { "CPU" } else { "wall" };
    println!(
        "best of {RUNS} samples of at least {} ms each, {clock} time per call, one thread:",
        MIN_SAMPLE.as_millis()
    );
    println!(
        "    nodes       yaml      parse   validate     render   pipeline     import       lint check-live"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let inputs: Vec<Inputs> = sizes.iter().map(|&n| Inputs::new(n)).collect();
    let mut times = vec![[Duration::MAX; 8]; sizes.len()];
    time_rounds(&inputs.iter().collect::<Vec<_>>(), &mut times);
    for (n, t) in sizes.iter().zip(&times) {
        let mut line = format!("{n:>9}");
        for d in t {
            line.push_str(&format!(" {:>7.2} ms", ms(*d)));
        }
        println!("{line}");
    }
    #[expect(clippy::cast_precision_loss, reason = "node counts are small")]
    let per = |d: Duration, n: usize| d.as_secs_f64() / n as f64;
    for i in 1..sizes.len() {
        let (n0, n1) = (sizes[i - 1], sizes[i]);
        for (stage, what) in CHECKED {
            let ratio =
                |times: &[[Duration; 8]]| per(times[i][stage], n1) / per(times[i - 1][stage], n0);
            let mut retries = 0;
            while ratio(&times) > STEP_LIMIT && retries < RETRIES {
                retries += 1;
                println!(
                    "linearity: {what}: {n0} -> {n1} nodes: x{:.2}, timing both again ({retries} of {RETRIES})",
                    ratio(&times)
                );
                time_rounds(&[&inputs[i - 1], &inputs[i]], &mut times[i - 1..=i]);
            }
            let r = ratio(&times);
            println!(
                "linearity: {what}: {n0} -> {n1} nodes: {:.2} -> {:.2} µs per node (x{r:.2}, limit x{STEP_LIMIT})",
                per(times[i - 1][stage], n0) * 1e6,
                per(times[i][stage], n1) * 1e6
            );
            assert!(
                r <= STEP_LIMIT,
                "superlinear: {what}'s time per node grew x{r:.2} from {n0} to {n1} nodes (limit x{STEP_LIMIT}, after {RETRIES} retries)"
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
