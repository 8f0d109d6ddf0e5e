//! The core's side of the bindings comparison (`benches/bindings.sh`).
//!
//! `bindings_core spec NODES` prints the generated spec (the same generator as the pipeline
//! bench); `bindings_core time NODES RUNS` prints the best CPU time, in seconds, of
//! `Cluster::from_yaml(text)` + `render`, the call the Python and Node scripts time;
//! `bindings_core parse NODES RUNS` prints the best CPU times of `from_yaml`, `validate` and
//! dropping the model, and `bindings_core profile NODES` runs `from_yaml` + `validate` + drop
//! once (a small process to profile with callgrind).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails by panicking"
)]

use std::hint::black_box;
use std::time::Duration;

use meshspec::{Cluster, RenderOptions};

#[path = "specgen.rs"]
mod specgen;

/// The CPU time this thread has used (`CLOCK_THREAD_CPUTIME_ID`).
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec.try_into().unwrap(), t.tv_nsec.try_into().unwrap())
}

#[expect(
    clippy::disallowed_methods,
    reason = "a benchmark driver reads its arguments"
)]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bindings_core spec NODES | bindings_core time NODES RUNS | bindings_core parse NODES RUNS | bindings_core profile NODES";
    let nodes: usize = args.get(2).expect(usage).parse().expect(usage);
    let text = specgen::spec(nodes);
    match args.get(1).map(String::as_str) {
        Some("spec") => print!("{text}"),
        Some("time") => {
            let runs: usize = args.get(3).expect(usage).parse().expect(usage);
            let options = RenderOptions {
                spec_name: "spec.yaml".to_owned(),
            };
            let best = (0..runs)
                .map(|_| {
                    let start = cpu_time();
                    let cluster = Cluster::from_yaml(black_box(&text)).unwrap();
                    let bundle = cluster.render(&options).unwrap();
                    black_box(&bundle);
                    let took = cpu_time() - start;
                    drop(bundle);
                    took
                })
                .min()
                .expect(usage);
            println!("{:.6}", best.as_secs_f64());
        }
        Some("parse") => {
            let runs: usize = args.get(3).expect(usage).parse().expect(usage);
            let mut best = [Duration::MAX; 3];
            for _ in 0..runs {
                let start = cpu_time();
                let cluster = Cluster::from_yaml(black_box(&text)).unwrap();
                let parsed = cpu_time();
                black_box(black_box(&cluster).validate());
                let validated = cpu_time();
                drop(black_box(cluster));
                let dropped = cpu_time();
                for (b, t) in
                    best.iter_mut()
                        .zip([parsed - start, validated - parsed, dropped - validated])
                {
                    *b = (*b).min(t);
                }
            }
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "parse {:.3} ms, validate {:.3} ms, drop {:.3} ms",
                ms(best[0]),
                ms(best[1]),
                ms(best[2])
            );
        }
        Some("profile") => {
            let cluster = Cluster::from_yaml(black_box(&text)).unwrap();
            black_box(black_box(&cluster).validate());
            drop(black_box(cluster));
        }
        _ => panic!("{usage}"),
    }
}
