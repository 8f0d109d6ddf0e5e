//! The whole `meshspec render` process on disk, against the durable floor, in one run.
//!
//! `cargo bench -p meshspec-cli --bench render_disk` generates the pipeline bench's spec at
//! 5,000 nodes (`MESHSPEC_BENCH_NODES` changes it), then measures on the same disk (Cargo's
//! target directory, or `MESHSPEC_BENCH_DIR`), alternating, `MESHSPEC_BENCH_RUNS` times (5):
//! - **floor**: the bundle's bytes written plainly (each directory created once, each file
//!   written and moded), then one `sync()`: the least any durable writer can do;
//! - **first**: `meshspec render SPEC --out DIR` into a missing directory (a process, timed
//!   from spawn to exit, so parsing, rendering and hashing count too);
//! - **again**: the same command once more (nothing changes).
//!
//! - **reference** (only when `MESHSPEC_BENCH_PYTHON` names a Python with Jinja2 and PyYAML,
//!   as `benches/render_disk_reference.sh` sets it up): `benches/reference_render.py`, the
//!   PyYAML + Jinja2 script a user would write instead (its header says what it leaves out).
//!
//! Before each timed step the previous output is deleted and `sync()` is called, so no step
//! pays for another's write-back. It prints each run, the medians and the ratios the README
//! quotes (goals: first ≤ 1.5× floor, again ≤ 0.3× floor). `MESHSPEC_BENCH_GOALS=1` makes it
//! exit 1 when a median ratio misses its goal; `MESHSPEC_BENCH_BIN=PATH` times another build of
//! the CLI (to compare before and after a change).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "a benchmark reports on standard output and fails by panicking"
)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use meshspec::{Cluster, RenderOptions};

#[path = "specgen.rs"]
mod specgen;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn clear(dir: &Path) {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap();
    }
    rustix::fs::sync();
}

/// The floor: the same bytes, written plainly, then one `sync()`.
fn floor(bundle: &meshspec::Bundle, dir: &Path) -> Duration {
    clear(dir);
    let start = Instant::now();
    let mut made: BTreeSet<PathBuf> = BTreeSet::new();
    for (rel, file) in &bundle.files {
        let path = dir.join(rel);
        let parent = path.parent().unwrap().to_path_buf();
        if !made.contains(&parent) {
            fs::create_dir_all(&parent).unwrap();
            made.insert(parent);
        }
        // its pieces in one vectored write, as the CLI writes them
        file.contents
            .write_to(fs::File::create(&path).unwrap())
            .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(file.mode)).unwrap();
    }
    rustix::fs::sync();
    start.elapsed()
}

fn render(spec: &Path, dir: &Path) -> Duration {
    let bin = std::env::var_os("MESHSPEC_BENCH_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_meshspec")),
        PathBuf::from,
    );
    let mut cmd = Command::new(bin);
    cmd.arg("render").arg(spec).arg("--out").arg(dir);
    timed("render", &mut cmd)
}

/// Runs `cmd` to its exit and returns the time from spawn to exit; a failure ends the bench.
fn timed(what: &str, cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// The reference script, timed from spawn to exit (it syncs before it exits).
fn reference(python: &Path, spec: &Path, dir: &Path) -> Duration {
    clear(dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/reference_render.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg(spec).arg(dir);
    timed("reference script", &mut cmd)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then run once, small.
    let benching = std::env::args().any(|a| a == "--bench");
    let nodes = env_or("MESHSPEC_BENCH_NODES", if benching { 5_000 } else { 50 });
    let runs = env_or("MESHSPEC_BENCH_RUNS", if benching { 5 } else { 1 }).max(1);
    let base = std::env::var_os("MESHSPEC_BENCH_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from)
        .join("render-disk");
    fs::create_dir_all(&base).unwrap();
    let spec_path = base.join("spec.yaml");
    let text = specgen::spec(nodes);
    fs::write(&spec_path, &text).unwrap();
    let bundle = Cluster::from_yaml(&text)
        .unwrap()
        .render(&RenderOptions {
            spec_name: "spec.yaml".to_owned(),
        })
        .unwrap();
    let bytes: usize = bundle.files.values().map(|f| f.contents.len()).sum();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!(
        "render_disk: {nodes} nodes, {} files, {:.1} MB, {runs} runs, {cores} cores, in {}",
        bundle.files.len(),
        bytes as f64 / 1e6,
        base.display()
    );
    let python = std::env::var_os("MESHSPEC_BENCH_PYTHON").map(PathBuf::from);
    print!("run  floor_s  first_s  again_s  first/floor  again/floor");
    if python.is_some() {
        print!("  reference_s  reference/floor  first/reference");
    }
    println!();
    let (mut fl, mut fi, mut ag) = (Vec::new(), Vec::new(), Vec::new());
    let (mut r1, mut r2) = (Vec::new(), Vec::new());
    let (mut re, mut r3, mut r4) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs {
        let f = floor(&bundle, &base.join("floor")).as_secs_f64();
        let out = base.join("out");
        clear(&out);
        let first = render(&spec_path, &out).as_secs_f64();
        rustix::fs::sync();
        let again = render(&spec_path, &out).as_secs_f64();
        print!(
            "{run:>3}  {f:>7.3}  {first:>7.3}  {again:>7.3}  {:>11.2}  {:>11.2}",
            first / f,
            again / f
        );
        if let Some(python) = &python {
            let r = reference(python, &spec_path, &base.join("reference")).as_secs_f64();
            print!("  {r:>11.3}  {:>15.2}  {:>15.2}", r / f, first / r);
            re.push(r);
            r3.push(r / f);
            r4.push(first / r);
        }
        println!();
        fl.push(f);
        fi.push(first);
        ag.push(again);
        r1.push(first / f);
        r2.push(again / f);
    }
    clear(&base.join("floor"));
    clear(&base.join("out"));
    clear(&base.join("reference"));
    let (m1, m2) = (median(&mut r1), median(&mut r2));
    println!(
        "median  floor {:.3} s  first {:.3} s  again {:.3} s  first/floor {m1:.2} (goal <= 1.5)  again/floor {m2:.2} (goal <= 0.3)",
        median(&mut fl),
        median(&mut fi),
        median(&mut ag)
    );
    if python.is_some() {
        println!(
            "median  reference {:.3} s  reference/floor {:.2}  first/reference {:.2}",
            median(&mut re),
            median(&mut r3),
            median(&mut r4)
        );
    }
    if std::env::var_os("MESHSPEC_BENCH_GOALS").is_some() && (m1 > 1.5 || m2 > 0.3) {
        println!("goal missed");
        std::process::exit(1);
    }
}
