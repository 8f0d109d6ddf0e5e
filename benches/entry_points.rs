//! Every CLI entry point against `render` of the same cluster, in one run, in CPU time.
//!
//! `cargo bench -p meshspec-cli --bench entry_points` generates the pipeline bench's spec
//! (benches/specgen.rs) at 5,000 nodes, renders it once in memory to get what a running
//! cluster of it would hold (each node's `config.yaml`, and a `kubectl get nodes -o json`
//! list built from the model), then times, alternating, `MESHSPEC_BENCH_RUNS` times (5):
//! - **render**: `meshspec render SPEC --out DIR` into a missing directory;
//! - **import**: `meshspec import NAME=DIR... --nodes-json NODES -o OUT --force` over every
//!   node's config (goal: ≤ 3× render);
//! - **lint**: `meshspec lint DIR...` over every node's config (goal: ≤ 3× render);
//! - **check-live**: `meshspec check-live SPEC --nodes NODES` (goal: ≤ 3× render);
//! - **unknown-fields** / **unknown-k3s**: `meshspec validate` of a spec with 10,000 unknown
//!   keys in `network:` (MS002) or in `k3s.server_extra:` (MS402) (goal: ≤ 0.2 s CPU each).
//!
//! Each figure is the CPU time (user + system) the command's process used, from the kernel's
//! accounting of reaped children (`/proc/self/stat`, in clock ticks of 10 ms): a command that
//! takes less than 0.3 s is run again until 0.3 s of CPU add up, and the figure is the mean
//! per run. CPU time, because on a shared machine the wall clock also counts waiting for a
//! core. The ratios are per run, each command against the user CPU time of the render of the
//! same run (its computing, without the kernel's work of writing 30,000 files), and the
//! medians are printed last.
//!
//! `MESHSPEC_BENCH_NODES=10,100,1000,5000,20000` measures several sizes and then prints each
//! command's CPU time per node from one size to the next; `MESHSPEC_BENCH_GOALS=1` exits 1
//! when a median misses its goal or a command's time per node grows more than ×2.5 from one
//! size to the next (a superlinear step, as the pipeline bench checks in memory).
//! `MESHSPEC_BENCH_BIN=PATH` times another build of the CLI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark reports on standard output and fails by panicking"
)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use meshspec::{Cluster, RenderOptions};

#[path = "specgen.rs"]
mod specgen;

#[path = "livegen.rs"]
mod livegen;

/// The least CPU time one measurement adds up (a command is repeated until it does).
const MIN_CPU: f64 = 0.3;
/// The most a command's CPU time per node may grow from one size to the next.
const STEP_LIMIT: f64 = 2.5;
/// The goal for every entry point against render.
const RATIO_GOAL: f64 = 3.0;
/// The goal for a spec with 10,000 unknown keys, in CPU seconds.
const UNKNOWN_GOAL: f64 = 0.2;

/// The CPU time (user, system) of this process's reaped children, in seconds.
fn children_cpu() -> (f64, f64) {
    let stat = fs::read_to_string("/proc/self/stat").unwrap();
    // fields after the command name in parentheses: state is field 3, cutime 16, cstime 17
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let secs = |i: usize| f[i].parse::<u64>().unwrap() as f64 / 100.0;
    (secs(13), secs(14))
}

/// CPU seconds of one command: user and system.
#[derive(Clone, Copy, Default)]
struct Cpu {
    user: f64,
    sys: f64,
}

impl Cpu {
    fn total(self) -> f64 {
        self.user + self.sys
    }
}

/// One command's CPU seconds per run (see the header), `before` run ahead of each run and
/// not counted.
fn cpu_of(mut make: impl FnMut() -> Command, before: &mut dyn FnMut()) -> Cpu {
    let mut total = Cpu::default();
    let mut n = 0u32;
    while total.total() < MIN_CPU || n == 0 {
        before();
        let (u0, s0) = children_cpu();
        let out = make()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let (u1, s1) = children_cpu();
        total.user += u1 - u0;
        total.sys += s1 - s0;
        n += 1;
        // findings exit 1; 2 (an input refused, e.g. a node list over the 16 MiB limit) would
        // time the error path, and a signal or usage error is a bug
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "{:?} ended with {:?}: {}",
            make(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Cpu {
        user: total.user / f64::from(n),
        sys: total.sys / f64::from(n),
    }
}

fn bin() -> PathBuf {
    std::env::var_os("MESHSPEC_BENCH_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_meshspec")),
        PathBuf::from,
    )
}

/// A valid spec (the 10-node bench spec) with 10,000 unknown keys added under `section`.
fn unknown_keys(section: &str) -> String {
    let base = specgen::spec(10);
    let mut keys = String::new();
    for i in 0..10_000 {
        let _ = writeln!(keys, "    extra-key-{i}: {i}");
    }
    match section {
        "network" => base.replacen(
            "network:\n",
            &format!("network:\n{}", keys.replace("    ", "  ")),
            1,
        ),
        _ => format!("{base}k3s:\n  server_extra:\n{keys}"),
    }
}

/// One run's CPU seconds per command (user + system), and render's user time alone.
struct Sample {
    render: f64,
    /// Render's user time: its computing without the kernel's work of writing 30,000 files,
    /// the stricter yardstick for commands that write little (the ratios use it).
    render_user: f64,
    import: f64,
    lint: f64,
    live: f64,
}

/// Writes the inputs for `nodes` nodes under `dir`; returns the node names.
fn prepare(nodes: usize, dir: &Path) -> Vec<String> {
    let text = specgen::spec(nodes);
    fs::write(dir.join("spec.yaml"), &text).unwrap();
    let cluster = Cluster::from_yaml(&text).unwrap();
    let bundle = cluster
        .render(&RenderOptions {
            spec_name: "spec.yaml".to_owned(),
        })
        .unwrap();
    let cfg = dir.join("cfg");
    let mut names = Vec::new();
    for n in &cluster.nodes {
        let d = cfg.join(&n.name);
        fs::create_dir_all(&d).unwrap();
        let prefix = format!("nodes/{}/etc/rancher/k3s/", n.name);
        for (path, file) in bundle.files.range(prefix.clone()..) {
            let Some(rel) = path.strip_prefix(&prefix) else {
                break;
            };
            if rel == "config.yaml" || rel.starts_with("config.yaml.d/") {
                let to = d.join(rel);
                fs::create_dir_all(to.parent().unwrap()).unwrap();
                fs::write(to, &*file.contents.as_str()).unwrap();
            }
        }
        names.push(n.name.clone());
    }
    fs::write(dir.join("nodes.json"), livegen::nodes_json(&cluster)).unwrap();
    names
}

fn measure(dir: &Path, names: &[String]) -> Sample {
    let out = dir.join("out");
    let rendered = cpu_of(
        || {
            let mut c = Command::new(bin());
            c.current_dir(dir)
                .args(["render", "spec.yaml", "--out", "out"]);
            c
        },
        &mut || {
            if out.exists() {
                fs::remove_dir_all(&out).unwrap();
            }
        },
    );
    let import = cpu_of(
        || {
            let mut c = Command::new(bin());
            c.current_dir(dir).arg("import");
            c.args(names.iter().map(|n| format!("{n}=cfg/{n}")));
            c.args([
                "--nodes-json",
                "nodes.json",
                "-o",
                "imported.yaml",
                "--force",
            ]);
            c
        },
        &mut || {},
    );
    let lint = cpu_of(
        || {
            let mut c = Command::new(bin());
            c.current_dir(dir).arg("lint");
            c.args(names.iter().map(|n| format!("cfg/{n}")));
            c
        },
        &mut || {},
    );
    let live = cpu_of(
        || {
            let mut c = Command::new(bin());
            c.current_dir(dir)
                .args(["check-live", "spec.yaml", "--nodes", "nodes.json"]);
            c
        },
        &mut || {},
    );
    if out.exists() {
        fs::remove_dir_all(&out).unwrap();
    }
    Sample {
        render: rendered.total(),
        render_user: rendered.user,
        import: import.total(),
        lint: lint.total(),
        live: live.total(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then run once, small.
    let benching = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = std::env::var("MESHSPEC_BENCH_NODES").map_or_else(
        |_| vec![if benching { 5_000 } else { 20 }],
        |v| v.split(',').map(|s| s.trim().parse().unwrap()).collect(),
    );
    let runs: usize = std::env::var("MESHSPEC_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 5 } else { 1 })
        .max(1);
    let goals = std::env::var_os("MESHSPEC_BENCH_GOALS").is_some();
    let base = std::env::var_os("MESHSPEC_BENCH_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from)
        .join("entry-points");
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut missed = false;

    // 10,000 unknown keys, in both places a spec takes free-form keys
    for section in ["network", "k3s"] {
        fs::create_dir_all(&base).unwrap();
        let path = base.join(format!("unknown-{section}.yaml"));
        fs::write(&path, unknown_keys(section)).unwrap();
        let v: Vec<f64> = (0..runs)
            .map(|_| {
                let cpu = cpu_of(
                    || {
                        let mut c = Command::new(bin());
                        c.arg("validate").arg(&path);
                        c
                    },
                    &mut || {},
                );
                cpu.total()
            })
            .collect();
        let m = median(v.clone());
        println!(
            "unknown keys: `validate` of 10,000 unknown keys in {section}: runs {} s, median {m:.3} s CPU (goal <= {UNKNOWN_GOAL})",
            v.iter()
                .map(|x| format!("{x:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        missed |= m > UNKNOWN_GOAL;
    }

    let mut per_size: Vec<(usize, Sample)> = Vec::new();
    for &nodes in &sizes {
        let dir = base.join(format!("n{nodes}"));
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap();
        }
        fs::create_dir_all(&dir).unwrap();
        let names = prepare(nodes, &dir);
        println!(
            "entry_points: {nodes} nodes, {runs} runs, {cores} cores, CPU seconds per command (user + system)"
        );
        println!(
            "run  render_s  (user)  import_s  lint_s  live_s  import/render  lint/render  live/render  (ratios to render's user time)"
        );
        let mut all = Vec::new();
        for run in 1..=runs {
            let s = measure(&dir, &names);
            println!(
                "{run:>3}  {:>8.3}  {:>6.3}  {:>8.3}  {:>6.3}  {:>6.3}  {:>13.2}  {:>11.2}  {:>11.2}",
                s.render,
                s.render_user,
                s.import,
                s.lint,
                s.live,
                s.import / s.render_user,
                s.lint / s.render_user,
                s.live / s.render_user
            );
            all.push(s);
        }
        let col = |f: &dyn Fn(&Sample) -> f64| median(all.iter().map(f).collect());
        let m = Sample {
            render: col(&|s| s.render),
            render_user: col(&|s| s.render_user),
            import: col(&|s| s.import),
            lint: col(&|s| s.lint),
            live: col(&|s| s.live),
        };
        let (ri, rl, rc) = (
            col(&|s| s.import / s.render_user),
            col(&|s| s.lint / s.render_user),
            col(&|s| s.live / s.render_user),
        );
        println!(
            "median  render {:.3} s (user {:.3} s)  import {:.3} s  lint {:.3} s  check-live {:.3} s  import/render {ri:.2}  lint/render {rl:.2}  live/render {rc:.2} (goal <= {RATIO_GOAL})",
            m.render, m.render_user, m.import, m.lint, m.live
        );
        missed |= ri > RATIO_GOAL || rl > RATIO_GOAL || rc > RATIO_GOAL;
        per_size.push((nodes, m));
        fs::remove_dir_all(&dir).unwrap();
    }

    if per_size.len() > 1 {
        println!("CPU time per node, µs (median), and its growth from the previous size:");
        println!(
            "    nodes    render     import       lint  check-live   (render: user time; the others user + system)"
        );
        let mut prev: Option<&(usize, Sample)> = None;
        for entry in &per_size {
            let (n, s) = entry;
            let per = |x: f64| x / *n as f64 * 1e6;
            let mut line = format!(
                "{n:>9} {:>9.1} {:>10.1} {:>10.1} {:>11.1}",
                per(s.render_user),
                per(s.import),
                per(s.lint),
                per(s.live)
            );
            if let Some((n0, s0)) = prev {
                let g = |a: f64, b: f64| (b / *n as f64) / (a / *n0 as f64);
                let steps = [
                    g(s0.render_user, s.render_user),
                    g(s0.import, s.import),
                    g(s0.lint, s.lint),
                    g(s0.live, s.live),
                ];
                let _ = write!(
                    line,
                    "   growth x{:.2} x{:.2} x{:.2} x{:.2} (limit x{STEP_LIMIT})",
                    steps[0], steps[1], steps[2], steps[3]
                );
                missed |= steps.iter().any(|s| *s > STEP_LIMIT);
            }
            println!("{line}");
            prev = Some(entry);
        }
    }
    if goals && missed {
        println!("goal missed");
        std::process::exit(1);
    }
}
