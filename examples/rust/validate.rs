//! Validates a spec file and prints its diagnostics, as a program embedding the library would.
//!
//! `cargo run -p meshspec --example validate -- examples/specs/flannel-over-tailscale-gpu-worker.yaml`

#![allow(
    clippy::disallowed_methods,
    reason = "an example program reads its file; the library never does"
)]

use meshspec::{Cluster, Source};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: validate_file SPEC");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let source = Source {
        name: &path,
        text: &text,
    };
    match Cluster::from_yaml(&text) {
        Err(errors) => {
            print!("{}", errors.render(Some(&source)));
            std::process::exit(1);
        }
        Ok(cluster) => {
            let diagnostics = cluster.validate();
            print!("{}", diagnostics.render(Some(&source)));
            std::process::exit(i32::from(diagnostics.has_errors()));
        }
    }
}
