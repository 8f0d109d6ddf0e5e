//! Renders a spec into a bundle and prints one node's k3s config and the file list: the
//! library use of `meshspec render`, without writing anything.
//!
//! `cargo run -p meshspec --example render -- examples/specs/cilium-vxlan-over-tailscale.yaml worker`

#![allow(
    clippy::disallowed_methods,
    reason = "an example program reads its file; the library never does"
)]

use meshspec::{Cluster, RenderOptions, Source};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), node) = (args.next(), args.next()) else {
        eprintln!("usage: render SPEC [NODE]");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {path}: {e}");
        std::process::exit(2);
    });
    let source = Source {
        name: &path,
        text: &text,
    };
    let bundle = Cluster::from_yaml(&text)
        .and_then(|c| {
            c.render(&RenderOptions {
                spec_name: path.clone(),
            })
        })
        .unwrap_or_else(|diagnostics| {
            eprint!("{}", diagnostics.render(Some(&source)));
            std::process::exit(1);
        });
    for (file, f) in &bundle.files {
        println!("{:o} {file}", f.mode);
    }
    if let Some(node) = node {
        let config = format!("nodes/{node}/etc/rancher/k3s/config.yaml");
        println!(
            "\n{config}:\n{}",
            bundle.text(&config).unwrap_or("(no such node)".into())
        );
    }
}
